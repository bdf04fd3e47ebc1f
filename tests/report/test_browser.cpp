// The report page as a person sees it: headless Chromium screenshots it and
// dumps the DOM after layout. Skipped when /usr/bin/chromium is absent (the
// project's ./setup installs it).
#include "compare_report.hpp"
#include "fixture.hpp"

#include <doctest/doctest.h>
#include <pipectl/test_skip.hpp>

#include <cstdlib>
#include <regex>

using namespace reportfix;
using pipectl::testsupport::quote;
using pipectl::testsupport::sh;
using pipectl::testsupport::slurp;

namespace {

const char* kChromium = "/usr/bin/chromium";

// A fresh profile and home for each run: nothing shared, nothing fetched.
std::string chromium(const fs::path& tmp, const std::string& args) {
  const fs::path profile = tmp / "profile", home = tmp / "home";
  fs::create_directories(profile);
  fs::create_directories(home);
  return "HOME=" + quote(home.string()) + " XDG_CONFIG_HOME=" + quote((home / ".config").string()) +
         " XDG_CACHE_HOME=" + quote((home / ".cache").string()) + " timeout 180 " + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
         " --disable-component-update --disable-sync --disable-extensions --hide-scrollbars"
         " --user-data-dir=" +
         quote(profile.string()) + " " + args;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(static_cast<unsigned char>(s[at])) << 24) |
         (std::uint32_t(static_cast<unsigned char>(s[at + 1])) << 16) |
         (std::uint32_t(static_cast<unsigned char>(s[at + 2])) << 8) | std::uint32_t(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

TEST_CASE("compare.html in headless Chromium: screenshot and rendered DOM") {
  if (!fs::exists(kChromium)) {
    return pipectl::testing::skip_required_on_ci(std::string(kChromium) + " is not installed (./setup installs the chromium package)");
  }
  TempDir t;
  const auto dir = t / "cmp-20261127T150024Z";
  make_run(dir, two_models(), Layout::Shared);
  const auto rep = pipectl::report::build_compare(dir);
  const auto out = dir / "report";
  pipectl::report::write_compare(rep, out);
  const fs::path html = out / "compare.html";

  // Screenshot.
  const fs::path png = t / "compare.png";
  {
    const auto r = sh(chromium(t / "shot", "--screenshot=" + quote(png.string()) +
                                               " --window-size=1280,1600 " + quote("file://" + html.string())));
    INFO("chromium stderr: " << r.err);
    REQUIRE(r.rc == 0);
    REQUIRE(fs::exists(png));
    const std::string data = slurp(png);
    REQUIRE(data.size() > 30000);  // a blank 1280x1600 page compresses to a few kB
    CHECK(data.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(be32(data, 16) == 1280);  // IHDR width, height
    CHECK(be32(data, 20) == 1600);
    if (const char* keep = std::getenv("PIPECTL_KEEP_SCREENSHOT")) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  }

  // The DOM after layout: a copy of the page with a probe that writes the boxes
  // of the table and of both plots into the document (the report has no script).
  {
    std::string page = slurp(html);
    const std::string probe = R"(<pre id="probe"></pre><script>
(function () {
  function box(sel) { var e = document.querySelector(sel); if (!e) return 'none';
    var r = e.getBoundingClientRect(); return Math.round(r.width) + 'x' + Math.round(r.height); }
  var lines = [
    'table=' + box('table#models'),
    'rows=' + document.querySelectorAll('table#models tbody tr').length,
    'best=' + document.querySelectorAll('table#models td.best').length,
    'roc=' + box('figure#roc > svg'),
    'pr=' + box('figure#pr > svg'),
    'roc_paths=' + document.querySelectorAll('figure#roc svg path').length,
    'pr_paths=' + document.querySelectorAll('figure#pr svg path').length,
    'best_bg=' + getComputedStyle(document.querySelector('td.best')).backgroundColor
  ];
  document.getElementById('probe').textContent = lines.join('\n');
})();
</script>)";
    page.insert(page.rfind("</body>"), probe);
    const fs::path probed = out / "probed.html";
    write(probed, page);
    const auto r = sh(chromium(t / "dom", "--dump-dom " + quote("file://" + probed.string())));
    INFO("chromium stderr: " << r.err);
    REQUIRE(r.rc == 0);
    const std::string& dom = r.out;
    CHECK(dom.find("<table id=\"models\">") != std::string::npos);
    CHECK(std::regex_search(dom, std::regex("<figure id=\"roc\">\\s*<svg")));
    CHECK(std::regex_search(dom, std::regex("<figure id=\"pr\">\\s*<svg")));
    std::smatch m;
    REQUIRE(std::regex_search(dom, m, std::regex("<pre id=\"probe\">([^<]*)</pre>")));
    const std::string probe_out = m[1];
    INFO("probe: " << probe_out);
    auto dims = [&](const std::string& key, int& w, int& h) {
      std::smatch d;
      const std::regex re(key + "=(\\d+)x(\\d+)");
      if (!std::regex_search(probe_out, d, re)) return false;
      w = std::stoi(d[1]), h = std::stoi(d[2]);
      return true;
    };
    int w = 0, h = 0;
    REQUIRE(dims("table", w, h));
    CHECK(w > 600);
    CHECK(h > 60);  // header and two rows
    REQUIRE(dims("roc", w, h));
    CHECK(w > 400);
    CHECK(h > 300);
    REQUIRE(dims("pr", w, h));
    CHECK(w > 400);
    CHECK(h > 300);
    CHECK(probe_out.find("rows=2") != std::string::npos);
    CHECK(probe_out.find("best=8") != std::string::npos);
    CHECK(probe_out.find("best_bg=rgb(213, 240, 216)") != std::string::npos);
    std::smatch p;
    REQUIRE(std::regex_search(probe_out, p, std::regex("roc_paths=(\\d+)")));
    CHECK(std::stoi(p[1]) >= 3);  // two models and the chance line, at least
    REQUIRE(std::regex_search(probe_out, p, std::regex("pr_paths=(\\d+)")));
    CHECK(std::stoi(p[1]) >= 2);
  }
}
