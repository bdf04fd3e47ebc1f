#include "liblinear.hpp"

#include <pipectl/error.hpp>
#include <pipectl/explanation.hpp>
#include <pipectl/trainer.hpp>

#include <linear.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

namespace pipectl::lin {

namespace {

// liblinear keeps two pieces of process-wide state: the print function and,
// for the dual SVM solver, the C library's rand(). Every train() runs under
// this lock, right after srand(seed), so two liblinear stages running at once
// cannot interleave their random streams.
std::mutex& train_mutex() {
  static std::mutex m;
  return m;
}

void quiet(const char*) {}

const char* solver_name(int solver) { return solver == L2R_LR ? "L2R_LR" : "L2R_L2LOSS_SVC_DUAL"; }

// liblinear's sparse rows: every feature_node in one contiguous buffer (the
// row's CSR entries, then the bias node when bias >= 0, then the -1
// terminator), one pointer per row.
struct SparseRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
};

SparseRows sparse_rows(const FeatureMatrix& m, const std::vector<double>& divisors, double bias) {
  SparseRows s;
  const bool with_bias = bias >= 0;
  s.nodes.resize(m.values.size() + m.rows * (with_bias ? 2 : 1));
  s.rows.resize(m.rows);
  const int bias_index = static_cast<int>(m.cols) + 1;
  std::size_t k = 0;
  for (std::size_t i = 0; i < m.rows; ++i) {
    s.rows[i] = &s.nodes[k];
    for (auto e = m.indptr[i]; e < m.indptr[i + 1]; ++e) {
      const auto j = m.indices[e];
      double v = m.values[e];
      if (!divisors.empty()) v /= divisors[j];
      s.nodes[k++] = feature_node{static_cast<int>(j) + 1, v};
    }
    if (with_bias) s.nodes[k++] = feature_node{bias_index, bias};
    s.nodes[k++] = feature_node{-1, 0.0};
  }
  return s;
}

}  // namespace

void ModelDeleter::operator()(model* m) const noexcept {
  if (m) free_and_destroy_model(&m);
}

// ---------------------------------------------------------------- helpers

std::vector<double> max_abs_divisors(const FeatureMatrix& m, const std::vector<bool>& numeric) {
  std::vector<double> mx(m.cols, 0.0);
  for (std::size_t e = 0; e < m.values.size(); ++e) {
    const auto j = m.indices[e];
    mx[j] = std::max(mx[j], std::fabs(static_cast<double>(m.values[e])));
  }
  std::vector<double> d(m.cols, 1.0);
  for (std::size_t j = 0; j < m.cols; ++j)
    if (j < numeric.size() && numeric[j] && mx[j] > 0.0 && std::isfinite(mx[j])) d[j] = mx[j];
  return d;
}

void softmax(std::vector<double>& v) {
  if (v.empty()) return;
  const double mx = *std::max_element(v.begin(), v.end());
  double sum = 0.0;
  for (auto& x : v) sum += (x = std::exp(x - mx));
  for (auto& x : v) x /= sum;
}

double platt_probability(double a, double b, double d) { return 1.0 / (1.0 + std::exp(-(a * d + b))); }

// ---------------------------------------------------------------- stage

LiblinearTrainer::LiblinearTrainer(const Options& o)
    : label_(o.label),
      features_param_(o.features),
      exclude_(o.exclude),
      model_type_(o.model),
      c_(o.c),
      eps_(o.eps),
      bias_(o.bias),
      class_weight_(o.class_weight),
      scale_(o.scale) {}

LiblinearTrainer::~LiblinearTrainer() = default;

Table LiblinearTrainer::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("liblinear: expects exactly one input table");
  if (ctx.mode() == Mode::Apply) return apply(ctx, *inputs[0]);
  return fit(ctx, *inputs[0]);
}

double LiblinearTrainer::binary_decision(const double* dec) const {
  // A two-class liblinear model has one weight vector, positive for its
  // first label.
  return model_labels_[0] == 1 ? dec[0] : -dec[0];
}

