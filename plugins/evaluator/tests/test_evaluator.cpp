// Expected figures come from scikit-learn 1.2 (accuracy_score, precision_score,
// recall_score, f1_score with zero_division=0, roc_auc_score,
// average_precision_score, log_loss with its default eps="auto" (float64's
// machine epsilon, 2.22e-16), confusion_matrix,
// roc_curve(drop_intermediate=False), precision_recall_curve) or by hand.
#include "evaluator.hpp"
#include "intervals.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <fstream>
#include <sstream>

using namespace pipectl;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;
using doctest::Approx;

namespace {

const PluginSpec& spec() {
  static const PluginSpec s = eval::evaluator_spec();
  return s;
}

std::vector<TablePtr> in(std::initializer_list<Table> ts) {
  std::vector<TablePtr> v;
  for (const auto& t : ts) v.push_back(std::make_shared<const Table>(t));
  return v;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A binary trainer's output: sessionid, is_iot (int64, "no,yes"), pred_proba,
// pred_label (at 0.5), every row Test unless roles are given.
Table binary_table(const std::vector<std::int64_t>& y, const std::vector<double>& p, const std::string& model = "m1",
                   std::vector<Role> roles = {}, std::vector<std::uint8_t> y_valid = {}) {
  const std::size_t n = y.size();
  std::vector<std::int64_t> sid(n);
  std::vector<std::int32_t> pl(n);
  for (std::size_t i = 0; i < n; ++i) {
    sid[i] = static_cast<std::int64_t>(100 + i);
    pl[i] = p[i] >= 0.5 ? 1 : 0;
  }
  if (roles.empty()) roles.assign(n, Role::Test);
  Table t({std::make_shared<const Column>(Column::make_i64("sessionid", sid)),
           std::make_shared<const Column>(Column::make_i64("is_iot", y, y_valid)),
           std::make_shared<const Column>(Column::make_f64("pred_proba", p)),
           std::make_shared<const Column>(
               Column::make_cat("pred_label", pl, std::make_shared<Dictionary>(Dictionary{"no", "yes"})))});
  t = t.with_roles(std::make_shared<std::vector<Role>>(roles)).with_meta("model", model);
  t.check();
  return t;
}

// A 3-class trainer's output with a categorical label "kind" (cam, plug, tv).
const std::vector<std::vector<double>> P = {{0.7, 0.2, 0.1},  {0.2, 0.5, 0.3},   {0.1, 0.3, 0.6}, {0.3, 0.4, 0.3},
                                            {0.25, 0.25, 0.5}, {0.5, 0.3, 0.2}, {0.2, 0.2, 0.6}, {0.6, 0.3, 0.1}};
Table multi_table(const std::vector<std::int32_t>& y, const std::vector<std::vector<double>>& proba,
                  Dictionary label_dict = {"cam", "plug", "tv"}) {
  const Dictionary classes = {"cam", "plug", "tv"};
  const std::size_t n = y.size();
  std::vector<std::vector<double>> cols(3, std::vector<double>(n));
  std::vector<std::int32_t> pl(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int32_t best = 0;
    for (std::int32_t c = 0; c < 3; ++c) {
      cols[c][i] = proba[i][c];
      if (proba[i][c] > proba[i][best]) best = c;
    }
    pl[i] = best;
  }
  Table t({std::make_shared<const Column>(
      Column::make_cat("kind", y, std::make_shared<Dictionary>(std::move(label_dict))))});
  for (int c = 0; c < 3; ++c) t = t.with(Column::make_f64("pred_proba." + classes[c], cols[c]));
  t = t.with(Column::make_cat("pred_label", pl, std::make_shared<Dictionary>(classes)));
  t = t.with_roles(std::make_shared<std::vector<Role>>(n, Role::Test)).with_meta("model", "mc");
  t.check();
  return t;
}

json run_one(const Table& t, json params = json::object(), TestContext* out_ctx = nullptr) {
  eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec(), std::move(params)));
  TestContext local("eval");
  TestContext& ctx = out_ctx ? *out_ctx : local;
  ev.run(ctx, in({t}));
  return ctx.metrics;
}

bool has_log(const TestContext& ctx, const std::string& line) {
  return std::find(ctx.log.begin(), ctx.log.end(), line) != ctx.log.end();
}

}  // namespace

TEST_CASE("evaluator: binary metrics equal scikit-learn's") {
  SUBCASE("y=[0,0,1,1], p=[0.1,0.4,0.35,0.8]") {
    const json m = run_one(binary_table({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}));
    CHECK(m["rows"] == 4);
    CHECK(m["classes"] == json::array({"no", "yes"}));
    CHECK(m["positive_class"] == "yes");
    CHECK(m["accuracy"].get<double>() == 0.75);
    CHECK(m["precision"].get<double>() == 1.0);
    CHECK(m["recall"].get<double>() == 0.5);
    CHECK(m["f1"].get<double>() == Approx(0.6666666666666666).epsilon(1e-15));
    CHECK(m["roc_auc"].get<double>() == 0.75);
    CHECK(m["pr_auc"].get<double>() == Approx(0.8333333333333333).epsilon(1e-15));
    CHECK(m["log_loss"].get<double>() == Approx(0.47228795380917615).epsilon(1e-14));
    CHECK(m["confusion_matrix"] == json::parse("[[2,0],[1,1]]"));
    CHECK_FALSE(m.contains("per_class"));
  }
  SUBCASE("ties in the scores (average ranks / trapezoid)") {
    const json m = run_one(binary_table({0, 1, 0, 1, 1, 0, 1, 0}, {0.5, 0.5, 0.2, 0.8, 0.5, 0.9, 0.2, 0.1}));
    CHECK(m["accuracy"].get<double>() == 0.625);
    CHECK(m["precision"].get<double>() == Approx(0.6).epsilon(1e-15));
    CHECK(m["recall"].get<double>() == 0.75);
    CHECK(m["f1"].get<double>() == Approx(0.6666666666666665).epsilon(1e-15));
    CHECK(m["roc_auc"].get<double>() == 0.59375);
    CHECK(m["pr_auc"].get<double>() == Approx(0.5678571428571428).epsilon(1e-15));
    CHECK(m["log_loss"].get<double>() == Approx(0.8178890206742785).epsilon(1e-14));
    CHECK(m["confusion_matrix"] == json::parse("[[2,2],[1,3]]"));
  }
  SUBCASE("the threshold moves the predictions, not the ranking metrics") {
    const Table t = binary_table({0, 1, 0, 1, 1, 0, 1, 0}, {0.5, 0.5, 0.2, 0.8, 0.5, 0.9, 0.2, 0.1});
    const json m = run_one(t, {{"threshold", 0.15}});
    // >= 0.15: everything but 0.1 is positive.
    CHECK(m["confusion_matrix"] == json::parse("[[1,3],[0,4]]"));
    CHECK(m["accuracy"].get<double>() == 0.625);
    CHECK(m["precision"].get<double>() == Approx(4.0 / 7.0).epsilon(1e-15));
    CHECK(m["recall"].get<double>() == 1.0);
    CHECK(m["f1"].get<double>() == Approx(8.0 / 11.0).epsilon(1e-15));
    CHECK(m["roc_auc"].get<double>() == 0.59375);
  }
  SUBCASE("probabilities 0 and 1 are clipped in log_loss to [eps, 1 - eps], eps = 2^-52") {
    const json m = run_one(binary_table({0, 1, 1, 0}, {0.0, 1.0, 0.0, 0.3}));
    CHECK(m["roc_auc"].get<double>() == 0.625);
    CHECK(m["pr_auc"].get<double>() == 0.75);
    // By hand: -(2 log(1 - eps) + log(eps) + log(0.7)) / 4 = (52 ln 2 - ln 0.7) / 4 (to 1e-16);
    // sklearn 1.2.1 log_loss (eps="auto"): 9.100082083263972 (with eps=1e-15 it was 8.7239).
    CHECK(m["log_loss"].get<double>() == Approx((52 * std::log(2.0) - std::log(0.7)) / 4).epsilon(1e-14));
    CHECK(m["log_loss"].get<double>() == Approx(9.100082083263972).epsilon(1e-14));
  }
}

