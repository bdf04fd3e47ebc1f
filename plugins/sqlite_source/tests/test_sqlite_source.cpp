#include "sqlite_source.hpp"

#include <netcollector_query.hpp>

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <iterator>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

using namespace pipectl;
using pipectl::plugins::SqliteSource;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("sqlite-test") {}
};

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    FAIL("sql failed: " << m << " in " << sql);
  }
}

void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  exec(db, "pragma synchronous = off;" + sql);
  sqlite3_close(db);
}

// A small NetCollector-shaped database.
const char* kSchema = R"sql(
create table devices(mac text primary key, manufacturer text, device_type text);
create table sessions(sessionid integer primary key, mac text, srcport integer, dstport integer,
                      lensum integer, pktcount integer, starttime real, endtime real);
create table dns_queries(id integer primary key, sessionid integer not null, qname text);
create index dns_queries_session on dns_queries(sessionid);
create view v_session_mnf_devicetype as
  select s.sessionid, d.manufacturer, d.device_type from sessions s left join devices d on d.mac = s.mac;
)sql";

const char* kData = R"sql(
insert into devices values ('aa', 'Philips', 'Hue Bridge'), ('bb', 'Apple', 'Other'),
                           ('cc', NULL, 'Camera'), ('dd', 'Unknown', NULL);
insert into sessions values
  (1, 'aa', 51000, 443, 1200, 10, 100.0, 101.5),
  (2, 'bb', 51001, 80, 300, 3, 102.0, 102.25),
  (3, 'dd', 51002, 53, 90, 1, 103.0, 103.0),
  (4, 'cc', 51003, 554, 99999, 120, 104.0, NULL),
  (5, 'aa', NULL, 443, 40, 1, 105.0, 105.5),
  (7, 'bb', 51005, 443, 5000, 12, 106.0, 109.0);
insert into dns_queries(sessionid, qname) values
  (1, 'time.hue.com'), (1, 'api.hue.com'), (1, 'time.hue.com'),
  (2, 'apple.com'),
  (3, 'unlabelled.example'),
  (6, 'orphan.example'),
  (7, 'icloud.com'), (7, NULL), (7, 'apple.com');
)sql";

std::string make_db(const TempDir& d, const std::string& name = "nc.sqlite", const std::string& extra = "") {
  auto p = d / name;
  run_sql(p, std::string(kSchema) + kData + extra);
  return p;
}

Params params(const std::string& path, json more = json::object()) {
  more["path"] = path;
  return testing::params_with_defaults(plugins::sqlite_spec(), std::move(more));
}

Table read(const Params& p, testing::TestContext& ctx) {
  SqliteSource s(p);
  Table t = s.run(ctx, {});
  t.check();
  return t;
}

using testing::labels;
using testing::list;

std::string error_of(const Params& p, testing::TestContext& ctx) {
  try {
    read(p, ctx);
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no DataError>";
}

}  // namespace

TEST_CASE("sqlite_source: the default query reads the NetCollector columns with dns lists") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;
  Table t = read(params(db), ctx);

  CHECK(t.column_names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                     "starttime", "endtime", "manufacturer", "device_type", "dns"});
  REQUIRE(t.rows() == 5);  // session 3 has no device_type and is left out
  CHECK(ctx.measures["expected_rows"] == 7);  // estimated from max(rowid) of sessions

  SUBCASE("types come from the declared column types, through the view") {
    CHECK(t.at("sessionid").type == DType::Int64);
    CHECK(t.at("srcport").type == DType::Int64);
    CHECK(t.at("bytes").type == DType::Int64);
    CHECK(t.at("starttime").type == DType::Float64);
    CHECK(t.at("manufacturer").type == DType::Categorical);
    CHECK(t.at("device_type").type == DType::Categorical);
    CHECK(t.at("dns").type == DType::MultiCategorical);
  }
  SUBCASE("values") {
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{1, 2, 4, 5, 7});
    CHECK(t.at("bytes").i64 == std::vector<std::int64_t>{1200, 300, 99999, 40, 5000});
    CHECK(t.at("packets").i64 == std::vector<std::int64_t>{10, 3, 120, 1, 12});
    CHECK(t.at("starttime").f64 == std::vector<double>{100.0, 102.0, 104.0, 105.0, 106.0});
    CHECK(labels(t.at("device_type")) ==
          std::vector<std::string>{"Hue Bridge", "Other", "Camera", "Hue Bridge", "Other"});
    // dictionary in first-seen order
    CHECK(*t.at("device_type").dictionary == Dictionary{"Hue Bridge", "Other", "Camera"});
  }
  SUBCASE("NULLs are in the validity bitmap and counted") {
    const auto& src = t.at("srcport");
    CHECK(src.valid == std::vector<std::uint8_t>{1, 1, 1, 0, 1});
    CHECK(src.null_count() == 1);
    CHECK(t.at("endtime").is_null(2));
    CHECK(std::isnan(t.at("endtime").number(2)));
    const auto& m = t.at("manufacturer");
    CHECK(m.codes[2] == -1);
    CHECK(m.is_null(2));
    CHECK(m.null_count() == 1);
    CHECK(t.at("bytes").valid.empty());
    CHECK(ctx.counters["nulls.srcport"] == 1);
    CHECK(ctx.counters["nulls.endtime"] == 1);
    CHECK(ctx.counters["nulls.manufacturer"] == 1);
    CHECK(ctx.counters.count("nulls.bytes") == 0);
  }
  SUBCASE("dns: merged by sessionid, distinct, empty when nothing was asked") {
    const auto& dns = t.at("dns");
    CHECK(list(dns, 0) == std::vector<std::string>{"time.hue.com", "api.hue.com"});
    CHECK(list(dns, 1) == std::vector<std::string>{"apple.com"});
    CHECK(list(dns, 2).empty());
    CHECK(list(dns, 3).empty());
    CHECK(list(dns, 4) == std::vector<std::string>{"icloud.com", "apple.com"});
    CHECK(dns.valid.empty());
    CHECK(ctx.counters["nulls.dns"] == 1);
    // sessions 3 (unlabelled) and 6 (no session) are not in the result, nor their names in the dictionary
    CHECK(ctx.counters["dropped.unmatched_key.dns"] == 2);
    CHECK(*dns.dictionary == Dictionary{"time.hue.com", "api.hue.com", "apple.com", "icloud.com"});
  }
  SUBCASE("list_distinct = false keeps repeats") {
    testing::TestContext c2;
    Table t2 = read(params(db, {{"list_distinct", false}}), c2);
    CHECK(list(t2.at("dns"), 0) == std::vector<std::string>{"time.hue.com", "api.hue.com", "time.hue.com"});
  }
  SUBCASE("identical input gives an identical table") {
    testing::TestContext c2;
    Table t2 = read(params(db), c2);
    for (const auto& c : t.columns()) {
      const auto& o = t2.at(c->name);
      CHECK(o.i64 == c->i64);
      CHECK(o.codes == c->codes);
      CHECK(o.offsets == c->offsets);
      CHECK(o.valid == c->valid);
      if (c->dictionary) CHECK(*o.dictionary == *c->dictionary);
      CHECK(o.f64.size() == c->f64.size());
    }
  }
  SUBCASE("an empty list_query makes no list column") {
    testing::TestContext c2;
    Table t2 = read(params(db, {{"list_query", ""}}), c2);
    CHECK_FALSE(t2.has("dns"));
    CHECK(t2.num_columns() == 9);
  }
}

