// Intervals and paired tests in the compare report.
//
// The evaluator writes, per binary model and evaluator (one process), the
// test rows it scored as stages/<evaluator>/<model>/scores.csv: "row,group,y,p"
// (row: the row's index in the evaluated table, the same for every model of
// one evaluator; group: the declared group's value, "" without a group; y:
// 1 positive, 0 negative; p: the positive class's probability).
//
// Each model of an evaluator is tested against that evaluator's best model
// (highest ROC AUC) on the same test rows:
// * with a group: a paired bootstrap over the groups — `draws` draws of the
//   groups with replacement (xoshiro-free: std::mt19937_64 seeded by `seed`,
//   groups in sorted order), each the difference of the two models' ROC AUCs
//   on the drawn groups' rows (weighted by how often a group was drawn);
//   the 95 % interval is the 2.5 / 97.5 % percentiles of the differences
//   (linear interpolation), the two-sided p-value 2 · min(share of draws with
//   difference <= 0, share with difference >= 0), at most 1;
// * without a group: DeLong's paired test (DeLong, DeLong & Clarke-Pearson
//   1988): z = (A1 - A2) / sqrt(var1 + var2 - 2 cov) from the structural
//   components, p = 2 (1 - Φ(|z|)), the interval diff ± 1.96 sqrt(var).
#pragma once

#include "compare_report.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pipectl::report {

struct Scores {
  std::vector<std::int64_t> row;
  std::vector<std::string> group;
  std::vector<std::uint8_t> y;
  std::vector<double> p;
};

/// Read scores.csv; throws pipectl::Error naming the file and line.
Scores read_scores(const std::filesystem::path& file);

/// ROC AUC (ties count half) of `p` against `y`, each row weighted by `w` (empty = 1); NaN for a single class.
double weighted_auc(const std::vector<std::uint8_t>& y, const std::vector<double>& p, const std::vector<double>& w = {});

struct PairedTest {
  double diff = 0, lo = 0, hi = 0, p_value = 1;  ///< diff = AUC(a) - AUC(b)
  std::string method;
};

/// DeLong's paired test of two score vectors on the same rows.
PairedTest delong_paired(const std::vector<std::uint8_t>& y, const std::vector<double>& a, const std::vector<double>& b);

/// The paired bootstrap over `group`.
PairedTest bootstrap_paired(const std::vector<std::string>& group, const std::vector<std::uint8_t>& y,
                            const std::vector<double>& a, const std::vector<double>& b, std::uint64_t seed,
                            int draws = 1000);

/// Fill every binary row's roc_auc_ci (from metrics.json) and, where the
/// evaluator wrote scores.csv for two or more models, the paired test of
/// each against the best; what cannot be tested is said in the notes.
void add_intervals_and_paired(CompareReport& rep, const nlohmann::json& metrics);

/// The table of intervals and paired tests (Markdown), "" when there is none.
std::string paired_markdown(const CompareReport& rep);
/// The same as an HTML section (for compare.html), "" when there is none.
std::string paired_html(const CompareReport& rep);

}  // namespace pipectl::report
