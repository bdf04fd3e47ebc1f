#include "csv_source.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

using namespace pipectl;
using pipectl::plugins::CsvSource;
namespace fs = std::filesystem;

namespace {

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("csv-test") {}
};

std::string write(const TempDir& d, const std::string& text, const std::string& name = "t.csv") {
  std::ofstream(d / name, std::ios::binary) << text;
  return d / name;
}

/// The NetCollector export's shape: `dns` is a list column (unless given).
Params params(const std::string& path, json more = json::object()) {
  more["path"] = path;
  if (!more.contains("list_columns")) more["list_columns"] = json::array({"dns"});
  return testing::params_with_defaults(plugins::csv_spec(), std::move(more));
}

plugins::CsvOptions opts(const Params& p) { return bind_options<plugins::CsvOptions>(plugins::csv_spec(), p); }

Table read(const Params& p, testing::TestContext& ctx) {
  CsvSource s(opts(p));
  Table t = s.run(ctx, {});
  t.check();
  return t;
}

using testing::labels;
using testing::list;

std::string error_of(const Params& p) {
  testing::TestContext ctx;
  try {
    read(p, ctx);
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no DataError>";
}

using V = std::vector<std::string>;

const char* kSeed =
    "sessionid,srcport,dstport,bytes,packets,starttime,endtime,manufacturer,device_type,dns\n"
    "1,51000,443,1200,10,100.0,101.5,Philips,Hue Bridge,time.hue.com|api.hue.com\n"
    "2,51001,80,300,3,102.0,102.25,Apple,Other,apple.com\n"
    "4,51003,554,99999,120,104.0,,,Camera,\n"
    "5,,443,40,1,105.0,105.5,Philips,Hue Bridge,\"\"\n"
    "7,51005,443,5000,12,106.0,109,Apple,Other,icloud.com|apple.com\n";

}  // namespace

TEST_CASE("csv_source: reads the seed columns with inferred types") {
  TempDir d;
  testing::TestContext ctx;
  Table t = read(params(write(d, kSeed)), ctx);
  REQUIRE(t.rows() == 5);
  CHECK(t.column_names() == V{"sessionid", "srcport", "dstport", "bytes", "packets", "starttime", "endtime",
                              "manufacturer", "device_type", "dns"});
  SUBCASE("all integers: int64; all numbers: float64; else categorical; dns is a list") {
    CHECK(t.at("sessionid").type == DType::Int64);
    CHECK(t.at("srcport").type == DType::Int64);
    CHECK(t.at("starttime").type == DType::Float64);  // "100.0": a number, not an integer
    CHECK(t.at("endtime").type == DType::Float64);
    CHECK(t.at("manufacturer").type == DType::Categorical);
    CHECK(t.at("dns").type == DType::MultiCategorical);
  }
  SUBCASE("values") {
    CHECK(t.at("sessionid").i64 == std::vector<std::int64_t>{1, 2, 4, 5, 7});
    CHECK(t.at("endtime").f64[1] == 102.25);
    CHECK(labels(t.at("device_type")) == V{"Hue Bridge", "Other", "Camera", "Hue Bridge", "Other"});
    CHECK(*t.at("device_type").dictionary == Dictionary{"Hue Bridge", "Other", "Camera"});
  }
  SUBCASE("empty fields are NULL, counted") {
    CHECK(t.at("srcport").valid == std::vector<std::uint8_t>{1, 1, 1, 0, 1});
    CHECK(t.at("endtime").is_null(2));
    CHECK(std::isnan(t.at("endtime").f64[2]));
    CHECK(t.at("manufacturer").codes[2] == -1);
    CHECK(t.at("manufacturer").is_null(2));
    CHECK(ctx.counters["nulls.srcport"] == 1);
    CHECK(ctx.counters["nulls.manufacturer"] == 1);
    CHECK(ctx.counters.count("nulls.bytes") == 0);
  }
  SUBCASE("lists: split at |; an empty bare field is NULL, \"\" the empty list") {
    const auto& dns = t.at("dns");
    CHECK(list(dns, 0) == V{"time.hue.com", "api.hue.com"});
    CHECK(list(dns, 4) == V{"icloud.com", "apple.com"});
    CHECK(list(dns, 2).empty());
    CHECK(dns.is_null(2));
    CHECK(list(dns, 3).empty());
    CHECK_FALSE(dns.is_null(3));
    CHECK(*dns.dictionary == Dictionary{"time.hue.com", "api.hue.com", "apple.com", "icloud.com"});
  }
}

