#include "multi_hot.hpp"

namespace pipectl::plugins {

PluginSpec multi_hot_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  // Document frequencies by name, gathered and merged over the workers: every
  // worker keeps the single-process vocabulary.
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("column", ParamType::String, "multi_categorical column to encode (replaced in place)").def("dns");
  s.param("top_k", ParamType::Int, "keep the names found in the most training rows, at most this many")
      .def(100)
      .at_least(1);
  s.param("other", ParamType::String, "category for names outside the vocabulary (once per row)").def("other");
  s.param("none", ParamType::String, "category for rows without any name (\"\" = leave such rows empty)")
      .def("none");
  s.schema_doc = "needs a split and `column` (multi_categorical); gives its input with that column re-coded";
  s.schema = [](SchemaContext& c) {
    c.need_split();
    c.need("column", c.params().str("column"), {DType::MultiCategorical});
    return c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
