// The profile stage on the demo database shows the originating analysis's findings.
#include <doctest/doctest.h>

#include "seed_common.hpp"

using namespace seed_test;

TEST_CASE("profile: iot-profile.toml shows the analysis's findings on the demo database") {
  TempDir home;
  auto r = run_pipectl("run " + kPipelines + "/iot-profile.toml --set source.path=" + quote(demo_db(42)) + " --out " +
                           quote((home / "run").string()),
                       home.path);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("is_iot rate 0.1450") != std::string::npos);  // the summary is printed
  CHECK(fs::exists(home / "run/stages/profile/profile.md"));
  auto p = json::parse(slurp(home / "run/stages/profile/profile.json"));
  auto find = [](const json& arr, const std::string& col) {
    for (const auto& x : arr)
      if (x["column"] == col) return x;
    FAIL("no column " << col);
    return json();
  };
  SUBCASE("sessions above mean + 2 std in bytes are far more often IoT") {
    auto o = find(p["numeric"], "bytes")["outliers"];
    CHECK(o["k"].get<double>() == 2.0);
    CHECK(o["above"]["label_rate"].get<double>() >= 3 * o["below"]["label_rate"].get<double>());
  }
  SUBCASE("Raspberry Pi sessions are all IoT") {
    bool seen = false;
    const json manufacturer = find(p["categorical"], "manufacturer");
    for (const auto& v : manufacturer["top"])
      if (v["value"] == "Raspberry Pi Foundation") {
        seen = true;
        CHECK(v["label_rate"].get<double>() == 1.0);
      }
    CHECK(seen);
  }
  SUBCASE("rows with no DNS names have a higher IoT rate; IoT sessions ask fewer names") {
    auto d = find(p["multi"], "dns");
    CHECK(d["none_label_rate"].get<double>() > p["label"]["rate"].get<double>());
    auto rank = find(p["ranking"], "dns");
    CHECK(rank["direction"] == "lower");
  }
  SUBCASE("duration is a weak signal") {
    auto rank = find(p["ranking"], "duration");
    CHECK(rank["auc"].get<double>() < 0.6);
    CHECK(find(p["ranking"], "manufacturer")["auc"].get<double>() > rank["auc"].get<double>());
  }
  SUBCASE("the profile passes its input through unchanged") {
    auto info = json::parse(slurp(home / "run/run.json"));
    CHECK(info["stages"][2]["rows_in"] == info["stages"][2]["rows_out"]);
  }
}
