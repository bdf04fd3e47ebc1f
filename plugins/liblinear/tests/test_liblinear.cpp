#include "liblinear.hpp"

#include <pipectl/features.hpp>
#include <pipectl/testing.hpp>

#include "support/synthetic.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

using namespace pipectl;
using namespace pipectl::synthetic;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

// The sessions table (tests/support/synthetic.hpp).
Table make_table(std::size_t n, LabelKind kind) { return sessions_table(n, kind); }

Params params(json given = json::object()) { return params_with_defaults(lin::liblinear_spec(), std::move(given)); }

// The stage built as the host builds it: its Options filled from `p`.
struct Lin : lin::LiblinearTrainer {
  explicit Lin(const Params& p)
      : lin::LiblinearTrainer(bind_options<lin::LiblinearOptions>(lin::liblinear_spec(), p)) {}
};

// Fit again (must match `fitted`), save, load into a fresh stage, apply:
// the probabilities must be identical.
void check_round_trip(const Params& p, const Table& t, const Table& fitted, const std::vector<std::string>& pcols) {
  TestContext fit_ctx("lin");
  Lin st(p);
  Table again = st.run(fit_ctx, in(t));
  const auto dir = fit_ctx.artifact_dir() / "state";
  const json state = st.save_state(dir);
  const json reread = json::parse(state.dump());

  TestContext apply_ctx("lin", Mode::Apply);
  Lin fresh(p);
  fresh.load_state(reread, dir);
  // Labels do not matter in Apply: blank them to prove nothing is refitted.
  const Table unlabeled = t.without(t.has("is_iot") ? "is_iot" : "device");
  Table applied = fresh.run(apply_ctx, in(unlabeled));
  for (const auto& c : pcols) {
    CHECK(applied.at(c).f64 == fitted.at(c).f64);
    CHECK(again.at(c).f64 == fitted.at(c).f64);
  }
  CHECK(applied.at("pred_label").codes == fitted.at("pred_label").codes);
  CHECK(applied.meta("model") == "lin");
  CHECK(apply_ctx.measures.contains("predict_rows_per_second"));
  CHECK_FALSE(apply_ctx.measures.contains("train_seconds"));
}

}  // namespace

TEST_CASE("liblinear: spec declares every parameter once, with defaults") {
  const PluginSpec s = lin::liblinear_spec();
  CHECK(s.learns);
  std::vector<std::string> names;
  for (const auto& p : s.params) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"label", "features", "exclude", "model", "c", "eps", "bias",
                                          "class_weight", "scale"});
  CHECK(s.find("label")->default_value == "is_iot");
  CHECK(s.find("features")->default_value == json::array());
  CHECK(s.find("exclude")->default_value == json::array({"sessionid"}));
  CHECK(s.find("model")->default_value == "logistic_regression");
  CHECK(s.find("model")->choices == std::vector<std::string>{"logistic_regression", "linear_svm"});
  CHECK(s.find("c")->default_value == 1.0);
  CHECK(s.find("eps")->default_value == 0.01);
  CHECK(s.find("bias")->default_value == 1.0);
  CHECK(s.find("class_weight")->default_value == "none");
  CHECK(s.find("scale")->default_value == true);
  CHECK(s.find("model")->check("lasso") != "");
  CHECK(s.find("c")->check(-1.0) != "");
  const auto pr = params({{"label", "device"}, {"features", {"bytes", "kind"}}});
  auto none = pipectl::testing::schema_of(s, pr, {Schema{}});
  CHECK(none.issues.size() == 4);  // the split, the label and each feature
  auto sch = pipectl::testing::schema_with({{"device", DType::Categorical}, {"bytes", DType::Float64}, {"kind", DType::Categorical}}, true);
  auto ok = pipectl::testing::schema_of(s, pr, {sch});
  CHECK(ok.ok());
  REQUIRE(ok.schema.find("pred_label"));
  CHECK(ok.schema.find("pred_label")->role == ColumnRole::Prediction);
  CHECK(ok.schema.covering("pred_proba.Camera")->role == ColumnRole::Prediction);
  CHECK(ok.schema.find("device")->role == ColumnRole::Label);
}

TEST_CASE("liblinear: parameters are validated by their declaration (before any stage exists)") {
  const auto spec = lin::liblinear_spec();
  CHECK(spec.find("c")->check(0.0) == "must be above 0, got 0");
  CHECK(spec.find("eps")->check(0) == "must be above 0, got 0");
  CHECK(spec.find("model")->check("lasso") == "must be one of \"logistic_regression\", \"linear_svm\", got \"lasso\"");
}

