#include "csv_sink.hpp"

namespace pipectl::plugins {

PluginSpec csv_sink_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::No;  // writes one file from one process's rows
  s.param("path", ParamType::Path, "the CSV file to write (replaced atomically: written to <path>.tmp, then renamed)")
      .required();
  s.param("columns", ParamType::StringList, "the columns to write, in this order ([] = all)").def(json::array());
  s.param("roles", ParamType::Bool, "add a last column `role` (train/valid/test) when the table has a split")
      .def(false);
  s.param("list_separator", ParamType::String, "joins the items of a multi_categorical column").def("|");
  s.param("delimiter", ParamType::String, "the field delimiter, one character").def(",");
  s.param("float_format", ParamType::String,
          "float64 text: \"%.17g\" (17 significant digits) or \"shortest\" (the shortest text that reads back "
          "as the same double); both round-trip exactly")
      .def("%.17g")
      .one_of({"%.17g", "shortest"});
  s.schema_doc = "needs `columns`; gives its input unchanged";
  s.schema = [](SchemaContext& c) { return CsvSinkConfig::from(c.params()).schema(c); };
  return s;
}

}  // namespace pipectl::plugins
