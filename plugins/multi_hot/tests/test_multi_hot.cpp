#include "multi_hot.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

using namespace pipectl;
using pipectl::plugins::multi_hot_spec;
using pipectl::plugins::MultiHot;
using pipectl::plugins::top_names;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

using Names = std::vector<std::string>;
using Row = std::optional<Names>;  // nullopt = NULL

std::shared_ptr<const std::vector<Role>> roles(std::vector<Role> r) {
  return std::make_shared<const std::vector<Role>>(std::move(r));
}

Column multi(const std::string& name, const std::vector<Row>& rows) { return testing::multi_column(name, rows); }

const std::vector<Role> kRoles = {Role::Train, Role::Train, Role::Train, Role::Train,
                                  Role::Train, Role::Valid, Role::Test,  Role::Test};

// Training document frequencies: a.com 2 (twice in row 0, counted once), b.com 2, c.com 1.
TablePtr make_table() {
  Table t(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", {0, 1, 2, 3, 4, 5, 6, 7})),
      std::make_shared<const Column>(multi("dns", {Names{"b.com", "a.com", "a.com"}, Names{"a.com", "c.com"},
                                                   Names{"b.com"}, Names{}, std::nullopt, Names{"z.com", "a.com"},
                                                   Names{"z.com"}, Names{}})),
  });
  t = t.with_roles(roles(kRoles));
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

pipectl::plugins::MultiHotOptions params(const json& given) {
  return pipectl::testing::options_with_defaults<pipectl::plugins::MultiHotOptions>(multi_hot_spec(), given);
}

