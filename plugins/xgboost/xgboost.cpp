#include "xgboost.hpp"
#include "dmatrix.hpp"

#include <pipectl/error.hpp>
#include <pipectl/explanation.hpp>
#include <pipectl/trainer.hpp>

#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace pipectl::xgb {

namespace {


// The same types kept by the booster, so that the saved model records them.
void set_booster_feature_types(BoosterHandle b, const std::vector<std::uint8_t>& categorical) {
  if (categorical.empty()) return;
  std::vector<const char*> types;
  for (auto c : categorical) types.push_back(c ? "c" : "q");
  XGB_CALL(XGBoosterSetStrFeatureInfo, b, "feature_type", types.data(), static_cast<bst_ulong>(types.size()));
}

void set_param(void* booster, const std::string& k, const std::string& v) {
  XGB_CALL(XGBoosterSetParam, booster, k.c_str(), v.c_str());
}

// Parameters with a dedicated setting of their own (or derived from the label):
// refused in the free-form `params` table so that one value has one place.
const std::set<std::string>& reserved_keys() {
  static const std::set<std::string> k = {
      "objective", "num_class", "nthread", "n_jobs", "seed", "random_state", "eta", "learning_rate",
      "max_depth", "min_child_weight", "subsample", "colsample_bytree", "lambda", "reg_lambda", "alpha",
      "reg_alpha", "tree_method", "max_bin", "num_parallel_tree", "num_round", "num_boost_round",
      "early_stopping_rounds", "max_cat_to_onehot"};
  return k;
}

/// FNV-1a 64 of a list of strings (each with its length, so that the
/// boundaries count).
std::uint64_t hash_strings(const std::vector<std::string>& v) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  };
  for (const auto& s : v) {
    const std::uint64_t n = s.size();
    mix(&n, sizeof n);
    mix(s.data(), s.size());
  }
  return h;
}

/// A message of another worker's failure, as DataError on this one.
[[noreturn]] void fail_as_worker(int r, int world, const std::string& msg) {
  throw DataError("xgboost: worker " + std::to_string(r) + " of " + std::to_string(world) + " failed: " + msg);
}

}  // namespace

void BoosterDeleter::operator()(void* h) const noexcept {
  if (h) XGBoosterFree(h);
}

// ---------------------------------------------------------------- helpers

std::vector<std::string> sanitize_feature_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  std::set<std::string> used;
  for (const auto& n : names) {
    std::string s = n;
    for (auto& ch : s) {
      const auto u = static_cast<unsigned char>(ch);
      if (ch == '[' || ch == ']' || ch == '<' || ch == ',' || u <= 0x20 || u == 0x7f) ch = '_';
    }
    if (s.empty()) s = "_";
    if (used.count(s)) {
      for (int k = 2;; ++k) {
        std::string c = s + "~" + std::to_string(k);
        if (!used.count(c)) {
          s = std::move(c);
          break;
        }
      }
    }
    used.insert(s);
    out.push_back(std::move(s));
  }
  return out;
}

bool parse_eval(const std::string& eval, const std::string& data, std::string& metric, double& value) {
  bool found = false;
  const std::string prefix = data + "-";
  std::size_t p = 0;
  while (p <= eval.size()) {
    auto q = eval.find('\t', p);
    if (q == std::string::npos) q = eval.size();
    const std::string tok = eval.substr(p, q - p);
    p = q + 1;
    if (tok.rfind(prefix, 0) != 0) continue;
    const auto colon = tok.rfind(':');
    if (colon == std::string::npos || colon <= prefix.size()) continue;
    const std::string num = tok.substr(colon + 1);
    char* end = nullptr;
    const double v = std::strtod(num.c_str(), &end);
    if (end == num.c_str()) continue;
    metric = tok.substr(prefix.size(), colon - prefix.size());
    value = v;
    found = true;
  }
  return found;
}

bool metric_maximize(const std::string& metric) {
  for (const char* m : {"auc", "aucpr", "map", "ndcg", "pre"}) {
    const std::string s(m);
    if (metric == s || metric.rfind(s + "@", 0) == 0) return true;
  }
  return false;
}

std::string param_text(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
    case json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_float: return fmt17(v.get<double>());
    default: throw Error(std::string("expects a string, number or boolean, got ") + v.type_name());
  }
}

