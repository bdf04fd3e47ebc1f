#include "cleaner.hpp"

namespace pipectl::plugins {

PluginSpec cleaner_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  // Rows are cleaned by each worker on its own shard (counters per worker);
  // the label's classes are checked and coded over every worker.
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("duration_from", &CleanerOptions::duration_from,
          "two numeric columns [start, end]; the stage adds |end - start| as `duration` "
          "(an empty list adds no duration)")
      .def(json::array({"starttime", "endtime"}));
  s.param("duration", &CleanerOptions::duration, "name of the float64 duration column it adds").def("duration");
  s.param("label", &CleanerOptions::label, "name of the label column it makes").def("is_iot");
  s.param("label_from", &CleanerOptions::label_from,
          "categorical column the label is derived from (NULL = unlabelled); removed unless it is the label")
      .def("device_type");
  s.param("label_kind", &CleanerOptions::label_kind,
          "binary: int64 1 when label_from != negative, else 0 (classes \"no,yes\"); "
          "multiclass: a categorical copy of label_from with a sorted dictionary")
      .def("binary")
      .one_of({"binary", "multiclass"});
  s.param("negative", &CleanerOptions::negative, "the label_from value that is the negative class (binary labels)")
      .def("Other");
  s.param("positive", &CleanerOptions::positive,
          "binary labels: the label_from value that is the positive class (1), every other value 0; the classes "
          "are then \"not <positive>\" and \"<positive>\" (\"\" = every value but `negative` is positive, "
          "classes \"no\" and \"yes\")")
      .def("");
  s.param("keep_unlabelled", &CleanerOptions::keep_unlabelled,
          "keep rows whose label_from is NULL (with a NULL label) instead of dropping them, "
          "e.g. to apply a model to unlabelled sessions")
      .def(false);
  s.param("required", &CleanerOptions::required,
          "rows with NULL in any of these columns are dropped (label_from is always required "
          "unless keep_unlabelled)")
      .def(json::array({"srcport", "dstport", "bytes", "packets", "duration"}));
  s.param("non_negative", &CleanerOptions::non_negative, "numeric columns whose negative values drop the row")
      .def(json::array({"bytes", "packets"}));
  s.param("ports", &CleanerOptions::ports, "numeric columns whose values outside 0-65535 drop the row")
      .def(json::array({"srcport", "dstport"}));
  s.param("drop", &CleanerOptions::drop, "columns removed from the output")
      .def(json::array({"starttime", "endtime"}));
  s.schema_doc = "needs every column its parameters name (those of parameters left at their NetCollector "
                 "defaults only where the data has them); gives its input less `drop` and label_from, plus "
                 "`duration` (float64) and `label` (int64 binary or categorical multiclass, role label)";
  s.schema = [](SchemaContext& c) {
    const auto cfg = CleanerConfig::from(bind_options<CleanerOptions>(cleaner_spec(), c.params()));
    const auto problems = cfg.problems();
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? cfg.schema(c) : c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