TEST_CASE("sqlite_source: schema, learnt by preparing the query") {
  auto spec = plugins::sqlite_spec();
  CHECK(spec.min_inputs == 0);
  CHECK(spec.max_inputs == 0);
  CHECK(spec.find("path")->is_required);
  TempDir d;
  const auto db = make_db(d);
  auto schema = [&](const Params& p) { return testing::schema_of(spec, p).schema; };
  SUBCASE("default queries: the seed columns and dns, with their declared types") {
    auto k = schema(params(db));
    CHECK(k.known);
    CHECK(k.names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets", "starttime",
                                                "endtime", "manufacturer", "device_type", "dns"});
    CHECK(k.find("bytes")->type == DType::Int64);
    CHECK(k.find("starttime")->type == DType::Float64);
    CHECK(k.find("manufacturer")->type == DType::Categorical);
    CHECK(k.find("dns")->type == DType::MultiCategorical);
    CHECK(k.find("sessionid")->role == ColumnRole::Key);
  }
  SUBCASE("a database that is not there: known at run time") {
    CHECK_FALSE(schema(params((d.path / "absent.sqlite").string())).known);
  }
  SUBCASE("a custom query: its columns and declared types") {
    auto k = schema(params(db, {{"query", "select sessionid, lensum as b, starttime from sessions order by sessionid"}}));
    CHECK(k.known);
    CHECK(k.names() == std::vector<std::string>{"sessionid", "b", "starttime", "dns"});
    CHECK(k.find("b")->type == DType::Int64);
    // An expression's type is decided by its values: the whole schema waits for the rows.
    CHECK_FALSE(schema(params(db, {{"query", "select sessionid, 1 + 1 as two from sessions order by sessionid"}})).known);
    // `types` decides it.
    CHECK(schema(params(db, {{"query", "select sessionid, 1 + 1 as two from sessions order by sessionid"},
                             {"types", {{"two", "float64"}}}}))
              .find("two")
              ->type == DType::Float64);
  }
  SUBCASE("no list query, no list column") {
    auto k = schema(params(db, {{"list_query", ""}}));
    CHECK(k.columns.size() == 9);
    CHECK(k.columns.back().name == "device_type");
  }
  SUBCASE("list_column renames the list column") {
    CHECK(schema(params(db, {{"list_column", "names"}})).columns.back().name == "names");
  }
  SUBCASE("a bad type name is refused when the stage is made") {
    auto p = params("x.sqlite", {{"types", {{"bytes", "int"}}}});
    CHECK_THROWS_WITH_AS(SqliteSource{p}, "parameter \"types\": column \"bytes\" has type \"int\"; expected "
                                          "\"int64\", \"float64\" or \"categorical\"",
                         Error);
    CHECK_THROWS_AS(schema(p), Error);
  }
}

TEST_CASE("sqlite_source: types from values, overrides and conversions") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;

  SUBCASE("expressions have no declared type: the first non-NULL value decides, earlier NULLs backfilled") {
    auto t = read(params(db, {{"list_query", ""},
                              {"query",
                               "select sessionid, case when sessionid < 3 then null else lensum * 1.5 end as r, "
                               "case when sessionid = 1 then null else 'm' || mac end as t, "
                               "case when sessionid < 4 then null else pktcount + 1 end as i, "
                               "null as n from sessions order by sessionid"}}),
                  ctx);
    REQUIRE(t.rows() == 6);
    const auto& r = t.at("r");
    CHECK(r.type == DType::Float64);
    CHECK(r.valid == std::vector<std::uint8_t>{0, 0, 1, 1, 1, 1});
    CHECK(r.f64[2] == 135.0);
    CHECK(t.at("t").type == DType::Categorical);
    CHECK(labels(t.at("t")) == std::vector<std::string>{"<null>", "mbb", "mdd", "mcc", "maa", "mbb"});
    const auto& i = t.at("i");
    CHECK(i.type == DType::Int64);
    CHECK(i.i64 == std::vector<std::int64_t>{0, 0, 0, 121, 2, 13});
    CHECK(i.valid == std::vector<std::uint8_t>{0, 0, 0, 1, 1, 1});
    SUBCASE("an all-NULL column is float64, all NULL") {
      const auto& n = t.at("n");
      CHECK(n.type == DType::Float64);
      CHECK(n.null_count() == 6);
      CHECK(ctx.counters["nulls.n"] == 6);
    }
  }
  SUBCASE("types overrides the declared type") {
    auto t = read(params(db, {{"types", {{"dstport", "categorical"}, {"bytes", "float64"}, {"starttime", "int64"}}}}),
                  ctx);
    CHECK(t.at("dstport").type == DType::Categorical);
    CHECK(labels(t.at("dstport")) == std::vector<std::string>{"443", "80", "554", "443", "443"});
    CHECK(t.at("bytes").type == DType::Float64);
    CHECK(t.at("bytes").f64[2] == 99999.0);
    CHECK(t.at("starttime").type == DType::Int64);  // 100.0 etc. are integral reals
    CHECK(t.at("starttime").i64[0] == 100);
  }
  SUBCASE("a types entry for a column the query does not return") {
    CHECK(error_of(params(db, {{"types", {{"nope", "int64"}}}}), ctx) ==
          "parameter \"types\" names column \"nope\", which the query does not return (columns: sessionid, "
          "srcport, dstport, bytes, packets, starttime, endtime, manufacturer, device_type)");
  }
  SUBCASE("a numeric string in a numeric column is converted") {
    auto t = read(params(db, {{"query", "select sessionid, ' 443 ' as p, '+2.5e1' as f from sessions order by sessionid"},
                              {"types", {{"p", "int64"}, {"f", "float64"}}}}),
                  ctx);
    CHECK(t.at("p").i64 == std::vector<std::int64_t>(6, 443));
    CHECK(t.at("f").f64 == std::vector<double>(6, 25.0));
  }
  SUBCASE("a text value in a numeric column is an error naming the column, row and sessionid") {
    run_sql(db, "update sessions set srcport = 'abc' where sessionid = 5;");
    CHECK(error_of(params(db), ctx) == "column \"srcport\": text value \"abc\" at row 3 (sessionid 5)");
    SUBCASE("also in a float64 column") {
      run_sql(db, "update sessions set endtime = '12:30' where sessionid = 7;");
      CHECK(error_of(params(db, {{"types", {{"srcport", "categorical"}}}}), ctx) ==
            "column \"endtime\": text value \"12:30\" at row 4 (sessionid 7)");
    }
  }
  SUBCASE("a non-integral real in an int64 column is an error") {
    run_sql(db, "update sessions set lensum = 2.5 where sessionid = 2;");
    CHECK(error_of(params(db), ctx) == "column \"bytes\": real value 2.5 at row 1 (sessionid 2) is not an integer");
  }
  SUBCASE("a blob is an error") {
    run_sql(db, "update devices set manufacturer = x'00ff' where mac = 'bb';");
    CHECK(error_of(params(db), ctx) == "column \"manufacturer\": blob value at row 1 (sessionid 2)");
  }
  SUBCASE("without a key column the row alone is named") {
    run_sql(db, "update sessions set srcport = 'x' where sessionid = 1;");
    CHECK(error_of(params(db, {{"list_query", ""}, {"query", "select srcport from sessions order by sessionid"}}),
                   ctx) == "column \"srcport\": text value \"x\" at row 0");
  }
}

