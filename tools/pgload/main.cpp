// netcollector-pgload: copy a NetCollector SQLite database into PostgreSQL.
//
//   netcollector-pgload --from DB.sqlite [--conninfo STRING] [--schema FILE] [--drop] [--text] [--quiet]
//
// Creates the schema (schemas/netcollector.postgres.sql, embedded at build
// time; --schema runs another file instead), then copies every NetCollector
// table (devices, sessions, dns_queries, and captures when the SQLite file
// has it, as `pipectl ingest pcap --captures` writes it) with COPY FROM
// STDIN, all in one transaction: either everything is there or nothing is.
// Columns are matched by name; dns_queries.queryid takes SQLite's rowid.
// A table that already holds rows is refused unless --drop, which drops the
// tables and the view first. Prints the rows of each table and the rate.
//
// Speed: one thread reads SQLite and encodes COPY data (binary: no parsing
// on the server) while the main thread sends it; the tables are
// truncated in the transaction and copied with FREEZE; the indexes of a
// table are dropped for the copy and rebuilt from their definitions after.
//
// Exit codes: 0 ok, 1 failure (nothing was written), 2 usage.
#include "pq.hpp"

#include <pgload/schema.hpp>
#include <pipectl/text.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using pipectl::pq::Result;
using pipectl::text::parse_double;
using pipectl::text::parse_int;
using pipectl::text::quote_ident;

const char* const kUsage =
    "usage: netcollector-pgload --from DB.sqlite [--conninfo STRING] [--schema FILE] [--drop] [--text] [--quiet]\n"
    "\n"
    "Copy a NetCollector SQLite database into PostgreSQL (one transaction, COPY FROM STDIN).\n"
    "\n"
    "  --from FILE        the SQLite database (opened read-only)\n"
    "  --conninfo STRING  libpq connection string or URI, e.g.\n"
    "                     \"host=127.0.0.1 port=5433 dbname=netcollector user=pipectl\"\n"
    "                     (default \"\": the PG* environment variables and libpq's defaults)\n"
    "  --schema FILE      SQL run to create the schema (default: the embedded\n"
    "                     schemas/netcollector.postgres.sql)\n"
    "  --drop             drop the NetCollector tables and view first (else a table\n"
    "                     that already holds rows is an error)\n"
    "  --text             send COPY's text format (default: binary for the columns of\n"
    "                     type bigint, integer, smallint, double precision, text and\n"
    "                     varchar; a table with another type is sent as text anyway)\n"
    "  --quiet            print nothing but errors\n";

const char* const kCapturesTableSql =
    "CREATE TABLE IF NOT EXISTS captures (\n"
    "    sessionid bigint PRIMARY KEY,  -- sessions (sessionid)\n"
    "    file      text NOT NULL        -- capture file of the session's first packet\n"
    ")";

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string quote_literal(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

class Pg {
 public:
  explicit Pg(PGconn* c) : c_(c) {}

  Result exec(const std::string& sql, ExecStatusType want = PGRES_COMMAND_OK) {
    Result r(PQexec(c_, sql.c_str()));
    if (!r || PQresultStatus(r.get()) != want) fail(r.get(), sql);
    return r;
  }
  Result query(const std::string& sql) { return exec(sql, PGRES_TUPLES_OK); }

  [[noreturn]] void fail(const PGresult* r, const std::string& sql) const {
    std::string m = pipectl::pq::one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
    if (r)
      if (const char* ctx = PQresultErrorField(r, PG_DIAG_CONTEXT)) m += " (" + pipectl::pq::one_line(ctx) + ")";
    std::string shown = sql.size() > 200 ? sql.substr(0, 200) + "..." : sql;
    throw Failure(m + "; statement: " + shown);
  }

  PGconn* get() const { return c_; }

 private:
  PGconn* c_;
};

/// Bounded queue of COPY text chunks, from the SQLite reader to the sender.
class Chunks {
 public:
  void push(std::string s) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return q_.size() < 8 || stop_; });
    if (stop_) return;
    q_.push_back(std::move(s));
    cv_.notify_all();
  }
  void close(std::exception_ptr e = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    error_ = e;
    cv_.notify_all();
  }
  void stop() {  // the consumer gives up: release the producer
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  /// false at the end (rethrows the producer's exception).
  bool pop(std::string& out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !q_.empty() || done_; });
    if (q_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return false;
    }
    out = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
};

