// Example trainer: nearest centroid. Each class is the mean of its training
// rows' features; a row's probabilities are a softmax over minus its squared
// distances to the centroids (scaled by `temperature`). Declared like every
// trainer (pipectl/trainer.hpp): label, features, exclude, a split; its
// schema gives pred_label and pred_proba…, so the evaluator, `pipectl
// compare` and `pipectl predict` use it as they use any trainer.
#pragma once

#include <pipectl/plugin.hpp>
#include <pipectl/trainer.hpp>

namespace centroid_example {

/// The parameters, bound in centroid_spec and filled by the host.
struct CentroidOptions : pipectl::TrainerOptions {
  double temperature = 1.0;
};

pipectl::PluginSpec centroid_spec();

class Centroid : public pipectl::Stage {
 public:
  using Options = CentroidOptions;
  explicit Centroid(const Options& o);
  pipectl::Table run(pipectl::StageContext& ctx, const std::vector<pipectl::TablePtr>& inputs) override;
  pipectl::json save_state(const std::filesystem::path& dir) const override;
  void load_state(const pipectl::json& state, const std::filesystem::path& dir) override;

 private:
  std::string label_;
  std::vector<std::string> features_, exclude_;
  double temperature_;
  // Fitted.
  std::vector<std::string> classes_, columns_, feature_names_;
  std::vector<std::vector<double>> centroids_;  ///< per class, per feature
};

}  // namespace centroid_example
