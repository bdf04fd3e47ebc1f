// Uncertainty of a binary evaluation and its device-level view.
//
// roc_auc_ci: a 95 % interval for ROC AUC. Without groups, DeLong's
// variance (DeLong, DeLong & Clarke-Pearson 1988; midrank form of Sun & Xu
// 2014): AUC ± 1.96·sqrt(var), clipped to [0, 1]. With groups (rows of one
// device are not independent), a bootstrap over groups: `resamples` draws of
// the groups with replacement, each the AUC of the drawn groups' rows
// (weighted by how often the group was drawn), and the 2.5 % and 97.5 %
// percentiles (linear interpolation) of the draws that hold both classes;
// the draws come from a xoshiro256** stream seeded by `seed`, visiting the
// groups in order of their hash, so the interval does not depend on row
// order or on which worker held which rows.
//
// Devices (groups): each group's probability is the sigmoid of the mean
// log-odds of its rows (clipped to [1e-7, 1 - 1e-7], as `pipectl predict
// --by device`), its truth the majority of its rows' labels (ties
// positive); the verdict is positive when p >= threshold. choose_threshold
// picks, from the validation devices, the threshold of highest device
// accuracy; among equally accurate ones the midpoint (in log-odds) of the
// widest gap between neighbouring devices, i.e. the largest margin.
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl::eval {

/// Rows of a binary evaluation with the hash of their group's value.
struct GroupedRows {
  std::vector<std::uint64_t> group;
  std::vector<std::uint8_t> y;
  std::vector<double> p;
  void add(std::uint64_t g, bool pos, double prob) {
    group.push_back(g);
    y.push_back(pos ? 1 : 0);
    p.push_back(prob);
  }
  std::size_t size() const { return y.size(); }
};

/// FNV-1a 64 of a group's value (its label): the same on every worker.
std::uint64_t group_hash(const std::string& label);

/// Several workers' rows in one, sorted by (p, y, group): independent of the workers.
std::string pack_grouped(const GroupedRows& r);
GroupedRows unite_grouped(const std::vector<std::string>& packed);
/// Sorts rows by (p, y, group) so the figures do not depend on row order.
void canonical_order(GroupedRows& r);

/// DeLong's variance of the ROC AUC of `score` against `y`; NaN for a single class.
double delong_variance(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// [lo, hi]: DeLong (no groups) — both NaN for a single class.
std::pair<double, double> roc_auc_ci_delong(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// [lo, hi]: bootstrap over the groups of `rows` (NaN when fewer than 2 draws hold both classes).
std::pair<double, double> roc_auc_ci_groups(const GroupedRows& rows, std::uint64_t seed, int resamples = 1000);

/// How many groups have a positive row and how many a negative row (what a
/// bootstrap over groups can resample of each class).
std::pair<std::int64_t, std::int64_t> class_groups(const GroupedRows& rows);

/// One device: its rows' mean log-odds as a probability, and its majority truth.
struct Device {
  std::uint64_t group = 0;
  std::size_t rows = 0;
  double p = 0;
  bool positive = false;
};
std::vector<Device> devices_of(const GroupedRows& rows);

/// The threshold of highest accuracy on `devices` (largest log-odds margin among ties); 0.5 when they hold a single class or none.
double choose_threshold(const std::vector<Device>& devices);

/// devices, device_threshold, device_accuracy, device_precision, device_recall, confusion.
json device_metrics(const std::vector<Device>& devices, double threshold);

}  // namespace pipectl::eval
