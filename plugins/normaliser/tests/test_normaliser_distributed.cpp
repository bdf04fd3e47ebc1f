// Fitted on 1, 2 or 3 workers (testing::ThreadGroup), each holding a disjoint
// shard of the rows, the normaliser ends with the single-process state; and
// ExactSum, the exact accumulator behind zscore.
#include "exact_sum.hpp"
#include "normaliser.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::ExactSum;
using pipectl::plugins::Normaliser;
using pipectl::plugins::normaliser_spec;
using pipectl::testing::params_with_defaults;
using pipectl::testing::options_with_defaults;
using pipectl::testing::TestContext;
using pipectl::testing::deal_shards;
using pipectl::testing::ThreadGroup;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// Values whose naive sums depend on the order: wide magnitudes and signs,
// NULLs, NaN, infinities and -0.0; roles 70 / 15 / 15 by row.
TablePtr make_table(std::size_t n) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::int64_t> id(n), bytes(n), packets(n, 3);
  std::vector<std::uint8_t> bytes_valid(n, 1);
  std::vector<double> duration(n), wide(n);
  auto roles = std::make_shared<std::vector<Role>>(n);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<std::int64_t>(i);
    bytes[i] = static_cast<std::int64_t>(u(g) * 1e9) + (i % 11 == 0 ? 4000000000000LL : 0);
    if (i % 13 == 5) bytes_valid[i] = 0;
    duration[i] = i % 17 == 3 ? kNaN : std::exp(20 * u(g) - 10);
    wide[i] = (u(g) < 0.5 ? -1 : 1) * std::ldexp(u(g), static_cast<int>(u(g) * 80) - 40);
    if (i % 29 == 1) wide[i] = -0.0;
    if (i == 77) wide[i] = std::numeric_limits<double>::infinity();  // not finite: left out of the fit
    const double r = u(g);
    (*roles)[i] = r < 0.7 ? Role::Train : r < 0.85 ? Role::Valid : Role::Test;
  }
  Table t(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("bytes", bytes, bytes_valid)),
      std::make_shared<const Column>(Column::make_i64("packets", packets)),
      std::make_shared<const Column>(Column::make_f64("duration", duration)),
      std::make_shared<const Column>(Column::make_f64("wide", wide)),
  });
  t = t.with_roles(roles);
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

struct Fit {
  std::vector<std::string> states;  // save_state().dump() per rank
  std::vector<std::vector<std::string>> warnings;
  std::map<std::int64_t, std::vector<double>> out;  // sessionid -> output values
};

Fit fit_on(const std::vector<TablePtr>& shards, const json& given) {
  const int world = static_cast<int>(shards.size());
  Fit f;
  f.states.resize(shards.size());
  f.warnings.resize(shards.size());
  std::mutex mu;
  const auto cols = params_with_defaults(normaliser_spec(), given).strings("columns");
  ThreadGroup(world).run([&](Collective& c) {
    const auto r = static_cast<std::size_t>(c.rank());
    TestContext ctx;
    ctx.coll = &c;
    Normaliser stage(options_with_defaults<pipectl::plugins::NormaliserOptions>(normaliser_spec(), given));
    Table out = stage.run(ctx, {shards[r]});
    out.check();
    std::lock_guard<std::mutex> lock(mu);
    f.states[r] = stage.save_state(ctx.artifact_dir()).dump();
    f.warnings[r] = ctx.log;
    const Column& id = out.at("sessionid");
    for (std::size_t i = 0; i < out.rows(); ++i)
      for (const auto& name : cols) f.out[id.i64[i]].push_back(out.at(name).f64[i]);
  });
  return f;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (bits(a[i]) != bits(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i]))) return false;
  return true;
}

}  // namespace

