#include "xgboost.hpp"

#include <pipectl/features.hpp>
#include <pipectl/testing.hpp>

#include "support/synthetic.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace pipectl;
using pipectl::testing::TestContext;
using pipectl::testing::params_with_defaults;
using pipectl::synthetic::auc;
using pipectl::synthetic::data_error;
using pipectl::synthetic::in;
using pipectl::synthetic::slurp;
using pipectl::synthetic::SplitMix64;

namespace {

// The stage built as the host builds it: its Options filled from `p`.
struct Xgb : xgb::XGBoostTrainer {
  explicit Xgb(const Params& p)
      : xgb::XGBoostTrainer(bind_options<xgb::XGBoostOptions>(xgb::xgboost_spec(), p)) {}
};

enum class LabelKind { Separable, Noise, ThreeClass, AllZero };

// n rows: sessionid, x1, x2 (float64), port (int64), proto (categorical),
// dns (multi-categorical), the label, and a 60/20/20 train/valid/test split.
Table make_table(std::size_t n, LabelKind kind, std::uint64_t seed = 7) {
  SplitMix64 g{seed};
  std::vector<std::int64_t> sid(n), port(n), y(n);
  std::vector<double> x1(n), x2(n);
  std::vector<std::int32_t> proto(n), cls(n);
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> dns;
  auto roles = std::make_shared<std::vector<Role>>(n);
  for (std::size_t i = 0; i < n; ++i) {
    sid[i] = static_cast<std::int64_t>(1000 + i);
    x1[i] = g.normal();
    x2[i] = g.normal();
    port[i] = static_cast<std::int64_t>(g.next() % 3) * 443;
    proto[i] = static_cast<std::int32_t>(g.next() % 2);
    synthetic::draw_dns(g, dns, offsets);
    switch (kind) {
      case LabelKind::Separable: y[i] = (x1[i] + 0.5 * x2[i] > 0.2) ? 1 : 0; break;
      case LabelKind::Noise: y[i] = static_cast<std::int64_t>(g.next() % 2); break;
      case LabelKind::AllZero: y[i] = 0; break;
      case LabelKind::ThreeClass: cls[i] = x1[i] < -0.5 ? 0 : (x2[i] < 0.0 ? 1 : 2); break;
    }
    (*roles)[i] = synthetic::draw_role(g);
  }
  std::vector<Column> cols;
  cols.push_back(Column::make_i64("sessionid", sid));
  cols.push_back(Column::make_f64("x1", x1));
  cols.push_back(Column::make_f64("x2", x2));
  cols.push_back(Column::make_i64("port", port));
  cols.push_back(Column::make_cat("proto", proto, std::make_shared<Dictionary>(Dictionary{"tcp", "udp"})));
  cols.push_back(synthetic::dns_column(offsets, dns));
  if (kind == LabelKind::ThreeClass)
    cols.push_back(Column::make_cat("kind", cls, std::make_shared<Dictionary>(Dictionary{"cam", "plug", "tv"})));
  else
    cols.push_back(Column::make_i64("is_iot", y));
  return synthetic::split_table(std::move(cols), roles);
}

PluginSpec spec() { return xgb::xgboost_spec(); }

}  // namespace

TEST_CASE("xgboost: binary model on separable data") {
  const Table t = make_table(2000, LabelKind::Separable);
  Xgb st(params_with_defaults(spec(), {{"num_round", 200}, {"nthread", 2}}));
  TestContext ctx("xgb");
  const Table out = st.run(ctx, in(t));

  CHECK(out.rows() == t.rows());
  CHECK(out.has("pred_proba"));
  CHECK(out.has("pred_label"));
  CHECK(out.meta("model") == "xgb");
  CHECK(out.at("pred_label").dictionary->at(1) == "yes");
  CHECK(t.num_columns() == 7);  // input untouched
  CHECK(out.at("x1").f64.data() == t.at("x1").f64.data());  // untouched columns shared
  const double a = auc(out, "is_iot", "pred_proba", Role::Test);
  MESSAGE("test AUC " << a);
  CHECK(a > 0.95);
  for (double p : out.at("pred_proba").f64) {
    CHECK(p >= 0.0);
    CHECK(p <= 1.0);
  }

  SUBCASE("metrics and measures") {
    // 6 columns: x1, x2, port, proto=tcp/udp, dns=a/b/c (sessionid excluded)
    CHECK(ctx.metrics["num_features"] == 8);
    CHECK(ctx.metrics["best_iteration"].get<int>() == st.best_iteration());
    CHECK(ctx.metrics["boosted_rounds"].get<int>() == st.boosted_rounds());
    CHECK(ctx.metrics.contains("valid_logloss"));
    CHECK(ctx.measures.contains("train_seconds"));
    CHECK(ctx.measures.contains("predict_rows_per_second"));
    CHECK(st.feature_names() == std::vector<std::string>{"x1", "x2", "port", "proto=tcp", "proto=udp",
                                                         "dns=a.example", "dns=b.example", "dns=c.example"});
  }
  SUBCASE("feature importance artifact") {
    const auto fi = json::parse(slurp(ctx.artifact_dir() / "feature_importance.json"));
    CHECK(fi["importance_type"] == "gain");
    REQUIRE(fi["features"].size() == 8);
    // The label depends on x1 most.
    CHECK(fi["features"][0]["feature"] == "x1");
    CHECK(fi["features"][0]["gain"].get<double>() > 0.0);
  }
  SUBCASE("state layout") {
    const auto dir = ctx.artifact_dir() / "state";
    const json s = st.save_state(dir);
    CHECK(s["model"] == "model.json");
    CHECK(std::filesystem::exists(dir / "model.json"));
    CHECK(s["label"] == "is_iot");
    CHECK(s["classes"] == json::array({"no", "yes"}));
    CHECK(s["features"] == json::array({"x1", "x2", "port", "proto", "dns"}));
    CHECK(s["feature_names"].size() == 8);
    CHECK(s["objective"] == "binary:logistic");
    CHECK(s["best_iteration"] == st.best_iteration());
  }
}

