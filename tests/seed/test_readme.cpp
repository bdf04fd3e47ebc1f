// The README shows what the demo prints: its block between the markers
// `<!-- demo-output:begin -->` and `<!-- demo-output:end -->` must equal the
// standard output of `pipectl run pipelines/iot.toml` on the demo database
// (netcollector-gen --sessions 9688 --seed 42, what ./setup demo generates).
// Standard output holds only the evaluator's table, which is deterministic
// (the stage log with its timings goes to standard error).
#include <doctest/doctest.h>

#include "seed_common.hpp"

using namespace seed_test;

namespace {

/// The text of the fenced block between the README's demo-output markers.
std::string readme_block() {
  const std::string readme = slurp(fs::path(SOURCE_DIR) / "README.md");
  const auto b = readme.find("<!-- demo-output:begin -->");
  const auto e = readme.find("<!-- demo-output:end -->");
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string part = readme.substr(b, e - b);
  const auto open = part.find("```\n");
  const auto close = part.rfind("```\n");
  REQUIRE(open != std::string::npos);
  REQUIRE(close > open);
  return part.substr(open + 4, close - open - 4);
}

}  // namespace

TEST_CASE("readme: the demo output shown is what pipectl run pipelines/iot.toml prints on the demo database") {
  TempDir home;
  const std::string db = demo_db(42);  // netcollector-gen --seed 42, 9688 labelled sessions by default
  auto r = run_pipectl("run " + kPipelines + "/iot.toml --no-cache --set source.path=" + quote(db) + " --out " +
                           quote((home / "run").string()),
                       home.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::string shown = readme_block();
  CHECK_MESSAGE(shown == r.out, "README:\n" << shown << "\npipectl printed:\n" << r.out);
  // What the table is of, said in its first line.
  CHECK(r.out.rfind("test rows, model train\n", 0) == 0);
}