// ---------------------------------------------------------------- stage

std::string extra_params_problem(const json& extra) {
  if (!extra.is_object()) return "expects a table";
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (reserved_keys().count(it.key()))
      return "key \"" + it.key() + "\" is set by the trainer (use its own parameter, or the label for objective/num_class)";
    try {
      if (it.value().is_array()) {
        for (const auto& e : it.value()) param_text(e);
      } else {
        param_text(it.value());
      }
    } catch (const Error& e) {
      return "key \"" + it.key() + "\" " + e.what();
    }
  }
  return "";
}

XGBoostTrainer::XGBoostTrainer(const Options& o)
    : label_(o.label),
      features_param_(o.features),
      exclude_(o.exclude),
      mode_(o.mode),
      num_round_(o.num_round),
      early_stopping_rounds_(o.early_stopping_rounds),
      max_depth_(o.max_depth),
      max_bin_(o.max_bin),
      forest_trees_(o.forest_trees),
      nthread_(o.nthread),
      seed_(o.seed),
      eta_(o.eta),
      min_child_weight_(o.min_child_weight),
      subsample_(o.subsample),
      colsample_bytree_(o.colsample_bytree),
      lambda_(o.lambda),
      alpha_(o.alpha),
      tree_method_(o.tree_method),
      max_cat_to_onehot_(o.max_cat_to_onehot) {
  // The table was checked by the schema rule (extra_params_problem).
  for (auto it = o.params.begin(); it != o.params.end(); ++it) {  // nlohmann objects iterate in key order
    if (it.value().is_array()) {
      for (const auto& e : it.value()) extra_.emplace_back(it.key(), param_text(e));
    } else {
      extra_.emplace_back(it.key(), param_text(it.value()));
    }
  }
}

int XGBoostTrainer::threads() const {
  if (nthread_ > 0) return static_cast<int>(nthread_);
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

Table XGBoostTrainer::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("xgboost: expects exactly one input table");
  if (ctx.mode() == Mode::Apply) return apply(ctx, *inputs[0]);
  return fit(ctx, *inputs[0]);
}

