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
  s.param("column", &MultiHotOptions::column, "multi_categorical column to encode (replaced in place)").def("dns");
  s.param("top_k", &MultiHotOptions::top_k, "keep the names found in the most training rows, at most this many")
      .def(100)
      .at_least(1);
  s.param("other", &MultiHotOptions::other, "category for names outside the vocabulary (once per row)").def("other");
  s.param("none", &MultiHotOptions::none, "category for rows without any name (\"\" = leave such rows empty)")
      .def("none");
  s.schema_doc = "needs a split and `column` (multi_categorical); gives its input with that column re-coded";
  s.schema = [](SchemaContext& c) {
    c.need_split();
    const auto& p = c.params();
    if (p.str("column").empty()) c.error("column", "must not be empty");
    else c.need("column", p.str("column"), {DType::MultiCategorical});
    if (p.str("other").empty()) c.error("other", "must not be empty");
    else if (p.str("other") == p.str("none")) c.error("other", "and none are both \"" + p.str("other") + "\"");
    return c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
