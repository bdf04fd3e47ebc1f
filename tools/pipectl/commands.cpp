#include "commands.hpp"

#include "ingest_cli.hpp"
#include "schema.hpp"

#include <pipectl/config.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/history.hpp>
#include <pipectl/runner.hpp>

#include <boost/program_options.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <unistd.h>

#ifndef PIPECTL_VERSION
#define PIPECTL_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

namespace pipectl::cli {

std::atomic<bool> g_interrupt{false};
std::atomic<bool> g_embedded{false};
thread_local bool t_rethrow_errors = false;
static std::atomic<int> g_signals{0};
extern "C" void on_signal(int) {
  if (g_signals.fetch_add(1) > 0) {  // the second one: stop now (async-signal-safe calls only)
    static const char msg[] = "error: interrupted again; exiting at once\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(code(ExitCode::Interrupted));
  }
  g_interrupt.store(true);
}

void install_signal_handlers() {
  if (g_embedded) return;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  static std::once_flag once;
  std::call_once(once, [] {
    // A stage that never checks for cancellation must not keep pipectl
    // alive: after the grace period the process ends anyway. The run folder
    // is then left as ".<name>.partial" and the cache only lacks that stage.
    std::thread([] {
      while (!g_interrupt.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::this_thread::sleep_for(std::chrono::seconds(kInterruptGraceSeconds));
      std::fprintf(stderr, "error: interrupted by a signal, and a stage did not stop within %d s; exiting at once\n",
                   kInterruptGraceSeconds);
      std::fflush(stderr);
      ::_exit(code(ExitCode::Interrupted));
    }).detach();
  });
}

void add_pipeline_options(po::options_description& d, Common& c) {
  d.add_options()("set", po::value<std::vector<std::string>>(&c.sets)->composing(),
                  "override a parameter: STAGE.KEY=VALUE (repeatable)")(
      "allow-insecure-plugins", po::bool_switch(&c.allow_insecure),
      "load plugins from world-writable folders or folders owned by another user");
}

bool parse(const Args& args, po::options_description& d, po::variables_map& vm, const std::string& usage_line,
           const char* positional_name, int positional_max, int* rc) {
  po::positional_options_description pos;
  if (positional_name) pos.add(positional_name, positional_max);
  d.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(d).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "pipectl: %s\n%s\n", e.what(), usage_line.c_str());
    *rc = code(ExitCode::Usage);
    return false;
  }
  if (vm.count("help")) {
    std::ostringstream o;
    o << usage_line << "\n\n" << d;
    std::fputs(o.str().c_str(), stdout);
    *rc = 0;
    return false;
  }
  if (positional_name && !vm.count(positional_name)) {
    std::fprintf(stderr, "pipectl: missing %s\n%s\n", positional_name, usage_line.c_str());
    *rc = code(ExitCode::Usage);
    return false;
  }
  return true;
}

void warn_problems(const PluginRegistry& reg) {
  for (const auto& p : reg.problems()) std::fprintf(stderr, "warning: %s\n", p.message.c_str());
}

std::unique_ptr<Loaded> load_pipeline(const std::string& file, const Common& c, bool warn) {
  ReadOptions ro;
  for (const auto& s : c.sets) ro.overrides.push_back(Override::parse(s));
  auto decl = read_pipeline_file(file, ro);
  auto l = std::make_unique<Loaded>();
  l->registry.set_allow_insecure(c.allow_insecure);
  l->registry.load_default(decl.plugin_path);
  if (warn) {
    // Only problems that could matter: refused libraries.
    warn_problems(l->registry);
  }
  l->pipeline = resolve_pipeline(decl, l->registry);
  return l;
}

LogLevel level_from(bool quiet, bool verbose) {
  return quiet ? LogLevel::Warn : verbose ? LogLevel::Debug : LogLevel::Info;
}

int report_error(const std::exception& e) {
  // Always called from a catch block: `throw;` rethrows `e` (for the Python module).
  if (t_rethrow_errors) throw;
  if (auto ce = dynamic_cast<const ConfigError*>(&e)) {
    for (const auto& d : ce->diagnostics()) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::fprintf(stderr, "pipectl: %zu error%s; nothing was run\n", ce->diagnostics().size(),
                 ce->diagnostics().size() == 1 ? "" : "s");
    return code(ExitCode::ConfigInvalid);
  }
  std::fprintf(stderr, "error: %s\n", e.what());
  if (auto pe = dynamic_cast<const Error*>(&e)) return code(pe->code());
  return code(ExitCode::Failure);
}

