#include "postgres_source.hpp"

#include <netcollector_query.hpp>

#include "pq.hpp"

#include <pipectl/column_builder.hpp>
#include <pipectl/text.hpp>

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

namespace pipectl::plugins {

using namespace pipectl::text;

namespace {

// Type OIDs (catalog/pg_type.h; fixed since PostgreSQL 7).
constexpr Oid kBoolOid = 16, kByteaOid = 17, kCharOid = 18, kNameOid = 19, kInt8Oid = 20, kInt2Oid = 21,
              kInt4Oid = 23, kTextOid = 25, kOidOid = 26, kFloat4Oid = 700, kFloat8Oid = 701, kUnknownOid = 705,
              kBpcharOid = 1042, kVarcharOid = 1043, kNumericOid = 1700;

// The sqlite source's default list_query, also the default here (the same rows; the order of a session's names may differ).
const std::string kSqliteDefaultListQuery = netcollector::dns_query(netcollector::Dialect::SQLite);

/// `select * from (<sql>) pipectl_q where <cond>`: a subquery with ORDER BY is
/// not flattened into the outer query, so its order is kept. The line break
/// ends a trailing -- comment.
std::string wrapped(const std::string& sql, const std::string& alias, const std::string& cond) {
  return "select * from (\n" + sql_statement(sql) + "\n) " + alias + " where " + cond;
}

/// The first word of a statement, lower case (comments and '(' skipped).
std::string first_word(std::string_view s) {
  for (;;) {
    s = trim(s);
    if (s.substr(0, 2) == "--") {
      auto nl = s.find('\n');
      s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    } else if (s.substr(0, 2) == "/*") {
      auto end = s.find("*/");
      s = end == std::string_view::npos ? std::string_view() : s.substr(end + 2);
    } else if (!s.empty() && s.front() == '(') {
      s.remove_prefix(1);
    } else {
      break;
    }
  }
  std::string w;
  for (char c : s) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return w;
}

bool writes(const std::string& word) {
  static const char* const kWords[] = {"insert", "update", "delete", "merge",   "create",  "drop",    "alter",
                                       "truncate", "grant", "revoke", "copy",   "call",    "do",      "lock",
                                       "vacuum", "analyze", "cluster", "reindex", "refresh", "comment", "import",
                                       "security", "reassign", "set",  "reset",  "discard", "listen",  "notify"};
  for (const char* w : kWords)
    if (word == w) return true;
  return false;
}

std::uint64_t be(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

using Kind = BuildKind;
/// What a decoded value is.
enum class Src : std::uint8_t { Int, Float, Text, Bytea };
/// How a column's bytes are decoded.
enum class Wire : std::uint8_t {
  BinI2, BinI4, BinI8, BinU4, BinF4, BinF8, BinBool, BinNumeric, Raw,  // binary results (Raw: text types)
  TxtInt, TxtFloat, TxtF4, TxtBool,                                  // text results
  Bytea,                                                             // either: an error when not NULL
};

struct TypeInfo {
  Src src;
  Kind kind;   ///< the column type it gets without `types`
  Wire bin;    ///< its decoder in binary results (Raw for text types)
  Wire txt;    ///< its decoder in text results
  bool binary; ///< decoded here in binary form
};

TypeInfo type_info(Oid t) {
  switch (t) {
    case kInt2Oid: return {Src::Int, Kind::Int, Wire::BinI2, Wire::TxtInt, true};
    case kInt4Oid: return {Src::Int, Kind::Int, Wire::BinI4, Wire::TxtInt, true};
    case kInt8Oid: return {Src::Int, Kind::Int, Wire::BinI8, Wire::TxtInt, true};
    case kOidOid: return {Src::Int, Kind::Int, Wire::BinU4, Wire::TxtInt, true};
    case kBoolOid: return {Src::Int, Kind::Int, Wire::BinBool, Wire::TxtBool, true};
    case kFloat4Oid: return {Src::Float, Kind::Float, Wire::BinF4, Wire::TxtF4, true};
    case kFloat8Oid: return {Src::Float, Kind::Float, Wire::BinF8, Wire::TxtFloat, true};
    case kNumericOid: return {Src::Float, Kind::Float, Wire::BinNumeric, Wire::TxtFloat, true};
    case kByteaOid: return {Src::Bytea, Kind::Text, Wire::Bytea, Wire::Bytea, true};
    case kTextOid: case kVarcharOid: case kBpcharOid: case kNameOid: case kCharOid: case kUnknownOid:
      return {Src::Text, Kind::Text, Wire::Raw, Wire::Raw, true};
    default:  // date, timestamp, uuid, inet, json, arrays, …: their text form
      return {Src::Text, Kind::Text, Wire::Raw, Wire::Raw, false};
  }
}

struct Val {
  Src src = Src::Text;
  std::int64_t i = 0;
  double d = 0;
  std::string_view t;
};

/// numeric's binary form (ndigits, weight, sign, dscale, base-10000 digits)
/// as decimal text, which from_chars rounds correctly.
std::string numeric_text(const char* p, int len) {
  if (len < 8) throw DataError("malformed numeric value from the server");
  const int ndigits = static_cast<std::int16_t>(be(p, 2));
  const int weight = static_cast<std::int16_t>(be(p + 2, 2));
  const auto sign = static_cast<std::uint16_t>(be(p + 4, 2));
  if (sign == 0xC000) return "nan";
  if (sign == 0xD000) return "inf";
  if (sign == 0xF000) return "-inf";
  if (len < 8 + 2 * ndigits) throw DataError("malformed numeric value from the server");
  auto digit = [&](int i) { return i < ndigits ? static_cast<int>(be(p + 8 + 2 * i, 2)) : 0; };
  std::string s = sign == 0x4000 ? "-" : "";
  char b[8];
  auto pad4 = [&](int d) {
    b[0] = static_cast<char>('0' + d / 1000), b[1] = static_cast<char>('0' + d / 100 % 10);
    b[2] = static_cast<char>('0' + d / 10 % 10), b[3] = static_cast<char>('0' + d % 10);
    s.append(b, 4);
  };
  if (ndigits == 0) return "0";
  if (weight < 0) {
    s += "0.";
    s.append(static_cast<std::size_t>(4 * (-weight - 1)), '0');
    for (int i = 0; i < ndigits; ++i) pad4(digit(i));
    return s;
  }
  s += std::to_string(digit(0));
  for (int i = 1; i <= weight; ++i) pad4(digit(i));
  if (ndigits > weight + 1) {
    s += '.';
    for (int i = weight + 1; i < ndigits; ++i) pad4(digit(i));
  }
  return s;
}

/// Decode one non-NULL value.
void decode(Wire w, const char* p, int len, Val& v, std::string& scratch) {
  switch (w) {
    case Wire::BinI2: v.src = Src::Int, v.i = static_cast<std::int16_t>(be(p, 2)); return;
    case Wire::BinI4: v.src = Src::Int, v.i = static_cast<std::int32_t>(be(p, 4)); return;
    case Wire::BinI8: v.src = Src::Int, v.i = static_cast<std::int64_t>(be(p, 8)); return;
    case Wire::BinU4: v.src = Src::Int, v.i = static_cast<std::int64_t>(be(p, 4)); return;
    case Wire::BinBool: v.src = Src::Int, v.i = p[0] != 0; return;
    case Wire::BinF4: {
      const auto bits = static_cast<std::uint32_t>(be(p, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      v.src = Src::Float, v.d = f;
      return;
    }
    case Wire::BinF8: {
      const std::uint64_t bits = be(p, 8);
      std::memcpy(&v.d, &bits, 8);
      v.src = Src::Float;
      return;
    }
    case Wire::BinNumeric:
      scratch = numeric_text(p, len);
      v.src = Src::Float;
      if (!parse_double(scratch, v.d)) throw DataError("malformed numeric value from the server: " + scratch);
      return;
    case Wire::TxtInt:
      v.t = std::string_view(p, static_cast<std::size_t>(len));
      v.src = parse_int(v.t, v.i) ? Src::Int : Src::Text;
      return;
    case Wire::TxtFloat:
      v.t = std::string_view(p, static_cast<std::size_t>(len));
      v.src = parse_double(v.t, v.d) ? Src::Float : Src::Text;
      return;
    case Wire::TxtF4: {  // as a float, then widened: the value binary results give
      v.t = std::string_view(p, static_cast<std::size_t>(len));
      float f;
      std::string_view s = drop_plus(trim(v.t));
      auto r = std::from_chars(s.data(), s.data() + s.size(), f);
      v.src = !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() ? Src::Float : Src::Text;
      v.d = f;
      return;
    }
    case Wire::TxtBool: v.src = Src::Int, v.i = len > 0 && p[0] == 't'; return;
    case Wire::Bytea: v.src = Src::Bytea; return;
    case Wire::Raw: v.src = Src::Text, v.t = std::string_view(p, static_cast<std::size_t>(len)); return;
  }
}

/// The connection, its read-only transaction, and the mapping of server
/// errors to messages. Every statement is sent asynchronously so that a
/// cancelled run cancels it on the server.
class Session {
 public:
  Session(const PostgresConfig& cfg, StageContext& ctx) : ctx_(ctx) {
    auto c = pq::connect(cfg.conninfo, "parameter \"conninfo\"", static_cast<int>(cfg.connect_timeout_s), "pipectl");
    if (!c.conn) throw DataError(c.error);
    conn_ = std::move(c.conn);
    where_ = "PostgreSQL " + c.where;
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
    // Read-only for the session and for the one transaction both queries
    // run in (REPEATABLE READ: one snapshot). Cursors are planned for all
    // their rows, not the first 10 %; no JIT (it costs more than it saves on
    // scans and joins). Floats in text results read back exactly.
    exec("SET default_transaction_read_only = on");
    exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    exec("SET LOCAL cursor_tuple_fraction = 1.0");
    exec("SET LOCAL jit = off");
    exec("SET LOCAL extra_float_digits = 3");
    auto ro = exec("SHOW transaction_read_only", PGRES_TUPLES_OK);
    if (std::string(PQgetvalue(ro.get(), 0, 0)) != "on")
      throw DataError(where_ + " did not start a read-only transaction");
  }

  PGconn* get() const { return conn_.get(); }
  const std::string& where() const { return where_; }

  /// Send one statement (extended protocol: exactly one statement).
  void send(const std::string& sql, int result_format, const std::string& what, const std::string& shown_sql) {
    if (!PQsendQueryParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, result_format))
      lost(what, shown_sql);
  }

  /// The result of what was sent; throws on an error or a cancelled run.
  pq::Result wait(ExecStatusType want, const std::string& what, const std::string& shown_sql) {
    pq::Result first;
    bool cancel_sent = false;
    for (;;) {
      if (!cancel_sent && ctx_.cancelled()) {
        if (PGcancel* k = PQgetCancel(conn_.get())) {
          char buf[256];
          PQcancel(k, buf, sizeof buf);
          PQfreeCancel(k);
        }
        cancel_sent = true;
      }
      if (!PQconsumeInput(conn_.get())) lost(what, shown_sql);
      bool done = false;
      while (!PQisBusy(conn_.get())) {
        PGresult* r = PQgetResult(conn_.get());
        if (!r) {
          done = true;
          break;
        }
        if (!first) first.reset(r);
        else PQclear(r);
      }
      if (done) break;
      pollfd p{PQsocket(conn_.get()), POLLIN, 0};
      ::poll(&p, 1, 100);
    }
    if (cancel_sent || ctx_.cancelled()) throw Interrupted("cancelled while reading " + where_);
    if (!first || PQresultStatus(first.get()) != want) fail(first.get(), what, shown_sql);
    return first;
  }

  pq::Result exec(const std::string& sql, ExecStatusType want = PGRES_COMMAND_OK, int format = 0,
                  const std::string& what = "", const std::string& shown_sql = "") {
    send(sql, format, what.empty() ? sql : what, shown_sql);
    return wait(want, what.empty() ? sql : what, shown_sql);
  }

  [[noreturn]] void lost(const std::string& what, const std::string& shown_sql) const {
    const std::string m = pq::one_line(PQerrorMessage(conn_.get()));
    if (PQstatus(conn_.get()) == CONNECTION_BAD)
      throw DataError("lost the connection to " + where_ + " during " + what + ": " + m);
    throw DataError(what + " failed on " + where_ + ": " + m + (shown_sql.empty() ? "" : "; query: " + shown_sql));
  }

  [[noreturn]] void fail(const PGresult* r, const std::string& what, const std::string& shown_sql) const {
    if (!r || PQstatus(conn_.get()) == CONNECTION_BAD) lost(what, shown_sql);
    if (PQresultStatus(r) != PGRES_FATAL_ERROR && PQresultStatus(r) != PGRES_NONFATAL_ERROR)
      throw DataError(what + " on " + where_ + " gave an unexpected result (" + PQresStatus(PQresultStatus(r)) +
                      ")" + (shown_sql.empty() ? "" : "; query: " + shown_sql));
    auto field = [&](int f) {
      const char* v = PQresultErrorField(r, f);
      return v ? pq::one_line(v) : std::string();
    };
    const std::string state = field(PG_DIAG_SQLSTATE);
    std::string msg = field(PG_DIAG_MESSAGE_PRIMARY);
    if (msg.empty()) msg = pq::one_line(PQresultErrorMessage(r));
    if (auto d = field(PG_DIAG_MESSAGE_DETAIL); !d.empty()) msg += "; " + d;
    if (auto h = field(PG_DIAG_MESSAGE_HINT); !h.empty()) msg += "; hint: " + h;
    const std::string q = shown_sql.empty() ? "" : "; query: " + shown_sql;
    if (state == "57014") throw Interrupted("cancelled while reading " + where_ + " (" + msg + ")");
    if (state == "25006" || (state == "0A000" && msg.find("data-modifying") != std::string::npos))
      throw DataError(what + " would write to " + where_ + ", which is read only (" + msg + ")" + q);
    if (state == "42601" && !shown_sql.empty() && writes(first_word(shown_sql))) {
      std::string w = first_word(shown_sql);
      for (auto& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      throw DataError(what + " would write to " + where_ + ", which is read only (it is " + w +
                      ", and only a SELECT, WITH, VALUES or TABLE statement can run)" + q);
    }
    throw DataError(what + " failed on " + where_ + ": " + msg + q);
  }

 private:
  StageContext& ctx_;
  pq::Conn conn_;
  std::string where_;
};

/// A query read through a cursor, batch by batch, the next FETCH in flight
/// while the current batch is decoded.
class Cursor {
 public:
  Cursor(Session& s, std::string name, const std::string& sql, const std::string& what, std::int64_t fetch_rows)
      : s_(s), name_(std::move(name)), sql_(sql), what_(what), fetch_rows_(fetch_rows) {
    s_.exec("DECLARE " + name_ + " NO SCROLL CURSOR FOR " + sql, PGRES_COMMAND_OK, 0, what, sql);
    desc_.reset(PQdescribePortal(s_.get(), name_.c_str()));
    if (!desc_ || PQresultStatus(desc_.get()) != PGRES_COMMAND_OK) s_.fail(desc_.get(), what, sql);
  }
  int columns() const { return PQnfields(desc_.get()); }
  std::string name(int c) const { return PQfname(desc_.get(), c); }
  Oid type(int c) const { return PQftype(desc_.get(), c); }

  void start(int format) {
    format_ = format;
    fetch();
  }
  /// The next batch (null at the end).
  pq::Result next() {
    if (!in_flight_) return nullptr;
    in_flight_ = false;
    pq::Result r = s_.wait(PGRES_TUPLES_OK, what_, sql_);
    if (PQntuples(r.get()) == fetch_rows_) fetch();
    else if (PQntuples(r.get()) == 0) r.reset();
    return r;
  }

 private:
  void fetch() {
    s_.send("FETCH FORWARD " + std::to_string(fetch_rows_) + " FROM " + name_, format_, what_, sql_);
    in_flight_ = true;
  }
  Session& s_;
  std::string name_, sql_, what_;
  std::int64_t fetch_rows_;
  pq::Result desc_;
  int format_ = 0;
  bool in_flight_ = false;
};

std::int64_t scalar_int(Session& s, const std::string& sql, std::int64_t fallback) {
  auto r = s.exec(sql, PGRES_TUPLES_OK, 0, "query", sql);
  std::int64_t v;
  if (PQntuples(r.get()) < 1 || PQgetisnull(r.get(), 0, 0) || !parse_int(PQgetvalue(r.get(), 0, 0), v)) return fallback;
  return v;
}

}  // namespace

bool PostgresConfig::default_query() const { return collapse_ws(query) == collapse_ws(kPostgresDefaultQuery); }
bool PostgresConfig::default_list_query() const {
  const auto q = collapse_ws(list_query);
  return q == collapse_ws(kPostgresDefaultListQuery) || q == collapse_ws(kSqliteDefaultListQuery);
}

PostgresConfig PostgresConfig::from(const PostgresOptions& o) {
  PostgresConfig c;
  c.conninfo = o.conninfo;
  c.query = o.query;
  c.list_query = trim(o.list_query).empty() ? std::string() : o.list_query;
  c.list_key = o.list_key;
  c.list_column = o.list_column;
  c.list_distinct = o.list_distinct;
  c.labelled_only = o.labelled_only;
  c.capture_column = o.capture_column;
  c.shard = o.shard;
  c.fetch_rows = o.fetch_rows;
  c.connect_timeout_s = o.connect_timeout_s;
  c.count_rows = o.count_rows;
  if (o.key_min && o.key_max) {
    c.key_min = o.key_min;
    c.key_max = o.key_max;
  }
  if (o.types.is_object()) c.types = parse_column_types(o.types, /*multi=*/false);
  if (!c.capture_column.empty() && c.default_query()) c.types.emplace(c.capture_column, DType::Categorical);
  return c;
}

std::vector<std::pair<std::string, std::string>> PostgresConfig::problems(const PostgresOptions& o) {
  std::vector<std::pair<std::string, std::string>> p;
  if (auto m = column_types_problem(o.types, /*multi=*/false); !m.empty()) p.push_back({"types", m});
  PostgresOptions untyped = o;
  untyped.types = json::object();
  const PostgresConfig c = from(untyped);
  if (o.key_min.has_value() != o.key_max.has_value())
    p.push_back({o.key_min ? "key_min" : "key_max", "parameters \"key_min\" and \"key_max\" go together"});
  if (trim(c.query).empty()) p.push_back({"query", "is empty"});
  if (c.list_key.empty()) p.push_back({"list_key", "is empty"});
  if (!c.capture_column.empty() && c.default_query()) {
    static const char* const kCols[] = {"sessionid", "srcport", "dstport", "bytes", "packets",
                                        "starttime", "endtime", "manufacturer", "device_type"};
    bool clash = !c.list_query.empty() && c.capture_column == c.list_column;
    for (const char* n : kCols) clash = clash || c.capture_column == n;
    if (clash) p.push_back({"capture_column", "\"" + c.capture_column + "\" is already a column of the source"});
  }
  if (!c.list_query.empty() && c.list_column.empty())
    p.push_back({"list_column", "is empty (list_query needs it)"});
  return p;
}

Schema PostgresConfig::schema() const {
  // The default query's columns are those of the NetCollector tables
  // (schemas/netcollector.postgres.sql); a custom query's are learnt by
  // preparing it on the server (names and type OIDs, no row fetched). A
  // server that cannot be reached: unknown, and learnt when the query runs.
  Schema out;
  if (!default_query()) {
    out.known = false;
    return prepared_schema();
  }
  const std::pair<const char*, DType> cols[] = {
      {"sessionid", DType::Int64}, {"srcport", DType::Int64},   {"dstport", DType::Int64},
      {"bytes", DType::Int64},     {"packets", DType::Int64},   {"starttime", DType::Float64},
      {"endtime", DType::Float64}, {"manufacturer", DType::Categorical}, {"device_type", DType::Categorical}};
  for (const auto& [name, type] : cols) {
    ColumnSchema c;
    c.name = name;
    auto t = types.find(name);
    c.type = t != types.end() ? t->second : type;
    if (c.name == list_key) c.role = ColumnRole::Key;
    out.columns.push_back(c);
  }
  if (!capture_column.empty()) {
    ColumnSchema c;
    c.name = capture_column;
    c.type = DType::Categorical;
    out.set(c);
  }
  if (!list_query.empty()) {
    ColumnSchema l;
    l.name = list_column;
    l.type = DType::MultiCategorical;
    out.set(l);
  }
  return out;
}

Schema PostgresConfig::prepared_schema() const {
  Schema out;
  out.known = false;
  if (writes(first_word(query))) return out;  // the read refuses it, with its message
  auto c = pq::connect(conninfo, "parameter \"conninfo\"", static_cast<int>(std::min<std::int64_t>(connect_timeout_s, 5)),
                       "pipectl validate");
  if (!c.conn) return out;
  PGconn* conn = c.conn.get();
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  const std::string sql = sql_statement(query);
  pq::Result prep(PQprepare(conn, "", sql.c_str(), 0, nullptr));
  if (!prep || PQresultStatus(prep.get()) != PGRES_COMMAND_OK) return out;  // the read says what is wrong
  pq::Result d(PQdescribePrepared(conn, ""));
  if (!d || PQresultStatus(d.get()) != PGRES_COMMAND_OK || PQnfields(d.get()) == 0) return out;
  for (int i = 0; i < PQnfields(d.get()); ++i) {
    ColumnSchema cs;
    cs.name = PQfname(d.get(), i);
    BuildKind k = type_info(PQftype(d.get(), i)).kind;
    auto t = types.find(cs.name);
    if (t != types.end()) k = build_kind(t->second);
    cs.type = k == BuildKind::Int ? DType::Int64 : k == BuildKind::Float ? DType::Float64 : DType::Categorical;
    if (cs.name == list_key) cs.role = ColumnRole::Key;
    out.columns.push_back(std::move(cs));
  }
  if (!list_query.empty()) {
    ColumnSchema l;
    l.name = list_column;
    l.type = DType::MultiCategorical;
    out.set(l);
  }
  out.known = true;
  return out;
}

Table PostgresConfig::group_details() const {
  auto c = pq::connect(conninfo, "parameter \"conninfo\"", static_cast<int>(connect_timeout_s), "pipectl predict");
  if (!c.conn) return {};
  PGconn* conn = c.conn.get();
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  pq::Result have(PQexec(conn, "select (to_regclass('sessions') is not null and to_regclass('devices') is not null)::int"));
  if (!have || PQresultStatus(have.get()) != PGRES_TUPLES_OK || PQntuples(have.get()) != 1 ||
      std::string(PQgetvalue(have.get(), 0, 0)) != "1")
    return {};
  pq::Result r(PQexec(conn, netcollector::devices_query(netcollector::Dialect::PostgreSQL).c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQnfields(r.get()) != 6) return {};
  const int n = PQntuples(r.get());
  std::vector<std::int64_t> keys, groups;
  std::vector<std::vector<std::string>> desc(netcollector::devices_columns().size());
  for (int i = 0; i < n; ++i) {
    keys.push_back(std::stoll(PQgetvalue(r.get(), i, 0)));
    groups.push_back(std::stoll(PQgetvalue(r.get(), i, 1)));
    for (std::size_t k = 0; k < desc.size(); ++k) desc[k].emplace_back(PQgetvalue(r.get(), i, static_cast<int>(k) + 2));
  }
  std::vector<ColumnPtr> cols = {std::make_shared<const Column>(Column::make_i64("sessionid", std::move(keys))),
                                 std::make_shared<const Column>(Column::make_i64("deviceid", std::move(groups)))};
  const auto names = netcollector::devices_columns();
  for (std::size_t k = 0; k < desc.size(); ++k)
    cols.push_back(std::make_shared<const Column>(encode_strings(names[k], desc[k])));
  return Table(std::move(cols));
}

PostgresSource::PostgresSource(const Options& o) : cfg_(PostgresConfig::from(o)) {}

Table PostgresSource::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (!inputs.empty()) throw Error("the postgres source takes no inputs");
  const auto t0 = std::chrono::steady_clock::now();
  Collective& coll = ctx.collective();
  const int world = coll.world(), rank = coll.rank();
  const bool dist = coll.distributed();
  Session db(cfg_, ctx);
  const bool default_query = cfg_.default_query();

  bool captures_table = false;
  if (default_query && !cfg_.capture_column.empty()) {
    captures_table = scalar_int(db, "select (to_regclass('captures') is not null)::int", 0) == 1;
    if (!captures_table)
      ctx.info("the database has no captures table: column \"" + cfg_.capture_column + "\" is NULL");
  }
  if (!default_query && !cfg_.capture_column.empty()) ctx.info("capture_column has no effect on a custom query");
  if (!default_query && !cfg_.labelled_only) ctx.info("labelled_only = false has no effect on a custom query");

  // Which keys this worker reads: [lo, hi] (key range and/or range shard)
  // and/or key mod world = rank.
  std::optional<std::pair<std::int64_t, std::int64_t>> range;
  if (cfg_.key_range()) range = std::make_pair(*cfg_.key_min, *cfg_.key_max);
  const bool modulo = dist && cfg_.shard == "modulo";
  if (dist && cfg_.shard == "range") {
    const std::string bounds_sql =
        default_query ? std::string("select min(sessionid), max(sessionid) from sessions")
                      : "select min(" + quote_ident(cfg_.list_key) + ")::bigint, max(" + quote_ident(cfg_.list_key) +
                            ")::bigint from (\n" + sql_statement(cfg_.query) + "\n) pipectl_q";
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    std::string error;
    try {
      auto r = db.exec(bounds_sql, PGRES_TUPLES_OK, 0, "the key range of the shards (shard = \"range\")", bounds_sql);
      if (!PQgetisnull(r.get(), 0, 0)) {
        parse_int(PQgetvalue(r.get(), 0, 0), lo);
        parse_int(PQgetvalue(r.get(), 0, 1), hi);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    // Every worker joins the reductions, also one that failed (it throws after).
    std::int64_t failed = error.empty() ? 0 : 1;
    coll.allreduce(&failed, 1, ReduceOp::Max);
    coll.allreduce(&lo, 1, ReduceOp::Min);
    coll.allreduce(&hi, 1, ReduceOp::Max);
    if (!error.empty()) throw DataError(error);
    if (failed) throw DataError("another worker could not read the key range of the shards");
    if (range) lo = std::max(lo, range->first), hi = std::min(hi, range->second);
    if (lo > hi) {
      range = std::make_pair(std::int64_t{1}, std::int64_t{0});  // nothing anywhere
    } else {
      const __int128 span = static_cast<__int128>(hi) - lo + 1;
      const auto a = static_cast<std::int64_t>(lo + span * rank / world);
      const auto b = static_cast<std::int64_t>(lo + span * (rank + 1) / world - 1);
      range = std::make_pair(a, b);
    }
  }
  auto key_cond = [&](const std::string& k) {
    std::string c;
    if (range) c = k + " between " + std::to_string(range->first) + " and " + std::to_string(range->second);
    if (modulo)
      c += (c.empty() ? "" : " and ") + std::string("((") + k + " % " + std::to_string(world) + ") + " +
           std::to_string(world) + ") % " + std::to_string(world) + " = " + std::to_string(rank);
    return c;
  };
  const bool filtered = range.has_value() || modulo;

  std::string query_sql;
  if (default_query) {
    netcollector::SessionsQuery q;
    q.labelled_only = cfg_.labelled_only;
    q.capture_column = cfg_.capture_column;
    q.captures_table = captures_table;
    if (filtered) q.condition = key_cond("s.sessionid");
    query_sql = netcollector::sessions_query(netcollector::Dialect::PostgreSQL, q);
  } else {
    query_sql = filtered ? wrapped(cfg_.query, "pipectl_q", key_cond(quote_ident(cfg_.list_key))) : cfg_.query;
  }

  // A statement that cannot be a cursor's: say that it writes, before the server's syntax error.
  if (const auto w = first_word(cfg_.query); writes(w)) {
    std::string up = w;
    for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    throw DataError("query would write to " + db.where() + ", which is read only (it is " + up +
                    ", and only a SELECT, WITH, VALUES or TABLE statement can run); query: " + cfg_.query);
  }
  Cursor cur(db, "pipectl_query", query_sql, "query", cfg_.fetch_rows);
  const int ncol = cur.columns();
  if (ncol == 0) throw DataError("query returns no columns; query: " + query_sql);

  std::vector<ColumnBuilder> cols(static_cast<std::size_t>(ncol));
  std::vector<Wire> wires(static_cast<std::size_t>(ncol));  // how each column's values come
  bool binary = true;
  for (int c = 0; c < ncol; ++c) {
    auto& b = cols[static_cast<std::size_t>(c)];
    b.name = cur.name(c);
    const TypeInfo ti = type_info(cur.type(c));
    b.kind = ti.kind;
    auto t = cfg_.types.find(b.name);
    if (t != cfg_.types.end()) b.kind = build_kind(t->second);
    // Binary when decoded here, and a categorical column is a text type.
    binary = binary && ti.binary && (b.kind != Kind::Text || ti.src == Src::Text || ti.src == Src::Bytea);
  }
  for (int c = 0; c < ncol; ++c) {
    const TypeInfo ti = type_info(cur.type(c));
    const auto& b = cols[static_cast<std::size_t>(c)];
    wires[static_cast<std::size_t>(c)] =
        binary ? ti.bin : (b.kind == Kind::Text && ti.src != Src::Bytea ? Wire::Raw : ti.txt);
  }
  const bool list = !cfg_.list_query.empty();
  const int key_idx = check_query_columns(cols, cfg_.types, query_sql, list, cfg_.list_key, cfg_.list_column);

  // An estimate for memory reservation and progress, from what is cheap to ask.
  std::size_t expected = 0;
  {
    std::int64_t e = -1;
    if (cfg_.count_rows)
      e = scalar_int(db, "select count(*) from (\n" + sql_statement(query_sql) + "\n) pipectl_count", -1);
    else if (default_query) {
      e = scalar_int(db, "select reltuples::bigint from pg_class where oid = to_regclass('sessions')", -1);
      if (e > 0 && dist) e = e / world + 1;
      if (e > 0 && range) e = std::min<std::int64_t>(e, std::max<std::int64_t>(0, range->second - range->first + 1));
    }
    if (e > 0) {
      expected = static_cast<std::size_t>(e);
      for (auto& b : cols) b.reserve(std::min<std::size_t>(expected, std::size_t{1} << 28));
    }
    if (e >= 0) ctx.measure("expected_rows", static_cast<double>(e));
  }
  ctx.measure("result_format", binary ? "binary" : "text");
  const double main_share = list ? 0.8 : 1.0;

  std::size_t row = 0;
  std::string scratch;
  Val v;
  cur.start(binary ? 1 : 0);
  while (pq::Result res = cur.next()) {
    const PGresult* r = res.get();
    const int nt = PQntuples(r);
    if (ctx.cancelled()) throw Interrupted("cancelled while reading " + db.where());
    if (expected > 0)
      ctx.progress(main_share * std::min(0.99, static_cast<double>(row) / static_cast<double>(expected)));
    for (int i = 0; i < nt; ++i, ++row) {
      for (int c = 0; c < ncol; ++c) {
        ColumnBuilder& b = cols[static_cast<std::size_t>(c)];
        if (PQgetisnull(r, i, c)) {
          b.push_null(row);
          continue;
        }
        decode(wires[static_cast<std::size_t>(c)], PQgetvalue(r, i, c), PQgetlength(r, i, c), v, scratch);
        auto bad = [&](const std::string& what) {
          std::string at = "at row " + std::to_string(row);
          if (key_idx >= 0 && !PQgetisnull(r, i, key_idx)) {
            Val k;
            std::string s2;
            decode(wires[static_cast<std::size_t>(key_idx)], PQgetvalue(r, i, key_idx),
                   PQgetlength(r, i, key_idx), k, s2);
            if (k.src == Src::Int) at += " (" + cfg_.list_key + " " + std::to_string(k.i) + ")";
          }
          return DataError("column \"" + b.name + "\": " + what + " " + at);
        };
        switch (b.kind) {
          case Kind::Int:
            if (v.src == Src::Int) {
              b.i64.push_back(v.i);
            } else if (v.src == Src::Float) {
              if (!(std::isfinite(v.d) && v.d == std::trunc(v.d) && std::fabs(v.d) < 9.2e18)) {
                auto e = bad("real value " + fmt_double(v.d));
                throw DataError(std::string(e.what()) + " is not an integer");
              }
              b.i64.push_back(static_cast<std::int64_t>(v.d));
            } else {
              std::int64_t x;
              if (v.src != Src::Text || !parse_int(v.t, x))
                throw v.src == Src::Bytea ? bad("bytea value") : bad("text value " + shown(v.t));
              b.i64.push_back(x);
            }
            break;
          case Kind::Float:
            if (v.src == Src::Float) {
              b.f64.push_back(v.d);
            } else if (v.src == Src::Int) {
              b.f64.push_back(static_cast<double>(v.i));
            } else {
              double x;
              if (v.src != Src::Text || !parse_double(v.t, x))
                throw v.src == Src::Bytea ? bad("bytea value") : bad("text value " + shown(v.t));
              b.f64.push_back(x);
            }
            break;
          case Kind::Text:
            if (v.src == Src::Bytea) throw bad("bytea value");
            b.codes.push_back(b.dict.intern(v.t));  // Raw: every categorical column is read as text
            break;
          case Kind::Unknown: break;  // every PostgreSQL column has a type
        }
        b.pushed();
      }
    }
  }
  const std::size_t n = row;
  std::int64_t total = static_cast<std::int64_t>(n);
  if (dist) total = coll.sum(total);
  if (total == 0 && !cfg_.key_range())
    throw DataError("query returned no rows (" + db.where() + "); query: " + query_sql);
  if (dist && n == 0) ctx.info("shard " + std::to_string(rank) + " of " + std::to_string(world) + " is empty");

  if (default_query && !cfg_.key_range() && rank == 0) {
    // Sessions with a NULL id cannot be joined to their device, so the query
    // never sees them: count them (an index lookup; none with the schema's
    // primary key). Counted once, by rank 0.
    const auto nulls = scalar_int(db, "select count(*) from sessions where sessionid is null", 0);
    if (nulls > 0) ctx.count("dropped.null.sessionid", nulls);
  }

  std::vector<ColumnPtr> out;
  out.reserve(cols.size() + 1);
  for (auto& b : cols) {
    if (b.nulls > 0) ctx.count("nulls." + b.name, static_cast<std::int64_t>(b.nulls));
    out.push_back(std::make_shared<const Column>(b.finish(n)));
  }
  cols.clear();
  ctx.progress(main_share);

  if (list) {
    const auto& keys = checked_list_keys(*out[static_cast<std::size_t>(key_idx)], cfg_.list_key, default_query);

    std::string list_sql;
    if (cfg_.default_list_query()) {
      list_sql = netcollector::dns_query(netcollector::Dialect::PostgreSQL, filtered ? key_cond("q.sessionid") : "");
    } else {
      list_sql = filtered ? wrapped(cfg_.list_query, "pipectl_l (pipectl_key)", key_cond("pipectl_key"))
                          : cfg_.list_query;
    }
    if (const auto w = first_word(cfg_.list_query); writes(w)) {
      std::string up = w;
      for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      throw DataError("list_query would write to " + db.where() + ", which is read only (it is " + up +
                      ", and only a SELECT, WITH, VALUES or TABLE statement can run); query: " + cfg_.list_query);
    }
    Cursor lc(db, "pipectl_list", list_sql, "list_query", cfg_.fetch_rows);
    if (lc.columns() != 2)
      throw DataError("list_query must return 2 columns (key, value), it returns " + std::to_string(lc.columns()) +
                      "; query: " + list_sql);
    const TypeInfo kt = type_info(lc.type(0)), vt = type_info(lc.type(1));
    const bool lbin = kt.binary && vt.binary && (vt.src == Src::Text || vt.src == Src::Bytea);
    const Wire kw = lbin ? kt.bin : kt.txt;
    const Wire vw = lbin ? vt.bin : (vt.src == Src::Bytea ? Wire::Bytea : Wire::Raw);

    ListJoin join(keys, cfg_.list_distinct, list_sql);
    std::size_t lrow = 0;
    lc.start(lbin ? 1 : 0);
    Val kv, vv;
    while (pq::Result res = lc.next()) {
      const PGresult* r = res.get();
      if (ctx.cancelled()) throw Interrupted("cancelled while reading " + db.where());
      const int nt = PQntuples(r);
      for (int i = 0; i < nt; ++i, ++lrow) {
        if (PQgetisnull(r, i, 0)) {
          join.null_key();
          continue;
        }
        decode(kw, PQgetvalue(r, i, 0), PQgetlength(r, i, 0), kv, scratch);
        if (kv.src != Src::Int)
          throw DataError("list_query: key " +
                          (kv.src == Src::Bytea ? std::string("bytea")
                                                : shown(std::string_view(PQgetvalue(r, i, 0),
                                                                         static_cast<std::size_t>(
                                                                             PQgetlength(r, i, 0))))) +
                          " at row " + std::to_string(lrow) + " is not an integer");
        const std::int64_t k = kv.i;
        join.key(k, lrow);
        if (PQgetisnull(r, i, 1)) {
          join.null_value();
          continue;
        }
        decode(vw, PQgetvalue(r, i, 1), PQgetlength(r, i, 1), vv, scratch);
        if (vv.src == Src::Bytea)
          throw DataError("list_query: bytea value at row " + std::to_string(lrow) + " (key " + std::to_string(k) + ")");
        join.value(vv.t);
      }
    }
    out.push_back(std::make_shared<const Column>(
        join.finish(cfg_.list_column, [&](const std::string& key, std::int64_t v) { ctx.count(key, v); })));
  }
  ctx.progress(1.0);
  db.exec("COMMIT");

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.measure("seconds", secs);
  ctx.measure("rows_per_second", secs > 0 ? static_cast<double>(n) / secs : 0.0);
  std::string shard;
  if (dist)
    shard = " (shard " + std::to_string(rank) + " of " + std::to_string(world) + ", " + cfg_.shard + " on " +
            cfg_.list_key + ")";
  ctx.info("read " + std::to_string(n) + " rows x " + std::to_string(out.size()) + " columns from " + db.where() +
           shard + " (" + (binary ? "binary" : "text") + " results)");
  return Table(std::move(out));
}

}  // namespace pipectl::plugins
