// pipectl cv: k-fold cross-validation by the pipeline's splitter (found by
// its kind and its "folds" / "fold" parameters), on a small generated
// households database with the real plugins.
#include <doctest/doctest.h>

#include "seed_common.hpp"

#include <cmath>
#include <cstdio>

using namespace seed_test;

namespace {

std::string fmt4(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

json stage_of(const json& run, const std::string& id) {
  for (const auto& s : run["stages"])
    if (s["id"] == id) return s;
  FAIL("no stage " << id);
  return {};
}

}  // namespace

TEST_CASE("cv: iot.toml in 3 folds of whole devices — per-fold metrics, mean and std, upstream stages run once") {
  TempDir home;
  const auto db = (home.path / "h.sqlite").string();
  auto g = sh(quote(kGen) + " --households 3 --sessions 3000 --seed 7 --out " + quote(db));
  REQUIRE_MESSAGE(g.rc == 0, g.err);
  const auto dir = home.path / "cv";
  auto r = run_pipectl("cv " + kPipelines + "/iot.toml --folds 3 -q --set source.path=" + quote(db) + " --out " +
                           quote(dir.string()),
                       home.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  INFO(r.out);
  CHECK(r.out.rfind("3-fold cross-validation of iot by stage \"split\" (folds of whole mac groups)\n"
                    "metric  ",
                    0) == 0);
  const std::string head = r.out.substr(0, r.out.find("\nevaluate.rows"));
  CHECK(head.find("  fold 0  fold 1  fold 2  ") != std::string::npos);
  CHECK(head.find("fold 2  ") != std::string::npos);
  CHECK(head.substr(head.size() - 11) == "mean \xC2\xB1 std");
  CHECK(r.out.find("cv folder: " + dir.string() + " (cv.json, cv.md, fold-0 .. fold-2)\n") != std::string::npos);

  const json cv = json::parse(slurp(dir / "cv.json"));
  CHECK(cv["folds"] == 3);
  CHECK(cv["splitter"] == "split");
  CHECK(cv["group"] == "mac");
  REQUIRE(cv["runs"].size() == 3);
  std::int64_t evaluated = 0, skipped = 0;
  std::vector<double> aucs;
  for (int f = 0; f < 3; ++f) {
    const auto fold = dir / ("fold-" + std::to_string(f));
    const json m = json::parse(slurp(fold / "metrics.json"))["evaluate"];
    const json run = json::parse(slurp(fold / "run.json"));
    // The fold's own parameters took effect.
    const std::string toml = slurp(fold / "pipeline.toml");
    CHECK(toml.find("folds = 3") != std::string::npos);
    CHECK(toml.find("fold = " + std::to_string(f)) != std::string::npos);
    // The stages before the splitter ran once (fold 0); the splitter and what follows ran in every fold.
    CHECK(stage_of(run, "source")["cached"] == (f > 0));
    CHECK(stage_of(run, "clean")["cached"] == (f > 0));
    CHECK(stage_of(run, "split")["cached"] == false);
    CHECK(stage_of(run, "train")["cached"] == false);
    CHECK(cv["metrics"]["evaluate.roc_auc"]["folds"][f] == m["roc_auc"]);
    CHECK(cv["metrics"]["evaluate.rows"]["folds"][f] == m["rows"]);
    aucs.push_back(m["roc_auc"].get<double>());
    evaluated += m["rows"].get<std::int64_t>();
    const json counters = stage_of(run, "evaluate")["counters"];
    for (auto it = counters.begin(); it != counters.end(); ++it)
      if (it.key().rfind("skipped.", 0) == 0) skipped += it.value().get<std::int64_t>();
    if (f == 2) {
      // Every row is a test row of exactly one fold: the folds' test rows add up to the split's rows.
      CHECK(evaluated + skipped == stage_of(run, "split")["rows_out"].get<std::int64_t>());
    }
  }
  const double mean = (aucs[0] + aucs[1] + aucs[2]) / 3;
  double ss = 0;
  for (double a : aucs) ss += (a - mean) * (a - mean);
  const double sd = std::sqrt(ss / 2);
  CHECK(cv["metrics"]["evaluate.roc_auc"]["mean"].get<double>() == doctest::Approx(mean).epsilon(1e-12));
  CHECK(cv["metrics"]["evaluate.roc_auc"]["std"].get<double>() == doctest::Approx(sd).epsilon(1e-12));
  CHECK(cv["metrics"]["evaluate.roc_auc"]["n"] == 3);
  // The printed row: the three folds, then mean ± std.
  const std::string row = "evaluate.roc_auc";
  const auto at = r.out.find("\n" + row + " ");
  REQUIRE(at != std::string::npos);
  const std::string line = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
  CHECK(line.find("  " + fmt4(aucs[0]) + "  " + fmt4(aucs[1]) + "  " + fmt4(aucs[2]) + "  ") != std::string::npos);
  const std::string tail = fmt4(mean) + " \xC2\xB1 " + fmt4(sd);
  CHECK(line.substr(line.size() - tail.size()) == tail);
  CHECK(slurp(dir / "cv.md").find(line) != std::string::npos);
}

TEST_CASE("cv: refuses what it cannot cross-validate, with the reason") {
  TempDir home;
  const std::string iot = kPipelines + "/iot.toml";
  auto r = run_pipectl("cv " + iot + " --folds 1", home.path);
  CHECK(r.rc == 2);
  CHECK(r.err == "pipectl: --folds must be in 2 .. 1000, got 1\n");
  r = run_pipectl("cv " + iot + " --split clean", home.path);
  CHECK(r.rc == 2);
  CHECK(r.err == "error: stage \"clean\" is not a splitter that declares folds (parameters \"folds\" and \"fold\")\n");
  r = run_pipectl("cv " + iot + " --set split.fold=1", home.path);
  CHECK(r.rc == 2);
  CHECK(r.err == "error: --set split.fold=1: cv sets split.folds and split.fold itself\n");
  r = run_pipectl("cv " + iot + " --set train.eta=0.1,0.3", home.path);
  CHECK(r.rc == 2);
  CHECK(r.err == "pipectl: cv runs one fold per run; --set train.eta=0.1,0.3 is a sweep (a value list)\n");
  // A splitter that declares folds but cannot deal them (a row-level shuffle) says why, before anything runs.
  r = run_pipectl("cv " + iot + " --set split.method=shuffle --out " + quote((home.path / "x").string()), home.path);
  CHECK(r.rc != 0);
  CHECK(r.err.find("folds needs method \"groups\"") != std::string::npos);
  CHECK_FALSE(fs::exists(home.path / "x" / "fold-0"));
}
