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
// method = "hash" instead decides each row by that row alone: a 64-bit hash
// (splitmix64 mixing) of the seed and the row's `key` values (int64 by value,
// categorical by label string, NULL as a value of its own), mapped to
// u in [0, 1): train when u < train, test when u >= 1 - test, valid between.
// The split then depends neither on the row order nor on the number of rows
// or of workers, so a key lands in the same split on whichever worker holds
// it. Shares are exact only in expectation (binomial noise, about
// sqrt(f (1 - f) / n)); `stratify` cannot be enforced row by row: each class
// keeps its proportions in expectation, and the achieved per-class fractions
// are logged (info). With `group`, the group's value is hashed instead of
// the key, so a whole group lands in one split (a NULL group value falls
// back to the row's key).
//
// method = "groups" places whole groups (`group` required) and stratifies
// them: every worker sends its groups' value hashes with their per-class row
// counts (allgather), so every worker sees the same global list of groups;
// each group belongs to the stratum of its majority class (ties: the
// smaller class key; NULL group values: the row alone, keyed by `key`); the
// groups of a stratum are ordered by split_unit(seed, group hash) and each
// goes to the split furthest below its share of the stratum's rows (the
// last ones to still-empty splits, as with shuffle). Nothing depends on row
// order or on which worker holds which rows, so 1 or N workers give the
// same split; class shares are as close as whole groups allow. With
// folds = K the groups are dealt the same way into K folds of equal share:
// fold `fold` is test, fold (fold + 1) % K valid, the others train.
//
// Distributed (several workers, each a shard of the rows): only "hash" runs
// there ("shuffle" throws, its split depends on row positions within one
// process). The counters rows.* and groups.* are global: summed over the
// workers (groups counted once even when they span workers).
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

/// splitter's parameters (bound in splitter_spec, filled by the host).
struct SplitterOptions {
  double train = 0.70, valid = 0.15, test = 0.15;
  std::string stratify;
  std::string group;
  std::int64_t seed = -1;
  std::string method = "shuffle";
  std::int64_t folds = 0;
  std::int64_t fold = 0;
  std::vector<std::string> key{"sessionid"};
};

struct SplitterConfig {
  std::array<double, 3> fractions{0.70, 0.15, 0.15};  ///< train, valid, test
  std::string stratify;
  std::string group;
  std::int64_t seed = -1;
  bool hash = false;                           ///< method = "hash" (else "shuffle")
  bool groups = false;                         ///< method = "groups"
  std::int64_t folds = 0;                      ///< method = "groups": K folds (0 = none)
  std::int64_t fold = 0;                       ///< the test fold
  std::vector<std::string> key{"sessionid"};  ///< hashed columns (method = "hash")

  /// The options as the stage uses them (checks nothing: ranges and choices are the
  /// declaration's, the rest problems()' in the schema rule).
  static SplitterConfig from(const SplitterOptions& o);
  /// What is inconsistent across parameters, as {parameter, message}: the fractions do
  /// not sum to 1 (± 1e-9), method "groups" without a group, folds without method
  /// "groups" or below 2, fold outside 0 .. folds - 1, method "hash" with an empty key.
  /// The schema rule reports each (file:line:column) before any stage exists.
  std::vector<std::pair<std::string, std::string>> problems() const;
  /// Needs stratify, group and (hash) key; gives its input with the split (group: role group).
  Schema schema(SchemaContext& ctx) const;
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

/// The value in [0, 1) that decides a hashed row's split: the seed mixed with
/// one 64-bit hash per key column (split_value_hash), top 53 bits.
double split_unit(std::uint64_t seed, const std::uint64_t* value_hashes, std::size_t n);
/// Hash of one key value: int64 by value, a categorical label by its bytes.
std::uint64_t split_value_hash(std::int64_t v);
std::uint64_t split_value_hash(const std::string& label);
/// Hash standing for a NULL key value.
std::uint64_t split_null_hash();
/// The split of a hashed row whose unit value is u.
Role hash_role(double u, const std::array<double, 3>& fractions);

/// Thrown on several workers when method = "shuffle".
extern const char* const kShuffleOnWorkersError;

class Splitter : public Stage {
 public:
  using Options = SplitterOptions;
  explicit Splitter(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  void run_hash(StageContext& ctx, const Table& in, std::vector<Role>& roles) const;
  void run_groups(StageContext& ctx, const Table& in, std::vector<Role>& roles) const;
  SplitterConfig cfg_;
};

}  // namespace pipectl::plugins
