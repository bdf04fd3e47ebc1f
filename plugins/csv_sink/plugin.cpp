#include "csv_sink.hpp"

PIPECTL_PLUGIN(csv_sink, "sink", "1.0.0", "write the table to a CSV file (read back by the csv source)",
               pipectl::plugins::csv_sink_spec, pipectl::plugins::CsvSink)
