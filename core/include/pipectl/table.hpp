// The columnar table that flows between stages.
//
// A Table is an immutable set of equal-length, typed, contiguous columns,
// shared by pointer: a stage that changes one column returns a new Table that
// shares every other column with its input (zero copy), so two stages may
// read one output concurrently and nobody mutates another's input.
#pragma once

#include <pipectl/export.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pipectl {

enum class DType : std::uint8_t {
  Float64,           ///< f64 values (NaN allowed as a value; nulls via `valid`)
  Int64,             ///< i64 values
  Categorical,       ///< codes[i] indexes dictionary; -1 = null
  MultiCategorical,  ///< row i holds codes[offsets[i] .. offsets[i+1]) into dictionary
};
PIPECTL_API const char* dtype_name(DType t);

/// The row's role once a splitter has run.
enum class Role : std::uint8_t { None = 0, Train = 1, Valid = 2, Test = 3 };
PIPECTL_API const char* role_name(Role r);

using Dictionary = std::vector<std::string>;
using DictionaryPtr = std::shared_ptr<const Dictionary>;

struct PIPECTL_API Column {
  std::string name;
  DType type = DType::Float64;

  std::vector<double> f64;          ///< Float64
  std::vector<std::int64_t> i64;    ///< Int64
  std::vector<std::int32_t> codes;  ///< Categorical (one per row) / MultiCategorical (flat)
  std::vector<std::int64_t> offsets;  ///< MultiCategorical: rows + 1 entries
  DictionaryPtr dictionary;         ///< Categorical / MultiCategorical
  std::vector<std::uint8_t> valid;  ///< empty = no nulls; else 1 = value, 0 = NULL

  std::size_t rows() const;
  bool is_null(std::size_t i) const { return !valid.empty() && valid[i] == 0; }
  std::size_t null_count() const;
  bool is_numeric() const { return type == DType::Float64 || type == DType::Int64; }
  /// Numeric value as double (Float64 / Int64 only); NaN for NULL.
  double number(std::size_t i) const;
  /// Category label of row i (Categorical only); "" for NULL.
  const std::string& label(std::size_t i) const;

  /// Throws pipectl::Error describing the first inconsistency (sizes, codes
  /// out of dictionary range, offsets not monotone).
  void check() const;

  /// Zero-copy views for linear algebra.
  Eigen::Map<const Eigen::VectorXd> f64_view() const {
    return {f64.data(), static_cast<Eigen::Index>(f64.size())};
  }
  Eigen::Map<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> i64_view() const {
    return {i64.data(), static_cast<Eigen::Index>(i64.size())};
  }

  static Column make_f64(std::string name, std::vector<double> v, std::vector<std::uint8_t> valid = {});
  static Column make_i64(std::string name, std::vector<std::int64_t> v, std::vector<std::uint8_t> valid = {});
  static Column make_cat(std::string name, std::vector<std::int32_t> codes, DictionaryPtr dict);
  static Column make_multi(std::string name, std::vector<std::int64_t> offsets,
                           std::vector<std::int32_t> codes, DictionaryPtr dict);
};
using ColumnPtr = std::shared_ptr<const Column>;

/// Build a dictionary-encoded column from strings (dictionary in first-seen order).
PIPECTL_API Column encode_strings(std::string name, const std::vector<std::string>& values,
                                  const std::vector<std::uint8_t>& valid = {});

class PIPECTL_API Table {
 public:
  Table() = default;
  explicit Table(std::vector<ColumnPtr> columns);

  std::size_t rows() const { return rows_; }
  std::size_t num_columns() const { return columns_.size(); }
  const std::vector<ColumnPtr>& columns() const { return columns_; }
  std::vector<std::string> column_names() const;

  /// nullptr when absent.
  ColumnPtr find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  /// Throws pipectl::DataError `no column "x" (columns: a, b, c)` when absent.
  const Column& at(std::string_view name) const;

  /// A new table with `col` added, or replacing the column of the same name
  /// (keeping its position). Rows must match.
  Table with(ColumnPtr col) const;
  Table with(Column col) const { return with(std::make_shared<const Column>(std::move(col))); }
  Table without(std::string_view name) const;
  /// A new table holding only `rows` (in that order), roles included.
  Table take(const std::vector<std::uint32_t>& rows) const;

  // Row roles (train / valid / test) once a splitter has run.
  bool has_roles() const { return roles_ != nullptr; }
  const std::vector<Role>& roles() const;  ///< throws if no split
  Table with_roles(std::shared_ptr<const std::vector<Role>> roles) const;
  /// Row indices whose role is r. Without a split, Role::None selects every row.
  std::vector<std::uint32_t> rows_with(Role r) const;

  /// Free-form metadata carried along (e.g. "label" -> "is_iot", "model" -> stage id).
  const std::map<std::string, std::string>& meta() const { return meta_; }
  std::string meta(const std::string& key, const std::string& fallback = "") const;
  Table with_meta(const std::string& key, const std::string& value) const;

  /// Throws pipectl::Error if columns differ in length, names repeat, or a
  /// column is internally inconsistent.
  void check() const;

 private:
  std::vector<ColumnPtr> columns_;
  std::size_t rows_ = 0;
  std::shared_ptr<const std::vector<Role>> roles_;
  std::map<std::string, std::string> meta_;
};
using TablePtr = std::shared_ptr<const Table>;

}  // namespace pipectl
