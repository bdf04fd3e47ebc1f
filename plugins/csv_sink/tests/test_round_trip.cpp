// csv_sink -> csv source gives back the same table; and the demo database
// exported through csv_sink reads back as the table the sqlite source gives.
#include "csv_sink.hpp"
#include "csv_source.hpp"
#include "sqlite_source.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

using namespace pipectl;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("roundtrip-test") {}
};

DictionaryPtr dict(Dictionary d) { return std::make_shared<const Dictionary>(std::move(d)); }

bool same_double(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;  // -0.0 and 0.0 differ
}

/// Same names, order, types, NULLs and values (labels, list items); with
/// `same_dictionaries` the dictionaries and codes must match too.
void check_same(const Table& a, const Table& b, bool same_dictionaries) {
  REQUIRE(a.column_names() == b.column_names());
  REQUIRE(a.rows() == b.rows());
  for (std::size_t j = 0; j < a.num_columns(); ++j) {
    const Column& x = *a.columns()[j];
    const Column& y = *b.columns()[j];
    CAPTURE(x.name);
    REQUIRE(dtype_name(x.type) == std::string(dtype_name(y.type)));
    for (std::size_t i = 0; i < a.rows(); ++i) {
      CAPTURE(i);
      const bool nx = x.is_null(i) || (x.type == DType::Categorical && x.codes[i] < 0);
      const bool ny = y.is_null(i) || (y.type == DType::Categorical && y.codes[i] < 0);
      REQUIRE(nx == ny);
      if (nx) continue;
      switch (x.type) {
        case DType::Int64: REQUIRE(x.i64[i] == y.i64[i]); break;
        case DType::Float64: REQUIRE(same_double(x.f64[i], y.f64[i])); break;
        case DType::Categorical: REQUIRE(x.label(i) == y.label(i)); break;
        case DType::MultiCategorical: {
          REQUIRE(x.offsets[i + 1] - x.offsets[i] == y.offsets[i + 1] - y.offsets[i]);
          for (auto k = x.offsets[i], l = y.offsets[i]; k < x.offsets[i + 1]; ++k, ++l)
            REQUIRE((*x.dictionary)[x.codes[k]] == (*y.dictionary)[y.codes[l]]);
          break;
        }
      }
    }
    if (same_dictionaries && x.dictionary) {
      CHECK(*x.dictionary == *y.dictionary);
      CHECK(x.codes == y.codes);
      CHECK(x.offsets == y.offsets);
    }
    CHECK(x.valid.empty() == y.valid.empty());
  }
}

Table export_and_read(const Table& t, const std::string& path, json sink_params, json source_params) {
  sink_params["path"] = path;
  source_params["path"] = path;
  testing::TestContext ctx;
  plugins::CsvSink sink(testing::options_with_defaults<plugins::CsvSinkOptions>(plugins::csv_sink_spec(), sink_params));
  sink.run(ctx, {std::make_shared<const Table>(t)});
  plugins::CsvSource src(testing::options_with_defaults<plugins::CsvOptions>(plugins::csv_spec(), source_params));
  Table back = src.run(ctx, {});
  back.check();
  return back;
}

}  // namespace

TEST_CASE("csv_sink: a table written and read back by the csv source is identical") {
  TempDir d;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto cat = Column::make_cat(
      "label", {0, 1, 2, 3, 4, 5, 6, 7, -1},
      dict({"plain", "443", "", "comma, here", "quote \" here", "line\r\nbreak", " padded ", "Ünïcødé ✓"}));
  cat.valid = {1, 1, 1, 1, 1, 1, 1, 1, 0};
  auto tags = Column::make_multi("tags", {0, 2, 2, 3, 3, 5, 6, 6, 7, 8}, {0, 1, 2, 3, 1, 4, 0, 5},
                                 dict({"a.com", "b.com", "x,y", "say \"q\"", "443", "7"}));
  tags.valid = {1, 1, 1, 0, 1, 1, 1, 1, 1};
  Table t({std::make_shared<const Column>(
               Column::make_i64("id", {1, -2, 0, std::numeric_limits<std::int64_t>::max(),
                                       std::numeric_limits<std::int64_t>::min(), 6, 7, 8, 9},
                                {1, 1, 1, 1, 1, 0, 1, 1, 1})),
           std::make_shared<const Column>(Column::make_f64(
               "value", {0.1, 100.0, -0.0, 1.0 / 3.0, 1e300, 5e-324, nan, inf, -inf}, {1, 1, 1, 1, 1, 1, 1, 1, 0})),
           std::make_shared<const Column>(Column::make_f64("whole", {1, 2, 3, 4, 5, 6, 7, 8, 9})),
           std::make_shared<const Column>(std::move(cat)), std::make_shared<const Column>(std::move(tags))});
  t.check();

  SUBCASE("with %.17g floats") {
    check_same(t, export_and_read(t, d / "t.csv", json::object(), {{"list_columns", {"tags"}}}), true);
  }
  SUBCASE("with shortest floats, ';' and '+'") {
    check_same(t,
               export_and_read(t, d / "t.csv", {{"float_format", "shortest"}, {"delimiter", ";"}, {"list_separator", "+"}},
                               {{"list_columns", {"tags"}}, {"delimiter", ";"}, {"list_separator", "+"}}),
               true);
  }
  SUBCASE("one column with NULLs (blank lines)") {
    Table one({std::make_shared<const Column>(Column::make_i64("a", {1, 0, 3, 0}, {1, 0, 1, 0}))});
    check_same(one, export_and_read(one, d / "one.csv", json::object(), json::object()), true);
  }
}

