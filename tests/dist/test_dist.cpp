#include "dist_common.hpp"

#include <csignal>
#include <fstream>

using namespace dist_test;

namespace {

const char* kStates[] = {"normalise", "categories", "dns"};

std::string run_args(const std::string& pipeline, const std::string& db, const fs::path& out) {
  return "run " + kPipelines + "/" + pipeline + " -q --set source.path=" + quote(db) + " --out " + quote(out.string());
}

}  // namespace

TEST_CASE("dist: iot.toml unchanged on 1, 2 and 3 workers: the same split by device, normaliser, category and DNS states "
          "as one process, AUC within 0.002") {
  TempDir home;
  // Households of many devices, so that a split by device has devices to place.
  const std::string db = gen_db(9688, 42, "--households 10");
  auto single = run_pipectl(run_args("iot.toml", db, home / "single"), home.path);
  REQUIRE_MESSAGE(single.rc == 0, single.err);
  const double auc1 = auc_of(home / "single");
  CHECK(auc1 >= 0.8);  // sessions of devices never seen (pipelines/DEVICES.md)
  const auto m1 = json::parse(slurp(home / "single" / "metrics.json"));
  for (int w : {1, 2, 3}) {
    CAPTURE(w);
    const auto out = home / ("w" + std::to_string(w));
    auto r = run_pipectl(run_args("iot.toml", db, out) + " --workers " + std::to_string(w), home.path);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    for (const char* s : kStates)
      CHECK_MESSAGE(slurp(out / "stages" / s / "state.json") == slurp(home / "single" / "stages" / s / "state.json"), s);
    const auto m = json::parse(slurp(out / "metrics.json"));
    // The same test rows, scored by one model trained over every shard.
    CHECK(m["evaluate"]["rows"] == m1["evaluate"]["rows"]);
    CHECK(m["evaluate"]["confusion_matrix"].is_array());
    CHECK(m["evaluate"]["devices"] == m1["evaluate"]["devices"]);
    CHECK(m["evaluate"]["roc_auc_ci"].is_array());
    CHECK(std::fabs(auc_of(out) - auc1) <= 0.002);
    auto info = json::parse(slurp(out / "run.json"));
    CHECK(info["workers"] == w);
    CHECK(info["rank"] == 0);
    // Only rank 0 keeps a run folder; the other workers' are removed on success.
    CHECK_FALSE(fs::exists(home / "runs" / ".workers" / "iot-rank1"));
  }
}

TEST_CASE("dist: pipectl run --workers refuses, before starting anything, stages that cannot run on several workers") {
  TempDir home;
  const std::string db = gen_db(9688, 42);
  auto r = run_pipectl(run_args("iot-compare.toml", db, home / "x") + " --workers 2", home.path);
  CHECK(r.rc == 3);
  CHECK(r.err.find("stage \"logreg\" (plugin \"liblinear\") cannot run on 2 workers: it fits on, or writes, the rows "
                   "of one process; run it without --workers") != std::string::npos);
  CHECK(r.err.find("stage \"mlp\" (plugin \"mlp\") cannot run on 2 workers") != std::string::npos);
  CHECK(r.err.find("nothing was run") != std::string::npos);
  CHECK_FALSE(fs::exists(home / "x"));
}

TEST_CASE("dist: a shuffled split cannot run on several workers, and the message says to hash") {
  TempDir home;
  const std::string db = gen_db(9688, 42);
  auto r = run_pipectl(run_args("iot.toml", db, home / "x") + " --set split.method=shuffle --workers 2", home.path);
  CHECK(r.rc == 5);
  CHECK(r.err.find("stage \"split\" (plugin \"splitter\") failed: method \"shuffle\" splits by row position within one "
                   "process; on several workers use method = \"hash\"") != std::string::npos);
  CHECK(r.err.find("the distributed run of 2 workers failed") != std::string::npos);
}

TEST_CASE("dist: workers started by hand with pipectl tracker (the several-machine way) train the same model") {
  TempDir home;
  const std::string db = gen_db(9688, 42);
  const std::string env = "PIPECTL_CACHE_DIR=" + quote((home / "cache").string()) + " PIPECTL_HISTORY=" +
                          quote((home / "history.sqlite").string()) + " ";
  spawn_bg("cd " + quote(home.path.string()) + " && " + env + quote(kBin) + " tracker --workers 2 --host 127.0.0.1",
           home / "tracker");
  std::string port;
  REQUIRE(wait_for(
      [&] {
        auto t = slurp(home / "tracker.out");
        auto p = t.find("tracker listening on 127.0.0.1:");
        if (p == std::string::npos) return false;
        port = t.substr(p + 31, t.find(' ', p + 31) - (p + 31));
        return true;
      },
      30));
  const std::string common = " worker " + kPipelines + "/iot.toml -q --set source.path=" + quote(db) +
                             " --tracker 127.0.0.1:" + port + " --world 2";
  spawn_bg("cd " + quote(home.path.string()) + " && " + env + quote(kBin) + common + " --rank 1", home / "w1");
  auto r0 = sh("cd " + quote(home.path.string()) + " && " + env + quote(kBin) + common + " --rank 0 --out " +
               quote((home / "by-hand").string()));
  REQUIRE_MESSAGE(r0.rc == 0, r0.err);
  REQUIRE(wait_for([&] { return fs::exists(home / "w1.rc") && fs::exists(home / "tracker.rc"); }, 30));
  CHECK(slurp(home / "w1.rc") == "0\n");
  CHECK(slurp(home / "tracker.rc") == "0\n");
  CHECK(slurp(home / "tracker.out").find("every worker has finished") != std::string::npos);
  auto launched = run_pipectl(run_args("iot.toml", db, home / "launched") + " --workers 2", home.path);
  REQUIRE(launched.rc == 0);
  for (const char* f : {"stages/normalise/state.json", "stages/categories/state.json", "stages/dns/state.json",
                        "stages/train/model.json", "metrics.json"})
    CHECK_MESSAGE(slurp(home / "by-hand" / f) == slurp(home / "launched" / f), f);
}

