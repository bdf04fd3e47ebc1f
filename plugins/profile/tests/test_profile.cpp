#include "profile.hpp"

#include <pipectl/run_folder.hpp>
#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::Profile;
using pipectl::plugins::profile_spec;
using pipectl::testing::params_with_defaults;
using pipectl::testing::TestContext;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------- independent helpers

// pandas / numpy "linear": h = (n - 1) p, interpolate between x[floor h] and the next.
double pandas_quantile(std::vector<double> x, double p) {
  std::sort(x.begin(), x.end());
  const double h = (static_cast<double>(x.size()) - 1) * p;
  const auto i = static_cast<std::size_t>(h);
  const double frac = h - static_cast<double>(i);
  if (i + 1 >= x.size()) return x[i];
  return x[i] + frac * (x[i + 1] - x[i]);
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double sample_std(const std::vector<double>& x) {
  const double m = mean_of(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

// Pairwise: P(score of a positive > score of a negative), ties half.
double brute_auc(const std::vector<double>& score, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < score.size(); ++i)
    for (std::size_t j = 0; j < score.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

// Plug-in mutual information (bits) of a discrete x with the 0/1 label y.
double brute_mi(const std::vector<std::string>& x, const std::vector<int>& y) {
  std::map<std::pair<std::string, int>, double> joint;
  std::map<std::string, double> px;
  std::map<int, double> py;
  const double n = static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    joint[{x[i], y[i]}] += 1;
    px[x[i]] += 1;
    py[y[i]] += 1;
  }
  double mi = 0;
  for (const auto& [k, c] : joint) mi += c / n * std::log2(c * n / (px[k.first] * py[k.second]));
  return mi;
}

double entropy(double p) { return -p * std::log2(p) - (1 - p) * std::log2(1 - p); }

// ---------------------------------------------------------- the hand-made table

const std::vector<std::int64_t> kBytes = {10, 20, 30, 40, 50, 60, 70, 1000, 15, 25};
// duration: row 2 NULL (validity), row 8 NaN.
const std::vector<double> kDuration = {0.5, 1.5, 0.0, 2.0, 0.0, 3.0, 0.0, 10.0, kNaN, 4.0};
const std::vector<std::uint8_t> kDurationValid = {1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
// nullptr = NULL
const std::vector<const char*> kMaker = {"Apple",  "Apple",  "Philips", nullptr, "Philips",
                                         "Other", "Apple", "Google",  "Google", "Apple"};
const std::vector<std::vector<std::string>> kDns = {{"a", "b"}, {"a"}, {}, {"c"}, {"a", "a", "b"},
                                                    {},         {"b", "c", "d"}, {"a"}, {"c"}, {}};
const std::vector<int> kLabel = {1, 1, 0, 1, 0, 0, 0, 0, 1, 1};

Column cat(const std::string& name, const std::vector<const char*>& v) {
  std::vector<std::string> s;
  std::vector<std::uint8_t> valid;
  for (auto* x : v) {
    s.emplace_back(x ? x : "");
    valid.push_back(x != nullptr);
  }
  return encode_strings(name, s, valid);
}

Column multi(const std::string& name, const std::vector<std::vector<std::string>>& rows) {
  auto dict = std::make_shared<Dictionary>();
  std::vector<std::int64_t> off = {0};
  std::vector<std::int32_t> codes;
  for (const auto& r : rows) {
    for (const auto& s : r) {
      auto it = std::find(dict->begin(), dict->end(), s);
      if (it == dict->end()) it = dict->insert(dict->end(), s);
      codes.push_back(static_cast<std::int32_t>(it - dict->begin()));
    }
    off.push_back(static_cast<std::int64_t>(codes.size()));
  }
  return Column::make_multi(name, off, codes, dict);
}

std::vector<std::int64_t> to_i64(const std::vector<int>& v) { return {v.begin(), v.end()}; }

TablePtr make_table() {
  std::vector<std::int64_t> ids(kBytes.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(1000 + i);
  std::vector<ColumnPtr> cols = {
      std::make_shared<const Column>(Column::make_i64("sessionid", ids)),
      std::make_shared<const Column>(Column::make_i64("bytes", kBytes)),
      std::make_shared<const Column>(Column::make_f64("duration", kDuration, kDurationValid)),
      std::make_shared<const Column>(cat("manufacturer", kMaker)),
      std::make_shared<const Column>(multi("dns", kDns)),
      std::make_shared<const Column>(Column::make_i64("same", to_i64(kLabel))),
      std::make_shared<const Column>(Column::make_f64("const7", std::vector<double>(kBytes.size(), 7.0))),
      std::make_shared<const Column>(Column::make_i64("is_iot", to_i64(kLabel))),
  };
  auto t = std::make_shared<Table>(std::move(cols));
  *t = t->with_meta("label_names.is_iot", "no,yes");
  t->check();
  return t;
}

const json& by_column(const json& arr, const std::string& name) {
  for (const auto& e : arr)
    if (e["column"] == name) return e;
  FAIL("no entry for column " << name);
  static json none;
  return none;
}

const json& by_key(const json& arr, const char* key, const std::string& value) {
  for (const auto& e : arr)
    if (e[key] == value) return e;
  FAIL("no entry " << value);
  static json none;
  return none;
}

Params params(const json& given = json::object()) { return params_with_defaults(profile_spec(), given); }
pipectl::plugins::ProfileOptions options(const json& given = json::object()) {
  return pipectl::testing::options_with_defaults<pipectl::plugins::ProfileOptions>(profile_spec(), given);
}

json profile_of(const TablePtr& in, const json& given = json::object(), TestContext* ctx_out = nullptr) {
  TestContext local("prof");
  TestContext& ctx = ctx_out ? *ctx_out : local;
  Profile p(options(given));
  Table out = p.run(ctx, {in});
  return p.last();
}

std::string data_error(const TablePtr& in, const json& given) {
  TestContext ctx("prof");
  try {
    Profile p(options(given));
    p.run(ctx, {in});
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

/// What the schema rule reports for `given` (before any stage exists).
std::string config_error(const json& given) {
  const auto o = pipectl::testing::schema_of(
      profile_spec(), params(given),
      {pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"bytes", DType::Float64}})});
  std::string all;
  for (const auto& i : o.issues) all += (all.empty() ? "" : "; ") + i;
  return all.empty() ? "(no issue)" : all;
}

// The non-null values of a numeric column of the test table, and their labels.
void numeric_values(const std::string& col, std::vector<double>& x, std::vector<int>& y) {
  x.clear();
  y.clear();
  for (std::size_t i = 0; i < kBytes.size(); ++i) {
    double v;
    if (col == "bytes") {
      v = static_cast<double>(kBytes[i]);
    } else if (col == "duration") {
      if (!kDurationValid[i] || std::isnan(kDuration[i])) continue;
      v = kDuration[i];
    } else if (col == "same") {
      v = kLabel[i];
    } else {
      v = 7.0;
    }
    x.push_back(v);
    y.push_back(kLabel[i]);
  }
}

class ThreadedContext : public TestContext {
 public:
  using TestContext::TestContext;
  int threads() const override { return 3; }
};

}  // namespace

TEST_CASE("profile: numeric summaries equal pandas describe()") {
  const json p = profile_of(make_table());
  REQUIRE(p["numeric"].size() == 4);
  CHECK(p["rows"] == 10);
  CHECK(p["rows_profiled"] == "all");
  for (const char* col : {"bytes", "duration", "same", "const7"}) {
    CAPTURE(col);
    std::vector<double> x;
    std::vector<int> y;
    numeric_values(col, x, y);
    const json& c = by_column(p["numeric"], col);
    CHECK(c["count"] == x.size());
    CHECK(c["nulls"] == 10 - x.size());
    CHECK(c["mean"].get<double>() == doctest::Approx(mean_of(x)).epsilon(1e-12));
    CHECK(c["std"].get<double>() == doctest::Approx(sample_std(x)).epsilon(1e-12));
    CHECK(c["min"].get<double>() == *std::min_element(x.begin(), x.end()));
    CHECK(c["max"].get<double>() == *std::max_element(x.begin(), x.end()));
    CHECK(c["25%"].get<double>() == doctest::Approx(pandas_quantile(x, 0.25)).epsilon(1e-12));
    CHECK(c["50%"].get<double>() == doctest::Approx(pandas_quantile(x, 0.50)).epsilon(1e-12));
    CHECK(c["75%"].get<double>() == doctest::Approx(pandas_quantile(x, 0.75)).epsilon(1e-12));
    const auto zeros = std::count(x.begin(), x.end(), 0.0);
    CHECK(c["zeros"] == zeros);
    CHECK(c["zero_share"].get<double>() == doctest::Approx(static_cast<double>(zeros) / x.size()));
  }
  SUBCASE("hand-computed figures of bytes") {
    const json& b = by_column(p["numeric"], "bytes");
    // sorted: 10 15 20 25 30 40 50 60 70 1000; h = 9 p
    CHECK(b["25%"].get<double>() == doctest::Approx(20 + 0.25 * 5));  // h = 2.25
    CHECK(b["50%"].get<double>() == doctest::Approx(35));              // h = 4.5
    CHECK(b["75%"].get<double>() == doctest::Approx(57.5));            // h = 6.75
    CHECK(b["mean"].get<double>() == doctest::Approx(132));
    CHECK(b["min"].is_number_integer());
    CHECK(b["min"] == 10);
    CHECK(b["max"] == 1000);
  }
  SUBCASE("NULL and NaN are both nulls") {
    const json& d = by_column(p["numeric"], "duration");
    CHECK(d["nulls"] == 2);
    CHECK(d["zeros"] == 2);  // rows 4 and 6 (row 2 is NULL)
    // the null rows 2 and 8 have labels 0 and 1
    CHECK(d["null_label_rate"].get<double>() == doctest::Approx(0.5));
  }
  SUBCASE("the method is stated") {
    CHECK(p["method"]["quantiles"].get<std::string>().find("linear") != std::string::npos);
    CHECK(p["method"]["std"].get<std::string>().find("ddof = 1") != std::string::npos);
  }
  SUBCASE("sessionid is excluded by default and the label is not profiled") {
    for (const auto& c : p["numeric"]) {
      CHECK(c["column"] != "sessionid");
      CHECK(c["column"] != "is_iot");
    }
  }
}

TEST_CASE("profile: outliers above mean + k std") {
  for (double k : {2.0, 0.5}) {
    CAPTURE(k);
    const json p = profile_of(make_table(), {{"k", k}});
    for (const char* col : {"bytes", "duration"}) {
      CAPTURE(col);
      std::vector<double> x;
      std::vector<int> y;
      numeric_values(col, x, y);
      const double thr = mean_of(x) + k * sample_std(x);
      std::vector<double> hi, lo;
      double hi_pos = 0, lo_pos = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] > thr) {
          hi.push_back(x[i]);
          hi_pos += y[i];
        } else {
          lo.push_back(x[i]);
          lo_pos += y[i];
        }
      }
      const json& o = by_column(p["numeric"], col)["outliers"];
      CHECK(o["k"].get<double>() == k);
      CHECK(o["threshold"].get<double>() == doctest::Approx(thr).epsilon(1e-12));
      CHECK(o["above"]["rows"] == hi.size());
      CHECK(o["below"]["rows"] == lo.size());
      CHECK(o["above"]["mean"].get<double>() == doctest::Approx(mean_of(hi)));
      CHECK(o["below"]["mean"].get<double>() == doctest::Approx(mean_of(lo)));
      CHECK(o["above"]["label_rate"].get<double>() == doctest::Approx(hi_pos / hi.size()));
      CHECK(o["below"]["label_rate"].get<double>() == doctest::Approx(lo_pos / lo.size()));
    }
  }
  SUBCASE("by hand: bytes with k = 2") {
    const json p = profile_of(make_table());
    const json& o = by_column(p["numeric"], "bytes")["outliers"];
    CHECK(o["above"]["rows"] == 1);  // 1000 only
    CHECK(o["above"]["mean"].get<double>() == 1000);
    CHECK(o["above"]["label_rate"].get<double>() == 0.0);
    CHECK(o["below"]["rows"] == 9);
    CHECK(o["below"]["mean"].get<double>() == doctest::Approx(320.0 / 9));
    CHECK(o["below"]["label_rate"].get<double>() == doctest::Approx(5.0 / 9));
  }
  SUBCASE("a constant column has nothing above its mean") {
    const json p = profile_of(make_table());
    const json& o = by_column(p["numeric"], "const7")["outliers"];
    CHECK(o["threshold"].get<double>() == 7.0);
    CHECK(o["above"]["rows"] == 0);
    CHECK(o["above"]["mean"].is_null());
    CHECK(o["above"]["label_rate"].is_null());
    CHECK(o["below"]["rows"] == 10);
  }
}