Table LiblinearTrainer::fit(StageContext& ctx, const Table& t) {
  using clock = std::chrono::steady_clock;
  const TrainingSet set = prepare_training(ctx, t, label_, features_param_, exclude_, "liblinear");
  classes_ = set.classes;
  columns_ = set.columns;
  const auto& train_rows = set.train_rows;
  const auto& valid_rows = set.valid_rows;
  const LabelVector& ytr = set.y_train;
  const auto& per = set.per_class;

  const bool svm = model_type_ == "linear_svm";
  const bool binary = classes_.size() == 2;
  const auto t0 = set.started;
  const FeatureMatrix& mtr = set.x_train;
  check_finite(mtr, &train_rows);
  feature_names_ = mtr.names;
  const auto numeric = numeric_features(t, columns_);
  if (numeric.size() != mtr.cols)
    throw Error("liblinear: " + std::to_string(numeric.size()) + " feature kinds for " + std::to_string(mtr.cols) +
                " features");
  divisors_ = scale_ ? max_abs_divisors(mtr, numeric) : std::vector<double>();
  ctx.metric("num_features", static_cast<std::int64_t>(mtr.cols));
  ctx.metric("train_rows", static_cast<std::int64_t>(train_rows.size()));

  SparseRows xs = sparse_rows(mtr, divisors_, bias_);
  std::vector<double> y(ytr.y.begin(), ytr.y.end());
  problem prob{};
  prob.l = static_cast<int>(train_rows.size());
  prob.n = static_cast<int>(mtr.cols) + (bias_ >= 0 ? 1 : 0);
  prob.y = y.data();
  prob.x = xs.rows.data();
  prob.bias = bias_;

  parameter par{};
  par.solver_type = svm ? L2R_L2LOSS_SVC_DUAL : L2R_LR;
  par.eps = eps_;
  par.C = c_;
  par.p = 0.1;  // SVR only
  par.init_sol = nullptr;
  std::vector<int> weight_label;
  std::vector<double> weight;
  if (class_weight_ == "balanced") {
    for (std::size_t k = 0; k < per.size(); ++k)
      if (per[k]) {
        weight_label.push_back(static_cast<int>(k));
        weight.push_back(static_cast<double>(train_rows.size()) /
                         (static_cast<double>(set.distinct) * static_cast<double>(per[k])));
      }
  }
  par.nr_weight = static_cast<int>(weight.size());
  par.weight_label = weight_label.empty() ? nullptr : weight_label.data();
  par.weight = weight.empty() ? nullptr : weight.data();
  if (const char* msg = check_parameter(&prob, &par)) throw Error(std::string("liblinear: ") + msg);

  if (ctx.cancelled()) throw Interrupted("liblinear: cancelled before training");
  const std::uint64_t s = ctx.seed();
  {
    std::lock_guard<std::mutex> lock(train_mutex());
    set_print_string_function(&quiet);
    std::srand(static_cast<unsigned>(s ^ (s >> 32)));
    model_.reset(train(&prob, &par));
  }
  if (!model_) throw Error("liblinear: train() returned no model");
  model_labels_.assign(static_cast<std::size_t>(get_nr_class(model_.get())), 0);
  get_labels(model_.get(), model_labels_.data());
  ctx.progress(0.8);

  // Platt scaling of the binary SVM's decision values.
  has_platt_ = false;
  if (svm && binary) {
    auto both_classes = [&](const std::vector<std::uint32_t>& rows) {
      bool seen[2] = {false, false};
      const LabelVector yv = label_vector(t, label_, rows);
      for (float v : yv.y) seen[v > 0.5f ? 1 : 0] = true;
      return seen[0] && seen[1];
    };
    const bool use_valid = !valid_rows.empty() && both_classes(valid_rows);
    if (!use_valid)
      ctx.warn("liblinear: no Valid rows holding both classes; Platt scaling is fitted on the Train rows");
    const auto& prow = use_valid ? valid_rows : train_rows;
    const LabelVector yp = label_vector(t, label_, prow);
    const FeatureMatrix mp = use_valid ? build_features(t, columns_, prow) : FeatureMatrix();
    if (use_valid) check_finite(mp, &prow);
    const SparseRows ps = use_valid ? sparse_rows(mp, divisors_, bias_) : SparseRows();
    const auto& prows = use_valid ? ps.rows : xs.rows;
    std::vector<feature_node> nodes(prow.size() * 3);
    std::vector<feature_node*> px(prow.size());
    std::vector<double> py(yp.y.begin(), yp.y.end());
    double dec[2];
    for (std::size_t i = 0; i < prow.size(); ++i) {
      predict_values(model_.get(), prows[i], dec);
      nodes[3 * i] = feature_node{1, binary_decision(dec)};
      nodes[3 * i + 1] = feature_node{2, 1.0};
      nodes[3 * i + 2] = feature_node{-1, 0.0};
      px[i] = &nodes[3 * i];
    }
    problem pp{};
    pp.l = static_cast<int>(prow.size());
    pp.n = 2;
    pp.y = py.data();
    pp.x = px.data();
    pp.bias = 1.0;
    parameter pl{};
    pl.solver_type = L2R_LR;
    pl.eps = 1e-6;
    pl.C = 10.0;  // mild: keeps the slope finite when the scores separate the classes
    pl.p = 0.1;
    ModelPtr platt;
    {
      std::lock_guard<std::mutex> lock(train_mutex());
      set_print_string_function(&quiet);
      platt.reset(train(&pp, &pl));
    }
    if (!platt || get_nr_class(platt.get()) != 2) throw Error("liblinear: Platt scaling fit failed");
    int pl_labels[2];
    get_labels(platt.get(), pl_labels);
    const int idx1 = pl_labels[0] == 1 ? 0 : 1;
    platt_a_ = get_decfun_coef(platt.get(), 1, idx1);
    platt_b_ = get_decfun_bias(platt.get(), idx1);
    platt_source_ = use_valid ? "valid" : "train";
    has_platt_ = true;
    ctx.metric("platt_rows", static_cast<std::int64_t>(prow.size()));
  }
  ctx.measure("train_seconds", std::chrono::duration<double>(clock::now() - t0).count());

  // Only the rows of the roles the consumers read (the others NULL, counted).
  const PredictedRows pr = rows_to_predict(ctx, t, "liblinear");
  const FeatureMatrix mall = pr.all ? build_features(t, columns_) : build_features(t, columns_, pr.rows);
  check_finite(mall, nullptr);
  Table out = predict_all(ctx, t, mall, pr.all ? nullptr : &pr.rows);
  record_importance(ctx, *this, t, 1);
  return out;
}

