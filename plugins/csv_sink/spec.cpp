#include "csv_sink.hpp"

namespace pipectl::plugins {

PluginSpec csv_sink_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::No;  // writes one file from one process's rows
  s.param("path", &CsvSinkOptions::path, "the CSV file to write (replaced atomically: written to <path>.tmp, then renamed)")
      .required();
  s.param("columns", &CsvSinkOptions::columns, "the columns to write, in this order ([] = all)").def(json::array());
  s.param("roles", &CsvSinkOptions::roles, "add a last column `role` (train/valid/test) when the table has a split")
      .def(false);
  s.param("list_separator", &CsvSinkOptions::list_separator, "joins the items of a multi_categorical column").def("|");
  s.param("delimiter", &CsvSinkOptions::delimiter, "the field delimiter, one character").def(",");
  s.param("float_format", &CsvSinkOptions::float_format,
          "float64 text: \"%.17g\" (17 significant digits) or \"shortest\" (the shortest text that reads back "
          "as the same double); both round-trip exactly")
      .def("%.17g")
      .one_of({"%.17g", "shortest"});
  s.schema_doc = "needs `columns`; gives its input unchanged";
  s.schema = [](SchemaContext& c) {
    const auto o = bind_options<CsvSinkOptions>(csv_sink_spec(), c.params());
    const auto problems = CsvSinkConfig::problems(o);
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? CsvSinkConfig::from(o).schema(c) : c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
