// Turning a table's feature columns into a model's input matrix.
//
// Trainers (XGBoost, liblinear, MLP…) all see the same features: numeric
// columns one feature each, a categorical column one-hot over its
// dictionary, a multi-valued column multi-hot. The result is CSR, built in
// one pass straight from the column buffers (no per-row objects).
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl {

class StageContext;

struct PIPECTL_API FeatureMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint64_t> indptr;  ///< rows + 1
  std::vector<std::uint32_t> indices;
  std::vector<float> values;
  std::vector<std::string> names;     ///< one per feature, e.g. "bytes", "dstport=443", "dns=time.apple.com"
  /// Per feature: 1 = a native categorical feature (its value is the
  /// category's dictionary code); empty when there is none.
  std::vector<std::uint8_t> categorical;
  /// Dense row-major copy; absent entries (missing numerics, absent indicators) are 0.
  std::vector<float> dense() const;
};

/// Which columns are features: `explicit_columns` if non-empty, otherwise
/// every column except `label` and `exclude` (and prediction columns "pred_*").
PIPECTL_API std::vector<std::string> feature_columns(const Table& t, const std::string& label,
                                                     const std::vector<std::string>& explicit_columns,
                                                     const std::vector<std::string>& exclude);

/// Build CSR for `rows` of `t` (all rows when `rows` is empty and `all_rows`).
/// Numeric values are stored explicitly (zeros included); NULL / NaN numeric
/// entries are left out (missing). Indicators store 1 for present categories.
PIPECTL_API FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns,
                                         const std::vector<std::uint32_t>& rows);
PIPECTL_API FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns);

/// Table meta that marks a categorical column as a native categorical
/// feature: "native_categorical.<column>" = "1" (set by category_map's
/// `native`). A trainer that splits categories natively (XGBoost) gives such
/// a column one feature holding its code; the others one-hot it.
PIPECTL_API std::string native_categorical_key(const std::string& column);
/// The same as build_features, but each column of `native` (categorical)
/// becomes one feature named after the column, holding its dictionary code
/// (NULL = missing), marked in FeatureMatrix::categorical.
PIPECTL_API FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns,
                                         const std::vector<std::uint32_t>& rows,
                                         const std::vector<std::string>& native);

/// The label as class indices 0..k-1 plus class names: Int64 0/1 (binary,
/// names "0","1" unless `names` meta given) or Categorical (its dictionary;
/// binary when two classes). Throws DataError on NULL labels in `rows`.
struct PIPECTL_API LabelVector {
  std::vector<float> y;              ///< class index per selected row
  std::vector<std::string> classes;  ///< class names, index = class id
};
PIPECTL_API LabelVector label_vector(const Table& t, const std::string& label,
                                     const std::vector<std::uint32_t>& rows);
/// Class names of the label column over the whole table.
PIPECTL_API std::vector<std::string> label_classes(const Table& t, const std::string& label);
/// The names of an int64 label's k classes 0..k-1: the table's
/// "label_names.<label>" meta ("no,yes") when it names k of them, else "0".."k-1".
PIPECTL_API std::vector<std::string> int_label_names(const Table& t, const std::string& label, std::size_t k);

/// Names of the probability columns a trainer writes: binary -> {"pred_proba"};
/// multiclass -> {"pred_proba.<class>"…}. Predicted class goes in "pred_label".
PIPECTL_API std::vector<std::string> proba_columns(const std::vector<std::string>& classes);

/// Append the prediction columns (pred_proba…, pred_label) for all rows.
/// `proba` is row-major rows x (classes.size()==2 ? 1 : classes.size()).
PIPECTL_API Table with_predictions(const Table& t, const std::vector<std::string>& classes,
                                   const std::vector<float>& proba, const std::string& model_id);
/// The same for the table rows `rows` only (`proba` row-major over them):
/// the other rows' prediction columns are NULL, and the table's meta
/// "predicted_rows" says "<rows.size()> of <t.rows()>".
PIPECTL_API Table with_predictions(const Table& t, const std::vector<std::string>& classes,
                                   const std::vector<float>& proba, const std::string& model_id,
                                   const std::vector<std::uint32_t>& rows);

/// The rows a trainer predicts after its fit: those of the roles its
/// consumers read (StageContext::consumer_roles()). `all` when they read every
/// role or the table has no roles (then `rows` is empty: predict every row).
/// Otherwise the rows left out are counted per role
/// ("not_predicted.role.<role>") and said in one info line starting with
/// `plugin`; with_predictions(…, rows) leaves their predictions NULL.
struct PIPECTL_API PredictedRows {
  bool all = true;
  std::vector<std::uint32_t> rows;
};
PIPECTL_API PredictedRows rows_to_predict(StageContext& ctx, const Table& t, const std::string& plugin);

}  // namespace pipectl
