#include <pipectl/cache.hpp>
#include <pipectl/run_folder.hpp>
#include <pipectl/table_io.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <glob.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace pipectl {

namespace fs = std::filesystem;

StageCache::StageCache(fs::path root, std::function<void(const std::string&)> warn)
    : root_(std::move(root)), warn_(std::move(warn)) {}

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

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

/// A SQLite database's file change counter (header bytes 24..27), read
/// through SQLite's own descriptor: SQLite keeps a descriptor open while
/// another connection of this process holds a lock on the file, where closing
/// a descriptor of our own would drop that connection's POSIX locks.
std::optional<std::uint32_t> sqlite_change_counter(const fs::path& f) {
  sqlite3* db = nullptr;
  std::optional<std::uint32_t> out;
  if (sqlite3_open_v2(f.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_file* fp = nullptr;
    sqlite3_int64 size = 0;
    unsigned char b[100];
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) == SQLITE_OK && fp && fp->pMethods &&
        fp->pMethods->xFileSize(fp, &size) == SQLITE_OK && size >= 100 &&
        fp->pMethods->xRead(fp, b, sizeof b, 0) == SQLITE_OK && std::memcmp(b, "SQLite format 3", 16) == 0)
      out = (std::uint32_t{b[24]} << 24) | (std::uint32_t{b[25]} << 16) | (std::uint32_t{b[26]} << 8) | b[27];
  }
  sqlite3_close(db);
  return out;
}

/// Size and modification time of a file; for a SQLite database also its
/// change counter and its -wal file's size and time (a WAL-mode commit leaves
/// the main file untouched).
json file_stat(const fs::path& f) {
  struct stat st {};
  if (::stat(f.c_str(), &st) != 0) return nullptr;
  json j = {{"size", static_cast<std::int64_t>(st.st_size)}, {"mtime_ns", mtime_ns(st)}};
  if (!S_ISREG(st.st_mode) || st.st_size < 100) return j;
  if (auto c = sqlite_change_counter(f)) j["change_counter"] = *c;
  struct stat w {};
  const auto wal = f.string() + "-wal";
  // An empty -wal holds nothing (a reader may create one): only one with
  // frames says something.
  if (j.contains("change_counter") && ::stat(wal.c_str(), &w) == 0 && w.st_size > 0)
    j["wal"] = {{"size", static_cast<std::int64_t>(w.st_size)}, {"mtime_ns", mtime_ns(w)}};
  return j;
}

/// The "files" part of a key: each Path parameter's file(s).
json files_part(const json& params, const std::vector<std::string>& names) {
  json files = json::object();
  for (const auto& name : names) {
    if (!params.contains(name) || !params[name].is_string()) continue;
    const auto path = params[name].get<std::string>();
    const auto matched = files_of_path(path);
    if (matched.size() == 1 && matched[0] == fs::path(path)) {
      files[name] = file_stat(matched[0]);
    } else {
      // A pattern (per-site databases): every matched file, so adding,
      // removing or changing one makes the entry stale.
      json each = json::object();
      for (const auto& f : matched) each[f.string()] = file_stat(f);
      files[name] = each;
    }
  }
  return files;
}

bool pid_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

