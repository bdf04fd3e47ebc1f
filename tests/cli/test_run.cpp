// `pipectl run` on fixture plugins: concurrency, determinism, run folders,
// stage failures turned into errors naming stage and plugin.
#include <doctest/doctest.h>

#include "common.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

using namespace cli_test;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE("two independent stages overlap under --jobs 2 and outputs equal --jobs 1") {
  TempDir t;
  auto a = run_pipectl("run " + kGood + "/fanout.toml --quiet --no-cache --jobs 2 --out " + quote((t / "j2").string()));
  REQUIRE(a.rc == 0);
  auto b = run_pipectl("run " + kGood + "/fanout.toml --quiet --no-cache --jobs 1 --out " + quote((t / "j1").string()));
  REQUIRE(b.rc == 0);
  auto times = [&](const std::string& run, const std::string& stage) {
    return json::parse(slurp(t / run / "stages" / stage / "times.json"));
  };
  auto l2 = times("j2", "left"), r2 = times("j2", "right");
  CHECK(l2["start"].get<std::int64_t>() < r2["end"].get<std::int64_t>());
  CHECK(r2["start"].get<std::int64_t>() < l2["end"].get<std::int64_t>());
  auto l1 = times("j1", "left"), r1 = times("j1", "right");
  const bool disjoint = l1["end"].get<std::int64_t>() <= r1["start"].get<std::int64_t>() ||
                        r1["end"].get<std::int64_t>() <= l1["start"].get<std::int64_t>();
  CHECK(disjoint);
  CHECK(slurp(t / "j1" / "metrics.json") == slurp(t / "j2" / "metrics.json"));
  CHECK(slurp(t / "j1" / "pipeline.toml") == slurp(t / "j2" / "pipeline.toml"));
}

TEST_CASE("a run folder holds the resolved pipeline, run.json, metrics and state") {
  TempDir t;
  auto r = run_pipectl("run " + kGood + "/train.toml --quiet --out " + quote((t / "run").string()) + " --set model.depth=4");
  REQUIRE(r.rc == 0);
  const auto dir = t / "run";
  CHECK(fs::exists(dir / "log.txt"));
  auto info = json::parse(slurp(dir / "run.json"));
  CHECK(info["status"] == "ok");
  CHECK(info["pipeline"] == "train");
  CHECK(info["stages"].size() == 3);
  CHECK(info["stages"][0]["rows_out"] == 3000);
  CHECK(info["plugins"]["test_model"]["version"] == "1.0.0");
  auto state = json::parse(slurp(dir / "stages" / "model" / "state.json"));
  CHECK(state["threshold"].get<double>() == doctest::Approx(0.5).epsilon(0.01));
  auto metrics = json::parse(slurp(dir / "metrics.json"));
  CHECK(metrics["model"]["threshold"] == state["threshold"]);
  auto resolved = slurp(dir / "pipeline.toml");
  CHECK(resolved.find("depth = 4") != std::string::npos);
  CHECK(resolved.find("rate = 0.5") != std::string::npos);  // defaults are written out
  SUBCASE("the resolved pipeline runs again to the same metrics") {
    auto again = run_pipectl("run " + quote((dir / "pipeline.toml").string()) + " --quiet --out " +
                         quote((t / "again").string()));
    REQUIRE(again.rc == 0);
    CHECK(slurp(t / "again" / "metrics.json") == slurp(dir / "metrics.json"));
  }
  SUBCASE("another seed gives other data") {
    auto other = run_pipectl("run " + kGood + "/train.toml --quiet --set pipeline.seed=6 --out " +
                         quote((t / "other").string()));
    REQUIRE(other.rc == 0);
    CHECK(slurp(t / "other" / "metrics.json") != slurp(dir / "metrics.json"));
  }
}

