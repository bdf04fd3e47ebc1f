// build_compare on hand-made run folders: every figure equals the input;
// missing pieces give clear errors.
#include "compare_report.hpp"
#include "fixture.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace reportfix;
using pipectl::report::build_compare;
using pipectl::report::CompareReport;
using pipectl::report::markdown_table;
using pipectl::report::ModelRow;

namespace {

const ModelRow& row_of(const CompareReport& r, const std::string& name) {
  for (const auto& x : r.rows)
    if (x.name == name) return x;
  FAIL("no row " << name);
  throw 0;
}

void check_row(const CompareReport& rep, const Model& m, const std::string& evaluator) {
  const ModelRow& r = row_of(rep, m.id);
  CHECK(r.model == m.id);
  CHECK(r.plugin == m.plugin);
  CHECK(r.plugin_version == "1.2.3");
  CHECK(r.trainer == m.id);
  CHECK(r.evaluator == evaluator);
  CHECK(r.roc_auc == m.roc_auc);
  CHECK(r.pr_auc == m.pr_auc);
  CHECK(r.f1 == m.f1);
  CHECK(r.accuracy == m.accuracy);
  CHECK(r.log_loss == m.log_loss);
  CHECK(r.precision == m.precision);
  CHECK(r.recall == m.recall);
  CHECK(r.test_rows == m.rows);
  CHECK(r.train_seconds == m.train_seconds);
  CHECK(r.predict_rows_per_second == m.predict_rows_per_second);
  CHECK(r.model_bytes == m.model_bytes);
  REQUIRE(r.model_files.size() == 1);
  CHECK(r.model_files[0] == "stages/" + m.id + "/" + m.model_file);
  CHECK(r.classes == std::vector<std::string>{"no", "yes"});
  CHECK(r.positive_class == "yes");
  CHECK_FALSE(r.multiclass);
  CHECK(r.has_curves);
  const auto& c = rep.curves.at(m.id);
  CHECK(c.at("kind") == "binary");
  CHECK(c.at("roc").at("fpr").get<std::vector<double>>() == m.fpr);
  CHECK(c.at("roc").at("tpr").get<std::vector<double>>() == m.tpr);
  CHECK(c.at("roc").at("auc").get<double>() == m.roc_auc);
  CHECK(c.at("pr").at("recall").get<std::vector<double>>() == m.recall_pts);
  CHECK(c.at("pr").at("precision").get<std::vector<double>>() == m.precision_pts);
  CHECK(c.at("pr").at("average_precision").get<double>() == m.pr_auc);
}

std::string error_of(const fs::path& dir) {
  try {
    build_compare(dir);
  } catch (const pipectl::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("build_compare: two models under one evaluator") {
  TempDir t;
  const auto dir = t / "cmp-20261127T150024Z";
  const auto models = two_models();
  make_run(dir, models, Layout::Shared);
  const CompareReport rep = build_compare(dir);
  CHECK(rep.pipeline == "cmp");
  CHECK(rep.run_id == "cmp-20261127T150024Z");
  CHECK(rep.date == "2026-11-27 15:00:24 UTC");
  CHECK(rep.status == "ok");
  REQUIRE(rep.rows.size() == 2);
  CHECK(rep.rows[0].model == "xgb");  // the evaluator's input order
  CHECK(rep.rows[1].model == "lr");
  for (const auto& m : models) check_row(rep, m, "evaluate");
  CHECK(rep.notes.empty());

  const std::string md = markdown_table(rep);
  CHECK(md.find("| model") == 0);
  CHECK(md.find("ROC AUC ↑") != std::string::npos);
  CHECK(md.find("log loss ↓") != std::string::npos);
  CHECK(md.find("**0.9466**") != std::string::npos);       // best ROC AUC: xgb
  CHECK(md.find("**0.6812**") != std::string::npos);       // best F1: lr
  CHECK(md.find("**0.2387**") != std::string::npos);       // lowest log loss: xgb
  CHECK(md.find("**0.250 s**") != std::string::npos);      // fastest training: lr
  CHECK(md.find("**912,346**") != std::string::npos);      // best throughput: lr
  CHECK(md.find("**5.5 KiB**") != std::string::npos);      // smallest model: lr
  CHECK(md.find("34.5 KiB") != std::string::npos);
  CHECK(md.find("evaluator") == std::string::npos);        // one evaluator: no such column
}

TEST_CASE("build_compare: one evaluator per model (figures directly under each)") {
  TempDir t;
  const auto dir = t / "cmp-run";
  const auto models = two_models();
  make_run(dir, models, Layout::PerModel);
  const CompareReport rep = build_compare(dir);
  REQUIRE(rep.rows.size() == 2);
  check_row(rep, models[0], "eval_xgb");
  check_row(rep, models[1], "eval_lr");
  CHECK(markdown_table(rep).find("evaluator") != std::string::npos);
}

TEST_CASE("build_compare: a single model under one evaluator") {
  TempDir t;
  const auto dir = t / "one";
  const auto models = two_models();
  make_run(dir, {models[0]}, Layout::Shared);
  const CompareReport rep = build_compare(dir);
  REQUIRE(rep.rows.size() == 1);
  check_row(rep, models[0], "evaluate");
  CHECK(markdown_table(rep).find("**") == std::string::npos);  // nothing to compare against
}

TEST_CASE("build_compare: the trainer is found through pass-through stages, same model under two evaluators") {
  TempDir t;
  const auto dir = t / "run";
  auto models = two_models();
  make_run(dir, {models[0]}, Layout::Shared);
  // A pass-through stage between trainer and a second evaluator.
  std::string toml = pipectl::testsupport::slurp(dir / "pipeline.toml");
  toml += "[[stage]]\nid = 'tag'\nplugin = 'category_map'\ninputs = [ 'xgb' ]\n\n"
          "[[stage]]\nid = 'evaluate2'\nplugin = 'evaluator'\ninputs = [ 'tag' ]\n";
  write(dir / "pipeline.toml", toml);
  // run.json records every stage with its kind (stages are told apart by kind, not plugin name).
  json run = read_json(dir / "run.json");
  run["stages"].push_back({{"id", "tag"}, {"plugin", "category_map"}, {"kind", "transform"}, {"status", "ok"}});
  run["stages"].push_back({{"id", "evaluate2"}, {"plugin", "evaluator"}, {"kind", "evaluator"}, {"status", "ok"}});
  write(dir / "run.json", run.dump());
  json metrics = read_json(dir / "metrics.json");
  Model m2 = models[0];
  m2.accuracy = 0.5;
  metrics["evaluate2"] = figures(m2);
  write(dir / "metrics.json", metrics.dump());
  write(dir / "stages/evaluate2/xgb/curves.json", curves_doc(m2).dump());
  const CompareReport rep = build_compare(dir);
  REQUIRE(rep.rows.size() == 2);
  CHECK(rep.rows[0].name == "xgb (evaluate)");
  CHECK(rep.rows[1].name == "xgb (evaluate2)");
  CHECK(rep.rows[1].trainer == "xgb");
  CHECK(rep.rows[1].accuracy == 0.5);
  CHECK(rep.curves.contains("xgb (evaluate2)"));
}

TEST_CASE("build_compare: null figures and missing measures are NaN, shown as '-'") {
  TempDir t;
  const auto dir = t / "run";
  make_run(dir, two_models(), Layout::Shared);
  json metrics = read_json(dir / "metrics.json");
  metrics["evaluate"]["lr"]["roc_auc"] = nullptr;
  metrics["evaluate"]["lr"]["log_loss"] = nullptr;
  write(dir / "metrics.json", metrics.dump());
  json run = read_json(dir / "run.json");
  for (auto& s : run["stages"])
    if (s["id"] == "lr") s["measures"] = json::object();
  write(dir / "run.json", run.dump());
  const CompareReport rep = build_compare(dir);
  const ModelRow& lr = row_of(rep, "lr");
  CHECK(std::isnan(lr.roc_auc));
  CHECK(std::isnan(lr.log_loss));
  CHECK(std::isnan(lr.train_seconds));
  CHECK(std::isnan(lr.predict_rows_per_second));
  const std::string md = markdown_table(rep);
  CHECK(md.find(" - |") != std::string::npos);
  // With only one model having a value, that column has no "best".
  CHECK(md.find("**0.9466**") == std::string::npos);
  CHECK(md.find("**10.172 s**") == std::string::npos);
}

TEST_CASE("build_compare: multiclass models get macro-averaged curves") {
  TempDir t;
  const auto dir = t / "run";
  auto models = two_models();
  make_run(dir, {models[0]}, Layout::Shared);
  json metrics = read_json(dir / "metrics.json");
  metrics["evaluate"]["classes"] = {"a", "b", "c"};
  write(dir / "metrics.json", metrics.dump());
  json c = curves_doc(models[0]);
  c["classes"] = {"a", "b", "c"};
  c.erase("positive_class");
  c["curves"] = {
      {"a", {{"roc", {{"fpr", {0.0, 0.0, 1.0}}, {"tpr", {0.0, 1.0, 1.0}}, {"auc", 1.0}}},
             {"pr", {{"recall", {0.0, 1.0}}, {"precision", {1.0, 1.0}}, {"average_precision", 1.0}}}}},
      {"b", {{"roc", {{"fpr", {0.0, 1.0}}, {"tpr", {0.0, 1.0}}, {"auc", 0.5}}},
             {"pr", {{"recall", {0.0, 1.0}}, {"precision", {0.5, 0.5}}, {"average_precision", 0.5}}}}},
      {"c", {{"roc", nullptr}, {"pr", nullptr}}},  // a class no test row has
  };
  write(dir / "stages/evaluate/xgb/curves.json", c.dump());
  const CompareReport rep = build_compare(dir);
  REQUIRE(rep.rows.size() == 1);
  CHECK(rep.rows[0].multiclass);
  const json& cv = rep.curves.at("xgb");
  CHECK(cv.at("kind") == "macro");
  CHECK(cv.at("per_class").size() == 3);
  const auto fpr = cv.at("roc").at("fpr").get<std::vector<double>>();
  const auto tpr = cv.at("roc").at("tpr").get<std::vector<double>>();
  // Mean of a perfect ROC and the diagonal: (0,0) (0,0.5) … (1,1).
  REQUIRE(fpr.size() == tpr.size());
  CHECK(fpr.front() == 0.0);
  CHECK(tpr.front() == 0.0);
  CHECK(fpr[1] == 0.0);
  CHECK(tpr[1] == doctest::Approx(0.5));
  CHECK(fpr.back() == 1.0);
  CHECK(tpr.back() == doctest::Approx(1.0));
  CHECK(cv.at("roc").at("classes") == 2);
  const auto prec = cv.at("pr").at("precision").get<std::vector<double>>();
  CHECK(prec.front() == doctest::Approx(0.75));
  CHECK(prec.back() == doctest::Approx(0.75));
  CHECK(cv.at("roc").at("auc").get<double>() == models[0].roc_auc);  // the evaluator's macro figure
  bool noted = false;
  for (const auto& n : rep.notes) noted |= n.find("macro") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("build_compare: curves = false leaves the model out of the plots") {
  TempDir t;
  const auto dir = t / "run";
  make_run(dir, two_models(), Layout::Shared);
  std::string toml = pipectl::testsupport::slurp(dir / "pipeline.toml");
  toml.replace(toml.find("curves = true"), 13, "curves = false");
  write(dir / "pipeline.toml", toml);
  fs::remove_all(dir / "stages/evaluate");
  const CompareReport rep = build_compare(dir);
  CHECK_FALSE(rep.rows[0].has_curves);
  CHECK(rep.curves.at("xgb").at("roc").is_null());
  REQUIRE(rep.notes.size() == 2);
  CHECK(rep.notes[0].find("curves = false") != std::string::npos);
}

TEST_CASE("build_compare: missing pieces give clear errors") {
  TempDir t;
  const auto dir = t / "run";
  auto fresh = [&] {
    fs::remove_all(dir);
    make_run(dir, two_models(), Layout::Shared);
  };
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg);
    CHECK(msg.find(part) != std::string::npos);
  };

  has(error_of(t / "nope"), "does not exist");

  fresh();
  fs::remove(dir / "run.json");
  has(error_of(dir), "run.json");
  has(error_of(dir), "is missing");

  fresh();
  fs::remove(dir / "metrics.json");
  has(error_of(dir), "metrics.json");

  fresh();
  write(dir / "metrics.json", "{not json");
  has(error_of(dir), "not valid JSON");

  fresh();
  fs::remove(dir / "pipeline.toml");
  has(error_of(dir), "pipeline.toml");

  fresh();
  write(dir / "pipeline.toml", "[[stage]\nid = ");
  has(error_of(dir), "not valid TOML");

  fresh();
  {
    std::string toml = pipectl::testsupport::slurp(dir / "pipeline.toml");
    toml.replace(toml.find("plugin = 'evaluator'"), 20, "plugin = 'csv_sink'");
    write(dir / "pipeline.toml", toml);
    // The run's record of that stage says the same (stages are told apart by their kind).
    json r = read_json(dir / "run.json");
    for (auto& s : r["stages"])
      if (s["id"] == "evaluate") {
        s["plugin"] = "csv_sink";
        s["kind"] = "sink";
      }
    write(dir / "run.json", r.dump());
  }
  has(error_of(dir), "no evaluator stage");

  fresh();
  {
    json m = read_json(dir / "metrics.json");
    m.erase("evaluate");
    write(dir / "metrics.json", m.dump());
  }
  has(error_of(dir), "no figures for evaluator \"evaluate\"");

  fresh();
  {
    json m = read_json(dir / "metrics.json");
    m["evaluate"].erase("lr");
    write(dir / "metrics.json", m.dump());
  }
  const std::string e1 = error_of(dir);
  has(e1, "no figures for model \"lr\"");
  has(e1, "\"xgb\"");  // what it does hold

  fresh();
  {
    json m = read_json(dir / "metrics.json");
    m["evaluate"]["xgb"].erase("accuracy");
    write(dir / "metrics.json", m.dump());
  }
  has(error_of(dir), "lacks \"accuracy\"");

  fresh();
  fs::remove(dir / "stages/evaluate/lr/curves.json");
  const std::string e2 = error_of(dir);
  has(e2, "curves of model \"lr\"");
  has(e2, "curves.json is missing");

  fresh();
  write(dir / "stages/evaluate/lr/curves.json", R"({"curves": {"roc": {"fpr": [0, 1], "tpr": [0]}, "pr": null}})");
  has(error_of(dir), "differ in length");

  fresh();
  fs::remove(dir / "stages/xgb/state.json");
  has(error_of(dir), "stages/xgb/state.json is missing");

  fresh();
  fs::remove(dir / "stages/lr/model.txt");
  has(error_of(dir), "stages/lr/model.txt named by");

  fresh();
  write(dir / "stages/lr/state.json", "{}");
  has(error_of(dir), "does not name the model file");

  fresh();
  {
    json r = read_json(dir / "run.json");
    json kept = json::array();
    for (const auto& s : r["stages"])
      if (s["id"] != "xgb") kept.push_back(s);
    r["stages"] = kept;
    write(dir / "run.json", r.dump());
  }
  has(error_of(dir), "no record of the stage \"xgb\"");

  // A run.json without kinds (an older pipectl's) is refused, not guessed at by plugin name.
  fresh();
  {
    json r = read_json(dir / "run.json");
    for (auto& s : r["stages"]) s.erase("kind");
    write(dir / "run.json", r.dump());
  }
  has(error_of(dir), "records no stage kinds (written by an older pipectl): re-run the pipeline to compare it");

  fresh();
  {
    std::string toml = pipectl::testsupport::slurp(dir / "pipeline.toml");
    toml.replace(toml.find("inputs = ['xgb', 'lr']"), 22, "inputs = ['split', 'lr']");
    write(dir / "pipeline.toml", toml);
  }
  has(error_of(dir), "input \"split\" does not come from a trainer");
}
