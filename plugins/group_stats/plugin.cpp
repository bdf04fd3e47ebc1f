#include "group_stats.hpp"

PIPECTL_PLUGIN(group_stats, "transform", "1.0.0",
               "per-group (device) behaviour joined back to each of its rows: share of rows with DNS names, distinct "
               "destination ports, byte and packet quantiles, regularity of start times",
               pipectl::plugins::group_stats_spec, pipectl::plugins::GroupStats)
