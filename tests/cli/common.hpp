#pragma once
#include "support/run_cmd.hpp"

#include <string>

namespace cli_test {
using namespace pipectl::testsupport;

inline const std::string kBin = PIPECTL_BIN;
inline const std::string kBroken = std::string(SOURCE_DIR) + "/tests/pipelines/broken";
inline const std::string kGood = std::string(SOURCE_DIR) + "/tests/pipelines/good";

/// A private cache and history for this test process.
inline const std::filesystem::path& state_dir() {
  static TempDir d;
  return d.path;
}

/// pipectl with only the fixture plugins of `dirs` on the plugin path.
inline CmdResult run_pipectl(const std::string& args, const std::string& dirs = FIXTURES_GOOD,
                         const std::filesystem::path& cwd = {}) {
  return sh("PIPECTL_CACHE_DIR=" + quote((state_dir() / "cache").string()) +
                " PIPECTL_HISTORY=" + quote((state_dir() / "history.sqlite").string()) +
                " PIPECTL_PLUGIN_PATH=" + quote(dirs) + " " + quote(kBin) + " " + args,
            cwd);
}
}  // namespace cli_test