TEST_CASE("xgboost: identical runs give byte-identical models and predictions") {
  const Table t = make_table(2000, LabelKind::Separable);
  auto fit = [&](json given, std::string& model, std::vector<double>& proba) {
    Xgb st(params_with_defaults(spec(), given));
    TestContext ctx("xgb");
    const Table out = st.run(ctx, in(t));
    proba = out.at("pred_proba").f64;
    const json s = st.save_state(ctx.artifact_dir());
    model = slurp(ctx.artifact_dir() / "model.json");
    return s.dump();
  };
  std::string m1, m2;
  std::vector<double> p1, p2;
  SUBCASE("same seed, boosted, subsampled") {
    const json g = {{"num_round", 60}, {"subsample", 0.7}, {"colsample_bytree", 0.8}, {"nthread", 2}};
    const auto s1 = fit(g, m1, p1);
    const auto s2 = fit(g, m2, p2);
    CHECK(s1 == s2);
    CHECK(m1.size() > 1000);
    CHECK(m1 == m2);
    CHECK(p1 == p2);
  }
  SUBCASE("same seed, forest") {
    const json g = {{"mode", "forest"}, {"forest_trees", 20}, {"nthread", 2}};
    fit(g, m1, p1);
    fit(g, m2, p2);
    CHECK(m1 == m2);
    CHECK(p1 == p2);
  }
  SUBCASE("nthread 1 and 2 (hist) give identical predictions") {
    fit({{"num_round", 60}, {"subsample", 0.7}, {"nthread", 1}}, m1, p1);
    fit({{"num_round", 60}, {"subsample", 0.7}, {"nthread", 2}}, m2, p2);
    CHECK(p1 == p2);
  }
  SUBCASE("a different seed gives a different subsampled model") {
    fit({{"num_round", 30}, {"subsample", 0.5}, {"seed", 1}}, m1, p1);
    fit({{"num_round", 30}, {"subsample", 0.5}, {"seed", 2}}, m2, p2);
    CHECK(p1 != p2);
  }
}

