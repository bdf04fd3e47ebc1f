// csv_sink: writes its input table to a CSV file and passes the table on
// unchanged.
//
// The file (RFC 4180, LF line ends) is what the csv source reads back into
// the same table:
//   - a header row of column names;
//   - int64 as integers; float64 with full round-trip precision ("%.17g", or
//     the shortest exact form with float_format = "shortest"), always with a
//     '.' or an exponent so it reads back as float64 ("100.0"), non-finite
//     values as nan / inf / -inf;
//   - categorical as its label, quoted when it holds the delimiter, a quote
//     or a line break, is empty (`""`: the empty string), has blanks around it
//     or reads as a number (so digits stay categorical when read back);
//   - multi_categorical as its items joined with list_separator, `""` for an
//     empty list (an item holding the separator, or an empty item, cannot be
//     written and is a DataError);
//   - NULL (any type) as an empty field.
// With `roles` and a split table, a last column `role` holds train/valid/test.
// The file is written to "<path>.tmp" and renamed to <path> when complete.
#pragma once

#include <pipectl/plugin.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pipectl::plugins {

/// The csv sink's parameters (bound in csv_sink_spec, filled by the host).
struct CsvSinkOptions {
  std::filesystem::path path;
  std::vector<std::string> columns;
  bool roles = false;
  std::string list_separator;
  std::string delimiter;
  std::string float_format;
};

PluginSpec csv_sink_spec();

struct CsvSinkConfig {
  std::string path;
  std::vector<std::string> columns;  ///< empty = all
  bool roles = false;
  std::string list_separator = "|";
  char delimiter = ',';
  bool shortest_floats = false;  ///< float_format = "shortest"

  static CsvSinkConfig from(const CsvSinkOptions& o);
  /// What is wrong across or within parameters beyond their declared types
  /// and choices, as {parameter, message}; reported by the schema rule.
  static std::vector<std::pair<std::string, std::string>> problems(const CsvSinkOptions& o);
  /// Needs `columns`; gives its input.
  Schema schema(SchemaContext& ctx) const;
};

/// Write `t` as CSV, handing the text to `out` in chunks. `ctx` may be null.
/// Returns the number of data rows written.
std::size_t write_csv(const Table& t, const CsvSinkConfig& cfg, const std::function<void(std::string_view)>& out,
                      StageContext* ctx = nullptr);

class CsvSink : public Stage {
 public:
  using Options = CsvSinkOptions;
  explicit CsvSink(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  CsvSinkConfig cfg_;
};

}  // namespace pipectl::plugins