Explanation LiblinearTrainer::explain(const Table& t, const std::vector<std::uint32_t>& rows, int) const {
  if (!model_) throw Error("liblinear: nothing fitted or loaded to explain");
  const FeatureMatrix m = build_features(t, columns_, rows);
  check_feature_names(feature_names_, m.names, "liblinear");
  check_finite(m, nullptr);
  Explanation e;
  e.features = feature_names_;
  e.origins = feature_origins(t, columns_);
  if (e.origins.size() != e.features.size())
    throw Error("liblinear: " + std::to_string(e.origins.size()) + " feature origins for " +
                std::to_string(e.features.size()) + " features");
  const std::size_t K = classes_.size(), nf = feature_names_.size(), w = nf + 1;
  const bool binary = K == 2;
  e.groups = binary ? std::vector<std::string>{classes_[1]} : classes_;
  e.rows = rows.size();
  e.note = binary ? (has_platt_ ? "weight x value of the linear SVM with Platt scaling folded in (a x weight per "
                                  "feature, a x intercept + b as the bias): they add up to the log-odds of pred_proba"
                                : "weight x value of the logistic regression, the intercept as the bias: they add up "
                                  "to the log-odds of pred_proba")
                  : "weight x value per class (one-vs-rest decision values), the intercept as the bias";
  // Per group: the sign and scale of each liblinear weight vector (label index), and the offset.
  const model* md = model_.get();
  const std::size_t nr = model_labels_.size();
  struct Part {
    int label_idx;
    double scale, offset;
  };
  std::vector<std::vector<Part>> parts(e.groups.size());
  if (binary) {
    const double sign = model_labels_[0] == 1 ? 1.0 : -1.0;
    const double a = has_platt_ ? platt_a_ : 1.0, b = has_platt_ ? platt_b_ : 0.0;
    parts[0].push_back(Part{0, sign * a, b});
  } else if (nr == 2) {  // two classes present in training: one weight vector
    parts[static_cast<std::size_t>(model_labels_[0])].push_back(Part{0, 1.0, 0.0});
    parts[static_cast<std::size_t>(model_labels_[1])].push_back(Part{0, -1.0, 0.0});
  } else {
    for (std::size_t j = 0; j < nr; ++j)
      parts[static_cast<std::size_t>(model_labels_[j])].push_back(Part{static_cast<int>(j), 1.0, 0.0});
  }
  std::vector<std::vector<double>> weight(e.groups.size(), std::vector<double>(w, 0.0));
  for (std::size_t g = 0; g < parts.size(); ++g)
    for (const auto& p : parts[g]) {
      for (std::size_t f = 0; f < nf; ++f) {
        const double div = divisors_.empty() ? 1.0 : divisors_[f];
        weight[g][f] += p.scale * get_decfun_coef(md, static_cast<int>(f + 1), p.label_idx) / div;
      }
      weight[g][nf] += p.scale * (md->bias >= 0 ? get_decfun_bias(md, p.label_idx) : 0.0) + p.offset;
    }
  e.values.assign(e.rows * e.groups.size() * w, 0.0);
  for (std::size_t r = 0; r < e.rows; ++r)
    for (std::size_t g = 0; g < e.groups.size(); ++g) {
      double* out = &e.values[(r * e.groups.size() + g) * w];
      for (auto k = m.indptr[r]; k < m.indptr[r + 1]; ++k)
        out[m.indices[k]] = weight[g][m.indices[k]] * static_cast<double>(m.values[k]);
      out[nf] = weight[g][nf];
    }
  return e;
}

