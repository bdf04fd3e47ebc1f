#include "mlp.hpp"

#include <pipectl/error.hpp>
#include <pipectl/trainer.hpp>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/ml.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pipectl::mlp {

namespace {

struct SplitMix64 {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform in [0, n) without modulo bias.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t v;
    do v = next();
    while (v >= limit);
    return v % n;
  }
};

int activation_id(const std::string& a) {
  if (a == "relu") return cv::ml::ANN_MLP::RELU;
  if (a == "leakyrelu") return cv::ml::ANN_MLP::LEAKYRELU;
  return cv::ml::ANN_MLP::SIGMOID_SYM;
}

// Seeded weights, written through getWeights() (which shares the network's
// buffers): hidden layers by Nguyen-Widrow (each neuron's incoming weights
// uniform, rescaled to norm 0.7 * n_out^(1/n_in), bias uniform in ±that),
// the output layer Glorot-uniform with zero bias. Input and output scaling
// are identity: the stage standardises the inputs itself and the targets
// are already in the activation's range.
void init_weights(cv::ml::ANN_MLP& net, const std::vector<int>& layers, std::uint64_t seed) {
  SplitMix64 g{seed ^ 0x6A09E667F3BCC908ULL};
  const int L = static_cast<int>(layers.size());
  for (int i = 1; i < L; ++i) {
    const int n1 = layers[static_cast<std::size_t>(i - 1)], n2 = layers[static_cast<std::size_t>(i)];
    cv::Mat w = net.getWeights(i);
    if (w.rows != n1 + 1 || w.cols != n2 || w.type() != CV_64F || !w.isContinuous())
      throw Error("mlp: unexpected OpenCV weight layout for layer " + std::to_string(i));
    double* p = w.ptr<double>();
    if (i < L - 1) {
      const double beta = 0.7 * std::pow(static_cast<double>(n2), 1.0 / static_cast<double>(n1));
      for (int j = 0; j < n2; ++j) {
        double norm2 = 0.0;
        for (int k = 0; k < n1; ++k) {
          const double v = g.uniform() - 0.5;
          p[k * n2 + j] = v;
          norm2 += v * v;
        }
        const double f = norm2 > 0 ? beta / std::sqrt(norm2) : 0.0;
        for (int k = 0; k < n1; ++k) p[k * n2 + j] *= f;
        p[n1 * n2 + j] = (2.0 * g.uniform() - 1.0) * beta;
      }
    } else {
      const double lim = std::sqrt(6.0 / static_cast<double>(n1 + n2));
      for (int k = 0; k < n1; ++k)
        for (int j = 0; j < n2; ++j) p[k * n2 + j] = (2.0 * g.uniform() - 1.0) * lim;
      for (int j = 0; j < n2; ++j) p[n1 * n2 + j] = 0.0;
    }
  }
  auto identity = [&](int idx, int n) {
    cv::Mat s = net.getWeights(idx);
    if (s.total() != static_cast<std::size_t>(2 * n) || s.type() != CV_64F || !s.isContinuous())
      throw Error("mlp: unexpected OpenCV scale layout at " + std::to_string(idx));
    double* q = s.ptr<double>();
    for (int j = 0; j < n; ++j) q[2 * j] = 1.0, q[2 * j + 1] = 0.0;
  };
  identity(0, layers.front());
  identity(L, layers.back());
  identity(L + 1, layers.back());
}

}  // namespace

// ---------------------------------------------------------------- helpers

std::vector<int> parse_hidden(const std::string& text) {
  std::vector<int> out;
  auto bad = [&]() {
    return Error("parameter \"hidden\" must be a comma-separated list of layer sizes, each an integer in [2, 4096] "
                 "(e.g. \"32,16\"), got \"" + text + "\"");
  };
  std::size_t p = 0;
  bool blank = true;
  for (char ch : text)
    if (ch != ' ' && ch != '\t') blank = false;
  if (blank) return out;
  while (p <= text.size()) {
    auto q = text.find(',', p);
    if (q == std::string::npos) q = text.size();
    std::string tok = text.substr(p, q - p);
    const auto b = tok.find_first_not_of(" \t"), e = tok.find_last_not_of(" \t");
    if (b == std::string::npos) throw bad();
    tok = tok.substr(b, e - b + 1);
    if (tok.size() > 4 || tok.find_first_not_of("0123456789") != std::string::npos) throw bad();
    const int v = std::stoi(tok);
    if (v < 2 || v > 4096) throw bad();
    out.push_back(v);
    p = q + 1;
  }
  return out;
}