TEST_CASE("xgboost: multiclass writes one probability column per class") {
  const Table t = make_table(1500, LabelKind::ThreeClass);
  SUBCASE("boosted") {
    Xgb st(params_with_defaults(spec(), {{"label", "kind"}, {"num_round", 80}, {"nthread", 2}}));
    TestContext ctx("xgbm");
    const Table out = st.run(ctx, in(t));
    REQUIRE(out.has("pred_proba.cam"));
    REQUIRE(out.has("pred_proba.plug"));
    REQUIRE(out.has("pred_proba.tv"));
    CHECK_FALSE(out.has("pred_proba"));
    const auto& a = out.at("pred_proba.cam").f64;
    const auto& b = out.at("pred_proba.plug").f64;
    const auto& c = out.at("pred_proba.tv").f64;
    std::size_t correct = 0;
    const auto& y = t.at("kind").codes;
    const auto& pl = out.at("pred_label");
    CHECK(*pl.dictionary == Dictionary{"cam", "plug", "tv"});
    for (std::size_t i = 0; i < out.rows(); ++i) {
      CHECK(a[i] + b[i] + c[i] == doctest::Approx(1.0).epsilon(1e-6));
      correct += pl.codes[i] == y[i];
    }
    CHECK(static_cast<double>(correct) / static_cast<double>(out.rows()) > 0.9);
    const json s = st.save_state(ctx.artifact_dir());
    CHECK(s["objective"] == "multi:softprob");
    CHECK(s["classes"] == json::array({"cam", "plug", "tv"}));
    CHECK(ctx.metrics.contains("valid_mlogloss"));
  }
  SUBCASE("forest") {
    Xgb st(params_with_defaults(spec(), {{"label", "kind"}, {"mode", "forest"}, {"forest_trees", 10}}));
    TestContext ctx("xgbf");
    const Table out = st.run(ctx, in(t));
    CHECK(st.boosted_rounds() == 1);
    CHECK(st.best_iteration() == 0);
    for (std::size_t i = 0; i < out.rows(); ++i)
      CHECK(out.at("pred_proba.cam").f64[i] + out.at("pred_proba.plug").f64[i] + out.at("pred_proba.tv").f64[i] ==
            doctest::Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("xgboost: forest mode is one round of parallel trees") {
  const Table t = make_table(2000, LabelKind::Separable);
  Xgb st(params_with_defaults(spec(), {{"mode", "forest"}, {"forest_trees", 30}}));
  TestContext ctx("rf");
  const Table out = st.run(ctx, in(t));
  CHECK(st.boosted_rounds() == 1);
  CHECK(st.best_iteration() == 0);
  CHECK(auc(out, "is_iot", "pred_proba", Role::Test) > 0.95);
}

TEST_CASE("xgboost: early stopping") {
  SUBCASE("stops well before num_round on noise, keeping the best iteration") {
    const Table t = make_table(2000, LabelKind::Noise);
    Xgb st(params_with_defaults(spec(), {{"num_round", 300}, {"early_stopping_rounds", 5}}));
    TestContext ctx("xgb");
    st.run(ctx, in(t));
    MESSAGE("rounds " << st.boosted_rounds() << ", best " << st.best_iteration());
    CHECK(st.boosted_rounds() < 300);
    CHECK(st.boosted_rounds() == st.best_iteration() + 5 + 1);
    CHECK(ctx.metrics["best_iteration"] == st.best_iteration());
  }
  SUBCASE("off: every round is boosted and the last one is used") {
    const Table t = make_table(600, LabelKind::Noise);
    Xgb st(params_with_defaults(spec(), {{"num_round", 25}, {"early_stopping_rounds", 0}}));
    TestContext ctx("xgb");
    st.run(ctx, in(t));
    CHECK(st.boosted_rounds() == 25);
    CHECK(st.best_iteration() == 24);
  }
  SUBCASE("no valid rows: early stopping off, with a warning") {
    Table t = make_table(600, LabelKind::Separable);
    auto roles = std::make_shared<std::vector<Role>>(t.roles());
    for (auto& r : *roles)
      if (r == Role::Valid) r = Role::Train;
    t = t.with_roles(roles);
    Xgb st(params_with_defaults(spec(), {{"num_round", 15}}));
    TestContext ctx("xgb");
    st.run(ctx, in(t));
    CHECK(st.boosted_rounds() == 15);
    REQUIRE(ctx.log.size() >= 1);
    CHECK(ctx.log[0] == "warn: xgboost: no labelled rows with role valid, early stopping is off");
  }
}

TEST_CASE("xgboost: state round trip reproduces the probabilities bit for bit") {
  const Table t = make_table(1500, LabelKind::Separable);
  for (const char* mode : {"boosted", "forest"}) {
    CAPTURE(mode);
    Xgb st(params_with_defaults(spec(), {{"num_round", 100}, {"mode", mode}, {"forest_trees", 15},
                                                          {"early_stopping_rounds", 3}}));
    TestContext fit_ctx("xgb");
    const Table fitted = st.run(fit_ctx, in(t));
    const auto dir = fit_ctx.artifact_dir() / "state";
    const json state = st.save_state(dir);
    if (std::string(mode) == "boosted") CHECK(st.boosted_rounds() > st.best_iteration() + 1);  // slicing matters

    // A fresh stage with other parameters: the state decides.
    Xgb st2(params_with_defaults(spec(), {{"num_round", 1}, {"label", "whatever"}}));
    st2.load_state(json::parse(state.dump()), dir);
    TestContext apply_ctx("xgb", Mode::Apply);
    // No label needed in Apply mode, and no split either.
    const Table bare = Table(t.without("is_iot").columns()).with_meta("x", "y");
    const Table applied = st2.run(apply_ctx, in(bare));
    const auto& p1 = fitted.at("pred_proba").f64;
    const auto& p2 = applied.at("pred_proba").f64;
    REQUIRE(p1.size() == p2.size());
    CHECK(std::memcmp(p1.data(), p2.data(), p1.size() * sizeof(double)) == 0);
    CHECK(applied.at("pred_label").codes == fitted.at("pred_label").codes);
    CHECK(applied.meta("model") == "xgb");
  }
}

TEST_CASE("xgboost: Apply with features that differ from the fit") {
  const Table t = make_table(800, LabelKind::Separable);
  Xgb st(params_with_defaults(spec(), {{"num_round", 10}}));
  TestContext fit_ctx("xgb");
  st.run(fit_ctx, in(t));
  const auto dir = fit_ctx.artifact_dir();
  const json state = st.save_state(dir);
  Xgb st2(params_with_defaults(spec()));
  st2.load_state(state, dir);
  TestContext ctx("xgb", Mode::Apply);

  SUBCASE("a categorical column with another dictionary") {
    const auto& p = t.at("proto");
    std::vector<std::int32_t> codes(p.codes);
    const Table t2 = t.with(Column::make_cat("proto", codes, std::make_shared<Dictionary>(Dictionary{"udp", "tcp"})));
    CHECK(data_error(st2, ctx, t2) ==
          "xgboost: the features differ from the fitted model's (8 fitted, 8 now): first difference at feature 3: "
          "expected \"proto=tcp\", got \"proto=udp\"");
  }
  SUBCASE("a category more") {
    const auto& p = t.at("dns");
    const Table t2 = t.with(Column::make_multi(
        "dns", p.offsets, p.codes,
        std::make_shared<Dictionary>(Dictionary{"a.example", "b.example", "c.example", "d.example"})));
    CHECK(data_error(st2, ctx, t2) ==
          "xgboost: the features differ from the fitted model's (8 fitted, 9 now): first difference at feature 8: "
          "expected nothing (end), got \"dns=d.example\"");
  }
  SUBCASE("a missing column") {
    CHECK(data_error(st2, ctx, t.without("x2")) ==
          "no column \"x2\" (columns: sessionid, x1, port, proto, dns, is_iot)");
  }
  SUBCASE("no state loaded") {
    Xgb st3(params_with_defaults(spec()));
    CHECK_THROWS_WITH_AS(st3.run(ctx, in(t)), "xgboost: apply mode without a loaded model (load_state was not called)",
                         Error);
  }
}

TEST_CASE("xgboost: data errors") {
  SUBCASE("single-class int64 label in the training rows") {
    const Table t = make_table(500, LabelKind::AllZero);
    Xgb st(params_with_defaults(spec(), {{"num_round", 5}}));
    TestContext ctx("xgb");
    const auto n = t.rows_with(Role::Train).size();
    CHECK(data_error(st, ctx, t) == "label column \"is_iot\" has a single class (\"no\") in the " + std::to_string(n) +
                                      " training rows; a classifier needs at least two");
  }
  SUBCASE("single-class categorical label") {
    Table t = make_table(300, LabelKind::Separable);
    t = t.with(Column::make_cat("one", std::vector<std::int32_t>(t.rows(), 0),
                                std::make_shared<Dictionary>(Dictionary{"only"})));
    Xgb st(params_with_defaults(spec(), {{"label", "one"}, {"exclude", {"is_iot", "sessionid"}}}));
    TestContext ctx("xgb");
    CHECK(data_error(st, ctx, t) == "label column \"one\" has a single class (\"only\"); a classifier needs at least two");
  }
  SUBCASE("no split") {
    const Table t = make_table(300, LabelKind::Separable).with_roles(nullptr);
    Xgb st(params_with_defaults(spec()));
    TestContext ctx("xgb");
    CHECK(data_error(st, ctx, t) == "xgboost: the table has no train/valid/test split; a splitter is needed upstream");
  }
  SUBCASE("float label") {
    Table t = make_table(300, LabelKind::Separable);
    t = t.with(Column::make_f64("is_iot", std::vector<double>(t.rows(), 1.0)));
    Xgb st(params_with_defaults(spec()));
    TestContext ctx("xgb");
    CHECK(data_error(st, ctx, t) == "label column \"is_iot\" must be int64 or categorical, it is float64");
  }
  SUBCASE("missing label column") {
    const Table t = make_table(300, LabelKind::Separable).without("is_iot");
    Xgb st(params_with_defaults(spec()));
    TestContext ctx("xgb");
    CHECK(data_error(st, ctx, t) == "no column \"is_iot\" (columns: sessionid, x1, x2, port, proto, dns)");
  }
}

TEST_CASE("xgboost: NULL labels are left out of training and counted") {
  Table t = make_table(1000, LabelKind::Separable);
  const auto& y = t.at("is_iot").i64;
  std::vector<std::uint8_t> valid(t.rows(), 1);
  std::int64_t expect = 0;
  for (std::size_t i = 0; i < t.rows(); i += 7) {
    valid[i] = 0;
    if (t.roles()[i] != Role::Test) ++expect;
  }
  t = t.with(Column::make_i64("is_iot", y, valid));
  Xgb st(params_with_defaults(spec(), {{"num_round", 20}}));
  TestContext ctx("xgb");
  const Table out = st.run(ctx, in(t));
  CHECK(ctx.counters["skipped.null_label.is_iot"] == expect);
  CHECK(out.at("pred_proba").f64.size() == t.rows());
  CHECK(std::none_of(out.at("pred_proba").f64.begin(), out.at("pred_proba").f64.end(),
                     [](double p) { return std::isnan(p); }));
}

TEST_CASE("xgboost: feature names XGBoost cannot take are sanitised, originals kept") {
  CHECK(xgb::sanitize_feature_names({"a[1]", "b<c", "a_1_", "x y", "", "ok=1"}) ==
        std::vector<std::string>{"a_1_", "b_c", "a_1_~2", "x_y", "_", "ok=1"});
  Table t = make_table(600, LabelKind::Separable);
  const auto& d = t.at("dns");
  t = t.with(Column::make_multi("dns", d.offsets, d.codes,
                                std::make_shared<Dictionary>(Dictionary{"a[0]", "b<1>", "c d"})));
  Xgb st(params_with_defaults(spec(), {{"num_round", 10}}));
  TestContext ctx("xgb");
  const Table out = st.run(ctx, in(t));
  CHECK(out.has("pred_proba"));
  const json s = st.save_state(ctx.artifact_dir());
  CHECK(s["feature_names"][5] == "dns=a[0]");
  CHECK(s["feature_names"][6] == "dns=b<1>");
  const auto fi = json::parse(slurp(ctx.artifact_dir() / "feature_importance.json"));
  std::vector<std::string> names;
  for (const auto& f : fi["features"]) names.push_back(f["feature"]);
  CHECK(std::count(names.begin(), names.end(), "dns=c d") == 1);
}

TEST_CASE("xgboost: helpers and parameters") {
  SUBCASE("parse_eval takes the last metric of the named data set") {
    std::string m;
    double v = 0;
    REQUIRE(xgb::parse_eval("[3]\tvalid-logloss:0.25", "valid", m, v));
    CHECK(m == "logloss");
    CHECK(v == 0.25);
    REQUIRE(xgb::parse_eval("[3]\ttrain-auc:0.9\tvalid-logloss:0.5\tvalid-error@0.7:0.125", "valid", m, v));
    CHECK(m == "error@0.7");
    CHECK(v == 0.125);
    CHECK_FALSE(xgb::parse_eval("[3]\ttrain-auc:0.9", "valid", m, v));
  }
  SUBCASE("metric direction") {
    CHECK(xgb::metric_maximize("auc"));
    CHECK(xgb::metric_maximize("aucpr"));
    CHECK(xgb::metric_maximize("ndcg@5"));
    CHECK_FALSE(xgb::metric_maximize("logloss"));
    CHECK_FALSE(xgb::metric_maximize("mlogloss"));
    CHECK_FALSE(xgb::metric_maximize("error"));
  }
  SUBCASE("param_text") {
    CHECK(xgb::param_text(json(2)) == "2");
    CHECK(xgb::param_text(json(0.1)) == "0.10000000000000001");
    CHECK(xgb::param_text(json("depthwise")) == "depthwise");
    CHECK(xgb::param_text(json(true)) == "true");
  }
  SUBCASE("reserved keys in params: reported by the schema rule under the parameter") {
    auto issues = [&](json given) {
      std::string all;
      for (const auto& i : pipectl::testing::schema_of(spec(), params_with_defaults(spec(), given), {Schema{}}).issues)
        if (i.rfind("params: ", 0) == 0) all += i;
      return all;
    };
    CHECK(issues({{"params", {{"eta", 0.3}}}}) ==
          "params: key \"eta\" is set by the trainer (use its own parameter, or the label for objective/num_class)");
    CHECK(issues({{"params", {{"x", {{"a", 1}}}}}}) == "params: key \"x\" expects a string, number or boolean, got object");
    CHECK(issues({{"params", {{"max_leaves", 4}}}}).empty());
  }
  SUBCASE("open interval (0, 1]: the declaration refuses it") {
    CHECK(spec().find("eta")->check(0.0) == "must be in (0, 1], got 0");
  }
  SUBCASE("unknown XGBoost parameter in params surfaces XGBoost's error with the call name") {
    const Table t = make_table(300, LabelKind::Separable);
    Xgb st(params_with_defaults(spec(), {{"num_round", 3}, {"params", {{"max_leaves", "abc"}}}}));
    TestContext ctx("xgb");
    try {
      st.run(ctx, in(t));
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).rfind("xgboost: XGBoosterUpdateOneIter failed: ", 0) == 0);
    }
  }
  SUBCASE("extra params are passed through: scale_pos_weight changes the model") {
    const Table t = make_table(600, LabelKind::Noise);
    auto run = [&](json extra) {
      Xgb st(params_with_defaults(spec(), {{"num_round", 5}, {"params", extra}}));
      TestContext ctx("xgb");
      return st.run(ctx, in(t)).at("pred_proba").f64;
    };
    const auto a = run(json::object());
    const auto b = run({{"scale_pos_weight", 3}});
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
    CHECK(mb > ma);
  }
  SUBCASE("schema") {
    const auto s = spec();
    auto none = pipectl::testing::schema_of(s, params_with_defaults(s, {{"features", {"x1", "x2"}}}), {Schema{}});
    CHECK(none.issues.size() == 4);  // the split, is_iot, x1, x2
    auto sch = pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"x1", DType::Float64}, {"x2", DType::Float64}, {"x3", DType::Categorical}}, true);
    auto ok = pipectl::testing::schema_of(s, params_with_defaults(s, {{"features", {{"type", "numeric"}}}}), {sch});
    CHECK(ok.ok());
    CHECK(ok.resolved.at(0).second == std::vector<std::string>{"x1", "x2"});
    CHECK(ok.schema.find("pred_label")->role == ColumnRole::Prediction);
    CHECK(s.learns);
    for (const auto& p : s.params) CHECK(p.check(p.default_value) == "");
  }
}

