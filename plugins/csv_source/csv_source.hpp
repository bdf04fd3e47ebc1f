// csv: the source stage reading a table from a CSV file (RFC 4180, see
// csv_reader.hpp), with the same columns the sqlite source gives, so the two
// are swappable.
//
// Columns and types:
//   - without `types`, every header column is read: those in `list_columns`
//     are multi_categorical (items split at `list_separator`, empty items
//     ignored; list_columns missing from the header are ignored), the others
//     inferred from the column's values in the first 64 MiB of the file: all
//     values integers -> int64, all numbers -> float64 (nan / inf count as
//     numbers), else categorical (a later value that does not fit is an
//     error saying so). Validation learns the same schema from the header
//     and those records; list_columns is empty by default (the NetCollector
//     export's pipelines set ["dns"]).
//   - with `types` (column -> int64 | float64 | categorical |
//     multi_categorical) the schema is declared: the contract makes the
//     `types` columns plus `list_columns`, the output holds exactly those
//     (other header columns are not read, which the log says), and each of
//     them must be in the header (a DataError otherwise). The runner refuses
//     undeclared output columns of a non-dynamic stage, hence no inference
//     of the rest in this mode.
//
// Empty fields and quotes (the convention csv_sink writes):
//   - an empty bare field is NULL in every column type;
//   - a quoted empty field `""` is the empty string in a categorical column,
//     the empty list in a list column, and NULL in a numeric column (it does
//     not stop a column from being inferred numeric);
//   - with `quoted_is_text` (default) any other quoted field counts as text
//     when inferring, so a categorical column of digits written quoted by
//     csv_sink stays categorical; declared numeric columns parse quoted fields.
// Numbers may have blanks around them and a leading '+'; a declared int64
// column also takes an integral real such as "3.0" (a declared column's value
// that is no number is a DataError naming the column and the line).
#pragma once

#include <pipectl/plugin.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pipectl::plugins {

/// The csv source's parameters (bound in csv_spec, filled by the host).
struct CsvOptions {
  std::filesystem::path path;
  std::string delimiter;
  json types;  ///< column -> type name
  std::vector<std::string> list_columns;
  std::string list_separator;
  bool quoted_is_text = true;
};

PluginSpec csv_spec();

struct CsvConfig {
  std::string path;
  char delimiter = ',';
  std::map<std::string, DType> types;
  std::vector<std::string> list_columns;
  std::string list_separator = "|";
  bool quoted_is_text = true;

  /// Throws pipectl::Error when `types` names an unknown type (problems()
  /// reports it first, at validation).
  static CsvConfig from(const CsvOptions& o);
  /// What is wrong across or within parameters beyond their declared types,
  /// as {parameter, message}; reported by the schema rule.
  static std::vector<std::pair<std::string, std::string>> problems(const CsvOptions& o);
  /// From the header and the inferred head of the file (no file yet: the
  /// `types` columns, else known at run time).
  Schema schema() const;
};

class CsvSource : public Stage {
 public:
  using Options = CsvOptions;
  explicit CsvSource(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  CsvConfig cfg_;
};

/// Parse a CSV held in memory (what the stage does after mapping the file).
/// `ctx` may be null (no counters, progress or cancellation).
Table read_csv_buffer(std::string_view data, const CsvConfig& cfg, StageContext* ctx = nullptr);

}  // namespace pipectl::plugins