TEST_CASE("csv_source: schema and configuration") {
  auto spec = plugins::csv_spec();
  CHECK(spec.min_inputs == 0);
  CHECK(spec.max_inputs == 0);
  CHECK(spec.find("path")->is_required);
  auto schema = [&](const Params& p) { return testing::schema_of(spec, p).schema; };
  SUBCASE("without types: known at run time") {
    auto k = schema(params("x.csv"));
    CHECK_FALSE(k.known);
    CHECK(k.columns.empty());
  }
  SUBCASE("with types: the typed columns and the list columns") {
    auto k = schema(params("x.csv", {{"types", {{"bytes", "int64"}, {"dns", "multi_categorical"}}}}));
    CHECK(k.known);
    CHECK(k.names() == V{"bytes", "dns"});
    CHECK(k.find("dns")->type == DType::MultiCategorical);
    k = schema(params("x.csv", {{"types", {{"bytes", "int64"}}}, {"list_columns", {"dns", "tags"}}}));
    CHECK(k.names() == V{"bytes", "dns", "tags"});
    k = schema(params("x.csv", {{"types", {{"bytes", "int64"}}}, {"list_columns", json::array()}}));
    CHECK(k.names() == V{"bytes"});
  }
  SUBCASE("bad settings") {
    // Reported by the schema rule, under the parameter, before any stage exists.
    auto issues = [](json more) { return testing::schema_of(plugins::csv_spec(), params("x.csv", more)).issues; };
    CHECK(issues({{"delimiter", ";;"}}) ==
          V{"delimiter: must be one character other than a quote or a line break, got \";;\""});
    CHECK(issues({{"types", {{"a", "text"}}}}) ==
          V{"types: column \"a\" has type \"text\"; expected \"int64\", \"float64\", \"categorical\" or "
            "\"multi_categorical\""});
    CHECK(issues({{"types", {{"dns", "categorical"}}}}) ==
          V{"list_columns: names \"dns\", but types gives it \"categorical\""});
    CHECK(issues({{"list_separator", ""}}) == V{"list_separator: is empty"});
  }
}

TEST_CASE("csv_source: declared types") {
  TempDir d;
  testing::TestContext ctx;
  SUBCASE("types override inference") {
    auto p = write(d, "a,b,c,tags\n1,2,x,p;q\n3,4.0,y,\n");
    Table t = read(params(p, {{"types", {{"a", "float64"}, {"b", "int64"}, {"c", "categorical"},
                                         {"tags", "multi_categorical"}}},
                              {"list_separator", ";"},
                              {"list_columns", json::array()}}),
                   ctx);
    CHECK(t.at("a").type == DType::Float64);
    CHECK(t.at("a").f64 == std::vector<double>{1.0, 3.0});
    CHECK(t.at("b").type == DType::Int64);
    CHECK(t.at("b").i64 == std::vector<std::int64_t>{2, 4});  // "4.0" is an integral number
    CHECK(t.at("tags").type == DType::MultiCategorical);
    CHECK(list(t.at("tags"), 0) == V{"p", "q"});
  }
  SUBCASE("a declared numeric column: text is an error naming column and line") {
    auto p = write(d, "h1,srcport\n1,5\n2,\"6\"\n3, 7 \n4,+8\n5,\n6,abc\n");
    CHECK(error_of(params(p, {{"types", {{"srcport", "int64"}}}, {"list_columns", json::array()}})) ==
          "column \"srcport\": text value \"abc\" at line 7");
    CHECK(error_of(params(p, {{"types", {{"srcport", "float64"}}}, {"list_columns", json::array()}})) ==
          "column \"srcport\": text value \"abc\" at line 7");
    SUBCASE("quoted, blank-padded and signed numbers are fine") {
      auto q = write(d, "h1,srcport\n1,5\n2,\"6\"\n3, 7 \n4,+8\n5,\n", "ok.csv");
      Table t = read(params(q, {{"types", {{"srcport", "int64"}}}, {"list_columns", json::array()}}), ctx);
      CHECK(t.at("srcport").i64 == std::vector<std::int64_t>{5, 6, 7, 8, 0});
      CHECK(t.at("srcport").valid == std::vector<std::uint8_t>{1, 1, 1, 1, 0});
    }
  }
  SUBCASE("a declared int64 column: non-integers and out-of-range numbers") {
    CHECK(error_of(params(write(d, "x\n1\n2.5\n"), {{"types", {{"x", "int64"}}}, {"list_columns", json::array()}})) ==
          "column \"x\": value \"2.5\" at line 3 is not an integer");
    CHECK(error_of(params(write(d, "x\n1\n1e30\n"), {{"types", {{"x", "int64"}}}, {"list_columns", json::array()}})) ==
          "column \"x\": value \"1e30\" at line 3 is out of the int64 range");
  }
  SUBCASE("with types, the output is exactly the declared columns") {
    auto p = write(d, "a,b,dns,extra\n1,x,p|q,zz\n2,y,,\n");
    Table t = read(params(p, {{"types", {{"a", "float64"}}}}), ctx);
    CHECK(t.column_names() == V{"a", "dns"});
    CHECK(t.at("a").type == DType::Float64);
    CHECK(list(t.at("dns"), 0) == V{"p", "q"});
    CHECK(ctx.log.front() == "info: columns neither in types nor in list_columns are not read: b, extra");
    CHECK(testing::schema_of(plugins::csv_spec(), params(p, {{"types", {{"a", "float64"}}}})).schema.names() == V{"a", "dns"});
  }
  SUBCASE("with types, a list column missing from the header is an error") {
    CHECK(error_of(params(write(d, "a,b\n1,2\n"), {{"types", {{"a", "int64"}}}})) ==
          "list column \"dns\" is not in the header (columns: a, b); with types given, every column of list_columns "
          "must be there (set list_columns = [] if the file has none)");
  }
  SUBCASE("a types entry for a column not in the header") {
    CHECK(error_of(params(write(d, "a,b\n1,2\n"), {{"types", {{"c", "int64"}}}})) ==
          "parameter \"types\" names column \"c\", which is not in the header (columns: a, b)");
  }
}

