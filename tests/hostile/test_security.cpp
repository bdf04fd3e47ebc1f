// Security: SQL in a pipeline runs on a read-only connection and cannot
// change the database; plugin folders and libraries others could change are
// refused unless --allow-insecure-plugins; nothing a pipeline names can make
// pipectl write outside its run folder or cache, or replace a folder that is
// not a run folder.
#include "common.hpp"

#include <pipectl/test_skip.hpp>

#include <pipectl/error.hpp>
#include <pipectl/run_folder.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace hostile;

namespace {

std::string digest(const std::string& file) { return sh("sha256sum " + quote(file)).out.substr(0, 64); }

}  // namespace

TEST_CASE("hostile: security: SQL that would write, attach, load code or change the schema fails and changes nothing") {
  struct Case {
    const char* name;
    const char* param;
    const char* sql;
    const char* message;
  };
  const Case cases[] = {
      {"delete", "query", "delete from sessions", "query would write to database"},
      {"delete returning", "query", "delete from sessions returning sessionid", "query would write to database"},
      {"update in a CTE", "query", "with x as (select 1) update sessions set srcport = 0", "query would write to database"},
      {"drop", "query", "drop table sessions", "query would write to database"},
      {"insert in the list query", "list_query", "insert into dns_queries values (1, 'x')", "list_query would write to database"},
      {"a second statement", "query",
       "select sessionid, srcport from sessions order by sessionid; delete from sessions",
       "query must be a single statement; it continues with \"delete from sessions\""},
      {"attach", "query", "attach database 'HOME/evil.sqlite' as evil", "query returns no columns"},
      {"writable_schema", "query", "pragma writable_schema = 1", "query returns no columns"},
      {"journal_mode", "query", "pragma journal_mode = delete", "query would write to database"},
      {"load_extension", "query", "select sessionid, load_extension('/nonexistent/evil.so') as x from sessions order by sessionid",
       "not authorized"},
      {"vacuum into", "query", "vacuum into 'HOME/copy.sqlite'", "query would write to database"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.name) {
      Home h;
      const auto db = copy_db(h);
      const auto before = digest(db);
      std::string q = c.sql;
      if (auto p = q.find("HOME"); p != std::string::npos) q.replace(p, 4, h.path().string());
      auto r = h.pipectl("run " + kHere + "/clean.toml -q --out run --set " +
                             shq(std::string("source.") + c.param + "=" + toml_string(q)),
                         kGood, "PIPECTL_DB=" + quote(db));
      CHECK(r.rc == 6);
      CHECK_MESSAGE(contains(r.err, "error: stage \"source\" (plugin \"sqlite\") failed: "), r.err);
      CHECK_MESSAGE(contains(r.err, c.message), r.err);
      CHECK(digest(db) == before);
      CHECK_FALSE(fs::exists(h / "evil.sqlite"));
      CHECK_FALSE(fs::exists(h / "copy.sqlite"));
      CHECK_FALSE(fs::exists(db + "-journal"));
      check_failed_run(h / "run");
    }
  }
}

TEST_CASE("hostile: security: plugin folders and libraries that others can change are refused") {
  Home h;
  const auto dir = h / "open";
  fs::create_directories(dir);
  fs::copy_file(kGood + "/pipectl_test_gen.so", dir / "pipectl_test_gen.so");
  h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n");
  SUBCASE("a world-writable folder") {
    fs::permissions(dir, fs::perms::all);
    auto r = h.pipectl("run p.toml --runs-dir runs", dir.string());
    CHECK(r.rc == 3);
    CHECK(contains(r.err, "warning: plugin folder \"" + dir.string() + "\" refused: it is world-writable; a plugin is "
                          "native code run with your rights (use --allow-insecure-plugins to load it anyway)\n"));
    CHECK(contains(r.err, "unknown plugin \"test_gen\" for stage \"gen\""));
    auto ok = h.pipectl("run p.toml -q --out run --allow-insecure-plugins", dir.string());
    CHECK(ok.rc == 0);
  }
  SUBCASE("a world-writable library in a safe folder") {
    fs::permissions(dir / "pipectl_test_gen.so", fs::perms::others_write, fs::perm_options::add);
    auto r = h.pipectl("plugins list", dir.string());
    CHECK(contains(r.err, "warning: plugin \"" + (dir / "pipectl_test_gen.so").string() +
                              "\" refused: it is world-writable; a plugin is native code run with your rights (use "
                              "--allow-insecure-plugins to load it anyway)\n"));
    CHECK_FALSE(contains(r.out, "test_gen"));
    auto ok = h.pipectl("plugins list --allow-insecure-plugins", dir.string());
    CHECK(contains(ok.out, "test_gen"));
  }
  SUBCASE("a world-writable folder named by the pipeline's plugin_path") {
    fs::permissions(dir, fs::perms::all);
    h.write("q.toml", "[pipeline]\nplugin_path = [\"open\"]\n\n[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n");
    auto r = h.pipectl("validate q.toml", "");
    CHECK(r.rc == 3);
    CHECK(contains(r.err, "warning: plugin folder \"" + dir.string() + "\" refused: it is world-writable"));
  }
  SUBCASE("a folder or library owned by another user") {
    if (::geteuid() != 0) {
      return pipectl::testing::skip_required_on_ci("not root: cannot give a folder to another user");
    }
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    auto r = h.pipectl("plugins list", dir.string());
    CHECK(contains(r.err, "warning: plugin folder \"" + dir.string() + "\" refused: it is owned by another user (uid 65534)"));
    REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
    REQUIRE(::chown((dir / "pipectl_test_gen.so").c_str(), 65534, 65534) == 0);
    r = h.pipectl("plugins list", dir.string());
    CHECK(contains(r.err, "warning: plugin \"" + (dir / "pipectl_test_gen.so").string() +
                              "\" refused: it is owned by another user (uid 65534)"));
    auto ok = h.pipectl("plugins list --allow-insecure-plugins", dir.string());
    CHECK(contains(ok.out, "test_gen"));
  }
}