TEST_CASE("sqlite_source: file errors") {
  TempDir d;
  testing::TestContext ctx;
  SUBCASE("missing file") {
    CHECK(error_of(params(d / "none.sqlite"), ctx) == "database \"" + d / "none.sqlite" + "\" not found");
  }
  SUBCASE("a text file") {
    std::ofstream(d / "t.sqlite") << "sessionid,bytes\n1,2\n";
    CHECK(error_of(params(d / "t.sqlite"), ctx) ==
          "database \"" + d / "t.sqlite" + "\" is not a SQLite database (it does not start with the SQLite header)");
  }
  SUBCASE("an empty file") {
    std::ofstream(d / "e.sqlite").flush();
    CHECK(error_of(params(d / "e.sqlite"), ctx) ==
          "database \"" + d / "e.sqlite" + "\" is not a SQLite database (the file is empty)");
  }
  SUBCASE("a directory") {
    CHECK(error_of(params(d.path.string()), ctx) == "database \"" + d.path.string() + "\" is not a regular file");
  }
  SUBCASE("a truncated database") {
    // enough rows for several pages
    std::string sql = std::string(kSchema) + kData;
    sql += "with recursive n(v) as (select 1 union all select v + 1 from n where v < 5000) "
           "insert into sessions(sessionid, mac, srcport, dstport, lensum, pktcount, starttime, endtime) "
           "select v + 100, 'aa', v, 443, v * 10, 1, v, v + 1 from n;";
    auto p = d / "big.sqlite";
    run_sql(p, sql);
    const auto full = fs::file_size(p);
    REQUIRE(full > 8 * 4096);
    SUBCASE("cut in half") {
      const auto half = full / 2;
      fs::resize_file(p, half);
      CHECK(error_of(params(p), ctx) == "database \"" + p + "\" is truncated: the file has " + std::to_string(half) +
                                            " bytes, its header says " + std::to_string(full / 4096) +
                                            " pages of 4096 bytes");
    }
    SUBCASE("cut inside the header") {
      fs::resize_file(p, 50);
      CHECK(error_of(params(p), ctx) ==
            "database \"" + p + "\" is truncated: the file has 50 bytes, less than the 100-byte header");
    }
    SUBCASE("a page overwritten with garbage") {
      {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(full / 2));
        std::string junk(4096, '\x5a');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
      }
      CHECK(error_of(params(p), ctx) == "database \"" + p + "\" is corrupt or truncated (database disk image is malformed)");
    }
  }
  SUBCASE("a database locked by another connection's write transaction") {
    auto p = make_db(d);
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(p.c_str(), &other) == SQLITE_OK);
    exec(other, "BEGIN EXCLUSIVE");
    const auto t0 = std::chrono::steady_clock::now();
    std::string e = error_of(params(p, {{"busy_timeout_ms", 300}}), ctx);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(e == "database \"" + p + "\" is locked by another connection (gave up after 300 ms): database is locked");
    CHECK(waited >= std::chrono::milliseconds(250));
    exec(other, "COMMIT");
    sqlite3_close(other);
    SUBCASE("and reads once the lock is gone") { CHECK(read(params(p), ctx).rows() == 5); }
  }
}

TEST_CASE("sqlite_source: SQL errors name SQLite's message and the query") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;
  SUBCASE("missing table") {
    run_sql(db, "drop table dns_queries;");
    CHECK(error_of(params(db), ctx) == "list_query failed on database \"" + db +
                                           "\": no such table: dns_queries; query: " +
                                           plugins::kSqliteDefaultListQuery);
  }
  SUBCASE("missing column") {
    std::string q = "select sessionid, nosuch from sessions order by sessionid";
    CHECK(error_of(params(db, {{"query", q}}), ctx) ==
          "query failed on database \"" + db + "\": no such column: nosuch; query: " + q);
  }
  SUBCASE("missing view (a database of another shape)") {
    run_sql(db, "drop view v_session_mnf_devicetype;");
    CHECK(error_of(params(db), ctx) == "query failed on database \"" + db +
                                           "\": no such table: v_session_mnf_devicetype; query: " +
                                           plugins::kSqliteDefaultQuery);
  }
  SUBCASE("an empty result") {
    run_sql(db, "delete from sessions;");
    CHECK(error_of(params(db), ctx) ==
          "query returned no rows (database \"" + db + "\"); query: " + plugins::kSqliteDefaultQuery);
  }
  SUBCASE("two result columns with one name") {
    std::string q = "select s.sessionid, d.sessionid from sessions s join v_session_mnf_devicetype d using (sessionid)";
    CHECK(error_of(params(db, {{"query", q}}), ctx) ==
          "query returns two columns named \"sessionid\" (give one another name with \"as\"); query: " + q);
  }
}