TEST_CASE("liblinear: binary label") {
  const Table t = make_table(3000, LabelKind::Binary);
  for (const std::string model : {"logistic_regression", "linear_svm"}) {
    CAPTURE(model);
    const Params p = params({{"model", model}});
    TestContext ctx("lin");
    Lin st(p);
    const Table out = st.run(ctx, in(t));

    SUBCASE("ranks the test rows well, probabilities in [0, 1], predictions for all rows") {
      const double a = auc(out, "is_iot", "pred_proba", Role::Test);
      std::printf("[liblinear] %s binary: test AUC %.4f, train_seconds %.4f, predict_rows_per_second %.0f\n",
                  model.c_str(), a, ctx.measures["train_seconds"].get<double>(),
                  ctx.measures["predict_rows_per_second"].get<double>());
      CHECK(a > 0.9);
      const auto& pp = out.at("pred_proba").f64;
      REQUIRE(pp.size() == t.rows());
      for (double v : pp) REQUIRE((v >= 0.0 && v <= 1.0));
      const auto& pl = out.at("pred_label");
      CHECK(*pl.dictionary == Dictionary{"no", "yes"});
      for (std::size_t i = 0; i < t.rows(); ++i) REQUIRE(pl.codes[i] == (pp[i] >= 0.5 ? 1 : 0));
      CHECK(out.meta("model") == "lin");
      CHECK(ctx.metrics["num_features"] == 2 + 3 + 3);
      CHECK(ctx.metrics["train_rows"] == static_cast<std::int64_t>(t.rows_with(Role::Train).size()));
      // The input is untouched; the output shares its columns.
      CHECK_FALSE(t.has("pred_proba"));
      CHECK(out.find("bytes") == t.find("bytes"));
    }
    SUBCASE("state layout") {
      const auto dir = ctx.artifact_dir() / "state";
      const json s = st.save_state(dir);
      CHECK(s["model"] == "model.txt");
      CHECK(std::filesystem::exists(dir / "model.txt"));
      CHECK(s["label"] == "is_iot");
      CHECK(s["classes"] == json::array({"no", "yes"}));
      CHECK(s["features"] == json::array({"bytes", "ratio", "kind", "dns"}));
      CHECK(s["feature_names"] == json::array({"bytes", "ratio", "kind=cam", "kind=plug", "kind=tv", "dns=a.example",
                                               "dns=b.example", "dns=c.example"}));
      CHECK(s["model_type"] == model);
      CHECK(s["solver"] == (model == "linear_svm" ? "L2R_L2LOSS_SVC_DUAL" : "L2R_LR"));
      CHECK(s["bias"] == 1.0);
      REQUIRE(s["scale"].size() == 8);
      // bytes divided by its max over the train rows; indicators by 1.
      double mx = 0, mr = 0;
      for (auto r : t.rows_with(Role::Train)) {
        mx = std::max(mx, std::fabs(static_cast<double>(static_cast<float>(t.at("bytes").i64[r]))));
        if (!t.at("ratio").is_null(r)) mr = std::max(mr, std::fabs(static_cast<double>(static_cast<float>(t.at("ratio").f64[r]))));
      }
      CHECK(s["scale"][0].get<double>() == mx);
      CHECK(s["scale"][1].get<double>() == mr);
      for (int j = 2; j < 8; ++j) CHECK(s["scale"][j].get<double>() == 1.0);
      if (model == "linear_svm") {
        REQUIRE(s["platt"].is_object());
        CHECK(s["platt"]["fitted_on"] == "valid");
        CHECK(s["platt"]["a"].get<double>() > 0.0);  // a higher score means "yes"
      } else {
        CHECK(s["platt"].is_null());
      }
    }
    SUBCASE("state round trip reproduces the probabilities exactly, without refitting") {
      check_round_trip(p, t, out, {"pred_proba"});
    }
    SUBCASE("same seed: identical model file and predictions") {
      TestContext ctx2("lin");
      Lin st2(p);
      const Table out2 = st2.run(ctx2, in(t));
      const json s1 = st.save_state(ctx.artifact_dir() / "a");
      const json s2 = st2.save_state(ctx2.artifact_dir() / "b");
      CHECK(s1.dump() == s2.dump());
      CHECK(slurp(ctx.artifact_dir() / "a" / "model.txt") == slurp(ctx2.artifact_dir() / "b" / "model.txt"));
      CHECK(out2.at("pred_proba").f64 == out.at("pred_proba").f64);
    }
  }
}