TEST_CASE("normaliser: ExactSum is exact and rounds once") {
  SUBCASE("a sum of two doubles is IEEE addition (correctly rounded)") {
    std::mt19937_64 g(3);
    std::uniform_int_distribution<std::uint64_t> any;
    auto random_double = [&] {
      for (;;) {
        const std::uint64_t b = any(g);
        double d;
        std::memcpy(&d, &b, sizeof d);
        if (std::isfinite(d)) return d;
      }
    };
    for (int k = 0; k < 200000; ++k) {
      double a = random_double(), b = random_double();
      if (k % 3 == 0) b = std::ldexp(a, -static_cast<int>(any(g) % 70)) * (any(g) % 2 ? 1 : -1);  // close exponents
      if (k % 7 == 0) b = -a * (1 + std::ldexp(1.0, -52));                                          // cancellation
      ExactSum s;
      s.add(a);
      s.add(b);
      INFO(a << " + " << b);
      const double want = a + b;
      if (std::isinf(want)) continue;  // overflow: the accumulator still holds the exact value
      REQUIRE(bits(s.round()) == bits(want == 0 ? 0.0 : want));
    }
  }
  SUBCASE("cancellation, subnormals and order") {
    ExactSum s;
    for (double x : {1e300, 1.0, -1e300, 0x1p-1074, 0x1p-1074, -0.0}) s.add(x);
    CHECK(s.round() == 1.0);
    ExactSum t;
    t.add(0x1p-1074);
    t.add(0x1p-1074);
    t.add(0x1.8p-1060);
    CHECK(t.round() == 0x1p-1073 + 0x1.8p-1060);
    ExactSum z;
    CHECK(bits(z.round()) == bits(0.0));
    z.add(-3.5);
    CHECK(z.round() == -3.5);
    // 2^53 + 1 + 1 exactly is 2^53 + 2; naive left-to-right addition gives 2^53.
    ExactSum h;
    for (double x : {0x1p53, 1.0, 1.0}) h.add(x);
    CHECK(h.round() == 0x1p53 + 2);
    // Ties to even, with a sticky bit far below deciding the direction.
    ExactSum e;
    e.add(0x1p53);
    e.add(1.0);
    CHECK(e.round() == 0x1p53);  // exactly half way: even
    e.add(0x1p-1000);
    CHECK(e.round() == 0x1p53 + 2);  // just above half way
  }
  SUBCASE("non-finite values") {
    ExactSum a;
    a.add(1.0);
    a.add(std::numeric_limits<double>::infinity());
    CHECK(a.round() == std::numeric_limits<double>::infinity());
    a.add(-std::numeric_limits<double>::infinity());
    CHECK(std::isnan(a.round()));
  }
  SUBCASE("any order, any split into parts, the same bits") {
    std::mt19937_64 g(11);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> v(5000);
    for (auto& x : v) x = std::ldexp(u(g), static_cast<int>(g() % 200) - 100);
    ExactSum whole;
    for (double x : v) whole.add(x);
    double naive = 0, naive_rev = 0;
    for (double x : v) naive += x;
    for (auto it = v.rbegin(); it != v.rend(); ++it) naive_rev += *it;
    CHECK(bits(naive) != bits(naive_rev));  // the data is hard enough to tell orders apart
    for (int parts : {2, 3, 7}) {
      std::shuffle(v.begin(), v.end(), g);
      std::vector<ExactSum> p(static_cast<std::size_t>(parts));
      for (std::size_t i = 0; i < v.size(); ++i) p[i % p.size()].add(v[i]);
      ExactSum merged;
      for (auto& x : p) {
        x.normalise();
        for (int w = 0; w < ExactSum::kWords; ++w) merged.words()[w] += x.words()[w];
      }
      merged.normalise();
      CHECK(bits(merged.round()) == bits(whole.round()));
    }
  }
}