TEST_CASE("sqlite_source: the database cannot be written") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;
  SUBCASE("a writing statement is refused") {
    std::string q = "delete from sessions returning sessionid";
    CHECK(error_of(params(db, {{"query", q}}), ctx) ==
          "query would write to database \"" + db + "\", which is opened read-only; query: " + q);
  }
  SUBCASE("a second statement is refused") {
    std::string q = "select sessionid from sessions order by sessionid; drop table sessions";
    CHECK(error_of(params(db, {{"query", q}, {"list_query", ""}}), ctx) ==
          "query must be a single statement; it continues with \"drop table sessions\"");
  }
  SUBCASE("a trailing semicolon or comment is fine") {
    auto t = read(params(db, {{"query", "select sessionid from sessions order by sessionid;"}}), ctx);
    CHECK(t.rows() == 6);
    auto u = read(params(db, {{"query", "select sessionid from sessions order by sessionid; -- all of them\n;"},
                              {"count_rows", true}}),
                  ctx);
    CHECK(u.rows() == 6);
    CHECK(u.at("sessionid").i64 == t.at("sessionid").i64);
    CHECK(ctx.measures["expected_rows"] == 6);  // the count ran
  }
  SUBCASE("a statement after a comment is refused") {
    std::string q = "select sessionid from sessions; /* c */ delete from sessions";
    CHECK(error_of(params(db, {{"query", q}, {"list_query", ""}}), ctx) ==
          "query must be a single statement; it continues with \"/* c */ delete from sessions\"");
  }
  SUBCASE("query_only is on") {
    auto t = read(params(db, {{"query", "pragma query_only"}, {"list_query", ""}}), ctx);
    CHECK(t.at("query_only").i64 == std::vector<std::int64_t>{1});
  }
  // whatever happened above, the data is still there
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "select count(*) from sessions", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) == 6);
  sqlite3_finalize(s);
  sqlite3_close(h);
}

TEST_CASE("sqlite_source: the merge join checks key order") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;
  SUBCASE("the main query not ordered by the key") {
    std::string q = "select sessionid, lensum from sessions order by lensum";
    CHECK(error_of(params(db, {{"query", q}}), ctx) ==
          "query result is not ordered by \"sessionid\": row 1 has sessionid 3 after 5 (the query needs \"order by "
          "sessionid\")");
  }
  SUBCASE("the list query not ordered by its key") {
    std::string q = "select sessionid, qname from dns_queries order by qname";
    CHECK(error_of(params(db, {{"list_query", q}}), ctx) ==
          "list_query result is not ordered by its key: row 1 has key 1 after 7 (the list query needs \"order by\" "
          "its first column); query: " + q);
  }
  SUBCASE("the key is missing from the query") {
    CHECK(error_of(params(db, {{"query", "select lensum from sessions"}}), ctx) ==
          "list_key \"sessionid\" is not a column of the query (columns: lensum)");
  }
  SUBCASE("the key is not int64") {
    CHECK(error_of(params(db, {{"types", {{"sessionid", "float64"}}}}), ctx) ==
          "list_key \"sessionid\" must be an int64 column, it is float64 (set types.sessionid = \"int64\"?)");
  }
  SUBCASE("a NULL key") {
    std::string q = "select case when sessionid = 2 then null else sessionid end as sessionid from sessions order by 1";
    CHECK(error_of(params(db, {{"query", q}}), ctx) == "column \"sessionid\" (list_key): NULL at row 0");
  }
  SUBCASE("the list query must return two columns") {
    std::string q = "select sessionid from dns_queries order by sessionid";
    CHECK(error_of(params(db, {{"list_query", q}}), ctx) ==
          "list_query must return 2 columns (key, value), it returns 1; query: " + q);
  }
  SUBCASE("the list column must be new") {
    CHECK(error_of(params(db, {{"list_column", "bytes"}}), ctx) ==
          "list_column \"bytes\" is already a column of the query");
  }
  SUBCASE("rows sharing a key share its list") {
    auto t = read(params(db, {{"query", "select s.sessionid, k.n from sessions s, (select 1 as n union all select 2) k "
                                        "order by s.sessionid, k.n"}}),
                  ctx);
    REQUIRE(t.rows() == 12);
    CHECK(list(t.at("dns"), 0) == std::vector<std::string>{"time.hue.com", "api.hue.com"});
    CHECK(list(t.at("dns"), 1) == std::vector<std::string>{"time.hue.com", "api.hue.com"});
    CHECK(list(t.at("dns"), 4) == std::vector<std::string>{"unlabelled.example"});
    CHECK(list(t.at("dns"), 5) == std::vector<std::string>{"unlabelled.example"});
    CHECK(list(t.at("dns"), 10) == std::vector<std::string>{"icloud.com", "apple.com"});
    CHECK(ctx.counters["dropped.unmatched_key.dns"] == 1);
  }
}

TEST_CASE("sqlite_source: cancellation") {
  TempDir d;
  auto p = d / "many.sqlite";
  run_sql(p, std::string(kSchema) + kData +
                 "with recursive n(v) as (select 1 union all select v + 1 from n where v < 20000) "
                 "insert into sessions(sessionid, mac, srcport, dstport, lensum, pktcount, starttime, endtime) "
                 "select v + 100, 'aa', v, 443, v * 10, 1, v, v + 1 from n;");
  testing::TestContext ctx;
  ctx.cancel = true;
  SqliteSource s(params(p));
  CHECK_THROWS_AS(s.run(ctx, {}), Interrupted);
  SUBCASE("inside a long statement, before the first row") {
    SqliteSource s2(params(p, {{"query", "select a.sessionid from sessions a, sessions b where a.lensum = -b.lensum "
                                         "order by a.sessionid"}}));
    CHECK_THROWS_AS(s2.run(ctx, {}), Interrupted);
  }
  SUBCASE("without cancel it reads all") {
    ctx.cancel = false;
    CHECK(read(params(p), ctx).rows() == 20005);
  }
}

