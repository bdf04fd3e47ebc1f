// pipectl runs list|show|diff: the run history, side by side.
#include "commands.hpp"

#include <pipectl/history.hpp>
#include <pipectl/run_folder.hpp>
#include <pipectl/schema.hpp>

#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace pipectl::cli {

namespace {

std::string when(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
  return b;
}

std::string show_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v.get<double>());
    return b;
  }
  return v.dump();
}

/// A value for a table cell: a long list (e.g. 300 resolved column names)
/// is shortened to its first names and a count.
std::string show_short(const json& v) {
  std::string full = show_value(v);
  if (full.size() <= 60 || !v.is_array()) return full.size() <= 60 ? full : full.substr(0, 57) + "...";
  std::vector<std::string> names;
  for (const auto& e : v) names.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return "[" + shorten_names(names, 50) + "]";
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  std::string out;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    std::string line;
    for (std::size_t i = 0; i < rows[k].size(); ++i) {
      std::string cell = rows[k][i];
      if (i + 1 < rows[k].size()) cell.resize(w[i], ' ');
      line += (i ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (k == 0) {
      std::string sep;
      for (std::size_t i = 0; i < w.size(); ++i) sep += (i ? "  " : "") + std::string(w[i], '-');
      out += sep + "\n";
    }
  }
  return out;
}

// The figures a run's stages declare (PluginSpec::metrics, recorded in the
// run's run.json as "declared_metrics"), by stage id. A run folder that is
// gone or was written before declarations were recorded declares none.
std::map<std::string, std::set<std::string>> declared_metrics(const std::string& run_dir) {
  std::map<std::string, std::set<std::string>> out;
  if (run_dir.empty()) return out;
  try {
    const json run = json::parse(read_file(fs::path(run_dir) / "run.json"));
    if (!run.contains("stages") || !run["stages"].is_array()) return out;
    for (const auto& s : run["stages"]) {
      if (!s.is_object() || !s.contains("id") || !s["id"].is_string() || !s.contains("declared_metrics") ||
          !s["declared_metrics"].is_array())
        continue;
      for (const auto& m : s["declared_metrics"])
        if (m.is_object() && m.contains("name") && m["name"].is_string())
          out[s["id"].get<std::string>()].insert(m["name"].get<std::string>());
    }
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

// Worth a column in `runs list`: a figure the stage declares, recorded as
// "<stage>.<name>" or, for one of several models, "<stage>.<model>.<name>".
bool declared(const std::map<std::string, std::set<std::string>>& decl, const std::string& key) {
  for (const auto& [stage, names] : decl) {
    if (key.size() <= stage.size() + 1 || key.compare(0, stage.size() + 1, stage + ".") != 0) continue;
    const std::string rest = key.substr(stage.size() + 1);
    const auto dot = rest.find('.');
    const std::string name = dot == std::string::npos ? rest : rest.substr(dot + 1);
    if (dot != std::string::npos && name.find('.') != std::string::npos) continue;
    if (names.count(name)) return true;
  }
  return false;
}

int runs_list(const Args& args) {
  std::string pipeline, format = "text";
  int limit = 0;
  po::options_description d("runs list options");
  d.add_options()("pipeline", po::value<std::string>(&pipeline), "only runs of this pipeline")(
      "limit", po::value<int>(&limit), "only the last N runs")("format", po::value<std::string>(&format), "text or json");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl runs list [--pipeline NAME] [--limit N] [--format text|json]", nullptr, 0, &rc))
    return rc;
  History h(History::default_path());
  auto runs = h.list(pipeline, limit);
  if (format == "json") {
    json j = json::array();
    for (const auto& e : runs)
      j.push_back({{"run", e.run_id}, {"pipeline", e.pipeline}, {"started", e.started}, {"duration_s", e.duration_s},
                   {"status", e.status}, {"sweep", e.sweep}, {"params", e.params}, {"metrics", e.metrics},
                   {"run_dir", e.run_dir}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (runs.empty()) {
    std::printf("no runs recorded in %s\n", History::default_path().string().c_str());
    return 0;
  }
  // Parameters that differ between the listed runs of one pipeline, side by side.
  std::set<std::string> varying, metrics;
  for (const auto& e : runs) {
    for (auto it = e.params.begin(); it != e.params.end(); ++it)
      for (const auto& f : runs)
        if (f.pipeline == e.pipeline && (!f.params.contains(it.key()) || f.params[it.key()] != it.value()))
          varying.insert(it.key());
    const auto decl = declared_metrics(e.run_dir);
    for (auto it = e.metrics.begin(); it != e.metrics.end(); ++it)
      if (it.value().is_number() && declared(decl, it.key())) metrics.insert(it.key());
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"run", "pipeline", "started (UTC)", "secs", "status"};
  for (const auto& v : varying) head.push_back(v);
  for (const auto& m : metrics) head.push_back(m);
  rows.push_back(head);
  for (const auto& e : runs) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", e.duration_s);
    std::vector<std::string> r = {e.run_id, e.pipeline, when(e.started), secs, e.status};
    for (const auto& v : varying) r.push_back(e.params.contains(v) ? show_short(e.params[v]) : "-");
    for (const auto& m : metrics) {
      if (!e.metrics.contains(m)) {
        r.push_back("-");
        continue;
      }
      char b[32];
      std::snprintf(b, sizeof b, "%.4f", e.metrics[m].get<double>());
      r.push_back(b);
    }
    rows.push_back(r);
  }
  std::fputs(table(rows).c_str(), stdout);
  return 0;
}

int runs_show(const Args& args) {
  std::string ref;
  po::options_description d("runs show options");
  d.add_options()("run", po::value<std::string>(&ref), "run id (or a unique prefix), or its folder");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl runs show RUN", "run", 1, &rc)) return rc;
  History h(History::default_path());
  auto e = h.find(ref);
  std::printf("run          %s\npipeline     %s (%s, hash %s)\nstarted      %s UTC\nduration     %.3f s\n"
              "status       %s\nseed         %lld\ndata         %s\nfolder       %s\n",
              e.run_id.c_str(), e.pipeline.c_str(), e.pipeline_file.c_str(), e.pipeline_hash.substr(0, 12).c_str(),
              when(e.started).c_str(), e.duration_s, e.status.c_str(), static_cast<long long>(e.seed),
              e.data_hash.substr(0, 12).c_str(), e.run_dir.c_str());
  if (!e.sweep.empty()) std::printf("sweep        %s\n", e.sweep.c_str());
  std::printf("\nplugins\n");
  for (auto it = e.plugins.begin(); it != e.plugins.end(); ++it)
    std::printf("  %-24s %s\n", it.key().c_str(), show_value(it.value()).c_str());
  std::printf("\nparameters\n");
  for (auto it = e.params.begin(); it != e.params.end(); ++it)
    std::printf("  %-32s %s\n", it.key().c_str(), show_value(it.value()).c_str());
  std::printf("\nmetrics\n");
  for (auto it = e.metrics.begin(); it != e.metrics.end(); ++it)
    std::printf("  %-32s %s\n", it.key().c_str(), show_value(it.value()).c_str());
  return 0;
}

int runs_diff(const Args& args) {
  std::vector<std::string> refs;
  po::options_description d("runs diff options");
  d.add_options()("runs", po::value<std::vector<std::string>>(&refs), "two runs");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl runs diff RUN_A RUN_B", "runs", 2, &rc)) return rc;
  if (refs.size() != 2) {
    std::fprintf(stderr, "usage: pipectl runs diff RUN_A RUN_B\n");
    return code(ExitCode::Usage);
  }
  History h(History::default_path());
  auto a = h.find(refs[0]), b = h.find(refs[1]);
  std::printf("%s -> %s\n", a.run_id.c_str(), b.run_id.c_str());
  std::vector<std::vector<std::string>> prow = {{"parameter", a.run_id, b.run_id}};
  std::set<std::string> keys;
  for (auto it = a.params.begin(); it != a.params.end(); ++it) keys.insert(it.key());
  for (auto it = b.params.begin(); it != b.params.end(); ++it) keys.insert(it.key());
  for (const auto& k : keys) {
    json x = a.params.contains(k) ? a.params[k] : json(), y = b.params.contains(k) ? b.params[k] : json();
    if (x != y) prow.push_back({k, x.is_null() ? "-" : show_value(x), y.is_null() ? "-" : show_value(y)});
  }
  if (a.data_hash != b.data_hash) prow.push_back({"(input data)", a.data_hash.substr(0, 12), b.data_hash.substr(0, 12)});
  for (auto it = b.plugins.begin(); it != b.plugins.end(); ++it)
    if (!a.plugins.contains(it.key()) || a.plugins[it.key()] != it.value())
      prow.push_back({"(plugin " + it.key() + ")", a.plugins.contains(it.key()) ? show_value(a.plugins[it.key()]) : "-",
                      show_value(it.value())});
  std::printf("\n");
  if (prow.size() == 1) std::printf("parameters: identical\n");
  else std::fputs(table(prow).c_str(), stdout);
  std::vector<std::vector<std::string>> mrow = {{"metric", a.run_id, b.run_id, "delta"}};
  keys.clear();
  for (auto it = a.metrics.begin(); it != a.metrics.end(); ++it) keys.insert(it.key());
  for (auto it = b.metrics.begin(); it != b.metrics.end(); ++it) keys.insert(it.key());
  for (const auto& k : keys) {
    const bool ha = a.metrics.contains(k), hb = b.metrics.contains(k);
    if (ha && hb && a.metrics[k] == b.metrics[k]) continue;
    char d1[32] = "-", d2[32] = "-", dd[32] = "-";
    if (ha) std::snprintf(d1, sizeof d1, "%.6g", a.metrics[k].get<double>());
    if (hb) std::snprintf(d2, sizeof d2, "%.6g", b.metrics[k].get<double>());
    if (ha && hb) std::snprintf(dd, sizeof dd, "%+.6g", b.metrics[k].get<double>() - a.metrics[k].get<double>());
    mrow.push_back({k, d1, d2, dd});
  }
  std::printf("\n");
  if (mrow.size() == 1) std::printf("metrics: identical\n");
  else std::fputs(table(mrow).c_str(), stdout);
  return 0;
}

}  // namespace

int cmd_runs(const Args& args) {
  const char* usage =
      "usage: pipectl runs list [--pipeline NAME] [--limit N] [--format text|json]\n"
      "       pipectl runs show RUN\n"
      "       pipectl runs diff RUN_A RUN_B\n"
      "(history: $PIPECTL_HISTORY or ./.pipectl/history.sqlite)\n";
  if (args.empty()) {
    std::fputs(usage, stderr);
    return code(ExitCode::Usage);
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage, stdout);
    return 0;
  }
  Args rest(args.begin() + 1, args.end());
  try {
    if (args[0] == "list") return runs_list(rest);
    if (args[0] == "show") return runs_show(rest);
    if (args[0] == "diff") return runs_diff(rest);
  } catch (const std::exception& e) {
    return report_error(e);
  }
  std::fprintf(stderr, "pipectl: unknown runs command \"%s\"\n%s", args[0].c_str(), usage);
  return code(ExitCode::Usage);
}

}  // namespace pipectl::cli
