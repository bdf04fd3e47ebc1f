// method = "hash" and several workers (testing::ThreadGroup): a row's split
// depends on its key alone, whatever shard holds it.
#include "splitter.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::hash_role;
using pipectl::plugins::split_unit;
using pipectl::plugins::split_value_hash;
using pipectl::plugins::Splitter;
using pipectl::plugins::splitter_spec;
using pipectl::plugins::SplitterOptions;
using pipectl::testing::options_with_defaults;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;
using pipectl::testing::deal_shards;
using pipectl::testing::ThreadGroup;

namespace {

// n rows: sessionid 0..n-1, is_iot every third row, kind a/b/c, device = i / 5
// (int64), host = "h<i / 4>" (categorical, groups of 4 rows), name = "s<i>".
TablePtr make_table(std::size_t n) {
  std::vector<std::int64_t> id(n), y(n), dev(n);
  std::vector<std::string> kind(n), host(n), name(n);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<std::int64_t>(i);
    y[i] = i % 3 == 0;
    dev[i] = static_cast<std::int64_t>(i / 5);
    kind[i] = i % 7 == 0 ? "c" : (i % 2 ? "a" : "b");
    host[i] = "h" + std::to_string(i / 4);
    name[i] = "s" + std::to_string(i);
  }
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("is_iot", y)),
      std::make_shared<const Column>(encode_strings("kind", kind)),
      std::make_shared<const Column>(Column::make_i64("device", dev)),
      std::make_shared<const Column>(encode_strings("host", host)),
      std::make_shared<const Column>(encode_strings("name", name)),
  });
  t->check();
  return t;
}

struct Outcome {
  std::map<std::int64_t, Role> role_of;  // by sessionid
  std::vector<std::map<std::string, std::int64_t>> counters;  // per rank
  std::vector<std::vector<std::string>> logs;
};

Outcome run_on(const TablePtr& t, int world, const json& given, std::uint64_t shard_seed = 1) {
  auto shards = deal_shards(t, world, shard_seed);
  Outcome o;
  o.counters.resize(static_cast<std::size_t>(world));
  o.logs.resize(static_cast<std::size_t>(world));
  std::mutex mu;
  ThreadGroup(world).run([&](Collective& c) {
    TestContext ctx("split", Mode::Fit, 42);
    ctx.coll = &c;
    Splitter s(options_with_defaults<SplitterOptions>(splitter_spec(), given));
    const auto& in = shards[static_cast<std::size_t>(c.rank())];
    Table out = s.run(ctx, {in});
    out.check();
    std::lock_guard<std::mutex> lock(mu);
    const Column& id = out.at("sessionid");
    for (std::size_t i = 0; i < out.rows(); ++i) {
      auto [it, fresh] = o.role_of.emplace(id.i64[i], out.roles()[i]);
      REQUIRE(fresh);  // shards are disjoint
    }
    o.counters[static_cast<std::size_t>(c.rank())] = ctx.counters;
    o.logs[static_cast<std::size_t>(c.rank())] = ctx.log;
  });
  return o;
}

int idx(Role r) { return static_cast<int>(r) - 1; }

std::uint64_t fingerprint(const std::vector<Role>& roles) {
  std::uint64_t h = 1469598103934665603ULL;
  for (auto r : roles) {
    h ^= static_cast<std::uint64_t>(r);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

TEST_CASE("splitter: shuffle is unchanged (bit-identical to splitter 1.0.0)") {
  // Fingerprints of the roles splitter 1.0.0 (before method = "hash") gave on
  // this table with a stage seed of 42.
  const std::size_t n = 2000;
  std::vector<std::int64_t> id(n), y(n), dev(n);
  std::vector<std::string> kind(n);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<std::int64_t>(i);
    y[i] = i % 3 == 0;
    dev[i] = static_cast<std::int64_t>(i / 5);
    kind[i] = i % 7 == 0 ? "c" : (i % 2 ? "a" : "b");
  }
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("is_iot", y)),
      std::make_shared<const Column>(encode_strings("kind", kind)),
      std::make_shared<const Column>(Column::make_i64("device", dev))});
  const std::vector<std::pair<json, std::uint64_t>> golden = {
      {json::object(), 0x6849059c1b327b05ULL},
      {{{"group", "device"}}, 0x0855005752633bd1ULL},
      {{{"stratify", "kind"}, {"seed", 7}}, 0x6d8818a25476b59eULL},
      {{{"stratify", ""}}, 0xe00a5c67717a1a03ULL},
  };
  for (const auto& [given, fp] : golden) {
    INFO(given.dump());
    TestContext ctx("split", Mode::Fit, 42);
    Splitter s(options_with_defaults<SplitterOptions>(splitter_spec(), given));
    CHECK(fingerprint(s.run(ctx, {t}).roles()) == fp);
    json explicit_shuffle = given;
    explicit_shuffle["method"] = "shuffle";
    TestContext ctx2("split", Mode::Fit, 42);
    CHECK(fingerprint(Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), explicit_shuffle)).run(ctx2, {t}).roles()) == fp);
  }
}

