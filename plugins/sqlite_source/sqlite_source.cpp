#include "sqlite_source.hpp"

#include <netcollector_query.hpp>

#include <pipectl/column_builder.hpp>
#include <pipectl/text.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <glob.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace pipectl::plugins {

namespace fs = std::filesystem;
using namespace pipectl::text;

namespace {

std::uint32_t be(const unsigned char* p, int n) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

/// The text of a prepared statement alone (no trailing ';'), to wrap in a subquery.
std::string statement_text(sqlite3_stmt* st) { return sql_statement(sqlite3_sql(st)); }

/// `select * from (<sql>) where <key> between lo and hi [and <shard>] order by
/// <key>` (world > 1: only worker `rank`'s keys); the line break ends a
/// trailing -- comment.
std::string in_key_range(const std::string& sql, const std::string& key, const std::optional<std::int64_t>& lo,
                         const std::optional<std::int64_t>& hi, int world, int rank) {
  std::string conds;
  if (lo) conds = quote_ident(key) + " between " + std::to_string(*lo) + " and " + std::to_string(*hi);
  if (world > 1) conds += (conds.empty() ? "" : " and ") + shard_condition(quote_ident(key), world, rank);
  return "select * from (\n" + sql + "\n) where " + conds + " order by " + quote_ident(key);
}

BuildKind kind_of_decltype(const char* decl) {
  if (!decl) return BuildKind::Unknown;
  std::string u(decl);
  for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto has = [&](const char* w) { return u.find(w) != std::string::npos; };
  // SQLite's affinity rules (https://www.sqlite.org/datatype3.html, 3.1), in order.
  if (has("INT")) return BuildKind::Int;
  if (has("CHAR") || has("CLOB") || has("TEXT")) return BuildKind::Text;
  if (has("BLOB") || u.empty()) return BuildKind::Unknown;
  if (has("REAL") || has("FLOA") || has("DOUB")) return BuildKind::Float;
  return BuildKind::Unknown;  // NUMERIC affinity: decided by the values
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

/// The open database and the mapping of SQLite failures to messages.
class Db {
 public:
  Db(const SqliteConfig& cfg, StageContext& ctx) : cfg_(cfg), ctx_(ctx) {
    where_ = "database \"" + cfg.path + "\"";
    std::error_code ec;
    auto st = fs::status(cfg.path, ec);
    if (!fs::exists(st)) throw DataError(where_ + " not found");
    if (!fs::is_regular_file(st)) throw DataError(where_ + " is not a regular file");
    // The file is only ever opened by SQLite: POSIX locks belong to the
    // process, and closing any other descriptor of the database would drop
    // the read lock of this (or another) connection, letting a writer change
    // the file under a live statement. Opening reads nothing; the header is
    // then read through SQLite's own descriptor.
    try {
      // NOMUTEX: this connection is used by one thread only; without it every
      // sqlite3_column_* call takes the connection's mutex.
      db_ = std::make_unique<SQLite::Database>(cfg.path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
                                               static_cast<int>(cfg.busy_timeout_ms));
    } catch (const SQLite::Exception& e) {
      fail_code(e.getErrorCode(), e.what(), "opening", "");
    }
    check_magic();
    exec("PRAGMA query_only=1");
    exec("PRAGMA mmap_size=" + std::to_string(cfg.mmap_mb * 1024 * 1024));
    sqlite3_progress_handler(h(), 20000, &Db::on_progress, this);
    // One read transaction: both queries see the same snapshot.
    exec("BEGIN");
  }
  ~Db() {
    if (db_) {
      sqlite3_progress_handler(h(), 0, nullptr, nullptr);
      sqlite3_exec(h(), "COMMIT", nullptr, nullptr, nullptr);
    }
  }

  sqlite3* h() const { return db_->getHandle(); }
  const std::string& where() const { return where_; }

  void exec(const std::string& sql) {
    int rc = sqlite3_exec(h(), sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql, sql);
  }

  /// Prepare one read-only statement (`what` = the parameter holding it).
  Stmt prepare(const std::string& sql, const std::string& what) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(h(), sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
    Stmt st(raw);
    if (rc != SQLITE_OK) fail(rc, what, sql);
    if (!st) throw DataError(what + " is empty");
    if (tail && !trim(tail).empty()) {  // only comments and semicolons may follow
      sqlite3_stmt* more = nullptr;
      const char* rest = tail;
      while (rest && *rest) {
        const char* next = nullptr;
        sqlite3_prepare_v2(h(), rest, -1, &more, &next);
        if (more || next == rest) {
          sqlite3_finalize(more);
          throw DataError(what + " must be a single statement; it continues with " + shown(trim(tail)));
        }
        rest = next;
      }
    }
    if (!sqlite3_stmt_readonly(st.get()))
      throw DataError(what + " would write to " + where_ + ", which is opened read-only; query: " + sql);
    return st;
  }

  [[noreturn]] void fail(int rc, const std::string& what, const std::string& sql) const {
    fail_code(rc, sqlite3_errmsg(h()), what, sql);
  }

  [[noreturn]] void fail_code(int rc, const std::string& msg, const std::string& what,
                              const std::string& sql) const {
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        throw DataError(where_ + " is locked by another connection (gave up after " +
                        std::to_string(cfg_.busy_timeout_ms) + " ms): " + msg);
      case SQLITE_NOTADB: throw DataError(where_ + " is not a SQLite database (" + msg + ")");
      case SQLITE_CORRUPT:
        check_size();  // a more precise message when the file is shorter than its header says
        throw DataError(where_ + " is corrupt or truncated (" + msg + ")");
      case SQLITE_INTERRUPT: throw Interrupted("cancelled while reading " + where_);
      case SQLITE_CANTOPEN: throw DataError(where_ + " cannot be opened (" + msg + ")");
      case SQLITE_IOERR: throw DataError(where_ + ": I/O error (" + msg + ")");
      case SQLITE_READONLY:
        throw DataError(what + " would write to " + where_ + ", which is opened read-only (" + msg +
                        "); query: " + sql);
      default:
        if (sql.empty()) throw DataError(where_ + ": " + what + " failed (" + msg + ")");
        throw DataError(what + " failed on " + where_ + ": " + msg + "; query: " + sql);
    }
  }

  /// Up to the first 100 bytes of the file and its size, through SQLite's
  /// descriptor (false when SQLite cannot give them).
  bool header(unsigned char (&b)[100], std::int64_t& size, std::int64_t& n) const {
    std::memset(b, 0, sizeof b);
    sqlite3_file* fp = nullptr;
    sqlite3_int64 sz = 0;
    if (sqlite3_file_control(h(), "main", SQLITE_FCNTL_FILE_POINTER, &fp) != SQLITE_OK || !fp || !fp->pMethods ||
        fp->pMethods->xFileSize(fp, &sz) != SQLITE_OK)
      return false;
    size = sz;
    n = std::min<std::int64_t>(sz, 100);
    return n == 0 || fp->pMethods->xRead(fp, b, static_cast<int>(n), 0) == SQLITE_OK;
  }

  /// The file size against the page count in the header (under a read lock,
  /// so no writer is half-way through extending the file).
  void check_size() const {
    unsigned char b[100];
    std::int64_t size = 0, n = 0;
    if (!header(b, size, n) || n < 100) return;
    std::uint32_t page = be(b + 16, 2);
    if (page == 1) page = 65536;
    const std::uint32_t counter = be(b + 24, 4), pages = be(b + 28, 4), valid_for = be(b + 92, 4);
    std::error_code ec;
    if (pages == 0 || counter != valid_for || fs::exists(cfg_.path + "-wal", ec)) return;
    if (size < static_cast<std::int64_t>(page) * pages)
      throw DataError(where_ + " is truncated: the file has " + std::to_string(size) +
                      " bytes, its header says " + std::to_string(pages) + " pages of " +
                      std::to_string(page) + " bytes");
  }

  /// What identifies the snapshot this connection's read transaction sees:
  /// the file change counter (rollback journal; in WAL mode commits go to the
  /// -wal file and the counter may stay) and PRAGMA data_version.
  json snapshot() const {
    unsigned char b[100];
    std::int64_t size = 0, n = 0;
    json j = json::object();
    if (header(b, size, n) && n == 100) {
      j["change_counter"] = be(b + 24, 4);
      j["journal"] = b[18] == 2 ? "wal" : "rollback";
    }
    sqlite3_stmt* e = nullptr;
    if (sqlite3_prepare_v2(h(), "PRAGMA data_version", -1, &e, nullptr) == SQLITE_OK && sqlite3_step(e) == SQLITE_ROW)
      j["data_version"] = sqlite3_column_int64(e, 0);
    sqlite3_finalize(e);
    return j;
  }

  /// A rollback-journal database must not have changed under our read lock;
  /// if it did, the rows read may mix two states: refuse them.
  void check_snapshot(const json& before) const {
    const json now = snapshot();
    if (before.value("journal", "") == "rollback" && now.contains("change_counter") &&
        before.contains("change_counter") && now["change_counter"] != before["change_counter"])
      throw DataError(where_ + " changed while it was read (file change counter " + before["change_counter"].dump() +
                      " -> " + now["change_counter"].dump() + "): the read lock was lost; nothing was read");
  }

 private:
  void check_magic() const {
    unsigned char b[100];
    std::int64_t size = 0, n = 0;
    if (!header(b, size, n)) throw DataError(where_ + " cannot be read");
    if (n == 0) throw DataError(where_ + " is not a SQLite database (the file is empty)");
    if (n < 16 || std::memcmp(b, "SQLite format 3", 16) != 0)
      throw DataError(where_ + " is not a SQLite database (it does not start with the SQLite header)");
    if (n < 100)
      throw DataError(where_ + " is truncated: the file has " + std::to_string(n) +
                      " bytes, less than the 100-byte header");
  }

  static int on_progress(void* self) { return static_cast<Db*>(self)->ctx_.cancelled() ? 1 : 0; }

  const SqliteConfig& cfg_;
  StageContext& ctx_;
  std::string where_;
  std::unique_ptr<SQLite::Database> db_;
};


}  // namespace

