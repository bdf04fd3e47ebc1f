// Hand-made run folders for the report tests: the files a real run leaves
// (run.json, metrics.json, pipeline.toml, stages/<evaluator>/<model>/curves.json,
// stages/<trainer>/state.json and the model files), with known figures.
#pragma once

#include "support/run_cmd.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace reportfix {

namespace fs = std::filesystem;
using json = nlohmann::json;
using pipectl::testsupport::TempDir;

inline void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << text;
}

/// One model's known figures.
struct Model {
  std::string id, plugin;
  double roc_auc, pr_auc, f1, accuracy, log_loss, precision, recall;
  std::int64_t rows;
  double train_seconds, predict_rows_per_second;
  std::string model_file;
  std::size_t model_bytes;
  std::vector<double> fpr, tpr, recall_pts, precision_pts;
};

inline std::vector<Model> two_models() {
  return {
      {"xgb", "xgboost", 0.9466385817096717, 0.8127965601628302, 0.6410256410256411, 0.9229181004817619,
       0.2387301909636514, 0.9900990099009901, 0.47393364928909953, 1453, 10.171974201, 513148.88399387035,
       "model.json", 35376, {0.0, 0.0, 0.05, 0.2, 1.0}, {0.0, 0.4, 0.8, 0.95, 1.0},
       {0.0, 0.4, 0.8, 0.95, 1.0}, {1.0, 1.0, 0.85, 0.6, 0.145}},
      {"lr", "liblinear", 0.9012345678901234, 0.7012345678901234, 0.6812345678901234, 0.9112345678901234,
       0.2912345678901234, 0.8, 0.6, 1453, 0.25, 912345.5, "model.txt", 5678,
       {0.0, 0.1, 0.3, 1.0}, {0.0, 0.6, 0.85, 1.0}, {0.0, 0.6, 0.85, 1.0}, {1.0, 0.7, 0.5, 0.145}},
  };
}

inline json figures(const Model& m) {
  return {{"rows", m.rows},
          {"accuracy", m.accuracy},
          {"precision", m.precision},
          {"recall", m.recall},
          {"f1", m.f1},
          {"roc_auc", m.roc_auc},
          {"pr_auc", m.pr_auc},
          {"log_loss", m.log_loss},
          {"classes", {"no", "yes"}},
          {"confusion_matrix", {{1241, 1}, {111, 100}}}};
}

inline json curves_doc(const Model& m) {
  json th = json::array();
  th.push_back(nullptr);
  for (std::size_t i = 1; i < m.fpr.size(); ++i) th.push_back(1.0 - static_cast<double>(i) / m.fpr.size());
  json thp = json::array();
  thp.push_back(nullptr);
  for (std::size_t i = 1; i < m.recall_pts.size(); ++i) thp.push_back(1.0 - static_cast<double>(i) / m.recall_pts.size());
  return {{"model", m.id},
          {"classes", {"no", "yes"}},
          {"positive_class", "yes"},
          {"rows", m.rows},
          {"max_points", 200},
          {"curves",
           {{"roc", {{"fpr", m.fpr}, {"tpr", m.tpr}, {"threshold", th}, {"auc", m.roc_auc}}},
            {"pr",
             {{"recall", m.recall_pts},
              {"precision", m.precision_pts},
              {"threshold", thp},
              {"average_precision", m.pr_auc}}}}}};
}

enum class Layout {
  Shared,    ///< one evaluator "evaluate" with every model as input
  PerModel,  ///< one evaluator per model: "eval_<id>"
};

inline std::string toml_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s + "]";
}

