#include "xgboost.hpp"

#include <pipectl/trainer.hpp>

namespace pipectl::xgb {

PluginSpec xgboost_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  s.explains = true;  // exact TreeSHAP
  s.distributed = PluginSpec::Distributed::Combined;  // one model over the shards, through XGBoost's Rabit
  declare_trainer_params(s);
  s.param("mode", ParamType::String,
          "\"boosted\": gradient-boosted trees; \"forest\": XGBoost random forest (num_parallel_tree = "
          "forest_trees, one round, eta 1, subsample 0.8, colsample_bynode 0.8)")
      .def("boosted")
      .one_of({"boosted", "forest"});
  s.param("num_round", ParamType::Int, "boosting rounds (boosted mode)").def(300).at_least(1);
  s.param("early_stopping_rounds", ParamType::Int,
          "stop when the Valid-split metric has not improved for this many rounds; 0 = off")
      .def(20)
      .at_least(0);
  s.param("eta", ParamType::Float, "learning rate, in (0, 1]").def(0.1).range_open_low(0, 1);
  s.param("max_depth", ParamType::Int, "maximum tree depth").def(6).range(0, 64);
  s.param("min_child_weight", ParamType::Float, "minimum hessian sum in a leaf").def(1.0).at_least(0);
  s.param("subsample", ParamType::Float, "row subsampling per tree, in (0, 1] (boosted mode)").def(1.0).range_open_low(0, 1);
  s.param("colsample_bytree", ParamType::Float, "column subsampling per tree, in (0, 1]").def(1.0).range_open_low(0, 1);
  s.param("lambda", ParamType::Float, "L2 regularisation of leaf weights").def(1.0).at_least(0);
  s.param("alpha", ParamType::Float, "L1 regularisation of leaf weights").def(0.0).at_least(0);
  s.param("tree_method", ParamType::String,
          "tree construction algorithm (on several workers \"hist\" or \"approx\"; \"approx\" when some "
          "workers have no training rows)")
      .def("hist")
      .one_of({"hist", "approx", "exact"});
  s.param("max_bin", ParamType::Int, "histogram bins per feature (hist / approx)").def(256).range(2, 65536);
  s.param("max_cat_to_onehot", ParamType::Int,
          "native categorical features (category_map's native = true): one with fewer categories than this is "
          "split one category against the rest, the others by partitioning the categories")
      .def(4)
      .range(1, 65536);
  s.param("forest_trees", ParamType::Int, "trees of the forest (forest mode)").def(100).range(1, 100000);
  s.param("nthread", ParamType::Int,
          "XGBoost threads; 0 = hardware concurrency (independent of the runner's --jobs)")
      .def(0)
      .range(0, 1024);
  s.param("seed", ParamType::Int, "XGBoost seed; -1 = the stage seed (low 31 bits)")
      .def(-1)
      .range(-1, 2147483647);
  s.param("params", ParamType::Table,
          "extra XGBoost parameters passed through verbatim, e.g. { scale_pos_weight = 2 }; keys that have "
          "their own parameter here (eta, seed, objective…) are refused")
      .def(json::object());
  // In a fit it predicts only the rows its consumers read (StageContext::
  // consumer_roles): the others' pred_label and pred_proba are NULL.
  s.schema = partial_trainer_schema;
  s.schema_doc = kPartialTrainerSchemaDoc;
  return s;
}

}  // namespace pipectl::xgb
