// build_compare: a run folder -> the models side by side.
#include "compare_report.hpp"

#include "paired.hpp"
#include "report_detail.hpp"

#include <pipectl/run_folder.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace pipectl::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string slurp(const fs::path& p, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(p, ec)) throw Error(what + " " + p.string() + " is missing");
  if (fs::is_directory(p, ec)) throw Error(what + " " + p.string() + " is a folder, not a file");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error("cannot read " + what + " " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json(const fs::path& p, const std::string& what) {
  const std::string text = slurp(p, what);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(what + " " + p.string() + " is not valid JSON: " + e.what());
  }
}

// One [[stage]] of the resolved pipeline.
struct StageDecl {
  std::string id, plugin;
  std::vector<std::string> inputs;
  bool curves = true;  // the evaluator's "curves" parameter (true when absent)
};

std::vector<StageDecl> read_pipeline(const fs::path& p) {
  const std::string text = slurp(p, "the resolved pipeline");
  toml::table root;
  try {
    root = toml::parse(text, p.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "the resolved pipeline " << p.string() << " is not valid TOML (line " << e.source().begin.line << "): "
       << e.description();
    throw Error(os.str());
  }
  const toml::array* stages = root["stage"].as_array();
  if (!stages) throw Error("the resolved pipeline " + p.string() + " has no [[stage]] table");
  std::vector<StageDecl> out;
  for (std::size_t i = 0; i < stages->size(); ++i) {
    const toml::table* t = (*stages)[i].as_table();
    const std::string where = "the resolved pipeline " + p.string() + ": stage " + std::to_string(i + 1);
    if (!t) throw Error(where + " is not a table");
    StageDecl d;
    auto id = (*t)["id"].value<std::string>();
    auto plugin = (*t)["plugin"].value<std::string>();
    if (!id) throw Error(where + " has no string \"id\"");
    if (!plugin) throw Error(where + " (\"" + *id + "\") has no string \"plugin\"");
    d.id = *id;
    d.plugin = *plugin;
    if (const toml::array* in = (*t)["inputs"].as_array()) {
      for (const auto& v : *in) {
        auto s = v.value<std::string>();
        if (!s) throw Error(where + " (\"" + d.id + "\"): \"inputs\" must hold stage ids (strings)");
        d.inputs.push_back(*s);
      }
    }
    if (auto c = (*t)["curves"].value<bool>()) d.curves = *c;
    out.push_back(std::move(d));
  }
  return out;
}

double num(const json& obj, const char* key) {
  if (!obj.is_object()) return kNaN;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return kNaN;
  return it->get<double>();
}

std::string format_utc(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "";
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

// --- curves ------------------------------------------------------------------

std::vector<double> numbers(const json& arr, const std::string& what) {
  if (!arr.is_array()) throw Error(what + " is not an array");
  std::vector<double> v;
  v.reserve(arr.size());
  for (const auto& x : arr) {
    if (!x.is_number()) throw Error(what + " holds a value that is not a number");
    v.push_back(x.get<double>());
  }
  return v;
}

struct XY {
  std::vector<double> x, y;
};

// Validate a {"roc": …, "pr": …} pair; returns the cleaned-up copy (null kept).
json clean_pair(const json& c, const std::string& where) {
  json out = json::object();
  if (!c.is_object()) throw Error(where + " is not an object with \"roc\" and \"pr\"");
  const json roc = c.value("roc", json());
  if (roc.is_null()) {
    out["roc"] = nullptr;
  } else {
    if (!roc.is_object()) throw Error(where + ": \"roc\" is not an object");
    if (!roc.contains("fpr") || !roc.contains("tpr")) throw Error(where + ": \"roc\" lacks \"fpr\" or \"tpr\"");
    auto f = numbers(roc["fpr"], where + ": roc.fpr");
    auto t = numbers(roc["tpr"], where + ": roc.tpr");
    if (f.size() != t.size()) throw Error(where + ": roc.fpr and roc.tpr differ in length");
    json r = {{"fpr", f}, {"tpr", t}, {"auc", roc.value("auc", json())}};
    if (roc.contains("threshold")) r["threshold"] = roc["threshold"];
    out["roc"] = r;
  }
  const json pr = c.value("pr", json());
  if (pr.is_null()) {
    out["pr"] = nullptr;
  } else {
    if (!pr.is_object()) throw Error(where + ": \"pr\" is not an object");
    if (!pr.contains("recall") || !pr.contains("precision"))
      throw Error(where + ": \"pr\" lacks \"recall\" or \"precision\"");
    auto r = numbers(pr["recall"], where + ": pr.recall");
    auto p = numbers(pr["precision"], where + ": pr.precision");
    if (r.size() != p.size()) throw Error(where + ": pr.recall and pr.precision differ in length");
    json o = {{"recall", r}, {"precision", p}, {"average_precision", pr.value("average_precision", json())}};
    if (pr.contains("threshold")) o["threshold"] = pr["threshold"];
    out["pr"] = o;
  }
  return out;
}

// Macro-average ROC: mean TPR over the union of the classes' FPR points. At an
// FPR where a class's curve rises vertically, the curve takes both its lowest
// and its highest TPR there, so the average keeps the steps.
json macro_roc(const std::vector<XY>& curves) {
  std::set<double> grid;
  for (const auto& c : curves) grid.insert(c.x.begin(), c.x.end());
  grid.insert(0.0);
  grid.insert(1.0);
  auto at = [](const XY& c, double f, bool high) {
    // Points are in non-decreasing FPR order.
    double lo = kNaN, hi = kNaN;
    std::size_t before = c.x.size(), after = c.x.size();
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      if (c.x[i] == f) {
        lo = std::isnan(lo) ? c.y[i] : std::min(lo, c.y[i]);
        hi = std::isnan(hi) ? c.y[i] : std::max(hi, c.y[i]);
      } else if (c.x[i] < f) {
        before = i;
      } else if (after == c.x.size()) {
        after = i;
      }
    }
    if (!std::isnan(lo)) return high ? hi : lo;
    if (before == c.x.size()) return after == c.x.size() ? 0.0 : (f <= 0 ? 0.0 : c.y[after] * f / c.x[after]);
    if (after == c.x.size()) return c.y[before] + (1.0 - c.y[before]) * (f - c.x[before]) / (1.0 - c.x[before]);
    const double w = (f - c.x[before]) / (c.x[after] - c.x[before]);
    return c.y[before] + w * (c.y[after] - c.y[before]);
  };
  std::vector<double> fpr, tpr;
  const double n = static_cast<double>(curves.size());
  for (double f : grid) {
    double lo = 0, hi = 0;
    for (const auto& c : curves) lo += at(c, f, false), hi += at(c, f, true);
    lo /= n, hi /= n;
    fpr.push_back(f), tpr.push_back(lo);
    if (hi != lo) fpr.push_back(f), tpr.push_back(hi);
  }
  return {{"fpr", fpr}, {"tpr", tpr}};
}

// Macro-average PR: mean interpolated precision (the best precision at a recall
// at least as large) over the union of the classes' recall points.
json macro_pr(const std::vector<XY>& curves) {
  std::set<double> grid;
  for (const auto& c : curves) grid.insert(c.x.begin(), c.x.end());
  std::vector<double> recall, precision;
  const double n = static_cast<double>(curves.size());
  for (double r : grid) {
    double s = 0;
    for (const auto& c : curves) {
      double best = 0;
      for (std::size_t i = 0; i < c.x.size(); ++i)
        if (c.x[i] >= r) best = std::max(best, c.y[i]);
      s += best;
    }
    recall.push_back(r);
    precision.push_back(s / n);
  }
  return {{"recall", recall}, {"precision", precision}};
}

// The plotted curves of one model from its curves.json.
json model_curves(const json& doc, const fs::path& file, const ModelRow& row, std::vector<std::string>& notes) {
  const std::string where = file.string();
  if (!doc.is_object()) throw Error(where + " is not a JSON object");
  json out = json::object();
  out["roc"] = nullptr;
  out["pr"] = nullptr;
  const json curves = doc.value("curves", json());
  if (curves.is_null()) {
    out["kind"] = "none";
    notes.push_back("model \"" + row.name + "\" has no curves (its predictions carry no probabilities)");
    return out;
  }
  if (!curves.is_object()) throw Error(where + ": \"curves\" is not an object");
  const bool binary_shape = curves.contains("roc") || curves.contains("pr");
  if (binary_shape && !row.multiclass) {
    json pair = clean_pair(curves, where + ": curves");
    out["kind"] = "binary";
    if (doc.contains("positive_class")) out["positive_class"] = doc["positive_class"];
    out["roc"] = pair["roc"];
    out["pr"] = pair["pr"];
    return out;
  }
  // Multiclass: one-vs-rest per class.
  out["kind"] = "macro";
  json per = json::object();
  std::vector<XY> rocs, prs;
  for (auto it = curves.begin(); it != curves.end(); ++it) {
    json pair = clean_pair(it.value(), where + ": curves of class \"" + it.key() + "\"");
    per[it.key()] = pair;
    if (!pair["roc"].is_null())
      rocs.push_back({pair["roc"]["fpr"].get<std::vector<double>>(), pair["roc"]["tpr"].get<std::vector<double>>()});
    if (!pair["pr"].is_null())
      prs.push_back(
          {pair["pr"]["recall"].get<std::vector<double>>(), pair["pr"]["precision"].get<std::vector<double>>()});
  }
  out["per_class"] = per;
  if (!rocs.empty()) {
    out["roc"] = macro_roc(rocs);
    out["roc"]["auc"] = detail::nan_null(row.roc_auc);
    out["roc"]["classes"] = rocs.size();
  }
  if (!prs.empty()) {
    out["pr"] = macro_pr(prs);
    out["pr"]["average_precision"] = detail::nan_null(row.pr_auc);
    out["pr"]["classes"] = prs.size();
  }
  return out;
}

}  // namespace

