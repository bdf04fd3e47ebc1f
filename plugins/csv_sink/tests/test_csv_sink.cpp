#include "csv_sink.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

using namespace pipectl;
using pipectl::plugins::CsvSink;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("csvsink-test") {}
};

Params params(const std::string& path, json more = json::object()) {
  more["path"] = path;
  return testing::params_with_defaults(plugins::csv_sink_spec(), std::move(more));
}

plugins::CsvSinkOptions opts(const Params& p) {
  return bind_options<plugins::CsvSinkOptions>(plugins::csv_sink_spec(), p);
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

DictionaryPtr dict(Dictionary d) { return std::make_shared<const Dictionary>(std::move(d)); }

// One column of each type, with NULLs.
TablePtr sample() {
  auto cat = Column::make_cat("maker", {0, -1, 1, 2}, dict({"Philips", "Hue, Inc.", "say \"hi\""}));
  cat.valid = {1, 0, 1, 1};
  auto dns = Column::make_multi("dns", {0, 2, 2, 3, 3}, {0, 1, 2}, dict({"a.com", "b.com", "c.com"}));
  dns.valid = {1, 1, 1, 0};
  Table t({std::make_shared<const Column>(Column::make_i64("id", {1, 2, -3, 4}, {1, 1, 1, 0})),
           std::make_shared<const Column>(Column::make_f64("x", {0.5, 100.0, 0.1, 0.0}, {1, 1, 1, 0})),
           std::make_shared<const Column>(std::move(cat)), std::make_shared<const Column>(std::move(dns))});
  return std::make_shared<const Table>(t);
}

std::string write(const TablePtr& t, const Params& p, testing::TestContext& ctx) {
  CsvSink s(opts(p));
  Table out = s.run(ctx, {t});
  // the output is the input, untouched
  REQUIRE(out.num_columns() == t->num_columns());
  for (std::size_t i = 0; i < out.num_columns(); ++i) CHECK(out.columns()[i] == t->columns()[i]);
  return slurp(p.str("path"));
}

std::string to_text(const Table& t, json more = json::object()) {
  auto cfg = plugins::CsvSinkConfig::from(opts(params("unused.csv", std::move(more))));
  std::string s;
  plugins::write_csv(t, cfg, [&](std::string_view x) { s.append(x); });
  return s;
}

}  // namespace

TEST_CASE("csv_sink: writes header, values, NULLs and lists") {
  TempDir d;
  testing::TestContext ctx;
  auto t = sample();
  SUBCASE("defaults") {
    CHECK(write(t, params(d / "o.csv"), ctx) ==
          "id,x,maker,dns\n"
          "1,0.5,Philips,a.com|b.com\n"
          "2,100.0,,\"\"\n"
          "-3,0.10000000000000001,\"Hue, Inc.\",c.com\n"
          ",,\"say \"\"hi\"\"\",\n");
    CHECK(ctx.log.back() == "info: wrote 4 rows to \"" + d / "o.csv" + "\"");
  }
  SUBCASE("shortest floats, another delimiter and separator") {
    CHECK(write(t, params(d / "o.csv", {{"float_format", "shortest"}, {"delimiter", ";"}, {"list_separator", "+"}}),
                ctx) ==
          "id;x;maker;dns\n"
          "1;0.5;Philips;a.com+b.com\n"
          "2;100.0;;\"\"\n"
          "-3;0.1;Hue, Inc.;c.com\n"
          ";;\"say \"\"hi\"\"\";\n");
  }
  SUBCASE("columns picks and orders") {
    CHECK(write(t, params(d / "o.csv", {{"columns", {"dns", "id"}}}), ctx) ==
          "dns,id\na.com|b.com,1\n\"\",2\nc.com,-3\n,\n");
    CHECK_THROWS_WITH_AS(write(t, params(d / "o.csv", {{"columns", {"id", "nope"}}}), ctx),
                         "no column \"nope\" (columns: id, x, maker, dns)", DataError);
  }
  SUBCASE("the contract needs the chosen columns") {
    auto o = pipectl::testing::schema_of(plugins::csv_sink_spec(), params("o.csv", {{"columns", {"dns", "id"}}}),
                                           {pipectl::testing::schema_with({{"id", DType::Int64}})});
    CHECK(o.issues == std::vector<std::string>{"columns: names column \"dns\", which its inputs do not provide (closest: id)"});
    CHECK(o.schema.names() == std::vector<std::string>{"id"});
  }
}

