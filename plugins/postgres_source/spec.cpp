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
  s.param("conninfo", &PostgresOptions::conninfo,
          "libpq connection string or URI, e.g. \"host=127.0.0.1 port=5433 dbname=netcollector user=pipectl\"; "
          "the PG* environment variables fill what it leaves out (\"\" = only them); errors never show the password")
      .def("");
  s.param("query", &PostgresOptions::query,
          "one SELECT statement, run in a read-only transaction; its result columns become the table's columns "
          "(the default reads NetCollector sessions with their device labels, as the sqlite source does)")
      .def(kPostgresDefaultQuery);
  s.param("list_query", &PostgresOptions::list_query,
          "a SELECT returning (key, value) rows ordered by key, merged into the multi-valued column "
          "`list_column` of the row with that key (\"\" = no list column)")
      .def(kPostgresDefaultListQuery);
  s.param("list_key", &PostgresOptions::list_key,
          "the int64 column of `query` that list_query's first column refers to; `query` must be ordered by it; "
          "also the key that shards and key_min/key_max select on")
      .def("sessionid");
  s.param("list_column", &PostgresOptions::list_column, "name of the multi_categorical column made from list_query")
      .def("dns");
  s.param("list_distinct", &PostgresOptions::list_distinct, "keep each value once per row in the list column").def(true);
  s.param("types", &PostgresOptions::types,
          "column -> \"int64\" | \"float64\" | \"categorical\": overrides the type taken from the column's "
          "PostgreSQL type")
      .def(json::object());
  s.param("labelled_only", &PostgresOptions::labelled_only,
          "the default query reads only sessions whose device has a device_type (false: the unlabelled "
          "ones too, e.g. to predict them; no effect on a custom query)")
      .def(true);
  s.param("capture_column", &PostgresOptions::capture_column,
          "the default query also reads each session's capture file into a categorical column of this name, "
          "from the table captures(sessionid, file) (NULL when the database has no such table); \"\" = no such "
          "column; no effect on a custom query")
      .def("");
  s.param("key_min", &PostgresOptions::key_min,
          "with key_max: read only the rows whose list_key is in [key_min, key_max] (one chunk; unset = all)");
  s.param("key_max", &PostgresOptions::key_max, "see key_min");
  s.param("shard", &PostgresOptions::shard,
          "on several workers, which rows each reads (filtered in SQL on list_key): \"modulo\" = key mod "
          "workers = rank; \"range\" = one of `workers` contiguous key ranges of equal width between the "
          "key's min and max")
      .def("modulo")
      .one_of({"modulo", "range"});
  s.param("fetch_rows", &PostgresOptions::fetch_rows, "rows per FETCH from the server-side cursor")
      .def(20000)
      .range(1, 10000000);
  s.param("connect_timeout_s", &PostgresOptions::connect_timeout_s,
          "give up connecting after this many seconds (0 = wait for the system; conninfo's connect_timeout "
          "wins)")
      .def(10)
      .range(0, 3600);
  s.param("count_rows", &PostgresOptions::count_rows,
          "run `select count(*)` over the query first, to reserve memory and report exact progress "
          "(an extra pass over the data; without it the default query's row count is estimated)")
      .def(false);
  s.schema_doc =
      "the default query: the NetCollector session columns; a custom query: prepared on the server (names and "
      "types, no row fetched), or learnt at run time when the server cannot be reached";
  s.group_details = [](const Params& p) {
    return PostgresConfig::from(bind_options<PostgresOptions>(postgres_spec(), p)).group_details();
  };
  s.schema = [](SchemaContext& c) {
    const auto o = bind_options<PostgresOptions>(postgres_spec(), c.params());
    const auto problems = PostgresConfig::problems(o);
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? PostgresConfig::from(o).schema() : c.input();
  };
  s.input_param = "conninfo";
  return s;
}

}  // namespace pipectl::plugins
