// The XGBoost trainer stage (XGBoost 1.7 C API).
//
// Fit: builds the CSR design matrix of the Train rows (and Valid rows, for
// early stopping), boosts round by round, keeps the best iteration, and
// predicts every row with the trees up to it. Apply: loads the saved model
// and predicts every row after checking the feature names match the fit.
//
// On several workers (StageContext::collective() is distributed; `pipectl
// worker` has joined XGBoost's Rabit collective in this process) each
// worker's DMatrix holds its own rows only and XGBoost trains one model over
// all of them: it sums the quantile sketches and histograms of "hist" and
// "approx" over the workers ("exact" cannot, and is refused). Before
// training, the workers agree through the collective on what one process
// would check: the classes of the label, the feature columns, the same
// dictionary for every categorical and multi-valued feature column (a hash
// of it, allgathered), labelled Train rows of two classes over all workers
// (a worker may hold none, or one class). Early stopping: XGBoost 1.7's
// logloss and mlogloss on the Valid rows are allreduced over the workers
// (their sum and weight), so every worker reads the same score; each round
// the workers also check it is the same everywhere (max = min, through the
// collective, with the cancellation flag, so that all stop together) and
// fail otherwise, so the number of rounds cannot differ. After training, a
// hash of the model is compared across the workers. XGBoost 1.7's "hist"
// hangs when some workers' training matrices have missing entries and others'
// have none (an empty one has none): that case is refused, naming the
// workers ("approx" trains there; checked with 1.7.4 on real Rabit workers).
#pragma once

#include <pipectl/features.hpp>
#include <pipectl/trainer.hpp>
#include <pipectl/plugin.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pipectl::xgb {

/// The plugin's parameter declarations and contract.
PluginSpec xgboost_spec();

/// Feature names XGBoost accepts and prints unambiguously: '[', ']', '<',
/// ',' and whitespace/control characters become '_'; a name that then
/// collides with an earlier one gets the suffix "~2", "~3"… (first come,
/// first kept). Pure and deterministic, so the saved state only keeps the
/// original names.
std::vector<std::string> sanitize_feature_names(const std::vector<std::string>& names);

/// One score out of an XGBoosterEvalOneIter string such as
/// "[12]\tvalid-logloss:0.2345\tvalid-error:0.01": the LAST metric of the
/// data set named `data` (as XGBoost's own early stopping does).
/// Returns false when the string holds no such metric.
bool parse_eval(const std::string& eval, const std::string& data, std::string& metric, double& value);

/// Whether a larger value of this XGBoost eval metric is better
/// (auc, aucpr, map, ndcg, pre…); otherwise smaller is better.
bool metric_maximize(const std::string& metric);

/// XGBoost parameter text for a json scalar (strings verbatim, integers in
/// decimal, floats with %.17g, booleans "true"/"false"). Throws on other types.
std::string param_text(const json& v);

/// Owned XGBoost booster handle (freed on destruction).
struct BoosterDeleter {
  void operator()(void* h) const noexcept;
};
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

/// What is wrong with the `params` table (a key the trainer sets, a value
/// that is no scalar or list of scalars): "" or the message, reported by the
/// schema rule under `params`.
std::string extra_params_problem(const json& extra);

/// XGBoost's parameters (bound in xgboost_spec, filled by the host).
struct XGBoostOptions : TrainerOptions {
  std::string mode;
  std::int64_t num_round = 300, early_stopping_rounds = 20, max_depth = 6, max_bin = 256, max_cat_to_onehot = 4,
               forest_trees = 100, nthread = 0, seed = -1;
  double eta = 0.1, min_child_weight = 1.0, subsample = 1.0, colsample_bytree = 1.0, lambda = 1.0, alpha = 0.0;
  std::string tree_method;
  json params;  ///< extra XGBoost parameters, passed through
};

class XGBoostTrainer : public Stage {
 public:
  using Options = XGBoostOptions;
  explicit XGBoostTrainer(const Options& o);

  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;
  /// Exact TreeSHAP (XGBoosterPredictFromDMatrix, type 2) over the trees up
  /// to the best iteration: per row and class (multiclass), adding up to the
  /// margin (binary: the log-odds of pred_proba).
  Explanation explain(const Table& input, const std::vector<std::uint32_t>& rows, int threads) const override;

  // Fitted / loaded state, for tests.
  int best_iteration() const { return best_iteration_; }
  int boosted_rounds() const { return boosted_rounds_; }
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }

 private:
  Table fit(StageContext& ctx, const Table& t);
  /// prepare_training's checks and rows, agreed over the workers.
  TrainingSet prepare_distributed(StageContext& ctx, const Table& t);
  Table apply(StageContext& ctx, const Table& t);
  /// Predict every row of `t` with the current booster and add the columns.
  Table predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m);
  /// After a fit: predict the rows of the roles the consumers read
  /// (StageContext::consumer_roles), leaving the others NULL.
  Table predict_for_consumers(StageContext& ctx, const Table& t);
  /// Probabilities of the n rows of `m`, row-major (1 or classes columns).
  std::vector<float> predict_proba(StageContext& ctx, const FeatureMatrix& m, std::size_t n);
  /// XGBoost's prediction of `type` (0 values, 2 contributions) for every row
  /// of `m` with the trees up to the best iteration; `expect` values (and
  /// `strict_dim` dimensions with strict_shape, 0 = not strict), or an error
  /// naming `what`.
  std::vector<float> predict_raw(const FeatureMatrix& m, int type, const char* what, std::size_t expect,
                                 std::uint64_t strict_dim) const;
  int threads() const;

  // Parameters.
  std::string label_;
  std::vector<std::string> features_param_, exclude_;
  std::string mode_;
  std::int64_t num_round_, early_stopping_rounds_, max_depth_, max_bin_, forest_trees_, nthread_, seed_;
  double eta_, min_child_weight_, subsample_, colsample_bytree_, lambda_, alpha_;
  std::string tree_method_;
  std::int64_t max_cat_to_onehot_;
  std::vector<std::pair<std::string, std::string>> extra_;  ///< `params`, sorted by key

  // State.
  BoosterPtr booster_;
  std::vector<std::string> classes_;
  std::vector<std::string> columns_;        ///< feature columns
  std::vector<std::string> feature_names_;  ///< original FeatureMatrix names
  std::vector<std::string> native_;         ///< columns given as native categorical features
  std::string objective_;
  int best_iteration_ = -1;
  int boosted_rounds_ = 0;
};

}  // namespace pipectl::xgb
