// Helpers of the hostile-input catalogue: the pipectl binary with the real
// plugins and the fixtures, a private cache and history per test, generated
// NetCollector databases, SQL on them, and the run folder's state.
#pragma once
#include "support/run_cmd.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace hostile {
using namespace pipectl::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

inline const std::string kBin = PIPECTL_BIN;
inline const std::string kGen = GEN_BIN;
inline const std::string kSource = SOURCE_DIR;
inline const std::string kPipelines = kSource + "/pipelines";
inline const std::string kHere = kSource + "/tests/hostile/pipelines";
inline const std::string kGood = FIXTURES_GOOD;
inline const std::string kBad = FIXTURES_BAD;
inline const std::string kHostile = FIXTURES_HOSTILE;
inline const std::string kRefused = FIXTURES_REFUSED;

/// A test's private world: working folder, cache, history.
struct Home {
  TempDir dir;
  fs::path path() const { return dir.path; }
  fs::path operator/(const std::string& s) const { return dir / s; }
  fs::path cache() const { return dir / "cache"; }
  /// pipectl with the real plugins and the fixture folders `plugin_path`.
  CmdResult pipectl(const std::string& args, const std::string& plugin_path = FIXTURES_GOOD,
                    const std::string& env = "") const {
    return sh(env + " PIPECTL_PLUGIN_PATH=" + quote(plugin_path) + " PIPECTL_CACHE_DIR=" + quote(cache().string()) +
                  " PIPECTL_HISTORY=" + quote((dir / "history.sqlite").string()) + " " + quote(kBin) + " " + args,
              dir.path);
  }
  /// Write a text file in the home; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = dir / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

/// A generated NetCollector database of `sessions` labelled sessions, made
/// once per process; each test gets its own copy (`copy_db`).
inline std::string generated_db(int sessions = 2000) {
  static TempDir dir;
  static std::map<int, std::string> made;
  if (auto it = made.find(sessions); it != made.end()) return it->second;
  const auto path = (dir / ("gen-" + std::to_string(sessions) + ".sqlite")).string();
  auto r = sh(quote(kGen) + " --sessions " + std::to_string(sessions) + " --seed 7 --out " + quote(path));
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  made[sessions] = path;
  return path;
}

inline std::string copy_db(const Home& h, const std::string& name = "db.sqlite", int sessions = 2000) {
  const auto dst = (h / name).string();
  fs::copy_file(generated_db(sessions), dst, fs::copy_options::overwrite_existing);
  return dst;
}

inline void sql(const std::string& db, const std::string& statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE_MESSAGE(rc == SQLITE_OK, "sql failed: " << msg << " in " << statement);
}

/// The first column of the first row of a query, as text ("" when none).
inline std::string sql_value(const std::string& db, const std::string& query) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string v;
  if (sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_text(st, 0))
    v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

/// The sessions table rebuilt without its constraints (no primary key, no
/// NOT NULL), as a database from another tool could be; the view is kept.
inline void unconstrain_sessions(const std::string& db) {
  sql(db,
      "drop view v_session_mnf_devicetype;"
      "create table s2 (sessionid INTEGER, deviceid INTEGER, protocol INTEGER, srcip TEXT, srcport INTEGER, "
      "dstip TEXT, dstport INTEGER, lensum INTEGER, pktcount INTEGER, starttime REAL, endtime REAL);"
      "insert into s2 select * from sessions; drop table sessions; alter table s2 rename to sessions;"
      "create view v_session_mnf_devicetype as select s.sessionid as sessionid, d.manufacturer as manufacturer, "
      "d.device_type as device_type from sessions as s inner join devices as d on d.deviceid = s.deviceid;");
}

/// The id of the n-th (0-based) labelled session in the source's order.
inline std::string labelled_session(const std::string& db, int n = 0) {
  return sql_value(db,
                   "select s.sessionid from sessions s join devices d on s.deviceid = d.deviceid where d.device_type "
                   "is not null order by s.sessionid limit 1 offset " +
                       std::to_string(n));
}

inline json read_json(const fs::path& p) { return json::parse(slurp(p)); }

/// The record of stage `id` in a run.json.
inline json stage_record(const json& run, const std::string& id) {
  for (const auto& s : run["stages"])
    if (s["id"] == id) return s;
  FAIL("no stage " << id << " in run.json");
  return {};
}

/// A failed run: no `<out>`, a `<out>.failed` whose run.json says failed, no
/// partial folder left beside it.
inline void check_failed_run(const fs::path& out) {
  CHECK_FALSE(fs::exists(out));
  REQUIRE(fs::exists(out.string() + ".failed"));
  CHECK(read_json(out.string() + ".failed/run.json")["status"] == "failed");
  CHECK_FALSE(fs::exists(out.parent_path() / ("." + out.filename().string() + ".partial")));
}

/// Nothing left under the cache's tmp/ (entries are written there, then renamed).
inline bool cache_tmp_empty(const Home& h) {
  const auto tmp = h.cache() / "tmp";
  return !fs::exists(tmp) || fs::is_empty(tmp);
}

/// Quote for /bin/sh, whatever the text holds.
inline std::string shq(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// A TOML basic string holding `s` (for --set: a quoted value is never split into a sweep).
inline std::string toml_string(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

inline bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace hostile
