#include <pipectl/cache.hpp>
#include <pipectl/run_folder.hpp>
#include <pipectl/table_io.hpp>

#include <sys/stat.h>
#include <glob.h>
#include <algorithm>
#include <unistd.h>

#include <cstdlib>
#include <random>

namespace pipectl {

namespace fs = std::filesystem;

StageCache::StageCache(fs::path root) : root_(std::move(root)) {}

fs::path StageCache::default_root() {
  if (const char* e = std::getenv("PIPECTL_CACHE_DIR"); e && *e) return e;
  return fs::current_path() / ".pipectl" / "cache";
}

std::vector<fs::path> files_of_path(const std::string& path) {
  if (path.empty()) return {};
  std::error_code ec;
  if (path.find_first_of("*?[") == std::string::npos || fs::exists(path, ec)) return {fs::path(path)};
  glob_t g{};
  std::vector<fs::path> out;
  if (::glob(path.c_str(), 0, nullptr, &g) == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
json file_stat(const fs::path& f) {
  struct stat st {};
  if (::stat(f.c_str(), &st) != 0) return nullptr;
  return {{"size", static_cast<std::int64_t>(st.st_size)},
          {"mtime_ns", static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec}};
}
}  // namespace

json StageCache::key_parts(const ResolvedStage& s, const std::vector<std::string>& input_keys,
                           const std::vector<std::string>& consumer_roles) {
  json files = json::object();
  for (const auto& ps : s.plugin->spec.params) {
    if (ps.type != ParamType::Path || !s.params.has(ps.name)) continue;
    const auto path = s.params.str(ps.name);
    const auto matched = files_of_path(path);
    if (matched.size() == 1 && matched[0] == fs::path(path)) {
      files[ps.name] = file_stat(matched[0]);
    } else {
      // A pattern (per-site databases): every matched file, so adding,
      // removing or changing one makes the entry stale.
      json each = json::object();
      for (const auto& f : matched) each[f.string()] = file_stat(f);
      files[ps.name] = each;
    }
  }
  json parts = {{"plugin", s.plugin->name}, {"version", s.plugin->version}, {"seed", std::to_string(s.seed)},
                {"params", s.params.all()},  {"inputs", input_keys},          {"files", files},
                {"format", 1}};
  if (!consumer_roles.empty()) parts["consumer_roles"] = consumer_roles;
  return parts;
}

std::string StageCache::key_of(const json& parts) { return sha1_hex(parts.dump()); }

bool StageCache::cacheable(const ResolvedStage& s) { return s.plugin->kind != StageKind::Sink; }

fs::path StageCache::entry_dir(const std::string& key) const { return root_ / key.substr(0, 2) / key; }

bool StageCache::has(const std::string& key) const {
  return fs::exists(entry_dir(key) / "record.json") && fs::exists(entry_dir(key) / "table.bin");
}

std::optional<StageCache::Entry> StageCache::load(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  try {
    Entry e;
    e.table = read_table(entry_dir(key) / "table.bin");
    e.record = json::parse(read_file(entry_dir(key) / "record.json"));
    e.artifacts = entry_dir(key) / "artifacts";
    return e;
  } catch (const std::exception&) {
    discard(key);
    return std::nullopt;
  }
}

std::optional<json> StageCache::record(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  try {
    return json::parse(read_file(entry_dir(key) / "record.json"));
  } catch (const std::exception&) {
    discard(key);
    return std::nullopt;
  }
}

void StageCache::discard(const std::string& key) const {
  // Entries appear complete (renamed from tmp/), so this one is damaged:
  // set it aside so that the stage's next output takes its place.
  std::random_device rd;
  const auto aside = root_ / "tmp" / (key + ".damaged." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  std::error_code ec;
  fs::create_directories(aside.parent_path(), ec);
  fs::rename(entry_dir(key), aside, ec);
  fs::remove_all(aside, ec);
}

void StageCache::store(const std::string& key, const Table& t, const json& record, const fs::path& artifacts_dir) const {
  std::random_device rd;
  const auto tmp = root_ / "tmp" / (key + "." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  fs::create_directories(tmp);
  try {
    write_table(t, tmp / "table.bin");
    if (fs::exists(artifacts_dir)) fs::copy(artifacts_dir, tmp / "artifacts", fs::copy_options::recursive);
    else fs::create_directories(tmp / "artifacts");
    write_file_atomic(tmp / "record.json", record.dump(2) + "\n");
    const auto dst = entry_dir(key);
    fs::create_directories(dst.parent_path());
    std::error_code ec;
    fs::rename(tmp, dst, ec);  // fails when another run stored it first: keep theirs
    if (ec) fs::remove_all(tmp, ec);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

void StageCache::remember(const std::string& pipeline, const json& stage_keys) const {
  write_file_atomic(root_ / "index" / (safe_file_name(pipeline) + ".json"), stage_keys.dump(2) + "\n");
}

json StageCache::last(const std::string& pipeline) const {
  const auto f = root_ / "index" / (safe_file_name(pipeline) + ".json");
  if (!fs::exists(f)) return json::object();
  try {
    return json::parse(read_file(f));
  } catch (const std::exception&) {
    return json::object();
  }
}

std::size_t StageCache::prune() const {
  std::size_t n = usage().first;
  std::error_code ec;
  fs::remove_all(root_, ec);
  return n;
}

std::pair<std::size_t, std::uintmax_t> StageCache::usage() const {
  std::size_t entries = 0;
  std::uintmax_t bytes = 0;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return {0, 0};
  for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) {
      bytes += it->file_size(ec);
      if (it->path().filename() == "record.json" && it->path().parent_path().parent_path().parent_path() == root_)
        ++entries;
    }
  }
  return {entries, bytes};
}

}  // namespace pipectl
