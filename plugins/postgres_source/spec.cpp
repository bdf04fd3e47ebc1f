#include "postgres_source.hpp"

#include <netcollector_query.hpp>

namespace pipectl::plugins {

namespace nc = netcollector;

// The NetCollector queries (plugins/netcollector_query), in PostgreSQL's dialect.
static const std::string kDefaultQueryText = nc::sessions_query(nc::Dialect::PostgreSQL);
static const std::string kDefaultListQueryText = nc::dns_query(nc::Dialect::PostgreSQL);
const char* const kPostgresDefaultQuery = kDefaultQueryText.c_str();
const char* const kPostgresDefaultListQuery = kDefaultListQueryText.c_str();

PluginSpec postgres_spec() {
  PluginSpec s;
  s.min_inputs = 0;
  s.max_inputs = 0;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("conninfo", ParamType::String,
          "libpq connection string or URI, e.g. \"host=127.0.0.1 port=5433 dbname=netcollector user=pipectl\"; "
          "the PG* environment variables fill what it leaves out (\"\" = only them); errors never show the password")
      .def("");
  s.param("query", ParamType::String,
          "one SELECT statement, run in a read-only transaction; its result columns become the table's columns "
          "(the default reads NetCollector sessions with their device labels, as the sqlite source does)")
      .def(kPostgresDefaultQuery);
  s.param("list_query", ParamType::String,
          "a SELECT returning (key, value) rows ordered by key, merged into the multi-valued column "
          "`list_column` of the row with that key (\"\" = no list column)")
      .def(kPostgresDefaultListQuery);
  s.param("list_key", ParamType::String,
          "the int64 column of `query` that list_query's first column refers to; `query` must be ordered by it; "
          "also the key that shards and key_min/key_max select on")
      .def("sessionid");
  s.param("list_column", ParamType::String, "name of the multi_categorical column made from list_query")
      .def("dns");
  s.param("list_distinct", ParamType::Bool, "keep each value once per row in the list column").def(true);
  s.param("types", ParamType::Table,
          "column -> \"int64\" | \"float64\" | \"categorical\": overrides the type taken from the column's "
          "PostgreSQL type")
      .def(json::object());
  s.param("labelled_only", ParamType::Bool,
          "the default query reads only sessions whose device has a device_type (false: the unlabelled "
          "ones too, e.g. to predict them; no effect on a custom query)")
      .def(true);
  s.param("capture_column", ParamType::String,
          "the default query also reads each session's capture file into a categorical column of this name, "
          "from the table captures(sessionid, file) (NULL when the database has no such table); \"\" = no such "
          "column; no effect on a custom query")
      .def("");
  s.param("key_min", ParamType::Int,
          "with key_max: read only the rows whose list_key is in [key_min, key_max] (one chunk; unset = all)");
  s.param("key_max", ParamType::Int, "see key_min");
  s.param("shard", ParamType::String,
          "on several workers, which rows each reads (filtered in SQL on list_key): \"modulo\" = key mod "
          "workers = rank; \"range\" = one of `workers` contiguous key ranges of equal width between the "
          "key's min and max")
      .def("modulo")
      .one_of({"modulo", "range"});
  s.param("fetch_rows", ParamType::Int, "rows per FETCH from the server-side cursor")
      .def(20000)
      .range(1, 10000000);
  s.param("connect_timeout_s", ParamType::Int,
          "give up connecting after this many seconds (0 = wait for the system; conninfo's connect_timeout "
          "wins)")
      .def(10)
      .range(0, 3600);
  s.param("count_rows", ParamType::Bool,
          "run `select count(*)` over the query first, to reserve memory and report exact progress "
          "(an extra pass over the data; without it the default query's row count is estimated)")
      .def(false);
  s.schema_doc =
      "the default query: the NetCollector session columns; a custom query: prepared on the server (names and "
      "types, no row fetched), or learnt at run time when the server cannot be reached";
  s.group_details = [](const Params& p) { return PostgresConfig::from(p).group_details(); };
  s.schema = [](SchemaContext& c) { return PostgresConfig::from(c.params()).schema(); };
  s.input_param = "conninfo";
  return s;
}

}  // namespace pipectl::plugins
