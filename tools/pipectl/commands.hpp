// The pipectl commands. Each returns the process exit code.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/log.hpp>
#include <pipectl/history.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/runner.hpp>

#include <boost/program_options.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pipectl::cli {

using Args = std::vector<std::string>;

int dispatch(const std::string& cmd, const Args& args, const char* usage);
int cmd_version();
/// When OMP_WAIT_POLICY is unset: set it to PASSIVE and execute this program
/// again with `argv` (returns only when it is already set, or exec failed).
void ensure_passive_openmp_wait(char** argv);
/// `run_dirs` receives the folder of every finished run.
int cmd_run(const Args& args, std::vector<std::filesystem::path>* run_dirs = nullptr);
int cmd_validate(const Args& args);
int cmd_graph(const Args& args);
int cmd_plugins(const Args& args);
int cmd_schema(const Args& args);
int cmd_status(const Args& args);
int cmd_cache(const Args& args);
int cmd_predict(const Args& args);
int cmd_runs(const Args& args);
int cmd_compare(const Args& args);
int cmd_cv(const Args& args);
int cmd_report(const Args& args);
int cmd_worker(const Args& args);
int cmd_tracker(const Args& args);

// Shared by the commands.
extern std::atomic<bool> g_interrupt;
/// Set by a host that handles signals itself (the Python module): then
/// install_signal_handlers() does nothing and the host sets g_interrupt.
extern std::atomic<bool> g_embedded;
/// Set (per thread) by a host that wants the commands' errors as exceptions:
/// report_error() then rethrows the exception it is given instead of printing it.
extern thread_local bool t_rethrow_errors;
extern "C" void on_signal(int);
/// SIGINT / SIGTERM set g_interrupt, and the run cancels its stages; a second
/// signal, or a stage still running kInterruptGraceSeconds after the first,
/// ends the process at once with exit 130.
void install_signal_handlers();
inline constexpr int kInterruptGraceSeconds = 3;
/// Most runs one sweep (`--set K=a,b,c …`) may make.
inline constexpr std::size_t kMaxSweepRuns = 10000;
inline int code(ExitCode c) { return static_cast<int>(c); }

struct Common {
  std::vector<std::string> sets;
  bool allow_insecure = false;
};
void add_pipeline_options(boost::program_options::options_description& d, Common& c);
/// Parse "cmd [options] POSITIONAL"; false when the caller should return *rc (help, usage error).
bool parse(const Args& args, boost::program_options::options_description& d, boost::program_options::variables_map& vm,
           const std::string& usage_line, const char* positional_name, int positional_max, int* rc);
void warn_problems(const PluginRegistry& reg);

struct Loaded {
  PluginRegistry registry;
  ResolvedPipeline pipeline;
};
/// Read, load plugins (default path + the pipeline's plugin_path), validate.
std::unique_ptr<Loaded> load_pipeline(const std::string& file, const Common& c, bool warn = true);
LogLevel level_from(bool quiet, bool verbose);

/// Records a run in the run history in the step that publishes its folder
/// (RunOptions::on_publish: a row "publishing" before the rename, "ok" after;
/// a warning if that fails).
std::function<void(const std::filesystem::path&, const json&, const json&, bool)> history_recorder(
    const History& history, const Loaded& l, const std::string& file, const std::string& sweep_id, Logger& log);

/// One --set as the overrides it stands for: a value list "stage.key=a,b,c"
/// (unquoted, not an array or table) is a sweep axis of three; anything
/// else is itself.
std::vector<std::string> sweep_values(const std::string& set);

/// What `pipectl run` does once its options are parsed (the Python module's
/// run() calls it too): the --set value lists make a sweep, every combination
/// is validated before any runs, each run is recorded in the run history.
/// Throws (ConfigError, StageError, DataError, Interrupted…).
struct RunRequest {
  std::string file;
  Common common;
  int jobs = 0;  ///< 0 = the machine's cores
  std::string runs_dir = "runs", out, log_format = "text";
  bool quiet = false, verbose = false, force = false, no_cache = false;
  bool keep_outputs = false;   ///< every stage's table in RunResult::outputs
  bool print_reports = true;   ///< the stages' reports (metrics tables) on stdout
  const std::atomic<bool>* interrupt = &g_interrupt;
};
struct SweepDone {
  std::string sweep_id;                          ///< "" when a single run
  std::vector<std::vector<std::string>> combos;  ///< the --set values of each run
  std::vector<RunResult> runs;
};
/// `run_dirs` (when given) receives each run's folder as soon as it finished.
SweepDone run_request(const RunRequest& rq, std::vector<std::filesystem::path>* run_dirs = nullptr);

/// `pipectl run --workers N`: start the tracker and N `pipectl worker`
/// processes on this machine, watch them, stop them all when one fails.
struct LaunchSpec {
  std::string file;
  Common common;
  int workers = 1;
  std::string tracker_host = "127.0.0.1";
  std::string runs_dir = "runs", out, log_format = "text";
  bool quiet = false, verbose = false;
};
int launch_workers(const LaunchSpec& spec);

/// Print an error the way every command does, return its exit code.
int report_error(const std::exception& e);

}  // namespace pipectl::cli
