// Fitted runs as artifacts: predict on new traffic, per-device verdicts,
// cached re-runs.
#include <doctest/doctest.h>

#include "seed_common.hpp"

#include <chrono>
#include <set>

using namespace seed_test;

namespace {
// One fitted run of iot.toml on the demo database, shared by the tests.
const fs::path& fitted_run() {
  static TempDir home;
  static bool made = false;
  if (!made) {
    auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --no-cache --set source.path=" + quote(demo_db(42)) +
                         " --out " + quote((home / "run").string()),
                     home.path);
    REQUIRE(r.rc == 0);
    made = true;
  }
  static fs::path p = home / "run";
  return p;
}
}  // namespace

TEST_CASE("predict: on the training database it reproduces the run's test probabilities bit for bit") {
  TempDir t;
  auto r = run_pipectl("predict " + quote(fitted_run().string()) + " -q --input " + quote(demo_db(42)) + " --out " +
                       quote((t / "p.csv").string()),
                   t.path);
  REQUIRE(r.rc == 0);
  const auto rep = reproduced(t / "p.csv", fitted_run() / "stages/evaluate/train/test_predictions.csv");
  CHECK(rep.test_rows == 1564);  // the sessions of the test devices (iot.toml splits by device)
  CHECK(rep.found == rep.test_rows);
  CHECK(rep.same == rep.test_rows);
  // Unlabelled sessions are predicted too (the run itself never saw them).
  CHECK(rep.predicted > 9688);
}

TEST_CASE("predict: on another generated database the ROC AUC stays within 0.03 of that on the training database") {
  // The run's own test figure is that of its few test devices (the demo has 24 labelled devices); the stable
  // comparison is the same run over every labelled session of each database.
  auto auc_on = [](const std::string& db) {
    TempDir t;
    auto r = run_pipectl("predict " + quote(fitted_run().string()) + " -q --input " + quote(db) + " --out " +
                             quote((t / "p.csv").string()),
                         t.path);
    REQUIRE(r.rc == 0);
    std::vector<std::pair<double, int>> scored;
    for (const auto& row : read_csv(t / "p.csv")) {
      if (row.at("label").empty()) continue;  // unlabelled
      scored.emplace_back(std::stod(row.at("probability")), row.at("label") == "yes" ? 1 : 0);
    }
    REQUIRE(scored.size() == 9688);
    return roc_auc(scored);
  };
  const double own = auc_on(demo_db(42)), other = auc_on(demo_db(43));
  CHECK(std::fabs(own - other) <= 0.03);
  CHECK(other > 0.7);
}

TEST_CASE("predict: --by device ranks the IoT devices first") {
  TempDir t;
  auto r = run_pipectl("predict " + quote(fitted_run().string()) + " -q --by device --input " + quote(demo_db(42)) +
                       " --out " + quote((t / "d.csv").string()),
                   t.path);
  REQUIRE(r.rc == 0);
  auto rows = read_csv(t / "d.csv");
  REQUIRE(rows.size() == 27);
  CHECK(rows.front().count("mac") == 1);
  CHECK(rows.front().count("p_positive") == 1);
  // Every labelled IoT device above every labelled non-IoT device.
  double lowest_iot = 2, highest_other = -1;
  std::string worst_iot, best_other;
  for (const auto& d : rows) {
    if (d.at("device_type").empty()) continue;
    const double p = std::stod(d.at("p_positive"));
    if (d.at("device_type") == "Other") {
      if (p > highest_other) highest_other = p, best_other = d.at("hostname");
    } else if (p < lowest_iot) {
      lowest_iot = p, worst_iot = d.at("hostname");
    }
  }
  CHECK_MESSAGE(lowest_iot > highest_other, "lowest IoT " << worst_iot << " " << lowest_iot << " vs highest other "
                                                          << best_other << " " << highest_other);
  // Sorted by p(IoT), descending.
  for (std::size_t i = 1; i < rows.size(); ++i)
    CHECK(std::stod(rows[i - 1].at("p_positive")) >= std::stod(rows[i].at("p_positive")));
}

