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
  s.param("columns", &CategoryMapOptions::columns, ParamType::Columns,
          "int64 or categorical columns to map (names, globs or a selector table; replaced by categorical columns)")
      .def(json::array({"srcport", "dstport", "manufacturer"}));
  s.param("top_k", &CategoryMapOptions::top_k, "keep at most this many of the most frequent training values per column")
      .def(20)
      .at_least(1);
  s.param("min_frequency", &CategoryMapOptions::min_frequency, "keep only values seen at least this often in the training rows")
      .def(1)
      .at_least(1);
  s.param("other", &CategoryMapOptions::other, "category for unseen, infrequent and NULL values").def("other");
  s.param("native", &CategoryMapOptions::native,
          "mark the mapped columns as native categorical features: XGBoost then splits on their categories "
          "(feature type \"c\", one feature per column) instead of one indicator per category; other trainers "
          "still one-hot them")
      .def(false);
  s.schema_doc = "needs a split and `columns` (int64 or categorical); gives its input with those columns categorical";
  s.schema = [](SchemaContext& c) {
    c.need_split();
    SelectOptions o;
    o.types = {DType::Int64, DType::Categorical};
    o.default_roles = {ColumnRole::Feature};
    auto cols = c.select("columns", o);
    Schema out = c.input();
    for (const auto& n : cols)
      if (const auto* in = out.find(n)) {
        ColumnSchema x = *in;
        x.type = DType::Categorical;
        x.nullable = false;
        out.set(x);
      }
    return out;
  };
  return s;
}

}  // namespace pipectl::plugins