void standardisation(const FeatureMatrix& m, const std::vector<bool>& numeric, std::vector<double>& mean,
                     std::vector<double>& stddev) {
  std::vector<double> sum(m.cols, 0.0), n(m.cols, 0.0);
  for (std::size_t e = 0; e < m.values.size(); ++e) {
    const auto j = m.indices[e];
    if (j < numeric.size() && numeric[j]) sum[j] += m.values[e], n[j] += 1.0;
  }
  mean.assign(m.cols, 0.0);
  for (std::size_t j = 0; j < m.cols; ++j)
    if (n[j] > 0) mean[j] = sum[j] / n[j];
  std::vector<double> ss(m.cols, 0.0);  // two-pass: no cancellation on large values (bytes…)
  for (std::size_t e = 0; e < m.values.size(); ++e) {
    const auto j = m.indices[e];
    if (j < numeric.size() && numeric[j]) {
      const double d = m.values[e] - mean[j];
      ss[j] += d * d;
    }
  }
  stddev.assign(m.cols, 1.0);
  for (std::size_t j = 0; j < m.cols; ++j)
    if (n[j] > 0) {
      const double s = std::sqrt(ss[j] / n[j]);
      if (s > 1e-12 && std::isfinite(s)) stddev[j] = s;
    }
}

std::vector<float> dense_inputs(const FeatureMatrix& m, const std::vector<double>& mean,
                                const std::vector<double>& stddev) {
  std::vector<float> d(m.rows * m.cols, 0.0f);
  for (std::size_t r = 0; r < m.rows; ++r) {
    float* row = d.data() + r * m.cols;
    for (auto e = m.indptr[r]; e < m.indptr[r + 1]; ++e) {
      const auto j = m.indices[e];
      row[j] = static_cast<float>((static_cast<double>(m.values[e]) - mean[j]) / stddev[j]);
    }
  }
  return d;
}

std::vector<int> balance_factors(const std::vector<std::size_t>& per_class) {
  std::size_t mx = 0;
  for (auto c : per_class) mx = std::max(mx, c);
  std::vector<int> f(per_class.size(), 0);
  for (std::size_t k = 0; k < per_class.size(); ++k)
    if (per_class[k] > 0)
      f[k] = std::max(1, static_cast<int>(std::llround(static_cast<double>(mx) / static_cast<double>(per_class[k]))));
  return f;
}

std::vector<double> outputs_to_proba(const float* out, std::size_t rows, std::size_t k, double lo, double hi) {
  std::vector<double> p(rows * k);
  for (std::size_t i = 0; i < rows; ++i) {
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      const double v = std::clamp((static_cast<double>(out[i * k + j]) - lo) / (hi - lo), 0.0, 1.0);
      p[i * k + j] = v;
      sum += v;
    }
    for (std::size_t j = 0; j < k; ++j) p[i * k + j] = sum > 0 ? p[i * k + j] / sum : 1.0 / static_cast<double>(k);
  }
  return p;
}

// ---------------------------------------------------------------- stage

MlpTrainer::MlpTrainer(const Options& o)
    : label_(o.label),
      features_param_(o.features),
      exclude_(o.exclude),
      hidden_(parse_hidden(o.hidden)),
      activation_(o.activation),
      train_method_(o.train_method),
      max_iter_(o.max_iter),
      seed_(o.seed),
      epsilon_(o.epsilon),
      learning_rate_(o.learning_rate),
      balance_(o.balance) {}

MlpTrainer::~MlpTrainer() = default;

