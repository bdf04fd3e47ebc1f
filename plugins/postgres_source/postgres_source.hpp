// postgres: the source stage reading a NetCollector session log from a
// PostgreSQL server (schemas/netcollector.postgres.sql, loaded e.g. with
// tools/pgload) through one SQL query, plus an optional "list query" merged
// by key into one multi_categorical column (the DNS names of each session).
//
// Same output as the sqlite source on the same data: the same default
// query, the same column names, order and types, the same categorical
// dictionaries (first-seen order, in session order), the same `dns` lists
// (each session's names in the order they were stored: queryid, which is
// SQLite's rowid), the same NULL handling and the same counters
// (`nulls.<column>`, `dropped.null.sessionid`, `dropped.unmatched_key.dns`,
// `dropped.null_key.dns`). A pipeline swaps `plugin = "sqlite"` / `path`
// for `plugin = "postgres"` / `conninfo` and gets the same model.
//
// Connection: `conninfo` is a libpq connection string or URI; libpq's PG*
// environment variables and defaults fill what it leaves out (PGHOST,
// PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE, …). Errors
// name the database, host, port and user, never the password.
//
// Read-only: the session's default_transaction_read_only is on and both
// queries run in one `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
// transaction (one snapshot for both), through a cursor (`DECLARE … CURSOR
// FOR <query>` sent with the extended protocol: one statement only). A
// statement that would write fails with `query would write to …, which is
// read only (…)`. Functions with effects outside the database (dblink, …)
// are beyond what a read-only transaction can stop: give the role the
// pipeline uses only SELECT privileges.
//
// Rows come in batches of `fetch_rows` from the cursor, the next batch
// requested before the current one is decoded; binary results when every
// column has a type decoded here (integers, floating point, numeric, bool,
// text types), else text results. Cancellation (ctx.cancelled()) cancels
// the running statement on the server.
//
// Column types from the result's PostgreSQL types: smallint, integer,
// bigint, oid, bool (0/1) -> int64; real, double precision, numeric ->
// float64; bytea is an error; every other type (text, varchar, date,
// timestamp, uuid, inet, json, …) -> categorical of its text form. `types`
// overrides, converting as the sqlite source does: an integral float in an
// int64 column is accepted, a text that is a whole number of the column's
// type is parsed, anything else is an error naming the row and key.
// Differences from SQLite in custom queries: unquoted names are lower case
// (`select Bytes` gives "bytes"); sum()/avg() of integers are numeric, so
// float64 (cast with ::bigint, or set types); a number read as categorical
// has PostgreSQL's text form ("100" for the double 100, SQLite: "100.0").
//
// Distributed runs (`ctx.collective().distributed()`, distributed =
// Combined): each worker reads only its shard, filtered in SQL on the key
// (`list_key`, default sessionid) in both queries: `shard = "modulo"` keeps
// the rows whose key mod world is the worker's rank; `shard = "range"`
// splits [min, max] of the key (over the query's rows; for the default
// query, the sessions table) into `world` contiguous ranges of equal width,
// min and max agreed on through the collective. Every row with a non-NULL
// key is in exactly one shard. Dictionaries are each shard's own (first
// seen in that shard); an empty shard is not an error unless every shard is
// empty. A custom query is wrapped as `select * from (<query>) where <key
// condition>`, which keeps its order.
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec postgres_spec();

/// The NetCollector query: the sqlite source's default, word for word.
extern const char* const kPostgresDefaultQuery;
/// The DNS names of each session, ordered by session id and then the order
/// they were stored in (queryid).
extern const char* const kPostgresDefaultListQuery;

struct PostgresConfig {
  std::string conninfo;
  std::string query;
  std::string list_query;  ///< "" = none
  std::string list_key;
  std::string list_column;
  bool list_distinct = true;
  std::map<std::string, DType> types;
  bool labelled_only = true;
  std::string capture_column;
  std::optional<std::int64_t> key_min, key_max;
  std::string shard = "modulo";  ///< "modulo" | "range"
  std::int64_t fetch_rows = 20000;
  std::int64_t connect_timeout_s = 10;
  bool count_rows = false;

  static PostgresConfig from(const Params& p);
  bool default_query() const;
  /// The default list query (this plugin's, or the sqlite source's text,
  /// which means the same and is read in stored order here too).
  bool default_list_query() const;
  bool key_range() const { return key_min.has_value(); }
  /// The default query's columns and types; a custom query's by preparing it
  /// on the server (unknown when it cannot be reached: learnt at run time).
  Schema schema() const;
  Schema prepared_schema() const;
  /// PluginSpec::group_details: a NetCollector database's sessions' devices
  /// (a table without columns when there are none or the server cannot be reached).
  Table group_details() const;
};

class PostgresSource : public Stage {
 public:
  explicit PostgresSource(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  PostgresConfig cfg_;
};

}  // namespace pipectl::plugins
