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
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

struct PIPECTL_API RunEntry {
  std::string run_id;  ///< the run folder's name
  std::string pipeline, pipeline_hash, pipeline_file, run_dir, status, sweep, data_hash;
  std::int64_t seed = 0;
  std::int64_t started = 0;  ///< unix seconds
  double duration_s = 0;
  json params = json::object();   ///< "stage.key" -> value
  json plugins = json::object();  ///< name -> version
  json metrics = json::object();  ///< "stage.metric" -> number (scalars only)
};

class PIPECTL_API History {
 public:
  explicit History(std::filesystem::path db);
  static std::filesystem::path default_path();
  void record(const RunEntry& e) const;
  std::vector<RunEntry> list(const std::string& pipeline = "", int limit = 0) const;
  /// By run id, unique prefix of it, or run folder path; throws Error when absent/ambiguous.
  RunEntry find(const std::string& ref) const;

 private:
  std::filesystem::path db_;
};

/// "stage.key" -> value for every resolved parameter.
PIPECTL_API json flatten_params(const ResolvedPipeline& p);
/// Scalar leaves of metrics.json as "a.b.c" -> number.
PIPECTL_API json flatten_metrics(const json& metrics);
/// A quick fingerprint of the files sources read: SHA-1 over path, size and
/// the first and last MiB of each (documented: not a full content hash).
PIPECTL_API std::string data_fingerprint(const ResolvedPipeline& p);

}  // namespace pipectl
