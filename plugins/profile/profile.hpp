// profile: the exploratory views of the originating analysis as a report
// stage. One input, output = the input unchanged (same columns, shared).
//
// Over the profiled rows (all rows, or only the training rows with
// rows = "train") it computes, per feature column:
//   numeric (int64 / float64): count, nulls (NULL or NaN), mean, std
//     (sample, ddof = 1, like pandas), min, 25/50/75 % (numpy's "linear"
//     method, pandas' describe() default: h = (n - 1) p,
//     q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]), on the
//     sorted non-null values), max, zeros and their share; the outlier view
//     of the analysis: rows, mean value and label rate above (strictly >)
//     and below (<=) the threshold mean + k std;
//   categorical: distinct values, nulls, the `top` most frequent values with
//     their row count, share and label rate (and the label rate of the rest);
//   multi-valued (e.g. the DNS names of a session): distinct names, names per
//     row (distinct names of the row; full numeric summary), rows with none
//     and their label rate, the `top` names with the number of rows that ask
//     them, share and label rate.
// And a ranking of the columns by how much they tell about the label:
//   univariate ROC AUC, computed exactly (ties count half, = sklearn) over
//     the labelled rows with a value. Numeric: the value itself, reported as
//     max(AUC, 1 - AUC) with the direction ("higher" or "lower" values go
//     with the positive class). Categorical: the target-mean encoding of the
//     value (its label rate), computed in-sample on the same rows — so it is
//     optimistic and never below 0.5 (direction "target_mean"); NULL is a
//     value of its own. Multi-valued: the number of names per row.
//   mutual information with the label, in bits, over the labelled rows:
//     numeric (and names per row) in `bins` equal-frequency bins — a run of
//     equal values is never split (bin of a run = floor(rank of its first row
//     * bins / n)), and a column with at most `bins` distinct values uses one
//     bin per value; NULL / NaN is a bin of its own. Categorical by value
//     (NULL a value of its own). A perfectly informative column scores
//     H(label).
//   Ranked by AUC (descending), then MI (descending), then column name.
//
// The label: int64 0/1 (1 = positive; other values are a DataError) or
// categorical, one-vs-rest: the class `positive` if given, otherwise every
// class except `negative` (default "Other": the share of IoT sessions when
// the label is device_type). NULL labels are unlabelled rows: they count in
// every figure except the label rates, AUC and MI. label = "" omits every
// label-related figure.
//
// Writes profile.json and profile.md into the stage's artifact folder, a
// short summary via ctx.report, and metrics rows, label_rate, auc_rank,
// auc, mi_bits.
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl::plugins {

/// The profile's parameters (bound in profile_spec, filled by the host).
struct ProfileOptions {
  std::string label, positive, negative;
  std::vector<std::string> columns, exclude;
  double k = 2.0;
  std::int64_t top = 10;
  std::int64_t bins = 20;
  std::string rows;  ///< "all" or "train"
};

PluginSpec profile_spec();

struct ProfileConfig {
  std::string label;                 ///< "" = no label
  std::string positive;              ///< categorical label: the positive class ("" = all but negative)
  std::string negative;              ///< categorical label: the negative class when positive is ""
  std::vector<std::string> columns;  ///< explicit feature columns ([] = all but label, exclude, pred_*)
  std::vector<std::string> exclude;
  double k = 2.0;
  std::int64_t top = 10;
  std::int64_t bins = 20;
  bool train_only = false;

  static ProfileConfig from(const ProfileOptions& o);
  /// What is inconsistent across parameters, as {parameter, message};
  /// reported by the schema rule (ranges and choices are declared).
  std::vector<std::pair<std::string, std::string>> problems() const;
  /// Needs label and columns (and a split for rows = "train"); gives its input.
  Schema schema(SchemaContext& ctx) const;
};

/// The profile of `in` (the profile.json object), no I/O. `threads` columns
/// are profiled at once; the result does not depend on it. Throws DataError
/// on an unusable label or missing column, Interrupted when ctx is cancelled.
json compute_profile(const Table& in, const ProfileConfig& cfg, StageContext& ctx, int threads = 1);

/// Per numeric column, rows per bin by label (positive / negative /
/// unlabelled), `bins` equal-width bins on a linear scale, or on
/// log10(1 + x) when the values are non-negative and the maximum exceeds
/// 100 x (|median| + 1): {"column", "scale", "edges", "positive", …}.
json label_histograms(const Table& t, const std::vector<std::string>& numeric_columns,
                      const std::vector<std::uint8_t>& y, std::int64_t bins);
/// profile.html from a profile object: the histograms, the label rate of the
/// top values and names, the ranking as bars (inline SVG, nothing fetched).
std::string profile_html(const json& profile);
/// profile.md from a profile object.
std::string profile_markdown(const json& profile);
/// The short summary printed at the end of the run.
std::string profile_summary(const json& profile, const std::string& stage_id);

class Profile : public Stage {
 public:
  using Options = ProfileOptions;
  explicit Profile(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  /// The profile of the last run.
  const json& last() const { return last_; }

 private:
  ProfileConfig cfg_;
  json last_;
};

}  // namespace pipectl::plugins