std::pair<double, double> MlpTrainer::target_range() const {
  if (activation_ == "sigmoid_sym") return {-1.0, 1.0};
  return {0.0, 1.0};
}

Table MlpTrainer::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("mlp: expects exactly one input table");
  try {
    if (ctx.mode() == Mode::Apply) return apply(ctx, *inputs[0]);
    return fit(ctx, *inputs[0]);
  } catch (const cv::Exception& e) {
    throw Error(std::string("mlp: OpenCV: ") + e.what());
  }
}

Table MlpTrainer::fit(StageContext& ctx, const Table& t) {
  using clock = std::chrono::steady_clock;
  // Only the Train rows: the network has no use for the Valid ones.
  const TrainingSet set =
      prepare_training(ctx, t, label_, features_param_, exclude_, "mlp", /*with_valid=*/false);
  classes_ = set.classes;
  columns_ = set.columns;
  const auto& train_rows = set.train_rows;
  const LabelVector& ytr = set.y_train;
  const std::size_t K = classes_.size();
  const auto& per = set.per_class;

  const auto t0 = set.started;
  const FeatureMatrix& mtr = set.x_train;
  check_finite(mtr, &train_rows);
  feature_names_ = mtr.names;
  if (mtr.cols == 0) throw DataError("mlp: the feature columns (" + join_quoted(columns_) + ") give no features");
  const auto numeric = numeric_features(t, columns_);
  if (numeric.size() != mtr.cols)
    throw Error("mlp: " + std::to_string(numeric.size()) + " feature kinds for " + std::to_string(mtr.cols) +
                " features");
  standardisation(mtr, numeric, mean_, std_);
  const std::vector<float> xtr = dense_inputs(mtr, mean_, std_);
  const std::size_t d = mtr.cols;

  // The training order: rows repeated for balance, then shuffled by the seed.
  used_seed_ = seed_ >= 0 ? static_cast<std::uint64_t>(seed_) : ctx.seed();
  const std::vector<int> factor = balance_ ? balance_factors(per) : std::vector<int>(K, 1);
  std::vector<std::uint32_t> order;
  for (std::size_t i = 0; i < train_rows.size(); ++i)
    order.insert(order.end(), static_cast<std::size_t>(factor[static_cast<std::size_t>(ytr.y[i])]),
                 static_cast<std::uint32_t>(i));
  {
    SplitMix64 g{used_seed_ ^ 0xBB67AE8584CAA73BULL};
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
  }
  const auto [lo, hi] = target_range();
  cv::Mat X(static_cast<int>(order.size()), static_cast<int>(d), CV_32F);
  cv::Mat Y(static_cast<int>(order.size()), static_cast<int>(K), CV_32F, cv::Scalar(lo));
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::copy_n(xtr.data() + static_cast<std::size_t>(order[i]) * d, d, X.ptr<float>(static_cast<int>(i)));
    Y.at<float>(static_cast<int>(i), static_cast<int>(ytr.y[order[i]])) = static_cast<float>(hi);
  }
  ctx.metric("num_features", static_cast<std::int64_t>(d));
  ctx.metric("train_rows", static_cast<std::int64_t>(train_rows.size()));
  ctx.metric("train_rows_balanced", static_cast<std::int64_t>(order.size()));

  layers_.clear();
  layers_.push_back(static_cast<int>(d));
  layers_.insert(layers_.end(), hidden_.begin(), hidden_.end());
  layers_.push_back(static_cast<int>(K));

  // RPROP sums its gradient over row chunks on OpenCV's thread pool in
  // whatever order they finish: one thread keeps the sum (and so the model)
  // identical from run to run.
  cv::setNumThreads(1);
  cv::Ptr<cv::ml::ANN_MLP> net = cv::ml::ANN_MLP::create();
  net->setLayerSizes(cv::Mat(layers_, true));  // before the activation: it resets the output range
  net->setActivationFunction(activation_id(activation_), activation_ == "leakyrelu" ? 0.01 : 0.0, 0.0);
  net->setTermCriteria(cv::TermCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS,
                                        static_cast<int>(std::min<std::int64_t>(max_iter_, 1000000)), epsilon_));
  if (train_method_ == "backprop") {
    net->setTrainMethod(cv::ml::ANN_MLP::BACKPROP);
    net->setBackpropWeightScale(learning_rate_);
    net->setBackpropMomentumScale(0.1);
  } else {
    net->setTrainMethod(cv::ml::ANN_MLP::RPROP, 0.1, FLT_EPSILON);
  }
  init_weights(*net, layers_, used_seed_);
  if (ctx.cancelled()) throw Interrupted("mlp: cancelled before training");
  const cv::Ptr<cv::ml::TrainData> data = cv::ml::TrainData::create(X, cv::ml::ROW_SAMPLE, Y);
  const bool ok = net->train(data, cv::ml::ANN_MLP::UPDATE_WEIGHTS | cv::ml::ANN_MLP::NO_INPUT_SCALE |
                                       cv::ml::ANN_MLP::NO_OUTPUT_SCALE);
  if (!ok || !net->isTrained()) throw Error("mlp: OpenCV ANN_MLP training stopped before the first epoch");
  net_ = net;
  ctx.measure("train_seconds", std::chrono::duration<double>(clock::now() - t0).count());
  ctx.progress(0.8);

  // Only the rows of the roles the consumers read (the others NULL, counted).
  const PredictedRows pr = rows_to_predict(ctx, t, "mlp");
  const FeatureMatrix mall = pr.all ? build_features(t, columns_) : build_features(t, columns_, pr.rows);
  check_finite(mall, nullptr);
  return predict_all(ctx, t, mall, pr.all ? nullptr : &pr.rows);
}