TEST_CASE("profile: categorical top values and label rates") {
  const json p = profile_of(make_table(), {{"top", 3}});
  REQUIRE(p["categorical"].size() == 1);
  const json& m = p["categorical"][0];
  CHECK(m["column"] == "manufacturer");
  CHECK(m["distinct"] == 4);
  CHECK(m["nulls"] == 1);
  CHECK(m["null_label_rate"].get<double>() == 1.0);  // row 3
  REQUIRE(m["top"].size() == 3);
  SUBCASE("most frequent first, ties by value") {
    CHECK(m["top"][0]["value"] == "Apple");
    CHECK(m["top"][1]["value"] == "Google");  // 2 rows, like Philips: by name
    CHECK(m["top"][2]["value"] == "Philips");
  }
  SUBCASE("counts, shares and label rates") {
    const json& apple = m["top"][0];
    CHECK(apple["rows"] == 4);  // rows 0 1 6 9 with labels 1 1 0 1
    CHECK(apple["share"].get<double>() == doctest::Approx(0.4));
    CHECK(apple["label_rate"].get<double>() == doctest::Approx(0.75));
    CHECK(apple["rest_label_rate"].get<double>() == doctest::Approx(2.0 / 6));
    const json& google = m["top"][1];  // rows 7 8: labels 0 1
    CHECK(google["label_rate"].get<double>() == doctest::Approx(0.5));
    const json& philips = m["top"][2];  // rows 2 4: labels 0 0
    CHECK(philips["label_rate"].get<double>() == 0.0);
    CHECK(philips["rest_label_rate"].get<double>() == doctest::Approx(5.0 / 8));
  }
}