Table LiblinearTrainer::predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m,
                              const std::vector<std::uint32_t>* rows) {
  using clock = std::chrono::steady_clock;
  const std::size_t n = m.rows;
  const std::size_t K = classes_.size();
  const std::size_t k = K == 2 ? 1 : K;
  std::vector<float> proba(n * k, 0.0f);
  if (n > 0) {
    const auto t0 = clock::now();
    const SparseRows xs = sparse_rows(m, divisors_, model_->bias);
    const model* md = model_.get();
    const std::size_t nr = model_labels_.size();
    const bool lr = model_type_ == "logistic_regression";
    std::vector<double> out(nr), v(nr);
    for (std::size_t i = 0; i < n; ++i) {
      if (lr) {
        predict_probability(md, xs.rows[i], out.data());
        if (k == 1) {
          proba[i] = static_cast<float>(model_labels_[0] == 1 ? out[0] : out[1]);
        } else {
          for (std::size_t j = 0; j < nr; ++j) proba[i * k + static_cast<std::size_t>(model_labels_[j])] =
              static_cast<float>(out[j]);
        }
      } else {
        predict_values(md, xs.rows[i], out.data());
        if (k == 1) {
          proba[i] = static_cast<float>(platt_probability(platt_a_, platt_b_, binary_decision(out.data())));
        } else {
          if (nr == 2) {
            v[0] = out[0];
            v[1] = -out[0];
          } else {
            v.assign(out.begin(), out.end());
          }
          softmax(v);
          for (std::size_t j = 0; j < nr; ++j)
            proba[i * k + static_cast<std::size_t>(model_labels_[j])] = static_cast<float>(v[j]);
        }
      }
    }
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    ctx.measure("predict_rows_per_second", s > 0 ? static_cast<double>(n) / s : 0.0);
  }
  ctx.progress(1.0);
  return rows ? with_predictions(t, classes_, proba, ctx.stage_id(), *rows)
              : with_predictions(t, classes_, proba, ctx.stage_id());
}

Table LiblinearTrainer::apply(StageContext& ctx, const Table& t) {
  if (!model_) throw Error("liblinear: apply mode without a loaded model (load_state was not called)");
  const FeatureMatrix m = build_features(t, columns_);
  check_feature_names(feature_names_, m.names, "liblinear");
  check_finite(m, nullptr);
  return predict_all(ctx, t, m);
}

