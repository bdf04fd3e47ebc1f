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
  declare_trainer_params<XGBoostOptions>(s);
  s.param("mode", &XGBoostOptions::mode,
          "\"boosted\": gradient-boosted trees; \"forest\": XGBoost random forest (num_parallel_tree = "
          "forest_trees, one round, eta 1, subsample 0.8, colsample_bynode 0.8)")
      .def("boosted")
      .one_of({"boosted", "forest"});
  s.param("num_round", &XGBoostOptions::num_round, "boosting rounds (boosted mode)").def(300).at_least(1);
  s.param("early_stopping_rounds", &XGBoostOptions::early_stopping_rounds,
          "stop when the Valid-split metric has not improved for this many rounds; 0 = off")
      .def(20)
      .at_least(0);
  s.param("eta", &XGBoostOptions::eta, "learning rate, in (0, 1]").def(0.1).range_open_low(0, 1);
  s.param("max_depth", &XGBoostOptions::max_depth, "maximum tree depth").def(6).range(0, 64);
  s.param("min_child_weight", &XGBoostOptions::min_child_weight, "minimum hessian sum in a leaf").def(1.0).at_least(0);
  s.param("subsample", &XGBoostOptions::subsample, "row subsampling per tree, in (0, 1] (boosted mode)").def(1.0).range_open_low(0, 1);
  s.param("colsample_bytree", &XGBoostOptions::colsample_bytree, "column subsampling per tree, in (0, 1]").def(1.0).range_open_low(0, 1);
  s.param("lambda", &XGBoostOptions::lambda, "L2 regularisation of leaf weights").def(1.0).at_least(0);
  s.param("alpha", &XGBoostOptions::alpha, "L1 regularisation of leaf weights").def(0.0).at_least(0);
  s.param("tree_method", &XGBoostOptions::tree_method,
          "tree construction algorithm (on several workers \"hist\" or \"approx\"; \"approx\" when some "
          "workers have no training rows)")
      .def("hist")
      .one_of({"hist", "approx", "exact"});
  s.param("max_bin", &XGBoostOptions::max_bin, "histogram bins per feature (hist / approx)").def(256).range(2, 65536);
  s.param("max_cat_to_onehot", &XGBoostOptions::max_cat_to_onehot,
          "native categorical features (category_map's native = true): one with fewer categories than this is "
          "split one category against the rest, the others by partitioning the categories")
      .def(4)
      .range(1, 65536);
  s.param("forest_trees", &XGBoostOptions::forest_trees, "trees of the forest (forest mode)").def(100).range(1, 100000);
  s.param("nthread", &XGBoostOptions::nthread,
          "XGBoost threads; 0 = hardware concurrency (independent of the runner's --jobs)")
      .def(0)
      .range(0, 1024);
  s.param("seed", &XGBoostOptions::seed, "XGBoost seed; -1 = the stage seed (low 31 bits)")
      .def(-1)
      .range(-1, 2147483647);
  s.param("params", &XGBoostOptions::params,
          "extra XGBoost parameters passed through verbatim, e.g. { scale_pos_weight = 2 }; keys that have "
          "their own parameter here (eta, seed, objective…) are refused")
      .def(json::object());
  // In a fit it predicts only the rows its consumers read (StageContext::
  // consumer_roles): the others' pred_label and pred_proba are NULL.
  s.schema = [](SchemaContext& c) {
    if (auto m = extra_params_problem(c.params().raw("params")); !m.empty()) c.error("params", m);
    return partial_trainer_schema(c);
  };
  s.schema_doc = kPartialTrainerSchemaDoc;
  return s;
}

}  // namespace pipectl::xgb
