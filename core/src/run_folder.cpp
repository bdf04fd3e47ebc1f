#include <pipectl/error.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/run_folder.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace pipectl {

namespace fs = std::filesystem;

std::string utc_stamp() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string safe_file_name(const std::string& name) {
  std::string safe;
  for (char c : name) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (safe.empty()) return "pipeline";
  if (safe.size() > 72) safe = safe.substr(0, 64) + "-" + sha1_hex(name).substr(0, 7);
  return safe;
}

std::string model_dir_name(const std::string& model) {
  std::string o = model;
  for (auto& c : o) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (o.empty() || o == "." || o == "..") o = "_" + o;
  return o;
}

bool is_contained(const fs::path& rel) {
  if (rel.empty() || rel.is_absolute() || rel.has_root_name()) return false;
  for (const auto& part : rel.lexically_normal())
    if (part == "..") return false;
  return true;
}

namespace {

std::string os_reason() { return std::strerror(errno); }

/// What a lock file names: the pid of its holder, or 0.
long lock_pid(int fd) {
  char buf[32] = {};
  const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::strtol(buf, nullptr, 10) : 0;
}

}  // namespace

int try_lock_file(const fs::path& path, long* holder) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot create the lock file \"" + path.string() + "\": " + os_reason());
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      if (holder) *holder = lock_pid(fd);
      ::close(fd);
      if (e == EWOULDBLOCK) return -1;
      errno = e;
      throw Error("cannot lock \"" + path.string() + "\": " + os_reason());
    }
    // The holder before us may have removed the file between our open and
    // our lock: the lock counts only on the file the path still names.
    struct stat a {}, b {};
    if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      const std::string why = os_reason();
      ::unlink(path.c_str());
      ::close(fd);
      throw Error("cannot write the lock file \"" + path.string() + "\": " + why);
    }
    return fd;
  }
  throw Error("cannot lock \"" + path.string() + "\": it keeps being replaced");
}

void unlock_file(const fs::path& path, int fd) {
  if (fd < 0) return;
  ::unlink(path.c_str());  // while still held: nobody can take a file that is about to go
  ::close(fd);
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write \"" + tmp.string() + "\": " + os_reason());
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? os_reason() : "no progress";
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write \"" + tmp.string() + "\": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const std::string why = os_reason();
    ::unlink(tmp.c_str());
    throw Error("cannot write \"" + tmp.string() + "\": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = os_reason();
    ::unlink(tmp.c_str());
    throw Error("cannot rename \"" + tmp.string() + "\" to \"" + path.string() + "\": " + why);
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read \"" + path.string() + "\": " + os_reason());
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read \"" + path.string() + "\": " + os_reason());
  return ss.str();
}

namespace {

fs::path lock_path_of(const fs::path& final_dir) {
  return final_dir.parent_path() / ("." + final_dir.filename().string() + ".lock");
}

/// `<base>.failed`, or `<base>.failed-2`, … when taken.
fs::path free_failed_name(const fs::path& final_dir) {
  fs::path f = final_dir.string() + ".failed";
  std::error_code ec;
  for (int n = 2; fs::exists(fs::symlink_status(f, ec)); ++n) f = final_dir.string() + ".failed-" + std::to_string(n);
  return f;
}

}  // namespace

std::vector<fs::path> recover_orphaned_runs(const fs::path& dir, std::vector<std::string>* notes) {
  std::vector<fs::path> kept;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return kept;
  std::vector<fs::path> partials;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename().string();
    const std::string suffix = ".partial";
    if (name.size() > 1 + suffix.size() && name[0] == '.' &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 && it->is_directory(ec))
      partials.push_back(it->path());
  }
  for (const auto& p : partials) {
    const auto name = p.filename().string();
    const fs::path final_dir = dir / name.substr(1, name.size() - 1 - std::string(".partial").size());
    const auto lock = lock_path_of(final_dir);
    long holder = 0;
    int fd = -1;
    try {
      fd = try_lock_file(lock, &holder);
    } catch (const std::exception& e) {
      if (notes) notes->push_back(e.what());
      continue;
    }
    if (fd < 0) continue;  // a live run's work folder
    std::error_code rn;
    if (fs::exists(p, rn)) {
      const auto failed = free_failed_name(final_dir);
      fs::rename(p, failed, rn);
      if (rn) {
        if (notes)
          notes->push_back("the work folder \"" + p.string() + "\" of a run that did not finish could not be renamed: " +
                           rn.message());
      } else {
        kept.push_back(failed);
        if (notes)
          notes->push_back("a run that did not finish (killed?) left \"" + p.string() + "\"; kept as \"" +
                           failed.string() + "\"");
      }
    }
    unlock_file(lock, fd);
  }
  return kept;
}

