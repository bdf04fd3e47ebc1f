// Headless Chromium for page tests: the DOM after layout, with a probe
// script appended to a copy of the page (the pages themselves have no
// script). Every host name resolves to nothing, so a page that tried to
// fetch anything would fail to, and a fresh profile and home are used.
#pragma once
#include "support/run_cmd.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace pipectl::testsupport {

inline const char* kChromiumBin = "/usr/bin/chromium";

inline bool have_chromium() { return std::filesystem::exists(kChromiumBin); }

/// The rendered DOM of `page` with `probe` (a <script> block) inserted before
/// </body>; the probe writes its findings into <pre id="probe">.
inline CmdResult chromium_dom(const std::filesystem::path& tmp, const std::filesystem::path& page,
                              const std::string& probe) {
  namespace fs = std::filesystem;
  std::string html = slurp(page);
  const auto at = html.rfind("</body>");
  html.insert(at == std::string::npos ? html.size() : at, "<pre id=\"probe\"></pre>" + probe);
  const fs::path probed = tmp / ("probed-" + page.filename().string());
  std::ofstream(probed, std::ios::binary) << html;
  const fs::path profile = tmp / "chromium-profile", home = tmp / "chromium-home";
  fs::create_directories(profile);
  fs::create_directories(home);
  return sh("HOME=" + quote(home.string()) + " XDG_CONFIG_HOME=" + quote((home / ".config").string()) +
            " XDG_CACHE_HOME=" + quote((home / ".cache").string()) + " timeout 180 " + kChromiumBin +
            " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
            " --disable-component-update --disable-sync --disable-extensions --hide-scrollbars"
            " --host-resolver-rules='MAP * ~NOTFOUND' --window-size=1280,1600 --user-data-dir=" +
            quote(profile.string()) + " --dump-dom " + quote("file://" + probed.string()));
}

/// What a self-contained page must not hold: a reference to anything outside
/// it (the SVG namespace name is not one). Returns the first offending text, or "".
inline std::string external_reference(const std::string& html) {
  static const std::regex re(R"re((src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg))re",
                             std::regex::icase | std::regex::ECMAScript);
  std::smatch m;
  if (std::regex_search(html, m, re)) return m.str();
  return "";
}

}  // namespace pipectl::testsupport
