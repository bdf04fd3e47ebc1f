// pipectl cv PIPELINE --folds K: k-fold cross-validation by the pipeline's
// splitter — the splitter stage is the one whose plugin is of kind splitter
// and declares the integer parameters "folds" and "fold" (never found by
// plugin name). Fold f is the run with folds = K, fold = f; the stages
// upstream of the splitter do not depend on the fold, so the stage cache
// runs them once. The folder holds one run folder per fold (fold-0 ..),
// cv.json (each evaluator metric per fold, its mean and sample standard
// deviation) and cv.md, the table printed.
#include "commands.hpp"

#include <pipectl/run_folder.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace po = boost::program_options;

namespace pipectl::cli {

namespace {

const char* kCvUsage =
    "usage: pipectl cv PIPELINE [--folds K] [--split STAGE] [--set STAGE.KEY=VALUE]... [--out DIR] [--jobs N] "
    "[--force] [--no-cache] [--quiet | --verbose]";

/// The stages that can deal folds: kind splitter, with int parameters "folds" and "fold".
std::vector<std::size_t> fold_splitters(const ResolvedPipeline& p) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < p.stages.size(); ++i) {
    const auto& s = p.stages[i];
    if (s.plugin->kind != StageKind::Splitter) continue;
    int declared = 0;
    for (const auto& ps : s.plugin->spec.params)
      if ((ps.name == "folds" || ps.name == "fold") && ps.type == ParamType::Int) ++declared;
    if (declared == 2) out.push_back(i);
  }
  return out;
}

/// The metrics shown first, in this order; the others follow by name.
int metric_rank(const std::string& m) {
  static const char* first[] = {"rows", "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"};
  for (int k = 0; k < 8; ++k)
    if (m == first[k]) return k;
  return 8;
}

/// A numeric metric of an evaluator stage: named "stage.metric" (one model) or
/// "stage.model.metric" (several).
struct Item {
  std::size_t stage;
  std::string model, metric, name;
  json v;
};
bool display_before(const Item& a, const Item& b) {
  if (a.stage != b.stage) return a.stage < b.stage;
  if (a.model != b.model) return a.model < b.model;
  const int ra = metric_rank(a.metric), rb = metric_rank(b.metric);
  return ra != rb ? ra < rb : a.metric < b.metric;
}

std::vector<Item> evaluator_figures(const ResolvedPipeline& p, const json& metrics) {
  std::vector<Item> items;
  for (const auto& s : p.stages) {
    if (s.plugin->kind != StageKind::Evaluator || !metrics.contains(s.id)) continue;
    const json& m = metrics[s.id];
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.value().is_number() && !it.value().is_boolean()) {
        items.push_back({p.index_of(s.id), "", it.key(), s.id + "." + it.key(), it.value()});
      } else if (it.value().is_object() && it.value().contains("rows")) {  // one model of several
        for (auto jt = it.value().begin(); jt != it.value().end(); ++jt)
          if (jt.value().is_number() && !jt.value().is_boolean())
            items.push_back({p.index_of(s.id), it.key(), jt.key(), s.id + "." + it.key() + "." + jt.key(), jt.value()});
      }
    }
  }
  return items;
}

std::string fmt4(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

std::string pad(std::string s, std::size_t w, bool left) {
  if (s.size() < w) s.insert(left ? s.size() : 0, w - s.size(), ' ');
  return s;
}

}  // namespace

