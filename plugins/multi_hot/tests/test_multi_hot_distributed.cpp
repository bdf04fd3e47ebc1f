// Fitted on 1, 2 or 3 workers (testing::ThreadGroup), each holding a disjoint
// shard of the rows with its own dictionary, multi_hot keeps the
// single-process vocabulary.
#include "multi_hot.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace pipectl;
using pipectl::plugins::document_frequency;
using pipectl::plugins::merge_counts;
using pipectl::plugins::multi_hot_spec;
using pipectl::plugins::MultiHot;
using pipectl::plugins::top_names;
using pipectl::plugins::write_counts;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;
using pipectl::testing::deal_shards;
using pipectl::testing::ThreadGroup;

namespace {

using Names = std::vector<std::string>;
using Row = std::optional<Names>;  // nullopt = NULL

Column multi(const std::string& name, const std::vector<Row>& rows) { return testing::multi_column(name, rows); }

Row row_of(const Column& c, std::size_t i) {
  if (c.is_null(i)) return std::nullopt;
  Names r;
  for (auto k = c.offsets[i]; k < c.offsets[i + 1]; ++k)
    r.push_back((*c.dictionary)[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])]);
  return r;
}

// Rows of 0-5 names drawn from a skewed set with many equal frequencies,
// repeats within a row, empty and NULL rows, and the reserved names
// "other" / "none" in the data; roles random 70 / 15 / 15.
std::vector<Row> make_rows(std::size_t n) {
  std::mt19937_64 g(17);
  std::vector<Row> rows(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (g() % 31 == 0) continue;  // NULL
    Names r;
    const auto k = g() % 6;
    for (std::uint64_t j = 0; j < k; ++j) {
      const auto a = g() % 100;
      r.push_back(a < 50 ? "h" + std::to_string(g() % 8) + ".com"
                  : a < 52 ? (g() % 2 ? "other" : "none")
                           : "d" + std::to_string(g() % 400) + ".net");
      if (g() % 9 == 0) r.push_back(r.back());
    }
    rows[i] = r;
  }
  return rows;
}

TablePtr make_table(const std::vector<Row>& rows, const std::vector<Role>& roles) {
  std::vector<std::int64_t> id(rows.size());
  std::iota(id.begin(), id.end(), 0);
  Table t(std::vector<ColumnPtr>{std::make_shared<const Column>(Column::make_i64("sessionid", id)),
                                 std::make_shared<const Column>(multi("dns", rows))});
  t = t.with_roles(std::make_shared<const std::vector<Role>>(roles));
  t.check();
  return std::make_shared<const Table>(std::move(t));
}

std::vector<Role> random_roles(std::size_t n) {
  std::mt19937_64 g(23);
  std::vector<Role> roles(n);
  for (auto& r : roles) {
    const auto x = g() % 100;
    r = x < 70 ? Role::Train : x < 85 ? Role::Valid : Role::Test;
  }
  return roles;
}

struct Fit {
  std::vector<std::string> states;
  std::vector<Dictionary> vocab;  // output dictionary per rank
  std::map<std::int64_t, Row> rows;  // sessionid -> output names
  std::vector<std::map<std::string, std::int64_t>> counters;
};

Fit fit_on(const std::vector<TablePtr>& shards, const json& given) {
  Fit f;
  f.states.resize(shards.size());
  f.vocab.resize(shards.size());
  f.counters.resize(shards.size());
  std::mutex mu;
  ThreadGroup(static_cast<int>(shards.size())).run([&](Collective& c) {
    const auto r = static_cast<std::size_t>(c.rank());
    TestContext ctx;
    ctx.coll = &c;
    MultiHot stage(pipectl::testing::options_with_defaults<pipectl::plugins::MultiHotOptions>(multi_hot_spec(), given));
    Table out = stage.run(ctx, {shards[r]});
    out.check();
    std::lock_guard<std::mutex> lock(mu);
    f.states[r] = stage.save_state(ctx.artifact_dir()).dump();
    f.vocab[r] = *out.at("dns").dictionary;
    f.counters[r] = ctx.counters;
    const Column& id = out.at("sessionid");
    for (std::size_t i = 0; i < out.rows(); ++i) f.rows[id.i64[i]] = row_of(out.at("dns"), i);
  });
  return f;
}

}  // namespace