void append_text(std::string& out, const unsigned char* s, int n) {
  const unsigned char* end = s + n;
  while (s < end) {
    const unsigned char* p = s;
    while (p < end && *p != '\\' && *p != '\t' && *p != '\n' && *p != '\r') ++p;
    out.append(reinterpret_cast<const char*>(s), static_cast<std::size_t>(p - s));
    if (p == end) break;
    out += '\\';
    out += *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
    s = p + 1;
  }
}

/// How a column is sent: COPY's text format (any type: the server parses
/// it), or binary for the types the schema uses (no parsing on the server).
enum class Enc { Text, I8, I4, I2, F8, Str };

Enc binary_enc(unsigned oid) {
  switch (oid) {
    case 20: return Enc::I8;
    case 23: return Enc::I4;
    case 21: return Enc::I2;
    case 701: return Enc::F8;
    case 25: case 1043: return Enc::Str;  // text, varchar
    default: return Enc::Text;
  }
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  char b[8];
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
  out.append(b, static_cast<std::size_t>(bytes));
}

/// Read `select <cols> from <table> order by rowid` and push COPY data
/// chunks: binary when every column has a binary encoding, else text.
void produce(sqlite3* db, const std::string& table, const std::vector<std::string>& select_cols,
             const std::vector<std::string>& names, const std::vector<Enc>& enc, Chunks& out) {
  const bool binary = enc.front() != Enc::Text;
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < select_cols.size(); ++i) sql += (i ? ", " : "") + select_cols[i];
  sql += " FROM " + quote_ident(table) + " ORDER BY rowid";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw Failure(std::string("SQLite: ") + sqlite3_errmsg(db) + "; query: " + sql);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
  const int n = static_cast<int>(select_cols.size());
  std::string buf;
  buf.reserve(1 << 20);
  if (binary) {
    buf.append("PGCOPY\n\377\r\n\0", 11);
    put_be(buf, 0, 4);  // flags
    put_be(buf, 0, 4);  // header extension
  }
  char num[64];
  std::int64_t row = 0;
  auto bad = [&](int c, const std::string& what) {
    return Failure("table " + table + ", row " + std::to_string(row) + ", column " + names[c] + ": " + what);
  };
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ++row;
    if (binary) put_be(buf, static_cast<std::uint64_t>(n), 2);
    for (int c = 0; c < n; ++c) {
      const int type = sqlite3_column_type(st, c);
      if (type == SQLITE_BLOB) throw bad(c, "a BLOB value, which no NetCollector column holds");
      if (!binary) {
        if (c) buf += '\t';
        switch (type) {
          case SQLITE_NULL: buf += "\\N"; break;
          case SQLITE_INTEGER: {
            auto r = std::to_chars(num, num + sizeof num, static_cast<long long>(sqlite3_column_int64(st, c)));
            buf.append(num, r.ptr);
            break;
          }
          case SQLITE_FLOAT: {
            const double d = sqlite3_column_double(st, c);
            if (std::isnan(d)) buf += "NaN";
            else if (std::isinf(d)) buf += d > 0 ? "Infinity" : "-Infinity";
            else {
              auto r = std::to_chars(num, num + sizeof num, d);  // shortest exact form: reads back to the same double
              buf.append(num, r.ptr);
            }
            break;
          }
          default: append_text(buf, sqlite3_column_text(st, c), sqlite3_column_bytes(st, c));
        }
        continue;
      }
      if (type == SQLITE_NULL) {
        put_be(buf, 0xffffffffu, 4);
        continue;
      }
      switch (enc[static_cast<std::size_t>(c)]) {
        case Enc::I8: case Enc::I4: case Enc::I2: {
          std::int64_t v = 0;
          if (type == SQLITE_INTEGER) {
            v = sqlite3_column_int64(st, c);
          } else if (type == SQLITE_FLOAT) {
            const double d = sqlite3_column_double(st, c);
            if (!(std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18))
              throw bad(c, "real value " + std::to_string(d) + " is not an integer");
            v = static_cast<std::int64_t>(d);
          } else {
            std::string_view t(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                               static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
            if (!parse_int(t, v)) throw bad(c, "text value \"" + std::string(t.substr(0, 80)) + "\" is not an integer");
          }
          const auto e = enc[static_cast<std::size_t>(c)];
          const int bytes = e == Enc::I8 ? 8 : e == Enc::I4 ? 4 : 2;
          if ((e == Enc::I4 && (v < INT32_MIN || v > INT32_MAX)) || (e == Enc::I2 && (v < INT16_MIN || v > INT16_MAX)))
            throw bad(c, "value " + std::to_string(v) + " is out of range for a " + std::to_string(bytes) + "-byte integer");
          put_be(buf, static_cast<std::uint64_t>(bytes), 4);
          put_be(buf, static_cast<std::uint64_t>(v), bytes);
          break;
        }
        case Enc::F8: {
          double d;
          if (type == SQLITE_FLOAT) d = sqlite3_column_double(st, c);
          else if (type == SQLITE_INTEGER) d = static_cast<double>(sqlite3_column_int64(st, c));
          else {
            std::string_view t(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                               static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
            if (!parse_double(t, d)) throw bad(c, "text value \"" + std::string(t.substr(0, 80)) + "\" is not a number");
          }
          std::uint64_t bits;
          std::memcpy(&bits, &d, 8);
          put_be(buf, 8, 4);
          put_be(buf, bits, 8);
          break;
        }
        default: {  // Str: SQLite's text of the value (a TEXT column holds text: its affinity converts numbers)
          const auto* t = sqlite3_column_text(st, c);
          const int len = sqlite3_column_bytes(st, c);
          put_be(buf, static_cast<std::uint64_t>(len), 4);
          buf.append(reinterpret_cast<const char*>(t), static_cast<std::size_t>(len));
        }
      }
    }
    if (!binary) buf += '\n';
    if (buf.size() >= (1u << 20) - 4096) {
      out.push(std::move(buf));
      buf.clear();
      buf.reserve(1 << 20);
    }
  }
  if (rc != SQLITE_DONE) throw Failure(std::string("SQLite: ") + sqlite3_errmsg(db) + " reading table " + table);
  if (binary) put_be(buf, 0xffff, 2);
  if (!buf.empty()) out.push(std::move(buf));
}

