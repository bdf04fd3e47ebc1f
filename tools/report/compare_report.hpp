// The model-comparison report: every model a run evaluated, side by side.
//
//   CompareReport r = build_compare(run_dir);      // reads the run folder
//   std::cout << markdown_table(r);                // the terminal table
//   write_compare(r, run_dir / "report");          // compare.md/.json/.html, roc.svg, pr.svg
//
// What is read from the run folder:
//   pipeline.toml   [[stage]] id/plugin/inputs/curves: the evaluator stages
//                   (kind "evaluator" in run.json) and the models each one evaluated;
//                   a model is the trainer found by walking up from an
//                   evaluator input through single-input stages
//   metrics.json    metrics.<evaluator id> holds the figures directly (one
//                   input model) or one object per model id (several)
//   run.json        pipeline name, start time, each trainer stage's plugin,
//                   version and measures train_seconds / predict_rows_per_second
//   stages/<evaluator>/<model>/curves.json   ROC and precision-recall points
//   stages/<trainer>/state.json              "model": the file(s) whose sizes
//                                            add up to the model size
//
// Missing figures (a null metric, a trainer that measured nothing) are NaN and
// shown as "-"; a missing file or a model the metrics do not mention is an
// error (pipectl::Error, naming the file and what is missing).
//
// Multiclass models: the table shows the evaluator's macro averages (ROC AUC,
// PR AUC, F1 over the one-vs-rest classes); the plots draw one line per model,
// the macro average of the one-vs-rest curves (ROC: mean TPR over the union of
// the classes' FPR points; PR: mean interpolated precision, i.e. the best
// precision at a recall at least as large, over the union of the recall
// points). compare.json keeps the per-class curves as well.
#pragma once

#include <pipectl/error.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace pipectl::report {

struct ModelRow {
  std::string model;      ///< model id, as the evaluator names it (the trainer's stage id)
  std::string plugin;     ///< the trainer's plugin (xgboost, liblinear, mlp…)
  std::string evaluator;  ///< the evaluator stage id
  double roc_auc = 0, pr_auc = 0, f1 = 0, accuracy = 0, log_loss = 0;  ///< NaN = not available
  std::int64_t test_rows = 0;                                           ///< rows the evaluator scored
  double train_seconds = 0, predict_rows_per_second = 0;               ///< NaN = not measured
  std::uintmax_t model_bytes = 0;                                       ///< sum of the model files

  // Extras.
  std::string name;            ///< unique label in the report: model, or "model (evaluator)" when a
                               ///< model is evaluated by more than one evaluator
  std::string trainer;         ///< trainer stage id (normally == model)
  std::string plugin_version;  ///< the trainer's plugin version (run.json)
  double precision = 0, recall = 0;  ///< NaN = not available (macro averages when multiclass)
  std::vector<std::string> classes;
  std::string positive_class;  ///< binary: the class scored as positive
  bool multiclass = false;
  bool has_curves = false;     ///< a ROC or PR curve exists for this model
  std::vector<std::string> model_files;  ///< relative to the run folder
  // Intervals and the paired test (paired.hpp); NaN / "" when not available.
  double roc_auc_lo = std::numeric_limits<double>::quiet_NaN(), roc_auc_hi = roc_auc_lo;
  std::string roc_auc_ci_method;
  std::string paired_vs;      ///< the best model of its evaluator it was tested against ("" = none, or it is the best)
  std::string paired_method;  ///< "paired bootstrap over <group> (N draws)" or "DeLong paired"
  double paired_diff = roc_auc_lo, paired_lo = roc_auc_lo, paired_hi = roc_auc_lo, paired_p = roc_auc_lo;
};

struct CompareReport {
  std::string pipeline, run_id;
  std::vector<ModelRow> rows;
  /// Keyed by ModelRow::name: {"kind": "binary"|"macro"|"none", "positive_class",
  /// "roc": {"fpr":[], "tpr":[], "auc"} | null, "pr": {"recall":[], "precision":[],
  /// "average_precision"} | null, "per_class": {class: {"roc", "pr"}} (multiclass)}.
  nlohmann::json curves = nlohmann::json::object();
  /// Keyed by ModelRow::name, for the models that explain: the trainer's
  /// `importance` metric from metrics.json ({"rows", "groups", "note",
  /// "features": [{"feature", "mean_abs"}…]}, mean |contribution| on the
  /// test rows, largest first).
  nlohmann::json importance = nlohmann::json::object();

  // Extras.
  std::filesystem::path run_dir;
  std::string date;    ///< run start, "YYYY-MM-DD HH:MM:SS UTC" ("" when unknown)
  std::string status;  ///< run.json "status"
  std::vector<std::string> notes;  ///< remarks shown under the table (multiclass, missing curves…)
};

/// Read a finished run folder. Throws pipectl::Error with a clear message.
CompareReport build_compare(const std::filesystem::path& run_dir);

/// The side-by-side table in Markdown (best value per column in bold when there
/// are at least two models), followed by the notes. Also fit for a terminal.
std::string markdown_table(const CompareReport& report);

/// Write compare.md, compare.json, compare.html, roc.svg and pr.svg into
/// `out_dir` (created). The plots are drawn by gnuplot (a subprocess; the
/// PIPECTL_GNUPLOT environment variable overrides the program); compare.html is
/// self-contained (CSS and SVG inline, nothing fetched). Throws pipectl::Error.
void write_compare(const CompareReport& report, const std::filesystem::path& out_dir);

/// The report as JSON (what compare.json holds): every figure (null when not
/// available), the best model(s) per column, and the curves.
nlohmann::json to_json(const CompareReport& report);

/// The self-contained HTML page, given the two SVG documents as gnuplot wrote
/// them, and one feature-importance bar chart per model that has one
/// (model name, SVG).
std::string html_page(const CompareReport& report, const std::string& roc_svg, const std::string& pr_svg,
                      const std::vector<std::pair<std::string, std::string>>& importance_svgs = {});

/// Features shown in a model's importance chart (the largest mean |contribution|).
constexpr std::size_t kImportanceBars = 15;

}  // namespace pipectl::report