TEST_CASE("evaluator: multiclass macro figures equal scikit-learn's") {
  SUBCASE("every class present") {
    TestContext ctx("eval");
    const json m = run_one(multi_table({0, 1, 2, 2, 1, 0, 2, 1}, P), {{"label", "kind"}}, &ctx);
    CHECK(m["rows"] == 8);
    CHECK(m["classes"] == json::array({"cam", "plug", "tv"}));
    CHECK_FALSE(m.contains("positive_class"));
    CHECK(m["accuracy"].get<double>() == 0.625);
    CHECK(m["precision"].get<double>() == Approx(0.611111111111111).epsilon(1e-15));
    CHECK(m["recall"].get<double>() == Approx(0.6666666666666666).epsilon(1e-15));
    CHECK(m["f1"].get<double>() == Approx(0.6222222222222222).epsilon(1e-15));
    CHECK(m["roc_auc"].get<double>() == Approx(0.8277777777777778).epsilon(1e-15));
    CHECK(m["pr_auc"].get<double>() == Approx(0.7777777777777777).epsilon(1e-15));
    CHECK(m["log_loss"].get<double>() == Approx(0.8198575652952959).epsilon(1e-14));
    CHECK(m["confusion_matrix"] == json::parse("[[2,0,0],[1,1,1],[0,1,2]]"));
    const json& pc = m["per_class"];
    CHECK(pc["cam"]["precision"].get<double>() == Approx(2.0 / 3));
    CHECK(pc["cam"]["recall"].get<double>() == 1.0);
    CHECK(pc["cam"]["f1"].get<double>() == Approx(0.8));
    CHECK(pc["cam"]["support"] == 2);
    CHECK(pc["plug"]["precision"].get<double>() == 0.5);
    CHECK(pc["plug"]["recall"].get<double>() == Approx(1.0 / 3));
    CHECK(pc["plug"]["f1"].get<double>() == Approx(0.4));
    CHECK(pc["plug"]["support"] == 3);
    CHECK(pc["tv"]["support"] == 3);
    CHECK(ctx.log.empty());
    // The report says which figures are macro averages.
    REQUIRE(ctx.reports.size() == 1);
    INFO(ctx.reports[0]);
    CHECK(ctx.reports[0].rfind("test rows, model mc\n"
                               "metric                  mc\n"
                               "rows                     8\n"
                               "accuracy            0.6250\n"
                               "precision (macro)   0.6111\n"
                               "recall (macro)      0.6667\n"
                               "f1 (macro)          0.6222\n"
                               "roc_auc (macro)     0.8278\n"
                               "pr_auc (macro)      0.7778\n"
                               "log_loss            0.8199\n",
                               0) == 0);
  }
  SUBCASE("a class predicted but never true") {
    TestContext ctx("eval");
    const json m = run_one(multi_table({0, 1, 0, 1, 1, 0, 0, 1}, P), {{"label", "kind"}}, &ctx);
    // The class counts in the macro precision/recall/f1 (sklearn: labels = truth ∪ predictions)…
    CHECK(m["precision"].get<double>() == Approx(0.5555555555555555).epsilon(1e-15));
    CHECK(m["recall"].get<double>() == Approx(0.3333333333333333).epsilon(1e-15));
    CHECK(m["f1"].get<double>() == Approx(0.41269841269841273).epsilon(1e-15));
    CHECK(m["confusion_matrix"] == json::parse("[[2,0,2],[1,2,1],[0,0,0]]"));
    CHECK(m["log_loss"].get<double>() == Approx(1.1451937759758437).epsilon(1e-14));
    // …but its ROC AUC / AP are undefined: averaged over cam and plug only, with a warning
    // (sklearn refuses roc_auc here and counts AP as 0).
    CHECK(m["roc_auc"].get<double>() == Approx(0.640625).epsilon(1e-15));
    CHECK(m["pr_auc"].get<double>() == Approx(0.7327380952380953).epsilon(1e-15));
    CHECK(has_log(ctx, "warn: evaluator: model \"mc\": roc_auc is undefined for the class(es) \"tv\" (all or none of "
                       "the evaluated rows): the macro average leaves them out"));
    CHECK(has_log(ctx, "warn: evaluator: model \"mc\": pr_auc is undefined for the class(es) \"tv\" (no evaluated "
                       "row): the macro average leaves them out"));
  }
  SUBCASE("log_loss clips each probability to [eps, 1 - eps] (eps = 2^-52), then renormalises the row") {
    eval::Outcomes o;
    o.classes = {"a", "b", "c"};
    o.truth = {0, 2};
    o.pred = {0, 0};
    o.proba = {1.0, 0.0, 0.0, 0.5, 0.5, 0.0};
    std::vector<std::string> w;
    const json m = eval::compute_metrics(o, w);
    // By hand: rows {1-e, e, e} / (1+e) and {0.5, 0.5, e} / (1+e), true classes a and c;
    // sklearn 1.2.1 log_loss([0, 2], P, labels=[0, 1, 2]) = 18.021826694558577.
    const double e = std::ldexp(1.0, -52);
    CHECK(m["log_loss"].get<double>() ==
          Approx((-std::log1p(-e) + 2 * std::log1p(e) - std::log(e)) / 2).epsilon(1e-14));
    CHECK(m["log_loss"].get<double>() == Approx(18.021826694558577).epsilon(1e-14));
  }
  SUBCASE("a class neither true nor predicted stays out of the macro average") {
    eval::Outcomes o;
    o.classes = {"a", "b", "c"};
    o.truth = {0, 1, 0, 1};
    o.pred = {0, 1, 1, 1};
    std::vector<std::string> w;
    const json m = eval::compute_metrics(o, w);
    CHECK(m["precision"].get<double>() == Approx(0.8333333333333333).epsilon(1e-15));
    CHECK(m["recall"].get<double>() == 0.75);
    CHECK(m["f1"].get<double>() == Approx(0.7333333333333334).epsilon(1e-15));
    CHECK(m["per_class"]["c"] == json::parse(R"({"f1":0.0,"precision":0.0,"recall":0.0,"support":0})"));
    CHECK(m["roc_auc"].is_null());
    CHECK(w == std::vector<std::string>{"no probability columns: roc_auc, pr_auc and log_loss are null"});
  }
  SUBCASE("the categorical label maps onto the model's classes by name") {
    // The label's dictionary lists the classes in another order: codes differ, names match.
    std::vector<std::int32_t> y = {0, 1, 2, 2, 1, 0, 2, 1};
    for (auto& c : y) c = c == 0 ? 2 : (c == 2 ? 0 : 1);  // cam<->tv codes swapped
    const json m = run_one(multi_table(y, P, {"tv", "plug", "cam"}), {{"label", "kind"}});
    CHECK(m["accuracy"].get<double>() == 0.625);
    CHECK(m["confusion_matrix"] == json::parse("[[2,0,0],[1,1,1],[0,1,2]]"));
  }
  SUBCASE("a class the model does not know is skipped and counted") {
    std::vector<std::int32_t> y = {0, 1, 2, 2, 1, 0, 2, 3};
    TestContext ctx("eval");
    const json m = run_one(multi_table(y, P, {"cam", "plug", "tv", "fridge"}), {{"label", "kind"}}, &ctx);
    CHECK(m["rows"] == 7);
    CHECK(ctx.counters["skipped.unknown_class.kind"] == 1);
    CHECK(has_log(ctx, "warn: evaluator: model \"mc\": 1 row(s) skipped: \"kind\" is not one of the model's classes "
                       "(\"cam\", \"plug\", \"tv\")"));
  }
}

