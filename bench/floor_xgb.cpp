// floor_xgb: bare XGBoost training (C API) on the matrix pipectl's trainer sees.
//
//   floor_xgb --run RUN_DIR --cache CACHE_DIR [--stage ID] [--nthread N] [--valid-quantile]
//             [--save-dmatrix PREFIX]
//
// RUN_DIR is a pipectl run folder: its resolved pipeline.toml gives the
// trainer stage (the first xgboost stage, or --stage), its parameters (every
// default filled), its input stage and the pipeline seed. The input stage's
// output table is read from the stage cache (CACHE_DIR/index/<pipeline>.json
// maps stage id -> key; the table is <key[0:2]>/<key>/table.bin), so that run
// (or an earlier one of the same upstream stages) must have used the cache.
//
// The matrices are built exactly as the trainer builds them (feature_columns,
// native_categorical_columns, build_features, label_vector over the labelled
// train / valid rows; plugins/xgboost/dmatrix.hpp: a QuantileDMatrix of the
// train rows for tree_method "hist", a DMatrix otherwise and for the valid
// rows); then, each phase timed on its own:
//   features_s      pipectl::build_features + label_vector (train + valid)
//   dmatrix_s       the train and valid matrices (with their labels)
//   boost_s         XGBoosterCreate, the parameters, and the rounds with early
//                   stopping on the valid rows -- the floor "bare training"
//   predict_read_s  build_features + DMatrix + predict of the rows the
//                   trainer stage predicts after training in iot.toml: those
//                   its consumer (the evaluator) reads, valid and test
//   predict_all_s   the same for every row, predict_test_s for the test rows
// train_s = features_s + dmatrix_s + boost_s + predict_read_s: the work of
// the trainer stage but for what it adds (the stage's table, its feature
// importance by TreeShap over up to 10,000 test rows, the model's files).
// Wall seconds, and CPU seconds of every thread under "cpu_s"; one JSON object.
// --valid-quantile builds the valid matrix as a QuantileDMatrix on the train
// matrix's cuts (what XGBoost's own QuantileDMatrix(ref=...) does), to measure
// that choice. --save-dmatrix writes the train and valid rows as DMatrix
// buffers (PREFIX.train.buffer, PREFIX.valid.buffer) to compare other
// trainers on the very same matrix.
#include <pipectl/features.hpp>
#include <pipectl/trainer.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/table.hpp>
#include <pipectl/table_io.hpp>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>
#include <xgboost/c_api.h>

#include "dmatrix.hpp"
#include "xgboost.hpp"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

using json = nlohmann::json;
namespace fs = std::filesystem;