TEST_CASE("sqlite_source: the default queries run on the NetCollector schema (schemas/netcollector.sql)") {
  const char* root = std::getenv("PIPECTL_SOURCE_DIR");
  // under ctest PIPECTL_SOURCE_DIR is set; run by hand, find it from this file
  const fs::path schema = (root ? fs::path(root) : fs::path(__FILE__).parent_path() / "../../..") / "schemas" /
                          "netcollector.sql";
  REQUIRE_MESSAGE(fs::exists(schema), schema.string());
  std::ifstream f(schema);
  const std::string ddl((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  TempDir d;
  const auto db = d / "nc.sqlite";
  run_sql(db, ddl + R"sql(
    insert into devices values (1, 'aa:bb:cc:00:00:01', '192.168.1.2', 'Signify', 'Hue Bridge', 'hue'),
                               (2, 'aa:bb:cc:00:00:02', '192.168.1.3', 'Apple', 'Other', NULL),
                               (3, 'aa:bb:cc:00:00:03', '192.168.1.4', NULL, NULL, NULL);
    insert into sessions values (10, 1, 6, '192.168.1.2', 50000, '1.2.3.4', 443, 1500, 9, 1554076801.5, 1554076802.25),
                                (11, 3, 17, '192.168.1.4', 5353, '224.0.0.251', 5353, 80, 1, 1554076803.0, 1554076803.0),
                                (12, 2, 1, '192.168.1.3', 0, '8.8.8.8', 0, 84, 1, 1554076804.0, 1554076803.5);
    insert into dns_queries values (10, 'time.meethue.com'), (11, '_hue._tcp.local'), (12, 'apple.com'), (12, 'icloud.com');
  )sql");
  testing::TestContext ctx;
  Table t = read(params(db), ctx);
  CHECK(t.column_names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                     "starttime", "endtime", "manufacturer", "device_type", "dns"});
  CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{10, 12});
  CHECK(t.at("bytes").type == DType::Int64);
  CHECK(t.at("bytes").i64 == std::vector<std::int64_t>{1500, 84});
  CHECK(t.at("starttime").type == DType::Float64);
  CHECK(t.at("endtime").f64 == std::vector<double>{1554076802.25, 1554076803.5});
  CHECK(t.at("manufacturer").type == DType::Categorical);
  CHECK(labels(t.at("device_type")) == std::vector<std::string>{"Hue Bridge", "Other"});
  CHECK(list(t.at("dns"), 0) == std::vector<std::string>{"time.meethue.com"});
  CHECK(list(t.at("dns"), 1) == std::vector<std::string>{"apple.com", "icloud.com"});
  CHECK(ctx.counters["dropped.unmatched_key.dns"] == 1);
}

TEST_CASE("sqlite_source: predicting: unlabelled sessions and key ranges") {
  TempDir d;
  auto db = make_db(d);
  testing::TestContext ctx;
  SUBCASE("labelled_only = false reads the unlabelled sessions too") {
    Table t = read(params(db, {{"labelled_only", false}}), ctx);
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{1, 2, 3, 4, 5, 7});
    CHECK(t.at("device_type").is_null(2));
    CHECK(ctx.counters["nulls.device_type"] == 1);
    CHECK(list(t.at("dns"), 2) == std::vector<std::string>{"unlabelled.example"});
    CHECK(ctx.counters["dropped.unmatched_key.dns"] == 1);  // session 6 only
    CHECK(testing::schema_of(plugins::sqlite_spec(), params(db, {{"labelled_only", false}})).schema.known);
  }
  SUBCASE("a key range of the default queries") {
    Table t = read(params(db, {{"key_min", 2}, {"key_max", 5}}), ctx);
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{2, 4, 5});
    CHECK(list(t.at("dns"), 0) == std::vector<std::string>{"apple.com"});
    CHECK(ctx.counters["dropped.unmatched_key.dns"] == 1);  // session 3, unlabelled; 1, 6 and 7 are not read
    CHECK(ctx.measures["expected_rows"] == 4);
    SUBCASE("with the unlabelled ones") {
      Table u = read(params(db, {{"key_min", 2}, {"key_max", 5}, {"labelled_only", false}}), ctx);
      CHECK(u.at("sessionid").i64 == std::vector<std::int64_t>{2, 3, 4, 5});
    }
  }
  SUBCASE("a key range of custom queries wraps them") {
    Table t = read(params(db, {{"key_min", 2},
                               {"key_max", 4},
                               {"query", "select sessionid, lensum, mac from sessions order by sessionid; -- all"},
                               {"list_query", "select sessionid as sid, upper(qname) from dns_queries order by sessionid"}}),
                   ctx);
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{2, 3, 4});
    CHECK(t.at("lensum").type == DType::Int64);  // declared types survive the wrapping
    CHECK(t.at("mac").type == DType::Categorical);
    CHECK(list(t.at("dns"), 0) == std::vector<std::string>{"APPLE.COM"});
    CHECK(list(t.at("dns"), 1) == std::vector<std::string>{"UNLABELLED.EXAMPLE"});
  }
  SUBCASE("an empty key range is an empty table, not an error") {
    Table t = read(params(db, {{"key_min", 100}, {"key_max", 200}}), ctx);
    CHECK(t.rows() == 0);
    CHECK(t.num_columns() == 10);
    CHECK(t.at("sessionid").type == DType::Int64);
  }
  SUBCASE("key_min needs key_max") {
    CHECK_THROWS_WITH_AS(SqliteSource(params(db, {{"key_min", 1}})),
                         "parameters \"key_min\" and \"key_max\" go together", Error);
  }
}

TEST_CASE("sqlite_source: capture_column reads ingest's captures table, NULL without it") {
  TempDir d;
  testing::TestContext ctx;
  const Params with = [&] {
    auto db = make_db(d, "caps.sqlite",
                      "create table captures(sessionid integer primary key references sessions, file text not null);"
                      "insert into captures values (1, 'Aria/Setup-A-1-STA.pcap'), (2, 'Aria/Setup-A-1-STA.pcap'),"
                      " (4, 'Hue/Setup-A-2-STA.pcap');");  // session 5 and 7: no row
    return params(db, {{"capture_column", "capture"}});
  }();
  SUBCASE("left join: a session without a row gets NULL") {
    Table t = read(with, ctx);
    CHECK(t.column_names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                       "starttime", "endtime", "manufacturer", "device_type",
                                                       "capture", "dns"});
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{1, 2, 4, 5, 7});
    CHECK(t.at("capture").type == DType::Categorical);
    CHECK(labels(t.at("capture")) == std::vector<std::string>{"Aria/Setup-A-1-STA.pcap", "Aria/Setup-A-1-STA.pcap",
                                                              "Hue/Setup-A-2-STA.pcap", "<null>", "<null>"});
    CHECK(list(t.at("dns"), 0) == std::vector<std::string>{"time.hue.com", "api.hue.com"});
    CHECK(ctx.counters["nulls.capture"] == 2);
  }
  SUBCASE("with labelled_only = false and a key range (predict)") {
    json v = with.all();
    v["labelled_only"] = false;
    v["key_min"] = 3;
    v["key_max"] = 4;
    Table t = read(Params(v), ctx);
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{3, 4});
    CHECK(labels(t.at("capture")) == std::vector<std::string>{"<null>", "Hue/Setup-A-2-STA.pcap"});
  }
  SUBCASE("a database without the table: a categorical column of NULLs") {
    Table t = read(params(make_db(d), {{"capture_column", "capture"}}), ctx);
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{1, 2, 4, 5, 7});
    CHECK(t.at("capture").type == DType::Categorical);
    CHECK(ctx.counters["nulls.capture"] == 5);
  }
  SUBCASE("the schema names it; no effect on a custom query") {
    auto c = testing::schema_of(plugins::sqlite_spec(), with).schema;
    CHECK(c.known);
    CHECK(c.names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets", "starttime",
                                              "endtime", "manufacturer", "device_type", "capture", "dns"});
    json v = with.all();
    v["query"] = "select sessionid, lensum from sessions order by sessionid";
    Table t = read(Params(v), ctx);
    CHECK(t.column_names() == std::vector<std::string>{"sessionid", "lensum", "dns"});
  }
  SUBCASE("a name the source already uses is refused") {
    const auto db = make_db(d);
    CHECK_THROWS_WITH_AS(SqliteSource(params(db, {{"capture_column", "device_type"}})),
                         "parameter \"capture_column\": \"device_type\" is already a column of the source", Error);
    CHECK_THROWS_WITH_AS(SqliteSource(params(db, {{"capture_column", "dns"}})),
                         "parameter \"capture_column\": \"dns\" is already a column of the source", Error);
  }
}

