// The seed pipeline end to end on generated NetCollector databases.
#include <doctest/doctest.h>

#include "seed_common.hpp"

using namespace seed_test;

TEST_CASE("seed: iot.toml splits by device, scores with an interval and per device, and a random session split gives ROC AUC "
          ">= 0.95") {
  TempDir home;
  auto r = run_pipectl("run " + kPipelines + "/iot.toml --set source.path=" + quote(demo_db(42)) + " --out " +
                       quote((home / "run").string()),
                   home.path);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("roc_auc") != std::string::npos);
  CHECK(r.out.find("confusion matrix") != std::string::npos);
  auto m = json::parse(slurp(home / "run" / "metrics.json"));
  const auto& e = m["evaluate"];
  for (const char* k : {"rows", "accuracy", "precision", "recall", "f1", "roc_auc", "roc_auc_ci", "pr_auc", "log_loss",
                        "confusion_matrix", "devices", "device_threshold", "device_accuracy"})
    CHECK_MESSAGE(e.contains(k), k);
  // Whole devices are tested: the demo's 24 labelled devices leave 3 test devices (1 IoT, 2 other), too few
  // for a bootstrap interval over devices (resampling 3 devices would give a falsely narrow one): no interval,
  // a note saying why, and a warning.
  CHECK(e["roc_auc_ci"].is_null());
  CHECK(e["roc_auc_ci_groups"] == json({{"positive", 1}, {"negative", 2}}));
  CHECK(e["roc_auc_ci_note"] ==
        "too few test groups (mac) for an interval: 1 with positive rows, 2 with negative rows, needs 5 of each "
        "(ci_min_groups)");
  CHECK(r.err.find("warning: [evaluate] evaluator: model \"train\": roc_auc_ci: too few test groups (mac)") !=
        std::string::npos);
  CHECK(r.out.find("roc_auc_ci   n/a (mac: 1+ 2-)") != std::string::npos);
  CHECK(e["devices"].get<int>() >= 2);
  CHECK(e["roc_auc_ci_method"] == "bootstrap over mac (1000 draws)");
  // The learning stages left their fitted state; the model is JSON.
  for (const char* s : {"normalise", "categories", "dns", "train"})
    CHECK_MESSAGE(fs::exists(home / "run" / "stages" / s / "state.json"), s);
  CHECK(json::parse(slurp(home / "run" / "stages" / "train" / "model.json")).contains("learner"));
  // The cleaner fixed negative durations and said how many.
  auto info = json::parse(slurp(home / "run" / "run.json"));
  CHECK(info["stages"][1]["counters"]["fixed.negative_duration"].get<int>() > 0);

  // Sessions split at random (a device's sessions in train and test) with the manufacturer as a feature, as the
  // seed pipeline was: recognising known devices.
  auto s = run_pipectl("run " + kPipelines + "/iot.toml -q --set split.method=shuffle --set 'split.group=\"\"' "
                       "--set 'categories.columns=[\"srcport\",\"dstport\",\"manufacturer\"]' "
                       "--set 'train.exclude=[\"sessionid\",\"mac\"]' "
                       "--set source.path=" + quote(demo_db(42)) + " --out " + quote((home / "random").string()),
                   home.path);
  REQUIRE_MESSAGE(s.rc == 0, s.err);
  const auto rnd = json::parse(slurp(home / "random" / "metrics.json"))["evaluate"];
  CHECK(rnd["roc_auc"].get<double>() >= 0.95);
  CHECK(rnd["rows"].get<int>() == 1453);  // 15 % of 9,688 labelled sessions
}

TEST_CASE("seed: the same seed gives byte-identical metrics and model whatever --jobs, another seed another split") {
  TempDir home;
  const std::string db = quote(demo_db(42));
  auto a = run_pipectl("run " + kPipelines + "/iot.toml -q --no-cache --jobs 2 --set source.path=" + db + " --out " +
                       quote((home / "a").string()),
                   home.path);
  auto b = run_pipectl("run " + kPipelines + "/iot.toml -q --no-cache --jobs 1 --set source.path=" + db + " --out " +
                       quote((home / "b").string()),
                   home.path);
  REQUIRE(a.rc == 0);
  REQUIRE(b.rc == 0);
  for (const char* f : {"metrics.json", "stages/train/model.json", "stages/train/state.json", "stages/normalise/state.json",
                        "stages/categories/state.json", "stages/dns/state.json", "stages/evaluate/train/test_predictions.csv"})
    CHECK_MESSAGE(slurp(home / "a" / f) == slurp(home / "b" / f), f);
  auto c = run_pipectl("run " + kPipelines + "/iot.toml -q --no-cache --set pipeline.seed=7 --set source.path=" + db +
                       " --out " + quote((home / "c").string()),
                   home.path);
  REQUIRE(c.rc == 0);
  auto ids = [&](const std::string& run) {
    std::vector<std::string> v;
    for (const auto& r : read_csv(home / run / "stages/evaluate/train/test_predictions.csv")) v.push_back(r.at("sessionid"));
    return v;
  };
  CHECK(ids("a") != ids("c"));
  CHECK(slurp(home / "a" / "metrics.json") != slurp(home / "c" / "metrics.json"));
}

