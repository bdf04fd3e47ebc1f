// `pipectl plugins describe` prints exactly what the declarations say.
#include <doctest/doctest.h>

#include "common.hpp"

using namespace cli_test;

TEST_CASE("plugins describe prints the declared parameters") {
  auto r = run_pipectl("plugins describe test_model");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("  Name         test_model\n  Kind         trainer\n  Version      1.0.0\n") != std::string::npos);
  CHECK(r.out.find("  label\n      label column\n      type: string, required\n") != std::string::npos);
  CHECK(r.out.find("  depth\n      unused knob\n      type: int, default: 3, range: [1.0, 10.0]\n") != std::string::npos);
  CHECK(r.out.find("  Schema       needs `label` (int64), x (float64) and a split; gives its input plus pred_proba and "
                   "pred_label\n") != std::string::npos);
  auto missing = run_pipectl("plugins describe test_modle");
  CHECK(missing.rc == 2);
  CHECK(missing.err == "error: no plugin \"test_modle\"; did you mean \"test_model\"?\n");
}

TEST_CASE("plugins list --format json") {
  auto r = run_pipectl("plugins list --format json");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("\"name\": \"test_sleep\"") != std::string::npos);
}
