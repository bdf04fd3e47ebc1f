#include "group_stats.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <mutex>
#include <optional>

using namespace pipectl;
using pipectl::plugins::GroupStats;
using pipectl::plugins::group_stats_spec;
using pipectl::testing::options_with_defaults;
using pipectl::testing::TestContext;

namespace {

// Two devices: "a" every 10 s exactly, port 443, 100 bytes, a name on every other row;
// "b" at irregular times, a new port each row, 10..10^4 bytes, no names; one row without a device.
TablePtr devices() {
  std::vector<std::string> mac;
  std::vector<std::int64_t> bytes, packets, port, sid;
  std::vector<double> start;
  std::vector<std::optional<std::vector<std::string>>> names;
  for (int k = 0; k < 6; ++k) {
    mac.push_back("a");
    bytes.push_back(100);
    packets.push_back(2);
    port.push_back(443);
    start.push_back(10.0 * k);
    names.push_back(k % 2 ? std::vector<std::string>{"x.example"} : std::vector<std::string>{});
  }
  const double times[] = {0, 1, 2, 50, 51, 400};
  for (int k = 0; k < 6; ++k) {
    mac.push_back("b");
    bytes.push_back(static_cast<std::int64_t>(std::pow(10, 1 + k % 4)));
    packets.push_back(1 + k);
    port.push_back(1000 + k);
    start.push_back(times[k]);
    names.push_back(std::vector<std::string>{});
  }
  mac.push_back("");
  bytes.push_back(60);
  packets.push_back(1);
  port.push_back(53);
  start.push_back(5);
  names.push_back(std::vector<std::string>{"y.example"});
  for (std::size_t i = 0; i < mac.size(); ++i) sid.push_back(static_cast<std::int64_t>(i));
  std::vector<std::uint8_t> valid(mac.size(), 1);
  valid.back() = 0;
  Column m = encode_strings("mac", mac);
  m.codes.back() = -1;
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", sid)),
      std::make_shared<const Column>(std::move(m)),
      std::make_shared<const Column>(Column::make_i64("bytes", bytes)),
      std::make_shared<const Column>(Column::make_i64("packets", packets)),
      std::make_shared<const Column>(Column::make_i64("dstport", port)),
      std::make_shared<const Column>(Column::make_f64("starttime", start)),
      std::make_shared<const Column>(testing::multi_column("dns", names))});
  t->check();
  return t;
}

}  // namespace

TEST_CASE("group_stats: each row gets its device's figures") {
  TestContext ctx("dev");
  GroupStats s(options_with_defaults<pipectl::plugins::GroupStatsOptions>(group_stats_spec()));
  const Table out = s.run(ctx, {devices()});
  out.check();
  CHECK(out.at("dev_dns_share").f64[0] == doctest::Approx(0.5));
  CHECK(out.at("dev_dns_share").f64[6] == 0.0);
  CHECK(out.at("dev_dns_share").f64[12] == 1.0);  // the NULL device: a group of its own row
  CHECK(out.at("dev_dstports").f64[0] == doctest::Approx(1.0 / 6));
  CHECK(out.at("dev_dstports").f64[7] == 1.0);
  CHECK(out.at("dev_bytes_q50").f64[3] == doctest::Approx(std::log10(101.0)));
  CHECK(out.at("dev_packets_q25").f64[0] == doctest::Approx(std::log10(3.0)));
  CHECK(out.at("dev_interval_cv").f64[0] == doctest::Approx(0.0));  // strictly periodic
  CHECK(out.at("dev_interval_cv").f64[6] > 1.0);                    // bursty
  CHECK(out.at("dev_interval_cv").is_null(12));                     // one row: no gaps
  CHECK(ctx.counters.at("groups") == 3);
  CHECK(out.at("sessionid").i64 == devices()->at("sessionid").i64);  // rows kept as they were
}

TEST_CASE("group_stats: features chooses the columns, and unknown ones are refused") {
  TestContext ctx("dev");
  GroupStats s(options_with_defaults<pipectl::plugins::GroupStatsOptions>(group_stats_spec(), {{"features", {"dstports"}}, {"prefix", "d_"}}));
  const Table out = s.run(ctx, {devices()});
  CHECK(out.find("d_dstports"));
  CHECK_FALSE(out.find("d_dns_share"));
  // The choices are declared: the validator refuses an unknown one before any stage exists.
  CHECK(group_stats_spec().find("features")->check({"dstports", "bogus"}) ==
        "each element must be one of \"dns_share\", \"dstports\", \"bytes\", \"packets\", \"interval\", got \"bogus\"");
}

TEST_CASE("group_stats: on 2 workers (a device's rows on both) the figures of one process") {
  const auto t = devices();
  TestContext one("dev");
  const Table single = GroupStats(options_with_defaults<pipectl::plugins::GroupStatsOptions>(group_stats_spec())).run(one, {t});
  const auto shards = testing::deal_shards(t, 2, 3);
  std::vector<TablePtr> outs(2);
  std::mutex mu;
  testing::ThreadGroup(2).run([&](Collective& c) {
    TestContext ctx("dev");
    ctx.coll = &c;
    Table o = GroupStats(options_with_defaults<pipectl::plugins::GroupStatsOptions>(group_stats_spec())).run(ctx, {shards[static_cast<std::size_t>(c.rank())]});
    std::lock_guard<std::mutex> lock(mu);
    outs[static_cast<std::size_t>(c.rank())] = std::make_shared<const Table>(o);
  });
  for (const auto& op : outs) {
    const Table& o = *op;
    for (std::size_t i = 0; i < o.rows(); ++i) {
      const auto sid = static_cast<std::size_t>(o.at("sessionid").i64[i]);
      if (sid == 12) continue;  // the NULL device is its own row either way
      for (const char* c : {"dev_dns_share", "dev_dstports", "dev_bytes_q75", "dev_interval_cv"})
        CHECK(o.at(c).f64[i] == single.at(c).f64[sid]);
    }
  }
}
