#include "splitter.hpp"

namespace pipectl::plugins {

PluginSpec splitter_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.param("train", ParamType::Float, "fraction of rows for training").def(0.70).range(0, 1);
  s.param("valid", ParamType::Float, "fraction of rows for validation").def(0.15).range(0, 1);
  s.param("test", ParamType::Float, "fraction of rows for testing (train + valid + test = 1)")
      .def(0.15)
      .range(0, 1);
  s.param("stratify", ParamType::String,
          "categorical or int64 column whose classes keep their proportions in every split (\"\" = none)")
      .def("is_iot");
  s.param("group", ParamType::String,
          "categorical or int64 column (e.g. a device or capture file) whose groups never span two splits "
          "(\"\" = none)")
      .def("");
  s.param("seed", ParamType::Int, "shuffle seed; -1 = the stage's seed derived from the pipeline seed")
      .def(-1)
      .at_least(-1);
  s.contract = [](const Params& p) { return SplitterConfig::from(p).contract(); };
  return s;
}

}  // namespace pipectl::plugins