TEST_CASE("hostile: security: --out never replaces a folder that is not a run folder") {
  Home h;
  h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n");
  SUBCASE("a folder with someone's files") {
    h.write("precious/thesis.tex", "years of work");
    auto r = h.pipectl("run p.toml -q --out precious");
    CHECK(r.rc == 2);
    CHECK(r.err == "error: --out \"precious\" is an existing folder that is not a pipectl run folder (it has no "
                   "run.json); refusing to replace it\n");
    CHECK(slurp(h / "precious" / "thesis.tex") == "years of work");
    CHECK_FALSE(fs::exists(h / ".precious.partial"));
  }
  SUBCASE("the working folder itself, or /") {
    for (const char* out : {".", "./", "/"}) {
      auto r = h.pipectl(std::string("run p.toml -q --out ") + out);
      CHECK(r.rc == 2);
      CHECK(fs::exists(h / "p.toml"));
    }
  }
  SUBCASE("a file") {
    h.write("notes.txt", "keep me");
    auto r = h.pipectl("run p.toml -q --out notes.txt");
    CHECK(r.rc == 2);
    CHECK(r.err == "error: --out \"notes.txt\" exists and is not a folder; refusing to replace it\n");
    CHECK(slurp(h / "notes.txt") == "keep me");
  }
  SUBCASE("an empty folder or an earlier run is replaced") {
    fs::create_directories(h / "empty");
    CHECK(h.pipectl("run p.toml -q --out empty").rc == 0);
    CHECK(fs::exists(h / "empty" / "run.json"));
    CHECK(h.pipectl("run p.toml -q --out empty --set gen.rows=7").rc == 0);
    CHECK(stage_record(read_json(h / "empty" / "run.json"), "gen")["rows_out"] == 7);
  }
}

TEST_CASE("hostile: security: the run folder refuses paths that climb out") {
  Home h;
  pipectl::RunFolder f(h / "runs", "x", std::nullopt);
  for (const char* rel : {"../escape.txt", "stages/../../escape.txt", "/tmp/escape.txt", "a/../../escape.txt", ""}) {
    CHECK_THROWS_WITH_AS(f.write(rel, "x"), doctest::Contains("outside the run folder"), pipectl::Error);
  }
  for (const char* id : {"..", "../x", "a/b", "."}) CHECK_THROWS_AS(f.stage_dir(id), pipectl::Error);
  f.write("stages/ok/file.txt", "x");
  CHECK(fs::exists(f.work_dir() / "stages" / "ok" / "file.txt"));
  CHECK_FALSE(fs::exists(h / "escape.txt"));
  CHECK_FALSE(fs::exists(h / "runs" / "escape.txt"));
}

TEST_CASE("hostile: security: an unusable cache or history does not stop a run") {
  Home h;
  h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n");
  SUBCASE("the cache is a file") {
    h.write("cache", "not a folder");
    auto r = h.pipectl("run p.toml -q --out run");
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(contains(r.err, "could not store the output in the cache"));
    CHECK(slurp(h / "cache") == "not a folder");
  }
  SUBCASE("a cache entry is corrupt: it is ignored, the stage runs, and the entry is replaced") {
    // A cached stage's table is read only when a stage that runs reads it:
    // here "use" re-runs (another ms) and reads gen's damaged table.
    h.write("q.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"use\"\n"
                      "plugin = \"test_sleep\"\ninputs = [\"gen\"]\nms = 1\n");
    REQUIRE(h.pipectl("run q.toml -q --out run").rc == 0);
    const std::string key = stage_record(read_json(h / "run" / "run.json"), "gen")["cache_key"];
    const auto table = h.cache() / key.substr(0, 2) / key / "table.bin";
    REQUIRE(fs::exists(table));
    fs::resize_file(table, fs::file_size(table) / 2);
    auto r = h.pipectl("run q.toml --set use.ms=2 --out run2");
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(contains(r.err, "[gen] cached table unusable, running the stage"));
    CHECK(stage_record(read_json(h / "run2" / "run.json"), "gen")["cached"] == false);
    auto again = h.pipectl("run q.toml -q --set use.ms=3 --out run3");
    CHECK(again.rc == 0);
    CHECK(stage_record(read_json(h / "run3" / "run.json"), "gen")["cached"] == true);
    CHECK(read_json(h / "run3" / "run.json")["cache_tables_loaded"] == 1);  // the replaced entry was read
  }
  SUBCASE("the history is not a database: kept aside, a new one records the run") {
    h.write("history.sqlite", "garbage, not SQLite");
    auto r = h.pipectl("run p.toml -q --out run");
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(contains(r.err, "is damaged"));
    CHECK(fs::exists(h / "run" / "run.json"));
    bool kept = false;
    for (const auto& e : fs::directory_iterator(h.path()))
      kept = kept || (e.path().filename().string().rfind("history.sqlite.damaged-", 0) == 0 &&
                      slurp(e.path()) == "garbage, not SQLite");
    CHECK(kept);
    CHECK(h.pipectl("runs list").out.find("run ") != std::string::npos);
  }
}