/// Every regular file under `dir`, relative to it, sorted.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), dir).generic_string());
  if (ec) throw Error("cannot list \"" + dir.string() + "\": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

json StageCache::key_parts(const ResolvedStage& s, const std::vector<std::string>& input_keys,
                           const std::vector<std::string>& consumer_roles) {
  std::vector<std::string> names;
  for (const auto& ps : s.plugin->spec.params)
    if (ps.type == ParamType::Path && s.params.has(ps.name)) names.push_back(ps.name);
  json parts = {{"plugin", s.plugin->name}, {"version", s.plugin->version}, {"seed", std::to_string(s.seed)},
                {"params", s.params.all()},  {"inputs", input_keys},          {"files", files_part(s.params.all(), names)},
                {"format", 2}};
  if (!consumer_roles.empty()) parts["consumer_roles"] = consumer_roles;
  return parts;
}

std::string StageCache::key_of(const json& parts) { return sha1_hex(parts.dump()); }

bool StageCache::cacheable(const ResolvedStage& s) { return s.plugin->kind != StageKind::Sink; }

fs::path StageCache::entry_dir(const std::string& key) const { return root_ / key.substr(0, 2) / key; }

bool StageCache::has(const std::string& key) const {
  return fs::exists(entry_dir(key) / "record.json") && fs::exists(entry_dir(key) / "table.bin") &&
         fs::exists(entry_dir(key) / "checksums.json");
}

void StageCache::warn(const std::string& msg) const {
  if (warn_) warn_(msg);
  else std::fprintf(stderr, "warning: %s\n", msg.c_str());
}

void StageCache::verify(const std::string& key) const {
  const auto dir = entry_dir(key);
  const json sums = json::parse(read_file(dir / "checksums.json"));
  if (!sums.is_object()) throw Error("checksums.json is not an object");
  std::vector<std::string> have;
  for (const auto& f : files_under(dir))
    if (f != "checksums.json" && f != "table.bin") have.push_back(f);
  for (const auto& f : have)
    if (!sums.contains(f)) throw Error("\"" + f + "\" has no checksum");
  for (auto it = sums.begin(); it != sums.end(); ++it) {
    if (!fs::exists(dir / it.key())) throw Error("\"" + it.key() + "\" is missing");
    const auto now = checksum_hex(file_checksum(dir / it.key()));
    if (now != it.value().get<std::string>())
      throw Error("the XXH3 checksum of \"" + it.key() + "\" is " + now + ", the entry says " +
                  it.value().get<std::string>());
  }
}

void StageCache::discard(const std::string& key, const std::string& why) const {
  // Set it aside, then remove it, so that the stage's next output takes its place.
  std::random_device rd;
  const auto aside = root_ / "tmp" / (key + ".damaged." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  std::error_code ec;
  fs::create_directories(aside.parent_path(), ec);
  fs::rename(entry_dir(key), aside, ec);
  std::string gone;
  if (ec) gone = " (it could not be removed: " + ec.message() + ")";
  else if (fs::remove_all(aside, ec), ec) gone = " (set aside as " + aside.string() + ", not removed: " + ec.message() + ")";
  warn("cache entry " + key.substr(0, 12) + " is damaged: " + why + "; discarded" + gone + ", the stage runs again");
}

std::optional<StageCache::Entry> StageCache::load(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  try {
    verify(key);
    Entry e;
    e.table = read_table(entry_dir(key) / "table.bin");  // checks its own checksum
    e.record = json::parse(read_file(entry_dir(key) / "record.json"));
    e.artifacts = entry_dir(key) / "artifacts";
    return e;
  } catch (const std::exception& ex) {
    // Entries appear complete (renamed from tmp/), so this one is damaged.
    discard(key, ex.what());
    return std::nullopt;
  }
}

std::optional<json> StageCache::record(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  try {
    verify(key);  // record.json and the artifacts; the table checks its own when loaded
    return json::parse(read_file(entry_dir(key) / "record.json"));
  } catch (const std::exception& ex) {
    discard(key, ex.what());
    return std::nullopt;
  }
}

void StageCache::store(const std::string& key, const Table& t, const json& record, const fs::path& artifacts_dir) const {
  // The files a source read may have changed while it ran (a writer on the
  // database): its output then belongs to no key computed before or after.
  if (record.contains("key_parts")) {
    const json& parts = record["key_parts"];
    std::vector<std::string> names;
    for (auto it = parts["files"].begin(); it != parts["files"].end(); ++it) names.push_back(it.key());
    const json now = files_part(parts["params"], names);
    for (const auto& n : names)
      if (now[n] != parts["files"][n])
        throw Error("the file(s) of parameter \"" + n + "\" changed while the stage ran; its output is not cached");
  }
  std::random_device rd;
  const auto tmp = root_ / "tmp" / (key + "." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  fs::create_directories(tmp);
  try {
    write_table(t, tmp / "table.bin");
    if (fs::exists(artifacts_dir)) fs::copy(artifacts_dir, tmp / "artifacts", fs::copy_options::recursive);
    else fs::create_directories(tmp / "artifacts");
    write_file_atomic(tmp / "record.json", record.dump(2) + "\n");
    json sums = json::object();
    for (const auto& f : files_under(tmp))
      if (f != "table.bin") sums[f] = checksum_hex(file_checksum(tmp / f));
    write_file_atomic(tmp / "checksums.json", sums.dump(2) + "\n");
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

std::size_t StageCache::clean_orphans() const {
  // tmp/<key>.<pid>.<n>, tmp/<key>.damaged.<pid>.<n>, index/<name>.json.tmp<pid>:
  // what a killed run left. Entries of a live process are its own.
  std::size_t removed = 0;
  std::error_code ec;
  auto sweep = [&](const fs::path& dir, bool index) {
    std::error_code ec2;
    if (!fs::is_directory(dir, ec2)) return;
    for (auto it = fs::directory_iterator(dir, ec2); !ec2 && it != fs::directory_iterator(); it.increment(ec2)) {
      const std::string name = it->path().filename().string();
      long pid = 0;
      if (index) {
        const auto at = name.rfind(".tmp");
        if (at == std::string::npos) continue;
        pid = std::strtol(name.c_str() + at + 4, nullptr, 10);
      } else {
        auto dot = name.find('.');
        if (dot == std::string::npos) continue;
        std::string rest = name.substr(dot + 1);
        if (rest.rfind("damaged.", 0) == 0) rest = rest.substr(8);
        pid = std::strtol(rest.c_str(), nullptr, 10);
      }
      if (pid_alive(pid)) continue;
      std::error_code rm;
      fs::remove_all(it->path(), rm);
      if (rm) warn("could not remove the orphaned cache file \"" + it->path().string() + "\": " + rm.message());
      else ++removed;
    }
  };
  sweep(root_ / "tmp", false);
  sweep(root_ / "index", true);
  (void)ec;
  return removed;
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

StageCache::PruneResult StageCache::prune() const {
  PruneResult r;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return r;
  auto failed = [&](const fs::path& p, const std::error_code& e) {
    ++r.failed;
    if (r.errors.size() < 5) r.errors.push_back("\"" + p.string() + "\": " + e.message());
  };
  // Entry by entry, so that what was removed and what was not are both known.
  for (auto top = fs::directory_iterator(root_, ec); !ec && top != fs::directory_iterator(); top.increment(ec)) {
    const auto name = top->path().filename().string();
    const bool shard = name.size() == 2 && top->is_directory();
    if (shard) {
      std::error_code e2;
      for (auto it = fs::directory_iterator(top->path(), e2); !e2 && it != fs::directory_iterator(); it.increment(e2)) {
        std::error_code rm;
        const bool entry = fs::exists(it->path() / "record.json", rm);
        fs::remove_all(it->path(), rm);
        if (rm) {
          if (entry) ++r.kept;
          failed(it->path(), rm);
        } else if (entry) {
          ++r.removed;
        }
      }
      if (e2) failed(top->path(), e2);
    }
  }
  if (ec) failed(root_, ec);
  std::error_code rm;
  fs::remove_all(root_, rm);
  if (rm && r.failed == 0) failed(root_, rm);
  return r;
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
