#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <pipectl/testing.hpp>

#include "../ratio.hpp"

#include <cmath>

using namespace pipectl;

TEST_CASE("ratio divides, marks division by zero NULL and counts it") {
  Table t;
  t = t.with(Column::make_i64("bytes", {100, 3000, 60}));
  t = t.with(Column::make_i64("packets", {2, 3, 0}));
  auto spec = ratio_example::ratio_spec();
  testing::TestContext ctx;
  SUBCASE("plain") {
    ratio_example::Ratio r(testing::options_with_defaults<ratio_example::RatioOptions>(spec));
    auto out = r.run(ctx, {std::make_shared<const Table>(t)});
    const Column& c = out.at("bytes_per_packet");
    CHECK(c.f64[0] == 50.0);
    CHECK(c.f64[1] == 1000.0);
    CHECK(c.is_null(2));
    CHECK(ctx.counters["null.undefined_ratio"] == 1);
    CHECK(out.at("bytes").i64[0] == 100);  // input columns pass through
  }
  SUBCASE("log1p") {
    ratio_example::Ratio r(testing::options_with_defaults<ratio_example::RatioOptions>(spec, {{"log1p", true}, {"output", "lr"}}));
    auto out = r.run(ctx, {std::make_shared<const Table>(t)});
    CHECK(out.at("lr").f64[0] == doctest::Approx(std::log1p(50.0)));
  }
  SUBCASE("non-numeric input is a data error") {
    auto cat = encode_strings("bytes", {"a", "b", "c"});
    auto bad = t.with(std::move(cat));
    ratio_example::Ratio r(testing::options_with_defaults<ratio_example::RatioOptions>(spec));
    CHECK_THROWS_WITH_AS(r.run(ctx, {std::make_shared<const Table>(bad)}),
                         "ratio needs numeric columns, \"bytes\" is categorical and \"packets\" is int64", DataError);
  }
}