namespace {

void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, ("pragma synchronous = off;" + sql).c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
}

}  // namespace

TEST_CASE("csv_sink: the demo database exported to CSV reads back as the sqlite source's table") {
  TempDir d;
  const std::string db = d / "demo.sqlite";
  // A NetCollector-shaped database with pseudo-random sessions.
  run_sql(db, R"sql(
    create table devices(mac text primary key, manufacturer text, device_type text);
    create table sessions(sessionid integer primary key, mac text, srcport integer, dstport integer,
                          lensum integer, pktcount integer, starttime real, endtime real);
    create table dns_queries(id integer primary key, sessionid integer not null, qname text);
    create index dns_queries_session on dns_queries(sessionid);
    create view v_session_mnf_devicetype as
      select s.sessionid, d.manufacturer, d.device_type from sessions s left join devices d on d.mac = s.mac;
    insert into devices values ('m0', 'Philips', 'Hue Bridge'), ('m1', 'Apple', 'Other'), ('m2', NULL, 'Camera'),
                               ('m3', 'Amazon', 'Echo, 2nd gen'), ('m4', 'Unknown', NULL), ('m5', '3Com', '"Smart" plug');
    with recursive n(v) as (select 1 union all select v + 1 from n where v < 3000)
      insert into sessions select v, 'm' || (v * 7 % 6), case when v % 97 = 0 then null else 40000 + v % 20000 end,
                                  (v * 13) % 1024, (v * 7919) % 100000, 1 + v % 50,
                                  1600000000.0 + v * 0.37, case when v % 101 = 0 then null else 1600000000.0 + v * 0.37 + (v % 13) / 7.0 end
                             from n;
    with recursive n(v) as (select 1 union all select v + 1 from n where v < 9000)
      insert into dns_queries(sessionid, qname)
        select (v * 31) % 3100, 'host' || (v % 57) || '.example' || case when v % 5 = 0 then '.com' else '' end from n;
  )sql");
  testing::TestContext ctx;
  plugins::SqliteSource src(testing::params_with_defaults(plugins::sqlite_spec(), {{"path", db}}));
  Table from_db = src.run(ctx, {});
  REQUIRE(from_db.rows() > 2000);
  REQUIRE(from_db.at("dns").codes.size() > 1000);

  const std::string csv = d / "demo.csv";
  json types = {{"sessionid", "int64"}, {"srcport", "int64"},  {"dstport", "int64"},
                {"bytes", "int64"},     {"packets", "int64"},  {"starttime", "float64"},
                {"endtime", "float64"}, {"manufacturer", "categorical"}, {"device_type", "categorical"},
                {"dns", "multi_categorical"}};
  // The NetCollector export's list column is named (the csv source assumes none).
  const json dns = {{"list_columns", {"dns"}}};
  SUBCASE("types inferred") { check_same(from_db, export_and_read(from_db, csv, json::object(), dns), true); }
  SUBCASE("types declared") {
    check_same(from_db, export_and_read(from_db, csv, json::object(), {{"types", types}, {"list_columns", {"dns"}}}), true);
  }
  SUBCASE("the csv source's schema with types matches the sqlite source's") {
    auto sa = pipectl::testing::schema_of(plugins::sqlite_spec(), testing::params_with_defaults(plugins::sqlite_spec(), {{"path", db}})).schema;
    auto sb = pipectl::testing::schema_of(plugins::csv_spec(), testing::params_with_defaults(plugins::csv_spec(), {{"path", csv}, {"types", types}, {"list_columns", {"dns"}}})).schema;
    CHECK(sa.known);
    CHECK(sb.known);
    auto a = sa.names(), b = sb.names();
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a == b);
    for (const auto& c : sa.columns) CHECK(sb.find(c.name)->type == c.type);
  }
}