RunFolder::RunFolder(const fs::path& runs_root, const std::string& pipeline_name,
                     const std::optional<fs::path>& explicit_out, std::vector<std::string>* notes) {
  const std::string safe = safe_file_name(pipeline_name);
  if (explicit_out) {
    final_ = fs::absolute(*explicit_out).lexically_normal();
    if (!final_.has_filename()) final_ = final_.parent_path();  // "out/" names "out"
    const std::string shown = "--out \"" + explicit_out->string() + "\"";
    if (!final_.has_filename() || final_ == final_.root_path())
      throw Error(shown + " cannot be a run folder", ExitCode::Usage);
    std::error_code ec;
    fs::create_directories(final_.parent_path(), ec);
    if (ec) throw Error("cannot create \"" + final_.parent_path().string() + "\": " + ec.message());
    // One run at a time per folder: the lock names the holder's pid; a lock
    // left by a dead process is free (flock ends with its holder).
    lock_ = lock_path_of(final_);
    long holder = 0;
    lock_fd_ = try_lock_file(lock_, &holder);
    if (lock_fd_ < 0)
      throw Error(shown + " is in use by another pipectl run (pid " + std::to_string(holder) + ", lock file \"" +
                      lock_.string() + "\"); wait for it to finish or choose another folder",
                  ExitCode::Usage);
    try {
      // A successful run replaces the folder: only ever replace a run folder.
      const auto st = fs::symlink_status(final_, ec);
      if (fs::is_symlink(st))
        throw Error(shown + " is a symbolic link; give the folder it points to (a run replaces its folder, "
                    "and would replace the link)", ExitCode::Usage);
      if (fs::exists(st)) {
        if (!fs::is_directory(st))
          throw Error(shown + " exists and is not a folder; refusing to replace it", ExitCode::Usage);
        if (!fs::is_empty(final_, ec) && !fs::exists(final_ / "run.json", ec))
          throw Error(shown + " is an existing folder that is not a pipectl run folder (it has no run.json); "
                      "refusing to replace it", ExitCode::Usage);
      }
    } catch (...) {
      unlock_file(lock_, lock_fd_);
      lock_fd_ = -1;
      throw;
    }
  } else {
    std::error_code ec;
    fs::create_directories(runs_root, ec);
    if (ec) throw Error("cannot create the runs folder \"" + runs_root.string() + "\": " + ec.message());
    const auto base = fs::absolute(runs_root / (safe + "-" + utc_stamp())).lexically_normal();
    // A name is ours once we hold its lock and no folder has it: runs started
    // in the same second get "-2", "-3", …
    for (int n = 1;; ++n) {
      const fs::path cand = n == 1 ? base : fs::path(base.string() + "-" + std::to_string(n));
      const auto lock = lock_path_of(cand);
      const int fd = try_lock_file(lock, nullptr);
      if (fd < 0) continue;
      std::error_code e1, e2;
      if (fs::exists(fs::symlink_status(cand, e1)) || fs::exists(fs::symlink_status(cand.string() + ".failed", e2))) {
        unlock_file(lock, fd);
        continue;
      }
      final_ = cand;
      lock_ = lock;
      lock_fd_ = fd;
      break;
    }
  }
  // What killed runs left next to it becomes "<name>.failed" (the lock of a
  // dead process is free); our own work folder is held by our lock.
  recover_orphaned_runs(final_.parent_path(), notes);
  work_ = final_.parent_path() / ("." + final_.filename().string() + ".partial");
  std::error_code ec;
  if (fs::exists(fs::symlink_status(work_, ec))) {  // left by a killed run of the same --out: keep it
    const auto failed = free_failed_name(final_);
    fs::rename(work_, failed, ec);
    if (!ec && notes)
      notes->push_back("a run that did not finish (killed?) left \"" + work_.string() + "\"; kept as \"" +
                       failed.string() + "\"");
    if (ec) fs::remove_all(work_, ec);
  }
  fs::create_directories(work_ / "stages", ec);
  if (ec) {
    unlock_file(lock_, lock_fd_);
    lock_fd_ = -1;
    throw Error("cannot create the run folder \"" + work_.string() + "\": " + ec.message());
  }
}

RunFolder::~RunFolder() {
  if (!done_) {
    try {
      fail();
    } catch (...) {
    }
  }
  unlock_file(lock_, lock_fd_);
}

fs::path RunFolder::stage_dir(const std::string& id) const {
  // Stage ids are validated with the pipeline; check again here, where they
  // become folder names: letters, digits, '_' and '-' only (no ".", "..", "/").
  bool ok = !id.empty();
  for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) throw Error("stage id \"" + id + "\" cannot name a folder");
  auto d = work_ / "stages" / id;
  fs::create_directories(d);
  return d;
}

void RunFolder::write(const fs::path& rel, const std::string& content) const {
  if (!is_contained(rel)) throw Error("refusing to write \"" + rel.string() + "\" outside the run folder");
  write_file_atomic(work_ / rel, content);
}

fs::path RunFolder::commit() {
  std::error_code ec;
  auto check = [&](const char* what, const fs::path& from, const fs::path& to) {
    if (ec) throw Error(std::string("cannot ") + what + " \"" + from.string() + "\" to \"" + to.string() + "\": " + ec.message());
  };
  if (fs::exists(fs::symlink_status(final_, ec))) {
    auto old = final_.parent_path() / ("." + final_.filename().string() + ".old");
    fs::remove_all(old, ec);
    fs::rename(final_, old, ec);
    check("rename", final_, old);
    fs::rename(work_, final_, ec);
    if (ec) {
      std::error_code back;
      fs::rename(old, final_, back);
      check("rename", work_, final_);
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(work_, final_, ec);
    check("rename", work_, final_);
  }
  done_ = true;
  unlock_file(lock_, lock_fd_);
  lock_fd_ = -1;
  return final_;
}

fs::path RunFolder::fail() {
  std::error_code ec;
  fs::path failed = final_.string() + ".failed";
  fs::remove_all(failed, ec);
  fs::rename(work_, failed, ec);
  fail_error_ = ec ? ec.message() : "";
  done_ = true;
  unlock_file(lock_, lock_fd_);
  lock_fd_ = -1;
  return ec ? work_ : failed;
}

}  // namespace pipectl