TEST_CASE("predict: every input session has a row, predicted or dropped with the cleaner's reason") {
  TempDir t;
  const std::string db = (t / "damaged.sqlite").string();
  fs::copy_file(demo_db(43), db);
  // Damage 3 % of the sessions, each kind on its own sessions.
  sql(db, "update sessions set srcport = null where sessionid % 100 = 1");
  sql(db, "update sessions set lensum = -5 where sessionid % 100 = 2");
  sql(db, "update sessions set dstport = 70000 where sessionid % 100 = 3");
  std::map<std::string, std::string> expected;  // sessionid -> status of the damaged ones
  std::vector<std::string> all;
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, "select sessionid from sessions order by sessionid", -1, &st, nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      const auto id = sqlite3_column_int64(st, 0);
      all.push_back(std::to_string(id));
      if (id % 100 == 1) expected[all.back()] = "dropped: null srcport";
      if (id % 100 == 2) expected[all.back()] = "dropped: negative bytes";
      if (id % 100 == 3) expected[all.back()] = "dropped: port_range dstport";
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  REQUIRE(expected.size() > 300);
  // One chunk, and chunks of 2,000 sessions: the same rows.
  for (const std::string chunk : {"", " --chunk-rows 2000"}) {
    CAPTURE(chunk);
    const auto out = t / ("p" + std::to_string(chunk.size()) + ".csv");
    auto r = run_pipectl("predict " + quote(fitted_run().string()) + " --input " + quote(db) + chunk + " --out " +
                             quote(out.string()),
                         t.path);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    const auto rows = read_csv(out);
    REQUIRE(rows.size() == all.size());
    std::map<std::string, std::int64_t> by_status;
    std::size_t mismatched = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      CHECK(row.at("sessionid") == all[i]);  // each session once, in key order
      const std::string& status = row.at("status");
      ++by_status[status];
      if (status == "ok") {
        CHECK(!row.at("probability").empty());
        CHECK(!row.at("predicted").empty());
      } else {
        CHECK(row.at("probability").empty());
        CHECK(row.at("predicted").empty());
      }
      const auto e = expected.find(row.at("sessionid"));
      // A damaged session has its reason; any other dropped one was damaged by the generator.
      if (e != expected.end() ? status != e->second : status != "ok") ++mismatched;
    }
    CHECK(mismatched == 0);
    // The summary on stderr counts the same.
    std::int64_t dropped = 0;
    std::string why;
    for (const auto& [status, n] : by_status) {
      if (status == "ok") continue;
      dropped += n;
      why += (why.empty() ? "" : ", ") + status.substr(9) + ": " + std::to_string(n);
    }
    const std::string summary = "predict: " + std::to_string(all.size()) + " sessions: " +
                                std::to_string(by_status["ok"]) + " predicted, " + std::to_string(dropped) +
                                " dropped (" + why + ")\n";
    CHECK_MESSAGE(r.err.find(summary) != std::string::npos, r.err);
    CHECK(dropped == static_cast<std::int64_t>(expected.size()));
  }
}

TEST_CASE("predict: clear errors for a bad bundle or input") {
  TempDir t;
  SUBCASE("not a run folder") {
    auto r = run_pipectl("predict " + quote(t.path.string()) + " --input " + quote(demo_db(42)), t.path);
    CHECK(r.rc == 2);
    CHECK(r.err.find("is not a finished pipectl run folder") != std::string::npos);
  }
  SUBCASE("a plugin of another major version") {
    fs::copy(fitted_run(), t / "run", fs::copy_options::recursive);
    auto info = json::parse(slurp(t / "run" / "run.json"));
    info["plugins"]["xgboost"]["version"] = "9.0.0";
    std::ofstream(t / "run" / "run.json") << info.dump(2);
    auto r = run_pipectl("predict " + quote((t / "run").string()) + " --input " + quote(demo_db(42)), t.path);
    CHECK(r.rc == 4);
    CHECK(r.err == "error: the run was made with plugin \"xgboost\" 9.0.0; the installed 1.0.0 is incompatible (another major version)\n");
  }
  SUBCASE("a database with another schema") {
    auto db = (t / "other.sqlite").string();
    sql(db, "create table sessions(id integer primary key, bytes integer)");
    auto r = run_pipectl("predict " + quote(fitted_run().string()) + " --input " + quote(db), t.path);
    CHECK(r.rc == 6);
    CHECK(r.err.find("failed") != std::string::npos);
    CHECK(r.err.find("sqlite") != std::string::npos);
  }
  SUBCASE("a missing input") {
    auto r = run_pipectl("predict " + quote(fitted_run().string()) + " --input /nonexistent.sqlite", t.path);
    CHECK(r.rc == 6);
    CHECK(r.err == "error: input \"/nonexistent.sqlite\" not found\n");
  }
}