TrainingSet XGBoostTrainer::prepare_distributed(StageContext& ctx, const Table& t) {
  Collective& coll = ctx.collective();
  const int world = coll.world();
  TrainingSet s;
  // What this worker sees; a failure here is told to the others before anyone throws.
  json mine = json::object();
  std::exception_ptr failed;
  std::int64_t max_class = -1;
  try {
    if (!t.has_roles())
      throw DataError("xgboost: the table has no train/valid/test split; a splitter is needed upstream");
    const Column& lab = t.at(label_);
    s.classes = label_classes(t, label_);
    s.columns = feature_columns(t, label_, features_param_, exclude_);
    if (std::find(s.columns.begin(), s.columns.end(), label_) != s.columns.end())
      throw DataError("label column \"" + label_ + "\" is listed among the features");
    if (s.columns.empty())
      throw DataError("xgboost: no feature columns left (columns: " + join_quoted(t.column_names()) + ")");
    json cols = json::array();
    for (const auto& name : s.columns) {
      const Column& c = t.at(name);
      const bool cat = c.type == DType::Categorical || c.type == DType::MultiCategorical;
      // The feature a column gives depends on its dictionary (one-hot / multi-hot over it), not on int64 vs float64.
      cols.push_back({name, cat ? dtype_name(c.type) : "numeric",
                      cat ? std::to_string(hash_strings(c.dictionary ? *c.dictionary : Dictionary{})) : ""});
    }
    std::int64_t skipped = 0;
    auto labelled = [&](Role r) {
      std::vector<std::uint32_t> keep;
      for (auto i : t.rows_with(r)) {
        if (label_is_null(lab, i)) ++skipped;
        else keep.push_back(i);
      }
      return keep;
    };
    s.train_rows = labelled(Role::Train);
    s.valid_rows = labelled(Role::Valid);
    if (skipped > 0) {
      ctx.count("skipped.null_label." + label_, skipped);
      ctx.warn("xgboost: " + std::to_string(skipped) + " train/valid rows with a NULL \"" + label_ +
               "\" are left out of training (they are still predicted)");
    }
    s.y_train = label_vector(t, label_, s.train_rows);
    for (float y : s.y_train.y) max_class = std::max<std::int64_t>(max_class, static_cast<std::int64_t>(y));
    mine = {{"label_type", dtype_name(lab.type)},
            {"classes", s.classes},
            {"columns", cols},
            {"train", s.train_rows.size()},
            {"valid", s.valid_rows.size()},
            {"max_class", max_class}};
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    failed = std::current_exception();
    mine = {{"error", e.what()}};
  }
  std::vector<json> all;
  for (const auto& b : coll.allgather(mine.dump())) all.push_back(json::parse(b));
  for (int r = 0; r < world; ++r)
    if (all[static_cast<std::size_t>(r)].contains("error")) {
      if (failed) std::rethrow_exception(failed);
      fail_as_worker(r, world, all[static_cast<std::size_t>(r)]["error"].get<std::string>());
    }

  // The same feature columns, and the same dictionary of each categorical one, everywhere.
  const json& cols0 = all[0]["columns"];
  for (int r = 1; r < world; ++r) {
    const json& cols = all[static_cast<std::size_t>(r)]["columns"];
    std::vector<std::string> a, b;
    for (const auto& c : cols0) a.push_back(c[0].get<std::string>());
    for (const auto& c : cols) b.push_back(c[0].get<std::string>());
    if (a != b)
      throw DataError("xgboost: the feature columns differ between workers (worker 0: " + join_quoted(a) +
                      "; worker " + std::to_string(r) + ": " + join_quoted(b) + ")");
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const std::string name = cols[j][0].get<std::string>();
      if (cols[j][1] != cols0[j][1])
        throw DataError("xgboost: column \"" + name + "\" is " + cols0[j][1].get<std::string>() + " on worker 0 but " +
                        cols[j][1].get<std::string>() + " on worker " + std::to_string(r));
      if (cols[j][2] != cols0[j][2])
        throw DataError("categorical column \"" + name +
                        "\" has a different dictionary on each worker; map it with category_map first or exclude it");
    }
  }
  // The label's classes: a categorical label's dictionary is the class list,
  // so it must be the same everywhere; an int64 label has the classes 0..max
  // of all workers.
  std::int64_t max_all = -1;
  for (const auto& w : all) max_all = std::max(max_all, w["max_class"].get<std::int64_t>());
  if (all[0]["label_type"] == "int64") {
    std::size_t k = 0;
    for (const auto& w : all) k = std::max(k, w["classes"].size());
    if (s.classes.size() < k) {
      s.classes = int_label_names(t, label_, k);
    }
  }
  for (int r = 0; r < world; ++r) {
    const json& w = all[static_cast<std::size_t>(r)];
    if (w["label_type"] != all[0]["label_type"] ||
        (w["label_type"] != "int64" && w["classes"] != all[0]["classes"]))
      throw DataError("label column \"" + label_ + "\" has different classes on each worker (worker 0: " +
                      join_quoted(all[0]["classes"].get<std::vector<std::string>>()) + "; worker " +
                      std::to_string(r) + ": " + join_quoted(w["classes"].get<std::vector<std::string>>()) +
                      "); give every worker the same dictionary (e.g. with category_map)");
  }
  if (s.classes.size() < 2)
    throw DataError("label column \"" + label_ + "\" has a single class (" + join_quoted(s.classes) +
                    "); a classifier needs at least two");
  std::int64_t train = 0;
  for (const auto& w : all) train += w["train"].get<std::int64_t>();
  if (train == 0)
    throw DataError("xgboost: no labelled rows with role train (label \"" + label_ + "\") on any of the " +
                    std::to_string(world) + " workers");
  s.y_train.classes = s.classes;
  std::vector<std::int64_t> per(s.classes.size(), 0);
  for (float y : s.y_train.y) {
    const auto k = static_cast<std::size_t>(y);
    if (k >= per.size())
      throw DataError("label column \"" + label_ + "\" has class index " + std::to_string(k) + " outside " +
                      std::to_string(per.size()) + " classes");
    ++per[k];
  }
  coll.allreduce(per.data(), per.size(), ReduceOp::Sum);
  std::size_t only = 0;
  s.per_class.assign(per.size(), 0);
  for (std::size_t k = 0; k < per.size(); ++k) {
    s.per_class[k] = static_cast<std::size_t>(per[k]);
    if (per[k]) ++s.distinct, only = k;
  }
  if (s.distinct < 2)
    throw DataError("label column \"" + label_ + "\" has a single class (\"" + s.classes[only] + "\") in the " +
                    std::to_string(train) + " training rows of the " + std::to_string(world) +
                    " workers; a classifier needs at least two");
  s.started = std::chrono::steady_clock::now();
  s.native = native_categorical_columns(t, s.columns);
  s.x_train = build_features(t, s.columns, s.train_rows, s.native);
  return s;
}

