#include "mlp.hpp"

#include <pipectl/features.hpp>
#include <pipectl/testing.hpp>

#include "support/synthetic.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>

using namespace pipectl;
using namespace pipectl::synthetic;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

// The sessions table (tests/support/synthetic.hpp), its label with an
// interaction a linear model cannot see.
Table make_table(std::size_t n, LabelKind kind) { return sessions_table(n, kind, /*interaction=*/true); }

Params params(json given = json::object()) { return params_with_defaults(mlp::mlp_spec(), std::move(given)); }

// The stage built as the host builds it: its Options filled from `p`.
struct Mlp : mlp::MlpTrainer {
  explicit Mlp(const Params& p) : mlp::MlpTrainer(bind_options<mlp::MlpOptions>(mlp::mlp_spec(), p)) {}
};

// Save the fitted stage, load into a fresh one, apply to the table without
// its label: the probabilities must be identical.
void check_round_trip(mlp::MlpTrainer& st, TestContext& ctx, const Params& p, const Table& t, const Table& fitted,
                      const std::vector<std::string>& pcols) {
  const auto dir = ctx.artifact_dir() / "state";
  const json reread = json::parse(st.save_state(dir).dump());
  TestContext apply_ctx("net", Mode::Apply);
  Mlp fresh(p);
  fresh.load_state(reread, dir);
  const Table unlabeled = t.without(t.has("is_iot") ? "is_iot" : "device");
  const Table applied = fresh.run(apply_ctx, in(unlabeled));
  for (const auto& c : pcols) CHECK(applied.at(c).f64 == fitted.at(c).f64);
  CHECK(applied.at("pred_label").codes == fitted.at("pred_label").codes);
  CHECK(applied.meta("model") == "net");
  CHECK(apply_ctx.measures.contains("predict_rows_per_second"));
  CHECK_FALSE(apply_ctx.measures.contains("train_seconds"));
}

}  // namespace

TEST_CASE("mlp: spec declares every parameter once, with defaults") {
  const PluginSpec s = mlp::mlp_spec();
  CHECK(s.learns);
  std::vector<std::string> names;
  for (const auto& p : s.params) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"label", "features", "exclude", "hidden", "activation", "train_method",
                                          "max_iter", "epsilon", "learning_rate", "seed", "balance"});
  CHECK(s.find("label")->default_value == "is_iot");
  CHECK(s.find("features")->default_value == json::array());
  CHECK(s.find("exclude")->default_value == json::array({"sessionid"}));
  CHECK(s.find("hidden")->default_value == "32,16");
  CHECK(s.find("activation")->default_value == "sigmoid_sym");
  CHECK(s.find("activation")->choices == std::vector<std::string>{"sigmoid_sym", "relu", "leakyrelu"});
  CHECK(s.find("train_method")->default_value == "rprop");
  CHECK(s.find("train_method")->choices == std::vector<std::string>{"rprop", "backprop"});
  CHECK(s.find("max_iter")->default_value == 300);
  CHECK(s.find("epsilon")->default_value == 1e-4);
  CHECK(s.find("learning_rate")->default_value == 0.001);
  CHECK(s.find("seed")->default_value == -1);
  CHECK(s.find("balance")->default_value == true);
  CHECK(s.find("max_iter")->check(0) != "");
  const auto pr = params({{"label", "device"}, {"features", {"bytes"}}});
  auto none = pipectl::testing::schema_of(s, pr, {Schema{}});
  CHECK(none.issues.size() == 3);  // the split, the label and each feature
  auto sch = pipectl::testing::schema_with({{"device", DType::Categorical}, {"bytes", DType::Float64}, {"kind", DType::Categorical}}, true);
  auto ok = pipectl::testing::schema_of(s, pr, {sch});
  CHECK(ok.ok());
  REQUIRE(ok.schema.find("pred_label"));
  CHECK(ok.schema.find("pred_label")->role == ColumnRole::Prediction);
  CHECK(ok.schema.covering("pred_proba.Camera")->role == ColumnRole::Prediction);
  CHECK(ok.schema.find("device")->role == ColumnRole::Label);
}

