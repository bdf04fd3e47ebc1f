#pragma once
#include "support/run_cmd.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace seed_test {
using namespace pipectl::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

inline const std::string kBin = PIPECTL_BIN;
inline const std::string kGen = GEN_BIN;
inline const std::string kPipelines = std::string(SOURCE_DIR) + "/pipelines";

/// A generated NetCollector database (default size), made once per seed and process.
inline std::string demo_db(int seed) {
  static TempDir dir;
  static std::map<int, std::string> made;
  auto it = made.find(seed);
  if (it != made.end()) return it->second;
  auto path = (dir / ("demo-" + std::to_string(seed) + ".sqlite")).string();
  auto r = sh(quote(kGen) + " --seed " + std::to_string(seed) + " --out " + quote(path));
  REQUIRE(r.rc == 0);
  made[seed] = path;
  return path;
}

/// pipectl with the real plugins, a private cache and history.
inline CmdResult run_pipectl(const std::string& args, const fs::path& home) {
  return sh("PIPECTL_CACHE_DIR=" + quote((home / "cache").string()) + " PIPECTL_HISTORY=" +
            quote((home / "history.sqlite").string()) + " " + quote(kBin) + " " + args);
}

inline void sql(const std::string& db, const std::string& statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) FAIL("sql failed: " << (err ? err : "?"));
  sqlite3_close(h);
}

/// Exact ROC AUC (ties count half), independent of the evaluator's code.
inline double roc_auc(const std::vector<std::pair<double, int>>& scored) {
  auto v = scored;
  std::sort(v.begin(), v.end());
  double pos = 0, neg = 0, rank_sum = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j < v.size() && v[j].first == v[i].first) ++j;
    const double avg = (i + 1 + j) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (v[k].second) rank_sum += avg;
    i = j;
  }
  for (const auto& x : v) (x.second ? pos : neg) += 1;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace seed_test