TEST_CASE("profile: multi-valued column (the DNS names)") {
  const json p = profile_of(make_table());
  REQUIRE(p["multi"].size() == 1);
  const json& d = p["multi"][0];
  CHECK(d["column"] == "dns");
  CHECK(d["distinct"] == 4);
  CHECK(d["entries"] == 12);  // 2 1 0 1 3 0 3 1 1 0
  // distinct names per row: 2 1 0 1 2 0 3 1 1 0
  const std::vector<double> npr = {2, 1, 0, 1, 2, 0, 3, 1, 1, 0};
  CHECK(d["names_per_row"]["mean"].get<double>() == doctest::Approx(mean_of(npr)));
  CHECK(d["names_per_row"]["max"] == 3);
  CHECK(d["names_per_row"]["std"].get<double>() == doctest::Approx(sample_std(npr)));
  CHECK(d["rows_with_none"] == 3);                                          // rows 2 5 9
  CHECK(d["none_label_rate"].get<double>() == doctest::Approx(1.0 / 3));  // labels 0 0 1
  SUBCASE("top names count rows, not repetitions") {
    REQUIRE(d["top"].size() == 4);
    CHECK(d["top"][0]["name"] == "a");
    CHECK(d["top"][0]["rows"] == 4);  // rows 0 1 4 7 (twice in row 4)
    CHECK(d["top"][0]["label_rate"].get<double>() == doctest::Approx(0.5));
    CHECK(d["top"][1]["name"] == "b");  // rows 0 4 6: 3
    CHECK(d["top"][1]["rows"] == 3);
    CHECK(d["top"][1]["label_rate"].get<double>() == doctest::Approx(1.0 / 3));
    CHECK(d["top"][2]["name"] == "c");  // rows 3 6 8: 3 rows, after b by name
    CHECK(d["top"][2]["rows"] == 3);
    CHECK(d["top"][2]["label_rate"].get<double>() == doctest::Approx(2.0 / 3));
    CHECK(d["top"][3]["name"] == "d");
    CHECK(d["top"][3]["rows"] == 1);
    CHECK(d["top"][3]["share"].get<double>() == doctest::Approx(0.1));
  }
}

