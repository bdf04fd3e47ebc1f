#include "centroid.hpp"

#include <pipectl/error.hpp>
#include <pipectl/features.hpp>

#include <chrono>
#include <cmath>
#include <fstream>

using namespace pipectl;

namespace centroid_example {

PluginSpec centroid_spec() {
  PluginSpec s;
  s.learns = true;
  s.distributed = PluginSpec::Distributed::No;
  declare_trainer_params<CentroidOptions>(s);
  s.param("temperature", &CentroidOptions::temperature, "softmax temperature over squared distances, > 0").def(1.0).above(0);
  s.schema = trainer_schema;
  s.schema_doc = kTrainerSchemaDoc;
  return s;
}

Centroid::Centroid(const Options& o)
    : label_(o.label), features_(o.features), exclude_(o.exclude), temperature_(o.temperature) {}

namespace {
/// Probabilities of each row of `m` (row-major rows x k, or rows x 1 for two classes).
std::vector<float> predict(const FeatureMatrix& m, const std::vector<std::vector<double>>& c, double temperature) {
  const std::size_t k = c.size();
  std::vector<float> out;
  out.reserve(m.rows * (k == 2 ? 1 : k));
  std::vector<double> x(m.cols), d(k);
  for (std::size_t r = 0; r < m.rows; ++r) {
    std::fill(x.begin(), x.end(), 0.0);
    for (auto e = m.indptr[r]; e < m.indptr[r + 1]; ++e) x[m.indices[e]] = m.values[e];
    double best = 1e300;
    for (std::size_t j = 0; j < k; ++j) {
      double s = 0;
      for (std::size_t f = 0; f < m.cols; ++f) s += (x[f] - c[j][f]) * (x[f] - c[j][f]);
      d[j] = s / temperature;
      best = std::min(best, d[j]);
    }
    double z = 0;
    for (std::size_t j = 0; j < k; ++j) z += std::exp(best - d[j]);
    if (k == 2) {
      out.push_back(static_cast<float>(std::exp(best - d[1]) / z));
    } else {
      for (std::size_t j = 0; j < k; ++j) out.push_back(static_cast<float>(std::exp(best - d[j]) / z));
    }
  }
  return out;
}
}  // namespace

Table Centroid::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  const Table& t = *inputs.at(0);
  if (ctx.mode() == Mode::Fit) {
    TrainingSet set = prepare_training(ctx, t, label_, features_, exclude_, "centroid", false);
    classes_ = set.classes;
    columns_ = set.columns;
    feature_names_ = set.x_train.names;
    const FeatureMatrix& m = set.x_train;
    centroids_.assign(classes_.size(), std::vector<double>(m.cols, 0.0));
    std::vector<double> n(classes_.size(), 0.0);
    for (std::size_t r = 0; r < m.rows; ++r) {
      const auto y = static_cast<std::size_t>(set.y_train.y[r]);
      n[y] += 1;
      for (auto e = m.indptr[r]; e < m.indptr[r + 1]; ++e) centroids_[y][m.indices[e]] += m.values[e];
    }
    for (std::size_t j = 0; j < classes_.size(); ++j)
      for (auto& v : centroids_[j]) v = n[j] > 0 ? v / n[j] : 0.0;
    ctx.measure("train_seconds",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - set.started).count());
  }
  const auto t0 = std::chrono::steady_clock::now();
  const FeatureMatrix m = build_features(t, columns_);
  check_feature_names(feature_names_, m.names, "centroid");
  auto proba = predict(m, centroids_, temperature_);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.measure("predict_rows_per_second", secs > 0 ? static_cast<double>(m.rows) / secs : 0.0);
  return with_predictions(t, classes_, proba, ctx.stage_id());
}

json Centroid::save_state(const std::filesystem::path& dir) const {
  json model = {{"classes", classes_}, {"centroids", centroids_}};
  std::ofstream(dir / "centroids.json") << model.dump();
  return {{"model", "centroids.json"}, {"label", label_}, {"columns", columns_}, {"features", feature_names_}};
}

void Centroid::load_state(const json& state, const std::filesystem::path& dir) {
  std::ifstream in(dir / state.at("model").get<std::string>());
  if (!in) throw Error("centroid: cannot read " + (dir / state.at("model").get<std::string>()).string());
  const json model = json::parse(in);
  classes_ = model.at("classes").get<std::vector<std::string>>();
  centroids_ = model.at("centroids").get<std::vector<std::vector<double>>>();
  columns_ = state.at("columns").get<std::vector<std::string>>();
  feature_names_ = state.at("features").get<std::vector<std::string>>();
}

}  // namespace centroid_example