struct Copied {
  std::string table;
  std::int64_t rows = 0;
  double seconds = 0;
  bool binary = false;
};

Copied copy_table(Pg& pg, SQLite::Database& lite, const std::string& table, bool force_text) {
  Copied res;
  res.table = table;
  // Columns on both sides.
  auto pgcols = pg.query("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = to_regclass(" + quote_literal(table) +
                         ") AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
  if (PQntuples(pgcols.get()) == 0)
    throw Failure("the PostgreSQL schema has no table \"" + table + "\" (check --schema)");
  std::vector<std::string> lite_cols;
  {
    SQLite::Statement info(lite, "SELECT name FROM pragma_table_info(?)");
    info.bind(1, table);
    while (info.executeStep()) lite_cols.push_back(info.getColumn(0).getString());
  }
  std::vector<std::string> copy_cols, select_cols;
  std::vector<Enc> enc;
  std::vector<bool> used(lite_cols.size(), false);
  for (int i = 0; i < PQntuples(pgcols.get()); ++i) {
    const std::string name = PQgetvalue(pgcols.get(), i, 0);
    bool found = false;
    for (std::size_t k = 0; k < lite_cols.size(); ++k)
      if (lite_cols[k] == name) {
        copy_cols.push_back(name);
        select_cols.push_back(quote_ident(name));
        enc.push_back(binary_enc(static_cast<unsigned>(std::stoul(PQgetvalue(pgcols.get(), i, 1)))));
        used[k] = found = true;
        break;
      }
    if (!found && table == "dns_queries" && name == "queryid") {
      copy_cols.push_back(name);
      select_cols.push_back("rowid");
      enc.push_back(binary_enc(static_cast<unsigned>(std::stoul(PQgetvalue(pgcols.get(), i, 1)))));
    }
  }
  bool binary = !enc.empty() && !force_text;
  for (auto e : enc) binary = binary && e != Enc::Text;
  if (!binary) enc.assign(enc.size(), Enc::Text);
  res.binary = binary;
  for (std::size_t k = 0; k < lite_cols.size(); ++k)
    if (!used[k])
      throw Failure("column " + table + "." + lite_cols[k] +
                    " of the SQLite database has no column of that name in PostgreSQL (check --schema)");

  auto any = pg.query("SELECT 1 FROM " + quote_ident(table) + " LIMIT 1");
  if (PQntuples(any.get()) > 0)
    throw Failure("table \"" + table + "\" already holds rows (--drop replaces the tables)");

  // Indexes (primary key and unique ones too) are rebuilt after the copy:
  // one sort each instead of one insertion per row.
  std::vector<std::string> rebuild, drop;
  auto idx = pg.query(
      "SELECT coalesce(con.conname, ''), pg_get_indexdef(i.indexrelid), "
      "       coalesce(pg_get_constraintdef(con.oid), ''), i.indexrelid::regclass::text "
      "FROM pg_index i LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
      "WHERE i.indrelid = to_regclass(" + quote_literal(table) + ")");
  for (int i = 0; i < PQntuples(idx.get()); ++i) {
    const std::string con = PQgetvalue(idx.get(), i, 0);
    if (!con.empty()) {
      drop.push_back("ALTER TABLE " + quote_ident(table) + " DROP CONSTRAINT " + quote_ident(con));
      rebuild.push_back("ALTER TABLE " + quote_ident(table) + " ADD CONSTRAINT " + quote_ident(con) + " " +
                        PQgetvalue(idx.get(), i, 2));
    } else {
      drop.push_back(std::string("DROP INDEX ") + PQgetvalue(idx.get(), i, 3));
      rebuild.push_back(PQgetvalue(idx.get(), i, 1));
    }
  }
  // Truncated in this transaction: COPY FREEZE writes the rows frozen (no
  // later rewrite of hint bits) and, with wal_level = minimal, without WAL.
  pg.exec("TRUNCATE " + quote_ident(table));
  for (const auto& d : drop) pg.exec(d);

  const auto t0 = std::chrono::steady_clock::now();
  std::string copy = "COPY " + quote_ident(table) + " (";
  for (std::size_t i = 0; i < copy_cols.size(); ++i) copy += (i ? ", " : "") + quote_ident(copy_cols[i]);
  copy += binary ? ") FROM STDIN WITH (FREEZE, FORMAT binary)" : ") FROM STDIN WITH (FREEZE)";
  pg.exec(copy, PGRES_COPY_IN);

  Chunks chunks;
  std::thread reader([&] {
    try {
      produce(lite.getHandle(), table, select_cols, copy_cols, enc, chunks);
      chunks.close();
    } catch (...) {
      chunks.close(std::current_exception());
    }
  });
  std::string chunk;
  std::string send_error;
  try {
    while (chunks.pop(chunk)) {
      if (PQputCopyData(pg.get(), chunk.data(), static_cast<int>(chunk.size())) != 1) {
        send_error = pipectl::pq::one_line(PQerrorMessage(pg.get()));
        break;
      }
    }
  } catch (...) {
    chunks.stop();
    reader.join();
    PQputCopyEnd(pg.get(), "netcollector-pgload: reading the SQLite database failed");
    while (PGresult* r = PQgetResult(pg.get())) PQclear(r);
    throw;
  }
  chunks.stop();
  reader.join();
  if (!send_error.empty()) throw Failure("COPY " + table + ": " + send_error);
  if (PQputCopyEnd(pg.get(), nullptr) != 1)
    throw Failure("COPY " + table + ": " + pipectl::pq::one_line(PQerrorMessage(pg.get())));
  Result r(PQgetResult(pg.get()));
  while (PGresult* more = PQgetResult(pg.get())) PQclear(more);
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) pg.fail(r.get(), copy);
  res.rows = std::stoll(PQcmdTuples(r.get()));
  for (const auto& b : rebuild) pg.exec(b);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Identity columns given explicit values: move their sequence past them.
  auto ids = pg.query("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(" + quote_literal(table) +
                      ") AND attidentity <> '' AND NOT attisdropped");
  for (int i = 0; i < PQntuples(ids.get()); ++i) {
    const std::string col = PQgetvalue(ids.get(), i, 0);
    pg.query("SELECT setval(pg_get_serial_sequence(" + quote_literal(quote_ident(table)) + ", " + quote_literal(col) +
             "), max(" + quote_ident(col) + ")) FROM " + quote_ident(table) + " HAVING max(" + quote_ident(col) +
             ") IS NOT NULL");
  }
  return res;
}