// ------------------------------------------------------------ shards and several databases

namespace {

/// A NetCollector database made by tools/netcollector-gen.
std::string gen_db(const TempDir& d, const std::string& name, int sessions, int seed) {
  const std::string bin = PIPECTL_NETCOLLECTOR_GEN;
  REQUIRE_MESSAGE(!bin.empty(), "tools/netcollector-gen is not part of this build (PIPECTL_TOOLS)");
  const auto out = d / name;
  const std::string cmd = "'" + bin + "' --sessions " + std::to_string(sessions) + " --seed " + std::to_string(seed) +
                          " --out '" + out + "' > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return out;
}

/// One row as text, every column by value (labels, lists), for comparing tables row by row.
std::string row_text(const Table& t, std::size_t i) {
  std::string s;
  for (const auto& c : t.columns()) {
    s += c->name + "=";
    switch (c->type) {
      case DType::Int64: s += c->is_null(i) ? "NULL" : std::to_string(c->i64[i]); break;
      case DType::Float64: {
        char b[64];
        std::snprintf(b, sizeof b, "%.17g", c->f64[i]);
        s += c->is_null(i) ? "NULL" : b;
        break;
      }
      case DType::Categorical: s += c->codes[i] < 0 ? "NULL" : c->label(i); break;
      case DType::MultiCategorical:
        for (auto k = c->offsets[i]; k < c->offsets[i + 1]; ++k) s += (*c->dictionary)[c->codes[k]] + "|";
        break;
    }
    s += ";";
  }
  return s;
}

/// (site, sessionid) -> row text.
std::map<std::string, std::string> by_key(const Table& t) {
  std::map<std::string, std::string> m;
  const auto site = t.find("site");
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const std::string key = (site ? site->label(i) + "/" : std::string()) + std::to_string(t.at("sessionid").i64[i]);
    REQUIRE_MESSAGE(m.emplace(key, row_text(t, i)).second, "key " << key << " twice");
  }
  return m;
}

/// Byte for byte the same table (types, values, NULLs, dictionaries in order).
void check_identical(const Table& a, const Table& b) {
  REQUIRE(a.column_names() == b.column_names());
  REQUIRE(a.rows() == b.rows());
  for (std::size_t j = 0; j < a.num_columns(); ++j) {
    const Column& x = *a.columns()[j];
    const Column& y = *b.columns()[j];
    INFO("column " << x.name);
    CHECK(x.type == y.type);
    CHECK(x.i64 == y.i64);
    // Bit for bit (NaN == NaN, -0.0 != 0.0); memcmp only on non-empty storage.
    REQUIRE(x.f64.size() == y.f64.size());
    CHECK((x.f64.empty() || std::memcmp(x.f64.data(), y.f64.data(), x.f64.size() * sizeof(double)) == 0));
    CHECK(x.codes == y.codes);
    CHECK(x.offsets == y.offsets);
    CHECK(x.valid == y.valid);
    CHECK((x.dictionary ? *x.dictionary : Dictionary{}) == (y.dictionary ? *y.dictionary : Dictionary{}));
  }
}

struct Shards {
  std::vector<Table> tables;
  std::vector<json> metrics;
  std::vector<std::map<std::string, std::int64_t>> counters;
  std::vector<std::vector<std::string>> logs;
};

/// Every worker of a ThreadGroup of `world` reads with `p`.
Shards read_shards(const Params& p, int world) {
  Shards s;
  s.tables.resize(static_cast<std::size_t>(world));
  s.metrics.resize(static_cast<std::size_t>(world));
  s.counters.resize(static_cast<std::size_t>(world));
  s.logs.resize(static_cast<std::size_t>(world));
  testing::ThreadGroup(world).run([&](Collective& c) {
    testing::TestContext ctx;
    ctx.coll = &c;
    const auto r = static_cast<std::size_t>(c.rank());
    s.tables[r] = read(p, ctx);
    s.metrics[r] = ctx.metrics;
    s.counters[r] = ctx.counters;
    s.logs[r] = ctx.log;
  });
  return s;
}

std::int64_t mod(std::int64_t k, int w) { return ((k % w) + w) % w; }

}  // namespace

TEST_CASE("sqlite_source: shards of one database on 1, 2 and 3 workers are disjoint and their union is the single read") {
  TempDir d;
  const auto db = gen_db(d, "nc.sqlite", 3000, 7);
  testing::TestContext one;
  const Table full = read(params(db, {{"labelled_only", false}}), one);
  REQUIRE(full.rows() > 3000);
  const auto want = by_key(full);

  for (int world : {1, 2, 3}) {
    CAPTURE(world);
    const Shards s = read_shards(params(db, {{"labelled_only", false}}), world);
    std::map<std::string, std::string> got;
    std::map<std::string, std::int64_t> summed;
    for (int r = 0; r < world; ++r) {
      const Table& t = s.tables[static_cast<std::size_t>(r)];
      CHECK(t.column_names() == full.column_names());
      for (auto k : t.at("sessionid").i64) CHECK(mod(k, world) == r);  // only its own keys
      for (const auto& [k, v] : by_key(t)) CHECK_MESSAGE(got.emplace(k, v).second, "session " << k << " on two workers");
      for (const auto& [k, v] : s.counters[static_cast<std::size_t>(r)]) summed[k] += v;
    }
    CHECK(got == want);  // every column of every row, the DNS lists included
    CHECK(summed == one.counters);  // counted once over the workers (unmatched DNS rows too)
    if (world == 1) {
      check_identical(s.tables[0], full);  // one worker: exactly the plain read
      CHECK(s.metrics[0].empty());
    } else {
      for (int r = 0; r < world; ++r) {
        const json& g = s.metrics[static_cast<std::size_t>(r)].at("global");
        CHECK(g["workers"] == world);
        CHECK(g["rows"] == static_cast<std::int64_t>(full.rows()));
        CHECK(g["counters"] == json(one.counters));
      }
    }
  }
}

