#include "csv_source.hpp"

PIPECTL_PLUGIN(csv, "source", "1.0.0", "read a table from a CSV file (RFC 4180), types declared or inferred",
               pipectl::plugins::csv_spec, pipectl::plugins::CsvSource)
