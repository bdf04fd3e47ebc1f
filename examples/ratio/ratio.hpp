// Example plugin: a ratio feature, optionally log1p-transformed — e.g.
// bytes per packet, which tells bulk transfers from chatty control traffic.
#pragma once

#include <pipectl/plugin.hpp>

namespace ratio_example {

pipectl::PluginSpec ratio_spec();

class Ratio : public pipectl::Stage {
 public:
  explicit Ratio(const pipectl::Params& p);
  pipectl::Table run(pipectl::StageContext& ctx, const std::vector<pipectl::TablePtr>& inputs) override;

 private:
  std::string num_, den_, out_;
  bool log1p_;
};

}  // namespace ratio_example