TEST_CASE("liblinear: multiclass label") {
  const Table t = make_table(3000, LabelKind::ThreeClass);
  for (const std::string model : {"logistic_regression", "linear_svm"}) {
    CAPTURE(model);
    const Params p = params({{"model", model}, {"label", "device"}});
    TestContext ctx("lin");
    Lin st(p);
    const Table out = st.run(ctx, in(t));
    const std::vector<std::string> pcols = {"pred_proba.low", "pred_proba.mid", "pred_proba.high"};

    SUBCASE("rows sum to 1, the arg-max is the label, and it is mostly right") {
      CHECK_FALSE(out.has("pred_proba"));
      const auto& lab = t.at("device").codes;
      const auto& pred = out.at("pred_label").codes;
      std::size_t right = 0;
      const auto test = t.rows_with(Role::Test);
      for (std::size_t i = 0; i < t.rows(); ++i) {
        double sum = 0, best = -1;
        int arg = -1;
        for (int j = 0; j < 3; ++j) {
          const double v = out.at(pcols[j]).f64[i];
          REQUIRE((v >= 0.0 && v <= 1.0));
          sum += v;
          if (v > best) best = v, arg = j;
        }
        REQUIRE(sum == doctest::Approx(1.0).epsilon(1e-5));
        REQUIRE(pred[i] == arg);
      }
      for (auto i : test) right += pred[i] == lab[i];
      const double acc = static_cast<double>(right) / static_cast<double>(test.size());
      std::printf("[liblinear] %s multiclass: test accuracy %.4f\n", model.c_str(), acc);
      CHECK(acc > 0.75);
      const json s = st.save_state(ctx.artifact_dir() / "s");
      CHECK(s["classes"] == json::array({"low", "mid", "high"}));
      CHECK(s["platt"].is_null());
    }
    SUBCASE("state round trip") { check_round_trip(p, t, out, pcols); }
  }
}

TEST_CASE("liblinear: class_weight and scale") {
  const Table t = make_table(3000, LabelKind::Imbalanced);
  auto mean_proba = [&](const Params& p) {
    TestContext ctx("lin");
    Lin st(p);
    const Table out = st.run(ctx, in(t));
    double s = 0;
    for (double v : out.at("pred_proba").f64) s += v;
    return s / static_cast<double>(t.rows());
  };
  double prevalence = 0;
  for (auto v : t.at("is_iot").i64) prevalence += static_cast<double>(v);
  prevalence /= static_cast<double>(t.rows());
  REQUIRE(prevalence < 0.2);
  SUBCASE("balanced weights raise the minority class's probabilities") {
    const double none = mean_proba(params());
    const double balanced = mean_proba(params({{"class_weight", "balanced"}}));
    CHECK(none < 0.25);
    CHECK(balanced > none + 0.1);
  }
  SUBCASE("scale = false keeps raw values and stores no divisors") {
    TestContext ctx("lin");
    Lin st(params({{"scale", false}}));
    (void)st.run(ctx, in(t));
    const json s = st.save_state(ctx.artifact_dir() / "s");
    CHECK(s["scale"] == json::array());
  }
  SUBCASE("no bias: the model has no intercept node") {
    TestContext ctx("lin");
    Lin st(params({{"bias", -1}}));
    (void)st.run(ctx, in(t));
    const json s = st.save_state(ctx.artifact_dir() / "s");
    CHECK(s["bias"] == -1.0);
    CHECK(slurp(ctx.artifact_dir() / "s" / "model.txt").find("bias -1") != std::string::npos);
  }
}

