// Schemas end to end: a wide CSV the shipped pipelines know nothing of runs
// through selectors naming only its label; validation reads no row.
#include <doctest/doctest.h>

#include "common.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

using namespace cli_test;

namespace {
/// `rows` flows of 300 numeric columns (the first ten shifted by the class),
/// a categorical "proto" and a label "app" of ten classes.
void write_wide_csv(const std::filesystem::path& file, int rows) {
  std::ofstream o(file);
  for (int j = 0; j < 300; ++j) o << (j ? "," : "") << "f" << j;
  o << ",proto,app\n";
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int r = 0; r < rows; ++r) {
    const int k = r % 10;
    for (int j = 0; j < 300; ++j) {
      const double v = noise(rng) + (j < 10 && j == k ? 4.0 : 0.0);
      o << (j ? "," : "") << (j % 3 == 0 ? std::to_string(static_cast<long long>(v * 100)) : std::to_string(v));
    }
    o << "," << (r % 3 == 0 ? "tcp" : "udp") << ",app" << k << "\n";
  }
}

const char* const kWide = R"([pipeline]
name = "wide"
seed = 7

[[stage]]
id = "source"
plugin = "csv"
path = "wide.csv"

[[stage]]
id = "split"
plugin = "splitter"
inputs = ["source"]
stratify = "app"

[[stage]]
id = "scale"
plugin = "normaliser"
inputs = ["split"]
columns = { type = "numeric" }

[[stage]]
id = "train"
plugin = "xgboost"
inputs = ["scale"]
label = "app"
num_round = 30

[[stage]]
id = "evaluate"
plugin = "evaluator"
inputs = ["train"]
label = "app"
)";
}  // namespace

TEST_CASE("schemas: a wide CSV runs multiclass with selectors naming only the label") {
  TempDir t;
  write_wide_csv(t.path / "wide.csv", 1500);
  {
    std::ofstream(t.path / "wide.toml") << kWide;
  }
  auto v = run_pipectl("validate wide.toml", FIXTURES_GOOD, t.path);
  CHECK(v.rc == 0);
  CHECK(v.err == "");
  auto r = run_pipectl("run wide.toml --quiet --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  // The selector resolved to the 300 numeric columns, written into the run's pipeline.toml.
  const std::string toml = slurp(t.path / "run" / "pipeline.toml");
  CHECK(toml.find("columns = [") != std::string::npos);
  CHECK(toml.find("f299") != std::string::npos);
  CHECK(toml.find("type = \"numeric\"") == std::string::npos);
  const auto metrics = nlohmann::json::parse(slurp(t.path / "run" / "metrics.json"));
  CHECK(metrics["evaluate"]["accuracy"].get<double>() > 0.8);
  // run.json: each stage's kind and output schema.
  const auto run = nlohmann::json::parse(slurp(t.path / "run" / "run.json"));
  CHECK(run["stages"][3]["kind"] == "trainer");
  CHECK(run["stages"][0]["schema"]["columns"].size() == 302);
  CHECK(run["stages"][2]["schema"]["columns"][0]["type"] == "float64");
  // runs list shortens the 300 names.
  auto list = run_pipectl("runs list --pipeline wide", FIXTURES_GOOD, t.path);
  CHECK(list.rc == 0);
  std::size_t longest = 0, from = 0;
  while (from < list.out.size()) {
    auto nl = list.out.find('\n', from);
    if (nl == std::string::npos) nl = list.out.size();
    longest = std::max(longest, nl - from);
    from = nl + 1;
  }
  CHECK(longest < 400);
}

TEST_CASE("schemas: a selector the data cannot satisfy is refused before any row is read") {
  TempDir t;
  write_wide_csv(t.path / "wide.csv", 50);
  std::string text = kWide;
  text.replace(text.find("columns = { type = \"numeric\" }"), 30, "columns = [\"http_*\", \"proto\"]");
  {
    std::ofstream(t.path / "wide.toml") << text;
  }
  auto r = run_pipectl("run wide.toml --out run", FIXTURES_GOOD, t.path);
  CHECK(r.rc == 3);
  CHECK(r.err == "wide.toml:20:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") pattern \"http_*\" "
                 "matches no column of its inputs\n"
                 "wide.toml:20:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") selects a column "
                 "of the wrong type: proto (categorical); it takes numeric (float64 or int64) columns\n"
                 "pipectl: 2 errors; nothing was run\n");
  CHECK_FALSE(std::filesystem::exists(t.path / "run"));
}

TEST_CASE("schemas: pipectl compare runs the wide CSV with every trainer") {
  TempDir t;
  write_wide_csv(t.path / "wide.csv", 600);
  std::string text = kWide;
  text = text.substr(0, text.find("[[stage]]\nid = \"train\"")) +
         "[[stage]]\nid = \"trees\"\nplugin = \"xgboost\"\ninputs = [\"scale\"]\nlabel = \"app\"\nnum_round = 20\n\n"
         "[[stage]]\nid = \"linear\"\nplugin = \"liblinear\"\ninputs = [\"scale\"]\nlabel = \"app\"\n\n"
         "[[stage]]\nid = \"net\"\nplugin = \"mlp\"\ninputs = [\"scale\"]\nlabel = \"app\"\n\n"
         "[[stage]]\nid = \"evaluate\"\nplugin = \"evaluator\"\ninputs = [\"trees\", \"linear\", \"net\"]\n"
         "label = \"app\"\n";
  {
    std::ofstream(t.path / "wide.toml") << text;
  }
  auto r = run_pipectl("compare wide.toml --quiet --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto report = nlohmann::json::parse(slurp(t.path / "run" / "report" / "compare.json"));
  const std::string dump = report.dump();
  for (const char* m : {"trees", "linear", "net"}) CHECK(dump.find(std::string("\"") + m + "\"") != std::string::npos);
  const auto metrics = nlohmann::json::parse(slurp(t.path / "run" / "metrics.json"));
  CHECK(metrics["evaluate"].dump().find("accuracy") != std::string::npos);
}
