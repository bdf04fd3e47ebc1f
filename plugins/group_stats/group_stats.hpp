// group_stats: what a whole device does, on each of its sessions.
//
// Sessions are grouped by `group` (a device key such as mac). Each row gets
// its group's figures, computed over every row of the group in the input
// (train, valid and test alike — no label is read, so nothing leaks):
//
//   <prefix>dns_share        share of the group's rows with at least one name in `dns`
//   <prefix>dstports         distinct destination ports / rows (1 = a new port every session)
//   <prefix>bytes_q25/50/75  quartiles of bytes (linear interpolation), as log10(1 + x)
//   <prefix>packets_q25/50/75  the same for packets
//   <prefix>interval_cv      coefficient of variation of the gaps between consecutive start
//                            times (0 = strictly periodic, ~1 = random, > 1 = bursty); NULL
//                            with fewer than 3 rows
//
// `features` chooses which of dns_share, dstports, bytes, packets, interval
// are made. A NULL group value makes a group of its own row.
//
// On several workers the groups span shards: every worker sends, per group,
// its rows' values (bytes, packets, start time, port, has-names) through
// allgather, so the figures are those of one process (cost: ~33 bytes per
// row gathered on every worker). In Mode::Apply (predict) the figures are
// those of the sessions given — predict's chunks each on their own.
#pragma once

#include <pipectl/plugin.hpp>

#include <string>
#include <vector>

namespace pipectl::plugins {

/// group_stats' parameters (bound in group_stats_spec, filled by the host).
struct GroupStatsOptions {
  std::string group, prefix;
  std::vector<std::string> features;
  std::string bytes, packets, start, port, dns;
};

PluginSpec group_stats_spec();

/// Quantile q of sorted values by linear interpolation (pandas' default); NaN when empty.
double sorted_quantile(const std::vector<double>& sorted, double q);

class GroupStats : public Stage {
 public:
  using Options = GroupStatsOptions;
  explicit GroupStats(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  std::string group_, prefix_, bytes_, packets_, start_, port_, dns_;
  std::vector<std::string> features_;
};

/// The columns made for `features` with `prefix`.
std::vector<std::string> group_stats_columns(const std::string& prefix, const std::vector<std::string>& features);

}  // namespace pipectl::plugins