bool SqliteConfig::default_query() const { return collapse_ws(query) == collapse_ws(kSqliteDefaultQuery); }
bool SqliteConfig::default_list_query() const {
  return collapse_ws(list_query) == collapse_ws(kSqliteDefaultListQuery);
}

SqliteConfig SqliteConfig::from(const SqliteOptions& o) {
  SqliteConfig c;
  c.path = o.path.string();
  c.query = o.query;
  c.list_query = trim(o.list_query).empty() ? std::string() : o.list_query;
  c.list_key = o.list_key;
  c.list_column = o.list_column;
  c.list_distinct = o.list_distinct;
  c.busy_timeout_ms = o.busy_timeout_ms;
  c.mmap_mb = o.mmap_mb;
  c.count_rows = o.count_rows;
  c.labelled_only = o.labelled_only;
  c.capture_column = o.capture_column;
  c.device_column = o.device_column;
  if (o.key_min && o.key_max) {
    c.key_min = o.key_min;
    c.key_max = o.key_max;
  }
  if (o.types.is_object()) c.types = parse_column_types(o.types, /*multi=*/false);
  c.site_column = o.site_column;
  c.shard = o.shard;
  {
    std::error_code ec;
    c.pattern = c.path.find_first_of("*?[") != std::string::npos && !fs::is_regular_file(c.path, ec);
  }
  // Categorical even when every value is NULL (no captures table).
  if (!c.capture_column.empty() && c.default_query()) c.types.emplace(c.capture_column, DType::Categorical);
  if (!c.device_column.empty() && c.default_query()) c.types.emplace(c.device_column, DType::Categorical);
  return c;
}

