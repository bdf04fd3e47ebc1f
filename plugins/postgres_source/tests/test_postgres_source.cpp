// Tests of the postgres source against the server of the CTest fixture
// `postgres` (tests/dist/pg): PIPECTL_PG_DIR (default: the build tree's
// tests/dist/pg) holds `conninfo` and `demo.sqlite`, the SQLite file the
// fixture loaded. Without them every test fails: the fixture did not run.
#include "postgres_source.hpp"
#include "pq.hpp"
#include "sqlite_source.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>

using namespace pipectl;
using pipectl::plugins::PostgresSource;
using pipectl::plugins::SqliteSource;
namespace fs = std::filesystem;

namespace {

fs::path pg_dir() {
  const char* e = std::getenv("PIPECTL_PG_DIR");
  return e && *e ? fs::path(e) : fs::path(PIPECTL_PG_DIR);
}

std::string conninfo() {
  const auto f = pg_dir() / "conninfo";
  std::ifstream in(f);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty())
    FAIL("no " << f.string() << ": the CTest fixture `postgres` (tests/dist/pg: pg.start, pg.load) did not run");
  return line;
}

std::string demo_db() {
  const auto f = pg_dir() / "demo.sqlite";
  if (!fs::exists(f)) FAIL("no " << f.string() << ": the CTest fixture `postgres` (pg.load) did not run");
  return f.string();
}

Params pg_params(json more = json::object()) {
  if (!more.contains("conninfo")) more["conninfo"] = conninfo();
  return testing::params_with_defaults(plugins::postgres_spec(), std::move(more));
}

Params lite_params(json more = json::object()) {
  more["path"] = demo_db();
  return testing::params_with_defaults(plugins::sqlite_spec(), std::move(more));
}

Table read_pg(const Params& p, testing::TestContext& ctx) {
  PostgresSource s(p);
  Table t = s.run(ctx, {});
  t.check();
  return t;
}

Table read_lite(const Params& p, testing::TestContext& ctx) {
  SqliteSource s(p);
  Table t = s.run(ctx, {});
  t.check();
  return t;
}

