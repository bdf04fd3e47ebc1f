#include "group_stats.hpp"

#include <algorithm>

namespace pipectl::plugins {

PluginSpec group_stats_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::Combined;  // groups gathered over every worker
  s.param("group", &GroupStatsOptions::group, "the group (device) key column, categorical or int64").def("mac");
  s.param("prefix", &GroupStatsOptions::prefix, "prefix of the columns made").def("dev_");
  s.param("features", &GroupStatsOptions::features,
          "which figures to make: dns_share, dstports, bytes, packets, interval")
      .def(json::array({"dns_share", "dstports", "bytes", "packets", "interval"}))
      .one_of({"dns_share", "dstports", "bytes", "packets", "interval"});
  s.param("bytes", &GroupStatsOptions::bytes, "numeric column of bytes per row").def("bytes");
  s.param("packets", &GroupStatsOptions::packets, "numeric column of packets per row").def("packets");
  s.param("start", &GroupStatsOptions::start, "numeric column of each row's start time (seconds)").def("starttime");
  s.param("port", &GroupStatsOptions::port, "numeric column of the destination port").def("dstport");
  s.param("dns", &GroupStatsOptions::dns, "multi_categorical column of the names asked").def("dns");
  s.schema_doc =
      "needs `group` (int64 or categorical) and, for the figures chosen in `features`, `dns` (multi_categorical) "
      "and `port`, `bytes`, `packets`, `start` (numeric); gives its input plus <prefix><figure> (float64)";
  s.schema = [](SchemaContext& c) {
    const auto& p = c.params();
    const auto features = p.strings("features");
    auto chosen = [&](const char* f) { return std::find(features.begin(), features.end(), f) != features.end(); };
    if (p.str("group").empty()) c.error("group", "is empty");
    else c.need("group", p.str("group"), {DType::Int64, DType::Categorical});
    if (chosen("dns_share")) c.need("dns", p.str("dns"), {DType::MultiCategorical});
    if (chosen("dstports")) c.need("port", p.str("port"), {DType::Int64, DType::Float64});
    if (chosen("bytes")) c.need("bytes", p.str("bytes"), {DType::Int64, DType::Float64});
    if (chosen("packets")) c.need("packets", p.str("packets"), {DType::Int64, DType::Float64});
    if (chosen("interval")) c.need("start", p.str("start"), {DType::Int64, DType::Float64});
    Schema out = c.input();
    for (const auto& name : group_stats_columns(p.str("prefix"), features)) {
      ColumnSchema x;
      x.name = name;
      x.type = DType::Float64;
      x.nullable = true;  // interval_cv: NULL with fewer than 3 rows
      out.set(x);
    }
    return out;
  };
  return s;
}

}  // namespace pipectl::plugins
