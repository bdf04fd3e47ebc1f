// The stage cache (DVC-style): each stage's output is stored under a key
// hashed from the plugin's name and version, the stage's seed, its resolved
// parameters, its inputs' keys, and the size and modification time of every
// file its Path parameters name. An unchanged stage is loaded, not re-run;
// changing one parameter re-runs that stage and what follows.
//
// Layout of the cache folder ($PIPECTL_CACHE_DIR, default ./.pipectl/cache):
//   <k0k1>/<key>/table.bin      the output table (table_io format)
//   <k0k1>/<key>/record.json    counters, metrics, measures, reports, key parts
//   <k0k1>/<key>/artifacts/     the stage's run-folder files (state, models…)
//   <k0k1>/<key>/checksums.json XXH3-64 of record.json and every artifact
//   index/<pipeline>.json       the keys of the last run of each pipeline (for `status`)
// Entries are written under tmp/ and renamed into place, so concurrent runs
// never see half an entry. table.bin carries its own checksum (table_io.hpp);
// a load checks every checksum and discards a damaged entry with a warning.
// For a SQLite database the key also holds its file change counter and its
// -wal file's size and time; an output is not stored when the files it was
// read from changed while the stage ran.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/table.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

class PIPECTL_API StageCache {
 public:
  /// `warn` receives warnings (a damaged entry); default: stderr.
  explicit StageCache(std::filesystem::path root, std::function<void(const std::string&)> warn = {});
  /// $PIPECTL_CACHE_DIR, else ./.pipectl/cache
  static std::filesystem::path default_root();
  const std::filesystem::path& root() const { return root_; }

  /// What the key is made of (also kept, to explain why a stage is stale).
  /// `consumer_roles` (StageContext::consumer_roles, by name; empty = every
  /// row) is part of the key when not empty: the output depends on it.
  static json key_parts(const ResolvedStage& s, const std::vector<std::string>& input_keys,
                        const std::vector<std::string>& consumer_roles = {});
  static std::string key_of(const json& parts);
  /// Sinks write outside the run folder: never cached.
  static bool cacheable(const ResolvedStage& s);

  bool has(const std::string& key) const;
  struct Entry {
    Table table;
    json record;
    std::filesystem::path artifacts;
  };
  /// nullopt when absent or damaged (a checksum that does not match, a
  /// missing or unreadable file): a damaged entry is a miss, is reported
  /// through the warning sink and removed so that the next store replaces it.
  std::optional<Entry> load(const std::string& key) const;
  /// The entry's record.json only (what a cached stage prints and records),
  /// without reading its table: a re-run whose consumers are cached too never
  /// needs the table. nullopt when absent or damaged (the checksums of
  /// record.json and the artifacts are checked; the table's when it is
  /// loaded): a damaged entry is reported and removed, as by load().
  std::optional<json> record(const std::string& key) const;
  /// The entry's copy of the stage's run-folder files.
  std::filesystem::path artifacts(const std::string& key) const { return entry_dir(key) / "artifacts"; }
  void store(const std::string& key, const Table& t, const json& record,
             const std::filesystem::path& artifacts_dir) const;

  void remember(const std::string& pipeline, const json& stage_keys) const;
  json last(const std::string& pipeline) const;  ///< {} when never run

  /// Remove what killed runs left under tmp/ and index/ (the files of
  /// processes no longer alive); returns how many were removed.
  std::size_t clean_orphans() const;

  struct PruneResult {
    std::size_t removed = 0, kept = 0;  ///< entries removed, entries still there
    std::size_t failed = 0;             ///< paths that could not be removed
    std::vector<std::string> errors;    ///< the first few, with the OS reason
  };
  /// Remove every entry, reporting what could not be removed.
  PruneResult prune() const;
  /// Number of entries and bytes.
  std::pair<std::size_t, std::uintmax_t> usage() const;

 private:
  std::filesystem::path entry_dir(const std::string& key) const;
  void verify(const std::string& key) const;
  void discard(const std::string& key, const std::string& why) const;
  void warn(const std::string& msg) const;
  std::filesystem::path root_;
  std::function<void(const std::string&)> warn_;
};

/// The files a Path parameter names: itself, or when it is a glob pattern
/// (`*`, `?`, `[` and not an existing file) every match, sorted.
PIPECTL_API std::vector<std::filesystem::path> files_of_path(const std::string& path);

}  // namespace pipectl