Table XGBoostTrainer::fit(StageContext& ctx, const Table& t) {
  using clock = std::chrono::steady_clock;
  Collective& coll = ctx.collective();
  const bool dist = coll.distributed();
  if (dist && tree_method_ == "exact")
    throw Error("tree_method \"exact\" cannot train on several workers; use \"hist\" or \"approx\"");
  TrainingSet set = dist ? prepare_distributed(ctx, t)
                         : prepare_training(ctx, t, label_, features_param_, exclude_, "xgboost", true, true);
  std::int64_t valid_all = static_cast<std::int64_t>(set.valid_rows.size());
  std::int64_t train_all = static_cast<std::int64_t>(set.train_rows.size());
  int xgb_major = 0, xgb_minor = 0, xgb_patch = 0;
  XGBoostVersion(&xgb_major, &xgb_minor, &xgb_patch);
  if (dist && tree_method_ == "hist" && xgb_major < 2) {
    // XGBoost 1.7's hist decides locally whether the training matrix is
    // dense (no missing entry; an empty one is): when some workers' are and
    // others' are not, they take different paths and wait for each other
    // forever (seen with 1.7.4). Refuse rather than hang.
    const auto& m = set.x_train;
    std::vector<std::int64_t> dense(static_cast<std::size_t>(coll.world()), 0);
    dense[static_cast<std::size_t>(coll.rank())] = m.values.size() == m.rows * m.cols ? 1 : 0;
    coll.allreduce(dense.data(), dense.size(), ReduceOp::Sum);
    std::string which;
    for (std::size_t r = 0; r < dense.size(); ++r)
      if (dense[r]) which += (which.empty() ? "" : ", ") + std::to_string(r);
    const auto n_dense = std::count(dense.begin(), dense.end(), 1);
    if (n_dense > 0 && n_dense < static_cast<std::ptrdiff_t>(dense.size()))
      throw Error("tree_method \"hist\" cannot train on these workers: the training rows of worker(s) " + which +
                  " have no missing value (or there are none) while the others' have some, and XGBoost " +
                  std::to_string(xgb_major) + "." + std::to_string(xgb_minor) +
                  "'s hist then waits forever; use tree_method = \"approx\"");
  }
  if (dist) {
    // XGBoost itself must be joined to the same workers, or each would train its own model.
    const int xw = XGCommunicatorGetWorldSize(), xr = XGCommunicatorGetRank();
    if (xw != coll.world() || xr != coll.rank())
      throw Error("xgboost: this is worker " + std::to_string(coll.rank()) + " of " + std::to_string(coll.world()) +
                  " but XGBoost's collective is rank " + std::to_string(xr) + " of " + std::to_string(xw) +
                  " (the process has not joined the run's Rabit tracker): each worker would train a model of its "
                  "own rows");
    std::int64_t n[2] = {valid_all, train_all};
    coll.allreduce(n, 2, ReduceOp::Sum);
    valid_all = n[0];
    train_all = n[1];
  }
  classes_ = set.classes;
  columns_ = set.columns;
  native_ = set.native;
  if (!native_.empty() && tree_method_ == "exact")
    throw Error("xgboost: native categorical features (" + join_quoted(native_) +
                ") need tree_method \"hist\" or \"approx\", not \"exact\"");
  const auto& train_rows = set.train_rows;
  const auto& valid_rows = set.valid_rows;
  const LabelVector& ytr = set.y_train;
  const bool binary = classes_.size() == 2;
  objective_ = binary ? "binary:logistic" : "multi:softprob";
  const bool forest = mode_ == "forest";

  const auto t0 = set.started;
  FeatureMatrix& mtr = set.x_train;
  feature_names_ = mtr.names;
  const std::vector<std::uint8_t> feature_cats = mtr.categorical;
  const auto xgb_names = sanitize_feature_names(feature_names_);
  ctx.metric("num_features", static_cast<std::int64_t>(mtr.cols));
  // hist trains on histogram bins: its training matrix is built as a
  // QuantileDMatrix straight from the CSR arrays (bins only, no copy of the
  // values); exact and approx need the values (a DMatrix). The valid rows stay
  // a DMatrix: they are only predicted, and XGBoost 1.7 predicts a
  // QuantileDMatrix 20x slower (dmatrix.hpp).
  const bool quantile = tree_method_ == "hist";
  const auto dmatrix_start = clock::now();
  DMatrixPtr dtrain = quantile ? make_quantile_dmatrix(mtr, xgb_names, &ytr.y, nullptr, static_cast<int>(max_bin_),
                                                       threads())
                               : make_dmatrix(mtr, xgb_names, &ytr.y);
  mtr = FeatureMatrix();  // XGBoost holds its own form of it now
  DMatrixPtr dvalid;
  // On several workers every worker builds the Valid matrix when any has
  // Valid rows (XGBoost's DMatrix and evaluation are collective calls).
  if (valid_all > 0) {
    const LabelVector yva = label_vector(t, label_, valid_rows);
    FeatureMatrix mva = build_features(t, columns_, valid_rows, native_);
    dvalid = make_dmatrix(mva, xgb_names, &yva.y);
  }
  ctx.measure("dmatrix_seconds", std::chrono::duration<double>(clock::now() - dmatrix_start).count());

  std::vector<DMatrixHandle> cache = {dtrain.get()};
  if (dvalid) cache.push_back(dvalid.get());
  BoosterHandle bh = nullptr;
  XGB_CALL(XGBoosterCreate, cache.data(), static_cast<bst_ulong>(cache.size()), &bh);
  booster_.reset(bh);
  void* b = booster_.get();
  const int seed = seed_ >= 0 ? static_cast<int>(seed_) : static_cast<int>(ctx.seed() & 0x7fffffffULL);
  set_param(b, "booster", "gbtree");
  set_param(b, "objective", objective_);
  if (!binary) set_param(b, "num_class", std::to_string(classes_.size()));
  set_param(b, "eval_metric", binary ? "logloss" : "mlogloss");
  set_param(b, "max_depth", std::to_string(max_depth_));
  set_param(b, "min_child_weight", fmt17(min_child_weight_));
  set_param(b, "colsample_bytree", fmt17(colsample_bytree_));
  set_param(b, "lambda", fmt17(lambda_));
  set_param(b, "alpha", fmt17(alpha_));
  set_param(b, "tree_method", tree_method_);
  set_param(b, "max_bin", std::to_string(max_bin_));
  if (!native_.empty()) set_param(b, "max_cat_to_onehot", std::to_string(max_cat_to_onehot_));
  set_param(b, "nthread", std::to_string(threads()));
  set_param(b, "seed", std::to_string(seed));
  if (forest) {
    set_param(b, "num_parallel_tree", std::to_string(forest_trees_));
    set_param(b, "eta", "1");
    set_param(b, "subsample", "0.8");
    set_param(b, "colsample_bynode", "0.8");
  } else {
    set_param(b, "eta", fmt17(eta_));
    set_param(b, "subsample", fmt17(subsample_));
  }
  for (const auto& [k, v] : extra_) set_param(b, k, v);

  const int rounds = forest ? 1 : static_cast<int>(num_round_);
  const bool early = !forest && early_stopping_rounds_ > 0 && dvalid;
  if (!forest && early_stopping_rounds_ > 0 && !dvalid)
    ctx.warn("xgboost: no labelled rows with role valid, early stopping is off");
  DMatrixHandle evals[1] = {dvalid.get()};
  const char* eval_names[1] = {"valid"};
  std::string metric;
  double best_score = 0.0, last_score = 0.0;
  int best = -1, done = 0;
  for (int i = 0; i < rounds; ++i) {
    if (!dist && ctx.cancelled()) throw Interrupted("xgboost: cancelled at round " + std::to_string(i));
    XGB_CALL(XGBoosterUpdateOneIter, b, i, dtrain.get());
    done = i + 1;
    double score = 0.0;
    if (dvalid) {
      const char* out = nullptr;
      XGB_CALL(XGBoosterEvalOneIter, b, i, evals, eval_names, 1, &out);
      if (!parse_eval(out ? out : "", "valid", metric, score))
        throw Error(std::string("xgboost: cannot read the evaluation result \"") + (out ? out : "") + "\"");
    }
    if (dist) {
      // Every worker must take the same decision: the score must be the same
      // everywhere (XGBoost allreduces logloss and mlogloss; a metric it
      // computed per worker would show here), and a cancelled worker stops all.
      double v[3] = {score, -score, ctx.cancelled() ? 1.0 : 0.0};
      coll.allreduce(v, 3, ReduceOp::Max);
      if (v[2] > 0) throw Interrupted("xgboost: cancelled at round " + std::to_string(i));
      if (v[0] != -v[1])
        throw Error("xgboost: the valid " + metric + " differs between the workers at round " + std::to_string(i) +
                    " (from " + fmt17(-v[1]) + " to " + fmt17(v[0]) +
                    "): XGBoost does not combine this metric over the workers, so early stopping cannot take the "
                    "same decision on each; use its default (logloss / mlogloss)");
    }
    if (dvalid) {
      last_score = score;
      if (early) {
        const bool better = best < 0 || (metric_maximize(metric) ? score > best_score : score < best_score);
        if (better) {
          best = i;
          best_score = score;
        } else if (i - best >= early_stopping_rounds_) {
          break;
        }
      }
    }
    ctx.progress(static_cast<double>(i + 1) / rounds);
  }
  if (!early) {
    best = done - 1;
    best_score = last_score;
  }
  best_iteration_ = best;
  XGB_CALL(XGBoosterBoostedRounds, b, &boosted_rounds_);
  const double train_s = std::chrono::duration<double>(clock::now() - t0).count();
  dtrain.reset();
  dvalid.reset();
  ctx.measure("train_seconds", train_s);
  ctx.metric("best_iteration", best_iteration_);
  ctx.metric("boosted_rounds", boosted_rounds_);
  ctx.metric("train_rows", train_all);  // over all workers
  if (dist) ctx.measure("local_train_rows", static_cast<double>(train_rows.size()));
  if (!metric.empty()) ctx.metric("valid_" + metric, best_score);
  if (early && done < rounds)
    ctx.info("xgboost: early stop after " + std::to_string(done) + " rounds, best iteration " +
             std::to_string(best_iteration_) + " (valid " + metric + " " + fmt17(best_score) + ")");

  // The booster keeps the (sanitised) feature names: they go into model.json
  // and XGBoost checks them against every DMatrix it predicts.
  {
    std::vector<const char*> names;
    for (const auto& n : xgb_names) names.push_back(n.c_str());
    XGB_CALL(XGBoosterSetStrFeatureInfo, b, "feature_name", names.data(), static_cast<bst_ulong>(names.size()));
  }
  set_booster_feature_types(b, feature_cats);
  if (dist) {
    // The workers must hold one model: compare a hash of it.
    bst_ulong len = 0;
    const char* raw = nullptr;
    XGB_CALL(XGBoosterSaveModelToBuffer, b, R"({"format": "json"})", &len, &raw);
    const std::uint64_t h = hash_strings({std::string(raw, static_cast<std::size_t>(len))});
    std::int64_t v[2];
    std::memcpy(&v[0], &h, sizeof h);
    v[1] = -v[0] - 1;  // max of -x-1 = -(min of x)-1, without overflow
    coll.allreduce(v, 2, ReduceOp::Max);
    if (v[0] != -v[1] - 1)
      throw Error("xgboost: the workers ended with different models (best iteration " +
                  std::to_string(best_iteration_) + "); XGBoost did not train them as one");
  }

  // Gain per feature of the trees actually used, as an artifact.
  {
    BoosterHandle used = nullptr;
    bool sliced = false;
    if (best_iteration_ + 1 < boosted_rounds_) {
      XGB_CALL(XGBoosterSlice, b, 0, best_iteration_ + 1, 1, &used);
      sliced = true;
    } else {
      used = b;
    }
    BoosterPtr owned(sliced ? used : nullptr);
    bst_ulong nf = 0, dim = 0;
    const char** fnames = nullptr;
    const bst_ulong* shape = nullptr;
    const float* scores = nullptr;
    const std::string cfg = json{{"importance_type", "gain"}, {"feature_names", xgb_names}}.dump();
    XGB_CALL(XGBoosterFeatureScore, used, cfg.c_str(), &nf, &fnames, &dim, &shape, &scores);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < xgb_names.size(); ++i) index.emplace(xgb_names[i], i);
    std::vector<double> gain(xgb_names.size(), 0.0);
    for (bst_ulong i = 0; i < nf; ++i) {
      auto it = index.find(fnames[i]);
      if (it != index.end()) gain[it->second] = scores[i];
    }
    std::vector<std::size_t> order(gain.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t c) { return gain[a] > gain[c]; });
    json fi = json::array();
    for (auto i : order) fi.push_back({{"feature", feature_names_[i]}, {"gain", gain[i]}});
    std::ofstream f(ctx.artifact_dir() / "feature_importance.json", std::ios::binary);
    f << json{{"importance_type", "gain"}, {"model", ctx.stage_id()}, {"features", fi}}.dump(2) << "\n";
    if (!f) throw Error("xgboost: cannot write feature_importance.json");
  }

  Table out = predict_for_consumers(ctx, t);
  if (!dist) record_importance(ctx, *this, t, threads());
  return out;
}