std::string error_of(const Params& p) {
  testing::TestContext ctx;
  try {
    read_pg(p, ctx);
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no DataError>";
}

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

/// Column by column, value by value, dictionaries included.
void check_same(const Table& a, const Table& b) {
  REQUIRE(a.column_names() == b.column_names());
  REQUIRE(a.rows() == b.rows());
  for (std::size_t c = 0; c < a.num_columns(); ++c) {
    const Column& x = *a.columns()[c];
    const Column& y = *b.columns()[c];
    INFO("column " << x.name);
    CHECK(x.type == y.type);
    CHECK(x.valid == y.valid);
    CHECK(x.i64 == y.i64);
    CHECK(x.codes == y.codes);
    CHECK(x.offsets == y.offsets);
    REQUIRE(x.f64.size() == y.f64.size());
    std::size_t diff = 0;
    for (std::size_t i = 0; i < x.f64.size(); ++i) diff += !same_double(x.f64[i], y.f64[i]);
    CHECK(diff == 0);
    CHECK((x.dictionary == nullptr) == (y.dictionary == nullptr));
    if (x.dictionary && y.dictionary) CHECK(*x.dictionary == *y.dictionary);
  }
}

/// Counters other than the estimate-dependent ones.
std::map<std::string, std::int64_t> counters(const testing::TestContext& ctx) { return ctx.counters; }

/// A value of the fixture's conninfo ("port" -> "41234").
std::string conninfo_value(const std::string& key) {
  const std::string ci = " " + conninfo();
  const auto p = ci.find(" " + key + "=");
  REQUIRE(p != std::string::npos);
  const auto b = p + key.size() + 2, e = ci.find(' ', b);
  return ci.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

/// How messages name the fixture's database.
std::string fixture_db() {
  return "PostgreSQL database \"netcollector\" on 127.0.0.1:" + conninfo_value("port") + " as user \"pipectl\"";
}

/// A connection that may write (fixture set-up for the read-only tests).
void exec_rw(const std::string& sql) {
  pq::Conn c(PQconnectdb(conninfo().c_str()));
  REQUIRE(PQstatus(c.get()) == CONNECTION_OK);
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  pq::Result r(PQexec(c.get(), sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) FAIL("setup SQL failed: " << PQerrorMessage(c.get()));
}

std::int64_t count_rw(const std::string& sql) {
  pq::Conn c(PQconnectdb(conninfo().c_str()));
  REQUIRE(PQstatus(c.get()) == CONNECTION_OK);
  pq::Result r(PQexec(c.get(), sql.c_str()));
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  return std::stoll(PQgetvalue(r.get(), 0, 0));
}

/// One row as text, for comparing shards with the whole.
std::string row_text(const Table& t, std::size_t i) {
  std::string s;
  for (const auto& c : t.columns()) {
    s += c->name + "=";
    if (c->is_null(i)) s += "NULL";
    else if (c->type == DType::Int64) s += std::to_string(c->i64[i]);
    else if (c->type == DType::Float64) s += std::to_string(c->f64[i]);
    else if (c->type == DType::Categorical) s += c->label(i);
    else
      for (auto k = c->offsets[i]; k < c->offsets[i + 1]; ++k) s += (*c->dictionary)[c->codes[k]] + ",";
    s += ";";
  }
  return s;
}

}  // namespace

TEST_CASE("postgres_source: the loaded demo data gives the sqlite source's table, row for row") {
  for (bool labelled_only : {true, false}) {
    CAPTURE(labelled_only);
    testing::TestContext pctx, lctx;
    const Table p = read_pg(pg_params({{"labelled_only", labelled_only}}), pctx);
    const Table l = read_lite(lite_params({{"labelled_only", labelled_only}}), lctx);
    CHECK(p.rows() == (labelled_only ? 9688u : 10172u));
    CHECK(p.column_names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                       "starttime", "endtime", "manufacturer", "device_type", "dns"});
    check_same(p, l);
    CHECK(counters(pctx) == counters(lctx));
    CHECK(pctx.measures["result_format"] == "binary");
    if (!labelled_only) CHECK(pctx.counters["nulls.device_type"] == 484);
  }
  SUBCASE("list_distinct = false, a small fetch_rows and text results give the same") {
    testing::TestContext pctx, lctx;
    // categorical `bytes` forces text results (PostgreSQL's text form of a bigint is SQLite's)
    const Table p = read_pg(pg_params({{"list_distinct", false}, {"fetch_rows", 777}, {"types", {{"bytes", "categorical"}}}}), pctx);
    const Table l = read_lite(lite_params({{"list_distinct", false}, {"types", {{"bytes", "categorical"}}}}), lctx);
    check_same(p, l);
    CHECK(counters(pctx) == counters(lctx));
    CHECK(pctx.measures["result_format"] == "text");
  }
  SUBCASE("the sqlite source's default list query text means the same here") {
    testing::TestContext pctx, lctx;
    const Table p = read_pg(pg_params({{"list_query", plugins::kSqliteDefaultListQuery}}), pctx);
    const Table l = read_lite(lite_params(), lctx);
    check_same(p, l);
  }
  SUBCASE("key_min / key_max read one range") {
    testing::TestContext pctx, lctx;
    const Table p = read_pg(pg_params({{"key_min", 1000}, {"key_max", 2999}}), pctx);
    const Table l = read_lite(lite_params({{"key_min", 1000}, {"key_max", 2999}}), lctx);
    CHECK(p.rows() > 1000);
    check_same(p, l);
    CHECK(counters(pctx) == counters(lctx));
  }
  SUBCASE("a custom query and list query, with types") {
    const std::string q =
        "select s.sessionid, s.protocol, s.lensum * 1.5 as weight, d.device_type from sessions s "
        "join devices d on d.deviceid = s.deviceid where s.sessionid % 3 = 0 order by s.sessionid";
    const std::string lq = "select sessionid, upper(qname) from dns_queries order by sessionid, queryid";
    const std::string lql = "select sessionid, upper(qname) from dns_queries order by sessionid";
    testing::TestContext pctx, lctx;
    const Table p = read_pg(pg_params({{"query", q}, {"list_query", lq}, {"types", {{"protocol", "float64"}}}}), pctx);
    const Table l = read_lite(lite_params({{"query", q}, {"list_query", lql}, {"types", {{"protocol", "float64"}}}}), lctx);
    CHECK(p.at("weight").type == DType::Float64);  // numeric
    CHECK(p.at("protocol").type == DType::Float64);
    check_same(p, l);
  }
}

TEST_CASE("postgres_source: shards of 1, 2 and 3 workers are disjoint and make the whole") {
  testing::TestContext ctx0;
  const Table whole = read_pg(pg_params(), ctx0);
  std::map<std::int64_t, std::string> rows;
  for (std::size_t i = 0; i < whole.rows(); ++i) rows[whole.at("sessionid").i64[i]] = row_text(whole, i);

  for (const std::string shard : {"modulo", "range"})
    for (int world : {1, 2, 3}) {
      CAPTURE(shard);
      CAPTURE(world);
      std::mutex mu;
      std::vector<Table> parts(static_cast<std::size_t>(world));
      testing::ThreadGroup(world).run([&](Collective& c) {
        testing::TestContext ctx;
        ctx.coll = &c;
        Table t = read_pg(pg_params({{"shard", shard}}), ctx);
        std::lock_guard<std::mutex> lock(mu);
        parts[static_cast<std::size_t>(c.rank())] = std::move(t);
      });
      std::set<std::int64_t> seen;
      std::size_t total = 0;
      std::int64_t prev_max = std::numeric_limits<std::int64_t>::min();
      for (int r = 0; r < world; ++r) {
        const Table& t = parts[static_cast<std::size_t>(r)];
        CHECK(t.rows() > 0);
        total += t.rows();
        const auto& ids = t.at("sessionid").i64;
        std::size_t mismatched = 0, wrong_shard = 0;
        for (std::size_t i = 0; i < t.rows(); ++i) {
          CHECK(seen.insert(ids[i]).second);  // disjoint
          auto it = rows.find(ids[i]);
          if (it == rows.end() || it->second != row_text(t, i)) ++mismatched;
          if (shard == "modulo" && world > 1 && ids[i] % world != r) ++wrong_shard;
        }
        CHECK(mismatched == 0);
        CHECK(wrong_shard == 0);
        if (shard == "range" && t.rows() > 0) {  // contiguous ranges in rank order
          CHECK(ids.front() > prev_max);
          prev_max = ids.back();
        }
      }
      CHECK(total == whole.rows());
      CHECK(seen.size() == rows.size());  // the union is the whole
    }

  SUBCASE("a custom query and list query are sharded too (wrapped, their order kept)") {
    const std::string q = "select sessionid, lensum from sessions where sessionid % 2 = 1 order by sessionid";
    const std::string lq = "select sessionid as k, qname from dns_queries order by sessionid, queryid";
    for (const std::string shard : {"modulo", "range"}) {
      CAPTURE(shard);
      testing::TestContext c1;
      const Table all = read_pg(pg_params({{"query", q}, {"list_query", lq}}), c1);
      std::map<std::int64_t, std::string> want;
      for (std::size_t i = 0; i < all.rows(); ++i) want[all.at("sessionid").i64[i]] = row_text(all, i);
      std::map<std::int64_t, std::string> got;
      std::size_t total = 0;
      std::mutex mu;
      testing::ThreadGroup(3).run([&](Collective& c) {
        testing::TestContext ctx;
        ctx.coll = &c;
        Table t = read_pg(pg_params({{"query", q}, {"list_query", lq}, {"shard", shard}}), ctx);
        std::lock_guard<std::mutex> lock(mu);
        total += t.rows();
        for (std::size_t i = 0; i < t.rows(); ++i) got[t.at("sessionid").i64[i]] = row_text(t, i);
      });
      CHECK(total == all.rows());
      CHECK(got == want);
    }
  }
}

TEST_CASE("postgres_source: everything runs in a read-only transaction") {
  // What a query must not be able to do, in a schema of its own.
  exec_rw("create schema if not exists pipectl_test; "
          "create table if not exists pipectl_test.written (x int); "
          "create or replace function pipectl_test.write() returns int language sql as "
          "$$ insert into pipectl_test.written values (1); select 1 $$; "
          "create sequence if not exists pipectl_test.seq");
  const std::string db = fixture_db();
  auto q = [](const std::string& sql) { return pg_params({{"query", sql}, {"list_query", ""}}); };

  CHECK(error_of(q("select pipectl_test.write() as sessionid")) ==
        "query would write to " + db +
            ", which is read only (cannot execute INSERT in a read-only transaction); query: select "
            "pipectl_test.write() as sessionid");
  CHECK(error_of(q("select nextval('pipectl_test.seq') as n")) ==
        "query would write to " + db +
            ", which is read only (cannot execute nextval() in a read-only transaction); query: select "
            "nextval('pipectl_test.seq') as n");
  CHECK(error_of(q("insert into pipectl_test.written values (2)")) ==
        "query would write to " + db +
            ", which is read only (it is INSERT, and only a SELECT, WITH, VALUES or TABLE statement can run); query: "
            "insert into pipectl_test.written values (2)");
  CHECK(error_of(q("with d as (delete from pipectl_test.written returning x) select * from d")) ==
        "query would write to " + db +
            ", which is read only (DECLARE CURSOR must not contain data-modifying statements in WITH); query: with d "
            "as (delete from pipectl_test.written returning x) select * from d");
  CHECK(error_of(q("select 1 as x; delete from pipectl_test.written")) ==
        "query failed on " + db +
            ": cannot insert multiple commands into a prepared statement; query: select 1 as x; delete from "
            "pipectl_test.written");
  CHECK(error_of(pg_params({{"list_query", "select pipectl_test.write(), 'x'"}})) ==
        "list_query would write to " + db +
            ", which is read only (cannot execute INSERT in a read-only transaction); query: select "
            "pipectl_test.write(), 'x'");
  CHECK(count_rw("select count(*) from pipectl_test.written") == 0);
  CHECK(count_rw("select is_called::int from pipectl_test.seq") == 0);  // nextval never ran
}

TEST_CASE("postgres_source: connection errors name the server, never the password") {
  SUBCASE("nothing listens") {
    const std::string e = error_of(
        pg_params({{"conninfo", "host=127.0.0.1 port=1 dbname=netcollector user=pipectl password=s3cr3t-pw"}}));
    CHECK(e ==
          "cannot connect to PostgreSQL database \"netcollector\" on 127.0.0.1:1 as user \"pipectl\": connection to "
          "server at \"127.0.0.1\", port 1 failed: Connection refused; Is the server running on that host and "
          "accepting TCP/IP connections?");
  }
  SUBCASE("a database that does not exist") {
    std::string ci = conninfo();
    ci.replace(ci.find("dbname=netcollector"), 19, "dbname=nosuchdb");
    CHECK(error_of(pg_params({{"conninfo", ci + " password=s3cr3t-pw"}})) ==
          "cannot connect to PostgreSQL database \"nosuchdb\" on 127.0.0.1:" + conninfo_value("port") +
              " as user \"pipectl\": connection to server at \"127.0.0.1\", port " + conninfo_value("port") +
              " failed: FATAL:  database \"nosuchdb\" does not exist");
  }
  SUBCASE("a malformed string: libpq's message, withheld when the string has a password") {
    CHECK(error_of(pg_params({{"conninfo", "host=127.0.0.1 bogus=1"}})) ==
          "parameter \"conninfo\" is not a valid libpq connection string (invalid connection option \"bogus\")");
    CHECK(error_of(pg_params({{"conninfo", "host=127.0.0.1 password=s3cr3t pw"}})) ==
          "parameter \"conninfo\" is not a valid libpq connection string (libpq's message is withheld, as it may "
          "quote part of the password)");
  }
  SUBCASE("PG* environment variables fill what conninfo leaves out") {
    // conninfo "" = the environment only; PGPORT=1 points nowhere
    ::setenv("PGHOST", "127.0.0.1", 1);
    ::setenv("PGPORT", conninfo_value("port").c_str(), 1);
    ::setenv("PGUSER", "pipectl", 1);
    ::setenv("PGDATABASE", "netcollector", 1);
    testing::TestContext ctx;
    CHECK(read_pg(pg_params({{"conninfo", ""}}), ctx).rows() == 9688);
    ::setenv("PGPORT", "1", 1);
    CHECK(error_of(pg_params({{"conninfo", ""}})).find(
              "cannot connect to PostgreSQL database \"netcollector\" on 127.0.0.1:1 as user \"pipectl\"") == 0);
    for (const char* v : {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE"}) ::unsetenv(v);
  }
}

TEST_CASE("postgres_source: SQL errors and bad values") {
  SUBCASE("an unknown table") {
    CHECK(error_of(pg_params({{"query", "select * from nosuch"}})) ==
          "query failed on " + fixture_db() + ": relation \"nosuch\" does not exist; query: select * from nosuch");
  }
  SUBCASE("text that is no number in an int64 column") {
    CHECK(error_of(pg_params({{"query", "select sessionid, srcip from sessions order by sessionid"},
                              {"types", {{"srcip", "int64"}}}})) ==
          "column \"srcip\": text value \"192.168.1.173\" at row 0 (sessionid 1)");
  }
  SUBCASE("a fraction in an int64 column") {
    CHECK(error_of(pg_params({{"query", "select sessionid, starttime from sessions order by sessionid"},
                              {"types", {{"starttime", "int64"}}}}))
              .find("column \"starttime\": real value ") == 0);
  }
  SUBCASE("no rows") {
    CHECK(error_of(pg_params({{"query", "select sessionid from sessions where false"}})).find("query returned no rows") ==
          0);
  }
  SUBCASE("other types: their text form, categorical; bool int64") {
    testing::TestContext ctx;
    const Table t = read_pg(pg_params({{"query", "select 1::bigint as sessionid, date '2024-01-02' as d, true as b, "
                                                 "12345678901234567890.5::numeric as n, 0.1::real as r"},
                                       {"list_query", ""}}),
                            ctx);
    CHECK(t.at("d").type == DType::Categorical);
    CHECK(t.at("d").label(0) == "2024-01-02");
    CHECK(t.at("b").i64 == std::vector<std::int64_t>{1});
    CHECK(t.at("n").f64 == std::vector<double>{12345678901234567890.5});
    CHECK(t.at("r").f64 == std::vector<double>{static_cast<double>(0.1f)});
    CHECK(ctx.measures["result_format"] == "text");  // date has no binary decoder here
    testing::TestContext c2;  // the same real in binary results
    const Table t2 = read_pg(pg_params({{"query", "select 1::bigint as sessionid, 0.1::real as r"}, {"list_query", ""}}), c2);
    CHECK(c2.measures["result_format"] == "binary");
    CHECK(t2.at("r").f64 == t.at("r").f64);
  }
  SUBCASE("numeric in binary results") {
    testing::TestContext ctx;
    const Table t = read_pg(pg_params({{"query", "select x::bigint as sessionid, (x::numeric / 8 - 3) as n from "
                                                 "generate_series(1, 100) x order by x"},
                                       {"list_query", ""}}),
                            ctx);
    CHECK(ctx.measures["result_format"] == "binary");
    for (std::size_t i = 0; i < 100; ++i) CHECK(t.at("n").f64[i] == static_cast<double>(i + 1) / 8 - 3);
  }
}

TEST_CASE("postgres_source: cancellation stops the read") {
  testing::TestContext ctx;
  ctx.cancel = true;
  PostgresSource s(pg_params());
  CHECK_THROWS_AS(s.run(ctx, {}), Interrupted);

  SUBCASE("a statement running on the server is cancelled there") {
    testing::TestContext c2;
    PostgresSource slow(pg_params({{"query", "select 1::bigint as sessionid from pg_sleep(60)"}, {"list_query", ""}}));
    const auto t0 = std::chrono::steady_clock::now();
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      c2.cancel = true;
    });
    CHECK_THROWS_WITH_AS(slow.run(c2, {}), doctest::Contains("cancelled while reading PostgreSQL database"),
                         Interrupted);
    stopper.join();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  }
}

TEST_CASE("postgres_source: spec") {
  const auto spec = plugins::postgres_spec();
  CHECK(spec.distributed == PluginSpec::Distributed::Combined);
  CHECK(spec.find("query")->default_value == plugins::sqlite_spec().find("query")->default_value);
  CHECK_THROWS_WITH_AS(PostgresSource(testing::params_with_defaults(spec, {{"key_min", 1}})),
                       "parameters \"key_min\" and \"key_max\" go together", Error);
}

TEST_CASE("postgres_source: a custom query's schema by preparing it (no row fetched), unknown when the server is away") {
  // Running this query fails on its first row (division by zero): preparing it reads none.
  const std::string q = "select s.sessionid, s.lensum::float8 as bytes, 1 / (s.sessionid - s.sessionid) as boom, "
                        "'x'::varchar as tag from sessions s";
  const auto cfg = plugins::PostgresConfig::from(pg_params({{"query", q}, {"types", {{"tag", "categorical"}}}}));
  const Schema sc = cfg.schema();
  REQUIRE(sc.known);
  REQUIRE(sc.names() == std::vector<std::string>{"sessionid", "bytes", "boom", "tag", "dns"});
  CHECK(sc.find("sessionid")->type == DType::Int64);
  CHECK(sc.find("sessionid")->role == ColumnRole::Key);
  CHECK(sc.find("bytes")->type == DType::Float64);
  CHECK(sc.find("boom")->type == DType::Int64);
  CHECK(sc.find("tag")->type == DType::Categorical);
  CHECK(sc.find("dns")->type == DType::MultiCategorical);
  CHECK(error_of(pg_params({{"query", q}})).find("division by zero") != std::string::npos);
  // The names the read gives are those validation learnt.
  const auto ok = plugins::PostgresConfig::from(
      pg_params({{"query", "select sessionid, srcport, lensum from sessions order by sessionid limit 5"},
                 {"list_query", ""}}));
  testing::TestContext ctx;
  const Table t = read_pg(pg_params({{"query", "select sessionid, srcport, lensum from sessions order by sessionid "
                                               "limit 5"},
                                     {"list_query", ""}}),
                          ctx);
  CHECK(ok.schema().names() == t.column_names());
  // A server that cannot be reached: the schema is unknown (learnt at run time), validation is not refused.
  const auto away = plugins::PostgresConfig::from(
      pg_params({{"query", q}, {"conninfo", "host=127.0.0.1 port=1 dbname=netcollector user=pipectl"}}));
  CHECK_FALSE(away.schema().known);
  // A statement that writes is not prepared: the read refuses it with its own message.
  CHECK_FALSE(plugins::PostgresConfig::from(pg_params({{"query", "delete from sessions"}})).schema().known);
}

TEST_CASE("postgres_source: each session's device, for predict --by device, as the sqlite source gives it") {
  const Table pg = plugins::PostgresConfig::from(pg_params()).group_details();
  const Table lite = plugins::SqliteConfig::from(lite_params()).group_details();
  REQUIRE(lite.num_columns() == 6);
  CHECK(lite.column_names() ==
        std::vector<std::string>{"sessionid", "deviceid", "mac", "manufacturer", "hostname", "device_type"});
  CHECK(lite.rows() > 1000);
  check_same(pg, lite);
  const Table away = plugins::PostgresConfig::from(
                         pg_params({{"conninfo", "host=127.0.0.1 port=1 dbname=netcollector user=pipectl"}}))
                         .group_details();
  CHECK(away.num_columns() == 0);
}

#ifdef NETCOLLECTOR_PGLOAD
namespace {

std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Run netcollector-pgload with `args`; its exit code and output (stdout and stderr).
int pgload(const std::string& args, std::string& out) {
  out.clear();
  std::FILE* f = ::popen((sh_quote(NETCOLLECTOR_PGLOAD) + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(f);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = ::pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("netcollector-pgload: copies every table in one transaction, and the source reads them back the same") {
  // Into a schema of its own (search_path through the connection's options), not the fixture's tables.
  exec_rw("drop schema if exists pgload_test cascade; create schema pgload_test");
  const std::string ci = conninfo() + " options='-csearch_path=pgload_test'";
  const std::string from = "--from " + sh_quote(demo_db()) + " --conninfo " + sh_quote(ci);
  std::string out;

  REQUIRE(pgload(from, out) == 0);
  CHECK(out.find("devices              27 rows") != std::string::npos);
  CHECK(out.find("sessions          10172 rows") != std::string::npos);
  CHECK(out.find("dns_queries        3253 rows") != std::string::npos);
  CHECK(out.find("(binary)") != std::string::npos);
  CHECK(count_rw("select count(*) from pgload_test.sessions") == 10172);
  // the identity continues after the copied rowids
  CHECK(count_rw("select (nextval(pg_get_serial_sequence('pgload_test.dns_queries', 'queryid')) = "
                 "max(queryid) + 1)::int from pgload_test.dns_queries") == 1);

  CHECK(pgload(from, out) == 1);
  CHECK(out == "netcollector-pgload: table \"devices\" already holds rows (--drop replaces the tables)\n");

  REQUIRE(pgload(from + " --drop --text --quiet", out) == 0);
  CHECK(out.empty());
  testing::TestContext pctx, lctx;
  check_same(read_pg(pg_params({{"conninfo", ci}, {"labelled_only", false}}), pctx),
             read_lite(lite_params({{"labelled_only", false}}), lctx));

  CHECK(pgload("--conninfo x", out) == 2);
  CHECK(out.find("netcollector-pgload: --from is required\n") == 0);
  CHECK(pgload("--from /nonexistent.sqlite --conninfo " + sh_quote(ci), out) == 1);
  CHECK(out.find("netcollector-pgload: cannot open /nonexistent.sqlite: ") == 0);
  CHECK(pgload("--from " + sh_quote(demo_db()) + " --conninfo 'host=127.0.0.1 port=1 user=u dbname=d password=pw1'",
               out) == 1);
  CHECK(out == "netcollector-pgload: cannot connect to PostgreSQL database \"d\" on 127.0.0.1:1 as user \"u\": "
               "connection to server at \"127.0.0.1\", port 1 failed: Connection refused; Is the server running on "
               "that host and accepting TCP/IP connections?\n");
  exec_rw("drop schema pgload_test cascade");
}
#endif