int cmd_version() {
  std::printf("pipectl %s (plugin ABI %u, %s)\n", PIPECTL_VERSION, PIPECTL_PLUGIN_ABI_VERSION, host_abi_stamp());
  return 0;
}

std::vector<std::string> sweep_values(const std::string& set) {
  const auto o = Override::parse(set);
  const bool literal = o.text.empty() || std::string("[{\"'").find(o.text[0]) != std::string::npos;
  if (literal || o.text.find(',') == std::string::npos) return {set};
  std::vector<std::string> vals;
  std::size_t p = 0;
  while (p <= o.text.size()) {
    auto q = o.text.find(',', p);
    if (q == std::string::npos) q = o.text.size();
    vals.push_back(o.stage + "." + o.key + "=" + o.text.substr(p, q - p));
    p = q + 1;
  }
  return vals;
}

std::function<void(const std::filesystem::path&, const json&, const json&, bool)> history_recorder(
    const History& history, const Loaded& l, const std::string& file, const std::string& sweep_id, Logger& log) {
  std::random_device rd;
  char uid[40];
  std::snprintf(uid, sizeof uid, "%08x%08x%08x", rd(), rd(), static_cast<unsigned>(::getpid()));
  return [&history, &l, file, sweep_id, &log, uid = std::string(uid)](const std::filesystem::path& dir,
                                                                      const json& info, const json& metrics,
                                                                      bool published) {
    RunEntry e;
    e.run_id = dir.filename().string();
    e.uid = uid;
    e.pipeline = l.pipeline.name;
    e.pipeline_hash = l.pipeline.hash();
    e.pipeline_file = std::filesystem::absolute(file).lexically_normal().string();
    e.run_dir = dir.string();
    e.status = published ? "ok" : "publishing";
    e.sweep = sweep_id;
    e.data_hash = data_fingerprint(l.pipeline);
    e.seed = l.pipeline.seed;
    e.started = info.value("started", std::int64_t{0});
    e.duration_s = info.value("duration_s", 0.0);
    e.params = flatten_params(l.pipeline);
    for (const auto& st : l.pipeline.stages) e.plugins[st.plugin->name] = st.plugin->version;
    e.metrics = flatten_metrics(metrics);
    try {
      history.record(e);
    } catch (const std::exception& ex) {
      log.log(LogLevel::Warn, "", std::string("could not record the run in the history: ") + ex.what());
    }
  };
}