TEST_CASE("profile: ranking by AUC and mutual information") {
  TestContext ctx("prof");
  const json p = profile_of(make_table(), json::object(), &ctx);
  const json& r = p["ranking"];
  REQUIRE(r.size() == 6);
  const std::vector<double> npr = {2, 1, 0, 1, 2, 0, 3, 1, 1, 0};
  std::vector<double> xs;
  std::vector<int> ys;

  SUBCASE("numeric AUC = pairwise AUC of the value, folded, with direction") {
    for (const char* col : {"bytes", "duration", "same", "const7"}) {
      CAPTURE(col);
      numeric_values(col, xs, ys);
      const double a = brute_auc(xs, ys);
      const json& e = by_column(r, col);
      CHECK(e["auc_raw"].get<double>() == doctest::Approx(a).epsilon(1e-12));
      CHECK(e["auc"].get<double>() == doctest::Approx(std::max(a, 1 - a)).epsilon(1e-12));
      CHECK(e["auc_rows"] == xs.size());
      CHECK(e["direction"] == (a > 0.5 ? "higher" : a < 0.5 ? "lower" : "none"));
    }
    CHECK(by_column(r, "same")["auc"].get<double>() == 1.0);
    CHECK(by_column(r, "const7")["auc"].get<double>() == 0.5);
    // bytes: positives 10 15 20 25 40 vs negatives 30 50 60 70 1000: 1 tie-free loss (40 > 30)
    CHECK(by_column(r, "bytes")["auc_raw"].get<double>() == doctest::Approx(1.0 / 25));
    CHECK(by_column(r, "bytes")["direction"] == "lower");
  }
  SUBCASE("categorical AUC uses the in-sample target mean, NULL a value of its own") {
    std::map<std::string, std::pair<double, double>> stats;  // value -> (pos, rows)
    for (std::size_t i = 0; i < 10; ++i) {
      auto& s = stats[kMaker[i] ? kMaker[i] : "<null>"];
      s.first += kLabel[i];
      s.second += 1;
    }
    std::vector<double> score;
    std::vector<std::string> vals;
    for (std::size_t i = 0; i < 10; ++i) {
      const auto& s = stats[kMaker[i] ? kMaker[i] : "<null>"];
      score.push_back(s.first / s.second);
      vals.push_back(kMaker[i] ? kMaker[i] : "<null>");
    }
    const json& e = by_column(r, "manufacturer");
    CHECK(e["auc"].get<double>() == doctest::Approx(brute_auc(score, kLabel)).epsilon(1e-12));
    CHECK(e["direction"] == "target_mean");
    CHECK(e["auc_of"] == "target_mean");
    CHECK(e["mi_bits"].get<double>() == doctest::Approx(brute_mi(vals, kLabel)).epsilon(1e-12));
  }
  SUBCASE("multi-valued AUC uses names per row: fewer names, more IoT") {
    const json& e = by_column(r, "dns");
    const double a = brute_auc(npr, kLabel);
    CHECK(e["auc_raw"].get<double>() == doctest::Approx(a).epsilon(1e-12));
    CHECK(e["auc_of"] == "names_per_row");
    std::vector<std::string> v;
    for (double x : npr) v.push_back(std::to_string(static_cast<int>(x)));
    CHECK(e["mi_bits"].get<double>() == doctest::Approx(brute_mi(v, kLabel)).epsilon(1e-12));
  }
  SUBCASE("MI of a perfectly informative binary column is H(label), of a constant 0") {
    CHECK(p["label"]["entropy_bits"].get<double>() == doctest::Approx(1.0));
    CHECK(by_column(r, "same")["mi_bits"].get<double>() == doctest::Approx(entropy(0.5)).epsilon(1e-12));
    CHECK(by_column(r, "const7")["mi_bits"].get<double>() == 0.0);
  }
  SUBCASE("MI with NULL as its own bin (duration, few distinct values: one bin per value)") {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < 10; ++i)
      v.push_back(!kDurationValid[i] || std::isnan(kDuration[i]) ? "null" : std::to_string(kDuration[i]));
    CHECK(by_column(r, "duration")["mi_bits"].get<double>() == doctest::Approx(brute_mi(v, kLabel)).epsilon(1e-12));
    CHECK(by_column(r, "duration")["mi_rows"] == 10);
    CHECK(by_column(r, "duration")["auc_rows"] == 8);
  }
  SUBCASE("ordered by AUC, then MI, then name; the metric lists the order") {
    for (std::size_t i = 1; i < r.size(); ++i) {
      CHECK(r[i]["rank"] == i + 1);
      const double a0 = r[i - 1]["auc"].get<double>(), a1 = r[i]["auc"].get<double>();
      CHECK(a0 >= a1);
      if (a0 == a1) CHECK(r[i - 1]["mi_bits"].get<double>() >= r[i]["mi_bits"].get<double>());
    }
    CHECK(r[0]["column"] == "same");
    CHECK(r[5]["column"] == "const7");
    json names = json::array();
    for (const auto& e : r) names.push_back(e["column"]);
    CHECK(ctx.metrics["auc_rank"] == names);
    CHECK(ctx.metrics["rows"] == 10);
    CHECK(ctx.metrics["label_rate"].get<double>() == 0.5);
    CHECK(ctx.metrics["auc"]["same"].get<double>() == 1.0);
    CHECK(ctx.metrics["mi_bits"]["same"].get<double>() == doctest::Approx(1.0));
  }
}

