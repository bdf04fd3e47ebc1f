#include "splitter.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::apportion;
using pipectl::plugins::SplitRng;
using pipectl::plugins::Splitter;
using pipectl::plugins::splitter_spec;
using pipectl::plugins::SplitterOptions;
using pipectl::testing::options_with_defaults;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

// n rows: is_iot = 1 for every third row (plus NULLs when asked), kind = a/b/c
// with uneven sizes, device = a group id of 1..7 rows, all of one label.
TablePtr make_table(std::size_t n, bool label_nulls = false) {
  std::vector<std::int64_t> id(n), y(n), device(n);
  std::vector<std::uint8_t> valid;
  std::vector<std::string> kind(n);
  if (label_nulls) valid.assign(n, 1);
  std::int64_t dev = 0;
  std::size_t left_in_dev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<std::int64_t>(i);
    y[i] = (i % 3 == 0) ? 1 : 0;
    if (label_nulls && i % 10 == 7) valid[i] = 0;
    kind[i] = i % 7 == 0 ? "c" : (i % 2 ? "a" : "b");
  }
  // Devices: consecutive runs inside each label, 1..7 rows long.
  std::map<std::int64_t, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < n; ++i) by_label[y[i]].push_back(i);
  for (auto& [label, rows] : by_label) {
    for (auto r : rows) {
      if (left_in_dev == 0) {
        ++dev;
        left_in_dev = static_cast<std::size_t>(1 + dev % 7);
      }
      device[r] = dev;
      --left_in_dev;
    }
    left_in_dev = 0;
  }
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("is_iot", y, valid)),
      std::make_shared<const Column>(encode_strings("kind", kind)),
      std::make_shared<const Column>(Column::make_i64("device", device)),
      std::make_shared<const Column>(Column::make_f64("bytes", std::vector<double>(n, 1.0))),
  });
  t->check();
  return t;
}

std::vector<Role> split(const TablePtr& in, const json& given, std::uint64_t ctx_seed = 42,
                        Mode mode = Mode::Fit, TestContext* out_ctx = nullptr) {
  TestContext local("split", mode, ctx_seed);
  TestContext& ctx = out_ctx ? *out_ctx : local;
  Splitter s(options_with_defaults<SplitterOptions>(splitter_spec(), given));
  Table out = s.run(ctx, {in});
  out.check();
  REQUIRE(out.has_roles());
  CHECK(out.find("sessionid").get() == in->find("sessionid").get());
  return out.roles();
}

int idx(Role r) { return static_cast<int>(r) - 1; }

}  // namespace

TEST_CASE("splitter: apportion") {
  const std::array<double, 3> def{0.70, 0.15, 0.15};
  CHECK(apportion(10, def) == std::array<std::size_t, 3>{7, 2, 1});
  CHECK(apportion(100, def) == std::array<std::size_t, 3>{70, 15, 15});
  CHECK(apportion(3, def) == std::array<std::size_t, 3>{1, 1, 1});
  CHECK(apportion(4, def) == std::array<std::size_t, 3>{2, 1, 1});
  CHECK(apportion(2, def) == std::array<std::size_t, 3>{2, 0, 0});
  CHECK(apportion(1, def) == std::array<std::size_t, 3>{1, 0, 0});
  CHECK(apportion(0, def) == std::array<std::size_t, 3>{0, 0, 0});
  CHECK(apportion(7, {0.8, 0.2, 0.0}) == std::array<std::size_t, 3>{6, 1, 0});
  CHECK(apportion(5, {0.0, 0.0, 1.0}) == std::array<std::size_t, 3>{0, 0, 5});
  for (std::size_t m = 0; m < 200; ++m) {
    auto c = apportion(m, {0.6, 0.25, 0.15});
    CHECK(c[0] + c[1] + c[2] == m);
    if (m >= 10)  // the at-least-one rule never overrides the shares beyond one row
      for (int s = 0; s < 3; ++s) CHECK(std::fabs(double(c[s]) - double(m) * std::array<double, 3>{0.6, 0.25, 0.15}[s]) < 1.0);
  }
}

TEST_CASE("splitter: the generator is fixed and unbiased in range") {
  SplitRng a(1), b(1), c(2);
  const auto x = a.next();
  CHECK(x == b.next());
  CHECK(x != c.next());
  SplitRng r(7);
  std::array<int, 5> hist{};
  for (int i = 0; i < 5000; ++i) ++hist[static_cast<std::size_t>(r.below(5))];
  for (int h : hist) CHECK(h > 900);
}

