#include "csv_source.hpp"

namespace pipectl::plugins {

PluginSpec csv_spec() {
  PluginSpec s;
  s.min_inputs = 0;
  s.max_inputs = 0;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::No;  // reads the whole file (no sharding by key yet)
  s.param("path", &CsvOptions::path, "the CSV file (RFC 4180: a header row, quoted fields with \"\" escapes)")
      .required();
  s.param("delimiter", &CsvOptions::delimiter, "the field delimiter, one character").def(",");
  s.param("types", &CsvOptions::types,
          "column -> \"int64\" | \"float64\" | \"categorical\" | \"multi_categorical\": the declared schema; "
          "the output is then exactly these columns plus list_columns. Without it every column is read, "
          "its type inferred from its values in the first 64 MiB of the file (all integers: int64, all numbers: "
          "float64, else categorical)")
      .def(json::object());
  s.param("list_columns", &CsvOptions::list_columns,
          "multi-valued (multi_categorical) columns, items separated by list_separator; without types, "
          "names not in the header are ignored; with types, they must be in the header (the NetCollector "
          "export's DNS names: [\"dns\"])")
      .def(json::array());
  s.param("list_separator", &CsvOptions::list_separator, "separates the items of a list column's field").def("|");
  s.param("quoted_is_text", &CsvOptions::quoted_is_text,
          "a quoted field counts as text when inferring a column's type (so quoted digits stay categorical, "
          "as csv_sink writes them); declared numeric columns parse quoted fields regardless")
      .def(true);
  s.schema_doc = "the header's columns, typed by `types`, list_columns or inference over the file's first 64 MiB "
                 "(learnt at validation); a file not there yet: the `types` columns, else known at run time";
  s.schema = [](SchemaContext& c) {
    const auto o = bind_options<CsvOptions>(csv_spec(), c.params());
    const auto problems = CsvConfig::problems(o);
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? CsvConfig::from(o).schema() : c.input();
  };
  s.input_param = "path";
  return s;
}

}  // namespace pipectl::plugins
