// The evaluator stage: classification metrics of one or more trainers'
// outputs on the test rows (all rows in Mode::Apply).
//
// Metrics follow scikit-learn's definitions (1.2): accuracy, precision,
// recall, f1 (binary: positive class = index 1; multiclass: macro averages
// over the classes present in the truth or the predictions), roc_auc
// (exact, ties by trapezoid; multiclass: macro one-vs-rest), pr_auc
// (average precision; multiclass: macro), log_loss (probabilities clipped to
// [1e-15, 1 - 1e-15] and renormalised per row), the confusion matrix;
// binary: roc_auc_ci, a 95 % interval (DeLong, or a bootstrap over the
// `group` column's groups when set) and with `group` the device-level
// verdicts (intervals.hpp).
//
// On several workers (StageContext::collective() distributed) every figure
// is that of the union of all workers' evaluated rows, the same on every
// worker: the classes are agreed first (an int64 prediction's 0..max over
// all workers), then each worker's rows are allgathered compactly (true and
// predicted class in one byte each up to 127 classes, the probabilities as
// float64) and the metrics and curves are computed exactly on the union,
// sorted by probabilities then classes so that nothing depends on which
// worker holds which rows. test_predictions.csv keeps this worker's rows. A
// failure on one worker fails every worker with its message.
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl::eval {

/// The plugin's parameter declarations and contract.
PluginSpec evaluator_spec();

// ------------------------------------------------------------ pure helpers

/// Binary ROC AUC of `score` against `y` (0/1): the trapezoidal area, ties
/// counted half (equal to sklearn's roc_auc_score); computed exactly in
/// integers and divided once. NaN when y holds a single class.
double roc_auc(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// Average precision (sklearn's average_precision_score): sum over distinct
/// thresholds, highest first, of (recall_n - recall_{n-1}) * precision_n.
/// NaN when y has no positive.
double average_precision(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// ROC points at each distinct threshold, highest first, starting at
/// (0, 0) whose threshold is +infinity. Empty when y holds a single class.
struct RocCurve {
  std::vector<double> fpr, tpr, threshold;
};
RocCurve roc_curve(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// Precision-recall points at each distinct threshold, highest first,
/// starting at (recall 0, precision 1) whose threshold is +infinity. Empty
/// when y has no positive.
struct PrCurve {
  std::vector<double> recall, precision, threshold;
};
PrCurve pr_curve(const std::vector<std::uint8_t>& y, const std::vector<double>& score);

/// At most `max_points` indices into 0..n-1, evenly spread, first and last kept.
std::vector<std::size_t> downsample(std::size_t n, std::size_t max_points);

/// What the metrics are computed from: one entry per evaluated row.
struct Outcomes {
  std::vector<std::string> classes;
  std::vector<std::int32_t> truth;  ///< class index
  std::vector<std::int32_t> pred;   ///< class index
  /// Binary: P(class 1) per row. Multiclass: row-major rows x classes.
  /// Empty when the input carries no probabilities.
  std::vector<double> proba;
};

/// The metrics object of one model: rows, classes, accuracy, precision,
/// recall, f1, roc_auc, pr_auc, log_loss, confusion_matrix, and per_class for
/// multiclass. Undefined figures are null, with a line in `warnings`.
json compute_metrics(const Outcomes& o, std::vector<std::string>& warnings);

/// The curves.json object of one model (ROC and PR, each ≤ max_points points).
json compute_curves(const Outcomes& o, std::size_t max_points = 200);

/// The fixed-width text table (one column per model), then each confusion
/// matrix. Its first line names what the figures are of: `rows_what` (the
/// evaluated rows: "test rows") and the model of each column, e.g. "test
/// rows, model train"; multiclass averages are labelled "(macro)".
std::string format_report(const std::vector<std::string>& models, const std::vector<json>& metrics,
                          const std::string& rows_what = "test rows");

/// A CSV field, quoted when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& s);

// ------------------------------------------------------------ the stage

/// The evaluator's parameters (bound in the spec, filled by the host).
struct EvaluatorOptions {
  std::string label;
  double threshold = 0.5;
  bool curves = true;
  bool predictions = true;
  std::string group;  ///< "" = none
  std::int64_t ci_resamples = 1000;
  std::int64_t ci_min_groups = 5;
};

class Evaluator : public Stage {
 public:
  using Options = EvaluatorOptions;
  explicit Evaluator(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  std::string label_;
  std::string group_;
  int ci_resamples_;
  std::int64_t ci_min_groups_;
  double threshold_;
  bool curves_, predictions_;
};

}  // namespace pipectl::eval
