// splitter: assigns every row a train / valid / test role.
//
// Rows are grouped into strata by the `stratify` column (NULL is a stratum of
// its own; "" = one stratum). Strata are visited in key order; each is
// shuffled with a xoshiro256** stream seeded (splitmix64) from `seed` (or the
// stage's seed) and cut by the fractions: counts by largest remainder (ties
// train, valid, test), so each split is within one row of its share, then a
// stratum with at least as many rows as splits with a positive fraction
// gives each such split at least one row.
//
// With `group`, whole groups are assigned: each group (NULL group value =
// a group of its own row) belongs to the stratum of its majority label (ties:
// the smaller key); the groups of a stratum are shuffled, then each goes to
// the split furthest below its share of the stratum's rows, except that the
// last groups go to still-empty splits, so that a stratum with enough groups
// reaches every split.
//
// In Mode::Apply every row is Role::Test.
#pragma once

#include <pipectl/plugin.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pipectl::plugins {

PluginSpec splitter_spec();

struct SplitterConfig {
  std::array<double, 3> fractions{0.70, 0.15, 0.15};  ///< train, valid, test
  std::string stratify;
  std::string group;
  std::int64_t seed = -1;

  /// Throws pipectl::Error if a fraction is outside [0, 1] or they do not sum to 1 (± 1e-9).
  static SplitterConfig from(const Params& p);
  Contract contract() const;
};

/// Rows of a stratum of m rows per split (train, valid, test): largest
/// remainder, then at least one row for every positive-fraction split when m
/// allows it.
std::array<std::size_t, 3> apportion(std::size_t m, const std::array<double, 3>& fractions);

/// splitmix64 / xoshiro256**: small, fast, the same on every platform.
class SplitRng {
 public:
  explicit SplitRng(std::uint64_t seed);
  std::uint64_t next();
  /// Uniform in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n);
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(below(i))]);
  }

 private:
  std::uint64_t s_[4];
};

class Splitter : public Stage {
 public:
  explicit Splitter(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  SplitterConfig cfg_;
};

}  // namespace pipectl::plugins