TEST_CASE("liblinear: data errors") {
  Lin st(params());
  TestContext ctx("lin");
  SUBCASE("no split") {
    Table t = make_table(200, LabelKind::Binary);
    Table bare(t.columns());
    CHECK(data_error(st, ctx, bare) ==
          "liblinear: the table has no train/valid/test split; a splitter is needed upstream");
  }
  SUBCASE("single-class label") {
    CHECK(data_error(st, ctx, make_table(300, LabelKind::AllZero)) ==
          "label column \"is_iot\" has a single class (\"no\") in the " +
              std::to_string(make_table(300, LabelKind::AllZero).rows_with(Role::Train).size()) +
              " training rows; a classifier needs at least two");
  }
  SUBCASE("missing label column") {
    Table t = make_table(100, LabelKind::Binary).without("is_iot");
    CHECK(data_error(st, ctx, t).rfind("no column \"is_iot\"", 0) == 0);
  }
  SUBCASE("infinite feature value names the column and row") {
    Table t = make_table(300, LabelKind::Binary);
    auto ratio = t.at("ratio");
    const auto train = t.rows_with(Role::Train);
    ratio.f64[train[4]] = std::numeric_limits<double>::infinity();
    t = t.with(ratio);
    CHECK(data_error(st, ctx, t) == "column \"ratio\": non-finite value inf at row " + std::to_string(train[4]));
  }
  SUBCASE("NULL labels in train rows are counted and left out") {
    Table t = make_table(600, LabelKind::Binary);
    auto lab = t.at("is_iot");
    lab.valid.assign(t.rows(), 1);
    const auto train = t.rows_with(Role::Train);
    for (int k = 0; k < 7; ++k) lab.valid[train[static_cast<std::size_t>(k)]] = 0;
    t = t.with(lab);
    const Table out = st.run(ctx, in(t));
    CHECK(ctx.counters["skipped.null_label.is_iot"] == 7);
    CHECK(out.at("pred_proba").f64.size() == t.rows());
  }
}

TEST_CASE("liblinear: apply checks the features match the fitted model") {
  const Table t = make_table(1500, LabelKind::Binary);
  TestContext ctx("lin");
  Lin st(params());
  (void)st.run(ctx, in(t));
  const auto dir = ctx.artifact_dir() / "state";
  const json state = st.save_state(dir);

  TestContext actx("lin", Mode::Apply);
  Lin fresh(params());
  SUBCASE("a category the fit did not see") {
    fresh.load_state(state, dir);
    auto kind = t.at("kind");
    kind.dictionary = std::make_shared<Dictionary>(Dictionary{"cam", "hub", "plug", "tv"});
    Table t2 = t.with(kind);
    CHECK(data_error(fresh, actx, t2) ==
          "liblinear: the features differ from the fitted model's (8 fitted, 9 now): first difference at feature 3: "
          "expected \"kind=plug\", got \"kind=hub\"");
  }
  SUBCASE("a missing feature column") {
    fresh.load_state(state, dir);
    CHECK(data_error(fresh, actx, t.without("dns")).rfind("no column \"dns\"", 0) == 0);
  }
  SUBCASE("apply without a state") {
    CHECK_THROWS_WITH_AS(fresh.run(actx, in(t)),
                         "liblinear: apply mode without a loaded model (load_state was not called)", Error);
  }
  SUBCASE("a state naming more features than the model file") {
    json bad = state;
    bad["feature_names"].push_back("extra");
    bad["scale"].push_back(1.0);
    CHECK_THROWS_WITH_AS(fresh.load_state(bad, dir),
                         "liblinear state: the model file has 8 features, the state names 9", Error);
  }
}

TEST_CASE("liblinear: when its consumers read valid and test rows only, the train rows are left NULL and counted") {
  const Table t = make_table(2000, LabelKind::Binary);
  const Params p = params();
  Lin every(p), some(p);
  TestContext all_ctx("lin"), some_ctx("lin");
  some_ctx.roles_read = {Role::Valid, Role::Test};
  const Table a = every.run(all_ctx, in(t));
  const Table b = some.run(some_ctx, in(t));
  const auto& roles = t.roles();
  std::int64_t train = 0;
  const Column& pa = a.at("pred_proba");
  const Column& pb = b.at("pred_proba");
  const Column& la = a.at("pred_label");
  const Column& lb = b.at("pred_label");
  CHECK(pa.null_count() == 0);
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (roles[i] == Role::Train) {
      ++train;
      CHECK(pb.is_null(i));
      CHECK(lb.codes[i] == -1);
    } else {
      REQUIRE_FALSE(pb.is_null(i));
      CHECK(pb.f64[i] == pa.f64[i]);  // the same model, the same value
      CHECK(lb.codes[i] == la.codes[i]);
    }
  }
  REQUIRE(train > 0);
  CHECK(pb.null_count() == static_cast<std::size_t>(train));
  CHECK(some_ctx.counters["not_predicted.role.train"] == train);
  CHECK(all_ctx.counters.count("not_predicted.role.train") == 0);
  CHECK(b.meta("predicted_rows") == std::to_string(t.rows() - static_cast<std::size_t>(train)) + " of " +
                                        std::to_string(t.rows()));
  CHECK(a.meta("predicted_rows").empty());
  b.check();
}