TEST_CASE("splitter: stratified fractions") {
  auto in = make_table(1000, true);
  TestContext ctx("split", Mode::Fit, 42);
  auto roles = split(in, json::object(), 42, Mode::Fit, &ctx);
  const Column& y = in->at("is_iot");
  // Per stratum (NULL, 0, 1): each split within one row of its share.
  std::map<int, std::array<int, 3>> per;
  std::map<int, int> total;
  for (std::size_t i = 0; i < roles.size(); ++i) {
    REQUIRE(roles[i] != Role::None);
    const int key = y.is_null(i) ? -1 : static_cast<int>(y.i64[i]);
    ++per[key][idx(roles[i])];
    ++total[key];
  }
  CHECK(per.size() == 3);
  const std::array<double, 3> f{0.70, 0.15, 0.15};
  for (auto& [key, c] : per)
    for (int s = 0; s < 3; ++s) {
      INFO("stratum " << key << " split " << s);
      CHECK(std::fabs(c[s] - f[s] * total[key]) <= 1.0);
    }
  CHECK(ctx.counters.at("rows.train") + ctx.counters.at("rows.valid") + ctx.counters.at("rows.test") == 1000);
  CHECK(ctx.counters.at("rows.train") == per[-1][0] + per[0][0] + per[1][0]);

  SUBCASE("on a categorical column") {
    auto r2 = split(in, {{"stratify", "kind"}, {"train", 0.5}, {"valid", 0.25}, {"test", 0.25}});
    const Column& k = in->at("kind");
    std::map<std::string, std::array<int, 3>> c;
    std::map<std::string, int> t;
    for (std::size_t i = 0; i < r2.size(); ++i) {
      ++c[k.label(i)][idx(r2[i])];
      ++t[k.label(i)];
    }
    for (auto& [key, cnt] : c)
      for (int s = 0; s < 3; ++s) CHECK(std::fabs(cnt[s] - (s == 0 ? 0.5 : 0.25) * t[key]) <= 1.0);
  }
  SUBCASE("without stratification") {
    auto r3 = split(in, {{"stratify", ""}});
    std::array<int, 3> c{};
    for (auto r : r3) ++c[idx(r)];
    CHECK(c == std::array<int, 3>{700, 150, 150});
  }
}

TEST_CASE("splitter: small strata reach every split") {
  // 3 positives, 2 NULL labels -> strata of sizes 2 (NULL), 3 (1), 5 (0)... built by hand.
  std::vector<std::int64_t> y = {1, 1, 1, 0, 0, 0, 0, 0, 9, 9};
  std::vector<std::uint8_t> valid = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  auto in = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})),
      std::make_shared<const Column>(Column::make_i64("is_iot", y, valid))});
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto roles = split(in, json::object(), seed);
    std::set<Role> pos(roles.begin(), roles.begin() + 3);
    CHECK(pos.size() == 3);  // 3 rows -> one per split
    std::array<int, 3> neg{};
    for (int i = 3; i < 8; ++i) ++neg[idx(roles[static_cast<std::size_t>(i)])];
    CHECK(neg == std::array<int, 3>{3, 1, 1});  // 5 rows: 3.5 / 0.75 / 0.75
    CHECK(roles[8] == Role::Train);  // 2 rows: 1.4 / 0.3 / 0.3 -> both train
    CHECK(roles[9] == Role::Train);
  }
}

TEST_CASE("splitter: determinism") {
  auto in = make_table(500);
  const auto a = split(in, json::object(), 1);
  SUBCASE("same seed, same roles") { CHECK(split(in, json::object(), 1) == a); }
  SUBCASE("another stage seed, other roles") { CHECK(split(in, json::object(), 2) != a); }
  SUBCASE("the seed parameter overrides the stage seed") {
    const auto b = split(in, {{"seed", 7}}, 1);
    CHECK(split(in, {{"seed", 7}}, 2) == b);
    CHECK(b != a);
    CHECK(split(in, {{"seed", 8}}, 1) != b);
  }
  SUBCASE("the input keeps no roles") { CHECK_FALSE(in->has_roles()); }
}

