#include <pipectl/loader.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <sstream>

#ifndef PIPECTL_INSTALL_PLUGIN_DIR_ABS
#define PIPECTL_INSTALL_PLUGIN_DIR_ABS ""
#endif

namespace pipectl {

const char* host_abi_stamp() { return PIPECTL_ABI_STAMP; }

namespace {

// Libraries stay loaded for the life of the process: this list is never
// destroyed (not even at exit, when static destructors could otherwise
// unload a library whose objects are still alive).
std::vector<boost::dll::shared_library>& resident() {
  static auto* libs = new std::vector<boost::dll::shared_library>();
  return *libs;
}
std::mutex& resident_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (true) {
    auto q = s.find(sep, p);
    out.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  return out;
}

bool valid_plugin_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

std::vector<std::filesystem::path> PluginRegistry::default_search_path() {
  std::vector<std::filesystem::path> dirs;
  boost::dll::fs::error_code ec;
  auto exe = boost::dll::program_location(ec);
  if (!ec) {
    std::filesystem::path bin = exe.parent_path().string();
    for (auto rel : {"../lib/pipectl/plugins", "../lib64/pipectl/plugins", "../lib/x86_64-linux-gnu/pipectl/plugins"}) {
      auto d = (bin / rel).lexically_normal();
      if (std::filesystem::is_directory(d) &&
          std::find(dirs.begin(), dirs.end(), d) == dirs.end())
        dirs.push_back(d);
    }
  }
  // Beside the core library (<libdir>/pipectl/plugins): what a host that is
  // not bin/pipectl finds, such as the Python module.
  auto core = boost::dll::this_line_location(ec);
  if (!ec) {
    auto d = (std::filesystem::path(core.parent_path().string()) / "pipectl/plugins").lexically_normal();
    if (std::filesystem::is_directory(d) && std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  }
  std::filesystem::path inst = PIPECTL_INSTALL_PLUGIN_DIR_ABS;
  if (!inst.empty() && std::filesystem::is_directory(inst) && std::find(dirs.begin(), dirs.end(), inst) == dirs.end())
    dirs.push_back(inst);
  if (const char* env = std::getenv("PIPECTL_PLUGIN_PATH")) {
    for (const auto& part : split(env, ':'))
      if (!part.empty()) dirs.emplace_back(part);
  }
  return dirs;
}

bool PluginRegistry::check_secure(const std::filesystem::path& path, const char* what) {
  if (allow_insecure_) return true;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return true;  // reported when listing or loading
  std::string why;
  if (st.st_mode & S_IWOTH) why = "it is world-writable";
  else if (st.st_uid != ::geteuid() && st.st_uid != 0) why = "it is owned by another user (uid " + std::to_string(st.st_uid) + ")";
  if (why.empty()) return true;
  problems_.push_back({path, "", std::string(what) + " \"" + path.string() + "\" refused: " + why +
                                     "; a plugin is native code run with your rights (use --allow-insecure-plugins to load it anyway)"});
  return false;
}

void PluginRegistry::load_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    problems_.push_back({dir, "", "plugin folder \"" + dir.string() + "\" does not exist"});
    return;
  }
  if (!check_secure(dir, "plugin folder")) return;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".so") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f);
}

void PluginRegistry::load_default(const std::vector<std::filesystem::path>& extra) {
  for (const auto& d : default_search_path()) load_dir(d);
  for (const auto& d : extra) load_dir(d);
}

