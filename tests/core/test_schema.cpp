// Schemas, column selectors and parameter ranges, without plugins.
#include <doctest/doctest.h>

#include <pipectl/param.hpp>
#include <pipectl/schema.hpp>
#include <pipectl/table.hpp>

using namespace pipectl;
using V = std::vector<std::string>;

namespace {
Schema wide(std::size_t numeric) {
  Schema s;
  for (std::size_t i = 0; i < numeric; ++i) s.columns.push_back({"f" + std::to_string(i), DType::Float64});
  s.columns.push_back({"proto", DType::Categorical});
  s.columns.push_back({"id", DType::Int64, false, ColumnRole::Key});
  s.columns.push_back({"label", DType::Categorical, false, ColumnRole::Label});
  return s;
}
std::vector<std::string> issues(const SchemaContext& c) {
  std::vector<std::string> v;
  for (const auto& i : c.issues()) v.push_back(i.param + ": " + i.message);
  return v;
}
}  // namespace

TEST_CASE("schema: set keeps a column's place, drop removes it, covering finds prefix families") {
  Schema s;
  s.set({"a", DType::Int64});
  s.set({"b", DType::Categorical});
  s.set({"a", DType::Float64});
  CHECK(s.names() == V{"a", "b"});
  CHECK(s.find("a")->type == DType::Float64);
  s.drop("a");
  CHECK(s.names() == V{"b"});
  ColumnSchema fam{"pred_proba", DType::Float64, true, ColumnRole::Prediction};
  fam.prefix = true;
  s.set(fam);
  CHECK(s.names() == V{"b"});  // a family is not a column
  CHECK(s.covering("pred_proba.Camera") != nullptr);
  CHECK(s.covering("pred_proba") != nullptr);
  CHECK(s.covering("pred_label") == nullptr);
  CHECK(Schema::from_json(s.to_json()).to_json() == s.to_json());
}

TEST_CASE("schema: of a table, merged inputs") {
  Table t;
  t = t.with(Column::make_f64("x", {1, 2}, {1, 0}));
  t = t.with(Column::make_i64("k", {1, 2}));
  auto s = Schema::of(t);
  CHECK(s.names() == V{"x", "k"});
  CHECK(s.find("x")->nullable);
  CHECK_FALSE(s.find("k")->nullable);
  CHECK_FALSE(s.split);
  Schema a, b;
  a.columns = {{"x", DType::Float64}};
  b.columns = {{"x", DType::Int64}, {"y", DType::Int64}};
  b.split = true;
  b.known = false;
  auto m = merge_schemas({a, b});
  CHECK(m.names() == V{"x", "y"});
  CHECK(m.find("x")->type == DType::Float64);  // the first input's declaration wins
  CHECK(m.split);
  CHECK_FALSE(m.known);
}