TEST_CASE("normaliser: fitted on 1, 2 and 3 workers, the single-process state") {
  auto t = make_table(5000);
  const std::vector<json> configs = {
      {{"columns", json::array({"bytes", "packets", "duration", "wide"})}},
      {{"columns", json::array({"bytes", "packets", "duration", "wide"})}, {"method", "zscore"}},
      {{"columns", json::array({"bytes", "duration"})}, {"log1p", true}},
      {{"columns", json::array({"bytes", "duration"})}, {"log1p", true}, {"method", "zscore"}},
      {{"columns", json::array({"wide"})}, {"clip", false}},
  };
  for (const auto& given : configs) {
    INFO(given.dump());
    const auto one = fit_on({t}, given);
    for (int world : {1, 2, 3}) {
      for (std::uint64_t seed : {1u, 2u}) {
        INFO("world " << world << " shard seed " << seed);
        const auto many = fit_on(deal_shards(t, world, seed), given);
        for (const auto& s : many.states) CHECK(s == one.states[0]);  // bit-identical (the json prints exact doubles)
        REQUIRE(many.out.size() == one.out.size());
        bool all_same = true;
        for (const auto& [id, v] : one.out) all_same = all_same && same_bits(many.out.at(id), v);
        CHECK(all_same);
      }
    }
  }
  SUBCASE("the moments agree with a long double reference within 1e-12") {
    const auto z = fit_on(deal_shards(t, 3, 5), configs[1]);
    const json st = json::parse(z.states[0]);
    for (const char* name : {"bytes", "duration", "wide"}) {
      const Column& c = t->at(name);
      long double sum = 0, ss = 0;
      std::size_t m = 0;
      for (auto r : t->rows_with(Role::Train)) {
        const double v = c.number(r);
        if (std::isfinite(v)) {
          sum += v;
          ++m;
        }
      }
      const long double mean = sum / m;
      for (auto r : t->rows_with(Role::Train)) {
        const double v = c.number(r);
        if (std::isfinite(v)) ss += (v - mean) * (v - mean);
      }
      INFO(name);
      const double got_mean = st["columns"][name]["mean"].get<double>();
      const double got_std = st["columns"][name]["std"].get<double>();
      CHECK(std::fabs(got_mean - static_cast<double>(mean)) <= 1e-12 * std::fabs(static_cast<double>(mean)) + 1e-300);
      const double want_std = static_cast<double>(std::sqrt(ss / m));
      CHECK(std::fabs(got_std - want_std) <= 1e-12 * want_std);
    }
  }
}

TEST_CASE("normaliser: a worker without training rows") {
  // Rank 0 holds only test rows; the others hold every training row.
  auto t = make_table(600);
  std::vector<std::uint32_t> test_rows, other_rows;
  for (std::uint32_t i = 0; i < t->rows(); ++i) (t->roles()[i] == Role::Train ? other_rows : test_rows).push_back(i);
  std::vector<TablePtr> shards = {std::make_shared<const Table>(t->take(test_rows)),
                                  std::make_shared<const Table>(t->take(other_rows))};
  for (const char* method : {"minmax", "zscore"}) {
    const json given = {{"method", method}};
    CHECK(fit_on(shards, given).states == std::vector<std::string>(2, fit_on({t}, given).states[0]));
  }
  SUBCASE("no training row on any worker is the usual error, on every worker") {
    auto no_train = std::make_shared<const Table>(t->take(test_rows));
    auto halves = deal_shards(no_train, 2, 1);
    CHECK_THROWS_WITH_AS(fit_on(halves, json::object()), "no row has the train role; the normaliser has nothing to fit on",
                         DataError);
  }
  SUBCASE("a column without a finite training value warns with the global count") {
    auto nan = std::make_shared<const Table>(t->with(Column::make_f64("duration", std::vector<double>(600, kNaN))));
    const auto f = fit_on(deal_shards(nan, 3, 1), {{"columns", json::array({"duration"})}});
    const std::string want = "warn: column \"duration\" has no finite value in the " +
                             std::to_string(t->rows_with(Role::Train).size()) + " training rows; it maps to 0";
    for (const auto& w : f.warnings) CHECK(w == std::vector<std::string>{want});
  }
}

TEST_CASE("normaliser: -0.0 and 0.0 fit the same state in any order") {
  auto make = [](std::vector<double> v) {
    Table t(std::vector<ColumnPtr>{std::make_shared<const Column>(Column::make_f64("x", std::move(v)))});
    return std::make_shared<const Table>(
        t.with_roles(std::make_shared<const std::vector<Role>>(3, Role::Train)));
  };
  const json given = {{"columns", json::array({"x"})}};
  std::vector<std::string> states;
  for (auto v : {std::vector<double>{0.0, -0.0, 1.0}, std::vector<double>{-0.0, 0.0, 1.0}}) {
    Normaliser n(options_with_defaults<pipectl::plugins::NormaliserOptions>(normaliser_spec(), given));
    TestContext ctx;
    n.run(ctx, {make(v)});
    states.push_back(n.save_state({}).dump());
  }
  CHECK(states[0] == states[1]);
  CHECK(states[0] == R"({"clip":true,"columns":{"x":{"max":1.0,"min":0.0}},"log1p":false,"method":"minmax"})");
  CHECK(normaliser_spec().distributed == PluginSpec::Distributed::Combined);
}
