// One line of RFC 4180 CSV (quoted fields, "" escapes; no line breaks inside fields).
#pragma once

#include <algorithm>
#include <istream>
#include <string>
#include <vector>

namespace pipectl::ingest {

/// Split `line` into fields. Returns false on an unterminated quote.
inline bool split_csv_line(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  bool quoted = false, in_quotes = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && !quoted && field.find_first_not_of(" \t") == std::string::npos) {
      field.clear();
      quoted = in_quotes = true;
    } else if (c == ',') {
      out.push_back(field);
      field.clear();
      quoted = false;
    } else if (c == '\r' && i + 1 == line.size()) {
      // CRLF line ending
    } else {
      field.push_back(c);
    }
  }
  if (in_quotes) return false;
  out.push_back(field);
  return true;
}

/// Read one record: a line, joined with the following ones while a quoted
/// field is open (fields may hold line breaks). `lines` counts lines read.
inline bool read_csv_record(std::istream& in, std::string& record, std::size_t& lines) {
  record.clear();
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    ++lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!first) record.push_back('\n');
    record += line;
    first = false;
    if (std::count(record.begin(), record.end(), '"') % 2 == 0) return true;
  }
  return !first;  // an unterminated quote at the end: split_csv_line reports it
}

inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace pipectl::ingest
