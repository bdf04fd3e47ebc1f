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
  s.schema_doc = "needs `label` (int64 or categorical) and pred_label in every input; gives its first input";
  s.schema = [](SchemaContext& c) {
    const std::string label = c.params().str("label");
    for (const auto& in : c.inputs()) {
      c.need("label", label, {DType::Int64, DType::Categorical}, &in);
      if (in.known && !in.find("pred_label"))
        c.error("", "needs the predictions of a trainer (column \"pred_label\"), which its inputs do not provide");
    }
    return c.inputs().empty() ? Schema{} : c.inputs()[0];
  };
  return s;
}

}  // namespace pipectl::eval
