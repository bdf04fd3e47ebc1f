// The MLP trainer stage: a small fully connected network, OpenCV's
// cv::ml::ANN_MLP (Debian libopencv-ml 4.6).
//
// Fit: builds the dense input matrix of the labelled Train rows straight from
// the CSR design matrix — numeric features standardised with the Train rows'
// mean and standard deviation (missing -> 0, i.e. the mean), indicators 0/1 —
// one-hot targets in the activation's range (sigmoid_sym: -1/+1, relu /
// leakyrelu: 0/1), initialises the weights itself from the seed, trains,
// and predicts every row. Class balance by replicating rows (see
// balance_factors). Probabilities: every output rescaled from the target
// range to [0, 1] and clipped, then normalised to sum to 1 over the classes.
// Apply: loads model.yml + the standardisation and predicts only.
#pragma once

#include <pipectl/features.hpp>
#include <pipectl/plugin.hpp>
#include <pipectl/trainer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cv::ml {
class ANN_MLP;
}

namespace pipectl::mlp {

/// The plugin's parameter declarations and contract.
PluginSpec mlp_spec();

/// "32,16" -> {32, 16}; "" -> {} (no hidden layer). Each size must be an
/// integer in [2, 4096] (OpenCV needs more than one neuron per hidden layer);
/// throws pipectl::Error naming the parameter and the offending text.
std::vector<int> parse_hidden(const std::string& text);

/// Mean and standard deviation per feature over the rows of `m`: numeric
/// features over their present values (std 1 when it is 0 or the feature is
/// never present); indicators get mean 0, std 1 (left as 0/1).
void standardisation(const FeatureMatrix& m, const std::vector<bool>& numeric, std::vector<double>& mean,
                     std::vector<double>& std);

/// Dense row-major float input (rows x cols): (value - mean) / std for every
/// stored entry, 0 elsewhere (absent numeric value = the mean).
std::vector<float> dense_inputs(const FeatureMatrix& m, const std::vector<double>& mean,
                                const std::vector<double>& std);

/// How many copies of each row of class k the balanced training set holds:
/// round(largest class count / count_k), at least 1 (0 for absent classes).
std::vector<int> balance_factors(const std::vector<std::size_t>& per_class);

/// Network outputs (rows x k) -> probabilities (rows x k): each output mapped
/// from [lo, hi] to [0, 1] and clipped, then divided by the row's sum (a row
/// of zeros becomes uniform).
std::vector<double> outputs_to_proba(const float* out, std::size_t rows, std::size_t k, double lo, double hi);

/// The MLP's parameters (bound in mlp_spec, filled by the host).
struct MlpOptions : TrainerOptions {
  std::string hidden;  ///< comma-separated layer sizes (checked by the schema rule)
  std::string activation, train_method;
  std::int64_t max_iter = 300;
  double epsilon = 1e-4;
  double learning_rate = 0.001;
  std::int64_t seed = -1;
  bool balance = true;
};

class MlpTrainer : public Stage {
 public:
  using Options = MlpOptions;
  explicit MlpTrainer(const Options& o);
  ~MlpTrainer() override;

  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

  // Fitted / loaded state, for tests.
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }
  const std::vector<int>& layers() const { return layers_; }

 private:
  Table fit(StageContext& ctx, const Table& t);
  Table apply(StageContext& ctx, const Table& t);
  /// Predict the rows of `m`: every row of `t`, or (`rows` given) those
  /// rows of `t` only, the others' predictions left NULL.
  Table predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m,
                    const std::vector<std::uint32_t>* rows = nullptr);
  /// Target values of "not this class" / "this class" for the activation.
  std::pair<double, double> target_range() const;

  // Parameters.
  std::string label_;
  std::vector<std::string> features_param_, exclude_;
  std::vector<int> hidden_;
  std::string activation_, train_method_;
  std::int64_t max_iter_, seed_;
  double epsilon_, learning_rate_;
  bool balance_;

  // State.
  std::shared_ptr<cv::ml::ANN_MLP> net_;
  std::vector<std::string> classes_;
  std::vector<std::string> columns_;
  std::vector<std::string> feature_names_;
  std::vector<double> mean_, std_;
  std::vector<int> layers_;
  std::uint64_t used_seed_ = 0;
};

}  // namespace pipectl::mlp
