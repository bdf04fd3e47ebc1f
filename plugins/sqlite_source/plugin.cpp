#include "sqlite_source.hpp"

PIPECTL_PLUGIN(sqlite, "source", "1.1.0",
               "read a table from a SQLite database (NetCollector sessions by default), read-only",
               pipectl::plugins::sqlite_spec, pipectl::plugins::SqliteSource)
