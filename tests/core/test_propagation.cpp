// Schemas propagated along a pipeline by the validator (real plugins and
// the test fixtures), selectors resolved into the parameters, the graph and
// cache keys.
#include <doctest/doctest.h>

#include <pipectl/cache.hpp>
#include <pipectl/config.hpp>
#include <pipectl/error.hpp>
#include <pipectl/graph.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/pipeline.hpp>

using namespace pipectl;
using V = std::vector<std::string>;

namespace {
const PluginRegistry& registry() {
  static PluginRegistry r = [] {
    PluginRegistry reg;
    reg.set_allow_insecure(true);
    reg.load_dir(PLUGINS_DIR);
    reg.load_dir(FIXTURES_GOOD);
    return reg;
  }();
  return r;
}

ResolvedPipeline resolve(const std::string& text) {
  ReadOptions o;
  o.expand_env = false;
  return resolve_pipeline(read_pipeline_text(text, "p.toml", "/nonexistent", o), registry());
}

std::vector<std::string> errors(const std::string& text) {
  try {
    resolve(text);
  } catch (const ConfigError& e) {
    std::vector<std::string> v;
    for (const auto& d : e.diagnostics()) v.push_back(d.str());
    return v;
  }
  return {};
}

// A CSV source whose schema is declared (`types`): known without the file.
const std::string kWide = [] {
  std::string types;
  for (int i = 0; i < 300; ++i) types += "f" + std::to_string(i) + " = \"float64\", ";
  return "[[stage]]\nid = \"source\"\nplugin = \"csv\"\npath = \"absent.csv\"\nlist_columns = []\n"
         "types = { " + types + "proto = \"categorical\", app = \"categorical\" }\n\n"
         "[[stage]]\nid = \"split\"\nplugin = \"splitter\"\ninputs = [\"source\"]\nstratify = \"app\"\n";
}();
}  // namespace

TEST_CASE("propagation: the schema of every stage, before any row is read") {
  auto p = resolve(kWide +
                   "\n[[stage]]\nid = \"scale\"\nplugin = \"normaliser\"\ninputs = [\"split\"]\n"
                   "columns = { type = \"numeric\" }\n"
                   "\n[[stage]]\nid = \"train\"\nplugin = \"xgboost\"\ninputs = [\"scale\"]\nlabel = \"app\"\n"
                   "\n[[stage]]\nid = \"evaluate\"\nplugin = \"evaluator\"\ninputs = [\"train\"]\nlabel = \"app\"\n");
  const auto& src = p.stages[p.index_of("source")].schema;
  CHECK(src.known);
  CHECK(src.columns.size() == 302);
  CHECK_FALSE(src.split);
  CHECK(p.stages[p.index_of("split")].schema.split);
  // The selector was resolved and replaced by the names, in the parameters
  // (and so in the run's pipeline.toml and cache key).
  const auto cols = p.stages[p.index_of("scale")].params.strings("columns");
  CHECK(cols.size() == 300);
  CHECK(cols.front() == "f0");
  const std::string toml = p.to_toml();
  CHECK(toml.find("f299") != std::string::npos);
  CHECK(toml.find("columns = [") != std::string::npos);
  CHECK(toml.find("type = \"numeric\"") == std::string::npos);
  const auto& tr = p.stages[p.index_of("train")].schema;
  CHECK(tr.find("app")->role == ColumnRole::Label);
  CHECK(tr.find("pred_label")->role == ColumnRole::Prediction);
  CHECK(tr.covering("pred_proba.web") != nullptr);
  CHECK_FALSE(p.stages[p.index_of("evaluate")].deferred);
}

TEST_CASE("propagation: every problem at once, each at its parameter") {
  auto e = errors(kWide +
                  "\n[[stage]]\nid = \"scale\"\nplugin = \"normaliser\"\ninputs = [\"split\"]\ncolumns = [\"proto\"]\n"
                  "\n[[stage]]\nid = \"train\"\nplugin = \"xgboost\"\ninputs = [\"split\"]\n"
                  "\n[[stage]]\nid = \"evaluate\"\nplugin = \"evaluator\"\ninputs = [\"train\"]\nlabel = \"ap\"\n");
  REQUIRE(e.size() == 2);
  CHECK(e[0] == "p.toml:18:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") selects a column of "
                "the wrong type: proto (categorical); it takes numeric (float64 or int64) columns");
  CHECK(e[1].rfind("p.toml:20:1: parameter \"label\" of stage \"train\" (plugin \"xgboost\") names column \"is_iot\", "
                   "which its inputs do not provide (closest: ",
                   0) == 0);
  // The evaluator after the failed trainer is not reported again (its input is unknown).
}

TEST_CASE("propagation: a source that cannot know defers the checks after it") {
  auto p = resolve("[[stage]]\nid = \"source\"\nplugin = \"csv\"\npath = \"absent.csv\"\n"
                   "\n[[stage]]\nid = \"split\"\nplugin = \"splitter\"\ninputs = [\"source\"]\nstratify = \"app\"\n"
                   "\n[[stage]]\nid = \"scale\"\nplugin = \"normaliser\"\ninputs = [\"split\"]\n"
                   "columns = { type = \"numeric\" }\n");
  CHECK_FALSE(p.stages[0].schema.known);
  CHECK_FALSE(p.stages[0].deferred);
  CHECK(p.stages[1].deferred);
  CHECK(p.stages[2].deferred);
  // The selector stays as written until the rows arrive.
  CHECK(p.stages[2].params.raw("columns").is_object());
  // Given the schema the source gave, the rule runs again (as the runner does).
  Schema actual;
  actual.split = true;
  actual.columns = {{"bytes", DType::Int64}, {"app", DType::Categorical}};
  auto r = apply_schema_rule(p.stages[2], {actual});
  CHECK(r.diagnostics.empty());
  CHECK(r.params.strings("columns") == V{"bytes"});
  CHECK(r.schema.find("bytes")->type == DType::Float64);
  actual.columns = {{"app", DType::Categorical}};
  r = apply_schema_rule(p.stages[2], {actual});
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].message.find("selects no column") != std::string::npos);
}

TEST_CASE("graph: topological order and cycles") {
  StageGraph g({"a", "b", "c"});
  g.add_edge(0, 1);
  g.add_edge(1, 2);
  CHECK(g.topo_order() == std::vector<std::size_t>{0, 1, 2});
  CHECK_FALSE(g.find_cycle());
  g.add_edge(2, 0);
  auto c = g.find_cycle();
  REQUIRE(c);
  CHECK(g.cycle_text(*c) == "a -> b -> c -> a");
}

TEST_CASE("cache keys: the resolved selection is part of a stage's key") {
  const std::string head = kWide + "\n[[stage]]\nid = \"scale\"\nplugin = \"normaliser\"\ninputs = [\"split\"]\n";
  auto key = [&](const std::string& columns) {
    auto p = resolve(head + "columns = " + columns + "\n");
    const auto& s = p.stages[p.index_of("scale")];
    return StageCache::key_of(StageCache::key_parts(s, {"src", "split"}));
  };
  // Two ways of writing the same selection give the same key; another selection another key.
  CHECK(key("[\"f1\", \"f2\"]") == key("{ pattern = \"f[12]\" }"));
  CHECK(key("[\"f1\", \"f2\"]") != key("[\"f1\"]"));
}