Table XGBoostTrainer::predict_for_consumers(StageContext& ctx, const Table& t) {
  const PredictedRows p = rows_to_predict(ctx, t, "xgboost");
  if (p.all) {
    std::vector<std::uint32_t> all(t.rows());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint32_t>(i);
    return predict_all(ctx, t, build_features(t, columns_, all, native_));
  }
  const FeatureMatrix m = build_features(t, columns_, p.rows, native_);
  return with_predictions(t, classes_, predict_proba(ctx, m, p.rows.size()), ctx.stage_id(), p.rows);
}

Explanation XGBoostTrainer::explain(const Table& t, const std::vector<std::uint32_t>& rows, int) const {
  if (!booster_) throw Error("xgboost: nothing fitted or loaded to explain");
  const FeatureMatrix m = build_features(t, columns_, rows, native_);
  check_feature_names(feature_names_, m.names, "xgboost");
  Explanation e;
  e.features = feature_names_;
  e.origins = feature_origins(t, columns_, native_);
  if (e.origins.size() != e.features.size())
    throw Error("xgboost: " + std::to_string(e.origins.size()) + " feature origins for " +
                std::to_string(e.features.size()) + " features");
  e.groups = classes_.size() == 2 ? std::vector<std::string>{classes_[1]} : classes_;
  e.rows = rows.size();
  e.note = "exact TreeSHAP (XGBoost) over the trees up to the best iteration; each row's contributions add up to "
           "its margin (binary: the log-odds of pred_proba)";
  if (e.rows == 0) return e;
  // (rows, groups, features + 1), the bias last.
  const auto v = predict_raw(m, 2, "contributions", e.rows * e.groups.size() * e.width(), 3);
  e.values.assign(v.begin(), v.end());
  return e;
}