TEST_CASE("mlp: hidden layer sizes") {
  CHECK(mlp::parse_hidden("32,16") == std::vector<int>{32, 16});
  CHECK(mlp::parse_hidden(" 8 , 4 ") == std::vector<int>{8, 4});
  CHECK(mlp::parse_hidden("64") == std::vector<int>{64});
  CHECK(mlp::parse_hidden("") == std::vector<int>{});
  const std::string msg =
      "parameter \"hidden\" must be a comma-separated list of layer sizes, each an integer in [2, 4096] (e.g. "
      "\"32,16\"), got ";
  for (const std::string bad : {"32,x", "32,,16", "1", "5000", "-4", "3.5", "32,", "99999999999"})
    CHECK_THROWS_WITH_AS(mlp::parse_hidden(bad), (msg + "\"" + bad + "\"").c_str(), Error);
  // Reported by the schema rule under the parameter, and by their declarations, before any stage exists.
  const auto spec = mlp::mlp_spec();
  const auto issues = pipectl::testing::schema_of(spec, params({{"hidden", "32,x"}}), {Schema{}}).issues;
  REQUIRE_FALSE(issues.empty());
  CHECK(issues[0] == "hidden: must be a comma-separated list of layer sizes, each an integer in [2, 4096] (e.g. "
                     "\"32,16\"), got \"32,x\"");
  CHECK(spec.find("learning_rate")->check(0) == "must be above 0, got 0");
  CHECK(spec.find("activation")->check("tanh") ==
        "must be one of \"sigmoid_sym\", \"relu\", \"leakyrelu\", got \"tanh\"");
}

TEST_CASE("mlp: pure helpers") {
  SUBCASE("standardisation over present numeric values; indicators untouched") {
    FeatureMatrix m;
    m.rows = 3;
    m.cols = 2;
    m.names = {"x", "k=a"};
    m.indptr = {0, 2, 3, 4};
    m.indices = {0, 1, 0, 1};  // row 2 has x missing
    m.values = {1.0f, 1.0f, 3.0f, 1.0f};
    std::vector<double> mean, sd;
    mlp::standardisation(m, {true, false}, mean, sd);
    CHECK(mean == std::vector<double>{2.0, 0.0});
    CHECK(sd == std::vector<double>{1.0, 1.0});
    const auto d = mlp::dense_inputs(m, {2.0, 0.0}, {0.5, 1.0});
    CHECK(d == std::vector<float>{-2.0f, 1.0f, 2.0f, 0.0f, 0.0f, 1.0f});
  }
  SUBCASE("balance factors") {
    CHECK(mlp::balance_factors({900, 300}) == std::vector<int>{1, 3});
    CHECK(mlp::balance_factors({100, 0, 40}) == std::vector<int>{1, 0, 3});  // 2.5 rounds away from zero
    CHECK(mlp::balance_factors({50, 50}) == std::vector<int>{1, 1});
  }
  SUBCASE("outputs to probabilities") {
    const float out[] = {-1.0f, 1.0f, 0.0f, 0.0f, -2.0f, -3.0f, 0.5f, 0.0f, 1.5f, -1.5f};
    const auto p = mlp::outputs_to_proba(out, 5, 2, -1.0, 1.0);
    CHECK(p == std::vector<double>{0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.6, 0.4, 1.0, 0.0});
    const float three[] = {0.2f, 0.6f, 0.2f};
    const auto q = mlp::outputs_to_proba(three, 1, 3, 0.0, 1.0);
    CHECK(q[0] == doctest::Approx(0.2));
    CHECK(q[1] == doctest::Approx(0.6));
  }
}

