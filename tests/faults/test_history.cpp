// The run history: one row per run keyed by its full path and a run id of its
// own, repaired after a kill, recreated when damaged.
#include "faults_common.hpp"

#include <fstream>

using namespace faults;

namespace {

fs::path tiny(const Home& h) {
  const auto f = h.path() / "tiny.toml";
  if (!fs::exists(f))
    std::ofstream(f) << "[pipeline]\nname = \"tiny\"\n\n[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\nrows = 20\n";
  return f;
}

CmdResult run_to(const Home& h, const fs::path& out) {
  return h.pipectl("run " + quote(tiny(h).string()) + " -q --out " + quote(out.string()), true);
}

json list(const Home& h) {
  auto l = h.pipectl("runs list --format json");
  REQUIRE_MESSAGE(l.rc == 0, l.err);
  return json::parse(l.out);
}

}  // namespace

TEST_CASE("faults: two --out folders with the same name are two runs in the history") {
  Home h;
  REQUIRE(run_to(h, h.path() / "x" / "a" / "run").rc == 0);
  REQUIRE(run_to(h, h.path() / "x" / "b" / "run").rc == 0);
  const auto rows = list(h);
  REQUIRE(rows.size() == 2);
  std::set<std::string> ids, dirs;
  for (const auto& r : rows) {
    ids.insert(r["run"].get<std::string>());
    dirs.insert(r["run_dir"].get<std::string>());
  }
  CHECK(ids == std::set<std::string>{"run", "run~2"});
  CHECK(dirs == std::set<std::string>{(h.path() / "x" / "a" / "run").string(), (h.path() / "x" / "b" / "run").string()});
  // A folder names its own run.
  auto s = h.pipectl("runs show " + quote((h.path() / "x" / "b" / "run").string()));
  REQUIRE(s.rc == 0);
  CHECK(s.out.find("run~2") != std::string::npos);
  // The same --out again: a new run (its row), the earlier one marked replaced.
  REQUIRE(run_to(h, h.path() / "x" / "a" / "run").rc == 0);
  const auto again = list(h);
  REQUIRE(again.size() == 3);
  int replaced = 0;
  for (const auto& r : again) replaced += r["status"] == "replaced";
  CHECK(replaced == 1);
}

TEST_CASE("faults: a run killed between publishing its folder and confirming its row is repaired at the next start") {
  Home h;
  REQUIRE(run_to(h, h.path() / "done").rc == 0);
  // The row of a published folder, and the row of a folder never published,
  // both left "publishing" (as a kill -9 between the steps leaves them).
  sql(h.history().string(), "update runs set status = 'publishing'");
  sql(h.history().string(),
      "insert into runs(run_id, pipeline, run_dir, status, started, uid) values('ghost', 'tiny', '" +
          (h.path() / "ghost").string() + "', 'publishing', 1, 'deadbeef')");
  REQUIRE(run_to(h, h.path() / "next").rc == 0);
  const auto rows = list(h);
  std::map<std::string, std::string> status;
  for (const auto& r : rows) status[r["run"].get<std::string>()] = r["status"].get<std::string>();
  CHECK(status == std::map<std::string, std::string>{{"done", "ok"}, {"next", "ok"}});
  CHECK(sql_int(h.history().string(), "select count(*) from runs where run_id = 'ghost'") == 0);
}

TEST_CASE("faults: a damaged or empty history file is recreated with a warning and the run is recorded") {
  Home h;
  SUBCASE("damaged") {
    std::ofstream(h.history(), std::ios::binary) << std::string(4096, 'x');
    auto l = h.pipectl("runs list");
    CHECK(l.rc != 0);
    CHECK(l.err.find("is damaged") != std::string::npos);
    auto r = run_to(h, h.path() / "a");
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(r.err.find("is damaged") != std::string::npos);
    CHECK(r.err.find(".damaged-") != std::string::npos);
    bool kept = false;
    for (const auto& e : fs::directory_iterator(h.path()))
      kept = kept || e.path().filename().string().rfind("history.sqlite.damaged-", 0) == 0;
    CHECK(kept);
  }
  SUBCASE("0 bytes") {
    std::ofstream(h.history(), std::ios::binary).flush();
    auto l = h.pipectl("runs list");
    CHECK_MESSAGE(l.rc == 0, l.err);
    CHECK(l.err.find("no such table") == std::string::npos);
    auto r = run_to(h, h.path() / "a");
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(r.err.find("was an empty file (0 bytes)") != std::string::npos);
  }
  const auto rows = list(h);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["run_dir"] == (h.path() / "a").string());
}