TEST_CASE("evaluator: undefined figures are null with a warning, never a crash") {
  SUBCASE("one-class test split (all negative)") {
    TestContext ctx("eval");
    const json m = run_one(binary_table({0, 0, 0}, {0.2, 0.7, 0.1}), json::object(), &ctx);
    CHECK(m["rows"] == 3);
    CHECK(m["roc_auc"].is_null());
    CHECK(m["pr_auc"].is_null());
    CHECK(m["accuracy"].get<double>() == Approx(2.0 / 3));
    CHECK(m["precision"].get<double>() == 0.0);
    CHECK(m["recall"].get<double>() == 0.0);
    CHECK(m["f1"].get<double>() == 0.0);
    CHECK(m["log_loss"].get<double>() == Approx(-(std::log(0.8) + std::log(0.3) + std::log(0.9)) / 3));
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": roc_auc is undefined: every evaluated row has the class \"no\""));
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": pr_auc is undefined: no evaluated row has the class \"yes\""));
    CHECK(ctx.reports.size() == 1);
  }
  SUBCASE("one-class test split (all positive): AP is defined") {
    TestContext ctx("eval");
    const json m = run_one(binary_table({1, 1, 1}, {0.2, 0.5, 0.9}), json::object(), &ctx);
    CHECK(m["roc_auc"].is_null());
    CHECK(m["pr_auc"].get<double>() == 1.0);
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": roc_auc is undefined: every evaluated row has the class \"yes\""));
  }
  SUBCASE("no test rows") {
    TestContext ctx("eval");
    const json m = run_one(binary_table({0, 1}, {0.2, 0.7}, "m1", {Role::Train, Role::Valid}), json::object(), &ctx);
    CHECK(m["rows"] == 0);
    for (const char* k : {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"}) CHECK(m[k].is_null());
    CHECK(m["confusion_matrix"] == json::parse("[[0,0],[0,0]]"));
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": no rows to evaluate: every metric is null"));
  }
  SUBCASE("no probability column") {
    TestContext ctx("eval");
    const json m = run_one(binary_table({0, 1, 1}, {0.2, 0.7, 0.4}).without("pred_proba"), json::object(), &ctx);
    CHECK(m["accuracy"].get<double>() == Approx(2.0 / 3));  // from pred_label
    CHECK(m["roc_auc"].is_null());
    CHECK(m["log_loss"].is_null());
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": no probability columns: roc_auc, pr_auc and log_loss are null"));
  }
}

