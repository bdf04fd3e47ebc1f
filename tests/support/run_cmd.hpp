// Running the pipectl binary from tests: exit code, stdout, stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace pipectl::testsupport {

struct CmdResult {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh temporary folder, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("pipectl-t-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& s) const { return path / s; }
};

/// Run `command` through /bin/sh (environment assignments may prefix it).
inline CmdResult sh(const std::string& command, const std::filesystem::path& cwd = {}) {
  TempDir t;
  const auto o = t / "out", e = t / "err";
  std::string full = (cwd.empty() ? std::string() : "cd '" + cwd.string() + "' && ") + "( " + command + " ) >'" +
                     o.string() + "' 2>'" + e.string() + "' </dev/null";
  int status = std::system(full.c_str());
  CmdResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(o);
  r.err = slurp(e);
  return r;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace pipectl::testsupport