TEST_CASE("splitter: the hash is fixed") {
  // Changing these values changes every hashed split: only on purpose.
  const std::uint64_t k1[] = {split_value_hash(std::int64_t{12345})};
  const std::uint64_t k2[] = {split_value_hash(std::string("aa:bb:cc:dd:ee:ff"))};
  CHECK(split_value_hash(std::int64_t{12345}) != split_value_hash(std::string("12345")));
  CHECK(split_value_hash(std::string("")) != split_value_hash(std::string(8, '\0')));
  CHECK(split_value_hash(std::string("a")) != split_value_hash(std::string("a\0", 2)));
  const double u1 = split_unit(42, k1, 1), u2 = split_unit(42, k2, 1);
  CHECK(u1 >= 0.0);
  CHECK(u1 < 1.0);
  CHECK(u1 != split_unit(43, k1, 1));  // the seed matters
  CHECK(u1 == 0x1.0398a340f05a2p-1);
  CHECK(u2 == 0x1.791d1892fc231p-1);
  CHECK(hash_role(0.0, {0.7, 0.15, 0.15}) == Role::Train);
  CHECK(hash_role(0.69999, {0.7, 0.15, 0.15}) == Role::Train);
  CHECK(hash_role(0.7, {0.7, 0.15, 0.15}) == Role::Valid);
  CHECK(hash_role(0.8499, {0.7, 0.15, 0.15}) == Role::Valid);
  CHECK(hash_role(0.85, {0.7, 0.15, 0.15}) == Role::Test);
  CHECK(hash_role(0.9999, {0.7, 0.15, 0.15}) == Role::Test);
  // A zero fraction never gets a row, even in the rounding sliver between cuts.
  for (double u : {0.0, 0.5, 0.79999999999999993, 0.8, 0.99})
    CHECK(hash_role(u, {0.8, 0.0, 0.2}) != Role::Valid);
  for (double u : {0.0, 0.5, 0.8, 0.99}) CHECK(hash_role(u, {0.8, 0.2, 0.0}) != Role::Test);
  for (double u : {0.0, 0.5, 0.99}) CHECK(hash_role(u, {0.0, 0.0, 1.0}) == Role::Test);
  for (double u : {0.0, 0.5, 0.99}) CHECK(hash_role(u, {1.0, 0.0, 0.0}) == Role::Train);
}

TEST_CASE("splitter: hash split is the same on 1, 2 and 3 workers") {
  auto t = make_table(3000);
  for (json given : {json{{"method", "hash"}},
                     json{{"method", "hash"}, {"key", json::array({"name"})}},
                     json{{"method", "hash"}, {"key", json::array({"sessionid", "kind"})}, {"seed", 9}},
                     json{{"method", "hash"}, {"group", "host"}},
                     json{{"method", "hash"}, {"group", "device"}, {"train", 0.8}, {"valid", 0.0}, {"test", 0.2}}}) {
    INFO(given.dump());
    const auto one = run_on(t, 1, given);
    REQUIRE(one.role_of.size() == 3000);
    for (int world : {2, 3}) {
      for (std::uint64_t shard_seed : {1u, 2u}) {
        INFO("world " << world << " shard seed " << shard_seed);
        const auto many = run_on(t, world, given, shard_seed);
        CHECK(many.role_of == one.role_of);
        // Counters are global: every worker reports the single-process counts.
        for (const auto& c : many.counters) CHECK(c == one.counters[0]);
      }
    }
    // Not one split for everything: all three (or both) splits are used.
    std::set<Role> used;
    for (auto& [id, r] : one.role_of) used.insert(r);
    CHECK(used.size() == (given.value("valid", 0.15) > 0 ? 3u : 2u));
  }
}

