// Why a model predicts what it does: per-row feature contributions.
//
// A trainer whose PluginSpec says `explains = true` implements
// Stage::explain(): for rows of the table it receives (its input, in
// Mode::Apply after load_state or after a fit), the contribution of every
// model feature to the raw score, plus a bias, such that a row's
// contributions add up to its score: the log-odds of the positive class
// (binary), or each class's margin before the softmax (multiclass, one block
// per class). The host asks before it reads any data, so a model that cannot
// explain (spec.explains = false) is refused up front.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/features.hpp>
#include <pipectl/param.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl {

/// Where one model feature comes from in the model's input table: a numeric
/// column (`code` = -1), or one indicator of a categorical / multi-valued
/// column (`code` = its dictionary code, `value` the dictionary entry). A
/// categorical column the model takes whole (e.g. XGBoost's native
/// categorical splits) is `code` = -1 on a categorical column.
struct PIPECTL_API FeatureOrigin {
  std::string column;
  std::int32_t code = -1;
  std::string value;
};

struct PIPECTL_API Explanation {
  std::vector<std::string> features;     ///< the model's feature names, in order
  std::vector<FeatureOrigin> origins;    ///< one per feature
  std::vector<std::string> groups;       ///< binary: {positive class}; multiclass: every class
  std::size_t rows = 0;
  /// rows x groups x (features + 1), row-major; the last entry of each block
  /// is the bias. A block adds up to the row's score for that group.
  std::vector<double> values;
  /// How the contributions relate to the probability (e.g. Platt scaling folded in).
  std::string note;

  std::size_t width() const { return features.size() + 1; }
  double at(std::size_t row, std::size_t group, std::size_t feature) const {
    return values[(row * groups.size() + group) * width() + feature];
  }
  /// The row's score for the group: the sum of its block.
  double score(std::size_t row, std::size_t group) const;
};

/// The origins of the features build_features(t, columns) makes, in its
/// order: read from the columns' types and dictionaries (what the encoders
/// declared and fitted), not from the feature names.
PIPECTL_API std::vector<FeatureOrigin> feature_origins(const Table& t, const std::vector<std::string>& columns,
                                                      const std::vector<std::string>& native = {});

/// Rows used for a run-level importance: the Test rows of `t` (every row
/// when it has no roles), at most `cap`, evenly spaced and in order.
PIPECTL_API std::vector<std::uint32_t> importance_rows(const Table& t, std::size_t cap = 10000);

/// Mean |contribution| per feature over the explained rows (all groups
/// summed), sorted by decreasing value, as
/// {"rows": n, "groups": [...], "features": [{"feature": name, "mean_abs": v}…]}:
/// what the trainers record as their `importance` metric.
PIPECTL_API json mean_abs_importance(const Explanation& e);

}  // namespace pipectl
