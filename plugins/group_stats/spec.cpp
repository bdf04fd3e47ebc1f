#include "group_stats.hpp"

#include <algorithm>

namespace pipectl::plugins {

PluginSpec group_stats_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::Combined;  // groups gathered over every worker
  s.param("group", ParamType::String, "the group (device) key column, categorical or int64").def("mac");
  s.param("prefix", ParamType::String, "prefix of the columns made").def("dev_");
  s.param("features", ParamType::StringList,
          "which figures to make: dns_share, dstports, bytes, packets, interval")
      .def(json::array({"dns_share", "dstports", "bytes", "packets", "interval"}));
  s.param("bytes", ParamType::String, "numeric column of bytes per row").def("bytes");
  s.param("packets", ParamType::String, "numeric column of packets per row").def("packets");
  s.param("start", ParamType::String, "numeric column of each row's start time (seconds)").def("starttime");
  s.param("port", ParamType::String, "numeric column of the destination port").def("dstport");
  s.param("dns", ParamType::String, "multi_categorical column of the names asked").def("dns");
  s.contract = [](const Params& p) {
    Contract c;
    const auto features = p.strings("features");
    c.needs = {p.str("group")};
    auto need = [&](const char* f, const char* col) {
      if (std::find(features.begin(), features.end(), f) != features.end()) c.needs.push_back(p.str(col));
    };
    need("dns_share", "dns");
    need("dstports", "port");
    need("bytes", "bytes");
    need("packets", "packets");
    need("interval", "start");
    c.makes = group_stats_columns(p.str("prefix"), features);
    return c;
  };
  return s;
}

}  // namespace pipectl::plugins