TEST_CASE("mlp: binary label") {
  const Table t = make_table(3000, LabelKind::Binary);
  const Params p = params();
  TestContext ctx("net");
  Mlp st(p);
  const Table out = st.run(ctx, in(t));

  SUBCASE("ranks the test rows well, probabilities in [0, 1], predictions for all rows") {
    const double a = auc(out, "is_iot", "pred_proba", Role::Test);
    std::printf("[mlp] sigmoid_sym/rprop binary: test AUC %.4f, train_seconds %.3f, predict_rows_per_second %.0f\n", a,
                ctx.measures["train_seconds"].get<double>(), ctx.measures["predict_rows_per_second"].get<double>());
    CHECK(a > 0.9);
    const auto& pp = out.at("pred_proba").f64;
    REQUIRE(pp.size() == t.rows());
    for (double v : pp) REQUIRE((v >= 0.0 && v <= 1.0));
    const auto& pl = out.at("pred_label");
    CHECK(*pl.dictionary == Dictionary{"no", "yes"});
    for (std::size_t i = 0; i < t.rows(); ++i) REQUIRE(pl.codes[i] == (pp[i] >= 0.5 ? 1 : 0));
    CHECK(out.meta("model") == "net");
    CHECK(ctx.metrics["num_features"] == 8);
    CHECK_FALSE(t.has("pred_proba"));
    CHECK(out.find("bytes") == t.find("bytes"));
  }
  SUBCASE("state layout") {
    const auto dir = ctx.artifact_dir() / "state";
    const json s = st.save_state(dir);
    CHECK(s["model"] == "model.yml");
    CHECK(std::filesystem::exists(dir / "model.yml"));
    CHECK(s["label"] == "is_iot");
    CHECK(s["classes"] == json::array({"no", "yes"}));
    CHECK(s["features"] == json::array({"bytes", "ratio", "kind", "dns"}));
    CHECK(s["feature_names"] == json::array({"bytes", "ratio", "kind=cam", "kind=plug", "kind=tv", "dns=a.example",
                                             "dns=b.example", "dns=c.example"}));
    CHECK(s["layers"] == json::array({8, 32, 16, 2}));
    CHECK(s["activation"] == "sigmoid_sym");
    CHECK(s["train_method"] == "rprop");
    CHECK(s["targets"] == json::array({-1.0, 1.0}));
    CHECK(s["seed"] == 42);  // TestContext's stage seed
    REQUIRE(s["mean"].size() == 8);
    REQUIRE(s["std"].size() == 8);
    CHECK(s["mean"][0].get<double>() == doctest::Approx(200000.0).epsilon(0.01));
    CHECK(s["std"][0].get<double>() == doctest::Approx(60000.0).epsilon(0.05));
    for (int j = 2; j < 8; ++j) CHECK(s["mean"][j] == 0.0);
    for (int j = 2; j < 8; ++j) CHECK(s["std"][j] == 1.0);
  }
  SUBCASE("state round trip reproduces the probabilities exactly, without refitting") {
    check_round_trip(st, ctx, p, t, out, {"pred_proba"});
  }
  SUBCASE("same seed: identical model file and predictions; another seed: another model") {
    TestContext ctx2("net");
    Mlp st2(p);
    const Table out2 = st2.run(ctx2, in(t));
    const json s1 = st.save_state(ctx.artifact_dir() / "a");
    const json s2 = st2.save_state(ctx2.artifact_dir() / "b");
    CHECK(s1.dump() == s2.dump());
    const std::string m1 = slurp(ctx.artifact_dir() / "a" / "model.yml");
    CHECK(m1 == slurp(ctx2.artifact_dir() / "b" / "model.yml"));
    CHECK(out2.at("pred_proba").f64 == out.at("pred_proba").f64);

    TestContext ctx3("net", Mode::Fit, 7);
    Mlp st3(p);
    (void)st3.run(ctx3, in(t));
    (void)st3.save_state(ctx3.artifact_dir() / "c");
    CHECK(m1 != slurp(ctx3.artifact_dir() / "c" / "model.yml"));
    // An explicit seed overrides the stage seed.
    TestContext ctx4("net", Mode::Fit, 7);
    Mlp st4(params({{"seed", 42}}));
    (void)st4.run(ctx4, in(t));
    (void)st4.save_state(ctx4.artifact_dir() / "d");
    CHECK(m1 == slurp(ctx4.artifact_dir() / "d" / "model.yml"));
  }
}