TEST_CASE("paths resolve against the pipeline's folder, --set paths against the working directory") {
  TempDir t;
  auto r = run_pipectl("run " + kGood + "/fanout.toml --quiet --set left.ms=0 --set right.ms=0 --out " +
                   quote((t / "a").string()));
  REQUIRE(r.rc == 0);
  auto resolved = slurp(t / "a" / "pipeline.toml");
  CHECK(resolved.find("file = '" + kGood + "/data/some.file'") != std::string::npos);
  CHECK(resolved.find("description = 'fixture pipeline: no note'") != std::string::npos);
  auto r2 = run_pipectl("run " + kGood + "/fanout.toml --quiet --set left.ms=0 --set right.ms=0 --set gen.file=x.dat --out " +
                        quote((t / "b").string()),
                    FIXTURES_GOOD, t.path);
  REQUIRE(r2.rc == 0);
  CHECK(slurp(t / "b" / "pipeline.toml").find("file = '" + (t / "x.dat").string() + "'") != std::string::npos);
}

TEST_CASE("stage failures name the stage and plugin, exit non-zero, and never look finished") {
  struct Case {
    const char* how;
    int rc;
    const char* message;
  };
  const Case cases[] = {
      {"factory", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: could not create the stage: refusing to be created\n"},
      {"run", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: boom in the middle of the run\n"},
      {"data", 6, "error: stage \"bad\" (plugin \"test_misbehave\") failed: column \"x\": negative value -1 at row 3\n"},
      {"lengths", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: returned an inconsistent table: column \"short\" has 2501 rows, expected 5000\n"},
      {"undeclared", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: returned column \"surprise\" that it did not declare\n"},
      {"missing", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: did not return column \"x\" that it declares it makes\n"},
      {"nonstd", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: unknown exception\n"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.how) {
      TempDir t;
      auto out = t / "run";
      auto r = run_pipectl("run " + kGood + "/fanout.toml --quiet --set left.ms=0 --set right.ms=0 --set bad.fail=" + c.how +
                       " --out " + quote(out.string()));
      CHECK(r.rc == c.rc);
      CHECK(r.err == c.message);
      CHECK_FALSE(fs::exists(out));
      REQUIRE(fs::exists(out.string() + ".failed"));
      auto info = json::parse(slurp(out.string() + ".failed/run.json"));
      CHECK(info["status"] == "failed");
      CHECK(info["stages"][3]["status"] == "failed");
    }
  }
}

TEST_CASE("the loader refuses non-plugins, other ABIs and name clashes, naming the file") {
  const std::string bad = FIXTURES_BAD, clash = FIXTURES_CLASH, good = FIXTURES_GOOD;
  auto r = run_pipectl("plugins list", good + ":" + bad + ":" + clash);
  CHECK(r.rc == 0);
  CHECK(r.out.find("test_gen") != std::string::npos);
  CHECK(r.err.find("warning: file \"" + bad + "/not_a_plugin.so\" is not a pipectl plugin (no \"pipectl_plugin\" descriptor)\n") !=
        std::string::npos);
  CHECK(r.err.find("warning: plugin \"" + bad + "/pipectl_test_wrong_abi.so\" (\"wrong_abi\") refused: plugin ABI version 999, host 4; "
                   "built with gcc-4, host gcc-12; built with libstdc++-4, host libstdc++-12; built with cxx11abi-0, host cxx11abi-1\n") !=
        std::string::npos);
  CHECK(r.err.find("warning: plugin \"" + clash + "/pipectl_test_clash.so\" refused: its name \"test_gen\" clashes with the plugin loaded from \"" +
                   good + "/pipectl_test_gen.so\"\n") != std::string::npos);
  SUBCASE("a pipeline that needs a refused plugin fails with the plugin-load code") {
    TempDir t;
    std::ofstream(t / "p.toml") << "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"w\"\nplugin = \"wrong_abi\"\ninputs = [\"gen\"]\n";
    auto v = run_pipectl("validate p.toml", good + ":" + bad, t.path);
    CHECK(v.rc == 4);
    CHECK(v.err.find("error: plugin \"" + bad + "/pipectl_test_wrong_abi.so\" (\"wrong_abi\") refused: plugin ABI version 999") !=
          std::string::npos);
  }
  SUBCASE("describe of a refused plugin") {
    auto d = run_pipectl("plugins describe wrong_abi", bad);
    CHECK(d.rc == 4);
  }
}

TEST_CASE("world-writable plugin folders are refused unless allowed") {
  TempDir t;
  auto dir = t / "open";
  fs::create_directories(dir);
  fs::copy_file(std::string(FIXTURES_GOOD) + "/pipectl_test_gen.so", dir / "pipectl_test_gen.so");
  fs::permissions(dir, fs::perms::all);
  auto r = run_pipectl("plugins list", dir.string());
  CHECK(r.out.find("test_gen") == std::string::npos);
  CHECK(r.err.find("warning: plugin folder \"" + dir.string() + "\" refused: it is world-writable; a plugin is native code run with your rights (use --allow-insecure-plugins to load it anyway)") !=
        std::string::npos);
  auto ok = run_pipectl("plugins list --allow-insecure-plugins", dir.string());
  CHECK(ok.out.find("test_gen") != std::string::npos);
}

TEST_CASE("graph renders in every format and dot output is valid Graphviz") {
  auto text = run_pipectl("graph " + kGood + "/fanout.toml");
  CHECK(text.rc == 0);
  CHECK(text.out == "fanout\n  gen (test_gen, source)\n  left (test_sleep, transform) <- gen\n"
                    "  right (test_sleep, transform) <- gen\n  bad (test_misbehave, transform) <- left\n");
  auto mer = run_pipectl("graph " + kGood + "/fanout.toml --format mermaid");
  CHECK(mer.out.find("gen --> left") != std::string::npos);
  auto js = run_pipectl("graph " + kGood + "/fanout.toml --format json");
  auto j = json::parse(js.out);
  CHECK(j["edges"].size() == 3);
  TempDir t;
  auto dot = run_pipectl("graph " + kGood + "/fanout.toml --format dot > " + quote((t / "g.dot").string()));
  REQUIRE(dot.rc == 0);
  auto svg = sh("dot -Tsvg " + quote((t / "g.dot").string()));
  CHECK(svg.rc == 0);
  CHECK(svg.out.find("<svg") != std::string::npos);
  CHECK(svg.out.find(">left<") != std::string::npos);
  auto bad = run_pipectl("graph " + kGood + "/fanout.toml --format png");
  CHECK(bad.rc == 2);
}

TEST_CASE("every command answers --help, and --version names the ABI") {
  for (const char* c : {"run", "validate", "graph", "schema", "plugins list", "plugins describe", "worker", "tracker", "cv"}) {
    SUBCASE(c) {
      auto r = run_pipectl(std::string(c) + " --help");
      CHECK(r.rc == 0);
      CHECK(r.out.find("usage: pipectl") == 0);
    }
  }
  auto v = run_pipectl("--version");
  CHECK(v.rc == 0);
  CHECK(v.out.find("pipectl 0.1.0 (plugin ABI 4, gcc-") == 0);
  auto u = run_pipectl("frobnicate");
  CHECK(u.rc == 2);
  CHECK(u.err.find("pipectl: unknown command \"frobnicate\"") == 0);
}

TEST_CASE("SIGINT ends a run promptly, leaving no finished-looking folder") {
  TempDir t;
  auto out = t / "run";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = sh("PIPECTL_PLUGIN_PATH=" + quote(FIXTURES_GOOD) + " " + quote(kBin) + " run " + kGood +
              "/fanout.toml --quiet --set left.ms=60000 --set right.ms=60000 --out " + quote(out.string()) +
              " & pid=$!; sleep 0.5; kill -INT $pid; wait $pid");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.rc == 130);
  CHECK(secs < 3.0);
  CHECK(r.err.find("interrupted by a signal") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  CHECK(fs::exists(out.string() + ".failed"));
}