TEST_CASE("sqlite_source: shards by key modulo: negative keys, custom queries, types made one over the workers") {
  TempDir d;
  const auto db = make_db(d, "nc.sqlite",
                          "insert into sessions values (-7, 'aa', 1, 443, 10, 1, 1.0, 2.0), (-2, 'bb', 2, 80, 20, 1, 1.0, 2.0);"
                          "insert into dns_queries(sessionid, qname) values (-7, 'neg.example'), (-2, 'neg2.example');");
  SUBCASE("default queries") {
    testing::TestContext one;
    const Table full = read(params(db), one);
    for (int world : {2, 3}) {
      const Shards s = read_shards(params(db), world);
      std::map<std::string, std::string> got;
      for (int r = 0; r < world; ++r)
        for (const auto& [k, v] : by_key(s.tables[static_cast<std::size_t>(r)])) CHECK(got.emplace(k, v).second);
      CHECK(got == by_key(full));
      CHECK(got.count("-7"));
    }
  }
  SUBCASE("a custom query and list query are wrapped with the shard's condition") {
    const Params p = params(db, {{"query", "select sessionid, lensum, mac from sessions order by sessionid"},
                                 {"list_query", "select sessionid, upper(qname) from dns_queries order by sessionid"}});
    testing::TestContext one;
    const Table full = read(p, one);
    Shards s = read_shards(p, 2);
    CHECK(s.tables[0].at("sessionid").i64 == std::vector<std::int64_t>{-2, 2, 4});
    CHECK(s.tables[1].at("sessionid").i64 == std::vector<std::int64_t>{-7, 1, 3, 5, 7});
    CHECK(list(s.tables[1].at("dns"), 0) == std::vector<std::string>{"NEG.EXAMPLE"});
    std::map<std::string, std::string> got;
    for (const auto& t : s.tables)
      for (const auto& [k, v] : by_key(t)) got.emplace(k, v);
    CHECK(got == by_key(full));
    CHECK(s.counters[0]["dropped.unmatched_key.dns"] + s.counters[1]["dropped.unmatched_key.dns"] ==
          one.counters["dropped.unmatched_key.dns"]);
  }
  SUBCASE("a custom query without the key column cannot be sharded by rows") {
    const Params p = params(db, {{"query", "select lensum from sessions"}, {"list_query", ""}});
    CHECK_THROWS_WITH_AS(read_shards(p, 2),
                         "shard = \"rows\" on 2 workers divides the rows by list_key \"sessionid\", which is not a "
                         "column of the query (columns: lensum)",
                         DataError);
  }
  SUBCASE("a column that is all NULL on one worker takes the type the others read") {
    const Params p = params(
        db, {{"query", "select sessionid, case when sessionid % 2 = 0 then 'even' end as tag from sessions order by sessionid"},
             {"list_query", ""}});
    const Shards s = read_shards(p, 2);
    CHECK(s.tables[0].at("tag").type == DType::Categorical);
    CHECK(s.tables[1].at("tag").type == DType::Categorical);  // alone it would be float64 (every value NULL)
    CHECK(s.tables[1].at("tag").null_count() == s.tables[1].rows());
    testing::TestContext alone;
    CHECK(read(p, alone).at("tag").type == DType::Categorical);
  }
  SUBCASE("a shard with no rows is no error; no rows on any worker is") {
    const Params p = params(db, {{"key_min", 4}, {"key_max", 4}});
    const Shards s = read_shards(p, 2);
    CHECK(s.tables[0].rows() == 1);
    CHECK(s.tables[1].rows() == 0);
    const Params none = params(db, {{"query", "select sessionid from sessions where sessionid > 100 order by sessionid"}});
    CHECK_THROWS_WITH_AS(read_shards(none, 2),
                         doctest::Contains("query returned no rows on any of the 2 workers (database \""), DataError);
  }
}

