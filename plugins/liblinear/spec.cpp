#include "liblinear.hpp"

#include <pipectl/trainer.hpp>

namespace pipectl::lin {

PluginSpec liblinear_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  s.explains = true;  // weight x value
  s.distributed = PluginSpec::Distributed::No;  // fits on one process's rows (no combined fit over shards)
  declare_trainer_params<LiblinearOptions>(s);
  s.param("model", &LiblinearOptions::model,
          "\"logistic_regression\": L2-regularised logistic regression (solver L2R_LR), probabilities from "
          "liblinear's predict_probability; \"linear_svm\": L2-regularised L2-loss linear SVM (solver "
          "L2R_L2LOSS_SVC_DUAL), binary probabilities by Platt scaling (a 1-D logistic regression fitted with "
          "liblinear, L2R_LR on the decision value plus a bias, on the Valid rows; on the Train rows when no "
          "Valid rows hold both classes), multiclass probabilities as the softmax of the one-vs-rest decision "
          "values")
      .def("logistic_regression")
      .one_of({"logistic_regression", "linear_svm"});
  s.param("c", &LiblinearOptions::c, "inverse regularisation strength C, > 0").def(1.0).above(0);
  s.param("eps", &LiblinearOptions::eps, "liblinear's stopping tolerance, > 0").def(0.01).above(0);
  s.param("bias", &LiblinearOptions::bias,
          "value of the bias feature appended to every row (its weight is the intercept, regularised like the "
          "others); negative = no intercept")
      .def(1.0);
  s.param("class_weight", &LiblinearOptions::class_weight,
          "\"none\", or \"balanced\": class k's C is multiplied by n / (classes * n_k) over the training rows")
      .def("none")
      .one_of({"none", "balanced"});
  s.param("scale", &LiblinearOptions::scale,
          "divide every numeric feature by its max |value| over the training rows (kept in the state); "
          "one-hot / multi-hot indicators are already 0/1. Missing numeric values enter as 0")
      .def(true);
  s.schema = partial_trainer_schema;  // in a fit only the rows its consumers read are predicted
  s.schema_doc = kPartialTrainerSchemaDoc;
  return s;
}

}  // namespace pipectl::lin