std::string rate(std::int64_t rows, double secs) {
  char b[64];
  if (secs <= 0) return "-";
  std::snprintf(b, sizeof b, "%.0f rows/ms", static_cast<double>(rows) / secs / 1000.0);
  return b;
}

int run(int argc, char** argv) {
  std::string from, conninfo, schema_file;
  bool drop = false, quiet = false, have_from = false, text = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "netcollector-pgload: " << name << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--from") {
      from = value("--from");
      have_from = true;
    } else if (a == "--conninfo") {
      conninfo = value("--conninfo");
    } else if (a == "--schema") {
      schema_file = value("--schema");
    } else if (a == "--drop") {
      drop = true;
    } else if (a == "--text") {
      text = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      std::cerr << "netcollector-pgload: unknown argument \"" << a << "\"\n" << kUsage;
      return 2;
    }
  }
  if (!have_from) {
    std::cerr << "netcollector-pgload: --from is required\n" << kUsage;
    return 2;
  }
  std::string schema = pipectl::pgload::kPostgresSchemaSql;
  if (!schema_file.empty()) {
    std::ifstream f(schema_file, std::ios::binary);
    if (!f) throw Failure("cannot read --schema " + schema_file);
    std::ostringstream ss;
    ss << f.rdbuf();
    schema = ss.str();
  }

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<SQLite::Database> lite;
  try {
    lite = std::make_unique<SQLite::Database>(from, SQLite::OPEN_READONLY);
    lite->exec("BEGIN");  // one snapshot of every table
  } catch (const SQLite::Exception& e) {
    throw Failure("cannot open " + from + ": " + e.what());
  }
  std::vector<std::string> tables = {"devices", "sessions", "dns_queries"};
  std::vector<std::string> missing;
  for (const auto& t : tables)
    if (!lite->tableExists(t)) missing.push_back(t);
  if (!missing.empty()) {
    std::string m;
    for (const auto& t : missing) m += (m.empty() ? "" : ", ") + t;
    throw Failure(from + " is not a NetCollector database: it has no table " + m);
  }
  const bool captures = lite->tableExists("captures");
  if (captures) tables.push_back("captures");

  auto c = pipectl::pq::connect(conninfo, "--conninfo", 10, "netcollector-pgload");
  if (!c.conn) throw Failure(c.error);
  PQsetNoticeProcessor(c.conn.get(), [](void*, const char*) {}, nullptr);  // "does not exist, skipping"
  Pg pg(c.conn.get());
  pg.exec("BEGIN");
  if (drop)
    pg.exec("DROP VIEW IF EXISTS v_session_mnf_devicetype CASCADE; "
            "DROP TABLE IF EXISTS captures, dns_queries, sessions, devices CASCADE");
  pg.exec(schema);
  if (captures) pg.exec(kCapturesTableSql);

  std::vector<Copied> done;
  for (const auto& t : tables) done.push_back(copy_table(pg, *lite, t, text));
  std::string analyze = "ANALYZE";
  for (std::size_t i = 0; i < tables.size(); ++i) analyze += (i ? ", " : " ") + quote_ident(tables[i]);
  pg.exec(analyze);
  pg.exec("COMMIT");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!quiet) {
    std::int64_t total = 0;
    double copy_secs = 0;
    for (const auto& d : done) {
      std::printf("%-12s %10lld rows  %8.3f s  %s (%s)\n", d.table.c_str(), static_cast<long long>(d.rows), d.seconds,
                  rate(d.rows, d.seconds).c_str(), d.binary ? "binary" : "text");
      total += d.rows;
      copy_secs += d.seconds;
    }
    std::printf("%-12s %10lld rows  %8.3f s  %s (copy and index; %.3f s in all, into %s)\n", "total",
                static_cast<long long>(total), copy_secs, rate(total, copy_secs).c_str(), secs, c.where.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "netcollector-pgload: " << e.what() << "\n";
    return 1;
  }
}