TEST_CASE("mlp: every activation and training method learns") {
  const Table t = make_table(3000, LabelKind::Binary);
  struct Case {
    const char* activation;
    const char* method;
    double lr;
  };
  for (const Case c : {Case{"relu", "rprop", 0.001}, Case{"leakyrelu", "rprop", 0.001},
                       Case{"sigmoid_sym", "backprop", 0.001}, Case{"leakyrelu", "backprop", 0.001}}) {
    CAPTURE(c.activation);
    CAPTURE(c.method);
    const Params p = params({{"activation", c.activation}, {"train_method", c.method}, {"learning_rate", c.lr},
                             {"max_iter", 100}});
    TestContext ctx("net");
    Mlp st(p);
    const Table out = st.run(ctx, in(t));
    const double a = auc(out, "is_iot", "pred_proba", Role::Test);
    std::printf("[mlp] %s/%s binary (max_iter 100): test AUC %.4f, train_seconds %.3f\n", c.activation, c.method, a,
                ctx.measures["train_seconds"].get<double>());
    CHECK(a > 0.9);
    for (double v : out.at("pred_proba").f64) REQUIRE((v >= 0.0 && v <= 1.0));
    check_round_trip(st, ctx, p, t, out, {"pred_proba"});
  }
}

TEST_CASE("mlp: multiclass label") {
  const Table t = make_table(3000, LabelKind::ThreeClass);
  const Params p = params({{"label", "device"}});
  TestContext ctx("net");
  Mlp st(p);
  const Table out = st.run(ctx, in(t));
  const std::vector<std::string> pcols = {"pred_proba.low", "pred_proba.mid", "pred_proba.high"};

  SUBCASE("rows sum to 1, the arg-max is the label, and it is mostly right") {
    CHECK_FALSE(out.has("pred_proba"));
    const auto& lab = t.at("device").codes;
    const auto& pred = out.at("pred_label").codes;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      double sum = 0, best = -1;
      int arg = -1;
      for (int j = 0; j < 3; ++j) {
        const double v = out.at(pcols[static_cast<std::size_t>(j)]).f64[i];
        REQUIRE((v >= 0.0 && v <= 1.0));
        sum += v;
        if (v > best) best = v, arg = j;
      }
      REQUIRE(sum == doctest::Approx(1.0).epsilon(1e-5));
      REQUIRE(pred[i] == arg);
    }
    std::size_t right = 0;
    const auto test = t.rows_with(Role::Test);
    for (auto i : test) right += pred[i] == lab[i];
    const double acc = static_cast<double>(right) / static_cast<double>(test.size());
    std::printf("[mlp] multiclass: test accuracy %.4f, train_seconds %.3f\n", acc,
                ctx.measures["train_seconds"].get<double>());
    CHECK(acc > 0.75);
    const json s = st.save_state(ctx.artifact_dir() / "s");
    CHECK(s["classes"] == json::array({"low", "mid", "high"}));
    CHECK(s["layers"] == json::array({8, 32, 16, 3}));
  }
  SUBCASE("state round trip") { check_round_trip(st, ctx, p, t, out, pcols); }
}

TEST_CASE("mlp: balance") {
  const Table t = make_table(3000, LabelKind::Imbalanced);
  std::size_t pos = 0, neg = 0;
  for (auto r : t.rows_with(Role::Train)) (t.at("is_iot").i64[r] ? pos : neg) += 1;
  REQUIRE(pos * 4 < neg);
  struct Result {
    double mean_pos, mean_all;
    std::size_t flagged;  // rows predicted "yes"
  };
  auto fit = [&](bool balance, TestContext& ctx) {
    Mlp st(params({{"balance", balance}, {"max_iter", 100}}));
    const Table out = st.run(ctx, in(t));
    const auto& p = out.at("pred_proba").f64;
    const auto& y = t.at("is_iot").i64;
    Result r{0, 0, 0};
    double npos = 0;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      r.mean_all += p[i];
      if (y[i]) r.mean_pos += p[i], npos += 1;
      r.flagged += p[i] >= 0.5;
    }
    r.mean_pos /= npos;
    r.mean_all /= static_cast<double>(t.rows());
    std::printf("[mlp] balance %s: mean proba %.4f (positives %.4f), %zu rows flagged, test AUC %.4f\n",
                balance ? "on" : "off", r.mean_all, r.mean_pos, r.flagged, auc(out, "is_iot", "pred_proba", Role::Test));
    return r;
  };
  TestContext c1("net"), c2("net");
  const Result off = fit(false, c1), on = fit(true, c2);
  const auto factor = static_cast<std::int64_t>(std::llround(static_cast<double>(neg) / static_cast<double>(pos)));
  CHECK(c1.metrics["train_rows_balanced"] == static_cast<std::int64_t>(pos + neg));
  CHECK(c2.metrics["train_rows_balanced"] == static_cast<std::int64_t>(neg) + factor * static_cast<std::int64_t>(pos));
  // Balanced training moves probability towards the minority class.
  CHECK(on.mean_all > off.mean_all + 0.02);
  CHECK(on.mean_pos > off.mean_pos + 0.03);
  CHECK(on.flagged > off.flagged + off.flagged / 5);
}