TEST_CASE("evaluator: which rows are evaluated") {
  const std::vector<Role> roles = {Role::Train, Role::Test, Role::Valid, Role::Test, Role::Test, Role::Test};
  const Table t = binary_table({1, 0, 1, 1, 0, 1}, {0.1, 0.2, 0.3, 0.9, 0.6, 0.4}, "m1", roles, {1, 1, 1, 1, 1, 0});
  SUBCASE("Fit: the Test rows; NULL labels skipped and counted") {
    TestContext ctx("eval");
    const json m = run_one(t, json::object(), &ctx);
    CHECK(m["rows"] == 3);  // rows 1, 3, 4 (row 5 has a NULL label)
    CHECK(ctx.counters["skipped.null_label.is_iot"] == 1);
    CHECK(has_log(ctx, "warn: evaluator: model \"m1\": 1 row(s) skipped: NULL \"is_iot\""));
    CHECK(m["confusion_matrix"] == json::parse("[[1,1],[0,1]]"));
    CHECK(m["roc_auc"].get<double>() == 1.0);
  }
  SUBCASE("Apply: every row") {
    TestContext ctx("eval", Mode::Apply);
    const json m = run_one(t, json::object(), &ctx);
    CHECK(m["rows"] == 5);
    CHECK(ctx.counters["skipped.null_label.is_iot"] == 1);
  }
  SUBCASE("Fit without a split is a data error") {
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    TestContext ctx("eval");
    CHECK_THROWS_WITH_AS(ev.run(ctx, in({t.with_roles(nullptr)})),
                         "evaluator: model \"m1\": the table has no train/valid/test split; a splitter is needed "
                         "upstream (or run in apply mode)",
                         DataError);
  }
  SUBCASE("a float label is a data error") {
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    TestContext ctx("eval");
    const Table bad = t.with(Column::make_f64("is_iot", std::vector<double>(t.rows(), 1.0)));
    CHECK_THROWS_WITH_AS(ev.run(ctx, in({bad})), "label column \"is_iot\" must be int64 or categorical, it is float64",
                         DataError);
  }
  SUBCASE("missing pred_label") {
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    TestContext ctx("eval");
    CHECK_THROWS_WITH_AS(ev.run(ctx, in({t.without("pred_label")})),
                         "no column \"pred_label\" (columns: sessionid, is_iot, pred_proba)", DataError);
  }
}

TEST_CASE("evaluator: output, metrics layout, report and artifacts") {
  const Table a = binary_table({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}, "xgb");
  const Table b = binary_table({0, 0, 1, 1}, {0.6, 0.4, 0.35, 0.8}, "logreg");

  SUBCASE("one input: metrics directly under the stage, the output is the input") {
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    TestContext ctx("eval");
    const Table out = ev.run(ctx, in({a}));
    CHECK(out.column_names() == a.column_names());
    CHECK(out.at("pred_proba").f64.data() == a.at("pred_proba").f64.data());
    CHECK(out.meta("model") == "xgb");
    CHECK(ctx.metrics.contains("accuracy"));
    CHECK_FALSE(ctx.metrics.contains("xgb"));
    REQUIRE(ctx.reports.size() == 1);
    CHECK(ctx.reports[0] ==
          // roc_auc_ci: DeLong, 0.75 - 1.96 sqrt(var) = 0.0570 (by hand: V10 = {1, 0.5}, V01 = {1, 0.5}), clipped at 1.
          "test rows, model xgb\n"
          "metric                    xgb\n"
          "rows                        4\n"
          "accuracy               0.7500\n"
          "precision              1.0000\n"
          "recall                 0.5000\n"
          "f1                     0.6667\n"
          "roc_auc                0.7500\n"
          "roc_auc_ci   [0.0570, 1.0000]\n"
          "pr_auc                 0.8333\n"
          "log_loss               0.4723\n"
          "\n"
          "confusion matrix of xgb (rows = true, columns = predicted)\n"
          "     no  yes\n"
          "no    2    0\n"
          "yes   1    1\n");
  }
  SUBCASE("several inputs: one metrics object per model, one report column per model") {
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    TestContext ctx("eval");
    const Table out = ev.run(ctx, in({a, b, b}));
    CHECK(out.meta("model") == "xgb");
    REQUIRE(ctx.metrics.contains("xgb"));
    REQUIRE(ctx.metrics.contains("logreg"));
    REQUIRE(ctx.metrics.contains("logreg#2"));
    CHECK(ctx.metrics["xgb"]["roc_auc"].get<double>() == 0.75);
    CHECK(ctx.metrics["logreg"]["roc_auc"].get<double>() == 0.5);
    CHECK(ctx.metrics["logreg"] == ctx.metrics["logreg#2"]);
    REQUIRE(ctx.reports.size() == 1);
    const std::string& r = ctx.reports[0];
    INFO(r);
    CHECK(r.rfind("test rows, models xgb, logreg, logreg#2\n"
                  "metric                    xgb            logreg          logreg#2\n"
                  "rows                        4                 4                 4\n"
                  "accuracy               0.7500            0.5000            0.5000\n",
                  0) == 0);
    CHECK(r.find("confusion matrix of logreg#2") != std::string::npos);
    CHECK(std::filesystem::exists(ctx.artifact_dir() / "logreg_2" / "curves.json"));
  }
  SUBCASE("test_predictions.csv holds full-precision probabilities") {
    TestContext ctx("eval");
    run_one(binary_table({0, 1, 1}, {0.1, 0.7, 0.35}, "xgb", {}, {0, 1, 1}), json::object(), &ctx);
    CHECK(slurp(ctx.artifact_dir() / "xgb" / "test_predictions.csv") ==
          "sessionid,is_iot,pred_label,pred_proba\n"
          "100,,no,0.10000000000000001\n"
          "101,yes,yes,0.69999999999999996\n"
          "102,yes,no,0.34999999999999998\n");
  }
  SUBCASE("multiclass test_predictions.csv") {
    TestContext ctx("eval");
    run_one(multi_table({0, 2}, {P[0], P[2]}), {{"label", "kind"}}, &ctx);
    CHECK(slurp(ctx.artifact_dir() / "mc" / "test_predictions.csv") ==
          "kind,pred_label,pred_proba.cam,pred_proba.plug,pred_proba.tv\n"
          "cam,cam,0.69999999999999996,0.20000000000000001,0.10000000000000001\n"
          "tv,tv,0.10000000000000001,0.29999999999999999,0.59999999999999998\n");
  }
  SUBCASE("curves.json") {
    TestContext ctx("eval");
    run_one(a, json::object(), &ctx);
    const json c = json::parse(slurp(ctx.artifact_dir() / "xgb" / "curves.json"));
    CHECK(c["model"] == "xgb");
    CHECK(c["positive_class"] == "yes");
    CHECK(c["curves"]["roc"]["fpr"] == json::parse("[0.0, 0.0, 0.5, 0.5, 1.0]"));
    CHECK(c["curves"]["roc"]["tpr"] == json::parse("[0.0, 0.5, 0.5, 1.0, 1.0]"));
    CHECK(c["curves"]["roc"]["threshold"] == json::parse("[null, 0.8, 0.4, 0.35, 0.1]"));
    CHECK(c["curves"]["roc"]["auc"] == 0.75);
    CHECK(c["curves"]["pr"]["recall"] == json::parse("[0.0, 0.5, 0.5, 1.0, 1.0]"));
    CHECK(c["curves"]["pr"]["precision"][3].get<double>() == Approx(2.0 / 3));
    CHECK(c["curves"]["pr"]["threshold"] == json::parse("[null, 0.8, 0.4, 0.35, 0.1]"));
    // The scored test rows, for the compare report's paired test (no group: the group field is empty).
    CHECK(slurp(ctx.artifact_dir() / "xgb" / "scores.csv") ==
          "row,group,y,p\n0,,0,0.10000000000000001\n1,,0,0.40000000000000002\n2,,1,0.34999999999999998\n"
          "3,,1,0.80000000000000004\n");
  }
  SUBCASE("curves and predictions can be turned off") {
    TestContext ctx("eval");
    run_one(a, {{"curves", false}, {"predictions", false}}, &ctx);
    CHECK_FALSE(std::filesystem::exists(ctx.artifact_dir() / "xgb"));
  }
  SUBCASE("a model without a model id gets input<k>") {
    TestContext ctx("eval");
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    ev.run(ctx, in({a.with_meta("model", ""), b}));
    CHECK(ctx.metrics.contains("input1"));
    CHECK(ctx.metrics.contains("logreg"));
  }
}

