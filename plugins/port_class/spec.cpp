#include "port_class.hpp"

namespace pipectl::plugins {

PluginSpec port_class_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;  // a fixed mapping
  s.distributed = PluginSpec::Distributed::PerShard;
  s.param("columns", ParamType::StringList, "int64 port columns to class").def(json::array({"srcport", "dstport"}));
  s.param("suffix", ParamType::String, "the class column of port column C is C + suffix").def("_class");
  s.schema_doc =
      "needs `columns` (int64); gives its input plus <column><suffix> (categorical: dns, http, https, ntp, rtsp, "
      "ssdp, mqtt, mdns, well_known, registered, ephemeral, invalid; NULL where the port is NULL)";
  s.schema = [](SchemaContext& c) {
    const auto& p = c.params();
    Schema out = c.input();
    for (const auto& name : p.strings("columns")) {
      c.need("columns", name, {DType::Int64});
      const auto* in = out.find(name);
      ColumnSchema x;
      x.name = name + p.str("suffix");
      x.type = DType::Categorical;
      x.nullable = in ? in->nullable : true;
      out.set(x);
    }
    return out;
  };
  return s;
}

}  // namespace pipectl::plugins