bool PluginRegistry::load_file(const std::filesystem::path& file_in) {
  std::error_code ec;
  auto file = std::filesystem::weakly_canonical(file_in, ec);
  if (ec) file = file_in;
  if (std::find(loaded_files_.begin(), loaded_files_.end(), file) != loaded_files_.end()) return true;
  const std::string shown = "\"" + file.string() + "\"";
  if (!check_secure(file, "plugin")) return false;
  boost::dll::shared_library lib;
  try {
    lib.load(boost::dll::fs::path(file.string()), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    problems_.push_back({file, "", "file " + shown + " could not be loaded: " + e.what()});
    return false;
  }
  if (!lib.has("pipectl_plugin")) {
    problems_.push_back({file, "", "file " + shown + " is not a pipectl plugin (no \"pipectl_plugin\" descriptor)"});
    return false;  // `lib` unloads here: none of its code was called
  }
  const auto& d = lib.get<const pipectl_plugin_descriptor>("pipectl_plugin");
  if (d.magic != PIPECTL_PLUGIN_MAGIC) {
    problems_.push_back({file, "", "file " + shown + " is not a pipectl plugin (bad descriptor magic)"});
    return false;
  }
  std::vector<std::string> mismatches;
  if (d.abi_version != PIPECTL_PLUGIN_ABI_VERSION)
    mismatches.push_back("plugin ABI version " + std::to_string(d.abi_version) + ", host " +
                         std::to_string(PIPECTL_PLUGIN_ABI_VERSION));
  const std::string stamp = d.abi_stamp ? d.abi_stamp : "";
  if (stamp != host_abi_stamp()) {
    auto a = split(stamp, '|'), b = split(host_abi_stamp(), '|');
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      std::string x = i < a.size() ? a[i] : "(none)", y = i < b.size() ? b[i] : "(none)";
      if (x != y) mismatches.push_back("built with " + x + ", host " + y);
    }
  }
  const std::string name = d.name ? d.name : "";
  if (mismatches.empty()) {
    if (name.empty()) mismatches.push_back("its descriptor has no name");
    else if (!valid_plugin_name(name))
      mismatches.push_back("its name \"" + name + "\" is not a valid plugin name (letters, digits, '_' and '-')");
  }
  if (!mismatches.empty()) {
    std::string msg = "plugin " + shown + (name.empty() ? "" : " (\"" + name + "\")") + " refused: ";
    for (std::size_t i = 0; i < mismatches.size(); ++i) msg += (i ? "; " : "") + mismatches[i];
    problems_.push_back({file, name, msg});
    return false;
  }
  if (auto it = plugins_.find(name); it != plugins_.end()) {
    problems_.push_back({file, name, "plugin " + shown + " refused: its name \"" + name +
                                         "\" clashes with the plugin loaded from \"" + it->second.file.string() + "\""});
    return false;
  }
  const std::string named = shown + " (\"" + name + "\")";
  LoadedPlugin p;
  p.name = name;
  p.version = d.version ? d.version : "";
  p.description = d.description ? d.description : "";
  p.file = file;
  p.descriptor = &d;
  if (!d.kind || !parse_kind(d.kind, p.kind)) {
    problems_.push_back({file, name, "plugin " + named + " refused: unknown kind \"" + std::string(d.kind ? d.kind : "") + "\""});
    return false;
  }
  if (!d.spec || !d.create) {
    problems_.push_back({file, name, "plugin " + named + " refused: descriptor lacks spec or factory"});
    return false;
  }
  try {
    p.spec = d.spec();
  } catch (const std::exception& e) {
    problems_.push_back({file, name, "plugin " + named + " refused: its spec() threw: " + e.what()});
    return false;
  } catch (...) {
    problems_.push_back({file, name, "plugin " + named + " refused: its spec() threw an unknown exception"});
    return false;
  }
  {
    std::lock_guard<std::mutex> lk(resident_mutex());
    resident().push_back(std::move(lib));
  }
  loaded_files_.push_back(file);
  plugins_.emplace(name, std::move(p));
  return true;
}

const LoadedPlugin* PluginRegistry::find(const std::string& name) const {
  auto it = plugins_.find(name);
  return it == plugins_.end() ? nullptr : &it->second;
}

std::vector<std::string> PluginRegistry::names() const {
  std::vector<std::string> n;
  for (const auto& [k, v] : plugins_) n.push_back(k);
  return n;
}

const PluginProblem* PluginRegistry::problem_for(const std::string& plugin) const {
  for (const auto& p : problems_)
    if (p.plugin_name == plugin) return &p;
  return nullptr;
}

std::unique_ptr<Stage> PluginRegistry::create(const LoadedPlugin& p, const std::string& stage_id,
                                              const Params& params) const {
  try {
    Stage* s = p.descriptor->create(params);
    if (!s) throw Error("the factory returned no stage");
    return std::unique_ptr<Stage>(s);
  } catch (const Error& e) {
    throw StageError(stage_id, p.name, std::string("could not create the stage: ") + e.what(),
                     e.code() == ExitCode::DataError ? ExitCode::DataError : ExitCode::StageFailed);
  } catch (const std::exception& e) {
    throw StageError(stage_id, p.name, std::string("could not create the stage: ") + e.what());
  } catch (...) {
    throw StageError(stage_id, p.name, "could not create the stage: unknown exception");
  }
}

}  // namespace pipectl