TEST_CASE("profile: equal-frequency bins never split a run of equal values") {
  // 6 ones, then 2 3 4 5; bins = 2: bin 0 = the six ones (rank 0), bin 1 = the rest
  // (rank 6 -> floor(6 * 2 / 10) = 1). Labels chosen so the bins matter.
  const std::vector<std::int64_t> x = {1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
  const std::vector<int> y = {0, 0, 0, 0, 1, 1, 1, 1, 0, 1};
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("x", x)),
      std::make_shared<const Column>(Column::make_i64("is_iot", to_i64(y)))});
  const json p = profile_of(t, {{"bins", 2}});
  std::vector<std::string> bin;
  for (auto v : x) bin.push_back(v == 1 ? "low" : "high");
  const json& e = by_column(p["ranking"], "x");
  CHECK(e["mi_bits"].get<double>() == doctest::Approx(brute_mi(bin, y)).epsilon(1e-12));
  CHECK(e["mi_bins"] == 2);
  SUBCASE("with enough bins every value is its own bin") {
    const json q = profile_of(t, {{"bins", 5}});
    std::vector<std::string> v;
    for (auto a : x) v.push_back(std::to_string(a));
    CHECK(by_column(q["ranking"], "x")["mi_bits"].get<double>() == doctest::Approx(brute_mi(v, y)).epsilon(1e-12));
    CHECK(by_column(q["ranking"], "x")["mi_bins"] == 5);
  }
}

TEST_CASE("profile: the stage returns its input, writes artifacts, reports") {
  auto in = make_table();
  TestContext ctx("prof");
  Profile stage(options());
  Table out = stage.run(ctx, {in});
  SUBCASE("output is the input, columns shared") {
    CHECK(out.column_names() == in->column_names());
    for (const auto& c : in->columns()) CHECK(out.find(c->name).get() == c.get());
    CHECK(out.meta("label_names.is_iot") == "no,yes");
  }
  SUBCASE("profile.json and profile.md in the artifact folder") {
    const auto dir = ctx.artifact_dir();
    REQUIRE(std::filesystem::exists(dir / "profile.json"));
    CHECK(json::parse(read_file(dir / "profile.json")) == stage.last());
    const auto md = read_file(dir / "profile.md");
    CHECK(md.find("# Profile `prof`") == 0);
    CHECK(md.find("## Numeric columns") != std::string::npos);
    CHECK(md.find("| bytes | int64 | 10 | 0 | 132 |") != std::string::npos);
    CHECK(md.find("### `manufacturer`: 4 distinct values, 1 nulls (label rate of nulls 1.0000)") !=
          std::string::npos);
    CHECK(md.find("| Apple | 4 | 0.4000 | 0.7500 | 0.3333 |") != std::string::npos);
    CHECK(md.find("## Columns ranked") != std::string::npos);
  }
  SUBCASE("a short report and the label metrics") {
    REQUIRE(ctx.reports.size() == 1);
    CHECK(ctx.reports[0].find("profile `prof`: 10 rows, is_iot rate 0.5000 (5 of 10 labelled)") == 0);
    CHECK(ctx.reports[0].find("| 1 | same | 1.0000 | higher | 1.0000 |") != std::string::npos);
    CHECK(ctx.measures.contains("profile_s"));
    const json& l = stage.last()["label"];
    CHECK(l["column"] == "is_iot");
    CHECK(l["class_names"] == "no,yes");
    CHECK(l["positives"] == 5);
    CHECK(l["labelled"] == 5 + 5);
    CHECK(l["unlabelled"] == 0);
  }
}