TEST_CASE("csv_source: inference details") {
  TempDir d;
  testing::TestContext ctx;
  SUBCASE("one non-number makes the column categorical, wherever it is") {
    std::string s = "a,b\n";
    for (int i = 0; i < 10000; ++i) s += std::to_string(i) + "," + std::to_string(i) + ".5\n";
    s += "x,nan\n";
    Table t = read(params(write(d, s)), ctx);
    CHECK(t.at("a").type == DType::Categorical);
    CHECK(t.at("a").dictionary->size() == 10001);
    CHECK(t.at("b").type == DType::Float64);
    CHECK(std::isnan(t.at("b").f64[10000]));
    CHECK_FALSE(t.at("b").is_null(10000));  // "nan" is a value, not NULL
  }
  SUBCASE("quoted digits stay text (as csv_sink writes categorical digits)") {
    auto p = write(d, "port,n\n\"443\",\"1\"\n\"80\",2\n");
    Table t = read(params(p), ctx);
    CHECK(t.at("port").type == DType::Categorical);
    CHECK(labels(t.at("port")) == V{"443", "80"});
    CHECK(t.at("n").type == DType::Categorical);
    SUBCASE("unless quoted_is_text is off") {
      Table u = read(params(p, {{"quoted_is_text", false}}), ctx);
      CHECK(u.at("port").type == DType::Int64);
      CHECK(u.at("port").i64 == std::vector<std::int64_t>{443, 80});
    }
  }
  SUBCASE("\"\" is NULL in a numeric column and the empty string in a categorical one") {
    Table t = read(params(write(d, "n,c\n1,\"\"\n\"\",x\n,\n")), ctx);
    CHECK(t.at("n").type == DType::Int64);
    CHECK(t.at("n").valid == std::vector<std::uint8_t>{1, 0, 0});
    CHECK(t.at("c").type == DType::Categorical);
    CHECK(labels(t.at("c")) == V{"", "x", "<null>"});
    CHECK_FALSE(t.at("c").is_null(0));
    CHECK(t.at("c").is_null(2));
  }
  SUBCASE("a column without values is float64, all NULL; with only \"\" it is categorical") {
    Table t = read(params(write(d, "a,b,c\n1,,\"\"\n2,,\n")), ctx);
    CHECK(t.at("b").type == DType::Float64);
    CHECK(t.at("b").null_count() == 2);
    CHECK(t.at("c").type == DType::Categorical);
    CHECK(labels(t.at("c")) == V{"", "<null>"});
  }
  SUBCASE("big integers that do not fit int64 are float64") {
    Table t = read(params(write(d, "a\n1\n99999999999999999999\n")), ctx);
    CHECK(t.at("a").type == DType::Float64);
    CHECK(t.at("a").f64[1] == 1e20);
  }
  SUBCASE("list_columns absent from the header are ignored") {
    Table t = read(params(write(d, "a\n1\n"), {{"list_columns", {"dns", "tags"}}}), ctx);
    CHECK(t.column_names() == V{"a"});
  }
  SUBCASE("a one-column file: a blank line is a NULL row") {
    Table t = read(params(write(d, "a\n1\n\n3\n")), ctx);
    CHECK(t.at("a").i64 == std::vector<std::int64_t>{1, 0, 3});
    CHECK(t.at("a").is_null(1));
  }
  SUBCASE("BOM, CRLF, quoted line breaks and another delimiter") {
    auto p = write(d, "\xEF\xBB\xBFid;note\r\n1;\"a;b\r\nc\"\r\n2;\"say \"\"x\"\"\"\r\n\r\n");
    Table t = read(params(p, {{"delimiter", ";"}}), ctx);
    CHECK(t.column_names() == V{"id", "note"});
    CHECK(t.at("id").i64 == std::vector<std::int64_t>{1, 2});
    CHECK(labels(t.at("note")) == V{"a;b\r\nc", "say \"x\""});
  }
}