TEST_CASE("splitter: hash split by label, not by dictionary code") {
  // The same labels under two dictionaries in different orders.
  std::vector<std::string> a = {"x", "y", "z", "w", "v", "u", "t", "s"};
  std::vector<std::string> b(a.rbegin(), a.rend());
  auto table = [](const std::vector<std::string>& labels) {
    std::vector<std::int64_t> id(labels.size(), 0);
    return std::make_shared<const Table>(std::vector<ColumnPtr>{
        std::make_shared<const Column>(encode_strings("mac", labels)),
        std::make_shared<const Column>(Column::make_i64("is_iot", id))});
  };
  const json given = {{"method", "hash"}, {"key", json::array({"mac"})}, {"stratify", ""}};
  TestContext ca, cb;
  auto ra = Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), given)).run(ca, {table(a)}).roles();
  auto rb = Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), given)).run(cb, {table(b)}).roles();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(ra[i] == rb[a.size() - 1 - i]);
}

TEST_CASE("splitter: hash proportions are near the fractions, per class too") {
  auto t = make_table(30000);
  TestContext ctx("split", Mode::Fit, 42);
  Splitter s(options_with_defaults<SplitterOptions>(splitter_spec(), {{"method", "hash"}}));
  Table out = s.run(ctx, {t});
  const Column& y = t->at("is_iot");
  std::map<std::int64_t, std::array<double, 3>> per;
  std::array<double, 3> all{};
  for (std::size_t i = 0; i < out.rows(); ++i) {
    per[y.i64[i]][idx(out.roles()[i])] += 1;
    all[idx(out.roles()[i])] += 1;
  }
  const std::array<double, 3> f{0.70, 0.15, 0.15};
  // 4 standard deviations of a binomial share: about 0.011 at n = 10000.
  for (auto& [label, c] : per) {
    const double m = c[0] + c[1] + c[2];
    for (int k = 0; k < 3; ++k) {
      INFO("class " << label << " split " << k << " share " << c[k] / m);
      CHECK(std::fabs(c[k] / m - f[k]) < 4 * std::sqrt(f[k] * (1 - f[k]) / m));
    }
  }
  for (int k = 0; k < 3; ++k) CHECK(std::fabs(all[k] / 30000 - f[k]) < 0.01);
  CHECK(ctx.counters.at("rows.train") == static_cast<std::int64_t>(all[0]));
  CHECK(ctx.counters.at("rows.valid") == static_cast<std::int64_t>(all[1]));
  CHECK(ctx.counters.at("rows.test") == static_cast<std::int64_t>(all[2]));
  // The achieved per-class fractions are logged.
  REQUIRE(ctx.log.size() == 1);
  CHECK(ctx.log[0].rfind("info: hash split, achieved fractions per class of \"is_iot\" (exact only in expectation): 0: "
                         "20000 rows (train 0.",
                         0) == 0);
  CHECK(ctx.log[0].find("; 1: 10000 rows (train 0.") != std::string::npos);
  SUBCASE("another seed, another split") {
    TestContext c2("split", Mode::Fit, 43);
    CHECK(Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), {{"method", "hash"}})).run(c2, {t}).roles() != out.roles());
  }
}

TEST_CASE("splitter: hash with group keeps whole groups in one split") {
  auto t = make_table(4000);
  const json given = {{"method", "hash"}, {"group", "host"}};
  for (int world : {1, 3}) {
    const auto o = run_on(t, world, given);
    std::map<std::int64_t, Role> of_group;  // host = i / 4
    std::array<std::int64_t, 3> groups{};
    for (auto& [id, r] : o.role_of) {
      auto [it, fresh] = of_group.emplace(id / 4, r);
      if (fresh)
        ++groups[idx(r)];
      else
        CHECK(it->second == r);
    }
    CHECK(of_group.size() == 1000);
    for (const auto& c : o.counters) {
      CHECK(c.at("groups.train") == groups[0]);
      CHECK(c.at("groups.valid") == groups[1]);
      CHECK(c.at("groups.test") == groups[2]);
    }
  }
  SUBCASE("a NULL group value falls back to the row's key") {
    std::vector<std::int64_t> id(400), dev(400, 0);
    std::iota(id.begin(), id.end(), 0);
    auto nulls = std::make_shared<const Table>(std::vector<ColumnPtr>{
        std::make_shared<const Column>(Column::make_i64("sessionid", id)),
        std::make_shared<const Column>(Column::make_i64("device", dev, std::vector<std::uint8_t>(400, 0)))});
    TestContext ctx;
    auto roles = Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), {{"method", "hash"}, {"group", "device"}, {"stratify", ""}}))
                     .run(ctx, {nulls})
                     .roles();
    TestContext ctx2;
    auto by_key = Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), {{"method", "hash"}, {"stratify", ""}}))
                      .run(ctx2, {nulls})
                      .roles();
    CHECK(roles == by_key);
    CHECK(std::set<Role>(roles.begin(), roles.end()).size() == 3);
    CHECK(ctx.counters.at("groups.train") == ctx.counters.at("rows.train"));
  }
}

