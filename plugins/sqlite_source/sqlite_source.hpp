// sqlite: the source stage reading a NetCollector session log (or any SQLite
// database) through one SQL query, plus an optional "list query" merged by
// key into one multi_categorical column (the DNS names of each session).
//
// The database is opened read-only (SQLITE_OPEN_READONLY and
// `PRAGMA query_only=1`; a statement that would write is refused), so SQL in
// a pipeline cannot change it.
//
// Column types: the declared type of the result column (INTEGER -> int64,
// REAL -> float64, TEXT -> categorical, following SQLite's affinity rules),
// else the storage class of the first non-NULL value; `types` overrides.
// Conversions: an integer stored in a float64 column is widened; a real with
// an integral value in an int64 column is accepted, any other real is an
// error; a text value in a numeric column is converted when the whole text
// (surrounding blanks aside) is a number of the column's type ('443',
// ' 443 ', '2.5' in a float64 column), otherwise it is an error; numbers in
// a categorical column are taken as their SQLite text form; BLOBs are errors.
// NULLs go to the validity bitmap (categorical: code -1 and the bitmap) and
// are counted as `nulls.<column>`.
//
// List query: its first result column is the key, its second the value; both
// it and the main query must be ordered by the key (checked; an unordered
// result is an error) and they are merged in one pass. A NULL key is an
// error; rows of a custom query that share a key share its list. With the
// default query sessionid is a session's key: a session that appears twice
// (a sessions table without its primary key, a device listed twice) is an
// error naming it and its rows, and a session whose id is NULL, which the
// join never reads, is counted as `dropped.null.sessionid`. A row of the main
// query with no list rows gets an empty list; list rows whose key is not in
// the main result are counted as `dropped.unmatched_key.<list_column>`, NULL
// values as `nulls.<list_column>`.
//
// `capture_column` (default query only) adds each session's capture file
// from the optional table `captures(sessionid, file)` that `pipectl ingest
// pcap --captures` writes (left join; NULL for every row when the database
// has no such table, so a pipeline that groups by it runs on any
// NetCollector database).
//
// For `pipectl predict`: `labelled_only = false` reads the unlabelled
// sessions too (default query only), and `key_min`/`key_max` read one range
// of list_key (the default queries get a `between` condition, a custom query
// is wrapped as `select * from (<query>) where <key> between … order by
// <key>`); an empty key range gives an empty table, not an error.
//
// Several databases (one per site): `path` may be a glob pattern
// ("../data/sites/*.sqlite": it has `*`, `?` or `[` and is not itself an
// existing file). The matches are read in the order of their names, each
// with the same queries, and concatenated; a pattern that matches nothing is
// an error naming it. The categorical column `site_column` (default "site",
// "" = none) holds each row's file stem; its dictionary is every matched
// stem in that order, whichever files this process reads. Checks that hold
// per database (a session that appears twice, no rows) hold per file: the
// same sessionid in two files is two sessions.
//
// Distributed runs (StageContext::collective() has more than one worker):
// each worker reads only its shard. `shard = "rows"`: in every file, the rows
// whose list_key k has k mod world = rank (in SQL, as ((k % W) + W) % W, a
// NULL or non-numeric key going to worker 0), and the list query filtered the
// same way, so other workers' rows are never returned. `shard = "files"`:
// worker r reads the files i with i mod world = r (needs at least as many
// files as workers). `shard = "auto"` (default): files when the pattern
// matches at least as many files as there are workers, else rows. Counters
// stay per worker; the metric `global` (workers, rows, counters) and an info
// line give the totals over all workers. A failure on one worker fails every
// worker with its message; a column whose type differs between workers
// (e.g. all NULL on one) is brought to one type as files are (int64 and
// float64 give float64; all-NULL takes the other's type).
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec sqlite_spec();

/// The NetCollector query (the seed pipeline's columns).
extern const char* const kSqliteDefaultQuery;
/// The DNS names of each session, ordered by session id.
extern const char* const kSqliteDefaultListQuery;
/// Columns the default query returns, in order.
std::vector<std::string> sqlite_default_columns();
/// The SQL condition selecting worker `rank`'s rows of `world` by the key
/// expression `key`: `coalesce(((key % W) + W) % W, 0) = R` (a negative key
/// too; a NULL one goes to worker 0).
std::string shard_condition(const std::string& key, int world, int rank);

struct SqliteConfig {
  std::string path;
  std::string query;
  std::string list_query;  ///< "" = none
  std::string list_key;
  std::string list_column;
  bool list_distinct = true;
  std::map<std::string, DType> types;  ///< overrides
  bool labelled_only = true;               ///< default query: only sessions with a device_type
  std::string capture_column;              ///< default query: + captures.file under this name ("" = none)
  std::string device_column;               ///< default query: + devices.mac under this name ("" = none)
  std::optional<std::int64_t> key_min, key_max;  ///< read only rows with list_key in [key_min, key_max]
  std::int64_t busy_timeout_ms = 2000;
  std::int64_t mmap_mb = 256;
  bool count_rows = false;
  std::string site_column = "site";  ///< several files: the column of each row's file stem ("" = none)
  std::string shard = "auto";        ///< "auto" | "files" | "rows": how workers divide the rows
  bool pattern = false;              ///< `path` is a glob pattern (not an existing file)

  /// Throws pipectl::Error on an invalid configuration (e.g. an unknown type name).
  static SqliteConfig from(const Params& p);
  bool default_query() const;
  bool default_list_query() const;
  bool key_range() const { return key_min.has_value(); }
  /// The query that is run: the default one with its conditions (labelled
  /// only, key range) and capture column (read from the captures table when
  /// `captures_table`, else NULL); a custom one as given (a key range wraps it later).
  /// `world` > 1: only the rows of worker `rank` (key modulo world).
  std::string main_sql(bool captures_table = false, int world = 1, int rank = 0) const;
  /// The files `path` names: itself, or the sorted matches of the pattern
  /// (throws DataError when it matches nothing, or two matches share a stem
  /// while there is a site column).
  std::vector<std::string> files() const;
  /// The output schema, learnt by preparing the main query (no row read);
  /// known = false when the database is not there or a column's type is
  /// decided by its values.
  Schema schema() const;
  /// Ranges of list_key holding about `rows` rows each (one database file;
  /// empty when it cannot tell), for predicting in chunks.
  std::vector<std::pair<std::int64_t, std::int64_t>> key_ranges(std::int64_t rows) const;
  /// PluginSpec::group_details: a NetCollector database's sessions' devices
  /// (a table without columns when the file has no sessions and devices tables).
  Table group_details() const;
};

class SqliteSource : public Stage {
 public:
  explicit SqliteSource(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  SqliteConfig cfg_;
};

}  // namespace pipectl::plugins