TEST_CASE("csv_source: malformed files") {
  TempDir d;
  SUBCASE("a ragged row") {
    std::string s = "a,b,c,d,e,f,g,h,i\n";
    for (int i = 0; i < 5; ++i) s += "1,2,3,4,5,6,7,8,9\n";
    s += "1,2,3,4,5\n";
    CHECK(error_of(params(write(d, s))) == "line 7: 5 fields, header has 9");
    SUBCASE("also when every column is declared (no inference pass)") {
      json types = json::object();
      for (auto c : {"a", "b", "c", "d", "e", "f", "g", "h", "i"}) types[c] = "int64";
      CHECK(error_of(params(write(d, s), {{"types", types}, {"list_columns", json::array()}})) ==
            "line 7: 5 fields, header has 9");
    }
    CHECK(error_of(params(write(d, "a,b\n1,2,3\n"))) == "line 2: 3 fields, header has 2");
    CHECK(error_of(params(write(d, "a,b\n1\n"))) == "line 2: 1 field, header has 2");
  }
  SUBCASE("an unterminated quote") {
    std::string s = "a,b\n";
    for (int i = 0; i < 10; ++i) s += "1,x\n";
    s += "2,\"open\n3,y\n";
    CHECK(error_of(params(write(d, s))) == "line 12: unterminated quoted field");
  }
  SUBCASE("header problems") {
    CHECK(error_of(params(write(d, "a,,c\n1,2,3\n"))) == "line 1: column 2 has no name");
    CHECK(error_of(params(write(d, "a,b,a\n1,2,3\n"))) == "line 1: column \"a\" appears twice in the header");
    CHECK(error_of(params(write(d, "a,b\n"))) == "no data rows (only a header)");
    CHECK(error_of(params(write(d, "\n\n"))) == "no header row (the file is empty)");
  }
  SUBCASE("files") {
    CHECK(error_of(params(d / "none.csv")) == "file \"" + d / "none.csv" + "\" not found");
    CHECK(error_of(params(write(d, "", "e.csv"))) == "file \"" + d / "e.csv" + "\" is empty (no header row)");
    CHECK(error_of(params(d.path.string())) == "file \"" + d.path.string() + "\" is not a regular file");
  }
}

TEST_CASE("csv_source: cancellation") {
  TempDir d;
  std::string s = "a,b\n";
  for (int i = 0; i < 20000; ++i) s += std::to_string(i) + ",x\n";
  auto p = write(d, s);
  testing::TestContext ctx;
  ctx.cancel = true;
  CsvSource src(opts(params(p)));
  CHECK_THROWS_AS(src.run(ctx, {}), Interrupted);
  SUBCASE("declared types: no inference pass, still cancelled") {
    CsvSource s2(opts(params(p, {{"types", {{"a", "int64"}, {"b", "categorical"}}}, {"list_columns", json::array()}})));
    CHECK_THROWS_AS(s2.run(ctx, {}), Interrupted);
  }
}

TEST_CASE("csv_source: any CSV given only a path, validation learns its schema from the header and its head") {
  TempDir d;
  const auto p = write(d, "f1,f2,proto,app\n1,2.5,tcp,a\n3,4,udp,b\n");
  const Params only_path = testing::params_with_defaults(plugins::csv_spec(), {{"path", p}});
  CHECK(only_path.strings("list_columns").empty());
  auto k = testing::schema_of(plugins::csv_spec(), only_path).schema;
  CHECK(k.known);
  CHECK(k.names() == V{"f1", "f2", "proto", "app"});
  CHECK(k.find("f1")->type == DType::Int64);
  CHECK(k.find("f2")->type == DType::Float64);
  CHECK(k.find("proto")->type == DType::Categorical);
  // The read gives exactly that schema.
  testing::TestContext ctx;
  Table t = read(only_path, ctx);
  CHECK(Schema::of(t).names() == k.names());
  for (const auto& c : k.columns) CHECK(t.at(c.name).type == c.type);
  // With types for one column, that column is typed; the file not there yet: the declared columns.
  const auto absent = testing::params_with_defaults(plugins::csv_spec(),
                                                    {{"path", d / "later.csv"}, {"types", {{"f1", "float64"}}}});
  CHECK(testing::schema_of(plugins::csv_spec(), absent).schema.names() == V{"f1"});
}
