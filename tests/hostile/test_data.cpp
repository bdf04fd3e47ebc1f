// Hostile data: NetCollector databases made by netcollector-gen and then
// damaged with SQL, and CSV files written here. Each ends one of two ways:
// the row is dropped and counted (run.json's counters say how many and why),
// or the stage fails with exit 6 and a message naming the column and the
// first bad row, leaving `<out>.failed` and no `<out>`.
#include "common.hpp"

#include <chrono>
#include <thread>

using namespace hostile;

namespace {

/// pipelines/clean.toml (source + cleaner) on `db`.
CmdResult clean(const Home& h, const std::string& db, const std::string& extra = "") {
  return h.pipectl("run " + kHere + "/clean.toml -q --out run " + extra, kGood, "PIPECTL_DB=" + quote(db));
}

/// A failed run of pipelines/clean.toml: exit 6 and `message` on stderr.
void fails_with(const Home& h, const std::string& db, const std::string& message, const std::string& extra = "") {
  auto r = clean(h, db, extra);
  CHECK(r.rc == 6);
  CHECK_MESSAGE(contains(r.err, message), r.err);
  check_failed_run(h / "run");
}

json counters(const Home& h, const std::string& stage) { return stage_record(read_json(h / "run" / "run.json"), stage)["counters"]; }

std::int64_t rows_out(const Home& h, const std::string& stage) {
  return stage_record(read_json(h / "run" / "run.json"), stage)["rows_out"].get<std::int64_t>();
}

}  // namespace

TEST_CASE("hostile: data: a NULL in each column in turn is dropped and counted, or kept where it may be") {
  struct Case {
    const char* column;  // in the sessions table
    const char* shown;   // the source's name for it
    const char* dropped; // the cleaner's counter, "" when the row is kept
  };
  const Case cases[] = {
      {"srcport", "srcport", "dropped.null.srcport"},  {"dstport", "dstport", "dropped.null.dstport"},
      {"lensum", "bytes", "dropped.null.bytes"},       {"pktcount", "packets", "dropped.null.packets"},
      {"starttime", "starttime", "dropped.null.duration"}, {"endtime", "endtime", "dropped.null.duration"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.column) {
      Home h;
      const auto db = copy_db(h);
      unconstrain_sessions(db);
      sql(db, std::string("update sessions set ") + c.column + " = null where sessionid in (" + labelled_session(db, 3) +
                  ", " + labelled_session(db, 9) + ")");
      auto r = clean(h, db);
      REQUIRE_MESSAGE(r.rc == 0, r.err);
      CHECK(counters(h, "source")[std::string("nulls.") + c.shown] == 2);
      CHECK(counters(h, "clean")[c.dropped] == 2);
      CHECK(counters(h, "clean")["rows.dropped"] == 2);
      CHECK(rows_out(h, "clean") == rows_out(h, "source") - 2);
    }
  }
  SUBCASE("manufacturer: kept (not a required column) and counted by the source") {
    Home h;
    const auto db = copy_db(h);
    const auto n = sql_value(db, "select count(*) from sessions s join devices d on s.deviceid = d.deviceid where "
                                 "d.deviceid = 3 and d.device_type is not null");
    sql(db, "update devices set manufacturer = null where deviceid = 3");
    auto r = clean(h, db);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(counters(h, "source")["nulls.manufacturer"] == std::stoi(n));
    CHECK(rows_out(h, "clean") == rows_out(h, "source"));
    SUBCASE("and the whole seed pipeline trains with it") {
      auto full = h.pipectl("run " + kPipelines + "/iot.toml -q --out full --set source.path=" + quote(db));
      CHECK_MESSAGE(full.rc == 0, full.err);
    }
  }
  SUBCASE("device_type: the device's sessions are unlabelled and not read (labelled_only)") {
    Home h;
    const auto db = copy_db(h);
    auto before = clean(h, db);
    REQUIRE(before.rc == 0);
    const auto all = rows_out(h, "source");
    const auto n = std::stoi(sql_value(db, "select count(*) from sessions where deviceid = 3"));
    REQUIRE(n > 0);
    sql(db, "update devices set device_type = null where deviceid = 3");
    fs::remove_all(h / "run");
    auto r = clean(h, db);
    REQUIRE(r.rc == 0);
    CHECK(rows_out(h, "source") == all - n);
  }
  SUBCASE("sessionid: such sessions cannot be joined to their device; the source counts them") {
    Home h;
    const auto db = copy_db(h);
    unconstrain_sessions(db);
    sql(db, "update sessions set sessionid = null where sessionid in (" + labelled_session(db, 0) + ", " +
                labelled_session(db, 1) + ", " + labelled_session(db, 2) + ")");
    auto r = clean(h, db);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(counters(h, "source")["dropped.null.sessionid"] == 3);
  }
  SUBCASE("a DNS name: counted, the session keeps its other names") {
    Home h;
    const auto db = copy_db(h);
    sql(db,
        "create table q2 (sessionid INTEGER, qname TEXT); insert into q2 select * from dns_queries; drop table "
        "dns_queries; alter table q2 rename to dns_queries; update dns_queries set qname = null where rowid in "
        "(select rowid from dns_queries limit 4)");
    auto r = clean(h, db);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(counters(h, "source")["nulls.dns"] == 4);
  }
}

