#include "cleaner.hpp"

#include <pipectl/features.hpp>
#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <mutex>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::Cleaner;
using pipectl::plugins::CleanerConfig;
using pipectl::plugins::cleaner_spec;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// nullptr = NULL.
Column cat(const std::string& name, const std::vector<const char*>& v) {
  std::vector<std::string> s;
  std::vector<std::uint8_t> valid;
  for (auto* x : v) {
    s.emplace_back(x ? x : "");
    valid.push_back(x != nullptr);
  }
  return encode_strings(name, s, valid);
}

struct Rows {
  std::vector<std::int64_t> srcport, dstport, bytes, packets;
  std::vector<double> start, end;
  std::vector<const char*> device;
  std::vector<std::uint8_t> bytes_valid;  // empty = no NULLs
};

TablePtr make_table(const Rows& r) {
  std::vector<std::int64_t> ids(r.srcport.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(100 + i);
  std::vector<ColumnPtr> cols = {
      std::make_shared<const Column>(Column::make_i64("sessionid", ids)),
      std::make_shared<const Column>(Column::make_i64("srcport", r.srcport)),
      std::make_shared<const Column>(Column::make_i64("dstport", r.dstport)),
      std::make_shared<const Column>(Column::make_i64("bytes", r.bytes, r.bytes_valid)),
      std::make_shared<const Column>(Column::make_i64("packets", r.packets)),
      std::make_shared<const Column>(Column::make_f64("starttime", r.start)),
      std::make_shared<const Column>(Column::make_f64("endtime", r.end)),
      std::make_shared<const Column>(cat("device_type", r.device)),
  };
  auto t = std::make_shared<const Table>(std::move(cols));
  t->check();
  return t;
}

Table run(const json& given, const TablePtr& in, TestContext& ctx) {
  Cleaner c(pipectl::testing::options_with_defaults<pipectl::plugins::CleanerOptions>(cleaner_spec(), given));
  return c.run(ctx, {in});
}

std::string data_error(const json& given, const TablePtr& in, Mode mode = Mode::Fit) {
  TestContext ctx("clean", mode);
  try {
    run(given, in, ctx);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

Rows clean_rows() {
  Rows r;
  r.srcport = {50000, 50001, 443, 123};
  r.dstport = {443, 53, 50002, 123};
  r.bytes = {1500, 80, 0, 76};
  r.packets = {3, 1, 1, 1};
  r.start = {10.0, 20.0, 30.5, 40.0};
  r.end = {12.5, 19.0, 30.5, 41.25};  // row 1 ends before it starts
  r.device = {"Other", "Camera", "Plug", "Other"};
  return r;
}

}  // namespace

TEST_CASE("cleaner: duration label and dropped columns on clean data") {
  auto in = make_table(clean_rows());
  TestContext ctx;
  Table out = run(json::object(), in, ctx);
  out.check();

  SUBCASE("duration is |end - start| and negative ones are counted") {
    const Column& d = out.at("duration");
    CHECK(d.type == DType::Float64);
    CHECK(d.f64 == std::vector<double>{2.5, 1.0, 0.0, 1.25});
    CHECK(d.valid.empty());
    CHECK(ctx.counters.at("fixed.negative_duration") == 1);
  }
  SUBCASE("binary label is 1 unless device_type is Other") {
    const Column& y = out.at("is_iot");
    CHECK(y.type == DType::Int64);
    CHECK(y.i64 == std::vector<std::int64_t>{0, 1, 1, 0});
    CHECK(out.meta("label_names.is_iot") == "no,yes");
    CHECK(out.meta("label") == "is_iot");
    CHECK(label_classes(out, "is_iot") == std::vector<std::string>{"no", "yes"});
  }
  SUBCASE("raw columns are removed and untouched ones shared") {
    CHECK(out.column_names() ==
          std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets", "duration", "is_iot"});
    CHECK(out.find("bytes").get() == in->find("bytes").get());
    CHECK(out.rows() == 4);
    CHECK(ctx.counters.at("rows.dropped") == 0);
  }
  SUBCASE("the input is not modified") {
    CHECK(in->num_columns() == 8);
    CHECK(in->has("device_type"));
    CHECK_FALSE(in->has("is_iot"));
  }
}

TEST_CASE("cleaner: every dropped row is counted under the first reason") {
  Rows r;
  //            0      1      2      3      4      5      6      7     8
  r.srcport = {1000, 1001, 70000, 1003, 1004, 1005, -1, 1007, 65535};
  r.dstport = {443, 443, 443, 443, 443, 99999, 443, 443, 0};
  r.bytes = {10, -5, 10, 10, 10, 10, 10, 10, 0};
  r.packets = {1, 1, 1, -1, 1, 1, 1, 1, 0};
  r.start = {0, 0, 0, 0, 0, 0, 0, kNaN, 5};
  r.end = {1, 1, 1, 1, 1, 1, 1, 1, 4};
  r.device = {"Other", "Camera", "Camera", nullptr, "Camera", "Other", "Plug", "Plug", "Plug"};
  r.bytes_valid = {1, 1, 1, 1, 0, 1, 1, 1, 1};
  // row 1: negative bytes; row 2: srcport range; row 3: NULL device_type
  // (also negative packets: NULL comes first); row 4: NULL bytes; row 5:
  // dstport range; row 6: srcport range; row 7: NaN start -> non-finite duration;
  // rows 0 and 8 are kept (row 8: edge values, end before start).
  auto in = make_table(r);
  TestContext ctx;
  Table out = run(json::object(), in, ctx);
  out.check();

  CHECK(ctx.counters == std::map<std::string, std::int64_t>{
                            {"dropped.negative.bytes", 1},
                            {"dropped.port_range.srcport", 2},
                            {"dropped.port_range.dstport", 1},
                            {"dropped.null.device_type", 1},
                            {"dropped.null.bytes", 1},
                            {"dropped.non_finite.duration", 1},
                            {"fixed.negative_duration", 1},
                            {"rows.dropped", 7},
                        });
  REQUIRE(out.rows() == 2);
  CHECK(out.at("sessionid").i64 == std::vector<std::int64_t>{100, 108});
  CHECK(out.at("is_iot").i64 == std::vector<std::int64_t>{0, 1});
  CHECK(out.at("duration").f64 == std::vector<double>{1.0, 1.0});
}

TEST_CASE("cleaner: applying a fitted run names every dropped row and its reason in dropped_rows.tsv") {
  Rows r;
  r.srcport = {1000, 1001, 70000, 1003, 1004};
  r.dstport = {443, 443, 443, 443, 443};
  r.bytes = {10, -5, 10, 10, 10};
  r.packets = {1, 1, 1, 1, 1};
  r.start = {0, 0, 0, 0, 0};
  r.end = {1, 1, 1, 1, 1};
  r.device = {"Other", "Camera", nullptr, "Plug", "Camera"};
  r.bytes_valid = {1, 1, 1, 0, 1};
  auto in = make_table(r);
  SUBCASE("Mode::Apply (predict), unlabelled rows kept") {
    TestContext ctx("clean", Mode::Apply);
    Table out = run(json{{"keep_unlabelled", true}}, in, ctx);
    CHECK(out.at("sessionid").i64 == std::vector<std::int64_t>{100, 104});
    std::ifstream f(ctx.artifact_dir() / "dropped_rows.tsv");
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(text == "1\tnegative.bytes\n2\tport_range.srcport\n3\tnull.bytes\n");
  }
  SUBCASE("Mode::Fit writes no such file") {
    TestContext ctx("clean", Mode::Fit);
    run(json::object(), in, ctx);
    CHECK_FALSE(std::filesystem::exists(ctx.artifact_dir() / "dropped_rows.tsv"));
  }
}

TEST_CASE("cleaner: infinite durations are dropped") {
  Rows r = clean_rows();
  r.end[0] = kInf;
  r.start[2] = -kInf;
  TestContext ctx;
  Table out = run(json::object(), make_table(r), ctx);
  CHECK(ctx.counters.at("dropped.non_finite.duration") == 2);
  CHECK(out.at("sessionid").i64 == std::vector<std::int64_t>{101, 103});
}

TEST_CASE("cleaner: NULL duration is kept when duration is not required") {
  Rows r = clean_rows();
  auto base = make_table(r);
  auto in = std::make_shared<const Table>(base->with(Column::make_f64("endtime", r.end, {1, 0, 1, 1})));
  SUBCASE("required by default") {
    TestContext ctx;
    Table out = run(json::object(), in, ctx);
    CHECK(ctx.counters.at("dropped.null.duration") == 1);
    CHECK(out.rows() == 3);
  }
  SUBCASE("not required") {
    TestContext ctx;
    Table out = run({{"required", json::array({"bytes"})}}, in, ctx);
    CHECK(out.rows() == 4);
    CHECK(out.at("duration").is_null(1));
    CHECK(out.at("duration").null_count() == 1);
  }
}

TEST_CASE("cleaner: data errors") {
  SUBCASE("every row dropped") {
    Rows r = clean_rows();
    r.device = {nullptr, nullptr, nullptr, "Other"};
    r.bytes = {1, 1, 1, -1};
    CHECK(data_error(json::object(), make_table(r)) ==
          "every one of the 4 rows was dropped (null.device_type: 3, negative.bytes: 1)");
  }
  SUBCASE("single class label") {
    Rows r = clean_rows();
    r.device = {"Other", "Other", nullptr, "Other"};
    CHECK(data_error(json::object(), make_table(r)) ==
          "label \"is_iot\" has a single class (\"no\") in 3 rows; a classifier needs at least two");
    SUBCASE("but applying a model to one class is fine") {
      CHECK(data_error(json::object(), make_table(r), Mode::Apply) == "(no DataError)");
    }
  }
  SUBCASE("single class multiclass label") {
    Rows r = clean_rows();
    r.device = {"Camera", "Camera", "Camera", "Camera"};
    CHECK(data_error({{"label_kind", "multiclass"}, {"label", "device_type"}}, make_table(r)) ==
          "label \"device_type\" has a single class (\"Camera\") in 4 rows; a classifier needs at least two");
  }
  SUBCASE("label_from must be categorical") {
    CHECK(data_error({{"label_from", "bytes"}}, make_table(clean_rows())) ==
          "label_from column \"bytes\" must be categorical, it is int64");
  }
  SUBCASE("checked columns must be numeric") {
    CHECK(data_error({{"non_negative", json::array({"device_type"})}}, make_table(clean_rows())) ==
          "column \"device_type\" is categorical; non_negative needs a numeric column");
  }
  SUBCASE("a missing column is named") {
    CHECK(data_error({{"drop", json::array({"nope"})}}, make_table(clean_rows())) ==
          "no column \"nope\" (columns: sessionid, srcport, dstport, bytes, packets, starttime, endtime, "
          "device_type, duration, is_iot)");
  }
}

TEST_CASE("cleaner: multiclass label") {
  Rows r = clean_rows();
  r.device = {"Plug", "Camera", "Zigbee hub", "Other"};
  r.bytes = {1, 1, -1, 1};  // the Zigbee hub row is dropped, so is its class
  auto in = make_table(r);
  SUBCASE("label replaces label_from in place") {
    TestContext ctx;
    Table out = run({{"label_kind", "multiclass"}, {"label", "device_type"}}, in, ctx);
    out.check();
    const Column& y = out.at("device_type");
    CHECK(y.type == DType::Categorical);
    CHECK(*y.dictionary == Dictionary{"Camera", "Other", "Plug"});
    CHECK(y.codes == std::vector<std::int32_t>{2, 0, 1});
    CHECK(out.column_names() ==
          std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets", "device_type", "duration"});
    CHECK(out.meta("label_names.device_type") == "");
    CHECK(label_classes(out, "device_type") == std::vector<std::string>{"Camera", "Other", "Plug"});
  }
  SUBCASE("a separately named label drops label_from") {
    TestContext ctx;
    Table out = run({{"label_kind", "multiclass"}, {"label", "kind"}}, in, ctx);
    CHECK_FALSE(out.has("device_type"));
    CHECK(*out.at("kind").dictionary == Dictionary{"Camera", "Other", "Plug"});
  }
}

TEST_CASE("cleaner: keep_unlabelled keeps NULL labels") {
  Rows r = clean_rows();
  r.device = {"Other", nullptr, "Plug", nullptr};
  TestContext ctx;
  Table out = run({{"keep_unlabelled", true}}, make_table(r), ctx);
  CHECK(out.rows() == 4);
  const Column& y = out.at("is_iot");
  CHECK(y.null_count() == 2);
  CHECK(y.i64[0] == 0);
  CHECK(y.i64[2] == 1);
  CHECK(ctx.counters.at("rows.dropped") == 0);
}

TEST_CASE("cleaner: schema and configuration") {
  auto spec = cleaner_spec();
  const auto netcollector = pipectl::testing::schema_with({{"sessionid", DType::Int64}, {"srcport", DType::Int64}, {"dstport", DType::Int64},
                                                   {"bytes", DType::Int64}, {"packets", DType::Int64}, {"starttime", DType::Float64},
                                                   {"endtime", DType::Float64}, {"manufacturer", DType::Categorical},
                                                   {"device_type", DType::Categorical}});
  SUBCASE("defaults") {
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec), {netcollector});
    CHECK(o.ok());
    CHECK(o.schema.names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                       "manufacturer", "duration", "is_iot"});
    CHECK(o.schema.find("is_iot")->type == DType::Int64);
    CHECK(o.schema.find("is_iot")->role == ColumnRole::Label);
    CHECK(o.schema.find("duration")->type == DType::Float64);
    CHECK_FALSE(o.schema.split);
    CHECK_FALSE(spec.learns);
  }
  SUBCASE("defaults apply where the data has their columns; named columns are reported under their parameter") {
    const auto in = pipectl::testing::schema_with({{"bytes", DType::Categorical}, {"device_type", DType::Categorical}});
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec), {in});
    CHECK(o.issues == std::vector<std::string>{"non_negative: names column \"bytes\" of type categorical; it takes "
                                               "numeric (float64 or int64) columns"});
    auto named = pipectl::testing::schema_of(
        spec,
        params_with_defaults(spec, {{"duration_from", {"start", "end"}}, {"ports", {"src_port"}}, {"non_negative", json::array()}}),
        {in});
    REQUIRE(named.issues.size() == 3);
    CHECK(named.issues[0] == "duration_from: names column \"start\", which its inputs do not provide (closest: bytes, device_type)");
    CHECK(named.issues[2].rfind("ports: names column \"src_port\"", 0) == 0);
  }
  SUBCASE("a binary label names its positive class") {
    const auto in = pipectl::testing::schema_with({{"device_type", DType::Categorical}});
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"positive", "Camera"}}), {in});
    CHECK(o.ok());
    CHECK(o.schema.find("is_iot")->positive == "Camera");
    CHECK(CleanerConfig::from(pipectl::testing::options_with_defaults<pipectl::plugins::CleanerOptions>(spec, {{"positive", "Camera"}})).binary_names() == "not Camera,Camera");
    CHECK(CleanerConfig::from(pipectl::testing::options_with_defaults<pipectl::plugins::CleanerOptions>(spec)).binary_names() == "no,yes");
  }
  SUBCASE("multiclass label replacing its source") {
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"label", "device_type"}, {"label_kind", "multiclass"}}), {netcollector});
    CHECK(o.ok());
    CHECK(o.schema.names() == std::vector<std::string>{"sessionid", "srcport", "dstport", "bytes", "packets",
                                                       "manufacturer", "device_type", "duration"});
    CHECK(o.schema.find("device_type")->type == DType::Categorical);
    CHECK(o.schema.find("device_type")->role == ColumnRole::Label);
  }
  SUBCASE("every parameter is declared once with a default") {
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
      CHECK_FALSE(spec.params[i].default_value.is_null());
      for (std::size_t j = i + 1; j < spec.params.size(); ++j) CHECK(spec.params[i].name != spec.params[j].name);
    }
  }
  SUBCASE("bad configurations") {
    // Reported by the schema rule, under the parameter, before any stage exists.
    const auto in = pipectl::testing::schema_with({{"starttime", DType::Float64}, {"endtime", DType::Float64},
                                                   {"device_type", DType::Categorical}});
    auto o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"duration_from", json::array({"starttime"})}}), {in});
    CHECK(o.issues == std::vector<std::string>{"duration_from: must name two columns [start, end] (or none), got 1"});
    o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"drop", json::array({"is_iot"})}}), {in});
    CHECK(o.issues == std::vector<std::string>{"drop: lists \"is_iot\", the label this stage makes"});
    o = pipectl::testing::schema_of(spec, params_with_defaults(spec, {{"duration", "is_iot"}}), {in});
    CHECK(o.issues == std::vector<std::string>{"duration: names \"is_iot\", the label this stage makes"});
  }
  SUBCASE("no duration") {
    auto p = params_with_defaults(spec, {{"duration_from", json::array()}, {"required", json::array()}});
    auto o = pipectl::testing::schema_of(spec, p, {pipectl::testing::schema_with({{"starttime", DType::Float64}, {"endtime", DType::Float64},
                                                {"device_type", DType::Categorical}, {"srcport", DType::Int64},
                                                {"dstport", DType::Int64}, {"bytes", DType::Int64}, {"packets", DType::Int64}})});
    CHECK(o.ok());
    CHECK_FALSE(o.schema.has("duration"));
    CHECK(o.schema.has("is_iot"));
    TestContext ctx;
    Table out = Cleaner(bind_options<pipectl::plugins::CleanerOptions>(spec, p)).run(ctx, {make_table(clean_rows())});
    CHECK_FALSE(out.has("duration"));
    CHECK(ctx.counters.count("fixed.negative_duration") == 0);
  }
}