// ------------------------------------------------------------ several workers
//
// XGBoost's own Rabit collective is not joined in unit tests, so these check
// what the workers agree on through ctx.collective() before XGBoost trains.

namespace {

/// Rows i with i % world == rank of `t` (the shard of one worker).
Table shard_of(const Table& t, int world, int rank) {
  std::vector<std::uint32_t> rows;
  for (std::size_t i = 0; i < t.rows(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(world)) == rank) rows.push_back(static_cast<std::uint32_t>(i));
  return t.take(rows);
}

/// The same categorical values under a dictionary in the reverse order.
Table reversed_dictionary(const Table& t, const std::string& name) {
  const Column& c = t.at(name);
  Dictionary d(c.dictionary->rbegin(), c.dictionary->rend());
  const auto last = static_cast<std::int32_t>(d.size()) - 1;
  std::vector<std::int32_t> codes = c.codes;
  for (auto& k : codes)
    if (k >= 0) k = last - k;
  if (c.type == DType::Categorical) return t.with(Column::make_cat(name, codes, std::make_shared<Dictionary>(d)));
  return t.with(Column::make_multi(name, c.offsets, codes, std::make_shared<Dictionary>(d)));
}

/// Each worker of a ThreadGroup fits on tables[rank]; the message each one
/// failed with ("(no error)" if none).
std::vector<std::string> fit_on_workers(const std::vector<Table>& tables, json given = json::object()) {
  const int world = static_cast<int>(tables.size());
  std::vector<std::string> errors(tables.size(), "(no error)");
  testing::ThreadGroup(world).run([&](Collective& c) {
    TestContext ctx("xgb");
    ctx.coll = &c;
    json p = given;
    p["num_round"] = 5;
    Xgb st(params_with_defaults(spec(), p));
    try {
      st.run(ctx, in(tables[static_cast<std::size_t>(c.rank())]));
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(c.rank())] = e.what();
    }
  });
  return errors;
}

}  // namespace

