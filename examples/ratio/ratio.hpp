// Example plugin: a ratio feature, optionally log1p-transformed — e.g.
// bytes per packet, which tells bulk transfers from chatty control traffic.
#pragma once

#include <pipectl/plugin.hpp>

namespace ratio_example {

/// The parameters, bound in ratio_spec and filled by the host.
struct RatioOptions {
  std::string numerator, denominator, output;
  bool log1p = false;
};

pipectl::PluginSpec ratio_spec();

class Ratio : public pipectl::Stage {
 public:
  using Options = RatioOptions;
  explicit Ratio(const Options& o);
  pipectl::Table run(pipectl::StageContext& ctx, const std::vector<pipectl::TablePtr>& inputs) override;

 private:
  std::string num_, den_, out_;
  bool log1p_;
};

}  // namespace ratio_example