TEST_CASE("cache: an unchanged re-run does no stage work, a new max_depth re-runs only the trainer and what follows") {
  TempDir home;
  const std::string run = "run " + kPipelines + "/iot.toml --set source.path=" + quote(demo_db(42)) + " --runs-dir " +
                          quote((home / "runs").string());
  auto t0 = std::chrono::steady_clock::now();
  auto first = run_pipectl(run + " -q", home.path);
  const double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(first.rc == 0);
  t0 = std::chrono::steady_clock::now();
  auto second = run_pipectl(run, home.path);
  const double second_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(second.rc == 0);
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns", "train", "evaluate"})
    CHECK_MESSAGE(second.err.find(std::string("[") + s + "] cached (key ") != std::string::npos, s);
  CHECK(second.err.find("] done in") == std::string::npos);
  MESSAGE("first run " << first_s << " s, cached run " << second_s << " s");
  // The whole-process time includes start-up; the stage work itself is gone.
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(home / "runs")) runs.push_back(e.path());
  std::sort(runs.begin(), runs.end());
  REQUIRE(runs.size() == 2);
  const auto info1 = json::parse(slurp(runs[0] / "run.json")), info2 = json::parse(slurp(runs[1] / "run.json"));
  // No timing is asserted (bench/ measures speed): that the cached run did no
  // stage work is checked above, by its log.
  MESSAGE("cached run " << info2["duration_s"] << " s vs first run " << info1["duration_s"] << " s");
  CHECK(slurp(runs[0] / "metrics.json") == slurp(runs[1] / "metrics.json"));
  CHECK(fs::exists(runs[1] / "stages/train/model.json"));

  auto status = run_pipectl("status " + kPipelines + "/iot.toml --set source.path=" + quote(demo_db(42)) +
                            " --set train.max_depth=4",
                        home.path);
  REQUIRE(status.rc == 0);
  CHECK(status.out.find("  source: up to date\n") != std::string::npos);
  CHECK(status.out.find("  train: stale (parameter max_depth 8 -> 4)\n") != std::string::npos);
  CHECK(status.out.find("  evaluate: stale (input train changed)\n") != std::string::npos);
  CHECK(status.out.find("2 of 8 stages would run") != std::string::npos);

  auto third = run_pipectl(run + " --set train.max_depth=4", home.path);
  REQUIRE(third.rc == 0);
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns"})
    CHECK_MESSAGE(third.err.find(std::string("[") + s + "] cached (key ") != std::string::npos, s);
  CHECK(third.err.find("[train] done in") != std::string::npos);
  CHECK(third.err.find("[evaluate] done in") != std::string::npos);

  auto forced = run_pipectl(run + " --force -q", home.path);
  REQUIRE(forced.rc == 0);
  auto prune = run_pipectl("cache prune", home.path);
  CHECK(prune.rc == 0);
  CHECK(prune.out.find("removed ") == 0);
  CHECK_FALSE(fs::exists(home / "cache"));
}