TEST_CASE("xgboost: several workers: a categorical feature with another dictionary on one worker is refused") {
  const Table t = make_table(900, LabelKind::Separable);
  SUBCASE("categorical") {
    const auto errors = fit_on_workers({shard_of(t, 3, 0), reversed_dictionary(shard_of(t, 3, 1), "proto"), shard_of(t, 3, 2)});
    for (const auto& e : errors)
      CHECK(e == "categorical column \"proto\" has a different dictionary on each worker; map it with category_map "
                 "first or exclude it");
  }
  SUBCASE("multi-valued") {
    const auto errors = fit_on_workers({shard_of(t, 2, 0), reversed_dictionary(shard_of(t, 2, 1), "dns")});
    for (const auto& e : errors)
      CHECK(e == "categorical column \"dns\" has a different dictionary on each worker; map it with category_map "
                 "first or exclude it");
  }
  SUBCASE("excluded, it is no feature and no obstacle") {
    const auto errors = fit_on_workers({shard_of(t, 2, 0), reversed_dictionary(shard_of(t, 2, 1), "proto")},
                                       {{"exclude", {"sessionid", "proto"}}});
    for (const auto& e : errors) CHECK(e.find("has not joined the run's Rabit tracker") != std::string::npos);
  }
  SUBCASE("a categorical label with other classes on one worker") {
    const Table k = make_table(600, LabelKind::ThreeClass);
    const auto errors =
        fit_on_workers({shard_of(k, 2, 0), reversed_dictionary(shard_of(k, 2, 1), "kind")}, {{"label", "kind"}});
    for (const auto& e : errors)
      CHECK(e == "label column \"kind\" has different classes on each worker (worker 0: \"cam\", \"plug\", \"tv\"; "
                 "worker 1: \"tv\", \"plug\", \"cam\"); give every worker the same dictionary (e.g. with category_map)");
  }
}

