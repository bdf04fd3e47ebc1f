#include "profile.hpp"

namespace pipectl::plugins {

PluginSpec profile_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  s.distributed = PluginSpec::Distributed::No;  // its statistics and files describe one process's rows
  s.param("label", &ProfileOptions::label,
          "label column: int64 0/1 or categorical (\"\" = no label: label rates, AUC and MI are omitted)")
      .def("is_iot");
  s.param("positive", &ProfileOptions::positive,
          "categorical label: the class counted as positive, one-vs-rest (\"\" = every class except `negative`)")
      .def("");
  s.param("negative", &ProfileOptions::negative,
          "categorical label with positive = \"\": the class counted as negative (e.g. device_type 'Other')")
      .def("Other");
  s.param("columns", &ProfileOptions::columns,
          "columns to profile ([] = every column except the label, `exclude` and pred_* columns)")
      .def(json::array());
  s.param("exclude", &ProfileOptions::exclude, "columns left out when `columns` is empty")
      .def(json::array({"sessionid"}));
  s.param("k", &ProfileOptions::k, "outlier view: rows above mean + k * std against the rest").def(2.0).range(0, 1000);
  s.param("top", &ProfileOptions::top, "most frequent values / names listed per categorical or multi-valued column")
      .def(10)
      .range(1, 100000);
  s.param("bins", &ProfileOptions::bins, "equal-frequency bins of a numeric column for the mutual information")
      .def(20)
      .range(2, 10000);
  s.param("rows", &ProfileOptions::rows, "profile all rows, or only the training rows (needs a splitter upstream)")
      .def("all")
      .one_of({"all", "train"});
  s.schema_doc = "needs `label` and `columns` (and a split for rows = \"train\"); gives its input unchanged";
  s.schema = [](SchemaContext& c) {
    const auto cfg = ProfileConfig::from(bind_options<ProfileOptions>(profile_spec(), c.params()));
    const auto problems = cfg.problems();
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? cfg.schema(c) : c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
