// Parameters, declared once per plugin.
//
// A plugin lists its parameters in a PluginSpec (name, type, default,
// range/choices, required, description). That single declaration drives
// validation ("unknown parameter … allowed: …", type and range checks),
// `pipectl plugins describe`, the JSON Schema of pipeline files, and (bound
// to a member of the plugin's options struct, see plugin.hpp and
// param_member.hpp) the values the stage's constructor receives.
#pragma once

#include <pipectl/export.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

namespace pipectl {

using json = nlohmann::json;

enum class ParamType {
  Bool,
  Int,
  Float,       ///< accepts integers too
  String,
  Path,        ///< a string; relative values resolve against the pipeline file's folder
  StringList,
  Table,       ///< free-form key/value table (passed through, e.g. extra XGBoost params)
  /// A column selector: a list of names and globs (`["bytes", "http_*"]`) or
  /// a table `{ type = …, role = …, pattern = …, exclude = [...] }`. The
  /// validator resolves it against the stage's input schema and the plugin
  /// receives the resolved names as a string list (see schema.hpp).
  Columns,
};
PIPECTL_API const char* param_type_name(ParamType t);

struct PIPECTL_API ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  std::string description;
  json default_value;                  ///< null = no default
  bool is_required = false;
  std::optional<double> min, max;      ///< range for Int / Float (inclusive unless *_open)
  bool min_open = false, max_open = false;  ///< the bound itself is excluded: (0, 1]
  std::vector<std::string> choices;    ///< allowed values for String (or each StringList item)

  /// Set when the parameter is bound to a member of the plugin's options
  /// struct (PluginSpec::param(name, &Opts::member, …), see plugin.hpp):
  /// stores a value into that member of *options, an Opts; "" when it fit,
  /// else why not.
  std::function<std::string(void* options, const json& value)> store;
  const std::type_info* bound_to = nullptr;  ///< typeid(Opts), when bound
  const char* member_type = nullptr;         ///< the member's C++ type, for messages
  bool member_optional = false;              ///< std::optional<T> or json: holds "no value"

  // Fluent declaration helpers.
  ParamSpec& def(json v) { default_value = std::move(v); return *this; }
  ParamSpec& required() { is_required = true; return *this; }
  ParamSpec& range(double lo, double hi) { min = lo; max = hi; return *this; }
  /// (lo, hi]: lo itself excluded (a learning rate, a fraction that must be positive).
  ParamSpec& range_open_low(double lo, double hi) { min = lo; max = hi; min_open = true; return *this; }
  /// (lo, hi): both bounds excluded.
  ParamSpec& range_open(double lo, double hi) {
    min = lo; max = hi; min_open = max_open = true; return *this;
  }
  /// x > lo.
  ParamSpec& above(double lo) { min = lo; min_open = true; return *this; }
  ParamSpec& at_least(double lo) { min = lo; return *this; }
  ParamSpec& one_of(std::vector<std::string> c) { choices = std::move(c); return *this; }

  /// "" when v is acceptable, else a message such as
  /// `expects an integer, got string "x"` or `must be in [0, 1], got 2`.
  std::string check(const json& v) const;
  /// The range in words: "[0, 1]", "(0, 1]", "at least 1", "above 0".
  std::string range_text() const;
  json to_json() const;
};

/// Resolved parameter values for one stage: every declared parameter is
/// present (given, or its default), paths are absolute.
class PIPECTL_API Params {
 public:
  Params() = default;
  explicit Params(json values) : v_(std::move(values)) {}

  bool has(const std::string& k) const { return v_.contains(k) && !v_[k].is_null(); }
  bool boolean(const std::string& k) const;
  std::int64_t integer(const std::string& k) const;
  double number(const std::string& k) const;
  std::string str(const std::string& k) const;
  std::vector<std::string> strings(const std::string& k) const;
  const json& raw(const std::string& k) const;
  const json& all() const { return v_; }

 private:
  const json& get(const std::string& k) const;
  json v_ = json::object();
};

}  // namespace pipectl
