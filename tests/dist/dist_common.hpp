// Distributed runs end to end: pipectl run --workers N, pipectl worker and
// pipectl tracker, on generated NetCollector databases, on this machine.
#pragma once
#include "support/run_cmd.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <thread>

namespace dist_test {
using namespace pipectl::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

inline const std::string kBin = PIPECTL_BIN;
inline const std::string kGen = GEN_BIN;
inline const std::string kPipelines = std::string(SOURCE_DIR) + "/pipelines";

/// A generated NetCollector database, made once per (sessions, seed) and process.
inline std::string gen_db(int sessions, int seed, const std::string& extra = "") {
  static TempDir dir;
  static std::map<std::string, std::string> made;
  const std::string key = std::to_string(sessions) + "-" + std::to_string(seed) + extra;
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  auto path = (dir / ("nc-" + std::to_string(made.size()) + ".sqlite")).string();
  auto r = sh(quote(kGen) + " --sessions " + std::to_string(sessions) + " --seed " + std::to_string(seed) + " " + extra +
              " --out " + quote(path));
  REQUIRE(r.rc == 0);
  made[key] = path;
  return path;
}

/// pipectl with the real plugins, a private cache and history.
inline CmdResult run_pipectl(const std::string& args, const fs::path& home) {
  return sh("PIPECTL_CACHE_DIR=" + quote((home / "cache").string()) + " PIPECTL_HISTORY=" +
                quote((home / "history.sqlite").string()) + " " + quote(kBin) + " " + args,
            home);
}

/// Start a shell command in the background: its stdout/stderr go to
/// <base>.out / <base>.err and its exit code to <base>.rc when it ends.
inline void spawn_bg(const std::string& command, const fs::path& base) {
  auto r = sh("( " + command + " > " + quote(base.string() + ".out") + " 2> " + quote(base.string() + ".err") +
              "; echo $? > " + quote(base.string() + ".rc.tmp") + "; mv " + quote(base.string() + ".rc.tmp") + " " +
              quote(base.string() + ".rc") + " ) > /dev/null 2>&1 &");
  REQUIRE(r.rc == 0);
}

/// Wait for `pred` up to `seconds`; true if it held.
template <class F>
bool wait_for(F pred, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

inline double auc_of(const fs::path& run) {
  return json::parse(slurp(run / "metrics.json"))["evaluate"]["roc_auc"].get<double>();
}

}  // namespace dist_test
