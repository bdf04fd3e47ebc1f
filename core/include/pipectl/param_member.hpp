// The C++ types a parameter binds to (PluginSpec::param(name, &Opts::member, …)).
//
// A plugin declares a plain struct of typed fields and binds each parameter
// to one of them; the host fills the struct from the validated values and
// the stage's constructor receives it (see plugin.hpp). Each member type
// gives the parameter's type, unless the C++ type fits several:
//
//   bool                      Bool
//   std::int64_t, int         Int
//   double                    Float
//   std::string               String (or Path, given explicitly)
//   std::filesystem::path     Path
//   std::vector<std::string>  StringList (or Columns, given explicitly: the resolved names)
//   json                      Table (any type given explicitly: the raw value; null when unset)
//   std::optional<T>          as T; empty when the parameter has no value (no default, not given)
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/param.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace pipectl::param_member {

/// Why `v` does not fit a member described as `what` ("" when it does).
inline std::string mismatch(const char* what, const json& v) {
  return std::string("a ") + what + " member cannot hold " + (v.is_null() ? std::string("no value") : v.dump());
}

template <class T>
struct Traits {
  static constexpr bool supported = false;
};

template <>
struct Traits<bool> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::Bool;
  static constexpr const char* name = "bool";
  static bool accepts(ParamType t) { return t == ParamType::Bool; }
  static std::string store(bool& m, const json& v) {
    if (!v.is_boolean()) return mismatch(name, v);
    m = v.get<bool>();
    return "";
  }
};

template <>
struct Traits<std::int64_t> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::Int;
  static constexpr const char* name = "std::int64_t";
  static bool accepts(ParamType t) { return t == ParamType::Int; }
  static std::string store(std::int64_t& m, const json& v) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return mismatch(name, v);
    if (!v.is_number_integer()) return mismatch(name, v);
    m = v.get<std::int64_t>();
    return "";
  }
};

template <>
struct Traits<int> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::Int;
  static constexpr const char* name = "int";
  static bool accepts(ParamType t) { return t == ParamType::Int; }
  static std::string store(int& m, const json& v) {
    std::int64_t x = 0;
    if (!Traits<std::int64_t>::store(x, v).empty() || x < std::numeric_limits<int>::min() ||
        x > std::numeric_limits<int>::max())
      return mismatch(name, v);
    m = static_cast<int>(x);
    return "";
  }
};

template <>
struct Traits<double> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::Float;
  static constexpr const char* name = "double";
  static bool accepts(ParamType t) { return t == ParamType::Float; }
  static std::string store(double& m, const json& v) {
    if (!v.is_number()) return mismatch(name, v);
    m = v.get<double>();
    return "";
  }
};

template <>
struct Traits<std::string> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::String;
  static constexpr const char* name = "std::string";
  static bool accepts(ParamType t) { return t == ParamType::String || t == ParamType::Path; }
  static std::string store(std::string& m, const json& v) {
    if (!v.is_string()) return mismatch(name, v);
    m = v.get<std::string>();
    return "";
  }
};

template <>
struct Traits<std::filesystem::path> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::Path;
  static constexpr const char* name = "std::filesystem::path";
  static bool accepts(ParamType t) { return t == ParamType::Path; }
  static std::string store(std::filesystem::path& m, const json& v) {
    if (!v.is_string()) return mismatch(name, v);
    m = v.get<std::string>();
    return "";
  }
};

template <>
struct Traits<std::vector<std::string>> {
  static constexpr bool supported = true, optional = false;
  static constexpr ParamType deduced = ParamType::StringList;
  static constexpr const char* name = "std::vector<std::string>";
  static bool accepts(ParamType t) { return t == ParamType::StringList || t == ParamType::Columns; }
  static std::string store(std::vector<std::string>& m, const json& v) {
    if (!v.is_array()) return mismatch(name, v);
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& e : v) {
      if (!e.is_string()) return mismatch(name, v);
      out.push_back(e.get<std::string>());
    }
    m = std::move(out);
    return "";
  }
};

/// json holds any value, null included (a Table with no default is null).
template <>
struct Traits<json> {
  static constexpr bool supported = true, optional = true;
  static constexpr ParamType deduced = ParamType::Table;
  static constexpr const char* name = "json";
  static bool accepts(ParamType) { return true; }
  static std::string store(json& m, const json& v) {
    m = v;
    return "";
  }
};

template <class T>
struct Traits<std::optional<T>> {
  static constexpr bool supported = Traits<T>::supported && !std::is_same_v<T, json>;
  static constexpr bool optional = true;
  static constexpr ParamType deduced = Traits<T>::deduced;
  static constexpr const char* name = Traits<T>::name;
  static bool accepts(ParamType t) { return Traits<T>::accepts(t); }
  static std::string store(std::optional<T>& m, const json& v) {
    if (v.is_null()) {
      m.reset();
      return "";
    }
    T x{};
    auto e = Traits<T>::store(x, v);
    if (e.empty()) m = std::move(x);
    return e;
  }
};

}  // namespace pipectl::param_member