TEST_CASE("profile: without a label the label parts are omitted") {
  TestContext ctx("prof");
  const json p = profile_of(make_table(), {{"label", ""}}, &ctx);
  CHECK(p["label"].is_null());
  CHECK_FALSE(p.contains("ranking"));
  // is_iot is now an ordinary column
  CHECK(by_column(p["numeric"], "is_iot")["mean"].get<double>() == 0.5);
  CHECK_FALSE(by_column(p["numeric"], "bytes").contains("null_label_rate"));
  CHECK_FALSE(by_column(p["numeric"], "bytes")["outliers"]["above"].contains("label_rate"));
  CHECK_FALSE(p["categorical"][0]["top"][0].contains("label_rate"));
  CHECK_FALSE(p["multi"][0].contains("none_label_rate"));
  CHECK(ctx.metrics.contains("rows"));
  CHECK_FALSE(ctx.metrics.contains("label_rate"));
  CHECK_FALSE(ctx.metrics.contains("auc_rank"));
  CHECK(ctx.reports.at(0).find("no label") != std::string::npos);
}

TEST_CASE("profile: unlabelled rows count everywhere but in label figures") {
  auto in = make_table();
  // is_iot NULL in rows 0 and 7
  std::vector<std::uint8_t> valid(10, 1);
  valid[0] = valid[7] = 0;
  auto t = std::make_shared<const Table>(in->with(Column::make_i64("is_iot", to_i64(kLabel), valid)));
  TestContext ctx("prof");
  const json p = profile_of(t, json::object(), &ctx);
  CHECK(p["label"]["labelled"] == 8);
  CHECK(p["label"]["unlabelled"] == 2);
  CHECK(p["label"]["positives"] == 4);
  CHECK(p["label"]["rate"].get<double>() == 0.5);
  CHECK(ctx.counters.at("unlabelled.is_iot") == 2);
  CHECK(by_column(p["numeric"], "bytes")["count"] == 10);
  // bytes over labelled rows: positives 15 20 25 40 vs negatives 30 50 60 70 -> 1 win of 16
  CHECK(by_column(p["ranking"], "bytes")["auc_rows"] == 8);
  CHECK(by_column(p["ranking"], "bytes")["auc_raw"].get<double>() == doctest::Approx(1.0 / 16));
  // Apple: rows 1 6 9 labelled (1 0 1), row 0 unlabelled
  CHECK(p["categorical"][0]["top"][0]["rows"] == 4);
  CHECK(p["categorical"][0]["top"][0]["label_rate"].get<double>() == doctest::Approx(2.0 / 3));
}

TEST_CASE("profile: categorical label, one-vs-rest") {
  auto in = make_table();
  const std::vector<const char*> device = {"Plug", "Camera", "Other", "Plug", "Other",
                                           "Other", "Other", "Other", "Camera", nullptr};
  auto t = std::make_shared<const Table>(in->without("is_iot").with(cat("device_type", device)));
  SUBCASE("default: every class except negative = \"Other\"") {
    const json p = profile_of(t, {{"label", "device_type"}});
    CHECK(p["label"]["type"] == "categorical");
    CHECK(p["label"]["labelled"] == 9);
    CHECK(p["label"]["positives"] == 4);
    CHECK(p["label"]["rate"].get<double>() == doctest::Approx(4.0 / 9));
    CHECK(p["label"]["positive"] == "every class except \"Other\"");
  }
  SUBCASE("the summary names the positive class") {
    TestContext ctx("prof");
    profile_of(t, {{"label", "device_type"}, {"positive", "Plug"}}, &ctx);
    CHECK(ctx.reports.at(0).find("profile `prof`: 10 rows, device_type (positive: Plug) rate 0.2222 (2 of 9 labelled)") == 0);
  }
  SUBCASE("positive = one class against the rest") {
    const json p = profile_of(t, {{"label", "device_type"}, {"positive", "Camera"}});
    CHECK(p["label"]["positives"] == 2);
    CHECK(p["label"]["rate"].get<double>() == doctest::Approx(2.0 / 9));
    // bytes of Camera rows: 20 15; the others 10 30 40 50 60 70 1000 -> wins: 20 > 10, 15 > 10
    CHECK(by_column(p["ranking"], "bytes")["auc_raw"].get<double>() == doctest::Approx(2.0 / 14));
  }
  SUBCASE("an unknown positive class is a data error") {
    CHECK(data_error(t, {{"label", "device_type"}, {"positive", "Fridge"}}) ==
          "label column \"device_type\" has no class \"Fridge\" (classes: \"Plug\", \"Camera\", \"Other\")");
  }
  SUBCASE("a negative class that is absent warns") {
    TestContext ctx("prof");
    profile_of(t, {{"label", "device_type"}, {"negative", "Nope"}}, &ctx);
    CHECK(ctx.log.at(0) == "warn: label column \"device_type\" has no class \"Nope\": every labelled row counts as positive");
  }
}

