// The run folder: everything one run leaves behind.
//
//   runs/<pipeline>-<UTC timestamp>/
//     pipeline.toml    the resolved pipeline (env expanded, --set applied, defaults filled)
//     run.json         status, timings, rows in/out, counters per stage, plugin versions
//     metrics.json     deterministic figures, under each stage's id
//     log.txt          the run's log
//     stages/<id>/     each stage's artifacts and fitted state (state.json)
//
// It is built under a temporary name (".<name>.partial") and renamed when
// complete, so a failed or interrupted run never looks finished (it is
// renamed "<name>.failed" instead). The name is held by a lock file
// (".<name>.lock", flock, with the holder's pid) for the whole run: runs
// started in the same second get distinct names ("-2", …), a second run with
// the same --out is refused, and the work folder of a run that was killed
// (its lock is free again) becomes "<name>.failed" at the next start.
#pragma once

#include <pipectl/export.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

class PIPECTL_API RunFolder {
 public:
  /// `explicit_out`: use exactly that folder (replaced when the run succeeds);
  /// otherwise `<runs_root>/<name>-<UTC timestamp>[-N]`.
  /// `notes` receives what was recovered from killed runs (for the log).
  RunFolder(const std::filesystem::path& runs_root, const std::string& pipeline_name,
            const std::optional<std::filesystem::path>& explicit_out, std::vector<std::string>* notes = nullptr);
  /// Not committed: renamed "<name>.failed" (a run that throws keeps what it wrote).
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::filesystem::path& work_dir() const { return work_; }
  const std::filesystem::path& final_dir() const { return final_; }
  /// work_dir()/stages/<id>, created on demand. `id` must be a valid stage id.
  std::filesystem::path stage_dir(const std::string& id) const;
  /// Write a file inside the folder (relative path, no "..") atomically.
  void write(const std::filesystem::path& rel, const std::string& content) const;
  /// Move the folder to its final name. Returns the final path.
  std::filesystem::path commit();
  /// Mark as failed: renamed to "<final>.failed" (replacing an older one);
  /// returns where the folder is (the work folder when the rename failed,
  /// with the reason in fail_error()).
  std::filesystem::path fail();
  const std::string& fail_error() const { return fail_error_; }
  bool finished() const { return done_; }

 private:
  std::filesystem::path work_, final_, lock_;
  int lock_fd_ = -1;
  bool done_ = false;
  std::string fail_error_;
};

/// Take the lock file `path` (created when absent; flock, exclusive, not
/// waiting) and write our pid in it. Returns its descriptor, or -1 when a live
/// process holds it (its pid in *holder). Throws Error with the OS reason.
PIPECTL_API int try_lock_file(const std::filesystem::path& path, long* holder);
/// Remove the lock file and release it.
PIPECTL_API void unlock_file(const std::filesystem::path& path, int fd);
/// Work folders (".<name>.partial") in `dir` whose run is no longer alive are
/// renamed "<name>.failed" (or "<name>.failed-N"); returns the new names.
PIPECTL_API std::vector<std::filesystem::path> recover_orphaned_runs(const std::filesystem::path& dir,
                                                                     std::vector<std::string>* notes);

/// A pipeline name as a file name: letters, digits, '-' and '_' kept, any
/// other byte '_'; "pipeline" when empty; a long name is cut to 64 bytes plus
/// a hash of the whole, so that it fits any file system.
PIPECTL_API std::string safe_file_name(const std::string& name);
/// A model's folder inside an evaluator's stage folder (stages/<id>/<model>/),
/// as the evaluator writes it and the compare report reads it: [A-Za-z0-9._-]
/// kept, any other byte '_'; "", "." and ".." get a leading '_'.
PIPECTL_API std::string model_dir_name(const std::string& model);
/// "YYYYmmddTHHMMSSZ" for now, UTC.
PIPECTL_API std::string utc_stamp();
/// Write a file atomically (temp + rename).
PIPECTL_API void write_file_atomic(const std::filesystem::path& path, const std::string& content);
PIPECTL_API std::string read_file(const std::filesystem::path& path);
/// True when `rel` is relative and never climbs out ("..").
PIPECTL_API bool is_contained(const std::filesystem::path& rel);

}  // namespace pipectl
