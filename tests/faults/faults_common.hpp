// Shared by the fault tests: a private home (cache, history, runs) per test,
// small generated databases, and pipectl started as a real process.
#pragma once

#include <pipectl/test_skip.hpp>
#include "support/run_cmd.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace faults {
using namespace pipectl::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

/// PIPECTL_FAULTS_BIN runs the same tests against another pipectl (e.g. a
/// build of the code before the fixes, to see each test fail there).
inline const std::string& bin() {
  static const std::string b = [] {
    const char* e = std::getenv("PIPECTL_FAULTS_BIN");
    return std::string(e && *e ? e : PIPECTL_BIN);
  }();
  return b;
}
inline const std::string kGen = GEN_BIN;
inline const std::string kPipelines = std::string(SOURCE_DIR) + "/pipelines";
inline const std::string kFixtures = FIXTURES_GOOD;

/// Reported by CTest as skipped, with its reason (pipectl/test_skip.hpp).
inline void skip(const std::string& why) { pipectl::testing::skip(why); }

/// A test's own folder: cache, history and runs inside it.
struct Home {
  TempDir dir;
  fs::path path() const { return dir.path; }
  fs::path cache() const { return dir.path / "cache"; }
  fs::path history() const { return dir.path / "history.sqlite"; }
  fs::path runs() const { return dir.path / "runs"; }
  /// The environment assignments that give pipectl this home.
  std::string env(bool fixtures = false) const {
    return "PIPECTL_CACHE_DIR=" + quote(cache().string()) + " PIPECTL_HISTORY=" + quote(history().string()) +
           (fixtures ? " PIPECTL_PLUGIN_PATH=" + quote(kFixtures) : std::string());
  }
  std::string cmd(const std::string& args, bool fixtures = false) const {
    return env(fixtures) + " " + quote(bin()) + " " + args;
  }
  CmdResult pipectl(const std::string& args, bool fixtures = false) const { return sh(cmd(args, fixtures), path()); }
};

/// A small generated NetCollector database (a fresh file per call).
inline std::string small_db(const Home& h, const std::string& name = "net.sqlite", int sessions = 1500) {
  const auto path = (h.path() / name).string();
  auto r = sh(quote(kGen) + " --sessions " + std::to_string(sessions) + " --seed 7 --out " + quote(path));
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  return path;
}

inline void sql(const std::string& db, const std::string& statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE_MESSAGE(rc == SQLITE_OK, "sql failed: " << msg << " in " << statement);
}

inline std::int64_t sql_int(const std::string& db, const std::string& query) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::int64_t v = -1;
  if (sqlite3_prepare_v2(h, query.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

inline json read_json(const fs::path& p) { return json::parse(slurp(p)); }

/// The finished run folders (no leading '.', no ".failed") under `dir`.
inline std::vector<fs::path> finished_runs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const auto n = it->path().filename().string();
    if (n[0] == '.' || n.find(".failed") != std::string::npos) continue;
    out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Everything in `dir` whose name starts with '.' (work folders, locks).
inline std::vector<std::string> hidden(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().filename().string()[0] == '.') out.push_back(it->path().filename().string());
  return out;
}

/// The stage record of `id` in a run's run.json.
inline json stage_of(const fs::path& run, const std::string& id) {
  const json info = read_json(run / "run.json");
  for (const auto& s : info["stages"])
    if (s["id"] == id) return s;
  FAIL("no stage " << id << " in " << run);
  return {};
}

inline bool wait_for(const std::function<bool()>& cond, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

/// The pid of a process that has ended (for stale lock files).
inline long dead_pid() {
  auto r = sh("sh -c 'echo $$'");
  return std::strtol(r.out.c_str(), nullptr, 10);
}

}  // namespace faults
