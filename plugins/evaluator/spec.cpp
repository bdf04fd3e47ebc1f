#include "evaluator.hpp"

namespace pipectl::eval {

PluginSpec evaluator_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = -1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::Combined;  // figures of the union of every worker's test rows
  s.param("label", &EvaluatorOptions::label, "true label column (int64 class index or categorical)").def("is_iot");
  s.param("threshold", &EvaluatorOptions::threshold,
          "binary: a row is predicted positive (class index 1) when pred_proba >= threshold")
      .def(0.5)
      .range(0, 1);
  s.param("curves", &EvaluatorOptions::curves,
          "write <model>/curves.json: ROC and precision-recall points (at most 200 each; one-vs-rest per class "
          "for multiclass) and, binary on one process, <model>/scores.csv: the scored test rows (row,group,y,p) "
          "for the compare report's paired test")
      .def(true);
  s.param("predictions", &EvaluatorOptions::predictions,
          "write <model>/test_predictions.csv: sessionid (if present), label, pred_label and the probability "
          "columns (%.17g) of the evaluated rows")
      .def(true);
  s.param("group", &EvaluatorOptions::group,
          "binary: column of each row's group (a device key, e.g. mac): roc_auc_ci is then a bootstrap over groups, "
          "and the figures are also given per device (mean log-odds of its rows), with the verdict threshold chosen "
          "on the validation devices (device_threshold, used by `pipectl predict --by device`); \"\" = none "
          "(roc_auc_ci by DeLong)")
      .def("");
  s.param("ci_resamples", &EvaluatorOptions::ci_resamples, "bootstrap draws of the groups for roc_auc_ci when `group` is set")
      .def(1000)
      .range(20, 100000);
  s.param("ci_min_groups", &EvaluatorOptions::ci_min_groups,
          "with `group`: the fewest test groups of each class (groups with a positive row, groups with a negative "
          "row) a bootstrap interval is given for; with fewer, roc_auc_ci is null and roc_auc_ci_note says why "
          "(resampling 3 devices gives an interval far narrower than the uncertainty)")
      .def(5)
      .at_least(2);
  // In a fit it scores the test rows: a trainer before it need not predict the training rows.
  s.reads_roles = {"valid", "test"};
  // The figures `pipectl runs` and compare show (metrics.json holds more).
  s.metric("roc_auc", "area under the ROC curve on the test rows (multiclass: the macro average, one class against the rest)", true, true);
  s.metric("pr_auc", "area under the precision-recall curve (multiclass: the macro average)");
  s.metric("f1", "F1 of the positive class (binary) or macro F1 (multiclass)");
  s.metric("accuracy", "share of test rows whose pred_label is the label");
  s.metric("log_loss", "mean negative log-likelihood of the label", false);
  s.schema_doc = "needs `label` (int64 or categorical), pred_label and `group` (if set) in every input; gives its first input";
  s.schema = [](SchemaContext& c) {
    const std::string label = c.params().str("label");
    const std::string group = c.params().has("group") ? c.params().str("group") : "";
    for (const auto& in : c.inputs()) {
      c.need("label", label, {DType::Int64, DType::Categorical}, &in);
      if (!group.empty()) c.need("group", group, {DType::Int64, DType::Categorical}, &in);
      if (in.known && !in.find("pred_label"))
        c.error("", "needs the predictions of a trainer (column \"pred_label\"), which its inputs do not provide");
    }
    return c.inputs().empty() ? Schema{} : c.inputs()[0];
  };
  return s;
}

}  // namespace pipectl::eval