TEST_CASE("csv_sink: values that need care") {
  SUBCASE("floats keep a '.' or an exponent, and full precision") {
    const double third = 1.0 / 3.0;
    Table t({std::make_shared<const Column>(Column::make_f64(
        "f", {1e20, -0.0, third, std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity(),
              5e-324, 123456789012.0}))});
    CHECK(to_text(t) == "f\n1e+20\n-0.0\n0.33333333333333331\nnan\n-inf\n4.9406564584124654e-324\n123456789012.0\n");
    CHECK(to_text(t, {{"float_format", "shortest"}}) ==
          "f\n1e+20\n-0.0\n0.3333333333333333\nnan\n-inf\n5e-324\n123456789012.0\n");
  }
  SUBCASE("categorical labels are quoted when they would read back as something else") {
    Table t({std::make_shared<const Column>(Column::make_cat(
        "c", {0, 1, 2, 3, 4, 5, 6, 7}, dict({"443", "", " pad", "line\nbreak", "nan", "-1e3", "ok", "x\"y"})))});
    CHECK(to_text(t) == "c\n\"443\"\n\"\"\n\" pad\"\n\"line\nbreak\"\n\"nan\"\n\"-1e3\"\nok\n\"x\"\"y\"\n");
  }
  SUBCASE("list items with a comma are quoted as a whole") {
    Table t({std::make_shared<const Column>(Column::make_multi("l", {0, 2}, {0, 1}, dict({"a,b", "c"})))});
    CHECK(to_text(t) == "l\n\"a,b|c\"\n");
  }
  SUBCASE("list items that cannot be written") {
    Table t({std::make_shared<const Column>(Column::make_multi("l", {0, 1, 2}, {0, 1}, dict({"ok", "a|b"})))});
    CHECK_THROWS_WITH_AS(to_text(t), "column \"l\": item \"a|b\" holds the list separator \"|\" at row 1 cannot be written",
                         DataError);
    Table e({std::make_shared<const Column>(Column::make_multi("l", {0, 1}, {0}, dict({""})))});
    CHECK_THROWS_WITH_AS(to_text(e), "column \"l\": an empty item at row 0 cannot be written", DataError);
  }
  SUBCASE("header names are quoted when needed") {
    Table t({std::make_shared<const Column>(Column::make_i64("a,b", {1})),
             std::make_shared<const Column>(Column::make_i64("7", {2}))});
    CHECK(to_text(t) == "\"a,b\",7\n1,2\n");
  }
}

TEST_CASE("csv_sink: roles") {
  auto base = sample();
  auto roles = std::make_shared<const std::vector<Role>>(std::vector<Role>{Role::Train, Role::Valid, Role::Test, Role::Train});
  Table split = base->with_roles(roles);
  SUBCASE("roles = true adds a role column to a split table") {
    CHECK(to_text(split, {{"roles", true}, {"columns", {"id"}}}) == "id,role\n1,train\n2,valid\n-3,test\n,train\n");
  }
  SUBCASE("not by default") { CHECK(to_text(split, {{"columns", {"id"}}}) == "id\n1\n2\n-3\n\n"); }
  SUBCASE("nor without a split") { CHECK(to_text(*base, {{"roles", true}, {"columns", {"id"}}}) == "id\n1\n2\n-3\n\n"); }
  SUBCASE("a column already called role") {
    Table r = split.with(Column::make_i64("role", {1, 2, 3, 4}));
    CHECK_THROWS_WITH_AS(to_text(r, {{"roles", true}}),
                         "the table already has a column \"role\"; cannot add the split as \"role\" (set roles = false)",
                         DataError);
  }
}

TEST_CASE("csv_sink: the file is replaced whole") {
  TempDir d;
  testing::TestContext ctx;
  const std::string p = d / "sub/dir/out.csv";
  SUBCASE("missing folders are made, no .tmp is left") {
    write(sample(), params(p), ctx);
    CHECK(fs::exists(p));
    CHECK_FALSE(fs::exists(p + ".tmp"));
  }
  SUBCASE("an existing file is replaced") {
    fs::create_directories(d / "sub/dir");
    std::ofstream(p) << "old contents that are longer than the new ones............................................\n";
    Table one({std::make_shared<const Column>(Column::make_i64("a", {1}))});
    CHECK(write(std::make_shared<const Table>(one), params(p), ctx) == "a\n1\n");
  }
  SUBCASE("a failed write leaves the old file and no .tmp") {
    fs::create_directories(d / "sub/dir");
    std::ofstream(p) << "old\n";
    Table bad({std::make_shared<const Column>(Column::make_multi("l", {0, 1}, {0}, dict({"a|b"})))});
    CsvSink s(opts(params(p)));
    CHECK_THROWS_AS(s.run(ctx, {std::make_shared<const Table>(bad)}), DataError);
    CHECK(slurp(p) == "old\n");
    CHECK_FALSE(fs::exists(p + ".tmp"));
  }
  SUBCASE("cancelled: nothing written") {
    std::vector<std::int64_t> v(10000, 7);
    Table big({std::make_shared<const Column>(Column::make_i64("a", v))});
    ctx.cancel = true;
    CsvSink s(opts(params(p)));
    CHECK_THROWS_AS(s.run(ctx, {std::make_shared<const Table>(big)}), Interrupted);
    CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(fs::exists(p + ".tmp"));
  }
  SUBCASE("configuration errors") {
    // Reported by the schema rule, under the parameter, before any stage exists.
    const auto in = testing::schema_with({{"a", DType::Int64}});
    auto issues = [&](json more) { return testing::schema_of(plugins::csv_sink_spec(), params(p, more), {in}).issues; };
    CHECK(issues({{"columns", {"a", "a"}}}) == std::vector<std::string>{"columns: names \"a\" twice"});
    CHECK(issues({{"list_separator", ","}}) == std::vector<std::string>{"list_separator: contains the delimiter"});
    CHECK(issues({{"list_separator", ""}}) == std::vector<std::string>{"list_separator: is empty"});
    CHECK(issues({{"delimiter", "ab"}}) ==
          std::vector<std::string>{"delimiter: must be one character other than a quote or a line break, got \"ab\""});
  }
}