TEST_CASE("dist: a worker started for the wrong world size is refused with a clear message") {
  TempDir home;
  auto r = run_pipectl("worker " + kPipelines + "/iot.toml --tracker 127.0.0.1:9 --rank 3 --world 3",
                       home.path);
  CHECK(r.rc == 2);
  CHECK(r.err.find("pipectl: --world N (at least 1) and --rank R (0 .. N-1) are required") != std::string::npos);
  auto t = run_pipectl("worker " + kPipelines + "/iot.toml --tracker nowhere --rank 0 --world 2", home.path);
  CHECK(t.rc == 2);
  CHECK(t.err.find("pipectl: --tracker must be HOST:PORT") != std::string::npos);
}

TEST_CASE("dist: killing one worker mid-run ends the whole run within 30 s with an error naming that worker") {
  TempDir home;
  // Enough rows and rounds that training lasts well beyond the kill.
  const std::string db = gen_db(200000, 7);
  const std::string cmd = "cd " + quote(home.path.string()) + " && PIPECTL_CACHE_DIR=" +
                          quote((home / "cache").string()) + " PIPECTL_HISTORY=" +
                          quote((home / "history.sqlite").string()) + " " + quote(kBin) + " run " + kPipelines +
                          "/iot.toml --set source.path=" + quote(db) +
                          " --set train.num_round=100000 --set train.early_stopping_rounds=0 --set train.eta=0.001"
                          " --set train.max_depth=10 --workers 3 --out " + quote((home / "run").string());
  spawn_bg(cmd, home / "launch");
  // Wait until every worker is training, then kill worker 1.
  REQUIRE_MESSAGE(wait_for(
                      [&] {
                        auto e = slurp(home / "launch.err");
                        for (int k = 0; k < 3; ++k)
                          if (e.find("worker " + std::to_string(k) + "/3: [train] started") == std::string::npos)
                            return false;
                        return true;
                      },
                      240),
                  slurp(home / "launch.err"));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto pid = sh("pgrep -f -- '" + kPipelines + "/iot.toml .*[-]-rank 1 --world 3'");
  REQUIRE(pid.rc == 0);
  const int victim = std::stoi(pid.out);
  REQUIRE(::kill(victim, SIGKILL) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_for([&] { return fs::exists(home / "launch.rc"); }, 60), slurp(home / "launch.err"));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(took <= 30.0);
  const auto err = slurp(home / "launch.err");
  CHECK(slurp(home / "launch.rc") == "7\n");
  CHECK_MESSAGE(err.find("error: worker 1 (pid " + std::to_string(victim) +
                         ") was killed by signal 9 (Killed); the distributed run of 3 workers failed") != std::string::npos,
                err);
  // The survivors failed on their own, saying the collective broke.
  for (int k : {0, 2})
    CHECK_MESSAGE(err.find("worker " + std::to_string(k) + "/3: error: stage \"train\" (plugin \"xgboost\")") !=
                      std::string::npos,
                  k);
  // Nothing looks complete: the run folder is not there, the failed one is kept aside.
  CHECK_FALSE(fs::exists(home / "run" / "run.json"));
  // No worker is left behind.
  CHECK(sh("pgrep -f -- '" + kPipelines + "/iot.toml .*[-]-world 3'").rc != 0);
}

TEST_CASE("dist: per-site SQLite databases, whole sites per worker, fit what one process fits on all sites") {
  TempDir home;
  fs::create_directories(home / "sites");
  // Three sites of different sizes; session ids repeat across them.
  const int sizes[] = {4000, 3000, 5000};
  for (int k = 0; k < 3; ++k)
    fs::copy_file(gen_db(sizes[k], 100 + k), home / "sites" / ("site-" + std::to_string(k) + ".sqlite"));
  const std::string pattern = (home / "sites" / "*.sqlite").string();
  auto args = [&](const fs::path& out) {
    return "run " + kPipelines + "/iot-sites.toml -q --set source.path=" + quote(pattern) + " --out " +
           quote(out.string());
  };
  auto single = run_pipectl(args(home / "single"), home.path);
  REQUIRE_MESSAGE(single.rc == 0, single.err);
  auto three = run_pipectl(args(home / "three") + " --workers 3", home.path);
  REQUIRE_MESSAGE(three.rc == 0, three.err);
  auto two = run_pipectl(args(home / "two") + " --workers 2", home.path);  // 3 sites on 2 workers
  REQUIRE_MESSAGE(two.rc == 0, two.err);
  for (const char* run : {"three", "two"})
    for (const char* s : kStates)
      CHECK_MESSAGE(slurp(home / run / "stages" / s / "state.json") == slurp(home / "single" / "stages" / s / "state.json"),
                    run << " " << s);
  const auto m1 = json::parse(slurp(home / "single" / "metrics.json"));
  CHECK(m1["evaluate"]["rows"].get<int>() > 1500);  // test rows from every site
  for (const char* run : {"three", "two"}) {
    CHECK(json::parse(slurp(home / run / "metrics.json"))["evaluate"]["rows"] == m1["evaluate"]["rows"]);
    CHECK(std::fabs(auc_of(home / run) - auc_of(home / "single")) <= 0.002);
  }
}
