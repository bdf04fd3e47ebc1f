// Intervals and paired tests of the compare report (tools/report/paired.*):
// DeLong's paired test against a hand computation, the paired bootstrap's
// properties, scores.csv read checked, and the report's table.
#include "compare_report.hpp"
#include "fixture.hpp"
#include "paired.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace reportfix;
using namespace pipectl::report;

namespace {
const std::vector<std::uint8_t> kY = {0, 0, 0, 1, 1, 1};
// a separates the classes (AUC 1); b puts one negative above two positives (AUC 7/9).
const std::vector<double> kA = {0.1, 0.4, 0.35, 0.8, 0.7, 0.6};
const std::vector<double> kB = {0.2, 0.1, 0.6, 0.5, 0.9, 0.4};

std::string scores_csv(const std::vector<std::string>& group, const std::vector<double>& p) {
  std::string s = "row,group,y,p\n";
  for (std::size_t i = 0; i < p.size(); ++i)
    s += std::to_string(i) + "," + group[i] + "," + std::to_string(kY[i]) + "," + std::to_string(p[i]) + "\n";
  return s;
}
}  // namespace

TEST_CASE("paired: DeLong's paired test equals the hand computation") {
  // By hand: a's components are all 1 (no variance); b's V10 = {2/3, 1, 2/3}, V01 = {1, 1, 1/3}:
  // var = (3/81) / 3 + (12/81) / 3 = 5/81, difference 1 - 7/9 = 2/9, z = 2 / sqrt(5).
  const PairedTest t = delong_paired(kY, kA, kB);
  CHECK(t.method == "DeLong paired");
  CHECK(t.diff == doctest::Approx(2.0 / 9).epsilon(1e-12));
  const double se = std::sqrt(5.0) / 9;
  CHECK(t.lo == doctest::Approx(2.0 / 9 - 1.96 * se).epsilon(1e-12));  // -0.264743692877732 (python)
  CHECK(t.hi == doctest::Approx(2.0 / 9 + 1.96 * se).epsilon(1e-12));  // 0.7091881373221764
  CHECK(t.p_value == doctest::Approx(0.37109336952269767).epsilon(1e-12));
  // Swapped: the sign turns, p stays.
  const PairedTest s = delong_paired(kY, kB, kA);
  CHECK(s.diff == doctest::Approx(-2.0 / 9).epsilon(1e-12));
  CHECK(s.p_value == doctest::Approx(t.p_value).epsilon(1e-12));
  // Identical scores: no difference, p = 1.
  const PairedTest z = delong_paired(kY, kB, kB);
  CHECK(z.diff == 0);
  CHECK(z.p_value == 1);
}

TEST_CASE("paired: weighted AUC and the paired bootstrap over groups") {
  CHECK(weighted_auc(kY, kB) == doctest::Approx(7.0 / 9).epsilon(1e-12));
  // A weight of 2 is the row twice: duplicate the last positive (0.4, above negatives 0.2 and 0.1 only).
  std::vector<std::uint8_t> y2 = kY;
  std::vector<double> b2 = kB;
  y2.push_back(1);
  b2.push_back(0.4);
  CHECK(weighted_auc(kY, kB, {1, 1, 1, 1, 1, 2}) == doctest::Approx(weighted_auc(y2, b2)).epsilon(1e-12));
  CHECK(std::isnan(weighted_auc({1, 1}, {0.2, 0.3})));

  const std::vector<std::string> g = {"n1", "n1", "n2", "p1", "p2", "p2"};
  const PairedTest t = bootstrap_paired(g, kY, kA, kB, 7, 500);
  CHECK(t.diff == doctest::Approx(2.0 / 9).epsilon(1e-12));  // the full-sample difference
  CHECK(t.method == "paired bootstrap over groups (500 draws)");
  CHECK(t.lo >= 0);  // a is never worse than b on any draw
  CHECK(t.lo <= t.diff);
  CHECK(t.hi >= t.diff);
  CHECK(t.p_value >= 0);
  CHECK(t.p_value <= 1);
  // The same seed, the same draws; the groups' order in the rows does not matter.
  const PairedTest again = bootstrap_paired(g, kY, kA, kB, 7, 500);
  CHECK(again.lo == t.lo);
  CHECK(again.hi == t.hi);
  CHECK(again.p_value == t.p_value);
  // Identical models: every draw's difference is 0: [0, 0] and p = 1.
  const PairedTest z = bootstrap_paired(g, kY, kB, kB, 7, 200);
  CHECK(z.lo == 0);
  CHECK(z.hi == 0);
  CHECK(z.p_value == 1);
}

TEST_CASE("paired: scores.csv is read checked") {
  TempDir t;
  const auto f = t / "scores.csv";
  write(f, "row,group,y,p\n0,a,1,0.5\n");
  const Scores s = read_scores(f);
  CHECK(s.row == std::vector<std::int64_t>{0});
  CHECK(s.group == std::vector<std::string>{"a"});
  write(f, "row,y,p\n");
  CHECK_THROWS_WITH(read_scores(f), (f.string() + ":1: expected the header \"row,group,y,p\"").c_str());
  write(f, "row,group,y,p\n0,a,2,0.5\n");
  CHECK_THROWS_WITH(read_scores(f), (f.string() + ":2: y must be 0 or 1, got \"2\"").c_str());
  write(f, "row,group,y,p\n0,a,1,1.5\n");
  CHECK_THROWS_WITH(read_scores(f), (f.string() + ":2: p must be in [0, 1], got 1.5").c_str());
  write(f, "row,group,y,p\n0,a,1\n");
  CHECK_THROWS_WITH(read_scores(f), (f.string() + ":2: expected 4 fields (row,group,y,p), got 3").c_str());
  write(f, "row,group,y,p\nx,a,1,0.5\n");
  CHECK_THROWS_WITH(read_scores(f), (f.string() + ":2: row must be an integer >= 0 and p a number").c_str());
}