TEST_CASE("evaluator: curves are downsampled to at most 200 points, deterministically") {
  const std::size_t n = 5000;
  std::vector<std::int64_t> y(n);
  std::vector<double> p(n);
  std::uint64_t s = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = static_cast<double>(s >> 11) / 9007199254740992.0;
    y[i] = ((s >> 7) % 100) < static_cast<std::uint64_t>(p[i] * 100) ? 1 : 0;
  }
  const Table t = binary_table(y, p, "big");
  TestContext c1("eval"), c2("eval");
  const json m1 = run_one(t, json::object(), &c1);
  const json m2 = run_one(t, json::object(), &c2);
  CHECK(m1.dump() == m2.dump());
  const std::string j1 = slurp(c1.artifact_dir() / "big" / "curves.json");
  CHECK(j1 == slurp(c2.artifact_dir() / "big" / "curves.json"));
  const json c = json::parse(j1);
  CHECK(c["curves"]["roc"]["fpr"].size() == 200);
  CHECK(c["curves"]["pr"]["recall"].size() == 200);
  CHECK(c["curves"]["roc"]["fpr"][0] == 0.0);
  CHECK(c["curves"]["roc"]["fpr"][199] == 1.0);
  CHECK(c["curves"]["roc"]["tpr"][199] == 1.0);

  // The AUC equals the Mann-Whitney statistic computed the slow way.
  double wins = 0, pos = 0, neg = 0;
  for (std::size_t i = 0; i < n; ++i) (y[i] ? pos : neg) += 1;
  std::vector<double> ps, ns;
  for (std::size_t i = 0; i < n; ++i) (y[i] ? ps : ns).push_back(p[i]);
  std::sort(ns.begin(), ns.end());
  for (double v : ps) {
    const auto lo = std::lower_bound(ns.begin(), ns.end(), v);
    const auto hi = std::upper_bound(ns.begin(), ns.end(), v);
    wins += static_cast<double>(lo - ns.begin()) + 0.5 * static_cast<double>(hi - lo);
  }
  CHECK(m1["roc_auc"].get<double>() == Approx(wins / (pos * neg)).epsilon(1e-14));
}

TEST_CASE("evaluator: pure helpers") {
  SUBCASE("roc_curve and pr_curve match sklearn's points") {
    const std::vector<std::uint8_t> y = {0, 0, 1, 1};
    const std::vector<double> p = {0.1, 0.4, 0.35, 0.8};
    const auto r = eval::roc_curve(y, p);
    CHECK(r.fpr == std::vector<double>{0, 0, 0.5, 0.5, 1});
    CHECK(r.tpr == std::vector<double>{0, 0.5, 0.5, 1, 1});
    CHECK(std::isinf(r.threshold[0]));
    const auto c = eval::pr_curve(y, p);
    CHECK(c.recall == std::vector<double>{0, 0.5, 0.5, 1, 1});
    CHECK(c.precision[2] == 0.5);
    CHECK(c.precision[4] == 0.5);
    CHECK(eval::roc_auc({1, 1}, {0.1, 0.2}) != eval::roc_auc({1, 1}, {0.1, 0.2}));  // NaN
    CHECK(eval::roc_auc({0, 1}, {0.3, 0.3}) == 0.5);
    CHECK(eval::roc_auc({0, 1}, {0.9, 0.3}) == 0.0);
  }
  SUBCASE("downsample") {
    CHECK(eval::downsample(3, 200) == std::vector<std::size_t>{0, 1, 2});
    CHECK(eval::downsample(11, 3) == std::vector<std::size_t>{0, 5, 10});
    CHECK(eval::downsample(0, 3).empty());
    const auto d = eval::downsample(1000, 200);
    CHECK(d.size() == 200);
    CHECK(d.front() == 0);
    CHECK(d.back() == 999);
    CHECK(std::is_sorted(d.begin(), d.end()));
  }
  SUBCASE("csv_field") {
    CHECK(eval::csv_field("plain") == "plain");
    CHECK(eval::csv_field("a,b") == "\"a,b\"");
    CHECK(eval::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  }
  SUBCASE("schema and parameters") {
    const auto p = params_with_defaults(spec(), {{"label", "device_type"}});
    auto lacking = pipectl::testing::schema_of(spec(), p, {pipectl::testing::schema_with({{"device_typo", DType::Categorical}})});
    CHECK(lacking.issues == std::vector<std::string>{
                                "label: names column \"device_type\", which its inputs do not provide (closest: device_typo)",
                                "needs the predictions of a trainer (column \"pred_label\"), which its inputs do not provide"});
    auto sch = pipectl::testing::schema_with({{"device_type", DType::Categorical}, {"pred_label", DType::Categorical}});
    auto ok = pipectl::testing::schema_of(spec(), p, {sch, sch});
    CHECK(ok.ok());
    CHECK(ok.schema.names() == std::vector<std::string>{"device_type", "pred_label"});
    CHECK(spec().min_inputs == 1);
    CHECK(spec().max_inputs == -1);
    CHECK_FALSE(spec().learns);
    for (const auto& p : spec().params) CHECK(p.check(p.default_value) == "");
    CHECK(spec().find("threshold")->check(json(1.5)) == "must be in [0, 1], got 1.5");
  }
}

// ------------------------------------------------------------ several workers

namespace {

struct WorkerResults {
  std::vector<json> metrics;
  std::vector<std::string> curves, predictions, reports;
};

/// Each worker of a ThreadGroup evaluates shards[rank] (inputs as given).
WorkerResults evaluate_on_workers(const std::vector<std::vector<Table>>& shards, json params = json::object()) {
  const int world = static_cast<int>(shards.size());
  WorkerResults w;
  w.metrics.resize(shards.size());
  w.curves.resize(shards.size());
  w.predictions.resize(shards.size());
  w.reports.resize(shards.size());
  testing::ThreadGroup(world).run([&](Collective& c) {
    const auto r = static_cast<std::size_t>(c.rank());
    TestContext ctx("eval");
    ctx.coll = &c;
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec(), params));
    std::vector<TablePtr> inputs;
    for (const auto& t : shards[r]) inputs.push_back(std::make_shared<const Table>(t));
    ev.run(ctx, inputs);
    w.metrics[r] = ctx.metrics;
    const std::string model = shards[r][0].meta("model");
    w.curves[r] = slurp(ctx.artifact_dir() / model / "curves.json");
    w.predictions[r] = slurp(ctx.artifact_dir() / model / "test_predictions.csv");
    w.reports[r] = ctx.reports.at(0);
  });
  return w;
}