std::vector<float> XGBoostTrainer::predict_raw(const FeatureMatrix& m, int type, const char* what, std::size_t expect,
                                               std::uint64_t strict_dim) const {
  DMatrixPtr d = make_dmatrix(m, sanitize_feature_names(feature_names_), nullptr);
  const json cfg = {{"type", type},
                    {"training", false},
                    {"iteration_begin", 0},
                    {"iteration_end", best_iteration_ + 1},
                    {"strict_shape", strict_dim > 0}};
  const std::string cfg_s = cfg.dump();
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  XGB_CALL(XGBoosterPredictFromDMatrix, booster_.get(), d.get(), cfg_s.c_str(), &shape, &dim, &out);
  std::size_t total = 1;
  for (bst_ulong i = 0; i < dim; ++i) total *= static_cast<std::size_t>(shape[i]);
  if ((strict_dim > 0 && dim != strict_dim) || total != expect)
    throw Error(std::string("xgboost: ") + what + " has " + std::to_string(total) + " values, expected " +
                std::to_string(expect));
  return std::vector<float>(out, out + total);
}

Table XGBoostTrainer::predict_all(StageContext& ctx, const Table& t, const FeatureMatrix& m) {
  return with_predictions(t, classes_, predict_proba(ctx, m, t.rows()), ctx.stage_id());
}

