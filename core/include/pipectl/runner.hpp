// Executing a resolved pipeline: stages whose inputs are ready run
// concurrently on a pool of `jobs` threads; outputs are identical whatever
// `jobs` is (each stage's randomness comes from its own seed).
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/cache.hpp>
#include <pipectl/collective.hpp>
#include <pipectl/log.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/run_folder.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

struct PIPECTL_API RunOptions {
  int jobs = 0;  ///< 0 = the machine's cores
  std::filesystem::path runs_root = "runs";
  std::optional<std::filesystem::path> out;  ///< exact run folder
  Mode mode = Mode::Fit;
  /// Mode::Apply: the fitted run folder whose stages/<id>/state.json are loaded.
  std::filesystem::path state_from;
  /// Set asynchronously (signal handler) to stop the run.
  const std::atomic<bool>* interrupt = nullptr;
  /// Keep every stage's output table in RunResult::outputs.
  bool keep_outputs = false;
  /// Print reports (metrics tables) to stdout at the end.
  bool print_reports = true;
  /// Reuse cached stage outputs (Mode::Fit only) and store new ones.
  bool use_cache = true;
  /// Re-run every stage even when cached (new outputs still go to the cache).
  bool force = false;
  /// Cache folder (default StageCache::default_root()).
  std::optional<std::filesystem::path> cache_root;
  /// The workers of a distributed run (nullptr = this process alone). With
  /// more than one worker, stages run one at a time in declaration order (so
  /// every worker makes the same collective calls in the same order) and the
  /// stage cache is off (a cached stage on one worker would skip calls the
  /// others make).
  Collective* collective = nullptr;
  /// Threads each stage may use (0 = the machine's cores / jobs).
  int stage_threads = 0;
  /// Called with the final folder, run.json and metrics just before a
  /// successful run's folder is published (published = false) and just after
  /// (true): the run history records the run in that step.
  std::function<void(const std::filesystem::path& dir, const json& info, const json& metrics, bool published)>
      on_publish;
};

struct PIPECTL_API StageRecord {
  std::string id, plugin, version, status = "pending";
  double start_s = 0, wall_s = 0;
  std::uint64_t rows_in = 0, rows_out = 0;
  std::map<std::string, std::int64_t> counters;
  json measures = json::object();
  json metrics = json::object();
  std::vector<std::string> reports;
  std::string error;
  bool cached = false;
  std::string key;
};

struct PIPECTL_API RunResult {
  std::filesystem::path dir;  ///< the final run folder
  json metrics = json::object();
  json info = json::object();  ///< what run.json holds
  std::vector<StageRecord> stages;
  std::map<std::string, TablePtr> outputs;
};

/// The row roles the consumers of stage `i` read in a fit: the union of
/// their PluginSpec::reads_roles and, since a stage passes its input's rows
/// on, of what their own consumers read; sorted by role; empty = every row
/// (some consumer reads every row, or none reads the output). Throws Error
/// on a role name other than "train", "valid" and "test".
PIPECTL_API std::vector<Role> roles_read_by_consumers(const ResolvedPipeline& p, std::size_t i);
/// Role names, for cache keys and messages.
PIPECTL_API std::vector<std::string> role_names(const std::vector<Role>& roles);

/// Run the pipeline. Throws StageError / DataError / Interrupted (after the
/// run folder was renamed ".failed" with the log and run.json inside).
PIPECTL_API RunResult run_pipeline(const ResolvedPipeline& p, const PluginRegistry& registry,
                                   const RunOptions& opt, Logger& log);

}  // namespace pipectl
