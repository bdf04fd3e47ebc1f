#include "sqlite_source.hpp"

#include <netcollector_query.hpp>

namespace pipectl::plugins {

namespace nc = netcollector;

// The NetCollector queries (plugins/netcollector_query), in SQLite's dialect.
static const std::string kDefaultQueryText = nc::sessions_query(nc::Dialect::SQLite);
static const std::string kDefaultListQueryText = nc::dns_query(nc::Dialect::SQLite);
const char* const kSqliteDefaultQuery = kDefaultQueryText.c_str();
const char* const kSqliteDefaultListQuery = kDefaultListQueryText.c_str();

std::string shard_condition(const std::string& key, int world, int rank) {
  const std::string w = std::to_string(world);
  return "coalesce(((" + key + " % " + w + ") + " + w + ") % " + w + ", 0) = " + std::to_string(rank);
}

std::string SqliteConfig::main_sql(bool captures_table, int world, int rank) const {
  if (!default_query()) return query;
  // The capture file of each session, from the table `pipectl ingest pcap
  // --captures` adds (not part of the NetCollector schema): NULL without it.
  nc::SessionsQuery q;
  q.labelled_only = labelled_only;
  q.capture_column = capture_column;
  q.captures_table = captures_table;
  q.device_column = device_column;
  if (key_range())
    q.condition = "s.sessionid between " + std::to_string(*key_min) + " and " + std::to_string(*key_max);
  if (world > 1) q.condition += (q.condition.empty() ? "" : " and ") + shard_condition("s.sessionid", world, rank);
  return nc::sessions_query(nc::Dialect::SQLite, q);
}

std::vector<std::string> sqlite_default_columns() { return nc::sessions_columns(); }

PluginSpec sqlite_spec() {
  PluginSpec s;
  s.min_inputs = 0;
  s.max_inputs = 0;
  s.learns = false;
  s.param("path", ParamType::Path,
          "the SQLite database file (opened read-only), or a glob pattern of several (e.g. "
          "\"../data/sites/*.sqlite\": read in name order, one after the other, each row's file stem in "
          "`site_column`)")
      .required();
  s.param("query", ParamType::String,
          "one SELECT statement; its result columns become the table's columns "
          "(the default reads NetCollector sessions with their device labels)")
      .def(kSqliteDefaultQuery);
  s.param("list_query", ParamType::String,
          "a SELECT returning (key, value) rows ordered by key, merged into the multi-valued column "
          "`list_column` of the row with that key (\"\" = no list column)")
      .def(kSqliteDefaultListQuery);
  s.param("list_key", ParamType::String,
          "the int64 column of `query` that list_query's first column refers to; `query` must be "
          "ordered by it")
      .def("sessionid");
  s.param("list_column", ParamType::String, "name of the multi_categorical column made from list_query")
      .def("dns");
  s.param("list_distinct", ParamType::Bool, "keep each value once per row in the list column").def(true);
  s.param("types", ParamType::Table,
          "column -> \"int64\" | \"float64\" | \"categorical\": overrides the type taken from the "
          "declared column type or the first non-NULL value")
      .def(json::object());
  s.param("labelled_only", ParamType::Bool,
          "the default query reads only sessions whose device has a device_type (false: the unlabelled "
          "ones too, e.g. to predict them; no effect on a custom query)")
      .def(true);
  s.param("capture_column", ParamType::String,
          "the default query also reads each session's capture file into a categorical column of this name, "
          "from the table captures(sessionid, file) that `pipectl ingest pcap --captures` adds (NULL when the "
          "database has no such table), e.g. for the splitter's `group`; \"\" = no such column; no effect on "
          "a custom query")
      .def("");
  s.param("device_column", ParamType::String,
          "the default query also reads each session's device MAC (devices.mac) into a categorical column of this "
          "name: the device key, e.g. for the splitter's `group` and the evaluator's `group` (exclude it from the "
          "trainer's features); \"\" = no such column; no effect on a custom query")
      .def("");
  s.param("key_min", ParamType::Int,
          "with key_max: read only the rows whose list_key is in [key_min, key_max] (one chunk; unset = all)");
  s.param("key_max", ParamType::Int, "see key_min");
  s.param("busy_timeout_ms", ParamType::Int,
          "how long to wait for another connection's lock before failing with \"database is locked\"")
      .def(2000)
      .range(0, 3600000);
  s.param("mmap_mb", ParamType::Int, "memory-map up to this many MiB of the database for reading (0 = off)")
      .def(256)
      .range(0, 1 << 20);
  s.param("count_rows", ParamType::Bool,
          "run `select count(*)` over the query first, to reserve memory and report exact progress "
          "(an extra pass over the data; without it the default query's row count is estimated)")
      .def(false);
  s.param("site_column", ParamType::String,
          "when `path` is a pattern: the categorical column holding each row's file stem (its dictionary is "
          "every matched stem, in name order); \"\" = no such column")
      .def("site");
  s.param("shard", ParamType::String,
          "on several workers: \"rows\" = in every file the rows whose list_key modulo the workers is the "
          "worker's rank; \"files\" = worker r reads the matched files i with i modulo the workers = r (needs "
          "at least as many files as workers); \"auto\" = files when there are enough, else rows")
      .def("auto")
      .one_of({"auto", "files", "rows"});
  s.distributed = PluginSpec::Distributed::Combined;
  s.schema_doc = "the main query's result columns with their declared types (learnt by preparing it on the "
                 "database, no row read), list_column (multi_categorical), site_column (several files)";
  s.schema = [](SchemaContext& c) { return SqliteConfig::from(c.params()).schema(); };
  s.input_param = "path";
  s.key_ranges = [](const Params& p, std::int64_t rows) { return SqliteConfig::from(p).key_ranges(rows); };
  s.group_details = [](const Params& p) { return SqliteConfig::from(p).group_details(); };
  return s;
}

}  // namespace pipectl::plugins