TEST_CASE("cache: a fully cached re-run reads no stage table, a partly cached one only the tables its re-run stages read") {
  TempDir home;
  const std::string run = "run " + kPipelines + "/iot.toml --set source.path=" + quote(demo_db(42)) + " --runs-dir " +
                          quote((home / "runs").string());
  auto newest = [&] {
    std::vector<fs::path> runs;
    for (const auto& e : fs::directory_iterator(home / "runs")) runs.push_back(e.path());
    std::sort(runs.begin(), runs.end());
    return runs.back();
  };
  auto first = run_pipectl(run + " -q", home.path);
  REQUIRE(first.rc == 0);
  const auto run1 = newest();
  const auto info1 = json::parse(slurp(run1 / "run.json"));
  std::map<std::string, std::string> key;
  for (const auto& st : info1["stages"]) key[st["id"].get<std::string>()] = st["cache_key"].get<std::string>();
  auto table_file = [&](const std::string& stage) {
    const auto& k = key.at(stage);
    return home / "cache" / k.substr(0, 2) / k / "table.bin";
  };
  // Every stored table but the DNS stage's (what the trainer reads) is made
  // unreadable: a run that read one would find it damaged and run that stage.
  auto damage = [&](const std::string& stage) {
    REQUIRE(fs::exists(table_file(stage)));
    std::ofstream(table_file(stage), std::ios::binary | std::ios::trunc) << "damaged";
  };
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "train", "evaluate"})
    if (fs::exists(table_file(s))) damage(s);

  auto second = run_pipectl(run, home.path);
  REQUIRE(second.rc == 0);
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns", "train", "evaluate"})
    CHECK_MESSAGE(second.err.find(std::string("[") + s + "] cached (key ") != std::string::npos, s);
  CHECK(second.err.find("] done in") == std::string::npos);
  CHECK(second.err.find("unusable") == std::string::npos);
  const auto run2 = newest();
  CHECK(json::parse(slurp(run2 / "run.json"))["cache_tables_loaded"].get<int>() == 0);
  // What it prints and records comes from the records alone.
  CHECK(slurp(run1 / "metrics.json") == slurp(run2 / "metrics.json"));
  CHECK(second.out.find("roc_auc") != std::string::npos);
  CHECK(fs::exists(run2 / "stages/train/model.json"));

  // A new max_depth re-runs the trainer and the evaluator: only the DNS
  // stage's table is read (the damaged ones are not).
  auto third = run_pipectl(run + " --set train.max_depth=4", home.path);
  REQUIRE(third.rc == 0);
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns"})
    CHECK_MESSAGE(third.err.find(std::string("[") + s + "] cached (key ") != std::string::npos, s);
  CHECK(third.err.find("[train] done in") != std::string::npos);
  CHECK(third.err.find("[evaluate] done in") != std::string::npos);
  CHECK(third.err.find("unusable") == std::string::npos);
  CHECK(json::parse(slurp(newest() / "run.json"))["cache_tables_loaded"].get<int>() == 1);

  // A damaged table that a re-run stage needs: its stage runs again, and so
  // does every stage upstream whose table is damaged too.
  damage("dns");
  auto fourth = run_pipectl(run + " --set train.max_depth=5", home.path);
  REQUIRE(fourth.rc == 0);
  CHECK(fourth.err.find("[dns] cached table unusable, running the stage") != std::string::npos);
  CHECK(fourth.err.find("[source] cached table unusable, running the stage") != std::string::npos);
  CHECK(fourth.err.find("[train] done in") != std::string::npos);
  auto fifth = run_pipectl(run + " --set train.max_depth=5 --no-cache --quiet", home.path);
  REQUIRE(fifth.rc == 0);
  const auto m5 = json::parse(slurp(newest() / "metrics.json"));
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(home / "runs")) runs.push_back(e.path());
  std::sort(runs.begin(), runs.end());
  REQUIRE(runs.size() == 5);
  CHECK(json::parse(slurp(runs[3] / "metrics.json")) == m5);
}

