// Shared helpers of the ingest tests.
#pragma once

#include "ingest_cli.hpp"
#include "support/run_cmd.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ingest_test {

using pipectl::testsupport::TempDir;

struct Result {
  int rc;
  std::string out, err;
};

/// `pipectl ingest <args>` in-process.
inline Result ingest(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int rc = pipectl::ingest::cli_main(args, out, err);
  return Result{rc, out.str(), err.str()};
}

using Rows = std::vector<std::vector<std::string>>;

/// All rows of `sql` on the database at `path`, values as text, NULL as "NULL".
inline Rows query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string m = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("bad test query: " + m);
  }
  Rows rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> r;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      r.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
    }
    rows.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

inline std::string one(const std::string& path, const std::string& sql) {
  Rows r = query(path, sql);
  if (r.empty() || r[0].empty()) throw std::runtime_error("no row for: " + sql);
  return r[0][0];
}

inline std::string join(const Rows& rows) {
  std::string s;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) s += (i ? "|" : "") + r[i];
    s += "\n";
  }
  return s;
}

}  // namespace ingest_test