TEST_CASE("xgboost: several workers: tree_method exact is refused") {
  const Table t = make_table(300, LabelKind::Separable);
  const auto errors = fit_on_workers({shard_of(t, 2, 0), shard_of(t, 2, 1)}, {{"tree_method", "exact"}});
  for (const auto& e : errors)
    CHECK(e == "tree_method \"exact\" cannot train on several workers; use \"hist\" or \"approx\"");
  // One process: exact is fine.
  Xgb st(params_with_defaults(spec(), {{"tree_method", "exact"}, {"num_round", 3}}));
  TestContext ctx("xgb");
  CHECK(st.run(ctx, in(t)).has("pred_proba"));
}

TEST_CASE("xgboost: several workers: the checks of a fit hold over all workers, not each") {
  const Table t = make_table(900, LabelKind::Separable);
  const Table zeros = make_table(300, LabelKind::AllZero, 9);
  SUBCASE("one worker with a single class, one with no training rows: fine together") {
    std::vector<Role> test_only(300, Role::Test);
    const Table no_train = shard_of(t, 3, 2).with_roles(std::make_shared<std::vector<Role>>(test_only));
    const auto errors = fit_on_workers({zeros, shard_of(t, 3, 1), no_train}, {{"tree_method", "approx"}});
    // They agree, then find XGBoost alone in each process (a unit test joins no tracker).
    for (const auto& e : errors)
      CHECK(e.find("but XGBoost's collective is rank 0 of 1 (the process has not joined the run's Rabit tracker): "
                   "each worker would train a model of its own rows") != std::string::npos);
    CHECK(errors[1].find("xgboost: this is worker 1 of 3 ") == 0);
  }
  SUBCASE("a single class over all workers") {
    const auto errors = fit_on_workers({zeros, make_table(300, LabelKind::AllZero, 10)});
    const auto n = zeros.rows_with(Role::Train).size() + make_table(300, LabelKind::AllZero, 10).rows_with(Role::Train).size();
    for (const auto& e : errors)
      CHECK(e == "label column \"is_iot\" has a single class (\"no\") in the " + std::to_string(n) +
                     " training rows of the 2 workers; a classifier needs at least two");
  }
  SUBCASE("a worker that fails fails them all, with its reason") {
    const auto errors = fit_on_workers({shard_of(t, 3, 0), shard_of(t, 3, 1), shard_of(t, 3, 2).with_roles(nullptr)});
    const std::string why = "xgboost: the table has no train/valid/test split; a splitter is needed upstream";
    CHECK(errors[2] == why);
    CHECK(errors[0] == "xgboost: worker 2 of 3 failed: " + why);
    CHECK(errors[1] == "xgboost: worker 2 of 3 failed: " + why);
  }
  SUBCASE("other feature columns on one worker") {
    const auto errors = fit_on_workers({shard_of(t, 2, 0), shard_of(t, 2, 1).without("x2")});
    for (const auto& e : errors)
      CHECK(e == "xgboost: the feature columns differ between workers (worker 0: \"x1\", \"x2\", \"port\", \"proto\", "
                 "\"dns\"; worker 1: \"x1\", \"port\", \"proto\", \"dns\")");
  }
}