/// Rows of `t` whose owner[i] is r.
Table rows_of(const Table& t, const std::vector<int>& owner, int r) {
  std::vector<std::uint32_t> rows;
  for (std::size_t i = 0; i < t.rows(); ++i)
    if (owner[i] == r) rows.push_back(static_cast<std::uint32_t>(i));
  return t.take(rows);
}

/// A binary model's output of n rows: scores on a grid of 0.01 (many ties,
/// across workers too), a few NULL labels, roles Train/Valid/Test.
Table big_binary(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<std::int64_t> y(n);
  std::vector<double> p(n);
  std::vector<std::uint8_t> valid(n, 1);
  std::vector<Role> roles(n);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int64_t>(g() % 3 == 0);
    const double z = std::clamp((y[i] ? 0.6 : 0.4) + 0.7 * (static_cast<double>(g() % 1000) / 1000.0 - 0.5), 0.0, 1.0);
    p[i] = std::round(z * 100.0) / 100.0;
    if (g() % 50 == 0) valid[i] = 0;
    roles[i] = g() % 4 == 0 ? Role::Train : (g() % 2 ? Role::Test : Role::Valid);
  }
  return binary_table(y, p, "xgb", roles, valid);
}

/// Every figure of `got` equals `want` exactly, log_loss to the rounding of
/// its sum (the union is summed in another order than one table's rows).
void check_same_figures(json got, json want) {
  CHECK(got["log_loss"].get<double>() == Approx(want["log_loss"].get<double>()).epsilon(1e-13));
  got.erase("log_loss");
  want.erase("log_loss");
  CHECK(got.dump() == want.dump());
}

}  // namespace

TEST_CASE("evaluator: on 3 workers every figure is that of one process on the union of their test rows") {
  const Table t = big_binary(6000, 5);
  std::mt19937_64 g(17);
  std::vector<int> owner(t.rows());
  for (auto& o : owner) o = static_cast<int>(g() % 3);  // uneven shards

  TestContext one("eval");
  eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
  ev.run(one, in({t}));
  const json single = one.metrics;
  const std::string single_curves = slurp(one.artifact_dir() / "xgb" / "curves.json");

  const WorkerResults w = evaluate_on_workers({{rows_of(t, owner, 0)}, {rows_of(t, owner, 1)}, {rows_of(t, owner, 2)}});
  for (int r = 0; r < 3; ++r) {
    CAPTURE(r);
    const json& m = w.metrics[static_cast<std::size_t>(r)];
    // The same on every worker, to the bit.
    CHECK(m.dump() == w.metrics[0].dump());
    CHECK(w.curves[static_cast<std::size_t>(r)] == w.curves[0]);
    CHECK(w.reports[static_cast<std::size_t>(r)] == w.reports[0]);
    // Exactly the single process's figures on the union.
    CHECK(m["roc_auc"].get<double>() == single["roc_auc"].get<double>());
    CHECK(m["pr_auc"].get<double>() == single["pr_auc"].get<double>());
    CHECK(m["rows"] == single["rows"]);
    CHECK(m["confusion_matrix"] == single["confusion_matrix"]);
    check_same_figures(m, single);
    // Curves of the union; per-row predictions of this worker only.
    CHECK(w.curves[static_cast<std::size_t>(r)] == single_curves);
    const Table mine = rows_of(t, owner, r);
    const auto lines = static_cast<std::size_t>(std::count(w.predictions[static_cast<std::size_t>(r)].begin(),
                                                           w.predictions[static_cast<std::size_t>(r)].end(), '\n'));
    CHECK(lines == 1 + mine.rows_with(Role::Test).size());
  }
  CHECK(single["roc_auc"].get<double>() > 0.7);  // a real figure, not a degenerate one
  CHECK(single["roc_auc"].get<double>() < 0.95);

  SUBCASE("the figures do not depend on which worker holds which rows") {
    const WorkerResults v =
        evaluate_on_workers({{rows_of(t, owner, 2)}, {rows_of(t, owner, 0)}, {rows_of(t, owner, 1)}});
    CHECK(v.metrics[0].dump() == w.metrics[0].dump());  // log_loss included
    CHECK(v.curves[1] == w.curves[0]);
  }
  SUBCASE("a worker without test rows takes part") {
    std::vector<Role> train_only(100, Role::Train);
    const Table none = big_binary(100, 9).with_roles(std::make_shared<std::vector<Role>>(train_only));
    const WorkerResults v = evaluate_on_workers({{rows_of(t, owner, 0)}, {none}});
    const Table two = rows_of(t, owner, 0);
    TestContext ref("eval");
    eval::Evaluator e2(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    e2.run(ref, in({two}));
    CHECK(v.metrics[1]["roc_auc"].get<double>() == ref.metrics["roc_auc"].get<double>());
    CHECK(v.metrics[1]["rows"] == ref.metrics["rows"]);
  }
}

TEST_CASE("evaluator: on several workers, multiclass and several models are figures of the union") {
  std::mt19937_64 g(3);
  std::vector<std::int32_t> y(900);
  std::vector<std::vector<double>> proba(900);
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<std::int32_t>(g() % 3);
    proba[i] = P[g() % P.size()];  // eight distinct rows: ties everywhere
    if (g() % 3 == 0) proba[i] = P[static_cast<std::size_t>(y[i])];
  }
  const Table t = multi_table(y, proba);
  const Table b = big_binary(900, 4);
  std::vector<int> owner(900);
  for (std::size_t i = 0; i < owner.size(); ++i) owner[i] = static_cast<int>(i % 2);
  TestContext one("eval");
  eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec(), {{"label", "kind"}}));
  ev.run(one, in({t}));

  const WorkerResults w =
      evaluate_on_workers({{rows_of(t, owner, 0)}, {rows_of(t, owner, 1)}}, {{"label", "kind"}});
  for (const auto& m : w.metrics) {
    CHECK(m["roc_auc"].get<double>() == one.metrics["roc_auc"].get<double>());
    CHECK(m["pr_auc"].get<double>() == one.metrics["pr_auc"].get<double>());
    check_same_figures(m, one.metrics);
  }
  CHECK(w.metrics[0].dump() == w.metrics[1].dump());
  CHECK(w.curves[0] == slurp(one.artifact_dir() / "mc" / "curves.json"));

  SUBCASE("two models side by side") {
    const Table other = big_binary(900, 8).with_meta("model", "other");
    TestContext both("eval");
    eval::Evaluator e2(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    e2.run(both, in({b, other}));
    const WorkerResults v = evaluate_on_workers(
        {{rows_of(b, owner, 0), rows_of(other, owner, 0)}, {rows_of(b, owner, 1), rows_of(other, owner, 1)}});
    for (const auto& m : v.metrics)
      for (const char* model : {"xgb", "other"}) {
        CHECK(m[model]["roc_auc"].get<double>() == both.metrics[model]["roc_auc"].get<double>());
        check_same_figures(m[model], both.metrics[model]);
      }
    CHECK(v.metrics[0]["xgb"]["roc_auc"] != v.metrics[0]["other"]["roc_auc"]);
  }
}