TEST_CASE("splitter: shuffle refuses to run on several workers") {
  auto t = make_table(300);
  auto shards = deal_shards(t, 2, 1);
  for (json given : {json::object(), json{{"method", "shuffle"}}, json{{"group", "device"}}}) {
    CHECK_THROWS_WITH_AS(ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      Splitter(options_with_defaults<SplitterOptions>(splitter_spec(), given)).run(ctx, {shards[static_cast<std::size_t>(c.rank())]});
    }),
                         "method \"shuffle\" splits by row position within one process; on several workers use "
                         "method = \"hash\" (each row's split then depends only on its key)",
                         Error);
  }
  SUBCASE("applying a fitted run (every row a test row) is fine anywhere") {
    ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx("split", Mode::Apply);
      ctx.coll = &c;
      auto& in = shards[static_cast<std::size_t>(c.rank())];
      Table out = Splitter(options_with_defaults<SplitterOptions>(splitter_spec())).run(ctx, {in});
      CHECK(out.roles() == std::vector<Role>(in->rows(), Role::Test));
      CHECK(ctx.counters.at("rows.test") == 300);  // summed over the workers
    });
  }
}

TEST_CASE("splitter: hash configuration and data errors") {
  auto spec = splitter_spec();
  // An empty key is the schema rule's (under `key`), an unknown method the declaration's.
  const auto keyed = pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"sessionid", DType::Int64}});
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"method", "hash"}, {"key", json::array()}}), {keyed})
            .issues == std::vector<std::string>{"key: key must name at least one column when method is \"hash\""});
  CHECK(spec.find("method")->check("random") == "must be one of \"shuffle\", \"hash\", \"groups\", got \"random\"");
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"key", json::array()}}), {keyed}).ok());  // unused by shuffle
  CHECK_NOTHROW(Splitter(options_with_defaults<SplitterOptions>(spec, {{"key", json::array()}})));
  auto in = make_table(10);
  auto with_bytes = std::make_shared<const Table>(in->with(Column::make_f64("bytes", std::vector<double>(10, 1.0))));
  TestContext ctx;
  CHECK_THROWS_WITH_AS(
      Splitter(options_with_defaults<SplitterOptions>(spec, {{"method", "hash"}, {"key", json::array({"bytes"})}})).run(ctx, {with_bytes}),
      "key column \"bytes\" is float64; it must be categorical or int64", DataError);
  CHECK_THROWS_WITH_AS(
      Splitter(options_with_defaults<SplitterOptions>(spec, {{"method", "hash"}, {"stratify", "bytes"}})).run(ctx, {with_bytes}),
      "stratify column \"bytes\" is float64; it must be categorical or int64", DataError);
  CHECK_THROWS_WITH_AS(
      Splitter(options_with_defaults<SplitterOptions>(spec, {{"method", "hash"}, {"group", "bytes"}})).run(ctx, {with_bytes}),
      "group column \"bytes\" is float64; it must be categorical or int64", DataError);
  SUBCASE("schema") {
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"method", "hash"}, {"key", json::array({"mac", "is_iot"})}}),
                                           {Schema{}});
    CHECK(o.issues.size() == 2);  // is_iot (stratify), mac (key)
    CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec), {Schema{}}).issues.size() == 1);
    CHECK(spec.distributed == PluginSpec::Distributed::Combined);
  }
}

// method = "groups": whole groups, stratified by their majority class, the same on any number of workers.
namespace {

// n rows of `groups` devices of uneven sizes (1..9 rows); device d is IoT when d % 4 == 0,
// except one row in 10 of each device carrying the other label (its majority still decides).
TablePtr make_devices(std::size_t groups) {
  std::vector<std::int64_t> id, y;
  std::vector<std::string> mac;
  for (std::size_t d = 0; d < groups; ++d) {
    const std::size_t rows = 1 + (d * 7) % 9;
    for (std::size_t k = 0; k < rows; ++k) {
      id.push_back(static_cast<std::int64_t>(id.size()));
      const bool iot = d % 4 == 0;
      y.push_back((k == 9) != iot);
      mac.push_back("m" + std::to_string(d));
    }
  }
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("is_iot", y)),
      std::make_shared<const Column>(encode_strings("mac", mac))});
  t->check();
  return t;
}

}  // namespace