Table MlpTrainer::predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m,
                              const std::vector<std::uint32_t>* rows) {
  using clock = std::chrono::steady_clock;
  const std::size_t n = m.rows;
  const std::size_t K = classes_.size();
  const std::size_t k = K == 2 ? 1 : K;
  std::vector<float> proba(n * k);
  if (n > 0) {
    const auto t0 = clock::now();
    std::vector<float> x = dense_inputs(m, mean_, std_);
    const cv::Mat X(static_cast<int>(n), static_cast<int>(m.cols), CV_32F, x.data());
    cv::Mat out;
    net_->predict(X, out);
    if (out.rows != static_cast<int>(n) || out.cols != static_cast<int>(K) || out.type() != CV_32F ||
        !out.isContinuous())
      throw Error("mlp: the network returned " + std::to_string(out.rows) + "x" + std::to_string(out.cols) +
                  " outputs, expected " + std::to_string(n) + "x" + std::to_string(K));
    const float* o = out.ptr<float>();
    for (std::size_t i = 0; i < n * K; ++i)
      if (!std::isfinite(o[i]))
        throw Error("mlp: the network's output is not finite at row " + std::to_string(i / K) +
                    " (training diverged; try rprop or a smaller learning_rate)");
    const auto [lo, hi] = target_range();
    const std::vector<double> p = outputs_to_proba(o, n, K, lo, hi);
    for (std::size_t i = 0; i < n; ++i) {
      if (k == 1)
        proba[i] = static_cast<float>(p[i * 2 + 1]);
      else
        for (std::size_t j = 0; j < K; ++j) proba[i * K + j] = static_cast<float>(p[i * K + j]);
    }
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    ctx.measure("predict_rows_per_second", s > 0 ? static_cast<double>(n) / s : 0.0);
  }
  ctx.progress(1.0);
  return rows ? with_predictions(t, classes_, proba, ctx.stage_id(), *rows)
              : with_predictions(t, classes_, proba, ctx.stage_id());
}

Table MlpTrainer::apply(StageContext& ctx, const Table& t) {
  if (!net_) throw Error("mlp: apply mode without a loaded model (load_state was not called)");
  const FeatureMatrix m = build_features(t, columns_);
  check_feature_names(feature_names_, m.names, "mlp");
  check_finite(m, nullptr);
  return predict_all(ctx, t, m);
}

