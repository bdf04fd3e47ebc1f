#include "postgres_source.hpp"

PIPECTL_PLUGIN(postgres, "source", "1.0.0",
               "read a table from a PostgreSQL server (NetCollector sessions by default), in a read-only "
               "transaction; on several workers each reads its shard",
               pipectl::plugins::postgres_spec, pipectl::plugins::PostgresSource)