TEST_CASE("splitter: groups keeps devices whole, stratified, and gives the same split on 1, 2 and 3 workers") {
  const auto t = make_devices(400);
  const json given = {{"method", "groups"}, {"group", "mac"}};
  const Outcome one = run_on(t, 1, given);
  for (int w : {2, 3}) {
    CAPTURE(w);
    for (std::uint64_t shard_seed : {1u, 9u}) {
      const Outcome many = run_on(t, w, given, shard_seed);
      CHECK(many.role_of == one.role_of);
      for (const auto& c : many.counters) {
        CHECK(c.at("groups.train") == one.counters[0].at("groups.train"));
        CHECK(c.at("rows.test") == one.counters[0].at("rows.test"));
      }
    }
  }
  // Whole devices, and each class near its share of rows in every split.
  const Column& mac = t->at("mac");
  const Column& y = t->at("is_iot");
  std::map<std::string, Role> of_mac;
  std::array<std::array<double, 3>, 2> rows{};
  for (std::size_t i = 0; i < t->rows(); ++i) {
    const Role r = one.role_of.at(static_cast<std::int64_t>(i));
    auto [it, fresh] = of_mac.emplace(mac.label(i), r);
    CHECK(it->second == r);
    rows[static_cast<std::size_t>(y.i64[i])][static_cast<std::size_t>(idx(r))] += 1;
  }
  for (int c = 0; c < 2; ++c) {
    const double total = rows[c][0] + rows[c][1] + rows[c][2];
    CAPTURE(c);
    CHECK(std::fabs(rows[c][0] / total - 0.70) < 0.03);
    CHECK(std::fabs(rows[c][1] / total - 0.15) < 0.03);
    CHECK(std::fabs(rows[c][2] / total - 0.15) < 0.03);
  }
  // Another seed places the devices differently.
  const Outcome other = run_on(t, 1, {{"method", "groups"}, {"group", "mac"}, {"seed", 5}});
  CHECK(other.role_of != one.role_of);
}

TEST_CASE("splitter: groups needs a group column, folds need groups (the schema rule's, under the parameter)") {
  const auto spec = splitter_spec();
  const auto in = pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"sessionid", DType::Int64}, {"mac", DType::Categorical}});
  auto issues = [&](const json& given) { return pipectl::testing::schema_of(spec, params_with_defaults(spec, given), {in}).issues; };
  CHECK(issues({{"method", "groups"}}) ==
        std::vector<std::string>{"method: method \"groups\" needs a group column (parameter group)"});
  CHECK(issues({{"folds", 5}}) == std::vector<std::string>{"folds: folds needs method \"groups\""});
  CHECK(issues({{"method", "groups"}, {"group", "mac"}, {"folds", 1}}) ==
        std::vector<std::string>{"folds: folds must be 0 (none) or at least 2, got 1"});
  CHECK(issues({{"method", "groups"}, {"group", "mac"}, {"folds", 5}, {"fold", 4}}).empty());
}

TEST_CASE("splitter: groups with folds: K folds of whole devices, each device tested exactly once, the same on 2 workers") {
  const auto t = make_devices(200);
  const Column& mac = t->at("mac");
  std::map<std::string, int> tested;  // device -> times in the test part
  std::set<std::int64_t> seen_test;
  for (int f = 0; f < 5; ++f) {
    const json given = {{"method", "groups"}, {"group", "mac"}, {"folds", 5}, {"fold", f}};
    const Outcome one = run_on(t, 1, given);
    CHECK(run_on(t, 2, given).role_of == one.role_of);
    std::array<std::int64_t, 3> rows{};
    for (std::size_t i = 0; i < t->rows(); ++i) {
      const Role r = one.role_of.at(static_cast<std::int64_t>(i));
      ++rows[static_cast<std::size_t>(idx(r))];
      if (r == Role::Test) {
        CHECK(seen_test.insert(static_cast<std::int64_t>(i)).second);  // no row tested twice
        if (i == 0 || mac.label(i) != mac.label(i - 1)) ++tested[mac.label(i)];
      }
    }
    const double n = static_cast<double>(t->rows());
    CHECK(std::fabs(static_cast<double>(rows[2]) / n - 0.2) < 0.03);
    CHECK(std::fabs(static_cast<double>(rows[1]) / n - 0.2) < 0.03);
  }
  CHECK(seen_test.size() == t->rows());
  CHECK(tested.size() == 200);
  const auto spec = splitter_spec();
  CHECK(pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"method", "groups"}, {"group", "mac"}, {"folds", 5}, {"fold", 5}}),
                                    {pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"mac", DType::Categorical}})})
            .issues == std::vector<std::string>{"fold: fold must be in 0 .. 4, got 5"});
}
