// normaliser: scales numeric columns with statistics fitted on training rows.
//
// minmax: (x - min) / (max - min), clipped to [0, 1] when `clip`;
// zscore: (x - mean) / std (population std). With `log1p`, x is replaced by
// log1p(x) first (negative x is a DataError). The fit uses the Train rows'
// non-NULL, finite values; NULLs stay NULL and NaN stays NaN when applied.
// A column that is constant on the training rows (max == min, std == 0, or
// no finite training value at all) maps every non-NULL value to 0.
// Int64 columns become Float64.
//
// State: {"method": "minmax"|"zscore", "log1p": bool, "clip": bool,
//         "columns": {"<name>": {"min": x, "max": y} | {"mean": m, "std": s}}}
#pragma once

#include <pipectl/plugin.hpp>

#include <map>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec normaliser_spec();

class Normaliser : public Stage {
 public:
  explicit Normaliser(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

  struct Stats {
    double lo = 0;  ///< min (minmax) or mean (zscore)
    double hi = 0;  ///< max (minmax) or std (zscore)
  };

 private:
  std::vector<std::string> columns_;
  bool zscore_ = false;
  bool log1p_ = false;
  bool clip_ = true;
  bool fitted_ = false;
  std::map<std::string, Stats> stats_;
};

}  // namespace pipectl::plugins
