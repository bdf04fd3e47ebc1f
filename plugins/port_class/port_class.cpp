#include "port_class.hpp"

#include <pipectl/error.hpp>

namespace pipectl::plugins {

const std::vector<std::string>& port_classes() {
  static const std::vector<std::string> c = {"dns",  "http",       "https",      "ntp",       "rtsp",   "ssdp",
                                             "mqtt", "mdns",       "well_known", "registered", "ephemeral",
                                             "invalid"};
  return c;
}

std::int32_t port_class_of(std::int64_t port) {
  switch (port) {
    case 53: return 0;
    case 80: case 8080: return 1;
    case 443: case 8443: return 2;
    case 123: return 3;
    case 554: return 4;
    case 1900: return 5;
    case 1883: case 8883: return 6;
    case 5353: return 7;
    default: break;
  }
  if (port < 0 || port > 65535) return 11;
  if (port < 1024) return 8;
  if (port < 49152) return 9;
  return 10;
}

PortClass::PortClass(const Params& p) : columns_(p.strings("columns")), suffix_(p.str("suffix")) {
  if (suffix_.empty()) throw Error("port_class: parameter \"suffix\" must not be empty (the class would replace the port)");
}

Table PortClass::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  const Table& t = *inputs.at(0);
  const std::size_t n = t.rows();
  auto dict = std::make_shared<const Dictionary>(port_classes());
  Table out = t;
  for (const auto& name : columns_) {
    const Column& c = t.at(name);
    if (c.type != DType::Int64)
      throw DataError("port_class: column \"" + name + "\" must be int64, it is " + dtype_name(c.type));
    std::vector<std::int32_t> codes(n);
    std::int64_t nulls = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (c.is_null(i)) {
        codes[i] = -1;
        ++nulls;
      } else {
        codes[i] = port_class_of(c.i64[i]);
      }
    }
    if (nulls) ctx.count("null." + name, nulls);
    out = out.with(Column::make_cat(name + suffix_, std::move(codes), dict));
  }
  return out;
}

}  // namespace pipectl::plugins
