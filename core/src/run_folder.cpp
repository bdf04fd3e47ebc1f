#include <pipectl/error.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/run_folder.hpp>

#include <unistd.h>

#include <cctype>
#include <chrono>
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

void write_file_atomic(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) throw Error("cannot write \"" + tmp.string() + "\"");
    o.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!o) throw Error("cannot write \"" + tmp.string() + "\"");
  }
  fs::rename(tmp, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read \"" + path.string() + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunFolder::RunFolder(const fs::path& runs_root, const std::string& pipeline_name,
                     const std::optional<fs::path>& explicit_out) {
  const std::string safe = safe_file_name(pipeline_name);
  if (explicit_out) {
    final_ = fs::absolute(*explicit_out).lexically_normal();
    if (!final_.has_filename()) final_ = final_.parent_path();  // "out/" names "out"
    const std::string shown = "--out \"" + explicit_out->string() + "\"";
    if (!final_.has_filename() || final_ == final_.root_path())
      throw Error(shown + " cannot be a run folder", ExitCode::Usage);
    // A successful run replaces the folder: only ever replace a run folder.
    std::error_code ec;
    const auto st = fs::symlink_status(final_, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st))
        throw Error(shown + " exists and is not a folder; refusing to replace it", ExitCode::Usage);
      if (!fs::is_empty(final_, ec) && !fs::exists(final_ / "run.json", ec))
        throw Error(shown + " is an existing folder that is not a pipectl run folder (it has no run.json); "
                    "refusing to replace it", ExitCode::Usage);
    }
  } else {
    fs::create_directories(runs_root);
    auto base = fs::absolute(runs_root / (safe + "-" + utc_stamp())).lexically_normal();
    final_ = base;
    for (int n = 2; fs::exists(final_) || fs::exists(final_.string() + ".failed"); ++n)
      final_ = base.string() + "-" + std::to_string(n);
  }
  work_ = final_.parent_path() / ("." + final_.filename().string() + ".partial");
  std::error_code ec;
  fs::remove_all(work_, ec);
  fs::create_directories(work_ / "stages");
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
  if (fs::exists(final_)) {
    auto old = final_.parent_path() / ("." + final_.filename().string() + ".old");
    fs::remove_all(old, ec);
    fs::rename(final_, old);
    fs::rename(work_, final_);
    fs::remove_all(old, ec);
  } else {
    fs::create_directories(final_.parent_path());
    fs::rename(work_, final_);
  }
  done_ = true;
  return final_;
}

fs::path RunFolder::fail() {
  std::error_code ec;
  fs::path failed = final_.string() + ".failed";
  fs::remove_all(failed, ec);
  fs::rename(work_, failed, ec);
  done_ = true;
  return ec ? work_ : failed;
}

}  // namespace pipectl
