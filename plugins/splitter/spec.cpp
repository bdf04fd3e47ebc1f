#include "splitter.hpp"

namespace pipectl::plugins {

PluginSpec splitter_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;
  // Fitting nothing, it needs no statistics from other shards; with method =
  // "hash" a row's split depends on the row alone, and its counters are
  // summed over the workers. "shuffle" refuses to run on several workers.
  s.distributed = PluginSpec::Distributed::Combined;
  s.param("train", &SplitterOptions::train, "fraction of rows for training").def(0.70).range(0, 1);
  s.param("valid", &SplitterOptions::valid, "fraction of rows for validation").def(0.15).range(0, 1);
  s.param("test", &SplitterOptions::test, "fraction of rows for testing (train + valid + test = 1)")
      .def(0.15)
      .range(0, 1);
  s.param("stratify", &SplitterOptions::stratify,
          "categorical or int64 column whose classes keep their proportions in every split (\"\" = none)")
      .def("is_iot");
  s.param("group", &SplitterOptions::group,
          "categorical or int64 column (e.g. a device or capture file) whose groups never span two splits "
          "(\"\" = none)")
      .def("");
  s.param("seed", &SplitterOptions::seed, "shuffle / hash seed; -1 = the stage's seed derived from the pipeline seed")
      .def(-1)
      .at_least(-1);
  s.param("method", &SplitterOptions::method,
          "shuffle: shuffle each stratum and cut it by the fractions (exact shares, one process only); "
          "hash: each row's split from a hash of its key (or group) and the seed, independent of row order "
          "and of the number of workers (shares exact in expectation); groups: whole groups of `group`, stratified "
          "by each group's majority class as closely as whole groups allow, each group placed by a hash of its value "
          "and the seed after gathering every worker's groups (the same split on any number of workers)")
      .def("shuffle")
      .one_of({"shuffle", "hash", "groups"});
  s.param("folds", &SplitterOptions::folds,
          "method = groups: K >= 2 deals the groups into K folds (stratified, the same on any number of workers); "
          "fold `fold` is the test part, fold (fold + 1) % K the validation part, the rest training (train / valid "
          "/ test fractions are then unused); 0 = no folds. Sweep `--set split.fold=0,1,...,K-1` for a grouped "
          "k-fold cross-validation: the stages upstream of the split run once")
      .def(0)
      .range(0, 1000);
  s.param("fold", &SplitterOptions::fold, "with folds: which fold is the test part (0 .. folds - 1)").def(0).at_least(0);
  s.param("key", &SplitterOptions::key,
          "method = hash: int64 or categorical columns hashed to place a row (categorical by label)")
      .def(json::array({"sessionid"}));
  s.schema_doc = "needs `stratify`, `group` and (method hash) `key`; gives its input with the train/valid/test split";
  s.schema = [](SchemaContext& c) {
    const auto cfg = SplitterConfig::from(bind_options<SplitterOptions>(splitter_spec(), c.params()));
    const auto problems = cfg.problems();
    for (const auto& [param, message] : problems) c.error(param, message);
    return problems.empty() ? cfg.schema(c) : c.input();
  };
  return s;
}

}  // namespace pipectl::plugins
