#include "normaliser.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::Normaliser;
using pipectl::plugins::normaliser_spec;
using pipectl::testing::params_with_defaults;
using pipectl::testing::options_with_defaults;
using pipectl::testing::schema_of;
using pipectl::testing::schema_with;
using pipectl::testing::TestContext;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::shared_ptr<const std::vector<Role>> roles(std::vector<Role> r) {
  return std::make_shared<const std::vector<Role>>(std::move(r));
}

// Rows 0-3 train, 4 valid, 5-6 test. Train bytes: 0, 10, NULL, 20 (-> min 0, max 20).
TablePtr make_table() {
  Table t(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", {1, 2, 3, 4, 5, 6, 7})),
      std::make_shared<const Column>(Column::make_i64("bytes", {0, 10, 99, 20, 5, 30, -10}, {1, 1, 0, 1, 1, 1, 1})),
      std::make_shared<const Column>(Column::make_i64("packets", {4, 4, 4, 4, 1, 9, 4})),
      std::make_shared<const Column>(Column::make_f64("duration", {1.0, 2.0, 3.0, kNaN, 100.0, 0.5, 2.5})),
  });
  t = t.with_roles(roles({Role::Train, Role::Train, Role::Train, Role::Train, Role::Valid, Role::Test, Role::Test}));
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

pipectl::plugins::NormaliserOptions params(const json& given) {
  return options_with_defaults<pipectl::plugins::NormaliserOptions>(normaliser_spec(), given);
}

std::vector<double> values(const Table& t, const std::string& c) { return t.at(c).f64; }

}  // namespace

TEST_CASE("normaliser: minmax fitted on train rows") {
  auto in = make_table();
  Normaliser stage(params(json::object()));
  TestContext ctx;
  Table out = stage.run(ctx, {in});
  out.check();

  SUBCASE("int64 becomes float64 and NULL stays NULL") {
    const Column& b = out.at("bytes");
    CHECK(b.type == DType::Float64);
    CHECK(b.is_null(2));
    CHECK(b.null_count() == 1);
    CHECK(b.f64[0] == 0.0);
    CHECK(b.f64[1] == 0.5);
    CHECK(b.f64[3] == 1.0);
    CHECK(b.f64[4] == 0.25);
    CHECK(b.f64[5] == 1.0);  // 30 -> 1.5, clipped
    CHECK(b.f64[6] == 0.0);  // -10 -> -0.5, clipped
  }
  SUBCASE("a column constant on train maps to 0") {
    CHECK(values(out, "packets") == std::vector<double>(7, 0.0));
  }
  SUBCASE("NaN is ignored in the fit and kept") {
    const auto d = values(out, "duration");
    CHECK(d[0] == 0.0);
    CHECK(d[1] == 0.5);
    CHECK(d[2] == 1.0);
    CHECK(std::isnan(d[3]));
    CHECK(d[4] == 1.0);
    CHECK(d[5] == 0.0);
    CHECK(d[6] == 0.75);
  }
  SUBCASE("state layout with exact doubles") {
    json st = stage.save_state(ctx.artifact_dir());
    CHECK(st.dump() ==
          R"({"clip":true,"columns":{"bytes":{"max":20.0,"min":0.0},"duration":{"max":3.0,"min":1.0},)"
          R"("packets":{"max":4.0,"min":4.0}},"log1p":false,"method":"minmax"})");
  }
  SUBCASE("roles, other columns and the input are kept") {
    CHECK(out.roles() == in->roles());
    CHECK(out.find("sessionid").get() == in->find("sessionid").get());
    CHECK(in->at("bytes").type == DType::Int64);
  }
  SUBCASE("without clipping") {
    Normaliser s2(params({{"clip", false}}));
    TestContext c2;
    Table o2 = s2.run(c2, {in});
    CHECK(o2.at("bytes").f64[5] == 1.5);
    CHECK(o2.at("bytes").f64[6] == -0.5);
  }
}

