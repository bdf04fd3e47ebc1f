// The tools know stages by kind and declaration, never by plugin name:
// `runs list` takes its metric columns from what each evaluator declares (an
// out-of-tree evaluator's own figures too), and `predict --by device` groups
// the rows of any source by their column of role group.
#include <doctest/doctest.h>

#include "common.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

using namespace cli_test;
using nlohmann::json;

namespace {
const char* const kMetrics = R"([pipeline]
name = "declared-metrics"
seed = 5

[[stage]]
id = "gen"
plugin = "test_gen"
rows = 600

[[stage]]
id = "split"
plugin = "test_split"
inputs = ["gen"]

[[stage]]
id = "model"
plugin = "test_model"
inputs = ["split"]
label = "y"

[[stage]]
id = "evaluate"
plugin = "evaluator"
inputs = ["model"]
label = "y"

[[stage]]
id = "hits"
plugin = "test_hits"
inputs = ["model"]
label = "y"
)";

/// `devices` devices named <prefix>NN of `rows` sessions each; a device's
/// sessions all have its label y (even devices 0, odd 1), x near 3y.
void write_devices_csv(const std::filesystem::path& file, const std::string& prefix, int devices, int rows,
                       unsigned seed, int first_id) {
  std::ofstream o(file);
  o << "sessionid,device,x,noise,y\n";
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int id = first_id;
  for (int d = 0; d < devices; ++d)
    for (int r = 0; r < rows; ++r) {
      const int y = d % 2;
      char name[16];
      std::snprintf(name, sizeof name, "%s%02d", prefix.c_str(), d);
      o << id++ << "," << name << "," << y * 3 + u(rng) << "," << u(rng) << "," << y << "\n";
    }
}

const char* const kDevices = R"([pipeline]
name = "csv-devices"
seed = 3

[[stage]]
id = "source"
plugin = "csv"
path = "devices.csv"

[[stage]]
id = "split"
plugin = "splitter"
inputs = ["source"]
method = "groups"
group = "device"
stratify = "y"

[[stage]]
id = "train"
plugin = "xgboost"
inputs = ["split"]
label = "y"
exclude = ["sessionid", "device"]
num_round = 20

[[stage]]
id = "evaluate"
plugin = "evaluator"
inputs = ["train"]
label = "y"
group = "device"
)";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
}  // namespace

