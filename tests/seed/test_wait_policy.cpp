// The OpenMP wait policy pipectl sets is the one libgomp runs with.
//
// libgomp reads its environment once, when it is loaded (with libxgboost,
// before main). OMP_DISPLAY_ENV=verbose makes it print what it took: with
// the variable unset it prints OMP_WAIT_POLICY = 'PASSIVE' all the same, but
// spins GOMP_SPINCOUNT = '300000' times before sleeping; a passive policy in
// force shows as a spin count of 0. pipectl executes itself again when it
// had to set the variable, so the first image's runtime prints its defaults
// too: the last block printed is the runtime of the process that trains.
#include <doctest/doctest.h>

#include "seed_common.hpp"

using namespace seed_test;

namespace {
// `pipectl run iot.toml` with libgomp's settings printed, its environment
// cleared of any OpenMP wait setting of the test's own, plus `env`.
std::string training(const fs::path& home, const std::string& name, const std::string& env) {
  return "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env + " OMP_DISPLAY_ENV=verbose PIPECTL_CACHE_DIR=" +
         quote((home / "cache").string()) + " PIPECTL_HISTORY=" + quote((home / "history.sqlite").string()) + " " +
         quote(kBin) + " run " + kPipelines + "/iot.toml -q --no-cache --set source.path=" + quote(demo_db(42)) +
         " --out " + quote((home / name).string()) + " 2>" + quote((home / (name + ".err")).string()) +
         "; echo $? >" + quote((home / (name + ".rc")).string());
}
}  // namespace

TEST_CASE("openmp: two trainings at once both run with the passive wait policy in libgomp and a user's ACTIVE is kept") {
  TempDir home;
  // Both at once, each in its own process.
  auto r = sh("( " + training(home.path, "a", "") + " ) & ( " + training(home.path, "b", "") + " ) & wait");
  REQUIRE(r.rc == 0);
  for (const char* run : {"a", "b"}) {
    CAPTURE(run);
    const std::string err = slurp(home / (std::string(run) + ".err"));
    REQUIRE(slurp(home / (std::string(run) + ".rc")) == "0\n");
    // Printed by libgomp itself; the last runtime started is the one that trains.
    const auto last = err.rfind("OPENMP DISPLAY ENVIRONMENT BEGIN");
    REQUIRE(last != std::string::npos);
    const std::string block = err.substr(last, err.find("OPENMP DISPLAY ENVIRONMENT END", last) - last);
    CHECK(block.find("OMP_WAIT_POLICY = 'PASSIVE'") != std::string::npos);
    CHECK_MESSAGE(block.find("GOMP_SPINCOUNT = '0'\n") != std::string::npos, block);
    // The trainer did train (the runtime that printed this is the one it used).
    CHECK(fs::exists(home / run / "stages/train/model.json"));
  }
  // A user's explicit setting wins.
  r = sh(training(home.path, "c", "OMP_WAIT_POLICY=ACTIVE"));
  REQUIRE(r.rc == 0);
  REQUIRE(slurp(home / "c.rc") == "0\n");
  const std::string err = slurp(home / "c.err");
  // Set by the user: one start, one runtime, spinning as asked.
  CHECK(err.find("OPENMP DISPLAY ENVIRONMENT BEGIN") == err.rfind("OPENMP DISPLAY ENVIRONMENT BEGIN"));
  CHECK(err.find("OMP_WAIT_POLICY = 'ACTIVE'") != std::string::npos);
  CHECK(err.find("GOMP_SPINCOUNT = '30000000000'\n") != std::string::npos);
}