TEST_CASE("evaluator: on several workers a failure on one fails all, with its reason") {
  const Table t = big_binary(300, 2);
  std::vector<std::string> errors(3);
  testing::ThreadGroup(3).run([&](Collective& c) {
    TestContext ctx("eval");
    ctx.coll = &c;
    eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    const Table mine = c.rank() == 1 ? t.with_roles(nullptr) : t;
    try {
      ev.run(ctx, in({mine}));
    } catch (const DataError& e) {
      errors[static_cast<std::size_t>(c.rank())] = e.what();
    }
  });
  const std::string why =
      "evaluator: model \"xgb\": the table has no train/valid/test split; a splitter is needed upstream (or run in "
      "apply mode)";
  CHECK(errors[1] == why);
  CHECK(errors[0] == "evaluator: worker 1 of 3 failed: " + why);
  CHECK(errors[2] == "evaluator: worker 1 of 3 failed: " + why);
}

// ------------------------------------------------------------ intervals and devices

TEST_CASE("evaluator: DeLong's interval matches the spread of a row bootstrap, and perfect separation gives [1, 1]") {
  std::mt19937_64 g(3);
  std::normal_distribution<double> z;
  std::vector<std::uint8_t> y(2000);
  std::vector<double> s(2000);
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = g() % 3 == 0;
    s[i] = z(g) + (y[i] ? 1.0 : 0.0);
  }
  const double var = eval::delong_variance(y, s);
  // Bootstrap of rows: every row its own group.
  eval::GroupedRows rows;
  for (std::size_t i = 0; i < y.size(); ++i) rows.add(i, y[i] != 0, s[i]);
  const auto boot = eval::roc_auc_ci_groups(rows, 11, 2000);
  const auto dl = eval::roc_auc_ci_delong(y, s);
  const double auc = eval::roc_auc(y, s);
  CHECK(dl.first < auc);
  CHECK(dl.second > auc);
  CHECK(dl.second - dl.first == Approx(2 * 1.959963984540054 * std::sqrt(var)).epsilon(1e-9));
  CHECK((dl.second - dl.first) == Approx(boot.second - boot.first).epsilon(0.15));
  CHECK(eval::roc_auc_ci_delong({0, 0, 1, 1}, {0.1, 0.2, 0.8, 0.9}) == std::make_pair(1.0, 1.0));
  CHECK(std::isnan(eval::roc_auc_ci_delong({1, 1}, {0.1, 0.2}).first));
}

TEST_CASE("evaluator: a bootstrap over groups is wider than DeLong when a group's rows move together") {
  // 40 devices, 50 rows each, every row of a device near the device's own score.
  std::mt19937_64 g(8);
  std::normal_distribution<double> z;
  std::vector<std::uint8_t> y;
  std::vector<double> s;
  eval::GroupedRows rows;
  for (std::uint64_t d = 0; d < 40; ++d) {
    const bool pos = d % 3 == 0;
    const double centre = z(g) + (pos ? 1.0 : 0.0);
    for (int k = 0; k < 50; ++k) {
      const double v = centre + 0.1 * z(g);
      y.push_back(pos);
      s.push_back(v);
      rows.add(d, pos, v);
    }
  }
  const auto dl = eval::roc_auc_ci_delong(y, s);
  const auto boot = eval::roc_auc_ci_groups(rows, 1);
  CHECK(boot.second - boot.first > 2 * (dl.second - dl.first));
  CHECK(boot.first <= eval::roc_auc(y, s));
  CHECK(boot.second >= eval::roc_auc(y, s));
  // The same rows in another order and the same seed: the same interval.
  eval::GroupedRows shuffled = rows;
  std::reverse(shuffled.group.begin(), shuffled.group.end());
  std::reverse(shuffled.y.begin(), shuffled.y.end());
  std::reverse(shuffled.p.begin(), shuffled.p.end());
  CHECK(eval::roc_auc_ci_groups(shuffled, 1) == boot);
}

