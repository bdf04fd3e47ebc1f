// What every trainer plugin (XGBoost, liblinear, MLP…) does around its model.
//
// The three parameters that choose the label and the features, the checks a
// fit makes before it trains (a split, at least two classes, feature columns,
// labelled Train rows holding two classes), the Train/Valid rows it trains
// on, and the check an apply makes that the features are the fitted ones.
// Error messages that name the trainer take its plugin name ("xgboost"…).
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/features.hpp>
#include <pipectl/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace pipectl {

/// Declares `label`, `features` and `exclude`, the first parameters of every
/// trainer, with their descriptions and defaults (unbound: for a stage
/// constructed from `const Params&`).
PIPECTL_API void declare_trainer_params(PluginSpec& s);

/// The members `label`, `features` (resolved names; empty = every column but
/// the label, `exclude` and the predictions) and `exclude` of a trainer's
/// options: its options struct derives from this.
struct TrainerOptions {
  std::string label;
  std::vector<std::string> features;
  std::vector<std::string> exclude;
};

/// Declares `label`, `features` and `exclude` bound to the TrainerOptions
/// members of O.
template <class O>
void declare_trainer_params(PluginSpec& s) {
  static_assert(std::is_base_of_v<TrainerOptions, O>, "pipectl: a trainer's options derive from TrainerOptions");
  declare_trainer_params(s);
  const std::size_t n = s.params.size();
  bind_member(s.params[n - 3], static_cast<std::string O::*>(&O::label));
  bind_member(s.params[n - 2], static_cast<std::vector<std::string> O::*>(&O::features));
  bind_member(s.params[n - 1], static_cast<std::vector<std::string> O::*>(&O::exclude));
}

/// A trainer's schema rule: the label (`label`, int64 or categorical) and
/// the `features` selection must reach it, with a train/valid/test split; it
/// gives its input plus "pred_label" (categorical, role prediction) and the
/// probabilities: "pred_proba" for a binary label, "pred_proba.<class>" per
/// class of a multiclass one (declared as the family "pred_proba", as the
/// classes are known only from the data).
PIPECTL_API Schema trainer_schema(SchemaContext& ctx);
/// The trainer rule in words (for `plugins describe`).
PIPECTL_API extern const char* const kTrainerSchemaDoc;
/// The same for a trainer that predicts in a fit only the rows its consumers
/// read (rows_to_predict, features.hpp): pred_label is nullable.
PIPECTL_API Schema partial_trainer_schema(SchemaContext& ctx);
PIPECTL_API extern const char* const kPartialTrainerSchemaDoc;

/// What a fit trains on, after prepare_training's checks.
struct PIPECTL_API TrainingSet {
  std::vector<std::string> classes;       ///< the label's classes over the whole table (at least two)
  std::vector<std::string> columns;       ///< feature columns (never the label)
  std::vector<std::uint32_t> train_rows;  ///< Train rows with a label
  std::vector<std::uint32_t> valid_rows;  ///< Valid rows with a label (empty unless asked for)
  LabelVector y_train;                    ///< class index per train row
  std::vector<std::size_t> per_class;     ///< train rows per class
  std::size_t distinct = 0;               ///< classes present among the train rows (at least two)
  /// When building x_train began: a trainer's train_seconds count from here.
  std::chrono::steady_clock::time_point started;
  /// Feature columns given as native categorical features (one feature of
  /// category codes; see native_categorical_key), when asked for.
  std::vector<std::string> native;
  /// Features of train_rows. (The Valid rows' matrix is left to the trainer:
  /// XGBoost builds it once the train matrix is freed, liblinear only when it
  /// fits Platt scaling on it.)
  FeatureMatrix x_train;
};

/// The checks and row selection of a fit on `t`: a train/valid/test split,
/// the label column with at least two classes, the feature columns
/// (`features`, or every column but the label, `exclude` and pred_*; never
/// the label), the labelled Train rows (and Valid rows when `with_valid`)
/// holding at least two classes. With `native_categorical`, the columns the
/// table marks so become one feature of category codes each (TrainingSet::
/// native). Rows with a NULL label are left out, counted
/// as `skipped.null_label.<label>` and warned about. Throws DataError
/// (messages that name the trainer start with `plugin`).
PIPECTL_API TrainingSet prepare_training(StageContext& ctx, const Table& t, const std::string& label,
                                         const std::vector<std::string>& features,
                                         const std::vector<std::string>& exclude, const std::string& plugin,
                                         bool with_valid = true, bool native_categorical = false);

/// The columns of `columns` the table marks as native categorical features
/// (meta native_categorical_key(column) = "1").
PIPECTL_API std::vector<std::string> native_categorical_columns(const Table& t,
                                                                const std::vector<std::string>& columns);

/// Mode::Apply: throws DataError naming the first difference when the
/// features built now are not the fitted ones.
PIPECTL_API void check_feature_names(const std::vector<std::string>& fitted, const std::vector<std::string>& now,
                                     const std::string& plugin);

/// Per feature of a matrix built from `columns` of `t`: true when it comes
/// from a numeric column (one feature), false for one-hot / multi-hot
/// indicators.
PIPECTL_API std::vector<bool> numeric_features(const Table& t, const std::vector<std::string>& columns);

/// Throws DataError on a non-finite value (±inf; NaN is already "missing"),
/// naming the column and the table row (`rows[i]` for matrix row i, or i
/// itself when `rows` is null).
PIPECTL_API void check_finite(const FeatureMatrix& m, const std::vector<std::uint32_t>* rows);

/// A fit's run-level explanation: `stage.explain` of importance_rows(t) (the
/// Test rows, at most 10,000), recorded as the metric `importance`
/// (mean_abs_importance) in metrics.json beside the evaluator's figures.
PIPECTL_API void record_importance(StageContext& ctx, const Stage& stage, const Table& t, int threads);

/// `v` with "%.17g" (round-trips a double).
PIPECTL_API std::string fmt17(double v);

/// "\"a\", \"b\"…": at most `max_items` names, then ", …".
PIPECTL_API std::string join_quoted(const std::vector<std::string>& v, std::size_t max_items = 20);

/// Whether row `r` of the label column `c` has no label (NULL, or a
/// categorical code < 0).
PIPECTL_API bool label_is_null(const Column& c, std::size_t r);

}  // namespace pipectl
