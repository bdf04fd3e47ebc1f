#include <pipectl/error.hpp>
#include <pipectl/param.hpp>
#include <pipectl/schema.hpp>

#include <cmath>
#include <sstream>

namespace pipectl {

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::String: return "string";
    case ParamType::Path: return "path";
    case ParamType::StringList: return "string list";
    case ParamType::Table: return "table";
    case ParamType::Columns: return "columns";
  }
  return "?";
}

static std::string describe_value(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return "string " + v.dump();
    case json::value_t::boolean: return "boolean " + v.dump();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer " + v.dump();
    case json::value_t::number_float: return "float " + v.dump();
    case json::value_t::array: return "array";
    case json::value_t::object: return "table";
    default: return v.type_name();
  }
}

static std::string fmt_num(double d) {
  std::ostringstream o;
  o << d;
  return o.str();
}

std::string ParamSpec::check(const json& v) const {
  auto range_msg = [&](double x) -> std::string {
    const bool low = min && (min_open ? x <= *min : x < *min);
    const bool high = max && (max_open ? x >= *max : x > *max);
    if (low || high) {
      if (min && max) return "must be in " + range_text() + ", got " + fmt_num(x);
      return "must be " + range_text() + ", got " + fmt_num(x);
    }
    return "";
  };
  auto choice_msg = [&](const std::string& s) -> std::string {
    if (choices.empty()) return "";
    for (const auto& c : choices)
      if (c == s) return "";
    std::string all;
    for (const auto& c : choices) all += (all.empty() ? "" : ", ") + ("\"" + c + "\"");
    return "must be one of " + all + ", got \"" + s + "\"";
  };
  switch (type) {
    case ParamType::Bool:
      if (!v.is_boolean()) return "expects a boolean, got " + describe_value(v);
      return "";
    case ParamType::Int:
      if (!v.is_number_integer()) return "expects an integer, got " + describe_value(v);
      return range_msg(static_cast<double>(v.get<std::int64_t>()));
    case ParamType::Float:
      if (!v.is_number()) return "expects a number, got " + describe_value(v);
      if (!std::isfinite(v.get<double>())) return "expects a finite number, got " + fmt_num(v.get<double>());
      return range_msg(v.get<double>());
    case ParamType::String:
    case ParamType::Path:
      if (!v.is_string()) return "expects a string, got " + describe_value(v);
      return choice_msg(v.get<std::string>());
    case ParamType::StringList:
      if (!v.is_array()) return "expects a list of strings, got " + describe_value(v);
      for (const auto& e : v) {
        if (!e.is_string()) return "expects a list of strings, got an element " + describe_value(e);
        auto m = choice_msg(e.get<std::string>());
        if (!m.empty()) return "each element " + m;
      }
      return "";
    case ParamType::Table:
      if (!v.is_object()) return "expects a table, got " + describe_value(v);
      return "";
    case ParamType::Columns:
      return check_selector(v);
  }
  return "";
}

std::string ParamSpec::range_text() const {
  if (min && max)
    return std::string(min_open ? "(" : "[") + fmt_num(*min) + ", " + fmt_num(*max) + (max_open ? ")" : "]");
  if (min) return (min_open ? "above " : "at least ") + fmt_num(*min);
  if (max) return (max_open ? "below " : "at most ") + fmt_num(*max);
  return "";
}

json ParamSpec::to_json() const {
  json j = {{"name", name}, {"type", param_type_name(type)}, {"description", description},
            {"required", is_required}};
  if (!default_value.is_null()) j["default"] = default_value;
  if (min) j["min"] = *min;
  if (max) j["max"] = *max;
  if (min_open) j["min_open"] = true;
  if (max_open) j["max_open"] = true;
  if (!choices.empty()) j["choices"] = choices;
  return j;
}

const json& Params::get(const std::string& k) const {
  auto it = v_.find(k);
  if (it == v_.end() || it->is_null()) throw Error("parameter \"" + k + "\" is not set");
  return *it;
}
bool Params::boolean(const std::string& k) const { return get(k).get<bool>(); }
std::int64_t Params::integer(const std::string& k) const { return get(k).get<std::int64_t>(); }
double Params::number(const std::string& k) const { return get(k).get<double>(); }
std::string Params::str(const std::string& k) const { return get(k).get<std::string>(); }
std::vector<std::string> Params::strings(const std::string& k) const {
  return get(k).get<std::vector<std::string>>();
}
const json& Params::raw(const std::string& k) const { return get(k); }

}  // namespace pipectl