TEST_CASE("evaluator: device threshold from the validation devices, with the widest margin") {
  auto dev = [](double p, bool pos) {
    eval::Device d;
    d.p = p;
    d.positive = pos;
    d.rows = 1;
    return d;
  };
  // IoT devices at 0.05-0.3, others below 0.01: 0.5 would call every device "no".
  const std::vector<eval::Device> valid = {dev(0.001, false), dev(0.004, false), dev(0.008, false), dev(0.05, true),
                                           dev(0.3, true)};
  const double t = eval::choose_threshold(valid);
  CHECK(t > 0.008);
  CHECK(t < 0.05);
  // Midpoint in log-odds of the gap.
  const double mid = 0.5 * (std::log(0.008 / 0.992) + std::log(0.05 / 0.95));
  CHECK(t == Approx(1 / (1 + std::exp(-mid))));
  const json m = eval::device_metrics(valid, t);
  CHECK(m["device_accuracy"].get<double>() == 1.0);
  CHECK(eval::device_metrics(valid, 0.5)["device_accuracy"].get<double>() == Approx(0.6));
  CHECK(eval::choose_threshold({dev(0.2, true), dev(0.3, true)}) == 0.5);  // one class: the default
}

TEST_CASE("evaluator: group = device gives roc_auc_ci by groups and device verdicts at the validation threshold") {
  // 30 devices of 20 rows; IoT devices score 0.02-0.2, others 0.001-0.01: ranked right, all under 0.5.
  std::vector<std::int64_t> y;
  std::vector<double> p;
  std::vector<Role> roles;
  std::vector<std::string> mac;
  std::mt19937_64 g(4);
  for (int d = 0; d < 30; ++d) {
    const bool pos = d % 3 == 0;
    const Role r = d % 5 == 0 ? Role::Valid : (d % 5 == 1 ? Role::Valid : Role::Test);
    for (int k = 0; k < 20; ++k) {
      const double u = static_cast<double>(g() % 1000) / 1000.0;
      y.push_back(pos);
      p.push_back(pos ? 0.02 + 0.18 * u : 0.001 + 0.009 * u);
      roles.push_back(r);
      mac.push_back("aa:bb:cc:00:00:" + std::to_string(10 + d));
    }
  }
  Table t = binary_table(y, p, "xgb", roles).with(encode_strings("mac", mac));
  TestContext ctx("eval");
  eval::Evaluator ev(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec(), {{"group", "mac"}}));
  ev.run(ctx, in({t}));
  const json& m = ctx.metrics;
  REQUIRE(m["roc_auc_ci"].is_array());
  CHECK(m["roc_auc_ci"][0].get<double>() <= m["roc_auc"].get<double>());
  CHECK(m["roc_auc_ci"][1].get<double>() >= m["roc_auc"].get<double>());
  CHECK(m["roc_auc_ci_method"] == "bootstrap over mac (1000 draws)");
  CHECK(m["devices"] == 18);
  CHECK(m["valid_devices"] == 12);
  CHECK(m["device_threshold"].get<double>() < 0.05);  // between the devices: ~0.005 and ~0.07
  CHECK(m["device_threshold"].get<double>() > 0.005);
  CHECK(m["device_accuracy"].get<double>() == 1.0);
  CHECK(m["device_recall"].get<double>() == 1.0);
  CHECK(m["accuracy"].get<double>() < 0.7);  // per session at 0.5: every IoT row is "no"

  CHECK(m["roc_auc_ci_groups"] == json({{"positive", 6}, {"negative", 12}}));
  CHECK_FALSE(m.contains("roc_auc_ci_note"));
  SUBCASE("fewer test groups of a class than ci_min_groups: no interval, a note and a warning") {
    TestContext c2("eval");
    eval::Evaluator e2(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(
        spec(), {{"group", "mac"}, {"ci_min_groups", 7}}));
    e2.run(c2, in({t}));
    CHECK(c2.metrics["roc_auc_ci"].is_null());
    CHECK(c2.metrics["roc_auc_ci_note"] ==
          "too few test groups (mac) for an interval: 6 with positive rows, 12 with negative rows, needs 7 of each "
          "(ci_min_groups)");
    CHECK(c2.metrics["roc_auc"] == m["roc_auc"]);  // the figure itself stays
    CHECK(std::count_if(c2.log.begin(), c2.log.end(), [](const std::string& l) {
            return l.rfind("warn: ", 0) == 0 && l.find("roc_auc_ci: too few test groups (mac)") != std::string::npos;
          }) == 1);
  }
  SUBCASE("without a group: DeLong") {
    TestContext c2("eval");
    eval::Evaluator e2(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec()));
    e2.run(c2, in({t}));
    CHECK(c2.metrics["roc_auc_ci_method"] == "DeLong");
    CHECK(c2.metrics["roc_auc_ci"].is_array());
    CHECK_FALSE(c2.metrics.contains("device_accuracy"));
  }
  SUBCASE("on 3 workers: the same figures") {
    std::vector<int> owner(t.rows());
    for (std::size_t i = 0; i < owner.size(); ++i) owner[i] = static_cast<int>((i * 7) % 3);
    std::vector<json> got(3);
    std::mutex mu;
    testing::ThreadGroup(3).run([&](Collective& c) {
      TestContext wc("eval");
      wc.coll = &c;
      eval::Evaluator we(pipectl::testing::options_with_defaults<eval::EvaluatorOptions>(spec(), {{"group", "mac"}}));
      we.run(wc, in({rows_of(t, owner, c.rank())}));
      std::lock_guard<std::mutex> lock(mu);
      got[static_cast<std::size_t>(c.rank())] = wc.metrics;
    });
    for (const auto& w : got) {
      CHECK(w["roc_auc_ci"] == m["roc_auc_ci"]);
      CHECK(w["device_threshold"] == m["device_threshold"]);
      CHECK(w["device_accuracy"] == m["device_accuracy"]);
      CHECK(w["devices"] == m["devices"]);
    }
  }
}