TEST_CASE("history: runs diff of two runs that differ in one parameter shows it and the changed metrics") {
  TempDir home;
  const std::string run = "run " + kPipelines + "/iot.toml -q --set source.path=" + quote(demo_db(42)) + " --runs-dir " +
                          quote((home / "runs").string());
  REQUIRE(run_pipectl(run + " --out " + quote((home / "runs/a").string()), home.path).rc == 0);
  REQUIRE(run_pipectl(run + " --set train.max_depth=3 --out " + quote((home / "runs/b").string()), home.path).rc == 0);
  auto list = run_pipectl("runs list", home.path);
  REQUIRE(list.rc == 0);
  CHECK(list.out.find("train.max_depth") != std::string::npos);
  auto diff = run_pipectl("runs diff a b", home.path);
  REQUIRE(diff.rc == 0);
  CHECK(diff.out.find("train.max_depth  8  3\n") != std::string::npos);
  // Exactly one parameter row.
  auto params = diff.out.substr(0, diff.out.find("metric"));
  CHECK(std::count(params.begin(), params.end(), '\n') == 6);  // title, blank, header, rule, one row, blank
  CHECK(diff.out.find("evaluate.roc_auc") != std::string::npos);
  auto show = run_pipectl("runs show b", home.path);
  CHECK(show.rc == 0);
  CHECK(show.out.find("train.max_depth") != std::string::npos);
}

TEST_CASE("history: a 3x2 sweep makes six runs whose upstream stages ran once") {
  TempDir home;
  auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --set source.path=" + quote(demo_db(42)) + " --runs-dir " +
                       quote((home / "runs").string()) + " --set train.max_depth=3,4,6 --set train.eta=0.1,0.3",
                   home.path);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find(": 6 runs") != std::string::npos);
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(home / "runs")) runs.push_back(e.path());
  REQUIRE(runs.size() == 6);
  std::map<std::string, int> ran;  // stage -> runs in which it did work
  std::set<std::string> combos;
  for (const auto& dir : runs) {
    auto info = json::parse(slurp(dir / "run.json"));
    for (const auto& s : info["stages"])
      if (!s["cached"].get<bool>()) ++ran[s["id"].get<std::string>()];
    combos.insert(slurp(dir / "pipeline.toml"));
  }
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns"}) CHECK_MESSAGE(ran[s] == 1, s);
  CHECK(ran["train"] == 6);
  CHECK(combos.size() == 6);
  auto list = run_pipectl("runs list --pipeline iot", home.path);
  CHECK(list.out.find("train.eta") != std::string::npos);
  CHECK(list.out.find("train.max_depth") != std::string::npos);
}

TEST_CASE("compare: iot-compare.toml trains five models on the same test rows and writes the report") {
  TempDir home;
  auto r = run_pipectl("compare " + kPipelines + "/iot-compare.toml -q --set source.path=" + quote(demo_db(42)) +
                           " --out " + quote((home / "run").string()),
                       home.path);
  REQUIRE(r.rc == 0);
  auto m = json::parse(slurp(home / "run" / "metrics.json"))["evaluate"];
  for (const char* model : {"xgb_trees", "xgb_forest", "logreg", "svm", "mlp"}) {
    CHECK_MESSAGE(m.contains(model), model);
    CHECK(m[model]["rows"].get<int>() == 1453);
    CHECK(m[model]["roc_auc"].get<double>() > 0.9);
    CHECK(r.out.find(std::string("| ") + model) != std::string::npos);
  }
  // Every model scored exactly the same test rows.
  std::set<std::string> first;
  for (const char* model : {"xgb_trees", "xgb_forest", "logreg", "svm", "mlp"}) {
    std::set<std::string> ids;
    for (const auto& row : read_csv(home / "run" / "stages" / "evaluate" / model / "test_predictions.csv"))
      ids.insert(row.at("sessionid"));
    if (first.empty()) first = ids;
    CHECK(ids == first);
  }
  const auto html = slurp(home / "run" / "report" / "compare.html");
  CHECK(html.find("<table id=\"models\">") != std::string::npos);
  CHECK(html.find("<figure id=\"roc\">") != std::string::npos);
  CHECK(html.find("<figure id=\"pr\">") != std::string::npos);
  CHECK(fs::exists(home / "run" / "report" / "compare.md"));
  CHECK(fs::exists(home / "run" / "report" / "compare.json"));
}
