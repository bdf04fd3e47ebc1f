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
// Several workers (each a shard of the rows): each reduces its own training
// rows and the collective combines them, so every worker ends with the state
// one process fits on all training rows. minmax: Min / Max allreduce (exact:
// bit-identical, -0.0 is stored as 0.0). zscore: exact sums (ExactSum, a
// fixed-point accumulator of every double combined with an int64 Sum
// allreduce) rounded once, for the mean, then for the squared deviations
// from that mean: bit-identical whatever the row order or number of workers.
// The only rounding left is the same everywhere: mean = round(sum) / n,
// each (x - mean)^2 in double, std = sqrt(round(sum of those) / n).
// A worker whose shard has no training row is fine; none at all is an error.
//
// State: {"method": "minmax"|"zscore", "log1p": bool, "clip": bool,
//         "columns": {"<name>": {"min": x, "max": y} | {"mean": m, "std": s}}}
#pragma once

#include <pipectl/plugin.hpp>

#include <map>
#include <string>
#include <vector>

namespace pipectl::plugins {

/// The normaliser's parameters (bound in normaliser_spec).
struct NormaliserOptions {
  std::vector<std::string> columns;  ///< resolved names
  std::string method;                ///< "minmax" or "zscore"
  bool log1p = false;
  bool clip = true;
};

PluginSpec normaliser_spec();

class Normaliser : public Stage {
 public:
  using Options = NormaliserOptions;
  explicit Normaliser(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

  struct Stats {
    double lo = 0;  ///< min (minmax) or mean (zscore)
    double hi = 0;  ///< max (minmax) or std (zscore)
  };

 private:
  void fit_stats(StageContext& ctx, const Table& in, const std::vector<std::uint32_t>& train, std::int64_t train_rows);
  double value_of(const Column& c, std::size_t i) const;

  std::vector<std::string> columns_;
  bool zscore_ = false;
  bool log1p_ = false;
  bool clip_ = true;
  bool fitted_ = false;
  std::map<std::string, Stats> stats_;
};

}  // namespace pipectl::plugins