/// Write a run folder `dir` for `models` (source -> split -> each trainer -> evaluator(s)).
inline void make_run(const fs::path& dir, const std::vector<Model>& models, Layout layout) {
  fs::create_directories(dir);
  std::string toml =
      "# Resolved pipeline: environment expanded, --set applied, defaults filled.\n"
      "[pipeline]\nname = 'cmp'\nseed = 42\n\n"
      "[[stage]]\nid = 'source'\nplugin = 'sqlite'\ninputs = []\npath = 'demo.sqlite'\n\n"
      "[[stage]]\nid = 'split'\nplugin = 'splitter'\ninputs = [ 'source' ]\n\n";
  json stages = json::array();
  stages.push_back({{"id", "source"}, {"plugin", "sqlite"}, {"kind", "source"}, {"version", "1.0.0"}, {"status", "ok"},
                    {"wall_s", 0.01}, {"rows_in", 0}, {"rows_out", 9688}, {"counters", json::object()},
                    {"measures", {{"seconds", 0.01}}}, {"cached", true}});
  stages.push_back({{"id", "split"}, {"plugin", "splitter"}, {"kind", "splitter"}, {"version", "1.0.0"}, {"status", "ok"},
                    {"wall_s", 0.01}, {"rows_in", 9688}, {"rows_out", 9688}, {"counters", json::object()},
                    {"measures", json::object()}, {"cached", true}});
  json metrics = json::object();
  std::vector<std::string> ids;
  for (const auto& m : models) {
    ids.push_back(m.id);
    toml += "[[stage]]\nid = '" + m.id + "'\nplugin = '" + m.plugin + "'\ninputs = [ 'split' ]\nlabel = 'is_iot'\n\n";
    stages.push_back({{"id", m.id}, {"plugin", m.plugin}, {"kind", "trainer"}, {"version", "1.2.3"}, {"status", "ok"},
                      {"wall_s", m.train_seconds + 0.1}, {"rows_in", 9688}, {"rows_out", 9688},
                      {"counters", json::object()},
                      {"measures",
                       {{"train_seconds", m.train_seconds}, {"predict_rows_per_second", m.predict_rows_per_second}}},
                      {"cached", false}});
    write(dir / "stages" / m.id / "state.json", json{{"model", m.model_file}, {"label", "is_iot"}}.dump(2));
    write(dir / "stages" / m.id / m.model_file, std::string(m.model_bytes, 'm'));
    metrics[m.id] = {{"train_rows", 6781}};  // trainers' own figures live beside the evaluators'
  }
  auto add_eval = [&](const std::string& id, const std::vector<std::string>& inputs) {
    toml += "[[stage]]\nid = '" + id + "'\nplugin = 'evaluator'\ncurves = true\ninputs = " + toml_list(inputs) +
            "\nlabel = 'is_iot'\npredictions = true\nthreshold = 0.5\n\n";
    stages.push_back({{"id", id}, {"plugin", "evaluator"}, {"kind", "evaluator"}, {"version", "1.0.0"}, {"status", "ok"},
                      {"wall_s", 0.01}, {"rows_in", 9688}, {"rows_out", 9688}, {"counters", json::object()},
                      {"measures", json::object()}, {"cached", false}});
  };
  if (layout == Layout::Shared) {
    add_eval("evaluate", ids);
    json e = json::object();
    for (const auto& m : models) {
      e[m.id] = figures(m);
      write(dir / "stages" / "evaluate" / m.id / "curves.json", curves_doc(m).dump(1));
    }
    if (models.size() == 1) e = figures(models[0]);
    metrics["evaluate"] = e;
  } else {
    for (const auto& m : models) {
      add_eval("eval_" + m.id, {m.id});
      metrics["eval_" + m.id] = figures(m);
      write(dir / "stages" / ("eval_" + m.id) / m.id / "curves.json", curves_doc(m).dump(1));
    }
  }
  write(dir / "pipeline.toml", toml);
  json run = {{"pipeline", "cmp"},
              {"pipeline_file", "/somewhere/cmp.toml"},
              {"mode", "fit"},
              {"seed", 42},
              {"started", 1795791624},
              {"duration_s", 12.5},
              {"status", "ok"},
              {"stages", stages},
              {"plugins", json::object()}};
  write(dir / "run.json", run.dump(2));
  write(dir / "metrics.json", metrics.dump(2));
}

inline json read_json(const fs::path& p) { return json::parse(pipectl::testsupport::slurp(p)); }

}  // namespace reportfix