TEST_CASE("seed: a broken database ends with a clear error and a non-zero exit") {
  TempDir home;
  struct Case {
    const char* name;
    const char* sql;
    int rc;
    const char* message;
  };
  const Case cases[] = {
      {"missing table", "drop table dns_queries", 6,
       "error: stage \"source\" (plugin \"sqlite\") failed: list_query failed on database"},
      {"missing column",
       "drop view v_session_mnf_devicetype; alter table sessions drop column pktcount; create view "
       "v_session_mnf_devicetype as select s.sessionid, d.manufacturer, d.device_type from sessions s join devices d on "
       "s.deviceid = d.deviceid",
       6, "no such column: s.pktcount"},
      {"text in a numeric column",
       "update sessions set srcport = 'abc' where sessionid = (select min(s.sessionid) from sessions s join devices d on "
       "s.deviceid = d.deviceid where d.device_type is not null)",
       6, "error: stage \"source\" (plugin \"sqlite\") failed: column \"srcport\": text value \"abc\""},
      {"an empty result", "delete from sessions", 6,
       "error: stage \"source\" (plugin \"sqlite\") failed: query returned no rows"},
      {"a single-class label", "update devices set device_type = 'Other' where device_type is not null", 6,
       "error: stage \"clean\" (plugin \"cleaner\") failed: label \"is_iot\" has a single class (\"no\") in 9688 rows; "
       "a classifier needs at least two"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      auto db = (home / (std::string(c.name) + ".sqlite")).string();
      fs::copy_file(demo_db(42), db);
      sql(db, c.sql);
      auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --set source.path=" + quote(db) + " --out " +
                           quote((home / "out").string()),
                       home.path);
      CHECK(r.rc == c.rc);
      CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
      CHECK_FALSE(fs::exists(home / "out"));
      CHECK(fs::exists(home.path / "out.failed"));
    }
  }
  SUBCASE("a missing file") {
    auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --set source.path=/nonexistent/x.sqlite --runs-dir " +
                             quote((home / "runs").string()),
                         home.path);
    CHECK(r.rc == 6);
    CHECK(r.err.find("database \"/nonexistent/x.sqlite\" not found") != std::string::npos);
  }
}

TEST_CASE("seed: the same pipeline on a CSV export gives the same metrics") {
  TempDir home;
  const auto csv = (home / "sessions.csv").string();
  auto ex = run_pipectl("run " + kPipelines + "/export-csv.toml -q --set source.path=" + quote(demo_db(42)) +
                        " --set export.path=" + quote(csv) + " --out " + quote((home / "ex").string()),
                    home.path);
  REQUIRE(ex.rc == 0);
  // iot.toml as iot-csv.toml is: the export has no MAC (sessions split at random), the manufacturer a feature.
  auto s = run_pipectl("run " + kPipelines + "/iot.toml -q --set source.path=" + quote(demo_db(42)) +
                       " --set 'source.device_column=\"\"' --set split.method=shuffle --set 'split.group=\"\"'"
                       " --set 'categories.columns=[\"srcport\",\"dstport\",\"manufacturer\"]'"
                       " --set 'train.exclude=[\"sessionid\"]' --set 'evaluate.group=\"\"' --set train.max_bin=256 --out " +
                       quote((home / "s").string()),
                   home.path);
  auto c = run_pipectl("run " + kPipelines + "/iot-csv.toml -q --set source.path=" + quote(csv) + " --out " +
                       quote((home / "c").string()),
                   home.path);
  REQUIRE(s.rc == 0);
  REQUIRE(c.rc == 0);
  CHECK(slurp(home / "s" / "metrics.json") == slurp(home / "c" / "metrics.json"));
  CHECK(slurp(home / "s" / "stages/train/model.json") == slurp(home / "c" / "stages/train/model.json"));
}