TEST_CASE("sqlite_source: a glob pattern reads several sites' databases with a site column") {
  TempDir d;
  fs::create_directories(d.path / "sites");
  const auto a = gen_db(d, "sites/alpha.sqlite", 400, 1);
  const auto b = gen_db(d, "sites/bravo.sqlite", 700, 2);
  const auto c = gen_db(d, "sites/charlie.sqlite", 300, 3);
  std::ofstream(d / "sites/notes.txt") << "not a database\n";
  const std::string pattern = d / "sites/*.sqlite";

  testing::TestContext ca, cb, cc, all;
  const Table ta = read(params(a), ca), tb = read(params(b), cb), tc = read(params(c), cc);
  const Table t = read(params(pattern), all);

  SUBCASE("rows of every file in name order, the site column last") {
    auto names = ta.column_names();
    names.push_back("site");
    CHECK(t.column_names() == names);
    REQUIRE(t.rows() == ta.rows() + tb.rows() + tc.rows());
    const Column& site = t.at("site");
    CHECK(site.type == DType::Categorical);
    CHECK(*site.dictionary == Dictionary{"alpha", "bravo", "charlie"});
    CHECK(site.label(0) == "alpha");
    CHECK(site.label(ta.rows()) == "bravo");
    CHECK(site.label(t.rows() - 1) == "charlie");
    // The same session ids in several files are several sessions, not a duplicate.
    CHECK(t.at("sessionid").i64[0] == t.at("sessionid").i64[ta.rows()]);
    std::vector<std::uint32_t> first(tb.rows());
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::uint32_t>(ta.rows() + i);
    const Table part = t.take(first).without("site");
    for (std::size_t i = 0; i < tb.rows(); i += 97) CHECK(row_text(part, i) == row_text(tb, i));
    // Counters add up over the files.
    CHECK(all.counters["dropped.unmatched_key.dns"] == ca.counters["dropped.unmatched_key.dns"] +
                                                          cb.counters["dropped.unmatched_key.dns"] +
                                                          cc.counters["dropped.unmatched_key.dns"]);
  }
  SUBCASE("the schema declares the site column") {
    auto names = [](const Params& p) { return testing::schema_of(plugins::sqlite_spec(), p).schema.names(); };
    CHECK(names(params(pattern)).back() == "site");
    CHECK(names(params(pattern, {{"site_column", "where"}})).back() == "where");
    const auto none = names(params(pattern, {{"site_column", ""}}));
    CHECK(std::find(none.begin(), none.end(), "site") == none.end());
    const auto single = names(params(a));
    CHECK(std::find(single.begin(), single.end(), "site") == single.end());
    testing::TestContext ctx;
    CHECK_FALSE(read(params(pattern, {{"site_column", ""}}), ctx).has("site"));
  }
  SUBCASE("errors: no match, a clash of names") {
    testing::TestContext ctx;
    const std::string nothing = d / "sites/*.db";
    CHECK(error_of(params(nothing), ctx) == "path pattern \"" + nothing + "\" matches no file");
    CHECK_THROWS_WITH_AS(SqliteSource(params(pattern, {{"site_column", "dns"}})),
                         "parameter \"site_column\": \"dns\" is already a column of the source", Error);
    fs::create_directories(d.path / "more");
    fs::copy_file(a, d / "more/alpha.sqlite");
    const std::string both = (d.path / "*" / "alpha.sqlite").string();
    CHECK(error_of(params(both), ctx) ==
          "path pattern \"" + both + "\" matches two files named \"alpha\" (\"" + (d / "more/alpha.sqlite") + "\" and \"" +
              a + "\"): the column \"site\" needs a distinct file stem per site (or set site_column = \"\")");
  }
  SUBCASE("a file whose name has glob characters is one file") {
    const auto odd = d / "odd[1].sqlite";
    fs::copy_file(a, odd);
    testing::TestContext ctx;
    check_identical(read(params(odd), ctx), ta);
  }
  SUBCASE("3 files on 2 workers: whole files (auto); union = single read, same site dictionary") {
    const Shards s = read_shards(params(pattern), 2);
    CHECK(s.tables[0].rows() == ta.rows() + tc.rows());  // files 0 and 2
    CHECK(s.tables[1].rows() == tb.rows());              // file 1
    for (const auto& x : s.tables) CHECK(*x.at("site").dictionary == Dictionary{"alpha", "bravo", "charlie"});
    std::map<std::string, std::string> got;
    for (const auto& x : s.tables)
      for (const auto& [k, v] : by_key(x)) CHECK(got.emplace(k, v).second);
    CHECK(got == by_key(t));
    CHECK(s.metrics[1]["global"]["rows"] == static_cast<std::int64_t>(t.rows()));
    CHECK(s.metrics[0]["global"]["counters"] == json(all.counters));
    CHECK(std::find_if(s.logs[1].begin(), s.logs[1].end(), [](const std::string& l) {
            return l.find("info: all 2 workers read ") == 0 && l.find("shard by files") != std::string::npos;
          }) != s.logs[1].end());
  }
  SUBCASE("shard = rows, and more workers than files: key modulo in every file") {
    for (const auto& [world, p] : std::vector<std::pair<int, Params>>{{2, params(pattern, {{"shard", "rows"}})},
                                                                      {4, params(pattern)}}) {
      const Shards s = read_shards(p, world);
      std::map<std::string, std::string> got;
      for (int r = 0; r < world; ++r) {
        const Table& x = s.tables[static_cast<std::size_t>(r)];
        CHECK(*x.at("site").dictionary == Dictionary{"alpha", "bravo", "charlie"});
        for (auto k : x.at("sessionid").i64) CHECK(mod(k, world) == r);
        for (const auto& [k, v] : by_key(x)) CHECK(got.emplace(k, v).second);
      }
      CHECK(got == by_key(t));
    }
  }
  SUBCASE("shard = files needs as many files as workers") {
    const std::string msg = "shard = \"files\" needs at least as many databases as workers: path pattern \"" + pattern +
                            "\" matches 3 file(s) for 4 workers (shard = \"rows\" divides every file's rows)";
    CHECK_THROWS_WITH_AS(read_shards(params(pattern, {{"shard", "files"}}), 4), msg.c_str(), Error);
  }
  SUBCASE("a worker that cannot read its file fails every worker, naming the cause") {
    std::ofstream(d / "sites/delta.sqlite") << "this is no database";
    std::vector<std::string> errors(2);
    testing::ThreadGroup(2).run([&](Collective& coll) {
      testing::TestContext ctx;
      ctx.coll = &coll;
      try {
        read(params(pattern), ctx);
      } catch (const DataError& e) {
        errors[static_cast<std::size_t>(coll.rank())] = e.what();
      }
    });
    // alpha, bravo, charlie, delta: delta is worker 1's second file.
    const std::string cause = "database \"" + (d / "sites/delta.sqlite") +
                              "\" is not a SQLite database (it does not start with the SQLite header)";
    CHECK(errors[1] == cause);
    CHECK(errors[0] == "worker 1 of 2 could not read its shard: " + cause);
  }
}

TEST_CASE("the NetCollector queries: one definition, the dialects differ only where generated") {
  namespace nc = pipectl::netcollector;
  const std::string sessions =
      "select s.sessionid, s.srcport, s.dstport, s.lensum as bytes, s.pktcount as packets, s.starttime, "
      "s.endtime, d.manufacturer, d.device_type "
      "from sessions s inner join v_session_mnf_devicetype d on s.sessionid = d.sessionid "
      "where d.device_type is not null order by s.sessionid";
  CHECK(nc::sessions_query(nc::Dialect::SQLite) == sessions);
  CHECK(nc::sessions_query(nc::Dialect::PostgreSQL) == sessions);
  // The sources' defaults are these texts.
  CHECK(std::string(pipectl::plugins::kSqliteDefaultQuery) == sessions);
  CHECK(std::string(pipectl::plugins::kSqliteDefaultListQuery) ==
        "select q.sessionid, q.qname from dns_queries q order by q.sessionid");
  CHECK(nc::dns_query(nc::Dialect::PostgreSQL) ==
        "select q.sessionid, q.qname from dns_queries q order by q.sessionid, q.queryid");
  CHECK(nc::dns_query(nc::Dialect::SQLite, "q.sessionid between 1 and 9") ==
        "select q.sessionid, q.qname from dns_queries q where q.sessionid between 1 and 9 order by q.sessionid");

  nc::SessionsQuery q;
  q.labelled_only = false;
  q.capture_column = "cap\"x";
  q.device_column = "mac";
  q.condition = "s.sessionid between 3 and 4";
  const std::string tail =
      " as \"cap\"\"x\", dv.mac as \"mac\" from sessions s inner join v_session_mnf_devicetype d on s.sessionid = "
      "d.sessionid inner join devices dv on dv.deviceid = s.deviceid where s.sessionid between 3 and 4 order by "
      "s.sessionid";
  const std::string head = sessions.substr(0, sessions.find(" from "));
  CHECK(nc::sessions_query(nc::Dialect::SQLite, q) == head + ", null" + tail);
  CHECK(nc::sessions_query(nc::Dialect::PostgreSQL, q) == head + ", null::text" + tail);
  q.captures_table = true;
  CHECK(nc::sessions_query(nc::Dialect::SQLite, q) ==
        head + ", c.file as \"cap\"\"x\", dv.mac as \"mac\" from sessions s inner join v_session_mnf_devicetype d on "
               "s.sessionid = d.sessionid left join captures c on c.sessionid = s.sessionid inner join devices dv on "
               "dv.deviceid = s.deviceid where s.sessionid between 3 and 4 order by s.sessionid");
}