TEST_CASE("hostile: data: values of the wrong kind stop the source naming the column and the row") {
  struct Case {
    const char* name;
    const char* update;  // applied to the fourth labelled session
    const char* message;
  };
  const Case cases[] = {
      {"text in an integer column", "lensum = 'lots'", "column \"bytes\": text value \"lots\" at row 3 (sessionid "},
      {"text in a real column", "starttime = 'yesterday'", "column \"starttime\": text value \"yesterday\" at row 3 (sessionid "},
      {"a fraction in an integer column", "srcport = 80.5", "column \"srcport\": real value 80.5 at row 3 (sessionid "},
      {"infinity in an integer column", "pktcount = 9e999", "column \"packets\": real value inf at row 3 (sessionid "},
      {"a blob", "dstport = x'0001'", "column \"dstport\": blob value at row 3 (sessionid "},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      Home h;
      const auto db = copy_db(h);
      const auto id = labelled_session(db, 3);
      sql(db, std::string("update sessions set ") + c.update + " where sessionid = " + id);
      fails_with(h, db, std::string("error: stage \"source\" (plugin \"sqlite\") failed: ") + c.message + id + ")");
    }
  }
  SUBCASE("a 10 MB string where a number belongs: the message shows its start") {
    Home h;
    const auto db = copy_db(h);
    const auto id = labelled_session(db, 0);
    sql(db, "update sessions set srcport = printf('%.*c', 10000000, 'q') where sessionid = " + id);
    auto r = clean(h, db);
    CHECK(r.rc == 6);
    CHECK(contains(r.err, "column \"srcport\": text value \"" + std::string(80, 'q') + "...\" at row 0 (sessionid " + id + ")"));
    CHECK(r.err.size() < 1000);
    check_failed_run(h / "run");
  }
}

TEST_CASE("hostile: data: negative counts, ports outside 0-65535 and infinite or NaN durations are dropped and counted") {
  Home h;
  const auto db = copy_db(h);
  auto id = [&](int n) { return labelled_session(db, n); };
  sql(db, "update sessions set lensum = -5 where sessionid = " + id(0) + ";" +
              "update sessions set pktcount = -1 where sessionid = " + id(1) + ";" +
              "update sessions set srcport = 70000 where sessionid = " + id(2) + ";" +
              "update sessions set dstport = -1 where sessionid = " + id(3) + ";" +
              "update sessions set starttime = 9e999 where sessionid = " + id(4) + ";" +
              "update sessions set starttime = 9e999, endtime = 9e999 where sessionid = " + id(5) + ";" +
              "update sessions set endtime = -9e999 where sessionid = " + id(6) + ";");
  auto r = clean(h, db);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  auto c = counters(h, "clean");
  CHECK(c["dropped.negative.bytes"] == 1);
  CHECK(c["dropped.negative.packets"] == 1);
  CHECK(c["dropped.port_range.srcport"] == 1);
  CHECK(c["dropped.port_range.dstport"] == 1);
  CHECK(c["dropped.non_finite.duration"] == 3);
  CHECK(c["rows.dropped"] == 7);
  CHECK(rows_out(h, "clean") == rows_out(h, "source") - 7);
}

TEST_CASE("hostile: data: duplicated session ids stop the source naming the id") {
  Home h;
  const auto db = copy_db(h);
  unconstrain_sessions(db);
  const auto id = labelled_session(db, 5);
  sql(db, "insert into sessions select * from sessions where sessionid = " + id);
  fails_with(h, db,
             "error: stage \"source\" (plugin \"sqlite\") failed: column \"sessionid\": session " + id +
                 " appears more than once (rows 5 and 6); a NetCollector database has one row per session and one "
                 "device per session");
}

TEST_CASE("hostile: data: a 10 MB string in a category is read like any other") {
  Home h;
  const auto db = copy_db(h);
  sql(db, "update devices set manufacturer = printf('%.*c', 10000000, 'm') where deviceid = 3");
  auto r = h.pipectl("run " + kPipelines + "/iot.toml -q --out run --set source.path=" + quote(db));
  CHECK_MESSAGE(r.rc == 0, r.err);
}

