// The sqlite source with a writer on the database: one snapshot per read in
// rollback-journal mode, and a cache key that sees a WAL-mode commit.
#include "faults_common.hpp"

#include <sys/stat.h>

#include <atomic>
#include <thread>

using namespace faults;

namespace {

/// The distinct values of one column of a CSV file with a header.
std::set<std::string> distinct(const fs::path& csv, const std::string& column) {
  const auto rows = csv_records(csv);
  REQUIRE(!rows.empty());
  std::size_t c = 0;
  while (c < rows[0].size() && rows[0][c] != column) ++c;
  REQUIRE(c < rows[0].size());
  std::set<std::string> v;
  for (std::size_t i = 1; i < rows.size(); ++i) v.insert(rows[i].at(c));
  return v;
}

std::string export_csv(const std::string& db, const fs::path& csv, const fs::path& out, const std::string& extra = "") {
  return "run " + quote(kPipelines + "/export-csv.toml") + " -q " + extra + " --set source.path=" + quote(db) +
         " --set export.path=" + quote(csv.string()) + " --out " + quote(out.string());
}

}  // namespace

TEST_CASE("faults: a writer committing during a rollback-journal read: one snapshot, or a clean \"locked\" failure") {
  Home h;
  const auto db = small_db(h, "net.sqlite", 9688);
  sql(db, "pragma journal_mode=delete; update sessions set srcport = 0");
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    sqlite3* w = nullptr;
    if (sqlite3_open(db.c_str(), &w) != SQLITE_OK) return;
    sqlite3_busy_timeout(w, 60000);
    sqlite3_exec(w, "pragma synchronous=off", nullptr, nullptr, nullptr);
    for (int k = 1; !stop; ++k) {
      // Each transaction sets the column of every session to one value.
      const std::string t = "begin immediate; update sessions set srcport = " + std::to_string(k) + "; commit";
      if (sqlite3_exec(w, t.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) ++commits;
      else sqlite3_exec(w, "rollback", nullptr, nullptr, nullptr);
    }
    sqlite3_close(w);
  });
  int consistent = 0;
  for (int i = 0; i < 4; ++i) {
    const auto csv = h.path() / ("s" + std::to_string(i) + ".csv");
    auto r = h.pipectl(export_csv(db, csv, h.path() / ("run" + std::to_string(i)), "--no-cache"));
    if (r.rc == 0) {
      const auto v = distinct(csv, "srcport");
      CHECK_MESSAGE(v.size() == 1, "run " << i << " read " << v.size() << " values of a column each commit sets to one");
      ++consistent;
    } else {
      CHECK_MESSAGE(r.err.find("is locked by another connection") != std::string::npos, r.err);
      CHECK(r.err.find("corrupt") == std::string::npos);
    }
  }
  stop = true;
  writer.join();
  CHECK(commits > 0);
  MESSAGE(consistent << " of 4 reads finished (the rest gave up waiting for the lock); " << commits.load() << " commits");
}

TEST_CASE("faults: a WAL-mode commit by a writer that keeps its connection: the next run reads the source again") {
  Home h;
  const auto db = small_db(h);
  sql(db, "pragma journal_mode=wal");
  const auto csv = h.path() / "s.csv";
  auto a = h.pipectl(export_csv(db, csv, h.path() / "a"));
  REQUIRE_MESSAGE(a.rc == 0, a.err);
  auto b = h.pipectl(export_csv(db, csv, h.path() / "b"));
  REQUIRE(b.rc == 0);
  REQUIRE(stage_of(h.path() / "b", "source")["cached"] == true);  // unchanged: from the cache
  const auto rows_before = stage_of(h.path() / "b", "source")["rows_out"].get<std::int64_t>();

  struct stat before {}, after {};
  REQUIRE(::stat(db.c_str(), &before) == 0);
  sqlite3* w = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &w) == SQLITE_OK);
  REQUIRE(sqlite3_exec(w, "pragma wal_autocheckpoint=0; delete from sessions where sessionid % 2 = 0", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  // The writer keeps its connection: the commit is in the -wal file only.
  REQUIRE(::stat(db.c_str(), &after) == 0);
  CHECK(after.st_size == before.st_size);
  CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);

  auto st = h.pipectl("status " + quote(kPipelines + "/export-csv.toml") + " --set source.path=" + quote(db) +
                      " --set export.path=" + quote(csv.string()));
  CHECK(st.out.find("source: stale (file of path changed)") != std::string::npos);
  auto c = h.pipectl(export_csv(db, csv, h.path() / "c"));
  REQUIRE_MESSAGE(c.rc == 0, c.err);
  CHECK(stage_of(h.path() / "c", "source")["cached"] == false);
  auto d = h.pipectl(export_csv(db, csv, h.path() / "d", "--no-cache"));
  REQUIRE(d.rc == 0);
  const auto rows_c = stage_of(h.path() / "c", "source")["rows_out"].get<std::int64_t>();
  CHECK(rows_c == stage_of(h.path() / "d", "source")["rows_out"].get<std::int64_t>());
  CHECK(rows_c < rows_before);
  sqlite3_close(w);
}
