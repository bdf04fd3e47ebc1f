#include "xgboost.hpp"

PIPECTL_PLUGIN(xgboost, "trainer", "1.0.0",
               "XGBoost gradient-boosted trees or random forest (binary / multiclass), early stopping on the valid split",
               pipectl::xgb::xgboost_spec, pipectl::xgb::XGBoostTrainer)
