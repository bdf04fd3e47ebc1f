// The liblinear trainer stage (Debian liblinear 2.3: L2-regularised logistic
// regression or linear SVM).
//
// Fit: builds the CSR design matrix of the labelled Train rows, divides every
// numeric feature by its max |value| over those rows (`scale`), hands
// liblinear the sparse rows directly (one feature_node array per row, 1-based
// indices, a bias node when bias >= 0, -1 terminator), trains, and predicts
// every row. Probabilities: logistic regression -> liblinear's
// predict_probability; linear SVM, binary -> Platt scaling (a 1-D L2R_LR fit
// with liblinear on the Valid rows' decision values plus a bias);
// linear SVM, multiclass -> softmax of the one-vs-rest decision values.
// Apply: loads model.txt + scaling + Platt coefficients and predicts only.
#pragma once

#include <pipectl/features.hpp>
#include <pipectl/plugin.hpp>
#include <pipectl/trainer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

struct model;  // liblinear's

namespace pipectl::lin {

/// The plugin's parameter declarations and contract.
PluginSpec liblinear_spec();

/// Divisor per feature: max |value| over the rows of `m` for numeric
/// features (1 when that is 0 or the feature never occurs), 1 for indicators.
std::vector<double> max_abs_divisors(const FeatureMatrix& m, const std::vector<bool>& numeric);

/// Softmax of `v` in place (max-subtracted, so large values do not overflow).
void softmax(std::vector<double>& v);

/// 1 / (1 + exp(-(a * d + b))).
double platt_probability(double a, double b, double d);

struct ModelDeleter {
  void operator()(model* m) const noexcept;
};
using ModelPtr = std::unique_ptr<model, ModelDeleter>;

/// liblinear's parameters (bound in liblinear_spec, filled by the host).
struct LiblinearOptions : TrainerOptions {
  std::string model;
  double c = 1.0;
  double eps = 0.01;
  double bias = 1.0;
  std::string class_weight;
  bool scale = true;
};

class LiblinearTrainer : public Stage {
 public:
  using Options = LiblinearOptions;
  explicit LiblinearTrainer(const Options& o);
  ~LiblinearTrainer() override;

  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;
  /// weight x (scaled) value per feature, the intercept as the bias. Binary:
  /// the log-odds of pred_proba — logistic regression's decision value, or
  /// for the linear SVM Platt's a * decision + b with a folded into every
  /// weight and a * intercept + b as the bias. Multiclass: each class's
  /// one-vs-rest decision value.
  Explanation explain(const Table& input, const std::vector<std::uint32_t>& rows, int threads) const override;

  // Fitted / loaded state, for tests.
  const std::vector<std::string>& classes() const { return classes_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<double>& divisors() const { return divisors_; }
  bool has_platt() const { return has_platt_; }
  double platt_a() const { return platt_a_; }
  double platt_b() const { return platt_b_; }

 private:
  Table fit(StageContext& ctx, const Table& t);
  Table apply(StageContext& ctx, const Table& t);
  /// Probabilities (row-major, 1 column when binary) of every row of `t`.
  /// Predict the rows of `m`: every row of `t`, or (`rows` given) those
  /// rows of `t` only, the others' predictions left NULL.
  Table predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m,
                    const std::vector<std::uint32_t>* rows = nullptr);
  /// Score of class 1 (binary) from liblinear's decision values.
  double binary_decision(const double* dec) const;

  // Parameters.
  std::string label_;
  std::vector<std::string> features_param_, exclude_;
  std::string model_type_;  ///< "logistic_regression" | "linear_svm"
  double c_, eps_, bias_;
  std::string class_weight_;
  bool scale_;

  // State.
  ModelPtr model_;
  std::vector<std::string> classes_;
  std::vector<std::string> columns_;
  std::vector<std::string> feature_names_;
  std::vector<double> divisors_;  ///< empty when scale = false
  std::vector<int> model_labels_;  ///< liblinear's label order (class indices)
  bool has_platt_ = false;
  double platt_a_ = 0.0, platt_b_ = 0.0;
  std::string platt_source_;
};

}  // namespace pipectl::lin