std::vector<std::pair<std::string, std::string>> SqliteConfig::problems(const SqliteOptions& o) {
  std::vector<std::pair<std::string, std::string>> p;
  if (auto m = column_types_problem(o.types, /*multi=*/false); !m.empty()) p.push_back({"types", m});
  SqliteOptions untyped = o;
  untyped.types = json::object();
  const SqliteConfig c = from(untyped);
  if (o.key_min.has_value() != o.key_max.has_value())
    p.push_back({o.key_min ? "key_min" : "key_max", "parameters \"key_min\" and \"key_max\" go together"});
  if (trim(c.query).empty()) p.push_back({"query", "is empty"});
  const auto cols = sqlite_default_columns();
  const bool lists = !c.list_query.empty();
  auto taken = [&](const std::string& n) { return std::find(cols.begin(), cols.end(), n) != cols.end(); };
  if (!c.capture_column.empty() && c.default_query() && (taken(c.capture_column) || (lists && c.capture_column == c.list_column)))
    p.push_back({"capture_column", "\"" + c.capture_column + "\" is already a column of the source"});
  if (!c.device_column.empty() && c.default_query() &&
      (taken(c.device_column) || c.device_column == c.capture_column || (lists && c.device_column == c.list_column)))
    p.push_back({"device_column", "\"" + c.device_column + "\" is already a column of the source"});
  if (lists) {
    if (c.list_key.empty()) p.push_back({"list_key", "is empty (list_query needs it)"});
    if (c.list_column.empty()) p.push_back({"list_column", "is empty (list_query needs it)"});
  }
  if (c.pattern && !c.site_column.empty() &&
      ((c.default_query() && taken(c.site_column)) || (c.default_query() && c.site_column == c.capture_column) ||
       (c.default_query() && c.site_column == c.device_column) || (lists && c.site_column == c.list_column)))
    p.push_back({"site_column", "\"" + c.site_column + "\" is already a column of the source"});
  return p;
}