TEST_CASE("splitter: groups never span two splits") {
  auto in = make_table(1200);
  const Column& dev = in->at("device");
  const Column& y = in->at("is_iot");
  for (std::uint64_t seed : {1, 2, 3}) {
    TestContext ctx("split", Mode::Fit, seed);
    auto roles = split(in, {{"group", "device"}}, seed, Mode::Fit, &ctx);
    std::map<std::int64_t, Role> of;
    std::map<std::int64_t, std::array<int, 3>> per_label;
    for (std::size_t i = 0; i < roles.size(); ++i) {
      auto [it, fresh] = of.emplace(dev.i64[i], roles[i]);
      if (!fresh) CHECK(it->second == roles[i]);
      ++per_label[y.i64[i]][idx(roles[i])];
    }
    // Whole groups, so shares are approximate: every label reaches every split, near its share.
    for (auto& [label, c] : per_label) {
      const double m = c[0] + c[1] + c[2];
      CHECK(std::fabs(c[0] / m - 0.70) < 0.03);
      CHECK(std::fabs(c[1] / m - 0.15) < 0.03);
      CHECK(std::fabs(c[2] / m - 0.15) < 0.03);
    }
    CHECK(ctx.counters.at("groups.train") + ctx.counters.at("groups.valid") + ctx.counters.at("groups.test") ==
          static_cast<std::int64_t>(of.size()));
  }
  SUBCASE("a few groups still reach every split") {
    auto small = std::make_shared<const Table>(std::vector<ColumnPtr>{
        std::make_shared<const Column>(Column::make_i64("is_iot", {1, 1, 1, 1, 1, 1})),
        std::make_shared<const Column>(encode_strings("device", {"cam", "cam", "cam", "cam", "plug", "hub"}))});
    auto roles = split(small, {{"group", "device"}});
    CHECK(roles[0] == roles[3]);
    std::set<Role> all(roles.begin(), roles.end());
    CHECK(all.size() == 3);
  }
  SUBCASE("NULL group values are groups of one row") {
    auto nulls = std::make_shared<const Table>(std::vector<ColumnPtr>{
        std::make_shared<const Column>(Column::make_i64("device", std::vector<std::int64_t>(100, 0),
                                                        std::vector<std::uint8_t>(100, 0)))});
    auto roles = split(nulls, {{"group", "device"}, {"stratify", ""}});
    std::array<int, 3> c{};
    for (auto r : roles) ++c[idx(r)];
    CHECK(c == std::array<int, 3>{70, 15, 15});
  }
}

TEST_CASE("splitter: apply mode makes every row a test row") {
  auto in = make_table(50);
  TestContext ctx("split", Mode::Apply);
  auto roles = split(in, json::object(), 42, Mode::Apply, &ctx);
  CHECK(roles == std::vector<Role>(50, Role::Test));
  CHECK(ctx.counters.at("rows.test") == 50);
  CHECK(ctx.counters.at("rows.train") == 0);
}

TEST_CASE("splitter: configuration and data errors") {
  auto spec = splitter_spec();
  // The fractions' sum is the schema rule's, reported at the fraction changed last (test when none).
  auto issues = [&](const json& given) {
    const auto sch = pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"sessionid", DType::Int64}});
    return pipectl::testing::schema_of(spec, params_with_defaults(spec, given), {sch}).issues;
  };
  CHECK(issues({{"valid", 0.2}}) ==
        std::vector<std::string>{"valid: train + valid + test must sum to 1, got 0.7 + 0.2 + 0.15 = 1.05"});
  CHECK(issues({{"train", 0.6}, {"valid", 0.1}, {"test", 0.1}}) ==
        std::vector<std::string>{"test: train + valid + test must sum to 1, got 0.6 + 0.1 + 0.1 = 0.8"});
  CHECK(issues({{"train", 0.6}}) ==
        std::vector<std::string>{"train: train + valid + test must sum to 1, got 0.6 + 0.15 + 0.15 = 0.9"});
  CHECK(issues({{"train", 0.8}, {"valid", 0}, {"test", 0.2}}).empty());
  CHECK(issues({{"train", 0.1}, {"valid", 0.2}, {"test", 0.7}}).empty());
  // A fraction outside [0, 1] is the declaration's.
  CHECK(spec.find("train")->check(1.5) == "must be in [0, 1], got 1.5");
  CHECK(spec.find("valid")->check(-0.5) == "must be in [0, 1], got -0.5");
  CHECK_NOTHROW(Splitter(options_with_defaults<SplitterOptions>(spec, {{"train", 0.8}, {"valid", 0}, {"test", 0.2}})));
  CHECK_NOTHROW(Splitter(options_with_defaults<SplitterOptions>(spec, {{"train", 0.1}, {"valid", 0.2}, {"test", 0.7}})));

  TestContext ctx;
  auto in = make_table(10);
  CHECK_THROWS_WITH_AS(Splitter(options_with_defaults<SplitterOptions>(spec, {{"stratify", "bytes"}})).run(ctx, {in}),
                       "stratify column \"bytes\" is float64; it must be categorical or int64", DataError);
  CHECK_THROWS_WITH_AS(Splitter(options_with_defaults<SplitterOptions>(spec, {{"group", "nope"}})).run(ctx, {in}),
                       "no column \"nope\" (columns: sessionid, is_iot, kind, device, bytes)", DataError);

  SUBCASE("schema") {
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"group", "device"}}), {Schema{}});
    CHECK(o.issues.size() == 2);  // is_iot, device
    auto sch = pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"device", DType::Categorical}});
    auto ok = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"group", "device"}}), {sch});
    CHECK(ok.ok());
    CHECK(ok.schema.split);
    CHECK(ok.schema.find("device")->role == ColumnRole::Group);
    CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"stratify", ""}}), {Schema{}}).ok());
  }
}
