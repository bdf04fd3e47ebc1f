#include "port_class.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

using namespace pipectl;
using pipectl::plugins::port_class_of;
using pipectl::plugins::port_class_spec;
using pipectl::plugins::port_classes;
using pipectl::plugins::PortClass;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {
std::string cls(std::int64_t port) { return port_classes()[static_cast<std::size_t>(port_class_of(port))]; }
}  // namespace

TEST_CASE("port_class: services and the IANA ranges, at their edges") {
  CHECK(cls(53) == "dns");
  CHECK(cls(80) == "http");
  CHECK(cls(8080) == "http");
  CHECK(cls(443) == "https");
  CHECK(cls(8443) == "https");
  CHECK(cls(123) == "ntp");
  CHECK(cls(554) == "rtsp");
  CHECK(cls(1900) == "ssdp");
  CHECK(cls(1883) == "mqtt");
  CHECK(cls(8883) == "mqtt");
  CHECK(cls(5353) == "mdns");
  CHECK(cls(0) == "well_known");
  CHECK(cls(1023) == "well_known");
  CHECK(cls(1024) == "registered");
  CHECK(cls(49151) == "registered");
  CHECK(cls(49152) == "ephemeral");
  CHECK(cls(65535) == "ephemeral");
  CHECK(cls(65536) == "invalid");
  CHECK(cls(-1) == "invalid");
}

TEST_CASE("port_class: adds <column>_class beside each port column, NULL stays NULL") {
  std::vector<std::uint8_t> valid = {1, 1, 1, 0};
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("srcport", {51000, 5353, 1883, 0}, valid)),
      std::make_shared<const Column>(Column::make_i64("dstport", {443, 5353, 32100, 554}))});
  TestContext ctx("ports");
  PortClass s(params_with_defaults(port_class_spec()));
  const Table out = s.run(ctx, {t});
  out.check();
  CHECK(out.at("srcport").i64 == t->at("srcport").i64);  // the ports stay
  const Column& sc = out.at("srcport_class");
  const Column& dc = out.at("dstport_class");
  CHECK(sc.type == DType::Categorical);
  CHECK(sc.label(0) == "ephemeral");
  CHECK(sc.label(1) == "mdns");
  CHECK(sc.label(2) == "mqtt");
  CHECK(sc.codes[3] == -1);
  CHECK(dc.label(0) == "https");
  CHECK(dc.label(2) == "registered");
  CHECK(dc.label(3) == "rtsp");
  CHECK(ctx.counters["null.srcport"] == 1);
}

TEST_CASE("port_class: refuses a column that is not int64, and an empty suffix") {
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_f64("srcport", {1.0})),
      std::make_shared<const Column>(Column::make_i64("dstport", {1}))});
  TestContext ctx("ports");
  PortClass s(params_with_defaults(port_class_spec()));
  CHECK_THROWS_WITH_AS(s.run(ctx, {t}), "port_class: column \"srcport\" must be int64, it is float64", DataError);
  auto p = params_with_defaults(port_class_spec(), {{"suffix", ""}});
  CHECK_THROWS_WITH(PortClass{p}, "port_class: parameter \"suffix\" must not be empty (the class would replace the port)");
}
