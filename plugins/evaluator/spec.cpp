#include "evaluator.hpp"

namespace pipectl::eval {

PluginSpec evaluator_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = -1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::Combined;  // figures of the union of every worker's test rows
  s.param("label", ParamType::String, "true label column (int64 class index or categorical)").def("is_iot");
  s.param("threshold", ParamType::Float,
          "binary: a row is predicted positive (class index 1) when pred_proba >= threshold")
      .def(0.5)
      .range(0, 1);
  s.param("curves", ParamType::Bool,
          "write <model>/curves.json: ROC and precision-recall points (at most 200 each; one-vs-rest per class "
          "for multiclass)")
      .def(true);
  s.param("predictions", ParamType::Bool,
          "write <model>/test_predictions.csv: sessionid (if present), label, pred_label and the probability "
          "columns (%.17g) of the evaluated rows")
      .def(true);
  // In a fit it scores the test rows: a trainer before it need not predict the training rows.
  s.reads_roles = {"valid", "test"};
  s.contract = [](const Params& p) {
    Contract c;
    c.needs = {p.str("label"), "pred_label"};
    return c;
  };
  return s;
}

}  // namespace pipectl::eval