TEST_CASE("multi_hot: fitted on 1, 2 and 3 workers, the single-process vocabulary") {
  const auto rows = make_rows(5000);
  auto t = make_table(rows, random_roles(rows.size()));
  for (json given : {json::object(), json{{"top_k", 5}}, json{{"top_k", 30}, {"none", ""}},
                     json{{"top_k", 1000}, {"other", "x"}}}) {
    INFO(given.dump());
    const auto one = fit_on({t}, given);
    for (int world : {1, 2, 3}) {
      for (std::uint64_t seed : {1u, 2u}) {
        INFO("world " << world << " shard seed " << seed);
        const auto many = fit_on(deal_shards(t, world, seed), given);
        for (std::size_t r = 0; r < many.states.size(); ++r) {
          CHECK(many.states[r] == one.states[0]);
          CHECK(many.vocab[r] == one.vocab[0]);  // codes identical on every worker
        }
        CHECK(many.rows == one.rows);
      }
    }
  }
  SUBCASE("the ranking is frequency descending, then name ascending") {
    const auto f = fit_on(deal_shards(t, 3, 4), {{"top_k", 60}});
    std::map<std::string, std::int64_t> df;  // training rows containing each name
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (t->roles()[i] != Role::Train || !rows[i]) continue;
      Names u = *rows[i];
      std::sort(u.begin(), u.end());
      u.erase(std::unique(u.begin(), u.end()), u.end());
      for (auto& s : u) ++df[s];
    }
    const Dictionary& v = f.vocab[0];
    REQUIRE(v.size() == 62);
    CHECK(v[60] == "other");
    CHECK(v[61] == "none");
    for (std::size_t k = 0; k + 1 < 60; ++k) {
      INFO(v[k] << " (" << df.at(v[k]) << ") before " << v[k + 1] << " (" << df.at(v[k + 1]) << ")");
      CHECK(df.at(v[k]) >= df.at(v[k + 1]));
      if (df.at(v[k]) == df.at(v[k + 1])) CHECK(v[k] < v[k + 1]);
    }
    // Nothing left out ranks above the last kept name.
    for (auto& [name, n] : df)
      if (std::find(v.begin(), v.begin() + 60, name) == v.begin() + 60 && name != "other" && name != "none")
        CHECK((n < df.at(v[59]) || (n == df.at(v[59]) && name > v[59])));
  }
}

TEST_CASE("multi_hot: document frequencies add up across workers") {
  // "a.com" is in 2 training rows on each of 3 workers (6), "b.com" in 4 rows
  // of one worker: a.com ranks first although no worker sees it most often.
  auto one_worker = [](std::vector<Row> rows) { return make_table(rows, std::vector<Role>(rows.size(), Role::Train)); };
  std::vector<TablePtr> shards = {
      one_worker({Names{"b.com", "a.com"}, Names{"b.com"}, Names{"b.com"}, Names{"b.com", "a.com", "a.com"}}),
      one_worker({Names{"a.com", "c.com"}, Names{"a.com"}, Names{}}),
      one_worker({Names{"c.com", "a.com"}, std::nullopt, Names{"a.com"}})};
  const auto f = fit_on(shards, {{"top_k", 2}});
  for (const auto& v : f.vocab) CHECK(v == Dictionary{"a.com", "b.com", "other", "none"});
  SUBCASE("the wire format round-trips and merges by name") {
    std::map<std::string, std::int64_t> into = {{"a.com", 1}};
    merge_counts(write_counts({{"a.com", 2}, {"z", 5}, {std::string("\0x", 2), 1}}), into);
    CHECK(into == std::map<std::string, std::int64_t>{{"a.com", 3}, {"z", 5}, {std::string("\0x", 2), 1}});
    CHECK_THROWS_WITH_AS(merge_counts(std::string("\x01\0\0", 3), into),
                         "multi_hot: malformed counts from another worker", Error);
  }
}

TEST_CASE("multi_hot: a worker without training rows, and none at all") {
  const auto rows = make_rows(800);
  const auto roles = random_roles(rows.size());
  auto t = make_table(rows, roles);
  std::vector<std::uint32_t> train_rows, other_rows;
  for (std::uint32_t i = 0; i < t->rows(); ++i) (roles[i] == Role::Train ? train_rows : other_rows).push_back(i);
  std::vector<TablePtr> shards = {std::make_shared<const Table>(t->take(other_rows)),
                                  std::make_shared<const Table>(t->take(train_rows))};
  const auto one = fit_on({t}, json::object());
  CHECK(fit_on(shards, json::object()).states == std::vector<std::string>(2, one.states[0]));
  CHECK_THROWS_WITH_AS(fit_on(deal_shards(std::make_shared<const Table>(t->take(other_rows)), 2, 1), json::object()),
                       "no row has the train role; multi_hot has nothing to fit on", DataError);
  CHECK(multi_hot_spec().distributed == PluginSpec::Distributed::Combined);
}

TEST_CASE("multi_hot: ties do not depend on the order names are first seen in") {
  const std::vector<Row> a = {Names{"y.com", "x.com"}, Names{"z.com"}, Names{"x.com", "y.com", "z.com"}};
  const std::vector<Row> b = {Names{"z.com"}, Names{"x.com", "y.com"}, Names{"z.com", "y.com", "x.com"}};
  auto ta = make_table(a, std::vector<Role>(3, Role::Train)), tb = make_table(b, std::vector<Role>(3, Role::Train));
  const auto rows = ta->rows_with(Role::Train);
  CHECK(top_names(ta->at("dns"), rows, 2, {}) == Names{"x.com", "y.com"});
  CHECK(top_names(tb->at("dns"), rows, 2, {}) == Names{"x.com", "y.com"});
  CHECK(document_frequency(ta->at("dns"), rows) == document_frequency(tb->at("dns"), rows));
}
