// Fitted on 1, 2 or 3 workers (testing::ThreadGroup), each holding a disjoint
// shard of the rows with its own dictionaries, category_map keeps the
// single-process dictionaries.
#include "category_map.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::category_map_spec;
using pipectl::plugins::CategoryMap;
using pipectl::plugins::top_categories;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;
using pipectl::testing::deal_shards;
using pipectl::testing::ThreadGroup;

namespace {

// srcport: int64 with a skewed distribution and many equal counts, some
// NULLs; manufacturer: categorical likewise, with NULLs and a value equal to
// "other"; roles random 70 / 15 / 15.
TablePtr make_table(std::size_t n) {
  std::mt19937_64 g(5);
  std::vector<std::int64_t> id(n), port(n);
  std::vector<std::uint8_t> port_valid(n, 1), man_valid(n, 1);
  std::vector<std::string> man(n);
  auto roles = std::make_shared<std::vector<Role>>(n);
  for (std::size_t i = 0; i < n; ++i) {
    id[i] = static_cast<std::int64_t>(i);
    const auto a = g() % 100, b = g() % 100;
    port[i] = a < 40 ? static_cast<std::int64_t>(b % 10) * 1000 : static_cast<std::int64_t>(g() % 300) - 50;
    if (g() % 23 == 0) port_valid[i] = 0;
    man[i] = a < 30 ? "M" + std::to_string(b % 12) : a < 32 ? "other" : "m" + std::to_string(g() % 200);
    if (g() % 19 == 0) man_valid[i] = 0;
    const auto r = g() % 100;
    (*roles)[i] = r < 70 ? Role::Train : r < 85 ? Role::Valid : Role::Test;
  }
  Table t(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", id)),
      std::make_shared<const Column>(Column::make_i64("srcport", port, port_valid)),
      std::make_shared<const Column>(encode_strings("manufacturer", man, man_valid)),
  });
  t = t.with_roles(roles);
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

struct Fit {
  std::vector<std::string> states;                     // per rank
  std::vector<std::map<std::string, Dictionary>> dicts;  // per rank: output dictionaries
  std::map<std::int64_t, std::vector<std::string>> labels;  // sessionid -> output labels
};

Fit fit_on(const std::vector<TablePtr>& shards, const json& given) {
  Fit f;
  f.states.resize(shards.size());
  f.dicts.resize(shards.size());
  std::mutex mu;
  const auto cols = params_with_defaults(category_map_spec(), given).strings("columns");
  ThreadGroup(static_cast<int>(shards.size())).run([&](Collective& c) {
    const auto r = static_cast<std::size_t>(c.rank());
    TestContext ctx;
    ctx.coll = &c;
    CategoryMap stage(pipectl::testing::options_with_defaults<pipectl::plugins::CategoryMapOptions>(category_map_spec(), given));
    Table out = stage.run(ctx, {shards[r]});
    out.check();
    std::lock_guard<std::mutex> lock(mu);
    f.states[r] = stage.save_state(ctx.artifact_dir()).dump();
    for (const auto& name : cols) f.dicts[r][name] = *out.at(name).dictionary;
    const Column& id = out.at("sessionid");
    for (std::size_t i = 0; i < out.rows(); ++i)
      for (const auto& name : cols) f.labels[id.i64[i]].push_back(out.at(name).label(i));
  });
  return f;
}

}  // namespace

TEST_CASE("category_map: fitted on 1, 2 and 3 workers, the single-process dictionaries") {
  auto t = make_table(6000);
  const std::vector<json> configs = {
      {{"columns", json::array({"srcport", "manufacturer"})}},
      {{"columns", json::array({"srcport", "manufacturer"})}, {"top_k", 7}},
      {{"columns", json::array({"manufacturer", "srcport"})}, {"top_k", 15}, {"min_frequency", 20}},
      {{"columns", json::array({"srcport"})}, {"min_frequency", 3}, {"other", "0"}},
  };
  for (const auto& given : configs) {
    INFO(given.dump());
    const auto one = fit_on({t}, given);
    for (int world : {1, 2, 3}) {
      for (std::uint64_t seed : {1u, 2u}) {
        INFO("world " << world << " shard seed " << seed);
        const auto many = fit_on(deal_shards(t, world, seed), given);
        for (std::size_t r = 0; r < many.states.size(); ++r) {
          CHECK(many.states[r] == one.states[0]);
          CHECK(many.dicts[r] == one.dicts[0]);  // codes identical on every worker
        }
        CHECK(many.labels == one.labels);
      }
    }
  }
  SUBCASE("the selection is count descending, then value ascending") {
    const auto f = fit_on(deal_shards(t, 3, 9), {{"columns", json::array({"srcport", "manufacturer"})}, {"top_k", 1000}});
    const auto train = t->rows_with(Role::Train);
    for (const char* name : {"srcport", "manufacturer"}) {
      const Column& c = t->at(name);
      std::map<std::string, std::int64_t> count;
      for (auto r : train)
        if (!c.is_null(r) && !(c.type == DType::Categorical && c.codes[r] < 0))
          ++count[c.type == DType::Int64 ? std::to_string(c.i64[r]) : c.label(r)];
      const Dictionary& d = f.dicts[0].at(name);
      REQUIRE(d.back() == "other");
      CHECK(d.size() == count.size() + (count.count("other") ? 0 : 1));  // "other" is never kept as a value
      for (std::size_t k = 0; k + 2 < d.size(); ++k) {
        const auto a = count.at(d[k]), b = count.at(d[k + 1]);
        INFO(name << ": " << d[k] << " (" << a << ") before " << d[k + 1] << " (" << b << ")");
        CHECK(a >= b);
        if (a == b) {
          if (c.type == DType::Int64)
            CHECK(std::stoll(d[k]) < std::stoll(d[k + 1]));
          else
            CHECK(d[k] < d[k + 1]);
        }
      }
    }
  }
}