TEST_CASE("xgboost: several workers: hist is refused when some workers' training rows miss values and others' not") {
  // XGBoost 1.7's hist decides per worker whether the matrix is dense and
  // then hangs; approx does not.
  const Table t = make_table(600, LabelKind::Separable);
  Table holes = shard_of(t, 2, 1);
  std::vector<std::uint8_t> valid(holes.rows(), 1);
  for (std::size_t i = 0; i < valid.size(); i += 5) valid[i] = 0;
  holes = holes.with(Column::make_f64("x1", holes.at("x1").f64, valid));
  const json numeric = {{"features", {"x1", "x2"}}};
  const std::string msg =
      "tree_method \"hist\" cannot train on these workers: the training rows of worker(s) 0 have no missing value "
      "(or there are none) while the others' have some, and XGBoost 1.7's hist then waits forever; use tree_method = "
      "\"approx\"";
  for (const auto& e : fit_on_workers({shard_of(t, 2, 0), holes}, numeric)) CHECK(e == msg);
  json approx = numeric;
  approx["tree_method"] = "approx";
  for (const auto& e : fit_on_workers({shard_of(t, 2, 0), holes}, approx))
    CHECK(e.find("has not joined the run's Rabit tracker") != std::string::npos);
  SUBCASE("a worker without training rows counts as dense") {
    std::vector<Role> test_only(300, Role::Test);
    const Table none = shard_of(t, 2, 0).with_roles(std::make_shared<std::vector<Role>>(test_only));
    for (const auto& e : fit_on_workers({none, shard_of(t, 2, 1)})) CHECK(e == msg);
  }
  SUBCASE("all dense or all sparse is fine") {
    for (const auto& e : fit_on_workers({shard_of(t, 2, 0), shard_of(t, 2, 1)}, numeric))
      CHECK(e.find("has not joined the run's Rabit tracker") != std::string::npos);
  }
}