TEST_CASE("seed: device_type.toml trains the multiclass device type") {
  TempDir home;
  auto r = run_pipectl("run " + kPipelines + "/device_type.toml -q --set source.path=" + quote(demo_db(42)) + " --out " +
                       quote((home / "run").string()),
                   home.path);
  REQUIRE(r.rc == 0);
  auto e = json::parse(slurp(home / "run" / "metrics.json"))["evaluate"];
  CHECK(e["classes"].size() == 9);  // eight IoT device types and Other
  CHECK(e["per_class"].contains("Raspberry Pi 3B"));
  CHECK(e["accuracy"].get<double>() > 0.85);
  CHECK(e["roc_auc"].get<double>() > 0.95);
}

TEST_CASE("seed: validate and graph work on every shipped pipeline") {
  for (const auto& entry : fs::directory_iterator(kPipelines)) {
    if (entry.path().extension() != ".toml") continue;
    SUBCASE(entry.path().filename().string().c_str()) {
      TempDir home;
      // Point the source at nothing real: a file, a pattern of per-site
      // files, or a server (validation connects to nothing).
      const auto name = entry.path().filename().string();
      const std::string set = name == "iot-postgres.toml" ? " --set source.conninfo=host=/nonexistent"
                              : name == "iot-sites.toml"  ? " --set source.path=/nonexistent/*.sqlite"
                                                          : " --set source.path=/dev/null";
      auto r = run_pipectl("validate " + quote(entry.path().string()) + set, home.path);
      CHECK_MESSAGE(r.rc == 0, r.err);
      auto g = run_pipectl("graph --format dot " + quote(entry.path().string()) + set, home.path);
      CHECK(g.rc == 0);
    }
  }
}

TEST_CASE("seed: the trainer predicts the rows its consumers read: valid and test for the evaluator, all for a sink") {
  TempDir home;
  const std::string db = quote(demo_db(42));
  auto r = run_pipectl("run " + kPipelines + "/iot.toml -q --no-cache --set source.path=" + db + " --out " +
                       quote((home / "a").string()),
                   home.path);
  REQUIRE(r.rc == 0);
  auto info = json::parse(slurp(home / "a" / "run.json"));
  json train, split;
  for (const auto& s : info["stages"]) {
    if (s["id"] == "train") train = s;
    if (s["id"] == "split") split = s;
  }
  // The training rows (whole devices, as the splitter counted them) are not predicted, and counted.
  const auto not_predicted = train["counters"]["not_predicted.role.train"].get<std::int64_t>();
  const auto train_rows = split["counters"]["rows.train"].get<std::int64_t>();
  const auto valid_rows = split["counters"]["rows.valid"].get<std::int64_t>();
  const auto test_rows = split["counters"]["rows.test"].get<std::int64_t>();
  CHECK(train_rows > 0);
  CHECK(not_predicted == train_rows);
  CHECK(train_rows + valid_rows + test_rows == 9688);
  CHECK(train["rows_out"].get<std::int64_t>() == 9688);  // every row is still in the output
  auto m = json::parse(slurp(home / "a" / "metrics.json"));
  CHECK(m["evaluate"]["rows"].get<std::int64_t>() == test_rows);

  // The same pipeline with a CSV sink reading the trainer's output: every row is predicted.
  std::string toml = slurp(kPipelines + "/iot.toml");
  toml += "\n[[stage]]\nid = \"export\"\nplugin = \"csv_sink\"\ninputs = [\"train\"]\npath = \"" +
          (home / "predictions.csv").string() + "\"\ncolumns = [\"sessionid\", \"pred_label\"]\n";
  std::ofstream(home / "with_sink.toml") << toml;
  r = run_pipectl("run " + quote((home / "with_sink.toml").string()) + " -q --no-cache --set source.path=" + db +
                      " --out " + quote((home / "b").string()),
                  home.path);
  REQUIRE(r.rc == 0);
  info = json::parse(slurp(home / "b" / "run.json"));
  for (const auto& s : info["stages"])
    if (s["id"] == "train") CHECK(s["counters"].count("not_predicted.role.train") == 0);
  const auto rows = read_csv(home / "predictions.csv");
  REQUIRE(rows.size() == 9688);
  for (const auto& row : rows) REQUIRE_FALSE(row.at("pred_label").empty());
  // The same model either way.
  const auto mb = json::parse(slurp(home / "b" / "metrics.json"));
  CHECK(m["train"] == mb["train"]);
  CHECK(m["evaluate"] == mb["evaluate"]);
}