TEST_CASE("profile: data errors name the column and the row") {
  auto in = make_table();
  SUBCASE("int64 label other than 0/1") {
    auto y = to_i64(kLabel);
    y[3] = 2;
    auto t = std::make_shared<const Table>(in->with(Column::make_i64("is_iot", y)));
    CHECK(data_error(t, json::object()) == "label column \"is_iot\": value 2 at row 3 is not 0 or 1");
  }
  SUBCASE("float label") {
    CHECK(data_error(in, {{"label", "duration"}}) ==
          "label column \"duration\" must be int64 (0/1) or categorical, it is float64");
  }
  SUBCASE("missing label / column") {
    CHECK(data_error(in, {{"label", "nope"}}) ==
          "no column \"nope\" (columns: sessionid, bytes, duration, manufacturer, dns, same, const7, is_iot)");
    CHECK(data_error(in, {{"columns", {"bytes", "nope"}}}) ==
          "no column \"nope\" (columns: sessionid, bytes, duration, manufacturer, dns, same, const7, is_iot)");
  }
  SUBCASE("rows = train without a split") {
    CHECK(data_error(in, {{"rows", "train"}}) ==
          "rows = \"train\" needs a train/valid/test split, but the table has none (a splitter is needed upstream)");
  }
  SUBCASE("no rows") {
    auto empty = std::make_shared<const Table>(in->take({}));
    CHECK(data_error(empty, json::object()) == "the input table has no rows to profile");
  }
}

TEST_CASE("profile: rows = train profiles only the training rows") {
  auto in = make_table();
  auto roles = std::make_shared<std::vector<Role>>(10, Role::Train);
  (*roles)[7] = Role::Test;   // bytes 1000
  (*roles)[2] = Role::Valid;  // bytes 30
  auto t = std::make_shared<const Table>(in->with_roles(roles));
  const json all = profile_of(t);
  const json train = profile_of(t, {{"rows", "train"}});
  CHECK(all["rows"] == 10);
  CHECK(train["rows"] == 8);
  CHECK(train["rows_in"] == 10);
  CHECK(train["rows_profiled"] == "train");
  const json& b = by_column(train["numeric"], "bytes");
  CHECK(b["max"] == 70);
  std::vector<double> x = {10, 20, 40, 50, 60, 70, 15, 25};
  CHECK(b["mean"].get<double>() == doctest::Approx(mean_of(x)));
  CHECK(b["50%"].get<double>() == doctest::Approx(pandas_quantile(x, 0.5)));
  SUBCASE("a bad label outside the training rows is not looked at; inside it names the input row") {
    auto y = to_i64(kLabel);
    y[7] = 5;
    auto t2 = std::make_shared<const Table>(t->with(Column::make_i64("is_iot", y)));
    CHECK_NOTHROW(profile_of(t2, {{"rows", "train"}}));
    y[7] = 0;
    y[9] = 5;
    auto t3 = std::make_shared<const Table>(t->with(Column::make_i64("is_iot", y)));
    CHECK(data_error(t3, {{"rows", "train"}}) == "label column \"is_iot\": value 5 at row 9 is not 0 or 1");
  }
  SUBCASE("no training rows") {
    auto none = std::make_shared<const Table>(in->with_roles(std::make_shared<std::vector<Role>>(10, Role::Test)));
    CHECK(data_error(none, {{"rows", "train"}}) == "rows = \"train\": the table has no training rows");
  }
}

TEST_CASE("profile: deterministic, whatever the thread count") {
  auto in = make_table();
  TestContext one("prof");
  ThreadedContext three("prof");
  const json a = profile_of(in, json::object(), &one);
  const json b = profile_of(in, json::object(), &three);
  CHECK(a.dump() == b.dump());
  CHECK(one.metrics.dump() == three.metrics.dump());
  CHECK(profile_of(in).dump() == a.dump());
}

TEST_CASE("profile: explicit columns and pred_* columns") {
  auto in = make_table();
  auto t = std::make_shared<const Table>(in->with(Column::make_f64("pred_proba", std::vector<double>(10, 0.5))));
  SUBCASE("prediction columns are left out by default") {
    const json p = profile_of(t);
    for (const auto& c : p["numeric"]) CHECK(c["column"] != "pred_proba");
  }
  SUBCASE("explicit columns: only those, in that order, exclude not applied") {
    const json p = profile_of(t, {{"columns", {"sessionid", "dns"}}});
    REQUIRE(p["numeric"].size() == 1);
    CHECK(p["numeric"][0]["column"] == "sessionid");
    CHECK(p["categorical"].empty());
    CHECK(p["multi"].size() == 1);
    CHECK(p["ranking"].size() == 2);
  }
  SUBCASE("exclude") {
    const json p = profile_of(t, {{"exclude", {"sessionid", "bytes", "dns"}}});
    CHECK(p["multi"].empty());
    CHECK(p["numeric"].size() == 3);
  }
}