TEST_CASE("paired: the compare report shows each model's interval and its paired test against the best") {
  TempDir t;
  const auto dir = t / "cmp-20261127T150024Z";
  make_run(dir, two_models(), Layout::Shared);  // xgb is the best (ROC AUC 0.9466)
  // roc_auc_ci of xgb in metrics.json.
  json m = json::parse(pipectl::testsupport::slurp(dir / "metrics.json"));
  m["evaluate"]["xgb"]["roc_auc_ci"] = {0.91, 0.97};
  m["evaluate"]["xgb"]["roc_auc_ci_method"] = "DeLong";
  write(dir / "metrics.json", m.dump(2));

  SUBCASE("without groups: DeLong's paired test") {
    const std::vector<std::string> none(6, "");
    write(dir / "stages/evaluate/xgb/scores.csv", scores_csv(none, kA));
    write(dir / "stages/evaluate/lr/scores.csv", scores_csv(none, kB));
    const CompareReport rep = build_compare(dir);
    REQUIRE(rep.rows.size() == 2);
    const ModelRow& xgb = rep.rows[0];
    const ModelRow& lr = rep.rows[1];
    CHECK(xgb.roc_auc_lo == 0.91);
    CHECK(xgb.roc_auc_hi == 0.97);
    CHECK(xgb.paired_vs.empty());
    CHECK(std::isnan(lr.roc_auc_lo));
    CHECK(lr.paired_vs == "xgb");
    CHECK(lr.paired_method == "DeLong paired");
    CHECK(lr.paired_diff == doctest::Approx(2.0 / 9).epsilon(1e-12));
    CHECK(lr.paired_p == doctest::Approx(0.37109336952269767).epsilon(1e-12));
    const std::string md = markdown_table(rep);
    INFO(md);
    CHECK(md.find("| model | ROC AUC [95 %] | against | difference [95 %] | p | test |\n") != std::string::npos);
    CHECK(md.find("| xgb | 0.9466 [0.9100, 0.9700] | | | | |\n") != std::string::npos);
    CHECK(md.find("| lr | 0.9012 | xgb | 0.2222 [-0.2647, 0.7092] | 0.3711 | DeLong paired |\n") != std::string::npos);
    const json j = to_json(rep);
    CHECK(j["models"][0]["roc_auc_ci"] == json::array({0.91, 0.97}));
    CHECK(j["models"][1]["roc_auc_ci"].is_null());
    CHECK(j["models"][1]["paired_test"]["against"] == "xgb");
    CHECK(j["models"][1]["paired_test"]["p_value"].get<double>() == doctest::Approx(0.3711).epsilon(1e-4));
    const std::string page = html_page(rep, "<svg></svg>", "<svg></svg>");
    CHECK(page.find("<h2>Intervals and paired tests</h2>") != std::string::npos);
    CHECK(page.find("<tr><td>lr</td><td>0.9012</td><td>xgb</td><td>0.2222 [-0.2647, 0.7092]</td><td>0.3711</td>"
                    "<td>DeLong paired</td></tr>") != std::string::npos);
    CHECK(page.find("<tr><td>xgb</td><td>0.9466 [0.9100, 0.9700]</td><td></td>") != std::string::npos);
  }
  SUBCASE("with groups: the paired bootstrap over them") {
    const std::vector<std::string> g = {"n1", "n1", "n2", "p1", "p2", "p2"};
    write(dir / "stages/evaluate/xgb/scores.csv", scores_csv(g, kA));
    write(dir / "stages/evaluate/lr/scores.csv", scores_csv(g, kB));
    const CompareReport rep = build_compare(dir);
    CHECK(rep.rows[1].paired_method == "paired bootstrap over groups (1000 draws)");
    CHECK(rep.rows[1].paired_diff == doctest::Approx(2.0 / 9).epsilon(1e-12));
  }
  SUBCASE("scores of other rows cannot be paired") {
    const std::vector<std::string> none(6, "");
    write(dir / "stages/evaluate/xgb/scores.csv", scores_csv(none, kA));
    write(dir / "stages/evaluate/lr/scores.csv", "row,group,y,p\n0,,0,0.5\n");
    CHECK_THROWS_WITH(build_compare(dir),
                      ((dir / "stages/evaluate/lr/scores.csv").string() + " and " +
                       (dir / "stages/evaluate/xgb/scores.csv").string() +
                       " do not hold the same test rows (row, group and label): the models cannot be paired")
                          .c_str());
  }
  SUBCASE("one model's scores missing: a note, no test") {
    write(dir / "stages/evaluate/xgb/scores.csv", scores_csv(std::vector<std::string>(6, ""), kA));
    const CompareReport rep = build_compare(dir);
    CHECK(rep.rows[1].paired_vs.empty());
    CHECK(rep.notes.back() == "evaluator \"evaluate\" wrote no scores.csv for some of its models (a run on several "
                              "workers, or made before the evaluator wrote them): no paired test");
  }
}
