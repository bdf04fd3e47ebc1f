// Run history: every run recorded in a local SQLite database
// ($PIPECTL_HISTORY, default ./.pipectl/history.sqlite), in the spirit of
// `dvc exp show` / `dvc exp diff`: pipeline name and hash, resolved
// parameters, plugin names and versions, a fingerprint of the input data,
// seed, metrics, duration, status and run folder.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/param.hpp>
#include <pipectl/pipeline.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

struct PIPECTL_API RunEntry {
  std::string run_id;  ///< the run folder's name; "<name>~N" when another run has it
  std::string uid;     ///< one per run: its row is written before and after its folder is published
  std::string pipeline, pipeline_hash, pipeline_file, run_dir, status, sweep, data_hash;
  std::int64_t seed = 0;
  std::int64_t started = 0;  ///< unix seconds
  double duration_s = 0;
  json params = json::object();   ///< "stage.key" -> value
  json plugins = json::object();  ///< name -> version
  json metrics = json::object();  ///< "stage.metric" -> number (scalars only)
};

/// One row per run, keyed by a run id of its own (runs in two folders of the
/// same name get two rows) with the folder's full path. A run's row is
/// written with status "publishing" before its folder is renamed into place
/// and "ok" after; rows a killed run left "publishing" are repaired at the
/// next write (confirmed when the folder is a finished run, else removed). A
/// damaged history file is kept aside ("<file>.damaged-<time>") and a new
/// one started, with a warning.
class PIPECTL_API History {
 public:
  /// `warn` receives warnings (a damaged history); default: stderr.
  explicit History(std::filesystem::path db, std::function<void(const std::string&)> warn = {});
  static std::filesystem::path default_path();
  /// Insert or update (by uid) the run's row; returns its run id.
  std::string record(const RunEntry& e) const;
  /// Repair rows left "publishing"; returns how many.
  std::size_t repair() const;
  std::vector<RunEntry> list(const std::string& pipeline = "", int limit = 0) const;
  /// By run folder path (full path; the latest run there), run id or a unique
  /// prefix of it; throws Error when absent/ambiguous.
  RunEntry find(const std::string& ref) const;

 private:
  std::filesystem::path db_;
  std::function<void(const std::string&)> warn_;
};

/// "stage.key" -> value for every resolved parameter.
PIPECTL_API json flatten_params(const ResolvedPipeline& p);
/// Scalar leaves of metrics.json as "a.b.c" -> number.
PIPECTL_API json flatten_metrics(const json& metrics);
/// A quick fingerprint of the files sources read: SHA-1 over path, size and
/// the first and last MiB of each (documented: not a full content hash).
PIPECTL_API std::string data_fingerprint(const ResolvedPipeline& p);

}  // namespace pipectl
