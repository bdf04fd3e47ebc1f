#include "category_map.hpp"

#include <pipectl/features.hpp>
#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::category_map_spec;
using pipectl::plugins::CategoryMap;
using pipectl::plugins::top_categories;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

std::shared_ptr<const std::vector<Role>> roles(std::vector<Role> r) {
  return std::make_shared<const std::vector<Role>>(std::move(r));
}

// nullptr = NULL.
Column cat(const std::string& name, const std::vector<const char*>& v) {
  std::vector<std::string> s;
  std::vector<std::uint8_t> valid;
  for (auto* x : v) {
    s.emplace_back(x ? x : "");
    valid.push_back(x != nullptr);
  }
  return encode_strings(name, s, valid);
}

const std::vector<Role> kRoles = {Role::Train, Role::Train, Role::Train, Role::Train, Role::Train,
                                  Role::Train, Role::Valid, Role::Valid, Role::Test,  Role::Test};

// Rows 0-5 train, 6-7 valid, 8-9 test. 5353 and "Sonos" appear in no training row.
TablePtr make_table() {
  Table t(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("srcport", {443, 80, 443, 80, 8080, 0, 443, 9999, 5353, 80},
                                                      {1, 1, 1, 1, 1, 0, 1, 1, 1, 1})),
      std::make_shared<const Column>(
          cat("manufacturer", {"Apple", "Google", "Apple", "Amazon", "Google", nullptr, "Apple", "Sonos", "Sonos",
                               "Amazon"})),
      std::make_shared<const Column>(Column::make_f64("bytes", std::vector<double>(10, 1.0))),
  });
  t = t.with_roles(roles(kRoles));
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

pipectl::plugins::CategoryMapOptions params(json given) {
  if (!given.contains("columns")) given["columns"] = json::array({"srcport", "manufacturer"});
  return pipectl::testing::options_with_defaults<pipectl::plugins::CategoryMapOptions>(category_map_spec(), given);
}

std::vector<std::string> labels(const Table& t, const std::string& c) {
  std::vector<std::string> out;
  const Column& col = t.at(c);
  for (std::size_t i = 0; i < col.rows(); ++i) out.push_back(col.label(i));
  return out;
}

}  // namespace