TEST_CASE("tools: runs list shows the figures each evaluator declares, an out-of-tree evaluator's own too") {
  TempDir t;
  std::ofstream(t.path / "m.toml") << kMetrics;
  auto d = run_pipectl("plugins describe test_hits", FIXTURES_GOOD, t.path);
  REQUIRE(d.rc == 0);
  CHECK(d.out.find("\nMetrics:\n  hit_rate (headline), higher is better\n      share of rows whose pred_label is "
                   "the label\n  misses, lower is better\n") != std::string::npos);
  auto r = run_pipectl("run m.toml -q --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  // run.json records the declaration beside the kind: the tools need not load the plugin.
  const json run = json::parse(slurp(t.path / "run" / "run.json"));
  json hits;
  for (const auto& s : run["stages"])
    if (s["id"] == "hits") hits = s;
  CHECK(hits["kind"] == "evaluator");
  REQUIRE(hits["declared_metrics"].size() == 2);
  CHECK(hits["declared_metrics"][0] ==
        json{{"name", "hit_rate"}, {"description", "share of rows whose pred_label is the label"},
             {"higher_is_better", true}, {"headline", true}});
  CHECK(hits["declared_metrics"][1]["higher_is_better"] == false);
  // metrics.json holds more than is declared ("rows", the model's threshold, precision…).
  const json metrics = json::parse(slurp(t.path / "run" / "metrics.json"));
  CHECK(metrics["hits"].contains("rows"));
  CHECK(metrics["evaluate"].contains("precision"));

  auto list = run_pipectl("runs list --pipeline declared-metrics", FIXTURES_GOOD, t.path);
  REQUIRE(list.rc == 0);
  const auto head = lines_of(list.out).at(0);
  for (const char* col : {"hits.hit_rate", "hits.misses", "evaluate.roc_auc", "evaluate.pr_auc", "evaluate.f1",
                          "evaluate.accuracy", "evaluate.log_loss"})
    CHECK_MESSAGE(head.find(col) != std::string::npos, col << " in " << head);
  for (const char* col : {"hits.rows", "evaluate.precision", "evaluate.rows", "model.threshold"})
    CHECK_MESSAGE(head.find(col) == std::string::npos, col << " in " << head);
}

TEST_CASE("tools: compare leaves out an evaluator whose figures are its own, and says so") {
  TempDir t;
  write_devices_csv(t.path / "devices.csv", "d", 20, 20, 1, 1);
  std::ofstream(t.path / "c.toml") << kDevices
                                   << "\n[[stage]]\nid = \"hits\"\nplugin = \"test_hits\"\ninputs = [\"train\"]\n"
                                      "label = \"y\"\n";
  auto r = run_pipectl("compare c.toml -q --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::string md = slurp(t.path / "run" / "report" / "compare.md");
  CHECK_MESSAGE(md.find("evaluator \"hits\" declares figures the report does not draw (hit_rate, misses): left out") !=
                    std::string::npos,
                md);
  CHECK(md.find("train") != std::string::npos);
}

TEST_CASE("tools: predict --by device on a CSV source groups the sessions by the column of role group") {
  TempDir t;
  write_devices_csv(t.path / "devices.csv", "d", 40, 25, 1, 1);
  write_devices_csv(t.path / "new.csv", "n", 10, 20, 2, 5000);
  std::ofstream(t.path / "p.toml") << kDevices;
  auto r = run_pipectl("run p.toml -q --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  auto p = run_pipectl("predict run --input new.csv --by device -q --out d.csv", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(p.rc == 0, p.err);
  const auto lines = lines_of(slurp(t.path / "d.csv"));
  REQUIRE(lines.size() == 11);
  CHECK(lines[0] == "device,sessions,p_positive,verdict");
  std::map<std::string, std::string> verdict;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f;
    std::istringstream in(lines[i]);
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 4);
    CHECK(f[1] == "20");
    verdict[f[0]] = f[3];
  }
  REQUIRE(verdict.size() == 10);
  for (int d = 0; d < 10; ++d) {
    char name[8];
    std::snprintf(name, sizeof name, "n%02d", d);
    CHECK_MESSAGE(verdict[name] == std::to_string(d % 2), name);
  }
}

TEST_CASE("tools: predict --by device without a group column says how to name one") {
  TempDir t;
  write_devices_csv(t.path / "devices.csv", "d", 20, 20, 1, 1);
  std::string text = kDevices;
  text.replace(text.find("method = \"groups\"\ngroup = \"device\"\n"), 34, "");
  std::ofstream(t.path / "p.toml") << text;
  auto r = run_pipectl("run p.toml -q --out run", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  auto p = run_pipectl("predict run --input devices.csv --by device -q", FIXTURES_GOOD, t.path);
  CHECK(p.rc == 2);
  CHECK(p.err ==
        "error: --by device needs each session's device: the source \"source\" does not say, and model \"train\"'s "
        "rows have no column of role group (a splitter's `group`); name one with --group (predict --by session)\n");
  // Named, it is used.
  auto q = run_pipectl("predict run --input devices.csv --by device --group device -q", FIXTURES_GOOD, t.path);
  REQUIRE_MESSAGE(q.rc == 0, q.err);
  CHECK(lines_of(q.out).size() == 21);
  auto bad = run_pipectl("predict run --input devices.csv --by device --group devic -q", FIXTURES_GOOD, t.path);
  CHECK(bad.rc == 2);
  CHECK(bad.err == "error: --group \"devic\" is not a column of model \"train\"'s rows\n");
}
