// Values read from text, and text written into messages, the same way in
// every source (CSV, SQLite, PostgreSQL) and tool.
//
// Header-only and inline: the sources call these once per cell, so they
// must cost what the code written in place would.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace pipectl::text {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// Without leading and trailing ASCII blanks.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Without one leading '+' (from_chars takes none); "+-1" and "++1" keep it and stay invalid.
inline std::string_view drop_plus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

/// The whole text as one number: blanks around it and a leading '+' are
/// allowed, nothing else (no trailing units, no empty text).
template <class T>
bool parse_number(std::string_view s, T& out) {
  s = drop_plus(trim(s));
  if (s.empty()) return false;
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>)
    r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::general);
  else
    r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
inline bool parse_int(std::string_view s, std::int64_t& out) { return parse_number(s, out); }
inline bool parse_double(std::string_view s, double& out) { return parse_number(s, out); }

/// A value quoted for a message, cut after `max` bytes with "...".
inline std::string shown(std::string_view s, std::size_t max = 80) {
  std::string out = "\"";
  const std::size_t n = std::min(s.size(), max);
  out.append(s.data(), n);
  if (n < s.size()) out += "...";
  return out + "\"";
}

/// The shortest text that reads back as the same double.
inline std::string fmt_double(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

/// Runs of blanks as one space, none at either end: two queries that differ
/// only in layout compare equal.
inline std::string collapse_ws(std::string_view s) {
  std::string out;
  bool space = false;
  for (char ch : s) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

/// An SQL identifier in double quotes (SQLite and PostgreSQL alike), inner quotes doubled.
inline std::string quote_ident(std::string_view name) {
  std::string q = "\"";
  for (char c : name) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

/// One SQL statement without the ';' and blanks that end it, to wrap in a
/// subquery (the wrapper puts a line break after it, which ends a trailing
/// -- comment).
inline std::string sql_statement(std::string_view sql) {
  sql = trim(sql);
  while (!sql.empty() && (sql.back() == ';' || is_blank(sql.back()))) sql.remove_suffix(1);
  return std::string(sql);
}

}  // namespace pipectl::text
