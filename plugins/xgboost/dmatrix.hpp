// XGBoost matrices from a FeatureMatrix, shared by the trainer stage and
// bench/floor_xgb (so that the floor trains on the very matrices the stage
// builds).
//
// make_dmatrix: a DMatrix (XGBoost's copy of the CSR values), what exact and
// approx train on and what every prediction reads.
// make_quantile_dmatrix: the matrix hist trains on, built once from the CSR
// arrays through XGBoost 1.7's QuantileDMatrix (XGQuantileDMatrixCreateFromCallback
// over a proxy DMatrix): the feature quantiles are sketched and each entry is
// kept as its histogram bin only, with no copy of the values. Only for
// training: XGBoost 1.7 evaluates a QuantileDMatrix row by row through a
// search of its bins (GHistIndexMatrix::GetFvalue) for every feature, which
// made evaluating a valid QuantileDMatrix 20x slower than a DMatrix's each
// round (bench/RESULTS.md), so the trainer keeps a DMatrix for the valid rows.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/features.hpp>

#include <xgboost/c_api.h>

#include <memory>
#include <string>
#include <vector>

// Every XGBoost call goes through this: a non-zero return becomes a
// pipectl::Error naming the call and carrying XGBoost's own message.
#define XGB_CALL(fn, ...)                                                                          \
  do {                                                                                             \
    if (fn(__VA_ARGS__) != 0)                                                                      \
      throw ::pipectl::Error(std::string("xgboost: " #fn " failed: ") + ::XGBGetLastError());      \
  } while (0)

namespace pipectl::xgb {

struct DMatrixDeleter {
  void operator()(void* h) const noexcept {
    if (h) XGDMatrixFree(h);
  }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixDeleter>;

/// A DMatrix of `m` (a copy of its values), with the labels (when given), the
/// feature names and the feature types ("c" for native categorical ones).
DMatrixPtr make_dmatrix(const FeatureMatrix& m, const std::vector<std::string>& xgb_names,
                        const std::vector<float>* labels);

/// A QuantileDMatrix of `m` for tree_method "hist": the same names, types and
/// labels; `max_bin` must be the booster's; `ref` (a QuantileDMatrix, or
/// null) gives the cuts of another matrix. XGBoost reads `m`'s arrays during
/// the call only.
DMatrixPtr make_quantile_dmatrix(const FeatureMatrix& m, const std::vector<std::string>& xgb_names,
                                 const std::vector<float>* labels, DMatrixHandle ref, int max_bin, int nthread);

}  // namespace pipectl::xgb