TEST_CASE("category_map: top values fitted on train rows") {
  auto in = make_table();
  SUBCASE("defaults keep every training value") {
    CategoryMap stage(params(json::object()));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    out.check();
    CHECK(out.at("srcport").type == DType::Categorical);
    CHECK(*out.at("srcport").dictionary == Dictionary{"80", "443", "8080", "other"});  // 80 / 443 tie: by value
    CHECK(*out.at("manufacturer").dictionary == Dictionary{"Apple", "Google", "Amazon", "other"});
    CHECK(labels(out, "srcport") ==
          std::vector<std::string>{"443", "80", "443", "80", "8080", "other", "443", "other", "other", "80"});
    CHECK(labels(out, "manufacturer") == std::vector<std::string>{"Apple", "Google", "Apple", "Amazon", "Google",
                                                                  "other", "Apple", "other", "other", "Amazon"});
    CHECK(out.at("srcport").null_count() == 0);
    // Non-train rows that became "other": 9999, 5353 / Sonos, Sonos.
    CHECK(ctx.counters.at("mapped_to_other.srcport") == 2);
    CHECK(ctx.counters.at("mapped_to_other.manufacturer") == 2);
    CHECK(stage.save_state(ctx.artifact_dir()).dump() ==
          R"({"columns":{"manufacturer":["Apple","Google","Amazon","other"],"srcport":["80","443","8080","other"]},)"
          R"("other":"other"})");
    SUBCASE("untouched columns, roles and the input are kept") {
      CHECK(out.find("bytes").get() == in->find("bytes").get());
      CHECK(out.roles() == kRoles);
      CHECK(in->at("srcport").type == DType::Int64);
    }
  }
  SUBCASE("top_k") {
    CategoryMap stage(params({{"top_k", 1}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    CHECK(*out.at("srcport").dictionary == Dictionary{"80", "other"});
    CHECK(*out.at("manufacturer").dictionary == Dictionary{"Apple", "other"});
    CHECK(ctx.counters.at("mapped_to_other.srcport") == 3);
  }
  SUBCASE("min_frequency") {
    CategoryMap stage(params({{"min_frequency", 2}, {"other", "rare"}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    CHECK(*out.at("srcport").dictionary == Dictionary{"80", "443", "rare"});
    CHECK(*out.at("manufacturer").dictionary == Dictionary{"Apple", "Google", "rare"});
    CHECK(labels(out, "manufacturer")[3] == "rare");
  }
}

TEST_CASE("category_map: the state is the fit of the train rows alone") {
  auto in = make_table();
  auto train_only = std::make_shared<const Table>(
      in->take(in->rows_with(Role::Train)).with_roles(roles(std::vector<Role>(6, Role::Train))));
  for (int k : {1, 2, 20}) {
    CategoryMap a(params({{"top_k", k}})), b(params({{"top_k", k}}));
    TestContext ca, cb;
    a.run(ca, {in});
    b.run(cb, {train_only});
    CHECK(a.save_state({}).dump(2) == b.save_state({}).dump(2));
  }
  SUBCASE("the helper sees only the given rows") {
    const Column& m = in->at("manufacturer");
    CHECK(top_categories(m, {6, 7, 8}, 5, 1, "other") == std::vector<std::string>{"Sonos", "Apple"});
    CHECK(top_categories(m, {7, 8}, 5, 1, "Sonos").empty());  // a value named like `other` is never kept
  }
}

TEST_CASE("category_map: apply mode uses the loaded state only") {
  auto in = make_table();
  const auto p = params({{"top_k", 2}});
  CategoryMap fitted(p);
  TestContext fit_ctx;
  fitted.run(fit_ctx, {in});
  const json state = json::parse(fitted.save_state(fit_ctx.artifact_dir()).dump(2));

  // New data, no roles, with a dictionary in another order and new values.
  auto fresh = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("srcport", {5353, 443, 80, 8080})),
      std::make_shared<const Column>(cat("manufacturer", {"Sonos", "Google", nullptr, "Apple"}))});
  CategoryMap applied(p);
  applied.load_state(state, {});
  TestContext ca("stage", Mode::Apply), cf("stage", Mode::Apply);
  Table a = applied.run(ca, {fresh});
  Table f = fitted.run(cf, {fresh});
  CHECK(labels(a, "srcport") == std::vector<std::string>{"other", "443", "80", "other"});
  CHECK(labels(a, "manufacturer") == std::vector<std::string>{"other", "Google", "other", "Apple"});
  CHECK(labels(a, "srcport") == labels(f, "srcport"));
  CHECK(labels(a, "manufacturer") == labels(f, "manufacturer"));
  CHECK(*a.at("srcport").dictionary == *f.at("srcport").dictionary);
  CHECK(ca.counters.at("mapped_to_other.srcport") == 2);  // no roles: every row counts
  CHECK(applied.save_state({}).dump() == state.dump());

  SUBCASE("apply without a state") {
    CategoryMap c(p);
    TestContext ctx("stage", Mode::Apply);
    CHECK_THROWS_WITH_AS(c.run(ctx, {fresh}), "category_map: applying needs a fitted state, but none was loaded",
                         Error);
  }
  SUBCASE("bad states") {
    CategoryMap c(p);
    json bad = state;
    bad["columns"]["srcport"] = json::array({"80", "443"});
    CHECK_THROWS_WITH_AS(c.load_state(bad, {}),
                         "category_map state: column \"srcport\" must end with the other category \"other\"", Error);
    bad = state;
    bad["columns"].erase("manufacturer");
    CHECK_THROWS_WITH_AS(c.load_state(bad, {}), "category_map state: column \"manufacturer\" has no fitted categories",
                         Error);
  }
}

TEST_CASE("category_map: data errors and contract") {
  auto in = make_table();
  TestContext ctx;
  CHECK_THROWS_WITH_AS(CategoryMap(params({{"columns", json::array({"bytes"})}})).run(ctx, {in}),
                       "column \"bytes\" is float64; category_map needs an int64 or categorical column", DataError);
  auto plain = std::make_shared<const Table>(in->with_roles(nullptr));
  CHECK_THROWS_WITH_AS(CategoryMap(params(json::object())).run(ctx, {plain}),
                       "the input has no train/valid/test roles; category_map fits on training rows, so a splitter "
                       "is needed upstream",
                       DataError);
  auto spec = category_map_spec();
  auto none = pipectl::testing::schema_of(spec, params_with_defaults(spec), {Schema{}});
  CHECK(none.issues.size() == 4);  // three columns and the split
  auto sch = pipectl::testing::schema_with({{"srcport", DType::Int64}, {"dstport", DType::Int64}, {"manufacturer", DType::Float64}}, true);
  auto wrong = pipectl::testing::schema_of(spec, params_with_defaults(spec), {sch});
  CHECK(wrong.issues == std::vector<std::string>{"columns: selects a column of the wrong type: manufacturer (float64); it takes int64 or categorical columns"});
  auto ok = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"columns", {{"type", "int64"}}}}), {sch});
  CHECK(ok.ok());
  CHECK(ok.resolved.at(0).second == std::vector<std::string>{"srcport", "dstport"});
  CHECK(ok.schema.find("srcport")->type == DType::Categorical);
  CHECK(spec.learns);
}

TEST_CASE("category_map: native = true marks the mapped columns as native categorical features, in fit and apply") {
  for (bool native : {false, true}) {
    CAPTURE(native);
    CategoryMap fit(params({{"native", native}}));
    TestContext ctx("categories");
    const Table out = fit.run(ctx, {make_table()});
    for (const char* c : {"srcport", "manufacturer"})
      CHECK(out.meta(native_categorical_key(c)) == (native ? "1" : ""));
    CHECK(out.meta(native_categorical_key("bytes")).empty());
    // The codes are the same either way: only the mark differs.
    CategoryMap other(params({{"native", !native}}));
    TestContext octx("categories");
    CHECK(other.run(octx, {make_table()}).at("srcport").codes == out.at("srcport").codes);
    CategoryMap apply(params({{"native", native}}));
    apply.load_state(fit.save_state({}), {});
    TestContext actx("categories", Mode::Apply);
    const Table applied = apply.run(actx, {make_table()});
    CHECK(applied.meta(native_categorical_key("manufacturer")) == (native ? "1" : ""));
  }
}