// Each row's names, in code order.
std::vector<Names> rows_of(const Table& t, const std::string& col) {
  const Column& c = t.at(col);
  std::vector<Names> out;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    Names r;
    for (auto k = c.offsets[i]; k < c.offsets[i + 1]; ++k)
      r.push_back((*c.dictionary)[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])]);
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("multi_hot: vocabulary fitted on train rows") {
  auto in = make_table();
  SUBCASE("top_k, other and none") {
    MultiHot stage(params({{"top_k", 2}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    out.check();
    const Column& d = out.at("dns");
    CHECK(d.type == DType::MultiCategorical);
    CHECK(*d.dictionary == Dictionary{"a.com", "b.com", "other", "none"});
    CHECK(d.offsets == std::vector<std::int64_t>{0, 2, 4, 5, 6, 7, 9, 10, 11});
    CHECK(d.codes == std::vector<std::int32_t>{0, 1, 0, 2, 1, 3, 3, 0, 2, 2, 3});  // sorted, unique per row
    CHECK(d.valid.empty());
    CHECK(ctx.counters.at("rows.no_names") == 3);
    CHECK(ctx.counters.at("mapped_to_other.dns") == 2);  // rows 5 and 6 (z.com never in training)
    CHECK(stage.save_state({}).dump() ==
          R"({"column":"dns","none":"none","other":"other","vocabulary":["a.com","b.com","other","none"]})");
    SUBCASE("roles, other columns and the input are kept") {
      CHECK(out.roles() == kRoles);
      CHECK(out.find("sessionid").get() == in->find("sessionid").get());
      CHECK(in->at("dns").dictionary->size() == 4);
    }
  }
  SUBCASE("defaults keep every training name") {
    MultiHot stage(params(json::object()));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    CHECK(*out.at("dns").dictionary == Dictionary{"a.com", "b.com", "c.com", "other", "none"});
    CHECK(rows_of(out, "dns") == std::vector<Names>{{"a.com", "b.com"}, {"a.com", "c.com"}, {"b.com"}, {"none"},
                                                    {"none"}, {"a.com", "other"}, {"other"}, {"none"}});
  }
  SUBCASE("none disabled leaves empty rows empty") {
    MultiHot stage(params({{"none", ""}, {"other", "rest"}}));
    TestContext ctx;
    Table out = stage.run(ctx, {in});
    out.check();
    CHECK(*out.at("dns").dictionary == Dictionary{"a.com", "b.com", "c.com", "rest"});
    CHECK(rows_of(out, "dns") == std::vector<Names>{{"a.com", "b.com"}, {"a.com", "c.com"}, {"b.com"}, {}, {},
                                                    {"a.com", "rest"}, {"rest"}, {}});
    CHECK(ctx.counters.at("rows.no_names") == 3);
    CHECK(stage.save_state({})["none"] == "");
  }
}

TEST_CASE("multi_hot: document frequency and ties") {
  // A dictionary repeating a name: both codes are the same name, counted once per row.
  Column c = Column::make_multi("dns", {0, 2, 3, 4, 5}, {0, 2, 1, 2, 3},
                                std::make_shared<const Dictionary>(Dictionary{"x.org", "m.org", "x.org", "none"}));
  CHECK(top_names(c, {0, 1, 2, 3}, 10, {}) == Names{"x.org", "m.org", "none"});
  CHECK(top_names(c, {0, 1, 2, 3}, 10, {"none"}) == Names{"x.org", "m.org"});
  CHECK(top_names(c, {1, 3}, 10, {}) == Names{"m.org", "none"});  // tie at 1: by name
  CHECK(top_names(c, {1, 3}, 1, {}) == Names{"m.org"});
  CHECK(top_names(c, {}, 10, {}).empty());
  SUBCASE("a name repeated within one row counts once") {
    Column r = multi("dns", {Names{"m.org", "m.org", "m.org"}, Names{"x.org"}, Names{"x.org"}});
    CHECK(top_names(r, {0, 1, 2}, 10, {}) == Names{"x.org", "m.org"});
    CHECK(top_names(r, {0, 1, 2}, 1, {}) == Names{"x.org"});
  }
}

TEST_CASE("multi_hot: the state is the fit of the train rows alone") {
  auto in = make_table();
  auto train_only = std::make_shared<const Table>(
      in->take(in->rows_with(Role::Train)).with_roles(roles(std::vector<Role>(5, Role::Train))));
  for (int k : {1, 2, 100}) {
    MultiHot a(params({{"top_k", k}})), b(params({{"top_k", k}}));
    TestContext ca, cb;
    a.run(ca, {in});
    b.run(cb, {train_only});
    CHECK(a.save_state({}).dump(2) == b.save_state({}).dump(2));
    CHECK(a.save_state({})["vocabulary"].size() == std::min<std::size_t>(k, 3) + 2);
  }
}

TEST_CASE("multi_hot: apply mode uses the loaded state only") {
  auto in = make_table();
  const auto p = params({{"top_k", 2}});
  MultiHot fitted(p);
  TestContext fit_ctx;
  fitted.run(fit_ctx, {in});
  const json state = json::parse(fitted.save_state(fit_ctx.artifact_dir()).dump(2));

  auto fresh = std::make_shared<const Table>(std::vector<ColumnPtr>{std::make_shared<const Column>(
      multi("dns", {Names{"q.net", "b.com", "c.com", "b.com"}, std::nullopt, Names{"a.com"}, Names{"c.com"}}))});
  MultiHot applied(p);
  applied.load_state(state, {});
  TestContext ca("stage", Mode::Apply), cf("stage", Mode::Apply);
  Table a = applied.run(ca, {fresh});
  Table f = fitted.run(cf, {fresh});
  a.check();
  CHECK(rows_of(a, "dns") == std::vector<Names>{{"b.com", "other"}, {"none"}, {"a.com"}, {"other"}});
  CHECK(rows_of(a, "dns") == rows_of(f, "dns"));
  CHECK(*a.at("dns").dictionary == *f.at("dns").dictionary);
  CHECK(ca.counters.at("mapped_to_other.dns") == 2);
  CHECK(ca.counters.at("rows.no_names") == 1);
  CHECK(applied.save_state({}).dump() == state.dump());

  SUBCASE("apply without a state") {
    MultiHot m(p);
    TestContext ctx("stage", Mode::Apply);
    CHECK_THROWS_WITH_AS(m.run(ctx, {fresh}), "multi_hot: applying needs a fitted state, but none was loaded", Error);
  }
  SUBCASE("bad states") {
    MultiHot m(p);
    json bad = state;
    bad["vocabulary"] = json::array({"a.com", "other"});
    CHECK_THROWS_WITH_AS(m.load_state(bad, {}),
                         "multi_hot state: \"vocabulary\" must end with \"other\" and \"none\"", Error);
    bad = state;
    bad["column"] = "names";
    CHECK_THROWS_WITH_AS(m.load_state(bad, {}),
                         "multi_hot state: fitted on column \"names\" but the stage is configured for \"dns\"", Error);
  }
}

TEST_CASE("multi_hot: errors and schema") {
  auto in = make_table();
  TestContext ctx;
  CHECK_THROWS_WITH_AS(MultiHot(params({{"column", "sessionid"}})).run(ctx, {in}),
                       "column \"sessionid\" is int64; multi_hot needs a multi_categorical column", DataError);
  auto plain = std::make_shared<const Table>(in->with_roles(nullptr));
  CHECK_THROWS_WITH_AS(MultiHot(params(json::object())).run(ctx, {plain}),
                       "the input has no train/valid/test roles; multi_hot fits on training rows, so a splitter is "
                       "needed upstream",
                       DataError);
  auto spec = multi_hot_spec();
  // The schema: needs the multi_categorical `column` and a split.
  auto none = pipectl::testing::schema_of(spec, params_with_defaults(spec), {Schema{}});
  CHECK(none.issues == std::vector<std::string>{
                           "needs a train/valid/test split, but no splitter runs upstream",
                           "column: names column \"dns\", which its inputs do not provide (they have no columns)"});
  auto wrong = pipectl::testing::schema_of(spec, params_with_defaults(spec), {pipectl::testing::schema_with({{"dns", DType::Categorical}}, true)});
  CHECK(wrong.issues == std::vector<std::string>{"column: names column \"dns\" of type categorical; it takes multi_categorical columns"});
  auto ok = pipectl::testing::schema_of(spec, params_with_defaults(spec), {pipectl::testing::schema_with({{"dns", DType::MultiCategorical}}, true)});
  // What its constructor checked before: reported by the schema rule, under the parameter.
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"other", "x"}, {"none", "x"}}),
                                    {pipectl::testing::schema_with({{"dns", DType::MultiCategorical}}, true)})
            .issues == std::vector<std::string>{"other: and none are both \"x\""});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"other", ""}}),
                                    {pipectl::testing::schema_with({{"dns", DType::MultiCategorical}}, true)})
            .issues == std::vector<std::string>{"other: must not be empty"});
  CHECK(ok.ok());
  CHECK(ok.schema.names() == std::vector<std::string>{"dns"});
  CHECK(spec.learns);
}