TEST_CASE("mlp: data errors") {
  Mlp st(params({{"max_iter", 20}}));
  TestContext ctx("net");
  SUBCASE("no split") {
    const Table t = make_table(200, LabelKind::Binary);
    CHECK(data_error(st, ctx, Table(t.columns())) ==
          "mlp: the table has no train/valid/test split; a splitter is needed upstream");
  }
  SUBCASE("single-class label") {
    const Table t = make_table(300, LabelKind::AllZero);
    CHECK(data_error(st, ctx, t) == "label column \"is_iot\" has a single class (\"no\") in the " +
                                        std::to_string(t.rows_with(Role::Train).size()) +
                                        " training rows; a classifier needs at least two");
  }
  SUBCASE("infinite feature value names the column and row") {
    Table t = make_table(300, LabelKind::Binary);
    auto bytes = t.at("bytes");
    Column ratio = t.at("ratio");
    const auto train = t.rows_with(Role::Train);
    ratio.f64[train[2]] = -std::numeric_limits<double>::infinity();
    ratio.valid[train[2]] = 1;
    t = t.with(ratio);
    CHECK(data_error(st, ctx, t) == "column \"ratio\": non-finite value -inf at row " + std::to_string(train[2]));
  }
  SUBCASE("NULL labels in train rows are counted and left out") {
    Table t = make_table(600, LabelKind::Binary);
    auto lab = t.at("is_iot");
    lab.valid.assign(t.rows(), 1);
    const auto train = t.rows_with(Role::Train);
    for (int k = 0; k < 5; ++k) lab.valid[train[static_cast<std::size_t>(k)]] = 0;
    t = t.with(lab);
    const Table out = st.run(ctx, in(t));
    CHECK(ctx.counters["skipped.null_label.is_iot"] == 5);
    CHECK(out.at("pred_proba").f64.size() == t.rows());
  }
}

TEST_CASE("mlp: apply checks the features match the fitted model") {
  const Table t = make_table(1000, LabelKind::Binary);
  const Params p = params({{"max_iter", 30}});
  TestContext ctx("net");
  Mlp st(p);
  (void)st.run(ctx, in(t));
  const auto dir = ctx.artifact_dir() / "state";
  const json state = st.save_state(dir);
  TestContext actx("net", Mode::Apply);
  Mlp fresh(p);
  SUBCASE("a category the fit did not see") {
    fresh.load_state(state, dir);
    auto dns = t.at("dns");
    dns.dictionary = std::make_shared<Dictionary>(Dictionary{"a.example", "b.example", "c.example", "d.example"});
    CHECK(data_error(fresh, actx, t.with(dns)) ==
          "mlp: the features differ from the fitted model's (8 fitted, 9 now): first difference at feature 8: "
          "expected nothing (end), got \"dns=d.example\"");
  }
  SUBCASE("apply without a state") {
    CHECK_THROWS_WITH_AS(fresh.run(actx, in(t)), "mlp: apply mode without a loaded model (load_state was not called)",
                         Error);
  }
  SUBCASE("a state whose layers do not fit its features") {
    json bad = state;
    bad["layers"] = json::array({9, 32, 16, 2});
    CHECK_THROWS_WITH_AS(fresh.load_state(bad, dir), "mlp state: layers do not fit 8 features and 2 classes", Error);
  }
  SUBCASE("a missing model file") {
    CHECK_THROWS_WITH_AS(fresh.load_state(state, dir / "nowhere"),
                         ("mlp state: cannot load the model file " + (dir / "nowhere" / "model.yml").string()).c_str(),
                         Error);
  }
}

TEST_CASE("mlp: when its consumers read valid and test rows only, the train rows are left NULL and counted") {
  const Table t = make_table(2000, LabelKind::Binary);
  const Params p = params();
  Mlp every(p), some(p);
  TestContext all_ctx("net"), some_ctx("net");
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
