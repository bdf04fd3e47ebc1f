#include "category_map.hpp"

namespace pipectl::plugins {

PluginSpec category_map_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  // Training-row counts by value (never by a worker's dictionary code), gathered
  // and merged over the workers: every worker keeps the single-process dictionary.
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("columns", ParamType::StringList, "int64 or categorical columns to map (replaced by categorical columns)")
      .def(json::array({"srcport", "dstport", "manufacturer"}));
  s.param("top_k", ParamType::Int, "keep at most this many of the most frequent training values per column")
      .def(20)
      .at_least(1);
  s.param("min_frequency", ParamType::Int, "keep only values seen at least this often in the training rows")
      .def(1)
      .at_least(1);
  s.param("other", ParamType::String, "category for unseen, infrequent and NULL values").def("other");
  s.param("native", ParamType::Bool,
          "mark the mapped columns as native categorical features: XGBoost then splits on their categories "
          "(feature type \"c\", one feature per column) instead of one indicator per category; other trainers "
          "still one-hot them")
      .def(false);
  s.contract = [](const Params& p) {
    Contract k;
    k.needs = p.strings("columns");
    k.makes = k.needs;
    k.needs_split = true;
    return k;
  };
  return s;
}

}  // namespace pipectl::plugins
