// port_class: a port's class beside the port, so that a model can learn from
// what kind of port a product uses rather than which exact port (new
// products often use other ports of the same kind).
//
// For each int64 column in `columns` (default srcport, dstport) it adds the
// categorical column <column><suffix> (default "_class"), one of
//
//   dns 53, http 80 / 8080, https 443 / 8443, ntp 123, rtsp 554, ssdp 1900,
//   mqtt 1883 / 8883, mdns 5353,
//   well_known  other ports below 1024
//   registered  other ports 1024 .. 49151
//   ephemeral   49152 .. 65535
//   invalid     below 0 or above 65535
//
// NULL stays NULL. The mapping is fixed (IANA ranges and well-known
// services): nothing is fitted, so training rows and new data are classed
// alike and workers need nothing from each other.
#pragma once

#include <pipectl/plugin.hpp>

#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec port_class_spec();

/// The classes, in dictionary order (the categorical codes).
const std::vector<std::string>& port_classes();
/// A port's class (index into port_classes()).
std::int32_t port_class_of(std::int64_t port);

class PortClass : public Stage {
 public:
  explicit PortClass(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  std::vector<std::string> columns_;
  std::string suffix_;
};

}  // namespace pipectl::plugins
