#include "normaliser.hpp"

namespace pipectl::plugins {

PluginSpec normaliser_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  // Min / max / exact sums of each worker's training rows, combined over the
  // workers (see normaliser.hpp): every worker holds the single-process state.
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("columns", &NormaliserOptions::columns, ParamType::Columns,
          "numeric columns to scale (names, globs or a selector table; int64 columns become float64)")
      .def(json::array({"bytes", "packets", "duration"}));
  s.param("method", &NormaliserOptions::method,
          "minmax: (x - min) / (max - min); zscore: (x - mean) / std; fitted on training rows, "
          "a column constant on them maps to 0")
      .def("minmax")
      .one_of({"minmax", "zscore"});
  s.param("log1p", &NormaliserOptions::log1p, "apply log1p before scaling (negative values are an error)").def(false);
  s.param("clip", &NormaliserOptions::clip, "minmax: clip scaled values to [0, 1]").def(true);
  s.schema_doc = "needs a split and `columns` (numeric); gives its input with those columns as float64";
  s.schema = [](SchemaContext& c) {
    c.need_split();
    SelectOptions o;
    o.types = {DType::Float64, DType::Int64};
    o.default_roles = {ColumnRole::Feature};
    auto cols = c.select("columns", o);
    Schema out = c.input();
    for (const auto& n : cols)
      if (const auto* in = out.find(n)) {
        ColumnSchema x = *in;
        x.type = DType::Float64;
        out.set(x);
      }
    return out;
  };
  return s;
}

}  // namespace pipectl::plugins
