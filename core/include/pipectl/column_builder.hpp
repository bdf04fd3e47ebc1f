// Building a table row by row, as every source does: typed columns with
// validity from the first NULL and dictionary-encoded text
// (ColumnBuilder), the checks on a query's columns and keys, the list column
// merged in from a second (key, value) query (ListJoin), and the `types`
// parameter that overrides what a column is read as.
//
// The sources (csv, sqlite, postgres) differ in how they get a value out of
// their library; what they make of it is here, once.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/export.hpp>
#include <pipectl/interner.hpp>
#include <pipectl/table.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pipectl {

/// What a column is being read as: decided up front (a declared type, a
/// typed result column), or by its first non-NULL value (Unknown).
enum class BuildKind : std::uint8_t { Unknown, Int, Float, Text };

/// int64 -> Int, float64 -> Float, categorical -> Text.
PIPECTL_API BuildKind build_kind(DType t);

/// One column being filled row by row. The source appends to the storage of
/// its kind (i64, f64 or codes through dict) and then calls `pushed()`.
struct PIPECTL_API ColumnBuilder {
  std::string name;
  BuildKind kind = BuildKind::Unknown;
  std::vector<std::int64_t> i64;
  std::vector<double> f64;
  std::vector<std::int32_t> codes;
  std::vector<std::uint8_t> valid;  ///< empty until the first NULL
  std::size_t nulls = 0;
  Interner dict;

  void reserve(std::size_t n);
  /// Row `row` is NULL (an Unknown column only counts it: settle() fills it in).
  void push_null(std::size_t row);
  /// After a value was appended to the storage of its kind.
  void pushed() {
    if (!valid.empty()) valid.push_back(1);
  }
  /// Fix the kind of a column whose first `row` rows were all NULL.
  void settle(BuildKind k, std::size_t row);
  /// The column of `rows` rows (a column that never saw a value is float64, all NULL).
  Column finish(std::size_t rows);
};

/// "a, b, c": the columns' names, for messages.
PIPECTL_API std::string column_names(const std::vector<ColumnBuilder>& cols);

/// A query's columns checked before any row is read: no two of the same
/// name; every column `types` names is one of them; with a list query, the
/// key is one of them and the list column is not. Returns the index of
/// `list_key` (-1 when absent and no list query is configured).
PIPECTL_API int check_query_columns(const std::vector<ColumnBuilder>& cols, const std::map<std::string, DType>& types,
                                    const std::string& query_sql, bool list, const std::string& list_key,
                                    const std::string& list_column);

/// The key column of a read, checked for a list merge: int64, no NULL,
/// ascending, and (with `one_row_per_session`, NetCollector's own query)
/// no session twice. Returns its values.
PIPECTL_API const std::vector<std::int64_t>& checked_list_keys(const Column& keycol, const std::string& list_key,
                                                               bool one_row_per_session);

/// The `types` parameter: a table of column = "int64" | "float64" |
/// "categorical" (| "multi_categorical" where the source reads lists).
PIPECTL_API std::map<std::string, DType> parse_column_types(const nlohmann::json& t, bool multi);
/// What parse_column_types would refuse in `t`, without the leading
/// `parameter "types": ` (for a schema rule that reports at the parameter);
/// "" when `t` is not a table or is acceptable.
PIPECTL_API std::string column_types_problem(const nlohmann::json& t, bool multi);

/// The list column (e.g. each session's DNS names) from a (key, value) query
/// ordered by key, merged onto the rows' ascending keys: every row gets the
/// values of its key, in the query's order (each once with `distinct`).
/// Values of keys no row has are counted, not kept; NULL keys and NULL
/// values are counted.
class PIPECTL_API ListJoin {
 public:
  /// `keys` must outlive the join; `list_sql` is named in errors.
  ListJoin(const std::vector<std::int64_t>& keys, bool distinct, std::string list_sql);

  /// List row `lrow` has key `k` (throws when the keys go down).
  void key(std::int64_t k, std::size_t lrow) {
    if (have_ && k == cur_) return;
    next_key(k, lrow);
  }
  void null_key() { ++null_keys_; }
  void null_value() { ++null_values_; }
  /// The value of the current key.
  void value(std::string_view v) {
    if (!matched_) {  // e.g. the DNS names of an unlabelled session: not even in the dictionary
      ++unmatched_;
      return;
    }
    const std::int32_t code = dict_.intern(v);
    if (distinct_) {
      const auto c = static_cast<std::size_t>(code);
      if (c >= stamp_.size()) stamp_.resize(c + 1, 0);
      if (stamp_[c] == gid_) return;
      stamp_[c] = gid_;
    }
    group_.push_back(code);
  }

  /// The multi_categorical column; the counts go to `count` as
  /// nulls.<column>, dropped.null_key.<column>, dropped.unmatched_key.<column>.
  Column finish(const std::string& column, const std::function<void(const std::string&, std::int64_t)>& count);

 private:
  void next_key(std::int64_t k, std::size_t lrow);
  void end_group();

  const std::vector<std::int64_t>& keys_;
  const std::size_t n_;
  bool distinct_;
  std::string sql_;
  Interner dict_;
  std::vector<std::int64_t> offsets_;
  std::vector<std::int32_t> codes_, group_;
  std::vector<std::uint32_t> stamp_;
  std::uint32_t gid_ = 0;
  std::size_t p_ = 0, unmatched_ = 0, null_values_ = 0, null_keys_ = 0;
  bool have_ = false, matched_ = false;
  std::int64_t cur_ = 0;
};

}  // namespace pipectl