Schema SqliteConfig::schema() const {
  // Learnt by preparing the main query on the (first) database: the result
  // columns' names and declared types, as the read will type them; no row is
  // stepped. A database that is not there yet, a query that does not
  // prepare, or a column whose type only its values decide: known at run time.
  Schema out;
  out.known = false;
  std::string file = path;
  if (pattern) {
    glob_t g{};
    if (::glob(path.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
      std::vector<std::string> all;
      for (std::size_t i = 0; i < g.gl_pathc; ++i) all.emplace_back(g.gl_pathv[i]);
      std::sort(all.begin(), all.end());
      file = all.front();
    } else {
      file.clear();
    }
    globfree(&g);
  }
  std::error_code ec;
  if (file.empty() || !fs::is_regular_file(file, ec)) return out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  const std::string sql = main_sql(false);
  const char* tail = nullptr;
  // Only one read-only statement that returns columns is learnt from; any
  // other (a write, a second statement, a pragma) is the read's to refuse.
  bool ok = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, &tail) == SQLITE_OK && st && sqlite3_stmt_readonly(st) &&
            sqlite3_column_count(st) > 0;
  for (const char* c = tail; ok && c && *c; ++c)
    if (!std::isspace(static_cast<unsigned char>(*c)) && *c != ';') ok = false;
  bool all_typed = ok;
  if (ok) {
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      ColumnSchema cs;
      cs.name = sqlite3_column_name(st, c);
      BuildKind k = kind_of_decltype(sqlite3_column_decltype(st, c));
      auto t = types.find(cs.name);
      if (t != types.end()) k = build_kind(t->second);
      if (k == BuildKind::Unknown) all_typed = false;
      cs.type = k == BuildKind::Int ? DType::Int64 : k == BuildKind::Float ? DType::Float64 : DType::Categorical;
      if (cs.name == list_key) cs.role = ColumnRole::Key;
      out.columns.push_back(std::move(cs));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (!all_typed) {
    // Names are known; types wait for the rows.
    out.columns.clear();
    return out;
  }
  if (!list_query.empty()) {
    ColumnSchema l;
    l.name = list_column;
    l.type = DType::MultiCategorical;
    out.set(l);
  }
  if (pattern && !site_column.empty()) {
    ColumnSchema site;
    site.name = site_column;
    site.type = DType::Categorical;
    site.role = ColumnRole::Group;
    out.set(site);
  }
  out.known = true;
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> SqliteConfig::key_ranges(std::int64_t rows) const {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  std::error_code ec;
  if (pattern || rows <= 0 || !fs::is_regular_file(path, ec)) return out;
  // The default query reads sessions by sessionid: ask the table directly
  // (its primary key); a custom query: its own key column.
  const std::string sql = default_query()
                              ? "select min(sessionid), max(sessionid), count(*) from sessions"
                              : "select min(k), max(k), count(*) from (select " + quote_ident(list_key) +
                                    " as k from (\n" + query + "\n))";
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_type(st, 0) == SQLITE_INTEGER && sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
    const std::int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1), n = sqlite3_column_int64(st, 2);
    const std::int64_t chunks = std::max<std::int64_t>(1, (n + rows - 1) / rows);
    const std::int64_t span = (hi - lo) / chunks + 1;
    for (std::int64_t a = lo; a <= hi; a += span) {
      out.emplace_back(a, std::min(hi, a + span - 1));
      if (hi - a < span) break;  // no overflow past hi
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

Table SqliteConfig::group_details() const {
  std::error_code ec;
  if (pattern || !fs::is_regular_file(path, ec)) return {};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return {};
  }
  std::vector<std::int64_t> keys, groups;
  std::vector<std::vector<std::string>> desc(netcollector::devices_columns().size());
  sqlite3_stmt* st = nullptr;
  const std::string sql = netcollector::devices_query(netcollector::Dialect::SQLite);
  bool ok = sqlite3_prepare_v2(db, "select count(*) from sqlite_master where type in ('table', 'view') and name in "
                                   "('sessions', 'devices')", -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2;
  sqlite3_finalize(st);
  st = nullptr;
  ok = ok && sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK;
  int rc = SQLITE_DONE;
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    keys.push_back(sqlite3_column_int64(st, 0));
    groups.push_back(sqlite3_column_int64(st, 1));
    for (std::size_t c = 0; c < desc.size(); ++c) {
      const auto* t = sqlite3_column_text(st, static_cast<int>(c) + 2);
      desc[c].emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
  }
  ok = ok && rc == SQLITE_DONE;
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (!ok) return {};
  std::vector<ColumnPtr> cols = {std::make_shared<const Column>(Column::make_i64("sessionid", std::move(keys))),
                                 std::make_shared<const Column>(Column::make_i64("deviceid", std::move(groups)))};
  const auto names = netcollector::devices_columns();
  for (std::size_t c = 0; c < desc.size(); ++c)
    cols.push_back(std::make_shared<const Column>(encode_strings(names[c], desc[c])));
  return Table(std::move(cols));
}

std::vector<std::string> SqliteConfig::files() const {
  if (!pattern) return {path};
  glob_t g{};
  const int rc = ::glob(path.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (rc == GLOB_NOMATCH || (rc == 0 && out.empty()))
    throw DataError("path pattern \"" + path + "\" matches no file");
  if (rc != 0) throw DataError("path pattern \"" + path + "\" cannot be expanded (a folder cannot be read)");
  std::sort(out.begin(), out.end());  // byte order, whatever the locale
  if (!site_column.empty()) {
    std::map<std::string, std::string> seen;
    for (const auto& f : out) {
      const std::string stem = fs::path(f).stem().string();
      auto [it, fresh] = seen.emplace(stem, f);
      if (!fresh)
        throw DataError("path pattern \"" + path + "\" matches two files named \"" + stem + "\" (\"" + it->second +
                        "\" and \"" + f + "\"): the column \"" + site_column +
                        "\" needs a distinct file stem per site (or set site_column = \"\")");
    }
  }
  return out;
}

namespace {

/// Counters go to the stage and are kept, to be summed over the workers.
struct Counts {
  StageContext& ctx;
  std::map<std::string, std::int64_t> local;
  void operator()(const std::string& key, std::int64_t n) {
    ctx.count(key, n);
    local[key] += n;
  }
};

/// How one database is read.
struct ReadOptions {
  int world = 1, rank = 0;   ///< world > 1: only this worker's keys
  bool allow_empty = false;  ///< no rows is not an error (a shard may be empty)
  double p0 = 0.0, p1 = 1.0;  ///< the share of the progress bar
  bool measure = true;        ///< record expected_rows
  std::size_t expected = 0;   ///< out: the estimated rows
};

/// One database read with the configured queries.
Table read_database(const SqliteConfig& cfg_, StageContext& ctx, Counts& count, ReadOptions& ro) {
  Db db(cfg_, ctx);
  const bool sharded = ro.world > 1;
  auto progress = [&](double f) { ctx.progress(ro.p0 + (ro.p1 - ro.p0) * f); };

  bool captures_table = false;
  if (cfg_.default_query() && !cfg_.capture_column.empty()) {
    sqlite3_stmt* e = nullptr;
    captures_table = sqlite3_prepare_v2(db.h(), "select 1 from sqlite_master where name = 'captures' and type in "
                                        "('table', 'view')", -1, &e, nullptr) == SQLITE_OK &&
                     sqlite3_step(e) == SQLITE_ROW;
    sqlite3_finalize(e);
    if (!captures_table)
      ctx.info("the database has no captures table: column \"" + cfg_.capture_column + "\" is NULL");
  }
  if (!cfg_.default_query() && !cfg_.capture_column.empty())
    ctx.info("capture_column has no effect on a custom query");
  std::string query_sql = cfg_.main_sql(captures_table, ro.world, ro.rank);
  if ((cfg_.key_range() || sharded) && !cfg_.default_query()) {
    Stmt probe = db.prepare(query_sql, "query");
    if (sharded) {
      bool has_key = false;
      std::string have;
      for (int c = 0; c < sqlite3_column_count(probe.get()); ++c) {
        const std::string name = sqlite3_column_name(probe.get(), c);
        has_key = has_key || name == cfg_.list_key;
        have += (have.empty() ? "" : ", ") + name;
      }
      if (!has_key)
        throw DataError("shard = \"rows\" on " + std::to_string(ro.world) + " workers divides the rows by list_key \"" +
                        cfg_.list_key + "\", which is not a column of the query (columns: " + have + ")");
    }
    query_sql = in_key_range(statement_text(probe.get()), cfg_.list_key, cfg_.key_min, cfg_.key_max, ro.world,
                             ro.rank);
  }
  if (!cfg_.default_query() && !cfg_.labelled_only)
    ctx.info("labelled_only = false has no effect on a custom query");
  Stmt st = db.prepare(query_sql, "query");
  sqlite3_stmt* s = st.get();
  const int ncol = sqlite3_column_count(s);
  if (ncol == 0) throw DataError("query returns no columns; query: " + query_sql);

  std::vector<ColumnBuilder> cols(static_cast<std::size_t>(ncol));
  for (int c = 0; c < ncol; ++c) {
    auto& b = cols[static_cast<std::size_t>(c)];
    b.name = sqlite3_column_name(s, c);
    b.kind = kind_of_decltype(sqlite3_column_decltype(s, c));
    auto t = cfg_.types.find(b.name);
    if (t != cfg_.types.end()) b.kind = build_kind(t->second);
  }
  const int key_idx = check_query_columns(cols, cfg_.types, query_sql, !cfg_.list_query.empty(), cfg_.list_key,
                                          cfg_.list_column);

  // Where a bad value is: "at row 17 (sessionid 42)".
  auto at_row = [&](std::size_t row) {
    std::string w = "at row " + std::to_string(row);
    if (key_idx >= 0 && sqlite3_column_type(s, key_idx) == SQLITE_INTEGER)
      w += " (" + cfg_.list_key + " " + std::to_string(sqlite3_column_int64(s, key_idx)) + ")";
    return w;
  };
  auto text_of = [&](int c) {
    return std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, c)),
                            static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
  };
  auto bad = [&](const ColumnBuilder& b, int c, std::size_t row, int type) -> DataError {
    const std::string pre = "column \"" + b.name + "\": ";
    if (type == SQLITE_BLOB) return DataError(pre + "blob value " + at_row(row));
    if (type == SQLITE_FLOAT)
      return DataError(pre + "real value " + fmt_double(sqlite3_column_double(s, c)) + " " + at_row(row) +
                       " is not an integer");
    return DataError(pre + "text value " + shown(text_of(c)) + " " + at_row(row));
  };

  const bool list = !cfg_.list_query.empty();
  std::size_t expected = 0;
  std::size_t row = 0;
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) db.fail(rc, "query", query_sql);
  db.check_size();
  // The read transaction holds from the first step to the end (Db's BEGIN):
  // the query and the list query see one snapshot.
  const json snap = db.snapshot();
  if (ro.measure) ctx.measure("snapshot", snap);
  {
    // An estimate for memory reservation and progress, from what is cheap to ask.
    std::string est_sql;
    if (cfg_.count_rows) {
      est_sql = "select count(*) from (" + statement_text(s) + "\n)";  // the line break ends a trailing -- comment
    }
    else if (cfg_.default_query()) est_sql = "select max(rowid) from sessions";
    if (!est_sql.empty() && cfg_.key_range() && !cfg_.count_rows)
      est_sql = "select min((" + est_sql + "), " + std::to_string(std::max<std::int64_t>(0, *cfg_.key_max - *cfg_.key_min + 1)) + ")";
    if (!est_sql.empty() && rc == SQLITE_ROW) {
      sqlite3_stmt* e = nullptr;
      if (sqlite3_prepare_v2(db.h(), est_sql.c_str(), -1, &e, nullptr) == SQLITE_OK &&
          sqlite3_step(e) == SQLITE_ROW)
        expected = static_cast<std::size_t>(std::max<sqlite3_int64>(0, sqlite3_column_int64(e, 0)));
      sqlite3_finalize(e);
      if (sharded && !cfg_.count_rows) expected = (expected + static_cast<std::size_t>(ro.world) - 1) /
                                                   static_cast<std::size_t>(ro.world);
      if (expected > 0)
        for (auto& b : cols) b.reserve(std::min<std::size_t>(expected, std::size_t{1} << 28));
      if (ro.measure) ctx.measure("expected_rows", static_cast<double>(expected));
      ro.expected = expected;
    }
  }
  const double main_share = list ? 0.8 : 1.0;

  for (; rc == SQLITE_ROW; rc = sqlite3_step(s), ++row) {
    if ((row & 4095) == 0 && row > 0) {
      if (ctx.cancelled()) throw Interrupted("cancelled while reading " + db.where());
      if ((row & 65535) == 0 && expected > 0)
        progress(main_share * std::min(0.99, static_cast<double>(row) / static_cast<double>(expected)));
    }
    for (int c = 0; c < ncol; ++c) {
      ColumnBuilder& b = cols[static_cast<std::size_t>(c)];
      const int type = sqlite3_column_type(s, c);
      if (type == SQLITE_NULL) {
        b.push_null(row);
        continue;
      }
      if (b.kind == BuildKind::Unknown) {
        switch (type) {
          case SQLITE_INTEGER: b.settle(BuildKind::Int, row); break;
          case SQLITE_FLOAT: b.settle(BuildKind::Float, row); break;
          case SQLITE_TEXT: b.settle(BuildKind::Text, row); break;
          default: throw bad(b, c, row, type);
        }
      }
      switch (b.kind) {
        case BuildKind::Int: {
          if (type == SQLITE_INTEGER) {
            b.i64.push_back(sqlite3_column_int64(s, c));
          } else if (type == SQLITE_FLOAT) {
            const double d = sqlite3_column_double(s, c);
            if (!(std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18)) throw bad(b, c, row, type);
            b.i64.push_back(static_cast<std::int64_t>(d));
          } else {
            std::int64_t v;
            if (type != SQLITE_TEXT || !parse_int(text_of(c), v)) throw bad(b, c, row, type);
            b.i64.push_back(v);
          }
          break;
        }
        case BuildKind::Float: {
          if (type == SQLITE_FLOAT || type == SQLITE_INTEGER) {
            b.f64.push_back(type == SQLITE_FLOAT ? sqlite3_column_double(s, c)
                                                 : static_cast<double>(sqlite3_column_int64(s, c)));
          } else {
            double v;
            if (type != SQLITE_TEXT || !parse_double(text_of(c), v)) throw bad(b, c, row, type);
            b.f64.push_back(v);
          }
          break;
        }
        case BuildKind::Text:
          if (type == SQLITE_BLOB) throw bad(b, c, row, type);
          b.codes.push_back(b.dict.intern(text_of(c)));
          break;
        case BuildKind::Unknown: break;
      }
      b.pushed();
    }
  }
  if (rc != SQLITE_DONE) db.fail(rc, "query", query_sql);
  st.reset();
  const std::size_t n = row;
  if (n == 0 && !cfg_.key_range() && !ro.allow_empty)
    throw DataError("query returned no rows (" + db.where() + "); query: " + query_sql);

  if (cfg_.default_query() && !cfg_.key_range() && ro.rank == 0) {  // belongs to no shard: worker 0 counts it
    // Sessions with a NULL id cannot be joined to their device, so the query
    // never sees them: count them (free when sessionid is the primary key).
    sqlite3_stmt* e = nullptr;
    if (sqlite3_prepare_v2(db.h(), "select count(*) from sessions where sessionid is null", -1, &e, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(e) == SQLITE_ROW && sqlite3_column_int64(e, 0) > 0)
      count("dropped.null.sessionid", sqlite3_column_int64(e, 0));
    sqlite3_finalize(e);
  }

  std::vector<ColumnPtr> out;
  out.reserve(cols.size() + 1);
  for (auto& b : cols) {
    if (b.nulls > 0) count("nulls." + b.name, static_cast<std::int64_t>(b.nulls));
    out.push_back(std::make_shared<const Column>(b.finish(n)));
  }
  cols.clear();
  progress(main_share);

  if (list) {
    const auto& keys = checked_list_keys(*out[static_cast<std::size_t>(key_idx)], cfg_.list_key,
                                         cfg_.default_query());

    std::string list_sql = cfg_.list_query;
    if (cfg_.key_range() || sharded) {
      if (cfg_.default_list_query()) {
        std::string conds;
        if (cfg_.key_range())
          conds = "q.sessionid between " + std::to_string(*cfg_.key_min) + " and " + std::to_string(*cfg_.key_max);
        if (sharded) conds += (conds.empty() ? "" : " and ") + shard_condition("q.sessionid", ro.world, ro.rank);
        list_sql = netcollector::dns_query(netcollector::Dialect::SQLite, conds);
      } else {
        Stmt probe = db.prepare(list_sql, "list_query");
        if (sqlite3_column_count(probe.get()) < 1) throw DataError("list_query returns no columns; query: " + list_sql);
        list_sql = in_key_range(statement_text(probe.get()), sqlite3_column_name(probe.get(), 0), cfg_.key_min,
                                cfg_.key_max, ro.world, ro.rank);
      }
    }
    Stmt lst = db.prepare(list_sql, "list_query");
    sqlite3_stmt* l = lst.get();
    if (sqlite3_column_count(l) != 2)
      throw DataError("list_query must return 2 columns (key, value), it returns " +
                      std::to_string(sqlite3_column_count(l)) + "; query: " + list_sql);

    ListJoin join(keys, cfg_.list_distinct, list_sql);
    std::size_t lrow = 0;
    for (rc = sqlite3_step(l); rc == SQLITE_ROW; rc = sqlite3_step(l), ++lrow) {
      if ((lrow & 4095) == 0 && lrow > 0 && ctx.cancelled())
        throw Interrupted("cancelled while reading " + db.where());
      const int kt = sqlite3_column_type(l, 0);
      if (kt == SQLITE_NULL) {
        join.null_key();
        continue;
      }
      if (kt != SQLITE_INTEGER)
        throw DataError("list_query: key " +
                        (kt == SQLITE_BLOB ? std::string("blob")
                                           : shown(std::string_view(
                                                 reinterpret_cast<const char*>(sqlite3_column_text(l, 0)),
                                                 static_cast<std::size_t>(sqlite3_column_bytes(l, 0))))) +
                        " at row " + std::to_string(lrow) + " is not an integer");
      const std::int64_t k = sqlite3_column_int64(l, 0);
      join.key(k, lrow);
      const int vt = sqlite3_column_type(l, 1);
      if (vt == SQLITE_NULL) {
        join.null_value();
        continue;
      }
      if (vt == SQLITE_BLOB)
        throw DataError("list_query: blob value at row " + std::to_string(lrow) + " (key " + std::to_string(k) + ")");
      join.value(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(l, 1)),
                                  static_cast<std::size_t>(sqlite3_column_bytes(l, 1))));
    }
    if (rc != SQLITE_DONE) db.fail(rc, "list_query", list_sql);
    out.push_back(std::make_shared<const Column>(join.finish(cfg_.list_column, std::ref(count))));
  }
  db.check_snapshot(snap);
  progress(1.0);
  ctx.info("read " + std::to_string(n) + " rows x " + std::to_string(out.size()) + " columns from " + db.where() +
           (sharded ? " (worker " + std::to_string(ro.rank) + "'s shard of " + std::to_string(ro.world) + ")" : ""));
  return Table(std::move(out));
}

bool all_null(const Column& c) {
  if (c.type == DType::MultiCategorical) return c.rows() == 0;
  return c.null_count() == c.rows();
}

/// The one type two parts' column can share: the same type; an all-NULL (or
/// empty) side takes the other's; int64 with float64 gives float64. False
/// when there is none (e.g. categorical and numeric values).
bool common_type(DType& a, bool& a_null, DType b, bool b_null) {
  if (a == b) {
    a_null = a_null && b_null;
    return true;
  }
  if (b_null) return true;
  if (a_null) {
    a = b;
    a_null = false;
    return true;
  }
  const bool numeric = (a == DType::Int64 || a == DType::Float64) && (b == DType::Int64 || b == DType::Float64);
  if (!numeric) return false;
  a = DType::Float64;
  return true;
}

/// `c` as type `to` (int64 -> float64, or an all-NULL column of any type).
ColumnPtr convert(const ColumnPtr& c, DType to) {
  if (c->type == to) return c;
  const std::size_t n = c->rows();
  Column o;
  if (c->type == DType::Int64 && to == DType::Float64) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = c->is_null(i) ? std::nan("") : static_cast<double>(c->i64[i]);
    o = Column::make_f64(c->name, std::move(v));
    o.valid = c->valid;
    return std::make_shared<const Column>(std::move(o));
  }
  if (!all_null(*c)) throw Error("sqlite: cannot convert column \"" + c->name + "\" to " + dtype_name(to));
  switch (to) {
    case DType::Int64: o = Column::make_i64(c->name, std::vector<std::int64_t>(n, 0)); break;
    case DType::Float64: o = Column::make_f64(c->name, std::vector<double>(n, std::nan(""))); break;
    case DType::Categorical:
      o = Column::make_cat(c->name, std::vector<std::int32_t>(n, -1), std::make_shared<const Dictionary>());
      break;
    case DType::MultiCategorical:
      o = Column::make_multi(c->name, std::vector<std::int64_t>(n + 1, 0), {}, std::make_shared<const Dictionary>());
      break;
  }
  if (n > 0 && to != DType::MultiCategorical) o.valid.assign(n, 0);
  return std::make_shared<const Column>(std::move(o));
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// The rows of every part, one after the other (the parts give the same
/// columns; types are brought to one, dictionaries merged in order).
Table concat(const std::vector<Table>& parts, const std::vector<std::string>& where) {
  if (parts.size() == 1) return parts[0];
  const auto names = parts[0].column_names();
  for (std::size_t p = 1; p < parts.size(); ++p)
    if (parts[p].column_names() != names)
      throw DataError("the query gives other columns on " + where[p] + " (" + joined(parts[p].column_names()) +
                      ") than on " + where[0] + " (" + joined(names) + "); every database must give the same columns");
  std::size_t total = 0;
  for (const auto& t : parts) total += t.rows();
  std::vector<ColumnPtr> out;
  for (std::size_t j = 0; j < names.size(); ++j) {
    DType type = parts[0].columns()[j]->type;
    bool nulls_only = all_null(*parts[0].columns()[j]);
    std::size_t first = 0;  // the part that set the type
    for (std::size_t p = 1; p < parts.size(); ++p) {
      const Column& c = *parts[p].columns()[j];
      const DType before = type;
      if (!common_type(type, nulls_only, c.type, all_null(c)))
        throw DataError("column \"" + names[j] + "\" is " + dtype_name(type) + " on " + where[first] + " but " +
                        dtype_name(c.type) + " on " + where[p] + " (give it one type with `types`)");
      if (type != before) first = p;
    }
    Column o;
    o.name = names[j];
    o.type = type;
    bool any_null = false;
    for (const auto& t : parts) any_null = any_null || (type != DType::MultiCategorical && t.columns()[j]->null_count() > 0);
    if (any_null) o.valid.reserve(total);
    Interner dict;
    if (type == DType::MultiCategorical) o.offsets.push_back(0);
    for (const auto& t : parts) {
      const ColumnPtr c = convert(t.columns()[j], type);
      const std::size_t n = c->rows();
      if (any_null) {
        if (c->valid.empty()) o.valid.insert(o.valid.end(), n, 1);
        else o.valid.insert(o.valid.end(), c->valid.begin(), c->valid.end());
      }
      switch (type) {
        case DType::Int64: o.i64.insert(o.i64.end(), c->i64.begin(), c->i64.end()); break;
        case DType::Float64: o.f64.insert(o.f64.end(), c->f64.begin(), c->f64.end()); break;
        case DType::Categorical:
        case DType::MultiCategorical: {
          std::vector<std::int32_t> remap;
          remap.reserve(c->dictionary->size());
          for (const auto& s : *c->dictionary) remap.push_back(dict.intern(s));
          const std::int64_t base = static_cast<std::int64_t>(o.codes.size());
          for (auto code : c->codes) o.codes.push_back(code < 0 ? -1 : remap[static_cast<std::size_t>(code)]);
          if (type == DType::MultiCategorical)
            for (std::size_t i = 1; i < c->offsets.size(); ++i) o.offsets.push_back(base + c->offsets[i]);
          break;
        }
      }
    }
    if (type == DType::Categorical || type == DType::MultiCategorical) o.dictionary = dict.finish();
    out.push_back(std::make_shared<const Column>(std::move(o)));
  }
  return Table(std::move(out));
}

}  // namespace