#define XGB(call)                                                                             \
  do {                                                                                        \
    if ((call) != 0) throw std::runtime_error(std::string(#call ": ") + XGBGetLastError()); \
  } while (0)

namespace {

using clk = std::chrono::steady_clock;
double since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }
// CPU seconds of the whole process (every thread).
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string fmt17(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A TOML value of the resolved pipeline as XGBoost's parameter text.
std::string text_of(const toml::node& n) {
  if (auto v = n.as_string()) return v->get();
  if (auto v = n.as_integer()) return std::to_string(v->get());
  if (auto v = n.as_floating_point()) return fmt17(v->get());
  if (auto v = n.as_boolean()) return v->get() ? "true" : "false";
  throw std::runtime_error("unexpected parameter type");
}

struct Trainer {
  std::string id, input, label;
  std::vector<std::string> features, exclude;
  std::int64_t num_round = 300, early = 20, nthread = 0, seed = -1, max_bin = 256, max_cat_to_onehot = 4;
  std::string tree_method = "hist";
  std::vector<std::pair<std::string, std::string>> params;  // XGBoost parameters
};

std::vector<std::uint32_t> labelled(const pipectl::Table& t, const std::string& label, pipectl::Role r) {
  const auto& c = t.at(label);
  std::vector<std::uint32_t> keep;
  for (auto i : t.rows_with(r))
    if (!(c.is_null(i) || (c.type == pipectl::DType::Categorical && c.codes[i] < 0))) keep.push_back(i);
  return keep;
}

}  // namespace

int main(int argc, char** argv) try {
  fs::path run_dir, cache_dir;
  std::string stage_id;
  long nthread_override = -1;
  std::string save_prefix;
  bool valid_quantile = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--run") run_dir = next();
    else if (a == "--cache") cache_dir = next();
    else if (a == "--stage") stage_id = next();
    else if (a == "--nthread") nthread_override = std::stol(next());
    else if (a == "--save-dmatrix") save_prefix = next();
    else if (a == "--valid-quantile") valid_quantile = true;
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: floor_xgb --run RUN_DIR --cache CACHE_DIR [--stage ID] [--nthread N] [--valid-quantile] [--save-dmatrix PREFIX]\n";
      return 0;
    } else throw std::runtime_error("unknown argument " + a);
  }
  if (run_dir.empty() || cache_dir.empty()) {
    std::cerr << "usage: floor_xgb --run RUN_DIR --cache CACHE_DIR [--stage ID] [--nthread N] [--valid-quantile] [--save-dmatrix PREFIX]\n";
    return 2;
  }

  // The trainer's resolved parameters.
  const toml::table doc = toml::parse_file((run_dir / "pipeline.toml").string());
  const std::string pipeline = doc["pipeline"]["name"].value_or(std::string("pipeline"));
  const std::int64_t pipeline_seed = doc["pipeline"]["seed"].value_or(std::int64_t{0});
  Trainer tr;
  const toml::array* stages = doc["stage"].as_array();
  if (!stages) throw std::runtime_error("no [[stage]] in the run's pipeline.toml");
  for (const auto& node : *stages) {
    const auto* s = node.as_table();
    if (!s) continue;
    const std::string id = (*s)["id"].value_or(std::string());
    const std::string plugin = (*s)["plugin"].value_or(std::string());
    if (!(stage_id.empty() ? plugin == "xgboost" : id == stage_id)) continue;
    if (plugin != "xgboost") throw std::runtime_error("stage " + id + " is not an xgboost stage");
    if ((*s)["mode"].value_or(std::string("boosted")) != "boosted")
      throw std::runtime_error("only mode = \"boosted\" is supported");
    tr.id = id;
    tr.input = (*s)["inputs"][0].value_or(std::string());
    tr.label = (*s)["label"].value_or(std::string("is_iot"));
    if (auto f = (*s)["features"].as_array())
      for (const auto& x : *f) tr.features.push_back(x.value_or(std::string()));
    if (auto f = (*s)["exclude"].as_array())
      for (const auto& x : *f) tr.exclude.push_back(x.value_or(std::string()));
    tr.num_round = (*s)["num_round"].value_or(std::int64_t{300});
    tr.early = (*s)["early_stopping_rounds"].value_or(std::int64_t{20});
    tr.nthread = (*s)["nthread"].value_or(std::int64_t{0});
    tr.seed = (*s)["seed"].value_or(std::int64_t{-1});
    tr.tree_method = (*s)["tree_method"].value_or(std::string("hist"));
    tr.max_bin = (*s)["max_bin"].value_or(std::int64_t{256});
    tr.max_cat_to_onehot = (*s)["max_cat_to_onehot"].value_or(std::int64_t{4});
    // Everything the plugin sets (plugins/xgboost/xgboost.cpp, fit()), in its order.
    for (const char* k : {"max_depth", "min_child_weight", "colsample_bytree", "lambda", "alpha", "tree_method",
                          "max_bin"})
      tr.params.emplace_back(k, text_of(*(*s)[k].node()));
    tr.params.emplace_back("eta", text_of(*(*s)["eta"].node()));
    tr.params.emplace_back("subsample", text_of(*(*s)["subsample"].node()));
    if (auto extra = (*s)["params"].as_table())
      for (const auto& [k, v] : *extra) tr.params.emplace_back(std::string(k.str()), text_of(v));
    break;
  }
  if (tr.id.empty()) throw std::runtime_error("no xgboost stage in " + (run_dir / "pipeline.toml").string());
  if (nthread_override >= 0) tr.nthread = nthread_override;
  const unsigned hc = std::thread::hardware_concurrency();
  const int threads = tr.nthread > 0 ? static_cast<int>(tr.nthread) : (hc == 0 ? 1 : static_cast<int>(hc));
  const int seed = tr.seed >= 0 ? static_cast<int>(tr.seed)
                                : static_cast<int>(pipectl::stage_seed(pipeline_seed, tr.id) & 0x7fffffffULL);

  // The trainer's input from the stage cache.
  std::string safe;
  for (char c : pipeline) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  const json index = json::parse(read_text(cache_dir / "index" / (safe + ".json")));
  if (!index.contains(tr.input))
    throw std::runtime_error("stage \"" + tr.input + "\" is not in the cache index of \"" + pipeline + "\"");
  const std::string key = index[tr.input]["key"].get<std::string>();
  const fs::path table_file = cache_dir / key.substr(0, 2) / key / "table.bin";
  auto t0 = clk::now();
  const pipectl::Table t = pipectl::read_table(table_file);
  const double read_s = since(t0);

  // The matrices, as the trainer builds them.
  t0 = clk::now();
  double c0 = cpu_now();
  const auto columns = pipectl::feature_columns(t, tr.label, tr.features, tr.exclude);
  const auto native = pipectl::native_categorical_columns(t, columns);
  const auto classes = pipectl::label_classes(t, tr.label);
  if (classes.size() != 2) throw std::runtime_error("floor_xgb handles binary labels only");
  const auto train_rows = labelled(t, tr.label, pipectl::Role::Train);
  const auto valid_rows = labelled(t, tr.label, pipectl::Role::Valid);
  const auto ytr = pipectl::label_vector(t, tr.label, train_rows);
  const auto yva = pipectl::label_vector(t, tr.label, valid_rows);
  pipectl::FeatureMatrix mtr = pipectl::build_features(t, columns, train_rows, native);
  pipectl::FeatureMatrix mva = pipectl::build_features(t, columns, valid_rows, native);
  const double features_s = since(t0);
  const double features_cpu = cpu_now() - c0;
  const std::size_t nnz = mtr.values.size() + mva.values.size();
  const std::size_t cols = mtr.cols;
  const auto names = pipectl::xgb::sanitize_feature_names(mtr.names);

  t0 = clk::now();
  c0 = cpu_now();
  const bool quantile = tr.tree_method == "hist";
  pipectl::xgb::DMatrixPtr dtrain =
      quantile ? pipectl::xgb::make_quantile_dmatrix(mtr, names, &ytr.y, nullptr, static_cast<int>(tr.max_bin), threads)
               : pipectl::xgb::make_dmatrix(mtr, names, &ytr.y);
  pipectl::xgb::DMatrixPtr dvalid =
      quantile && valid_quantile
          ? pipectl::xgb::make_quantile_dmatrix(mva, names, &yva.y, dtrain.get(), static_cast<int>(tr.max_bin), threads)
          : pipectl::xgb::make_dmatrix(mva, names, &yva.y);
  const double dmatrix_s = since(t0);
  const double dmatrix_cpu = cpu_now() - c0;
  if (!save_prefix.empty()) {  // for comparisons: xgboost.DMatrix("<prefix>.train.buffer") in Python
    const auto a = pipectl::xgb::make_dmatrix(mtr, names, &ytr.y);
    const auto v = pipectl::xgb::make_dmatrix(mva, names, &yva.y);
    XGB(XGDMatrixSaveBinary(a.get(), (save_prefix + ".train.buffer").c_str(), 1));
    XGB(XGDMatrixSaveBinary(v.get(), (save_prefix + ".valid.buffer").c_str(), 1));
  }
  mtr = pipectl::FeatureMatrix();
  mva = pipectl::FeatureMatrix();

  // Bare training: the plugin's parameters, its loop and its early stopping.
  t0 = clk::now();
  c0 = cpu_now();
  DMatrixHandle cache[2] = {dtrain.get(), dvalid.get()};
  BoosterHandle b = nullptr;
  XGB(XGBoosterCreate(cache, 2, &b));
  XGB(XGBoosterSetParam(b, "booster", "gbtree"));
  XGB(XGBoosterSetParam(b, "objective", "binary:logistic"));
  XGB(XGBoosterSetParam(b, "eval_metric", "logloss"));
  for (const auto& [k, v] : tr.params) XGB(XGBoosterSetParam(b, k.c_str(), v.c_str()));
  if (!native.empty())
    XGB(XGBoosterSetParam(b, "max_cat_to_onehot", std::to_string(tr.max_cat_to_onehot).c_str()));
  XGB(XGBoosterSetParam(b, "nthread", std::to_string(threads).c_str()));
  XGB(XGBoosterSetParam(b, "seed", std::to_string(seed).c_str()));
  DMatrixHandle evals[1] = {dvalid.get()};
  const char* eval_names[1] = {"valid"};
  int best = -1, done = 0;
  double best_score = 0;
  for (int i = 0; i < tr.num_round; ++i) {
    XGB(XGBoosterUpdateOneIter(b, i, dtrain.get()));
    done = i + 1;
    const char* out = nullptr;
    XGB(XGBoosterEvalOneIter(b, i, evals, eval_names, 1, &out));
    const char* colon = out ? std::strrchr(out, ':') : nullptr;
    if (!colon) throw std::runtime_error(std::string("cannot read the evaluation ") + (out ? out : ""));
    const double score = std::strtod(colon + 1, nullptr);
    if (tr.early > 0) {
      if (best < 0 || score < best_score) {
        best = i;
        best_score = score;
      } else if (i - best >= tr.early) {
        break;
      }
    }
  }
  if (tr.early <= 0) best = done - 1;
  const double boost_s = since(t0);
  const double boost_cpu = cpu_now() - c0;
  dtrain.reset();
  dvalid.reset();

  // Prediction of the rows the stage predicts (those its consumers read), of every row, of the test rows.
  auto predict = [&](const std::vector<std::uint32_t>& rows, std::size_t& n_out) {
    const auto p0 = clk::now();
    const pipectl::FeatureMatrix m = pipectl::build_features(t, columns, rows, native);
    const auto d = pipectl::xgb::make_dmatrix(m, names, nullptr);
    const std::string cfg = json{{"type", 0},
                                 {"training", false},
                                 {"iteration_begin", 0},
                                 {"iteration_end", best + 1},
                                 {"strict_shape", false}}
                                .dump();
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    XGB(XGBoosterPredictFromDMatrix(b, d.get(), cfg.c_str(), &shape, &dim, &out));
    n_out = dim > 0 ? static_cast<std::size_t>(shape[0]) : 0;
    return since(p0);
  };
  std::vector<std::uint32_t> read_rows, all_rows(t.rows());
  for (std::size_t i = 0; i < t.rows(); ++i) {
    all_rows[i] = static_cast<std::uint32_t>(i);
    if (t.roles()[i] == pipectl::Role::Valid || t.roles()[i] == pipectl::Role::Test)
      read_rows.push_back(static_cast<std::uint32_t>(i));
  }
  std::size_t n_read = 0, n_all = 0, n_test = 0;
  c0 = cpu_now();
  const double predict_read_s = predict(read_rows, n_read);
  const double predict_read_cpu = cpu_now() - c0;
  c0 = cpu_now();
  const double predict_all_s = predict(all_rows, n_all);
  const double predict_all_cpu = cpu_now() - c0;
  c0 = cpu_now();
  const double predict_test_s = predict(t.rows_with(pipectl::Role::Test), n_test);
  const double predict_test_cpu = cpu_now() - c0;

  XGBoosterFree(b);
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);

  json params = json::object();
  for (const auto& [k, v] : tr.params) params[k] = v;
  params["nthread"] = threads;
  params["seed"] = seed;
  params["num_round"] = tr.num_round;
  params["early_stopping_rounds"] = tr.early;
  const json res = {{"stage", tr.id},
                    {"input", tr.input},
                    {"table", table_file.string()},
                    {"rows", t.rows()},
                    {"train_rows", train_rows.size()},
                    {"valid_rows", valid_rows.size()},
                    {"num_features", cols},
                    {"nnz_train_valid", nnz},
                    {"best_iteration", best},
                    {"boosted_rounds", done},
                    {"valid_logloss", best_score},
                    {"read_table_s", read_s},
                    {"features_s", features_s},
                    {"dmatrix_s", dmatrix_s},
                    {"boost_s", boost_s},
                    {"train_s", features_s + dmatrix_s + boost_s + predict_read_s},
                    {"quantile_train", quantile},
                    {"quantile_valid", quantile && valid_quantile},
                    {"native_categorical", native},
                    {"predict_read_s", predict_read_s},
                    {"predict_read_rows", n_read},
                    {"predict_all_s", predict_all_s},
                    {"predict_all_rows", n_all},
                    {"predict_test_s", predict_test_s},
                    {"predict_test_rows", n_test},
                    {"cpu_s", {{"features", features_cpu},
                               {"dmatrix", dmatrix_cpu},
                               {"boost", boost_cpu},
                               {"train", features_cpu + dmatrix_cpu + boost_cpu + predict_read_cpu},
                               {"predict_read", predict_read_cpu},
                               {"predict_all", predict_all_cpu},
                               {"predict_test", predict_test_cpu}}},
                    {"params", params},
                    {"xgboost", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch)}};
  std::cout << res.dump(2) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "floor_xgb: " << e.what() << "\n";
  return 1;
}