TEST_CASE("category_map: counts add up across workers before min_frequency and top_k") {
  // "x" is seen twice on each of three workers (6 in all), "y" four times on
  // one worker; min_frequency 5 keeps "x" only, which no worker could decide alone.
  auto mk = [](std::vector<std::string> v) {
    std::vector<std::int64_t> id(v.size());
    Table t(std::vector<ColumnPtr>{std::make_shared<const Column>(Column::make_i64("sessionid", id)),
                                   std::make_shared<const Column>(encode_strings("manufacturer", v))});
    return std::make_shared<const Table>(
        t.with_roles(std::make_shared<const std::vector<Role>>(v.size(), Role::Train)));
  };
  std::vector<TablePtr> shards = {mk({"x", "x", "y", "y", "y", "y"}), mk({"z", "x", "x"}), mk({"x", "x", "z"})};
  const json given = {{"columns", json::array({"manufacturer"})}, {"min_frequency", 5}};
  const auto f = fit_on(shards, given);
  for (const auto& d : f.dicts) CHECK(d.at("manufacturer") == Dictionary{"x", "other"});
  // top_k 2 with "y" 4, "z" 2: x, y.
  const auto g = fit_on(shards, {{"columns", json::array({"manufacturer"})}, {"top_k", 2}});
  for (const auto& d : g.dicts) CHECK(d.at("manufacturer") == Dictionary{"x", "y", "other"});
}

TEST_CASE("category_map: ties do not depend on the order values are first seen in") {
  // Equal counts, first seen in opposite orders: one dictionary.
  auto mk = [](std::vector<std::string> labels, std::vector<std::int64_t> ports) {
    Table t(std::vector<ColumnPtr>{std::make_shared<const Column>(encode_strings("manufacturer", labels)),
                                   std::make_shared<const Column>(Column::make_i64("srcport", ports))});
    return t.with_roles(std::make_shared<const std::vector<Role>>(labels.size(), Role::Train));
  };
  const Table a = mk({"b", "a", "c", "b", "a", "c"}, {443, 80, 8080, 443, 80, 8080});
  const Table b = mk({"c", "a", "b", "c", "a", "b"}, {8080, 80, 443, 8080, 80, 443});
  const auto rows = a.rows_with(Role::Train);
  for (const char* col : {"manufacturer", "srcport"}) {
    CHECK(top_categories(a.at(col), rows, 2, 1, "other") == top_categories(b.at(col), rows, 2, 1, "other"));
  }
  CHECK(top_categories(a.at("manufacturer"), rows, 2, 1, "other") == std::vector<std::string>{"a", "b"});
  CHECK(top_categories(a.at("srcport"), rows, 2, 1, "other") == std::vector<std::string>{"80", "443"});
}

TEST_CASE("category_map: a worker without training rows, and none at all") {
  auto t = make_table(900);
  std::vector<std::uint32_t> train_rows, other_rows;
  for (std::uint32_t i = 0; i < t->rows(); ++i) (t->roles()[i] == Role::Train ? train_rows : other_rows).push_back(i);
  std::vector<TablePtr> shards = {std::make_shared<const Table>(t->take(other_rows)),
                                  std::make_shared<const Table>(t->take(train_rows))};
  const json given = {{"columns", json::array({"srcport", "manufacturer"})}};
  CHECK(fit_on(shards, given).states == std::vector<std::string>(2, fit_on({t}, given).states[0]));
  CHECK_THROWS_WITH_AS(fit_on(deal_shards(std::make_shared<const Table>(t->take(other_rows)), 2, 1), given),
                       "no row has the train role; category_map has nothing to fit on", DataError);
  CHECK(category_map_spec().distributed == PluginSpec::Distributed::Combined);
}
