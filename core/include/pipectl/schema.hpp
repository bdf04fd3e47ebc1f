// Schemas: what flows along each edge of the stage graph.
//
// A Schema lists the columns a stage gives downstream — name, type
// (float64, int64, categorical, multi_categorical), nullability and role
// (feature, label, key, group, prediction, weight, meta) — and whether the
// rows carry train/valid/test roles (a splitter ran). Each plugin declares
// how its output schema follows from its parameters and its input schemas
// (PluginSpec::schema, a SchemaRule). The validator calls the rules from the
// sources to the last stage before any row is read; the runner checks each
// stage's actual output against the schema its rule declared.
//
// A source that cannot know its columns before it reads (a custom query on a
// file that is not there yet) returns a schema with `known = false`; the
// stages after it are checked again, with the schema the source actually
// gave, before they run.
//
// Column selectors: a parameter of type ParamType::Columns names columns as
// a list of names and globs (`["bytes", "http_*"]`) or a table
// `{ type = "numeric", role = "feature", pattern = "…", exclude = [...] }`;
// SchemaContext::select resolves it against the incoming schema.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/param.hpp>
#include <pipectl/table.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipectl {

/// What a column is for. Label, key, group and prediction replace naming
/// conventions: a trainer's prediction columns are declared with
/// ColumnRole::Prediction, the label a cleaner makes with ColumnRole::Label.
enum class ColumnRole : std::uint8_t { Feature, Label, Key, Group, Prediction, Weight, Meta };
PIPECTL_API const char* column_role_name(ColumnRole r);
PIPECTL_API bool parse_column_role(std::string_view s, ColumnRole& out);
PIPECTL_API bool parse_dtype(std::string_view s, DType& out);

struct PIPECTL_API ColumnSchema {
  std::string name;
  DType type = DType::Float64;
  bool nullable = true;
  ColumnRole role = ColumnRole::Feature;
  /// Stands for every column whose name starts with `name` (one per class of
  /// a label whose classes are known only at run time, e.g. "pred_proba"
  /// for "pred_proba" or "pred_proba.<class>").
  bool prefix = false;
  /// A label's positive class when it is binary ("" = none declared).
  std::string positive;

  bool numeric() const { return type == DType::Float64 || type == DType::Int64; }
  bool matches(const std::string& column) const;
  json to_json() const;
};

struct PIPECTL_API Schema {
  /// False when the columns are known only at run time: checks of the stages
  /// downstream wait until the rows arrive.
  bool known = true;
  /// Rows carry train/valid/test roles.
  bool split = false;
  std::vector<ColumnSchema> columns;

  /// The column named `name` (not a prefix family), or nullptr.
  const ColumnSchema* find(const std::string& name) const;
  /// The declaration that covers `name`: the column, or a prefix family.
  const ColumnSchema* covering(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;
  /// Add a column, or replace the one of that name (keeping its place).
  void set(ColumnSchema c);
  void drop(const std::string& name);
  /// The first column with role `r`, or nullptr.
  const ColumnSchema* with_role(ColumnRole r) const;

  json to_json() const;
  static Schema from_json(const json& j);
  /// What a table actually holds: names and types; nullable when it has a
  /// NULL; every role Feature (a table carries no roles of its own).
  static Schema of(const Table& t);
};

/// The union of several inputs' columns (the first input's declaration wins
/// for a name given twice); known only when every input is; split when any is.
PIPECTL_API Schema merge_schemas(const std::vector<Schema>& inputs);

/// Words for a type constraint ("numeric" = float64 or int64).
PIPECTL_API std::string types_text(const std::vector<DType>& types);

/// A problem found by a schema rule: the parameter it comes from ("" = the
/// stage as a whole) and the message.
struct PIPECTL_API SchemaIssue {
  std::string param;
  std::string message;
};

/// How a column selector may resolve.
struct PIPECTL_API SelectOptions {
  bool allow_empty = false;          ///< an empty selection is not an error
  std::vector<DType> types;          ///< every selected column must be of one of these (empty = any)
  std::vector<std::string> exclude;  ///< never selected (e.g. the label), by name
  /// For a table selector with no `role`: only columns of these roles.
  std::vector<ColumnRole> default_roles;
};

/// What a schema rule is given: the stage's resolved parameters and its
/// inputs' schemas, and where it reports problems.
class PIPECTL_API SchemaContext {
 public:
  SchemaContext(const Params& params, std::vector<Schema> inputs);

  const Params& params() const { return params_; }
  const std::vector<Schema>& inputs() const { return inputs_; }
  /// All inputs merged (see merge_schemas).
  const Schema& input() const { return merged_; }
  /// Whether the input columns are known (else column checks are skipped).
  bool known() const { return merged_.known; }

  /// Report a problem with parameter `param` ("" = the stage).
  void error(const std::string& param, const std::string& message);
  const std::vector<SchemaIssue>& issues() const { return issues_; }

  /// The column `column`, named by parameter `param`, must reach this stage
  /// (of one of `types` when given). Reports a missing column (with at most
  /// five close names) or a wrong type; returns the column, or nullptr when
  /// it is missing or the input is not known.
  const ColumnSchema* need(const std::string& param, const std::string& column, const std::vector<DType>& types = {},
                           const Schema* in = nullptr);
  /// The rows must carry train/valid/test roles (a splitter upstream).
  void need_split();

  /// Resolve the column selector of parameter `param` against the input
  /// (see the file comment). Reports missing columns, glob patterns that
  /// match nothing, wrong types and an empty selection (unless allowed).
  /// The resolved names are also recorded (resolved()), for the validator to
  /// write into the stage's parameters. When the input is not known, returns
  /// the plain names of a list selector and records nothing.
  std::vector<std::string> select(const std::string& param, const SelectOptions& opt = {});
  const std::vector<std::pair<std::string, std::vector<std::string>>>& resolved() const { return resolved_; }

 private:
  const Params& params_;
  std::vector<Schema> inputs_;
  Schema merged_;
  std::vector<SchemaIssue> issues_;
  std::vector<std::pair<std::string, std::vector<std::string>>> resolved_;
};

/// How a plugin's output schema follows from its parameters and inputs.
using SchemaRule = std::function<Schema(SchemaContext&)>;

/// Whether `v` is a valid column selector value ("" when it is, else what is wrong).
PIPECTL_API std::string check_selector(const json& v);
/// Whether a selector is a plain list of names (no globs, no table).
PIPECTL_API bool plain_names(const json& selector);
/// "a, b, c … (+N more)": a long list of names shortened to fit `max_chars`.
PIPECTL_API std::string shorten_names(const std::vector<std::string>& names, std::size_t max_chars = 120);
/// The message for a column that is missing from `available`: names at most
/// five close ones, never the whole list; under ~300 characters.
PIPECTL_API std::string missing_column_text(const std::string& column, const std::vector<std::string>& available);

}  // namespace pipectl