TEST_CASE("xgboost: when its consumers read valid and test rows only, the train rows are left NULL and counted") {
  const Table t = make_table(1500, LabelKind::Separable);
  const auto params = params_with_defaults(spec(), {{"num_round", 30}, {"nthread", 1}});
  Xgb every(params), some(params);
  TestContext all_ctx("xgb"), some_ctx("xgb");
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

namespace {
// A categorical column of 12 categories whose label is a non-monotone set of
// them (codes 1, 4, 7, 10): one split on the codes cannot separate them, a
// categorical (partition) split can.
Table make_categorical_table(std::size_t n, bool native) {
  SplitMix64 g{11};
  std::vector<std::int32_t> cat(n);
  std::vector<std::int64_t> y(n);
  std::vector<double> x(n);
  auto roles = std::make_shared<std::vector<Role>>(n);
  Dictionary dict;
  for (int k = 0; k < 12; ++k) dict.push_back("c" + std::to_string(k));
  for (std::size_t i = 0; i < n; ++i) {
    cat[i] = static_cast<std::int32_t>(g.next() % 12);
    x[i] = g.normal();
    y[i] = (cat[i] % 3 == 1) ? 1 : 0;
    (*roles)[i] = synthetic::draw_role(g);
  }
  std::vector<Column> cols;  // a numeric feature on each side of the categorical one
  cols.push_back(Column::make_f64("x", x));
  cols.push_back(Column::make_cat("port", cat, std::make_shared<Dictionary>(dict)));
  cols.push_back(Column::make_f64("z", x));
  cols.push_back(Column::make_i64("is_iot", y));
  Table t = synthetic::split_table(std::move(cols), roles);
  return native ? t.with_meta(native_categorical_key("port"), "1") : t;
}
}  // namespace

TEST_CASE("xgboost: a column category_map marks native is one categorical feature for XGBoost") {
  const Table t = make_categorical_table(3000, true);
  // Depth 1, one round: only a categorical split can hold the four positive categories on one side.
  const auto params =
      params_with_defaults(spec(), {{"num_round", 1}, {"max_depth", 1}, {"eta", 1.0}, {"nthread", 1},
                                    {"early_stopping_rounds", 0}});
  Xgb native(params), onehot(params);
  TestContext nctx("xgb"), octx("xgb");
  const Table n_out = native.run(nctx, in(t));
  const Table o_out = onehot.run(octx, in(make_categorical_table(3000, false)));
  CHECK(native.feature_names() == std::vector<std::string>{"x", "port", "z"});
  CHECK(onehot.feature_names().size() == 14);
  CHECK(nctx.metrics["num_features"] == 3);
  const double an = auc(n_out, "is_iot", "pred_proba", Role::Test);
  const double ao = auc(o_out, "is_iot", "pred_proba", Role::Test);
  MESSAGE("one stump: native AUC " << an << ", one-hot AUC " << ao);
  CHECK(an == doctest::Approx(1.0));
  CHECK(ao < 0.8);

  // The state names the column; the model (UBJSON: XGBoost 1.7 writes NaN,
  // which is not JSON, into a categorical split's JSON) re-applied gives the
  // same probabilities.
  const auto dir = nctx.artifact_dir() / "state";
  const json state = native.save_state(dir);
  CHECK(state["native_categorical"] == json::array({"port"}));
  CHECK(state["model"] == "model.ubj");
  const json model = json::from_ubjson(slurp(dir / "model.ubj"));
  const auto& tree = model["learner"]["gradient_booster"]["model"]["trees"][0];
  CHECK(tree["categories_nodes"].size() == 1);
  CHECK(model["learner"]["feature_types"] == json::array({"q", "c", "q"}));
  Xgb again(params_with_defaults(spec(), {}));
  again.load_state(state, dir);
  TestContext actx("xgb", Mode::Apply);
  const Table applied = again.run(actx, in(t));
  CHECK(applied.at("pred_proba").f64 == n_out.at("pred_proba").f64);

  SUBCASE("exact cannot split categories") {
    Xgb exact(params_with_defaults(spec(), {{"num_round", 1}, {"tree_method", "exact"}}));
    TestContext ectx("xgb");
    CHECK_THROWS_WITH(exact.run(ectx, in(t)),
                      "xgboost: native categorical features (\"port\") need tree_method \"hist\" or \"approx\", "
                      "not \"exact\"");
  }
}