std::vector<float> XGBoostTrainer::predict_proba(StageContext& ctx, const FeatureMatrix& m, std::size_t n) {
  using clock = std::chrono::steady_clock;
  const std::size_t k = classes_.size() == 2 ? 1 : classes_.size();
  std::vector<float> proba;
  // On several workers a DMatrix is built even for no rows: building one is a collective call.
  if (n > 0 || ctx.collective().distributed()) {
    const auto t0 = clock::now();
    proba = predict_raw(m, 0, "prediction", n * k, 0);
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    ctx.measure("predict_rows_per_second", s > 0 ? static_cast<double>(n) / s : 0.0);
  }
  return proba;
}

Table XGBoostTrainer::apply(StageContext& ctx, const Table& t) {
  if (!booster_) throw Error("xgboost: apply mode without a loaded model (load_state was not called)");
  std::vector<std::uint32_t> all(t.rows());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint32_t>(i);
  const FeatureMatrix m = build_features(t, columns_, all, native_);
  check_feature_names(feature_names_, m.names, "xgboost");
  return predict_all(ctx, t, m);
}

json XGBoostTrainer::save_state(const std::filesystem::path& dir) const {
  if (!booster_) throw Error("xgboost: nothing fitted to save");
  std::filesystem::create_directories(dir);
  // A model with categorical splits is saved as UBJSON: XGBoost 1.7 writes
  // NaN (not JSON) into their JSON. XGBoost chooses the format by the name.
  const std::string file = native_.empty() ? "model.json" : "model.ubj";
  const auto path = (dir / file).string();
  XGB_CALL(XGBoosterSaveModel, booster_.get(), path.c_str());
  return json{{"model", file},                 {"label", label_},
              {"classes", classes_},           {"features", columns_},
              {"feature_names", feature_names_}, {"best_iteration", best_iteration_},
              {"boosted_rounds", boosted_rounds_}, {"objective", objective_},
              {"mode", mode_},                 {"native_categorical", native_}};
}