TEST_CASE("hostile: data: no rows, a single class, every row dropped") {
  Home h;
  const auto db = copy_db(h);
  SUBCASE("an empty sessions table") {
    sql(db, "delete from sessions");
    fails_with(h, db, "error: stage \"source\" (plugin \"sqlite\") failed: query returned no rows (database \"" + db + "\")");
  }
  SUBCASE("no labelled session") {
    sql(db, "update devices set device_type = null");
    fails_with(h, db, "error: stage \"source\" (plugin \"sqlite\") failed: query returned no rows");
  }
  SUBCASE("a label with one class") {
    sql(db, "update devices set device_type = 'Other' where device_type is not null");
    fails_with(h, db, "error: stage \"clean\" (plugin \"cleaner\") failed: label \"is_iot\" has a single class (\"no\") in 2000 rows; "
                      "a classifier needs at least two");
  }
  SUBCASE("every row dropped") {
    sql(db, "update sessions set lensum = -1");
    fails_with(h, db, "error: stage \"clean\" (plugin \"cleaner\") failed: every one of the 2000 rows was dropped (negative.bytes: 2000)");
  }
}

TEST_CASE("hostile: data: a database file that is not SQLite, truncated, corrupt, a folder or missing") {
  Home h;
  const auto db = copy_db(h);
  const auto size = fs::file_size(db);
  SUBCASE("a text file") {
    h.write("db.sqlite", "sessionid,srcport\n1,2\n");
    fails_with(h, db, "failed: database \"" + db + "\" is not a SQLite database (it does not start with the SQLite header)");
  }
  SUBCASE("an empty file") {
    h.write("db.sqlite", "");
    fails_with(h, db, "failed: database \"" + db + "\" is not a SQLite database (the file is empty)");
  }
  SUBCASE("only part of the header") {
    fs::resize_file(db, 50);
    fails_with(h, db, "failed: database \"" + db + "\" is truncated: the file has 50 bytes, less than the 100-byte header");
  }
  SUBCASE("cut in half") {
    fs::resize_file(db, size / 2);
    fails_with(h, db, "failed: database \"" + db + "\" is truncated: the file has " + std::to_string(size / 2) + " bytes");
  }
  SUBCASE("pages overwritten with garbage") {
    {
      std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size / 3));
      const std::string junk(static_cast<std::size_t>(size / 3), '\xa5');
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    fails_with(h, db, "failed: database \"" + db + "\" is corrupt or truncated (");
  }
  SUBCASE("a folder") {
    fs::remove(db);
    fs::create_directories(db);
    fails_with(h, db, "failed: database \"" + db + "\" is not a regular file");
  }
  SUBCASE("missing") {
    fs::remove(db);
    fails_with(h, db, "failed: database \"" + db + "\" not found");
  }
}

TEST_CASE("hostile: data: a database locked by a writer fails after busy_timeout_ms, then works") {
  Home h;
  const auto db = copy_db(h);
  sqlite3* w = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &w) == SQLITE_OK);
  REQUIRE(sqlite3_exec(w, "begin exclusive; update sessions set srcport = srcport", nullptr, nullptr, nullptr) == SQLITE_OK);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = clean(h, db, "--set source.busy_timeout_ms=300");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.rc == 6);
  CHECK(contains(r.err, "error: stage \"source\" (plugin \"sqlite\") failed: database \"" + db +
                            "\" is locked by another connection (gave up after 300 ms)"));
  CHECK(secs < 5);
  check_failed_run(h / "run");
  REQUIRE(sqlite3_exec(w, "rollback", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(w);
  auto ok = clean(h, db);
  CHECK_MESSAGE(ok.rc == 0, ok.err);
}

TEST_CASE("hostile: data: CSV files with ragged rows, a BOM, CRLF, quotes left open") {
  Home h;
  const std::string typed = " --set " + quote("source.types={a=\"int64\",b=\"int64\"}");
  auto run = [&](const std::string& text, const std::string& extra = "") {
    const auto csv = h.write("in.csv", text);
    fs::remove_all(h / "run");
    fs::remove_all(h / "run.failed");
    return h.pipectl("run " + kHere + "/csv.toml -q --out run" + extra, kGood, "PIPECTL_CSV=" + quote(csv));
  };
  auto fails = [&](const std::string& text, const std::string& message, const std::string& extra = "") {
    auto r = run(text, extra);
    CHECK(r.rc == 6);
    CHECK(r.err == "error: stage \"source\" (plugin \"csv\") failed: " + message + "\n");
    check_failed_run(h / "run");
  };
  SUBCASE("ragged rows") {
    fails("a,b\n1,2\n3\n4,5\n", "line 3: 1 field, header has 2");
    fails("a,b\n1,2\n3,4,5\n", "line 3: 3 fields, header has 2", typed);
  }
  SUBCASE("a byte order mark is not part of the first column's name") {
    auto r = run("\xEF\xBB\xBF" "a,b\n1,2\n3,4\n", typed);
    CHECK_MESSAGE(r.rc == 0, r.err);
  }
  SUBCASE("CRLF and lone CR line ends") {
    auto r = run("a,b\r\n1,2\r\n3,4\r\n", typed);
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(stage_record(read_json(h / "run" / "run.json"), "source")["rows_out"] == 2);
    r = run("a,b\r1,2\r3,4\r", typed);
    CHECK_MESSAGE(r.rc == 0, r.err);
  }
  SUBCASE("an unterminated quote, and text after a closing quote") {
    fails("a,b\n1,2\n3,\"4\n5,6\n", "line 3: unterminated quoted field");
    fails("a,b\n1,\"2\"x\n", "line 2: text after the closing quote of field 2");
  }
  SUBCASE("text in a declared numeric column names the column and line") {
    fails("a,b\n1,2\n3,four\n", "column \"b\": text value \"four\" at line 3", typed);
  }
  SUBCASE("an empty file, a header alone, a header with holes or twins") {
    fails("", "file \"" + (h / "in.csv").string() + "\" is empty (no header row)");
    fails("a,b\n", "no data rows (only a header)");
    fails("a,,c\n1,2,3\n", "line 1: column 2 has no name");
    fails("a,b,a\n1,2,3\n", "line 1: column \"a\" appears twice in the header");
  }
  SUBCASE("a header of 300,000 columns, the last a repeat, is checked in linear time") {
    std::string head, row;
    for (int i = 0; i < 300000; ++i) {
      head += (i ? ",c" : "c") + std::to_string(i);
      row += i ? ",1" : "1";
    }
    const auto t0 = std::chrono::steady_clock::now();
    fails(head + ",c17\n" + row + ",1\n", "line 1: column \"c17\" appears twice in the header");
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 20);
    auto r = run(head + "\n" + row + "\n");
    CHECK_MESSAGE(r.rc == 0, r.err);
  }
  SUBCASE("NUL bytes and a 10 MB field are data like any other") {
    auto r = run(std::string("a,b\n1,x\0y\n2,", 13) + std::string(10 * 1000 * 1000, 'z') + "\n");
    CHECK_MESSAGE(r.rc == 0, r.err);
  }
}