TEST_CASE("cleaner: on several workers, rows are cleaned per shard but classes are checked and coded globally") {
  CHECK(cleaner_spec().distributed == PluginSpec::Distributed::Combined);
  Rows r = clean_rows();
  r.device = {"Plug", "Camera", "Zigbee hub", "Other"};
  auto in = make_table(r);
  // Shard 0 holds only "Other" rows and shard 1 only IoT ones: each alone has one class.
  const std::vector<std::vector<std::uint32_t>> shards = {{3}, {2, 0, 1}};
  SUBCASE("binary: the single-class check is over every worker") {
    TestContext whole_ctx;
    Table whole = run(json::object(), in, whole_ctx);
    std::map<std::int64_t, std::pair<double, std::int64_t>> got, want;
    for (std::size_t i = 0; i < whole.rows(); ++i)
      want[whole.at("sessionid").i64[i]] = {whole.at("duration").f64[i], whole.at("is_iot").i64[i]};
    std::mutex mu;
    testing::ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      Table part = run(json::object(), std::make_shared<const Table>(in->take(shards[c.rank()])), ctx);
      std::lock_guard<std::mutex> lock(mu);
      for (std::size_t i = 0; i < part.rows(); ++i)
        got[part.at("sessionid").i64[i]] = {part.at("duration").f64[i], part.at("is_iot").i64[i]};
    });
    CHECK(got == want);
    CHECK(want.size() == 4);
    // One class over every worker is still refused, on each of them.
    Rows one = clean_rows();
    one.device = {"Other", "Other", "Other", "Other"};
    auto all_other = make_table(one);
    CHECK_THROWS_WITH_AS(testing::ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      run(json::object(), std::make_shared<const Table>(all_other->take(shards[c.rank()])), ctx);
    }),
                         "label \"is_iot\" has a single class (\"no\") in 4 rows; a classifier needs at least two",
                         DataError);
  }
  SUBCASE("a worker whose rows are all dropped is no error; every row of every worker dropped is, on each") {
    // Shard 0's only row has no device_type; shard 1 keeps its three.
    Rows r2 = clean_rows();
    r2.device = {"Plug", "Camera", "Other", nullptr};
    auto t2 = make_table(r2);
    std::vector<std::size_t> kept(2);
    std::vector<std::int64_t> dropped(2);
    testing::ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      Table part = run(json::object(), std::make_shared<const Table>(t2->take(shards[c.rank()])), ctx);
      kept[static_cast<std::size_t>(c.rank())] = part.rows();
      dropped[static_cast<std::size_t>(c.rank())] = ctx.counters["dropped.null.device_type"];
    });
    CHECK(kept == std::vector<std::size_t>{0, 3});
    CHECK(dropped == std::vector<std::int64_t>{1, 0});
    // All four dropped, for two reasons split over the workers: the totals.
    Rows r3 = clean_rows();
    r3.device = {nullptr, nullptr, nullptr, "Other"};
    r3.bytes = {1, 1, 1, -1};
    auto t3 = make_table(r3);
    std::vector<std::string> errors(2);
    CHECK_THROWS_WITH_AS(testing::ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      try {
        run(json::object(), std::make_shared<const Table>(t3->take(shards[c.rank()])), ctx);
      } catch (const DataError& e) {
        errors[static_cast<std::size_t>(c.rank())] = e.what();
        throw;
      }
    }),
                         "every one of the 4 rows was dropped (null.device_type: 3, negative.bytes: 1) on all 2 workers",
                         DataError);
    CHECK(errors[0] == errors[1]);
  }
  SUBCASE("multiclass: every worker gives each class the same code") {
    TestContext whole_ctx;
    Table whole = run({{"label_kind", "multiclass"}, {"label", "device_type"}}, in, whole_ctx);
    std::vector<Dictionary> dicts(2);
    std::map<std::int64_t, std::string> got, want;
    for (std::size_t i = 0; i < whole.rows(); ++i)
      want[whole.at("sessionid").i64[i]] =
          (*whole.at("device_type").dictionary)[static_cast<std::size_t>(whole.at("device_type").codes[i])];
    std::mutex mu;
    testing::ThreadGroup(2).run([&](Collective& c) {
      TestContext ctx;
      ctx.coll = &c;
      Table part = run({{"label_kind", "multiclass"}, {"label", "device_type"}},
                       std::make_shared<const Table>(in->take(shards[c.rank()])), ctx);
      std::lock_guard<std::mutex> lock(mu);
      const Column& y = part.at("device_type");
      dicts[static_cast<std::size_t>(c.rank())] = *y.dictionary;
      for (std::size_t i = 0; i < part.rows(); ++i)
        got[part.at("sessionid").i64[i]] = (*y.dictionary)[static_cast<std::size_t>(y.codes[i])];
    });
    CHECK(dicts[0] == *whole.at("device_type").dictionary);
    CHECK(dicts[1] == *whole.at("device_type").dictionary);
    CHECK(got == want);
  }
}