int cmd_run(const Args& args, std::vector<std::filesystem::path>* run_dirs) {
  Common c;
  std::string file, out, log_format = "text", runs_dir = "runs";
  int jobs = 0, workers = 0;
  std::string tracker_host = "127.0.0.1";
  bool quiet = false, verbose = false, force = false, no_cache = false;
  po::options_description d("run options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file")(
      "out", po::value<std::string>(&out), "run folder (default: runs/<name>-<UTC time>)")(
      "runs-dir", po::value<std::string>(&runs_dir), "where run folders go (default: runs)")(
      "jobs,j", po::value<int>(&jobs), "stages run concurrently (default: the machine's cores)")(
      "quiet,q", po::bool_switch(&quiet), "only warnings, errors and results")(
      "verbose,v", po::bool_switch(&verbose), "debug output")(
      "log-format", po::value<std::string>(&log_format), "text or json")(
      "force", po::bool_switch(&force), "re-run every stage even when its output is cached")(
      "no-cache", po::bool_switch(&no_cache), "neither read nor write the stage cache")(
      "workers", po::value<int>(&workers),
      "train on N worker processes on this machine, each reading a shard of the rows, joined by XGBoost's "
      "Rabit tracker (see `pipectl worker` for several machines)")(
      "tracker-host", po::value<std::string>(&tracker_host),
      "--workers: the address the tracker listens on (default 127.0.0.1)");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl run PIPELINE [--set STAGE.KEY=VALUE]... [--out DIR] [--jobs N] "
                          "[--force] [--no-cache] [--quiet | --verbose] [--log-format text|json] [--workers N]",
             "pipeline", 1, &rc))
    return rc;
  if (log_format != "text" && log_format != "json") {
    std::fprintf(stderr, "pipectl: --log-format must be text or json\n");
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
  if (vm.count("workers")) {
    LaunchSpec ls;
    ls.file = file;
    ls.common = c;
    ls.workers = workers;
    ls.tracker_host = tracker_host;
    ls.runs_dir = runs_dir;
    ls.out = out;
    ls.quiet = quiet;
    ls.verbose = verbose;
    ls.log_format = log_format;
    return launch_workers(ls);
  }
  RunRequest rq;
  rq.file = file;
  rq.common = c;
  rq.jobs = jobs;
  rq.runs_dir = runs_dir;
  rq.out = out;
  rq.log_format = log_format;
  rq.quiet = quiet;
  rq.verbose = verbose;
  rq.force = force;
  rq.no_cache = no_cache;
  try {
    auto done = run_request(rq, run_dirs);
    if (!done.sweep_id.empty()) {
      std::printf("\n%s: %zu runs (see them side by side: pipectl runs list --pipeline %s)\n", done.sweep_id.c_str(),
                  done.runs.size(), done.runs[0].info.value("pipeline", "").c_str());
      for (std::size_t k = 0; k < done.runs.size(); ++k) {
        std::string desc;
        for (const auto& v : done.combos[k]) desc += (desc.empty() ? "" : " ") + v;
        std::printf("  %s  %s\n", done.runs[k].dir.filename().string().c_str(), desc.c_str());
      }
    }
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

SweepDone run_request(const RunRequest& rq, std::vector<std::filesystem::path>* run_dirs) {
  const auto& c = rq.common;
  const auto& file = rq.file;
  // A value list in --set (a,b,c) makes a sweep: every combination is a run.
  std::vector<std::vector<std::string>> axes;
  for (const auto& set : c.sets) axes.push_back(sweep_values(set));
  // Every combination is validated (and its plugins loaded) before any runs.
  std::size_t runs = 1;
  for (const auto& axis : axes) {
    runs = axis.size() > kMaxSweepRuns ? kMaxSweepRuns + 1 : runs * axis.size();
    if (runs > kMaxSweepRuns)
      throw Error("the --set value lists make a sweep of more than " + std::to_string(kMaxSweepRuns) +
                      " runs; split it into several sweeps",
                  ExitCode::Usage);
  }
  std::vector<std::vector<std::string>> combos{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& cmb : combos)
      for (const auto& v : axis) {
        auto x = cmb;
        x.push_back(v);
        next.push_back(x);
      }
    combos = next;
  }
  const bool sweep = combos.size() > 1;
  SweepDone done;
  done.sweep_id = sweep ? "sweep-" + utc_stamp() : "";
  // Validate every combination before running any.
  std::vector<std::unique_ptr<Loaded>> loaded;
  for (const auto& cmb : combos) {
    Common cc = c;
    cc.sets = cmb;
    loaded.push_back(load_pipeline(file, cc, loaded.empty()));
  }
  Logger log(level_from(rq.quiet, rq.verbose), rq.log_format == "json" ? LogFormat::Json : LogFormat::Text);
  install_signal_handlers();
  History history(History::default_path(), [&](const std::string& m) { log.log(LogLevel::Warn, "", m); });
  for (std::size_t k = 0; k < loaded.size(); ++k) {
    auto& l = *loaded[k];
    if (sweep) {
      std::string desc;
      for (const auto& v : combos[k]) desc += (desc.empty() ? "" : " ") + v;
      log.log(LogLevel::Info, "", "sweep run " + std::to_string(k + 1) + "/" + std::to_string(combos.size()) + ": " + desc);
    }
    RunOptions ro;
    ro.jobs = rq.jobs;
    ro.runs_root = rq.runs_dir;
    if (!rq.out.empty())
      ro.out = sweep ? std::filesystem::path(rq.out) / std::to_string(k + 1) : std::filesystem::path(rq.out);
    ro.interrupt = rq.interrupt;
    ro.force = rq.force;
    ro.use_cache = !rq.no_cache;
    ro.keep_outputs = rq.keep_outputs;
    ro.print_reports = rq.print_reports;
    ro.on_publish = history_recorder(history, l, file, done.sweep_id, log);
    auto res = run_pipeline(l.pipeline, l.registry, ro, log);
    if (run_dirs) run_dirs->push_back(res.dir);
    done.runs.push_back(std::move(res));
  }
  done.combos = std::move(combos);
  return done;
}

int cmd_validate(const Args& args) {
  Common c;
  std::string file;
  po::options_description d("validate options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl validate PIPELINE [--set STAGE.KEY=VALUE]...", "pipeline", 1, &rc))
    return rc;
  try {
    auto l = load_pipeline(file, c);
    std::printf("%s: ok (%zu stages)\n", file.c_str(), l->pipeline.stages.size());
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

static std::string dot_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    o += ch;
  }
  return o;
}