TEST_CASE("hostile: data: predict with a damaged fitted run or an input that is no database") {
  Home h;
  const auto db = copy_db(h);
  auto fit = h.pipectl("run " + kPipelines + "/iot.toml -q --out fit --set source.path=" + quote(db));
  REQUIRE_MESSAGE(fit.rc == 0, fit.err);
  auto damaged = [&](const std::string& file, const std::string& text) {
    fs::remove_all(h / "bad");
    fs::copy(h / "fit", h / "bad", fs::copy_options::recursive);
    h.write("bad/" + file, text);
    return h.pipectl("predict bad -q --input " + quote(db) + " --out p.csv");
  };
  SUBCASE("pipeline.toml is no longer TOML") {
    auto r = damaged("pipeline.toml", "garbage [[\n");
    CHECK(r.rc == 3);
    CHECK(contains(r.err, "bad/pipeline.toml:1:9: TOML syntax error"));
  }
  SUBCASE("run.json is not JSON, or not an object") {
    auto r = damaged("run.json", "{\"status\": ");
    CHECK(r.rc == 2);
    CHECK(contains(r.err, "error: \"bad\" is not a usable run folder: its run.json is damaged ("));
    r = damaged("run.json", "[1, 2]");
    CHECK(r.rc == 2);
    CHECK(r.err == "error: \"bad\" is not a usable run folder: its run.json is damaged\n");
  }
  SUBCASE("a fitted state that is not JSON, or not what the stage saved") {
    auto r = damaged("stages/train/state.json", "garbage");
    CHECK(r.rc == 5);
    CHECK(contains(r.err, "error: stage \"train\" (plugin \"xgboost\") failed: "));
    r = damaged("stages/normalise/state.json", "{}");
    CHECK(r.rc == 5);
    CHECK(contains(r.err, "error: stage \"normalise\" (plugin \"normaliser\") failed: normaliser state: "));
  }
  SUBCASE("a folder that is no run, an input that is no database") {
    fs::create_directories(h / "empty");
    auto r = h.pipectl("predict empty -q --input " + quote(db));
    CHECK(r.rc == 2);
    CHECK(r.err == "error: \"empty\" is not a finished pipectl run folder (no pipeline.toml and run.json)\n");
    h.write("notdb.sqlite", "hello");
    r = h.pipectl("predict fit -q --input notdb.sqlite --out p.csv");
    CHECK(r.rc == 6);
    CHECK(contains(r.err, "is not a SQLite database (it does not start with the SQLite header)"));
    CHECK_FALSE(fs::exists(h / "p.csv"));
  }
  CHECK_FALSE(fs::exists(h / "p.csv"));
}