void XGBoostTrainer::load_state(const json& state, const std::filesystem::path& dir) {
  auto need = [&](const char* key, bool ok) {
    if (!state.is_object() || !state.contains(key) || !ok)
      throw Error(std::string("xgboost state: missing or malformed \"") + key + "\"");
  };
  need("model", state.is_object() && state.contains("model") && state["model"].is_string());
  need("label", state.contains("label") && state["label"].is_string());
  need("classes", state.contains("classes") && state["classes"].is_array());
  need("features", state.contains("features") && state["features"].is_array());
  need("feature_names", state.contains("feature_names") && state["feature_names"].is_array());
  need("best_iteration", state.contains("best_iteration") && state["best_iteration"].is_number_integer());
  need("objective", state.contains("objective") && state["objective"].is_string());
  label_ = state["label"].get<std::string>();
  classes_ = state["classes"].get<std::vector<std::string>>();
  columns_ = state["features"].get<std::vector<std::string>>();
  feature_names_ = state["feature_names"].get<std::vector<std::string>>();
  best_iteration_ = state["best_iteration"].get<int>();
  objective_ = state["objective"].get<std::string>();
  native_.clear();
  if (state.contains("native_categorical")) {
    need("native_categorical", state["native_categorical"].is_array());
    native_ = state["native_categorical"].get<std::vector<std::string>>();
  }
  if (classes_.size() < 2) throw Error("xgboost state: fewer than two classes");
  const std::string expect = classes_.size() == 2 ? "binary:logistic" : "multi:softprob";
  if (objective_ != expect)
    throw Error("xgboost state: objective \"" + objective_ + "\" does not fit " + std::to_string(classes_.size()) +
                " classes");
  const auto path = (dir / state["model"].get<std::string>()).string();
  BoosterHandle bh = nullptr;
  XGB_CALL(XGBoosterCreate, nullptr, 0, &bh);
  booster_.reset(bh);
  XGB_CALL(XGBoosterLoadModel, bh, path.c_str());
  XGB_CALL(XGBoosterBoostedRounds, bh, &boosted_rounds_);
  if (best_iteration_ < 0 || best_iteration_ >= boosted_rounds_)
    throw Error("xgboost state: best_iteration " + std::to_string(best_iteration_) + " outside the model's " +
                std::to_string(boosted_rounds_) + " rounds");
  set_param(bh, "nthread", std::to_string(threads()));
}

}  // namespace pipectl::xgb