CompareReport build_compare(const fs::path& run_dir_in) {
  std::error_code ec;
  if (run_dir_in.empty()) throw Error("no run folder given");
  if (!fs::is_directory(run_dir_in, ec)) throw Error("run folder " + run_dir_in.string() + " does not exist");
  fs::path run_dir = fs::weakly_canonical(run_dir_in, ec);
  if (ec) run_dir = fs::absolute(run_dir_in);

  CompareReport rep;
  rep.run_dir = run_dir;
  rep.run_id = run_dir.filename().string();

  const json run = read_json(run_dir / "run.json", "run.json");
  if (!run.is_object()) throw Error(( run_dir / "run.json").string() + " is not a JSON object");
  const json metrics = read_json(run_dir / "metrics.json", "metrics.json");
  if (!metrics.is_object()) throw Error((run_dir / "metrics.json").string() + " is not a JSON object");
  const std::vector<StageDecl> decls = read_pipeline(run_dir / "pipeline.toml");

  rep.pipeline = run.value("pipeline", std::string());
  rep.status = run.value("status", std::string());
  if (run.contains("started") && run["started"].is_number()) rep.date = format_utc(run["started"].get<std::int64_t>());
  if (rep.status == "failed" || rep.status == "interrupted")
    rep.notes.push_back("the run did not finish (status \"" + rep.status + "\"): figures may be incomplete");

  std::map<std::string, const StageDecl*> by_id;
  for (const auto& d : decls) by_id[d.id] = &d;
  std::map<std::string, json> run_stage;  // run.json stages by id
  if (run.contains("stages") && run["stages"].is_array())
    for (const auto& s : run["stages"])
      if (s.is_object() && s.contains("id") && s["id"].is_string()) run_stage[s["id"].get<std::string>()] = s;

  // Stages are told apart by the kind run.json records for each (never by
  // plugin name: an out-of-tree trainer gets its row). A run.json that
  // records no kinds was written by an older pipectl: re-run it.
  bool any_kind = false;
  for (const auto& [id, s] : run_stage) any_kind = any_kind || (s.contains("kind") && s["kind"].is_string());
  if (!any_kind && !run_stage.empty())
    throw Error((run_dir / "run.json").string() +
                " records no stage kinds (written by an older pipectl): re-run the pipeline to compare it");
  auto kind_of = [&](const StageDecl& d) -> std::string {
    auto it = run_stage.find(d.id);
    if (it == run_stage.end())
      throw Error((run_dir / "run.json").string() + " has no record of the stage \"" + d.id + "\"");
    if (!it->second.contains("kind") || !it->second["kind"].is_string()) return "";
    return it->second["kind"].get<std::string>();
  };
  auto is_trainer = [&](const StageDecl& d) { return kind_of(d) == "trainer"; };
  auto is_evaluator = [&](const StageDecl& d) { return kind_of(d) == "evaluator"; };
  // The trainer behind an evaluator input: the input itself, or the first
  // trainer up a chain of single-input stages.
  auto trainer_of = [&](const std::string& input) -> const StageDecl* {
    std::set<std::string> seen;
    std::string cur = input;
    while (seen.insert(cur).second) {
      auto it = by_id.find(cur);
      if (it == by_id.end()) return nullptr;
      if (is_trainer(*it->second)) return it->second;
      if (it->second->inputs.size() != 1) return nullptr;
      cur = it->second->inputs[0];
    }
    return nullptr;
  };

  // The figures the report draws; an evaluator whose declaration (run.json
  // "declared_metrics") names none of them has figures of its own: left out, with a note.
  static const char* const kDrawn[] = {"accuracy", "f1", "roc_auc", "pr_auc", "log_loss"};
  auto figures_of_its_own = [&](const StageDecl& d, std::string& names) {
    const json& st = run_stage.at(d.id);
    if (!st.contains("declared_metrics") || !st["declared_metrics"].is_array()) return false;
    bool drawn = false;
    for (const auto& m : st["declared_metrics"]) {
      const std::string n = m.is_object() ? m.value("name", "") : "";
      names += (names.empty() ? "" : ", ") + n;
      for (const char* k : kDrawn) drawn = drawn || n == k;
    }
    return !drawn;
  };
  std::vector<const StageDecl*> evaluators;
  for (const auto& d : decls) {
    if (!is_evaluator(d)) continue;
    std::string names;
    if (figures_of_its_own(d, names)) {
      rep.notes.push_back("evaluator \"" + d.id + "\" declares figures the report does not draw (" + names +
                          "): left out (they are in metrics.json and `pipectl runs list`)");
      continue;
    }
    evaluators.push_back(&d);
  }
  if (evaluators.empty())
    throw Error("the pipeline of run " + rep.run_id + " has no evaluator stage (kind \"evaluator\"): nothing to compare");

  const fs::path metrics_file = run_dir / "metrics.json";
  for (const StageDecl* ev : evaluators) {
    if (ev->inputs.empty()) throw Error("evaluator \"" + ev->id + "\" has no inputs in " + (run_dir / "pipeline.toml").string());
    if (!metrics.contains(ev->id) || !metrics[ev->id].is_object())
      throw Error(metrics_file.string() + " has no figures for evaluator \"" + ev->id +
                  "\" (did the stage run? see run.json and log.txt)");
    const json& em = metrics[ev->id];
    const bool several = ev->inputs.size() > 1;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < ev->inputs.size(); ++i) {
      const std::string& input = ev->inputs[i];
      const StageDecl* tr = trainer_of(input);
      if (!tr)
        throw Error("evaluator \"" + ev->id + "\": input \"" + input +
                    "\" does not come from a trainer stage (a stage whose kind in run.json is \"trainer\")");
      // The evaluator's model naming: the trainer's stage id, made unique with "#k".
      std::string model = tr->id;
      for (int k = 2; std::find(names.begin(), names.end(), model) != names.end(); ++k)
        model = tr->id + "#" + std::to_string(k);
      names.push_back(model);

      const json* figs = nullptr;
      if (several || !em.contains("accuracy")) {
        if (!em.contains(model) || !em[model].is_object()) {
          std::string keys;
          for (auto it = em.begin(); it != em.end(); ++it) keys += (keys.empty() ? "" : ", ") + ("\"" + it.key() + "\"");
          throw Error(metrics_file.string() + ": evaluator \"" + ev->id + "\" has no figures for model \"" + model +
                      "\" (it holds " + (keys.empty() ? std::string("nothing") : keys) + ")");
        }
        figs = &em[model];
      } else {
        figs = &em;
      }
      const std::string fwhere = metrics_file.string() + ": evaluator \"" + ev->id + "\", model \"" + model + "\"";
      for (const char* key : {"rows", "accuracy", "f1", "roc_auc", "pr_auc", "log_loss"})
        if (!figs->contains(key)) throw Error(fwhere + " lacks \"" + key + "\"");
      if (!(*figs)["rows"].is_number_integer()) throw Error(fwhere + ": \"rows\" is not an integer");

      ModelRow row;
      row.model = model;
      row.name = model;
      row.evaluator = ev->id;
      row.trainer = tr->id;
      row.plugin = tr->plugin;
      row.test_rows = (*figs)["rows"].get<std::int64_t>();
      row.roc_auc = num(*figs, "roc_auc");
      row.pr_auc = num(*figs, "pr_auc");
      row.f1 = num(*figs, "f1");
      row.accuracy = num(*figs, "accuracy");
      row.log_loss = num(*figs, "log_loss");
      row.precision = num(*figs, "precision");
      row.recall = num(*figs, "recall");
      if (figs->contains("classes") && (*figs)["classes"].is_array())
        for (const auto& c : (*figs)["classes"])
          if (c.is_string()) row.classes.push_back(c.get<std::string>());
      row.multiclass = row.classes.size() > 2;

      // Trainer figures from run.json.
      auto rs = run_stage.find(tr->id);
      if (rs == run_stage.end())
        throw Error((run_dir / "run.json").string() + " has no record of the trainer stage \"" + tr->id + "\"");
      const json& st = rs->second;
      if (st.contains("plugin") && st["plugin"].is_string()) row.plugin = st["plugin"].get<std::string>();
      row.plugin_version = st.value("version", std::string());
      const json measures = st.value("measures", json::object());
      row.train_seconds = num(measures, "train_seconds");
      row.predict_rows_per_second = num(measures, "predict_rows_per_second");

      // Model size: the files named by the trainer's state.json.
      const fs::path sdir = run_dir / "stages" / tr->id;
      const json state = read_json(sdir / "state.json", "the state of trainer \"" + tr->id + "\"");
      if (!state.is_object() || !state.contains("model"))
        throw Error((sdir / "state.json").string() + " does not name the model file (key \"model\")");
      std::vector<std::string> files;
      if (state["model"].is_string()) {
        files.push_back(state["model"].get<std::string>());
      } else if (state["model"].is_array()) {
        for (const auto& f : state["model"]) {
          if (!f.is_string()) throw Error((sdir / "state.json").string() + ": \"model\" must name files (strings)");
          files.push_back(f.get<std::string>());
        }
      } else {
        throw Error((sdir / "state.json").string() + ": \"model\" must be a file name or a list of file names");
      }
      for (const auto& f : files) {
        const fs::path p = sdir / f;
        const auto size = fs::file_size(p, ec);
        if (ec)
          throw Error("model file " + p.string() + " named by " + (sdir / "state.json").string() +
                      " is missing or unreadable");
        row.model_bytes += size;
        row.model_files.push_back((fs::path("stages") / tr->id / f).generic_string());
      }
      rep.rows.push_back(std::move(row));
    }
  }

  // Unique names: a model evaluated by several evaluators is "model (evaluator)".
  std::map<std::string, int> count;
  for (const auto& r : rep.rows) ++count[r.model];
  for (auto& r : rep.rows)
    if (count[r.model] > 1) r.name = r.model + " (" + r.evaluator + ")";

  // Curves.
  bool any_multiclass = false;
  for (auto& row : rep.rows) {
    any_multiclass |= row.multiclass;
    const StageDecl* ev = by_id[row.evaluator];
    const fs::path file = run_dir / "stages" / row.evaluator / model_dir_name(row.model) / "curves.json";
    if (!fs::exists(file, ec)) {
      if (ev->curves)
        throw Error("curves of model \"" + row.model + "\" (evaluator \"" + row.evaluator + "\"): " + file.string() +
                    " is missing");
      rep.notes.push_back("evaluator \"" + row.evaluator + "\" wrote no curves (curves = false): model \"" +
                          row.name + "\" is not plotted");
      rep.curves[row.name] = {{"kind", "none"}, {"roc", nullptr}, {"pr", nullptr}};
      continue;
    }
    const json doc = read_json(file, "curves file");
    if (doc.is_object() && doc.contains("classes") && doc["classes"].is_array() && row.classes.empty()) {
      for (const auto& c : doc["classes"])
        if (c.is_string()) row.classes.push_back(c.get<std::string>());
      row.multiclass = row.classes.size() > 2;
    }
    json c = model_curves(doc, file, row, rep.notes);
    if (c.contains("positive_class") && c["positive_class"].is_string())
      row.positive_class = c["positive_class"].get<std::string>();
    row.has_curves = !c["roc"].is_null() || !c["pr"].is_null();
    rep.curves[row.name] = std::move(c);
  }
  // Feature importance: the trainers' own `importance` figures.
  // (Runs made before trainers recorded it have none at all: then nothing is said.)
  for (const auto& row : rep.rows) {
    const std::string& tr = row.trainer.empty() ? row.model : row.trainer;
    if (metrics.contains(tr) && metrics[tr].is_object() && metrics[tr].contains("importance") &&
        metrics[tr]["importance"].is_object() && metrics[tr]["importance"].contains("features") &&
        metrics[tr]["importance"]["features"].is_array())
      rep.importance[row.name] = metrics[tr]["importance"];
  }
  if (!rep.importance.empty())
    for (const auto& row : rep.rows)
      if (!rep.importance.contains(row.name))
        rep.notes.push_back("model \"" + row.name + "\" has no feature importance (its plugin \"" + row.plugin +
                            "\" does not explain its predictions)");
  if (any_multiclass)
    rep.notes.push_back("multiclass models: ROC AUC, PR AUC and F1 are macro averages over the one-vs-rest classes; "
                        "their plotted curves are the macro average of the one-vs-rest curves");
  add_intervals_and_paired(rep, metrics);  // paired.cpp
  return rep;
}

}  // namespace pipectl::report