json MlpTrainer::save_state(const std::filesystem::path& dir) const {
  if (!net_) throw Error("mlp: nothing fitted to save");
  std::filesystem::create_directories(dir);
  const auto path = dir / "model.yml";
  try {
    net_->save(path.string());
  } catch (const cv::Exception& e) {
    throw Error("mlp: cannot write " + path.string() + ": " + e.what());
  }
  if (!std::filesystem::exists(path)) throw Error("mlp: cannot write " + path.string());
  const auto [lo, hi] = target_range();
  return json{{"model", "model.yml"},
              {"label", label_},
              {"classes", classes_},
              {"features", columns_},
              {"feature_names", feature_names_},
              {"mean", mean_},
              {"std", std_},
              {"layers", layers_},
              {"activation", activation_},
              {"train_method", train_method_},
              {"targets", json::array({lo, hi})},
              {"seed", used_seed_}};
}

void MlpTrainer::load_state(const json& state, const std::filesystem::path& dir) {
  auto need = [&](const char* key, bool ok) {
    if (!state.is_object() || !state.contains(key) || !ok)
      throw Error(std::string("mlp state: missing or malformed \"") + key + "\"");
  };
  need("model", state.is_object() && state.contains("model") && state["model"].is_string());
  for (const char* k : {"classes", "features", "feature_names", "mean", "std", "layers"})
    need(k, state.contains(k) && state[k].is_array());
  need("label", state.contains("label") && state["label"].is_string());
  need("activation", state.contains("activation") && state["activation"].is_string());
  label_ = state["label"].get<std::string>();
  classes_ = state["classes"].get<std::vector<std::string>>();
  columns_ = state["features"].get<std::vector<std::string>>();
  feature_names_ = state["feature_names"].get<std::vector<std::string>>();
  mean_ = state["mean"].get<std::vector<double>>();
  std_ = state["std"].get<std::vector<double>>();
  layers_ = state["layers"].get<std::vector<int>>();
  activation_ = state["activation"].get<std::string>();
  if (state.contains("train_method") && state["train_method"].is_string())
    train_method_ = state["train_method"].get<std::string>();
  if (activation_ != "sigmoid_sym" && activation_ != "relu" && activation_ != "leakyrelu")
    throw Error("mlp state: unknown activation \"" + activation_ + "\"");
  if (classes_.size() < 2) throw Error("mlp state: fewer than two classes");
  if (mean_.size() != feature_names_.size() || std_.size() != feature_names_.size())
    throw Error("mlp state: " + std::to_string(mean_.size()) + " means and " + std::to_string(std_.size()) +
                " standard deviations for " + std::to_string(feature_names_.size()) + " features");
  if (layers_.size() < 2 || static_cast<std::size_t>(layers_.front()) != feature_names_.size() ||
      static_cast<std::size_t>(layers_.back()) != classes_.size())
    throw Error("mlp state: layers do not fit " + std::to_string(feature_names_.size()) + " features and " +
                std::to_string(classes_.size()) + " classes");
  const auto path = dir / state["model"].get<std::string>();
  if (!std::filesystem::exists(path)) throw Error("mlp state: cannot load the model file " + path.string());
  cv::Ptr<cv::ml::ANN_MLP> net;
  try {
    net = cv::ml::ANN_MLP::load(path.string());
  } catch (const cv::Exception& e) {
    throw Error("mlp state: cannot load the model file " + path.string() + ": " + e.what());
  }
  if (!net || !net->isTrained()) throw Error("mlp state: cannot load the model file " + path.string());
  const cv::Mat ls = net->getLayerSizes();
  std::vector<int> got;
  for (int i = 0; i < static_cast<int>(ls.total()); ++i) got.push_back(ls.at<int>(i));
  if (got != layers_)
    throw Error("mlp state: the model file's layers differ from the state's (" + std::to_string(got.size()) +
                " layers)");
  net_ = net;
}

}  // namespace pipectl::mlp