json LiblinearTrainer::save_state(const std::filesystem::path& dir) const {
  if (!model_) throw Error("liblinear: nothing fitted to save");
  std::filesystem::create_directories(dir);
  const auto path = (dir / "model.txt").string();
  {
    std::lock_guard<std::mutex> lock(train_mutex());  // save_model switches the C locale
    if (save_model(path.c_str(), model_.get()) != 0) throw Error("liblinear: cannot write " + path);
  }
  json platt = nullptr;
  if (has_platt_) platt = json{{"a", platt_a_}, {"b", platt_b_}, {"fitted_on", platt_source_}};
  return json{{"model", "model.txt"},
              {"label", label_},
              {"classes", classes_},
              {"features", columns_},
              {"feature_names", feature_names_},
              {"model_type", model_type_},
              {"solver", solver_name(model_->param.solver_type)},
              {"bias", model_->bias},
              {"scale", divisors_},
              {"platt", platt}};
}

void LiblinearTrainer::load_state(const json& state, const std::filesystem::path& dir) {
  auto need = [&](const char* key, bool ok) {
    if (!state.is_object() || !state.contains(key) || !ok)
      throw Error(std::string("liblinear state: missing or malformed \"") + key + "\"");
  };
  need("model", state.is_object() && state.contains("model") && state["model"].is_string());
  need("label", state.contains("label") && state["label"].is_string());
  need("classes", state.contains("classes") && state["classes"].is_array());
  need("features", state.contains("features") && state["features"].is_array());
  need("feature_names", state.contains("feature_names") && state["feature_names"].is_array());
  need("model_type", state.contains("model_type") && state["model_type"].is_string());
  need("scale", state.contains("scale") && state["scale"].is_array());
  need("platt", state.contains("platt") && (state["platt"].is_null() || state["platt"].is_object()));
  label_ = state["label"].get<std::string>();
  classes_ = state["classes"].get<std::vector<std::string>>();
  columns_ = state["features"].get<std::vector<std::string>>();
  feature_names_ = state["feature_names"].get<std::vector<std::string>>();
  model_type_ = state["model_type"].get<std::string>();
  divisors_ = state["scale"].get<std::vector<double>>();
  if (model_type_ != "logistic_regression" && model_type_ != "linear_svm")
    throw Error("liblinear state: unknown model_type \"" + model_type_ + "\"");
  if (classes_.size() < 2) throw Error("liblinear state: fewer than two classes");
  if (!divisors_.empty() && divisors_.size() != feature_names_.size())
    throw Error("liblinear state: " + std::to_string(divisors_.size()) + " scale divisors for " +
                std::to_string(feature_names_.size()) + " features");
  has_platt_ = false;
  if (state["platt"].is_object()) {
    const auto& p = state["platt"];
    if (!p.contains("a") || !p["a"].is_number() || !p.contains("b") || !p["b"].is_number())
      throw Error("liblinear state: malformed \"platt\"");
    platt_a_ = p["a"].get<double>();
    platt_b_ = p["b"].get<double>();
    platt_source_ = p.value("fitted_on", "");
    has_platt_ = true;
  }
  if (model_type_ == "linear_svm" && classes_.size() == 2 && !has_platt_)
    throw Error("liblinear state: a binary linear_svm needs its \"platt\" coefficients");
  const auto path = (dir / state["model"].get<std::string>()).string();
  {
    std::lock_guard<std::mutex> lock(train_mutex());  // load_model switches the C locale
    model_.reset(load_model(path.c_str()));
  }
  if (!model_) throw Error("liblinear state: cannot load the model file " + path);
  const int nf = get_nr_feature(model_.get());
  if (static_cast<std::size_t>(nf) != feature_names_.size())
    throw Error("liblinear state: the model file has " + std::to_string(nf) + " features, the state names " +
                std::to_string(feature_names_.size()));
  model_labels_.assign(static_cast<std::size_t>(get_nr_class(model_.get())), 0);
  get_labels(model_.get(), model_labels_.data());
  for (int l : model_labels_)
    if (l < 0 || static_cast<std::size_t>(l) >= classes_.size())
      throw Error("liblinear state: the model file has label " + std::to_string(l) + " outside the " +
                  std::to_string(classes_.size()) + " classes");
  if (model_labels_.size() < 2) throw Error("liblinear state: the model file has fewer than two classes");
}

}  // namespace pipectl::lin