TEST_CASE("selectors: names, globs and tables resolve against the schema") {
  auto sel = [](json v, const SelectOptions& o = {}) {
    Params p(json{{"columns", v}});
    SchemaContext c(p, {wide(300)});
    auto out = c.select("columns", o);
    return std::make_pair(out, issues(c));
  };
  SelectOptions numeric;
  numeric.types = {DType::Float64, DType::Int64};
  numeric.default_roles = {ColumnRole::Feature};
  SUBCASE("a table by type: 300 features, not the key, not the label") {
    auto [out, is] = sel({{"type", "numeric"}}, numeric);
    CHECK(is.empty());
    CHECK(out.size() == 300);
    CHECK(out.front() == "f0");
  }
  SUBCASE("a table by role overrides the default roles") {
    auto [out, is] = sel({{"role", "key"}}, numeric);
    CHECK(is.empty());
    CHECK(out == V{"id"});
  }
  SUBCASE("pattern and exclude") {
    auto [out, is] = sel({{"pattern", "f1?"}, {"exclude", {"f10", "f1[5-9]"}}});
    CHECK(is.empty());
    CHECK(out == V{"f11", "f12", "f13", "f14"});
  }
  SUBCASE("names and globs in one list, each column once") {
    auto [out, is] = sel({"f2", "f2*"});
    CHECK(is.empty());
    CHECK(out.size() == 1 + 10 + 100);
    CHECK(out.front() == "f2");
  }
  SUBCASE("a missing name: at most five close names, a short message") {
    auto [out, is] = sel({"f30O"});
    REQUIRE(is.size() == 1);
    CHECK(is[0] == "columns: names column \"f30O\", which its inputs do not provide (closest: f3, f30, f0, f10, f20; "
                   "303 columns in all)");
    CHECK(is[0].size() < 300);
  }
  SUBCASE("wrong types, listed shortened") {
    auto [out, is] = sel({{"pattern", "*"}}, SelectOptions{false, {DType::Categorical}, {}, {}});
    REQUIRE(is.size() == 1);
    CHECK(is[0].size() < 300);
    CHECK(is[0].rfind("columns: selects columns of the wrong type: f0 (float64), f1 (float64)", 0) == 0);
  }
  SUBCASE("an empty selection is an error unless allowed") {
    CHECK(sel({{"type", "multi_categorical"}}).second ==
          V{"columns: selects no column: the selector {\"type\":\"multi_categorical\"} matches none of its inputs' "
            "303 columns"});
    CHECK(sel(json::array(), SelectOptions{true, {}, {}, {}}).second.empty());
  }
  SUBCASE("unknown input: plain names pass through, nothing is recorded") {
    Params p(json{{"columns", {"a", "b"}}});
    Schema unknown;
    unknown.known = false;
    SchemaContext c(p, {unknown});
    CHECK(c.select("columns") == V{"a", "b"});
    CHECK(c.issues().empty());
    CHECK(c.resolved().empty());
  }
}

TEST_CASE("selectors: the parameter value is checked") {
  ParamSpec s;
  s.type = ParamType::Columns;
  CHECK(s.check(json::array({"a", "b*"})) == "");
  CHECK(s.check(json{{"type", "numeric"}, {"role", "feature"}, {"pattern", "x*"}, {"exclude", {"x1"}}}) == "");
  CHECK(s.check(json{{"kind", "numeric"}}) == "unknown selector key \"kind\" (allowed: type, role, pattern, exclude)");
  CHECK(s.check(json{{"type", "number"}}) ==
        "selector key \"type\" must be one of \"numeric\", \"float64\", \"int64\", \"categorical\", "
        "\"multi_categorical\", got \"number\"");
  CHECK(s.check(json{{"role", "target"}}).rfind("selector key \"role\" must be one of", 0) == 0);
  CHECK(s.check(json::array({1})) == "expects column names or patterns (strings), got number 1");
  CHECK(s.check("bytes") ==
        "expects a list of column names and patterns, or a table { type, role, pattern, exclude }");
}

TEST_CASE("parameters: open and half-open ranges") {
  ParamSpec eta;
  eta.type = ParamType::Float;
  eta.range_open_low(0, 1);
  CHECK(eta.check(0.0) == "must be in (0, 1], got 0");
  CHECK(eta.check(1.0) == "");
  CHECK(eta.check(1e-9) == "");
  ParamSpec open;
  open.type = ParamType::Float;
  open.range_open(0, 1);
  CHECK(open.check(1.0) == "must be in (0, 1), got 1");
  ParamSpec c;
  c.type = ParamType::Float;
  c.above(0);
  CHECK(c.check(0.0) == "must be above 0, got 0");
  CHECK(c.check(0.5) == "");
  ParamSpec k;
  k.type = ParamType::Int;
  k.at_least(1);
  CHECK(k.check(0) == "must be at least 1, got 0");
  CHECK(eta.to_json()["min_open"] == true);
}

TEST_CASE("shorten_names: a long list is cut with a count") {
  V many;
  for (int i = 0; i < 297; ++i) many.push_back("http_header_" + std::to_string(i));
  auto s = shorten_names(many, 120);
  CHECK(s.size() < 160);
  CHECK(s.find("(+") != std::string::npos);
  CHECK(s.substr(s.size() - 6) == " more)");
  CHECK(shorten_names({"a", "b"}) == "a, b");
}