TEST_CASE("profile: spec and schema") {
  const auto spec = profile_spec();
  CHECK(spec.learns == false);
  CHECK(spec.min_inputs == 1);
  CHECK(spec.max_inputs == 1);
  std::set<std::string> names;
  for (const auto& p : spec.params) CHECK(names.insert(p.name).second);
  CHECK(names == std::set<std::string>{"label", "positive", "negative", "columns", "exclude", "k", "top", "bins", "rows"});
  CHECK(spec.find("k")->default_value == 2.0);
  CHECK(spec.find("top")->default_value == 10);
  CHECK(spec.find("bins")->default_value == 20);
  CHECK(spec.find("rows")->default_value == "all");
  CHECK(spec.find("rows")->check("test") == "must be one of \"all\", \"train\", got \"test\"");
  CHECK(spec.find("bins")->check(1) == "must be in [2, 10000], got 1");
  SUBCASE("default: needs the label, gives its input") {
    auto o = pipectl::testing::schema_of(spec, params(), {pipectl::testing::schema_with({{"is_iot", DType::Int64}, {"bytes", DType::Float64}})});
    CHECK(o.ok());
    CHECK(o.schema.names() == std::vector<std::string>{"is_iot", "bytes"});
    CHECK_FALSE(o.schema.split);
    CHECK(pipectl::testing::schema_of(spec, params(), {Schema{}}).issues ==
          std::vector<std::string>{"label: names column \"is_iot\", which its inputs do not provide (they have no columns)"});
  }
  SUBCASE("no label, explicit columns, training rows") {
    auto o = pipectl::testing::schema_of(spec, params({{"label", ""}, {"columns", {"bytes", "dns"}}, {"rows", "train"}}), {Schema{}});
    CHECK(o.issues.size() == 3);  // bytes, dns and the split
  }
  SUBCASE("configuration errors") {
    CHECK(config_error({{"columns", {"bytes", "is_iot"}}}) == "columns: lists \"is_iot\", the label");
    CHECK(config_error({{"columns", {"bytes", "bytes"}}}) == "columns: lists \"bytes\" twice");
  }
}

TEST_CASE("profile: random tables against brute force (signs, ties, NULLs, thread counts)") {
  std::uint64_t state = 12345;
  auto next = [&] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    const std::size_t n = 200 + 37 * static_cast<std::size_t>(round);
    std::vector<std::int64_t> ints(n);
    std::vector<double> reals(n);
    std::vector<std::uint8_t> real_valid(n, 1);
    std::vector<int> y(n);
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = static_cast<int>(next() % 3 == 0);
      // ints: negative and positive, heavy ties, huge magnitudes now and then
      ints[i] = static_cast<std::int64_t>(next() % 21) - 10 + y[i] * 3;
      if (next() % 50 == 0) ints[i] = (next() % 2 ? 1 : -1) * static_cast<std::int64_t>(next() >> 12);
      // reals: both signs, -0.0 and 0.0 (one value), NaN and NULL
      const auto r = next() % 10;
      reals[i] = r == 0   ? -0.0
                 : r == 1 ? 0.0
                 : r == 2 ? kNaN
                          : (static_cast<double>(next() % 2000) - 1000.0) / 7.0 - y[i] * 20.0;
      if (next() % 17 == 0) real_valid[i] = 0;
    }
    auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
        std::make_shared<const Column>(Column::make_i64("ints", ints)),
        std::make_shared<const Column>(Column::make_f64("reals", reals, real_valid)),
        std::make_shared<const Column>(Column::make_i64("is_iot", to_i64(y)))});
    TestContext one("prof");
    ThreadedContext three("prof");
    const json p = profile_of(t, json::object(), &one);
    CHECK(profile_of(t, json::object(), &three).dump() == p.dump());
    for (const char* col : {"ints", "reals"}) {
      CAPTURE(col);
      std::vector<double> x;
      std::vector<int> yy;
      for (std::size_t i = 0; i < n; ++i) {
        const double v = col[0] == 'i' ? static_cast<double>(ints[i]) : reals[i];
        if (col[0] == 'r' && (!real_valid[i] || std::isnan(v))) continue;
        x.push_back(v);
        yy.push_back(y[i]);
      }
      const json& c = by_column(p["numeric"], col);
      CHECK(c["count"] == x.size());
      CHECK(c["min"].get<double>() == *std::min_element(x.begin(), x.end()));
      CHECK(c["max"].get<double>() == *std::max_element(x.begin(), x.end()));
      for (double q : {0.25, 0.5, 0.75}) {
        const char* key = q == 0.25 ? "25%" : q == 0.5 ? "50%" : "75%";
        CHECK(c[key].get<double>() == doctest::Approx(pandas_quantile(x, q)).epsilon(1e-12));
      }
      CHECK(c["mean"].get<double>() == doctest::Approx(mean_of(x)).epsilon(1e-9));
      CHECK(c["std"].get<double>() == doctest::Approx(sample_std(x)).epsilon(1e-9));
      CHECK(c["zeros"] == std::count(x.begin(), x.end(), 0.0));
      CHECK(by_column(p["ranking"], col)["auc_raw"].get<double>() == doctest::Approx(brute_auc(x, yy)).epsilon(1e-12));
    }
  }
}

TEST_CASE("profile: a cancelled run stops") {
  TestContext ctx("prof");
  ctx.cancel = true;
  Profile p(options());
  CHECK_THROWS_AS(p.run(ctx, {make_table()}), Interrupted);
}