int cmd_graph(const Args& args) {
  Common c;
  std::string file, format = "text";
  po::options_description d("graph options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file")(
      "format", po::value<std::string>(&format), "text, dot, mermaid or json");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl graph PIPELINE [--format text|dot|mermaid|json]", "pipeline", 1, &rc))
    return rc;
  if (format != "text" && format != "dot" && format != "mermaid" && format != "json") {
    std::fprintf(stderr, "pipectl: --format must be text, dot, mermaid or json\n");
    return code(ExitCode::Usage);
  }
  try {
    auto l = load_pipeline(file, c);
    const auto& p = l->pipeline;
    std::ostringstream o;
    if (format == "text") {
      o << p.name << "\n";
      for (auto i : p.order) {
        const auto& s = p.stages[i];
        o << "  " << s.id << " (" << s.plugin->name << ", " << kind_name(s.plugin->kind) << ")";
        if (!s.inputs.empty()) {
          o << " <- ";
          for (std::size_t k = 0; k < s.inputs.size(); ++k) o << (k ? ", " : "") << p.stages[s.inputs[k]].id;
        }
        o << "\n";
      }
    } else if (format == "dot") {
      o << "digraph \"" << dot_escape(p.name) << "\" {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n";
      for (const auto& s : p.stages)
        o << "  \"" << dot_escape(s.id) << "\" [label=\"" << dot_escape(s.id) << "\\n" << dot_escape(s.plugin->name)
          << "\"];\n";
      for (const auto& s : p.stages)
        for (auto u : s.inputs) o << "  \"" << dot_escape(p.stages[u].id) << "\" -> \"" << dot_escape(s.id) << "\";\n";
      o << "}\n";
    } else if (format == "mermaid") {
      o << "flowchart LR\n";
      for (const auto& s : p.stages) o << "  " << s.id << "[\"" << s.id << "<br/>" << s.plugin->name << "\"]\n";
      for (const auto& s : p.stages)
        for (auto u : s.inputs) o << "  " << p.stages[u].id << " --> " << s.id << "\n";
    } else {
      json j = {{"pipeline", p.name}, {"nodes", json::array()}, {"edges", json::array()}, {"order", json::array()}};
      for (const auto& s : p.stages)
        j["nodes"].push_back({{"id", s.id}, {"plugin", s.plugin->name}, {"kind", kind_name(s.plugin->kind)}});
      for (const auto& s : p.stages)
        for (auto u : s.inputs) j["edges"].push_back({{"from", p.stages[u].id}, {"to", s.id}});
      for (auto i : p.order) j["order"].push_back(p.stages[i].id);
      o << j.dump(2) << "\n";
    }
    std::fputs(o.str().c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

int cmd_plugins(const Args& args) {
  if (args.empty() || (args[0] != "list" && args[0] != "describe" && args[0] != "--help" && args[0] != "-h")) {
    std::fprintf(stderr, "usage: pipectl plugins list [--format text|json]\n       pipectl plugins describe NAME\n");
    return code(ExitCode::Usage);
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: pipectl plugins list [--format text|json]\n       pipectl plugins describe NAME\n");
    return 0;
  }
  Common c;
  Args rest(args.begin() + 1, args.end());
  po::variables_map vm;
  int rc = 0;
  if (args[0] == "list") {
    std::string format = "text";
    po::options_description d("plugins list options");
    d.add_options()("format", po::value<std::string>(&format), "text or json")(
        "allow-insecure-plugins", po::bool_switch(&c.allow_insecure), "load plugins from insecure folders");
    if (!parse(rest, d, vm, "usage: pipectl plugins list [--format text|json]", nullptr, 0, &rc)) return rc;
    PluginRegistry reg;
    reg.set_allow_insecure(c.allow_insecure);
    reg.load_default();
    if (format == "json") {
      json j = {{"plugins", json::array()}, {"refused", json::array()}};
      for (const auto& [n, p] : reg.plugins())
        j["plugins"].push_back({{"name", n},
                                {"kind", kind_name(p.kind)},
                                {"version", p.version},
                                {"description", p.description},
                                {"file", p.file.string()}});
      for (const auto& pr : reg.problems()) j["refused"].push_back({{"file", pr.file.string()}, {"message", pr.message}});
      std::printf("%s\n", j.dump(2).c_str());
    } else if (format == "text") {
      std::size_t w = 4;
      for (const auto& [n, p] : reg.plugins()) w = std::max(w, n.size());
      for (const auto& [n, p] : reg.plugins())
        std::printf("%-*s  %-9s  %-7s  %s\n", static_cast<int>(w), n.c_str(), kind_name(p.kind), p.version.c_str(),
                    p.description.c_str());
      warn_problems(reg);
    } else {
      std::fprintf(stderr, "pipectl: --format must be text or json\n");
      return code(ExitCode::Usage);
    }
    return 0;
  }
  std::string name;
  po::options_description d("plugins describe options");
  d.add_options()("name", po::value<std::string>(&name), "plugin name")(
      "allow-insecure-plugins", po::bool_switch(&c.allow_insecure), "load plugins from insecure folders");
  if (!parse(rest, d, vm, "usage: pipectl plugins describe NAME", "name", 1, &rc)) return rc;
  PluginRegistry reg;
  reg.set_allow_insecure(c.allow_insecure);
  reg.load_default();
  const auto* p = reg.find(name);
  if (!p) {
    if (const auto* prob = reg.problem_for(name)) {
      std::fprintf(stderr, "error: %s\n", prob->message.c_str());
      return code(ExitCode::PluginLoad);
    }
    auto near = closest(name, reg.names());
    std::fprintf(stderr, "error: no plugin \"%s\"%s\n", name.c_str(),
                 near.empty() ? "" : ("; did you mean \"" + near[0] + "\"?").c_str());
    return code(ExitCode::Usage);
  }
  std::fputs(describe_plugin(*p).c_str(), stdout);
  return 0;
}

int cmd_schema(const Args& args) {
  po::options_description d("schema options");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl schema   (JSON Schema of pipeline files, from the plugins found)", nullptr,
             0, &rc))
    return rc;
  PluginRegistry reg;
  reg.load_default();
  warn_problems(reg);
  std::printf("%s\n", pipeline_schema(reg).dump(2).c_str());
  return 0;
}

int dispatch(const std::string& cmd, const Args& args, const char* usage) {
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "graph") return cmd_graph(args);
    if (cmd == "plugins") return cmd_plugins(args);
    if (cmd == "schema") return cmd_schema(args);
    if (cmd == "status") return cmd_status(args);
    if (cmd == "cache") return cmd_cache(args);
    if (cmd == "predict") return cmd_predict(args);
    if (cmd == "runs") return cmd_runs(args);
    if (cmd == "compare") return cmd_compare(args);
    if (cmd == "cv") return cmd_cv(args);
    if (cmd == "ingest") return ingest::cli_main(args);
    if (cmd == "report") return cmd_report(args);
    if (cmd == "worker") return cmd_worker(args);
    if (cmd == "tracker") return cmd_tracker(args);
  } catch (const std::exception& e) {
    return report_error(e);
  }
  std::fprintf(stderr, "pipectl: unknown command \"%s\"\n\n%s", cmd.c_str(), usage);
  return code(ExitCode::Usage);
}

}  // namespace pipectl::cli