SqliteSource::SqliteSource(const Options& o) : cfg_(SqliteConfig::from(o)) {}

Table SqliteSource::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (!inputs.empty()) throw Error("the sqlite source takes no inputs");
  const auto t0 = std::chrono::steady_clock::now();
  Collective& coll = ctx.collective();
  const int world = coll.world(), rank = coll.rank();
  Counts count{ctx, {}};
  auto finish = [&](Table t) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.measure("seconds", secs);
    ctx.measure("rows_per_second", secs > 0 ? static_cast<double>(t.rows()) / secs : 0.0);
    return t;
  };
  if (!cfg_.pattern && world == 1) {  // one database, one process: as it always was
    ReadOptions ro;
    return finish(read_database(cfg_, ctx, count, ro));
  }

  // Which databases this worker reads, and which of their rows.
  Table local;
  std::exception_ptr failed;
  std::string why, mode = "none";
  std::size_t nfiles = 0;
  try {
    const auto files = cfg_.files();
    nfiles = files.size();
    const auto W = static_cast<std::size_t>(world);
    if (world > 1) {
      mode = cfg_.shard;
      if (mode == "auto") mode = nfiles >= W ? "files" : "rows";
      if (mode == "files" && nfiles < W)
        throw Error("shard = \"files\" needs at least as many databases as workers: " +
                    (cfg_.pattern ? "path pattern \"" + cfg_.path + "\" matches " : "path \"" + cfg_.path + "\" is ") +
                    std::to_string(nfiles) + " file(s) for " + std::to_string(world) +
                    " workers (shard = \"rows\" divides every file's rows)");
    }
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < nfiles; ++i)
      if (mode != "files" || i % W == static_cast<std::size_t>(rank)) mine.push_back(i);
    ReadOptions base;
    base.measure = false;
    if (mode == "rows") {
      base.world = world;
      base.rank = rank;
      base.allow_empty = true;
    }
    std::vector<Table> parts;
    std::vector<std::string> where;
    std::size_t expected = 0;
    for (std::size_t k = 0; k < mine.size(); ++k) {
      SqliteConfig c = cfg_;
      c.path = files[mine[k]];
      ReadOptions ro = base;
      ro.p0 = static_cast<double>(k) / static_cast<double>(mine.size());
      ro.p1 = static_cast<double>(k + 1) / static_cast<double>(mine.size());
      parts.push_back(read_database(c, ctx, count, ro));
      where.push_back("database \"" + c.path + "\"");
      expected += ro.expected;
    }
    ctx.measure("expected_rows", static_cast<double>(expected));
    local = concat(parts, where);
    if (cfg_.pattern && !cfg_.site_column.empty()) {
      if (local.has(cfg_.site_column))
        throw DataError("site_column \"" + cfg_.site_column +
                        "\" is already a column of the query (set site_column to another name)");
      auto stems = std::make_shared<Dictionary>();
      for (const auto& f : files) stems->push_back(fs::path(f).stem().string());
      std::vector<std::int32_t> codes;
      codes.reserve(local.rows());
      for (std::size_t k = 0; k < parts.size(); ++k) codes.insert(codes.end(), parts[k].rows(), static_cast<std::int32_t>(mine[k]));
      local = local.with(Column::make_cat(cfg_.site_column, std::move(codes), std::move(stems)));
    }
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    if (world == 1) throw;
    failed = std::current_exception();  // the other workers must hear of it before anyone throws
    why = e.what();
  }
  if (world == 1) {
    ctx.info("read " + std::to_string(local.rows()) + " rows from " + std::to_string(nfiles) +
             " databases matching \"" + cfg_.path + "\"");
    return finish(local);
  }

  // Every worker learns every worker's outcome, row count, counters and column types.
  json schema = json::array();
  for (const auto& c : local.columns()) schema.push_back({c->name, static_cast<int>(c->type), all_null(*c)});
  const json me = {{"error", failed ? json(why) : json(nullptr)},
                   {"rows", static_cast<std::int64_t>(local.rows())},
                   {"counters", count.local},
                   {"schema", schema}};
  std::vector<json> all;
  for (const auto& bytes : coll.allgather(me.dump())) all.push_back(json::parse(bytes));
  for (int r = 0; r < world; ++r) {
    const json& e = all[static_cast<std::size_t>(r)]["error"];
    if (e.is_null()) continue;
    if (failed) std::rethrow_exception(failed);
    throw DataError("worker " + std::to_string(r) + " of " + std::to_string(world) +
                    " could not read its shard: " + e.get<std::string>());
  }
  // One type per column over the workers (a shard may hold only NULLs of a column).
  {
    std::vector<std::string> names;
    for (const auto& c : schema) names.push_back(c[0].get<std::string>());
    std::vector<ColumnPtr> cols = local.columns();
    bool changed = false;
    for (std::size_t j = 0; j < names.size(); ++j) {
      DType type = static_cast<DType>(all[0]["schema"].at(j)[1].get<int>());
      bool nulls_only = all[0]["schema"].at(j)[2].get<bool>();
      int first = 0;
      for (int r = 0; r < world; ++r) {
        const json& s = all[static_cast<std::size_t>(r)]["schema"];
        std::vector<std::string> theirs;
        for (const auto& c : s) theirs.push_back(c[0].get<std::string>());
        if (theirs != names)
          throw DataError("worker " + std::to_string(r) + " reads other columns (" + joined(theirs) + ") than worker " +
                          std::to_string(rank) + " (" + joined(names) + "); every shard must give the same columns");
        const DType before = type;
        const auto t = static_cast<DType>(s[j][1].get<int>());
        if (!common_type(type, nulls_only, t, s[j][2].get<bool>()))
          throw DataError("column \"" + names[j] + "\" is " + dtype_name(type) + " on worker " + std::to_string(first) +
                          " but " + dtype_name(t) + " on worker " + std::to_string(r) +
                          " (give it one type with `types`)");
        if (type != before) first = r;
      }
      if (cols[j]->type != type) {
        cols[j] = convert(cols[j], type);
        changed = true;
      }
    }
    if (changed) local = Table(std::move(cols));
  }
  std::int64_t rows = 0;
  std::map<std::string, std::int64_t> counters;
  for (const auto& w : all) {
    rows += w["rows"].get<std::int64_t>();
    for (auto it = w["counters"].begin(); it != w["counters"].end(); ++it) counters[it.key()] += it.value().get<std::int64_t>();
  }
  if (rows == 0)
    throw DataError("query returned no rows on any of the " + std::to_string(world) + " workers (" +
                    (cfg_.pattern ? "path pattern \"" : "database \"") + cfg_.path + "\")");
  ctx.metric("global", {{"workers", world}, {"rows", rows}, {"counters", counters}});
  std::string line = "all " + std::to_string(world) + " workers read " + std::to_string(rows) + " rows (this worker " +
                     std::to_string(local.rows()) + "; shard by " + mode + ")";
  for (const auto& [k, v] : counters) line += ", " + k + " " + std::to_string(v);
  ctx.info(line);
  return finish(local);
}

}  // namespace pipectl::plugins
