// Loading stage plugins (Boost.DLL).
//
// Search order: the build tree's plugin folder (beside the executable), the
// one beside the core library (<libdir>/pipectl/plugins, for hosts such as the
// Python module), the install prefix's plugin folder, each folder of PIPECTL_PLUGIN_PATH, then a
// pipeline's own `plugin_path`. Each library's descriptor is checked before
// any of its code runs (magic, ABI version, ABI stamp); a refused library is
// reported with one message naming the file and every mismatch. Loaded
// libraries are never unloaded: objects, vtables and exceptions point into
// them.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/plugin.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pipectl {

struct PIPECTL_API LoadedPlugin {
  std::string name;
  StageKind kind = StageKind::Transform;
  std::string version;
  std::string description;
  std::filesystem::path file;
  PluginSpec spec;
  const pipectl_plugin_descriptor* descriptor = nullptr;
};

/// A library that was refused, with the reason (already formatted).
struct PIPECTL_API PluginProblem {
  std::filesystem::path file;
  std::string plugin_name;  ///< when the descriptor could be read
  std::string message;
};

class PIPECTL_API PluginRegistry {
 public:
  /// Folders searched by default: build / install plugin folders, then PIPECTL_PLUGIN_PATH.
  static std::vector<std::filesystem::path> default_search_path();

  /// Load every "*.so" in `dir` (not recursive), in name order.
  void load_dir(const std::filesystem::path& dir);
  /// Load one library; false (and a problem recorded) when refused.
  bool load_file(const std::filesystem::path& file);
  /// Load the default search path, then `extra` folders.
  void load_default(const std::vector<std::filesystem::path>& extra = {});

  /// Refuse folders and libraries that are world-writable or owned by
  /// another user (false, the default) or load them anyway (true).
  void set_allow_insecure(bool v) { allow_insecure_ = v; }

  const LoadedPlugin* find(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::map<std::string, LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<PluginProblem>& problems() const { return problems_; }
  /// Problem for a library whose descriptor names `plugin`, if any.
  const PluginProblem* problem_for(const std::string& plugin) const;

  /// Create a stage; exceptions from the plugin's factory become StageError.
  std::unique_ptr<Stage> create(const LoadedPlugin& p, const std::string& stage_id, const Params& params) const;

 private:
  /// A folder or library anyone else could change: refused (a problem is
  /// recorded) unless allow_insecure_. `what` is "plugin folder" or "plugin".
  bool check_secure(const std::filesystem::path& path, const char* what);
  std::map<std::string, LoadedPlugin> plugins_;
  std::vector<PluginProblem> problems_;
  std::vector<std::filesystem::path> loaded_files_;
  bool allow_insecure_ = false;
};

/// The host's ABI stamp (PIPECTL_ABI_STAMP as compiled into the core).
PIPECTL_API const char* host_abi_stamp();

}  // namespace pipectl