int cmd_cv(const Args& args) {
  Common c;
  std::string file, out, runs_dir = "runs", split_id;
  int folds = 5, jobs = 0;
  bool quiet = false, verbose = false, force = false, no_cache = false;
  po::options_description d("cv options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file")(
      "folds,k", po::value<int>(&folds), "number of folds K (default 5)")(
      "split", po::value<std::string>(&split_id),
      "the splitter stage that deals the folds (needed only when several declare folds)")(
      "out", po::value<std::string>(&out), "cross-validation folder (default: runs/<name>-cv-<UTC time>)")(
      "runs-dir", po::value<std::string>(&runs_dir), "where the folder goes (default: runs)")(
      "jobs,j", po::value<int>(&jobs), "stages run concurrently (default: the machine's cores)")(
      "quiet,q", po::bool_switch(&quiet), "only warnings, errors and results")(
      "verbose,v", po::bool_switch(&verbose), "debug output")(
      "force", po::bool_switch(&force), "re-run every stage even when its output is cached")(
      "no-cache", po::bool_switch(&no_cache), "neither read nor write the stage cache");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, kCvUsage, "pipeline", 1, &rc)) return rc;
  if (folds < 2 || folds > 1000) {
    std::fprintf(stderr, "pipectl: --folds must be in 2 .. 1000, got %d\n", folds);
    return code(ExitCode::Usage);
  }
  if (quiet && verbose) {
    std::fprintf(stderr, "pipectl: --quiet and --verbose exclude each other\n");
    return code(ExitCode::Usage);
  }
  if (vm.count("jobs") && jobs < 1) {
    std::fprintf(stderr, "pipectl: --jobs must be at least 1\n");
    return code(ExitCode::Usage);
  }
  for (const auto& s : c.sets)
    if (sweep_values(s).size() > 1) {
      std::fprintf(stderr, "pipectl: cv runs one fold per run; --set %s is a sweep (a value list)\n", s.c_str());
      return code(ExitCode::Usage);
    }
  try {
    auto base = load_pipeline(file, c);
    const auto& p = base->pipeline;
    const auto cands = fold_splitters(p);
    std::size_t si = 0;
    if (!split_id.empty()) {
      bool found = false;
      for (auto i : cands)
        if (p.stages[i].id == split_id) si = i, found = true;
      if (!found)
        throw Error("stage \"" + split_id + "\" is not a splitter that declares folds (parameters \"folds\" and \"fold\")",
                    ExitCode::Usage);
    } else if (cands.empty()) {
      throw Error("no splitter stage of " + file + " declares folds (parameters \"folds\" and \"fold\"); nothing to cross-validate",
                  ExitCode::Usage);
    } else if (cands.size() > 1) {
      std::string names;
      for (auto i : cands) names += (names.empty() ? "\"" : ", \"") + p.stages[i].id + "\"";
      throw Error("several splitter stages declare folds (" + names + "); choose one with --split", ExitCode::Usage);
    } else {
      si = cands[0];
    }
    const std::string sid = p.stages[si].id;
    for (const auto& s : c.sets) {
      const auto o = Override::parse(s);
      if (o.stage == sid && (o.key == "folds" || o.key == "fold"))
        throw Error("--set " + s + ": cv sets " + sid + ".folds and " + sid + ".fold itself", ExitCode::Usage);
    }
    std::string group;
    if (p.stages[si].params.has("group")) {
      const json g = p.stages[si].params.raw("group");
      if (g.is_string()) group = g.get<std::string>();
    }
    const std::filesystem::path dir =
        out.empty() ? std::filesystem::path(runs_dir) / (p.name + "-cv-" + utc_stamp()) : std::filesystem::path(out);
    if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir))
      throw Error("the cross-validation folder " + dir.string() + " exists and is not empty", ExitCode::Usage);
    // Validate every fold before running any.
    for (int f = 0; f < folds; ++f) {
      Common cf = c;
      cf.sets.push_back(sid + ".folds=" + std::to_string(folds));
      cf.sets.push_back(sid + ".fold=" + std::to_string(f));
      load_pipeline(file, cf, false);
    }
    std::vector<std::vector<Item>> per_fold;
    std::vector<std::string> run_dirs;
    for (int f = 0; f < folds; ++f) {
      RunRequest rq;
      rq.file = file;
      rq.common = c;
      rq.common.sets.push_back(sid + ".folds=" + std::to_string(folds));
      rq.common.sets.push_back(sid + ".fold=" + std::to_string(f));
      rq.jobs = jobs;
      rq.runs_dir = runs_dir;
      rq.out = (dir / ("fold-" + std::to_string(f))).string();
      rq.quiet = quiet;
      rq.verbose = verbose;
      rq.force = force;
      rq.no_cache = no_cache;
      rq.print_reports = false;
      auto done = run_request(rq);
      per_fold.push_back(evaluator_figures(p, done.runs.at(0).metrics));
      run_dirs.push_back(done.runs.at(0).dir.string());
    }
    // Every metric any fold has, in display order; "-" where a fold lacks it.
    std::vector<Item> kinds;
    std::map<std::string, std::vector<json>> values;
    for (int f = 0; f < folds; ++f)
      for (const auto& it : per_fold[static_cast<std::size_t>(f)]) {
        auto& col = values[it.name];
        if (col.empty()) {
          kinds.push_back(it);
          col.assign(static_cast<std::size_t>(folds), json(nullptr));
        }
        col[static_cast<std::size_t>(f)] = it.v;
      }
    std::stable_sort(kinds.begin(), kinds.end(), display_before);
    std::vector<std::string> names;
    for (const auto& it : kinds) names.push_back(it.name);
    json cv = {{"pipeline", p.name},
               {"pipeline_file", file},
               {"splitter", sid},
               {"group", group},
               {"folds", folds},
               {"std", "sample standard deviation (n - 1) over the folds that have the metric"},
               {"runs", run_dirs},
               {"metrics", json::object()}};
    std::vector<std::vector<std::string>> table;
    {
      std::vector<std::string> head = {"metric"};
      for (int f = 0; f < folds; ++f) head.push_back("fold " + std::to_string(f));
      head.push_back("mean ± std");
      table.push_back(head);
    }
    for (const auto& n : names) {
      const auto& col = values[n];
      double sum = 0, ss = 0;
      std::size_t k = 0;
      for (const auto& v : col)
        if (v.is_number()) sum += v.get<double>(), ++k;
      const double mean = k ? sum / static_cast<double>(k) : std::nan("");
      for (const auto& v : col)
        if (v.is_number()) ss += (v.get<double>() - mean) * (v.get<double>() - mean);
      const double sd = k >= 2 ? std::sqrt(ss / static_cast<double>(k - 1)) : std::nan("");
      cv["metrics"][n] = {{"folds", col},
                          {"mean", std::isfinite(mean) ? json(mean) : json(nullptr)},
                          {"std", std::isfinite(sd) ? json(sd) : json(nullptr)},
                          {"n", k}};
      std::vector<std::string> row = {n};
      for (const auto& v : col) {
        if (!v.is_number()) row.push_back("-");
        else if (v.is_number_integer() || v.is_number_unsigned()) row.push_back(v.dump());
        else row.push_back(fmt4(v.get<double>()));
      }
      row.push_back(!std::isfinite(mean) ? "-" : fmt4(mean) + " ± " + (std::isfinite(sd) ? fmt4(sd) : "-"));
      table.push_back(row);
    }
    std::vector<std::size_t> w(table[0].size(), 0);
    for (const auto& row : table)
      for (std::size_t j = 0; j < row.size(); ++j) {
        // "±" is two bytes and one column.
        std::size_t len = row[j].size();
        if (row[j].find("±") != std::string::npos) --len;
        w[j] = std::max(w[j], len);
      }
    std::string text = std::to_string(folds) + "-fold cross-validation of " + p.name + " by stage \"" + sid + "\"" +
                       (group.empty() ? "" : " (folds of whole " + group + " groups)") + "\n";
    for (const auto& row : table) {
      for (std::size_t j = 0; j < row.size(); ++j) {
        const std::size_t extra = row[j].find("±") != std::string::npos ? 1 : 0;
        text += (j ? "  " : "") + pad(row[j], w[j] + extra, j == 0);
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      text += "\n";
    }
    std::filesystem::create_directories(dir);
    write_file_atomic(dir / "cv.json", cv.dump(2) + "\n");
    write_file_atomic(dir / "cv.md", "```\n" + text + "```\n");
    std::printf("%s\ncv folder: %s (cv.json, cv.md, fold-0 .. fold-%d)\n", text.c_str(), dir.string().c_str(),
                folds - 1);
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

}  // namespace pipectl::cli