TEST_CASE("normaliser: zscore and log1p") {
  auto in = make_table();
  SUBCASE("zscore uses the population std of train rows") {
    Normaliser stage(params({{"method", "zscore"}, {"columns", json::array({"bytes", "packets"})}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    const double sd = std::sqrt(200.0 / 3.0);  // train 0, 10, 20: mean 10
    const auto b = values(out, "bytes");
    CHECK(b[0] == doctest::Approx(-10.0 / sd));
    CHECK(b[1] == 0.0);
    CHECK(b[5] == doctest::Approx(20.0 / sd));
    CHECK(values(out, "packets") == std::vector<double>(7, 0.0));  // std 0
    json st = stage.save_state(ctx.artifact_dir());
    CHECK(st["method"] == "zscore");
    CHECK(st["columns"]["bytes"]["mean"].get<double>() == 10.0);
    CHECK(st["columns"]["bytes"]["std"].get<double>() == sd);
    CHECK(st["columns"]["bytes"].size() == 2);
  }
  SUBCASE("log1p before scaling") {
    Normaliser stage(params({{"log1p", true}, {"columns", json::array({"duration"})}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    json st = stage.save_state(ctx.artifact_dir());
    CHECK(st["log1p"] == true);
    CHECK(st["columns"]["duration"]["min"].get<double>() == doctest::Approx(std::log1p(1.0)).epsilon(1e-12));
    CHECK(st["columns"]["duration"]["max"].get<double>() == doctest::Approx(std::log1p(3.0)).epsilon(1e-12));
    // Approx: the compiler folds std::log1p of constants, which may differ from the library's by an ulp.
    CHECK(values(out, "duration")[1] ==
          doctest::Approx((std::log1p(2.0) - std::log1p(1.0)) / (std::log1p(3.0) - std::log1p(1.0))).epsilon(1e-12));
  }
  SUBCASE("log1p of a negative value is a data error") {
    Normaliser stage(params({{"log1p", true}}));
    TestContext ctx;
    CHECK_THROWS_WITH_AS(stage.run(ctx, {in}), "column \"bytes\": negative value -10 at row 6; log1p needs values >= 0",
                         DataError);
  }
}

TEST_CASE("normaliser: data errors") {
  auto in = make_table();
  TestContext ctx;
  SUBCASE("no split") {
    auto plain = std::make_shared<const Table>(in->with_roles(nullptr));
    CHECK_THROWS_WITH_AS(Normaliser(params(json::object())).run(ctx, {plain}),
                         "the input has no train/valid/test roles; the normaliser fits on training rows, so a "
                         "splitter is needed upstream",
                         DataError);
  }
  SUBCASE("no train rows") {
    auto test_only = std::make_shared<const Table>(in->with_roles(roles(std::vector<Role>(7, Role::Test))));
    CHECK_THROWS_WITH_AS(Normaliser(params(json::object())).run(ctx, {test_only}),
                         "no row has the train role; the normaliser has nothing to fit on", DataError);
  }
  SUBCASE("a categorical column") {
    auto t = std::make_shared<const Table>(in->with(encode_strings("packets", {"a", "b", "c", "d", "e", "f", "g"})));
    CHECK_THROWS_WITH_AS(Normaliser(params(json::object())).run(ctx, {t}),
                         "column \"packets\" is categorical; the normaliser needs a numeric column", DataError);
  }
  SUBCASE("a column listed twice is selected once (by the schema rule, before the stage exists)") {
    const auto o = schema_of(normaliser_spec(),
                             params_with_defaults(normaliser_spec(), {{"columns", json::array({"bytes", "bytes"})}}),
                             {schema_with({{"bytes", DType::Int64}, {"packets", DType::Int64}}, true)});
    REQUIRE(o.ok());
    REQUIRE(o.resolved.size() == 1);
    CHECK(o.resolved[0].second == std::vector<std::string>{"bytes"});
  }
}

TEST_CASE("normaliser: the state is the fit of the train rows alone") {
  auto in = make_table();
  for (const char* method : {"minmax", "zscore"}) {
    Normaliser a(params({{"method", method}})), b(params({{"method", method}})), c(params({{"method", method}}));
    TestContext ca, cb, cc;
    a.run(ca, {in});
    b.run(cb, {in});
    auto train_only = std::make_shared<const Table>(
        in->take(in->rows_with(Role::Train)).with_roles(roles(std::vector<Role>(4, Role::Train))));
    c.run(cc, {train_only});
    const auto sa = a.save_state(ca.artifact_dir()).dump(2);
    CHECK(sa == b.save_state(cb.artifact_dir()).dump(2));  // byte-identical
    CHECK(sa == c.save_state(cc.artifact_dir()).dump(2));
  }
}

TEST_CASE("normaliser: apply mode uses the loaded state only") {
  auto in = make_table();
  // New data: no roles at all, values outside the training range.
  auto fresh = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("bytes", {4, 1, 9, 4, 1000})),
      std::make_shared<const Column>(Column::make_f64("duration", {2.0, 0.5, 2.5, 100.0, 1e-3}))});
  auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!((std::isnan(x[i]) && std::isnan(y[i])) || x[i] == y[i])) return false;
    return true;
  };
  for (const char* method : {"minmax", "zscore"}) {
    for (bool log1p : {false, true}) {
      INFO(method << " log1p=" << log1p);
      const auto p = params({{"method", method}, {"log1p", log1p}, {"columns", json::array({"bytes", "duration"})}});
      if (log1p) fresh = std::make_shared<const Table>(fresh->with(Column::make_i64("bytes", {4, 1, 9, 4, 1000})));
      auto fit_in = log1p ? std::make_shared<const Table>(in->with(Column::make_i64(
                                "bytes", {0, 10, 99, 20, 5, 30, 10}, {1, 1, 0, 1, 1, 1, 1})))
                          : in;
      Normaliser fitted(p);
      TestContext fit_ctx;
      Table fit_out = fitted.run(fit_ctx, {fit_in});
      const json state = json::parse(fitted.save_state(fit_ctx.artifact_dir()).dump(2));  // as the runner stores it

      Normaliser applied(p);
      applied.load_state(state, fit_ctx.artifact_dir());
      TestContext apply_ctx("stage", Mode::Apply);
      Table a = applied.run(apply_ctx, {fresh});
      TestContext fitted_apply_ctx("stage", Mode::Apply);
      Table f = fitted.run(fitted_apply_ctx, {fresh});
      CHECK(same(values(a, "bytes"), values(f, "bytes")));
      CHECK(same(values(a, "duration"), values(f, "duration")));
      // Not refitted on the new rows: 1000 is far outside the training range.
      if (std::string(method) == "zscore") CHECK(values(a, "bytes")[4] > 3.0);
      if (std::string(method) == "minmax") CHECK(values(a, "bytes")[4] == 1.0);

      auto fit_rows = std::make_shared<const Table>(fit_in->with_roles(nullptr));
      Normaliser applied2(p);
      applied2.load_state(state, {});
      TestContext apply_ctx2("stage", Mode::Apply);
      Table a2 = applied2.run(apply_ctx2, {fit_rows});
      CHECK(same(values(a2, "bytes"), values(fit_out, "bytes")));
      CHECK(same(values(a2, "duration"), values(fit_out, "duration")));
      CHECK(applied2.save_state({}).dump() == state.dump());
    }
  }
  SUBCASE("apply without a state") {
    Normaliser n(params(json::object()));
    TestContext ctx("stage", Mode::Apply);
    CHECK_THROWS_WITH_AS(n.run(ctx, {in}), "normaliser: applying needs a fitted state, but none was loaded", Error);
  }
  SUBCASE("a state for other columns") {
    Normaliser n(params({{"columns", json::array({"bytes"})}}));
    json st = {{"method", "minmax"}, {"log1p", false}, {"columns", {{"packets", {{"min", 0}, {"max", 1}}}}}};
    CHECK_THROWS_WITH_AS(n.load_state(st, {}),
                         "normaliser state: column \"packets\" was fitted but the stage is not configured for it",
                         Error);
    st["columns"] = json::object();
    CHECK_THROWS_WITH_AS(n.load_state(st, {}), "normaliser state: column \"bytes\" has no fitted statistics", Error);
    st["columns"] = {{"bytes", {{"min", 0}}}};
    CHECK_THROWS_WITH_AS(n.load_state(st, {}), "normaliser state: column \"bytes\" needs a number \"max\"", Error);
  }
}

TEST_CASE("normaliser: schema and column selectors") {
  auto spec = normaliser_spec();
  CHECK(spec.learns);
  auto none = pipectl::testing::schema_of(spec, params_with_defaults(spec), {Schema{}});
  CHECK(none.issues.size() == 4);  // three columns and the split
  auto in = pipectl::testing::schema_with({{"bytes", DType::Int64}, {"packets", DType::Int64}, {"duration", DType::Float64},
                                           {"http_a", DType::Float64}, {"http_b", DType::Int64}, {"maker", DType::Categorical}}, true);
  auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec), {in});
  CHECK(o.ok());
  CHECK(o.schema.find("bytes")->type == DType::Float64);
  CHECK(o.schema.find("maker")->type == DType::Categorical);
  auto numeric = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {{"type", "numeric"}, {"exclude", {"http_*"}}}}}), {in});
  CHECK(numeric.ok());
  CHECK(numeric.resolved.at(0).second == std::vector<std::string>{"bytes", "packets", "duration"});
  auto glob = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {"http_*"}}}), {in});
  CHECK(glob.resolved.at(0).second == std::vector<std::string>{"http_a", "http_b"});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {"*"}}}), {in}).issues ==
        std::vector<std::string>{"columns: selects a column of the wrong type: maker (categorical); it takes numeric (float64 or int64) columns"});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {"ftp_*"}}}), {in}).issues ==
        std::vector<std::string>{"columns: pattern \"ftp_*\" matches no column of its inputs"});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", json::array()}}), {in}).issues ==
        std::vector<std::string>{"columns: selects no column: the list is empty"});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {"maker"}}}), {in}).issues ==
        std::vector<std::string>{"columns: selects a column of the wrong type: maker (categorical); it takes numeric (float64 or int64) columns"});
}
