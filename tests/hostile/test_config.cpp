// Hostile pipeline files: every one is refused before anything runs, with
// exit code 3, `file:line:column: message` and no run folder; none crashes.
#include "common.hpp"

#include <pipectl/config.hpp>
#include <pipectl/graph.hpp>

using namespace hostile;

namespace {

const std::string kGenStage = "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n";

/// `pipectl run` of a pipeline text: refused with exit 3 and nothing run.
CmdResult refused(const Home& h, const std::string& text, const std::string& name = "p.toml") {
  h.write(name, text);
  auto r = h.pipectl("run " + name + " --runs-dir runs");
  CHECK(r.rc == 3);
  CHECK(r.out == "");
  CHECK_FALSE(fs::exists(h / "runs"));
  return r;
}

}  // namespace

TEST_CASE("hostile: config: an empty or comment-only file has no stages") {
  Home h;
  for (const char* text : {"", "\n\n   \n", "# only a comment\n", "[pipeline]\nname = \"x\"\n"}) {
    auto r = refused(h, text);
    CHECK(r.err == "p.toml:1:1: the pipeline has no stages (add [[stage]] tables)\npipectl: 1 error; nothing was run\n");
  }
}

TEST_CASE("hostile: config: TOML syntax errors name line and column") {
  Home h;
  SUBCASE("an unterminated string") {
    auto r = refused(h, kGenStage + "note = \"no end\n");
    CHECK(contains(r.err, "p.toml:4:"));
    CHECK(contains(r.err, "TOML syntax error"));
  }
  SUBCASE("a key without a value") {
    auto r = refused(h, kGenStage + "rows =\n");
    CHECK(contains(r.err, "p.toml:4:7: TOML syntax error"));
  }
  SUBCASE("a table header never closed") {
    auto r = refused(h, "[[stage]\nid = \"gen\"\n");
    CHECK(r.err == "p.toml:1:9: TOML syntax error: Error while parsing table header: expected ']', saw '\\n'\n"
                   "pipectl: 1 error; nothing was run\n");
  }
  SUBCASE("binary garbage and NUL bytes") {
    std::string junk = "\x7f" "ELF\x02\x01\x01";
    junk += std::string(3, '\0');
    junk += "\xff\xfe\x80 garbage";
    auto r = refused(h, junk);
    CHECK(r.err == "p.toml:1:10: TOML syntax error: Encountered invalid utf-8 sequence\npipectl: 1 error; nothing was run\n");
  }
  SUBCASE("invalid UTF-8 in a string") {
    auto r = refused(h, kGenStage + "note = \"\xc3\x28\"\n");
    CHECK(contains(r.err, "TOML syntax error"));
  }
  SUBCASE("a key defined twice") {
    auto r = refused(h, kGenStage + "rows = 1\nrows = 2\n");
    CHECK(r.err == "p.toml:5:8: TOML syntax error: Error while parsing key-value pair: cannot redefine existing integer "
                   "'rows'\npipectl: 1 error; nothing was run\n");
  }
}

TEST_CASE("hostile: config: a stage without a plugin, or with an empty or non-string one") {
  Home h;
  auto r = refused(h, "[[stage]]\nid = \"gen\"\nrows = 3\n");
  CHECK(r.err == "p.toml:1:1: stage \"gen\" has no \"plugin\"\npipectl: 1 error; nothing was run\n");
  r = refused(h, "[[stage]]\nid = \"gen\"\nplugin = \"\"\n");
  CHECK(r.err == "p.toml:3:10: stage \"gen\" has an empty \"plugin\"\npipectl: 1 error; nothing was run\n");
  r = refused(h, "[[stage]]\nid = \"gen\"\nplugin = 7\n");
  CHECK(r.err == "p.toml:3:10: \"plugin\" of stage \"gen\" must be a string\npipectl: 1 error; nothing was run\n");
  r = refused(h, "[[stage]]\nplugin = \"test_gen\"\n");
  CHECK(r.err == "p.toml:1:1: stage #1 has no \"id\"\npipectl: 1 error; nothing was run\n");
  r = refused(h, "[[stage]]\nid = 5\nplugin = \"test_gen\"\n");
  CHECK(r.err == "p.toml:2:6: stage \"id\" must be a string\npipectl: 1 error; nothing was run\n");
}

TEST_CASE("hostile: config: inputs that are not a list of stage ids") {
  Home h;
  const std::string nap = "\n[[stage]]\nid = \"nap\"\nplugin = \"test_sleep\"\n";
  for (const char* inputs : {"\"gen\"", "3", "{ a = \"gen\" }", "true"}) {
    auto r = refused(h, kGenStage + nap + "inputs = " + inputs + "\n");
    CHECK(r.err == "p.toml:8:10: \"inputs\" of stage \"nap\" must be a list of stage ids\npipectl: 1 error; nothing was run\n");
  }
  auto r = refused(h, kGenStage + nap + "inputs = [\"gen\", 3]\n");
  CHECK(r.err == "p.toml:8:18: \"inputs\" of stage \"nap\" must be a list of stage ids\npipectl: 1 error; nothing was run\n");
}

TEST_CASE("hostile: config: parameters of the wrong type, out of range, unknown") {
  Home h;
  SUBCASE("wrong type") {
    auto r = refused(h, kGenStage + "rows = \"many\"\n");
    CHECK(r.err == "p.toml:4:8: parameter \"rows\" of stage \"gen\" expects an integer, got string \"many\"\n"
                   "pipectl: 1 error; nothing was run\n");
    r = refused(h, kGenStage + "rows = [1, 2]\n");
    CHECK(contains(r.err, "p.toml:4:8: parameter \"rows\" of stage \"gen\" expects an integer, got array\n"));
    r = refused(h, kGenStage + "rows = 1979-05-27\n");
    CHECK(contains(r.err, "p.toml:4:8: parameter \"rows\" of stage \"gen\" expects an integer, got string \"1979-05-27\"\n"));
  }
  SUBCASE("out of range, including the extremes of int64 and float") {
    auto r = refused(h, kGenStage + "rows = -1\n");
    CHECK(r.err == "p.toml:4:8: parameter \"rows\" of stage \"gen\" must be in [0, 1e+09], got -1\n"
                   "pipectl: 1 error; nothing was run\n");
    r = refused(h, kGenStage + "rows = 9223372036854775807\n");
    CHECK(contains(r.err, "parameter \"rows\" of stage \"gen\" must be in [0, 1e+09], got 9.22337e+18\n"));
    r = refused(h, kGenStage + "rows = 99999999999999999999\n");  // not even an int64
    CHECK(contains(r.err, "p.toml:4:28: TOML syntax error: Error while parsing decimal integer: '99999999999999999999' is "
                          "not representable in 64 bits\n"));
  }
  SUBCASE("a float that is not finite") {
    auto r = refused(h, "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"split\"\nplugin = "
                        "\"test_split\"\ninputs = [\"gen\"]\n\n[[stage]]\nid = \"m\"\nplugin = \"test_model\"\n"
                        "inputs = [\"split\"]\nlabel = \"y\"\nrate = nan\n");
    CHECK(contains(r.err, "p.toml:15:8: parameter \"rate\" of stage \"m\" expects a finite number, got nan\n"));
  }
  SUBCASE("unknown, with the allowed ones") {
    auto r = refused(h, kGenStage + "rowz = 3\n");
    CHECK(r.err == "p.toml:4:1: unknown parameter \"rowz\" for plugin \"test_gen\"; did you mean \"rows\"? "
                   "(allowed: rows, note, file)\npipectl: 1 error; nothing was run\n");
  }
  SUBCASE("a --set of the wrong type") {
    h.write("p.toml", kGenStage);
    auto r = h.pipectl("run p.toml --runs-dir runs --set gen.rows=lots");
    CHECK(r.rc == 3);
    CHECK(r.err == "--set gen.rows: parameter \"rows\" of stage \"gen\" expects an integer, got string \"lots\"\n"
                   "pipectl: 1 error; nothing was run\n");
  }
}

TEST_CASE("hostile: config: values nested 10,000 deep are refused without a crash") {
  Home h;
  const std::size_t deep = 10000;
  SUBCASE("an array") {
    auto r = refused(h, kGenStage + "note = " + std::string(deep, '[') + std::string(deep, ']') + "\n");
    CHECK(r.err == "p.toml:4:263: TOML nested more than 256 levels deep (tables, dotted keys, arrays); refusing to "
                   "parse it\npipectl: 1 error; nothing was run\n");
  }
  SUBCASE("inline tables") {
    std::string v;
    for (std::size_t i = 0; i < deep; ++i) v += "{a=";
    v += "1" + std::string(deep, '}');
    auto r = refused(h, kGenStage + "note = " + v + "\n");
    CHECK(contains(r.err, "p.toml:4:"));
    CHECK(contains(r.err, "TOML nested more than 256 levels deep"));
  }
  SUBCASE("a dotted key (toml++ itself would recurse until the stack overflows)") {
    std::string k = "note";
    for (std::size_t i = 0; i < 100000; ++i) k += ".a";
    auto r = refused(h, kGenStage + k + " = 1\n");
    CHECK(contains(r.err, "p.toml:4:"));
    CHECK(contains(r.err, "TOML nested more than 256 levels deep"));
  }
  SUBCASE("a table header") {
    std::string k = "[stage";
    for (std::size_t i = 0; i < 100000; ++i) k += ".a";
    auto r = refused(h, kGenStage + k + "]\nx = 1\n");
    CHECK(contains(r.err, "TOML nested more than 256 levels deep"));
  }
  SUBCASE("through --set") {
    h.write("p.toml", kGenStage);
    auto r = h.pipectl("validate p.toml --set gen.note=" + quote(std::string(deep, '[') + std::string(deep, ']')));
    CHECK(r.rc == 3);
    CHECK(r.err == "--set gen.note: the value is nested more than 256 levels deep\npipectl: 1 error; nothing was run\n");
  }
  SUBCASE("nesting below the limit is read normally") {
    auto r = refused(h, kGenStage + "note = " + std::string(200, '[') + std::string(200, ']') + "\n");
    CHECK(contains(r.err, "parameter \"note\" of stage \"gen\" expects a string, got array"));
  }
}

TEST_CASE("hostile: config: the nesting measure tells keys from values") {
  using pipectl::toml_nesting_depth;
  CHECK(toml_nesting_depth("").depth == 0);
  CHECK(toml_nesting_depth("a = 1.5\n").depth == 1);
  CHECK(toml_nesting_depth("a.b.c = 1.5e3\n").depth == 3);
  CHECK(toml_nesting_depth("[x.y]\na.b = [1.0, 2.0]\n").depth == 4);
  CHECK(toml_nesting_depth("[[stage]]\nt = { a.b = { c = [[1]] } }\n").depth == 6);
  CHECK(toml_nesting_depth("a = \"x.y.z[[[\" # [[[[\nb = '''\n[[[[.\n'''\n").depth == 1);
  CHECK(toml_nesting_depth("\"a.b\".c = 1\n").depth == 2);
  const auto d = toml_nesting_depth("x = 1\n\ny = [[[1]]]\n");
  CHECK(d.depth == 3);
  CHECK(d.line == 3);
  CHECK(d.column == 7);
  // Where the nesting first goes past the limit.
  const auto over = toml_nesting_depth("a = [[[[[[1]]]]]]\n", 4);
  CHECK(over.depth == 6);
  CHECK(over.column == 9);
}

TEST_CASE("hostile: config: a 10 MB string value is read and written back") {
  Home h;
  const std::string big(10 * 1000 * 1000, 'x');
  h.write("p.toml", kGenStage + "note = \"" + big + "\"\n");
  auto r = h.pipectl("run p.toml -q --out run");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const auto resolved = slurp(h / "run" / "pipeline.toml");
  CHECK(contains(resolved, "note = '" + big + "'"));
  SUBCASE("and a 10 MB stage id is refused with a shortened message") {
    auto bad = refused(h, "[[stage]]\nid = \"" + big + "\"\nplugin = \"test_gen\"\n");
    CHECK(bad.err.size() < 1000);
    CHECK(contains(bad.err, "p.toml:2:6: stage id \"xxxxxxxx"));
    CHECK(contains(bad.err, "...\" may only contain letters, digits, '_' and '-' (at most 64)"));
  }
}

TEST_CASE("hostile: config: an unset ${VAR} or a malformed one") {
  Home h;
  auto r = refused(h, kGenStage + "note = \"${PIPECTL_HOSTILE_SURELY_UNSET}\"\n");
  CHECK(r.err == "p.toml:4:8: environment variable \"PIPECTL_HOSTILE_SURELY_UNSET\" is not set (in gen.note)\n"
                 "pipectl: 1 error; nothing was run\n");
  r = refused(h, kGenStage + "note = \"${OOPS\"\n");
  CHECK(r.err == "p.toml:4:8: unterminated \"${\" in \"${OOPS\" (in gen.note)\npipectl: 1 error; nothing was run\n");
  r = refused(h, kGenStage + "note = \"${}\"\n");
  CHECK(r.err == "p.toml:4:8: empty variable name in \"${}\" (in gen.note)\npipectl: 1 error; nothing was run\n");
  // A default, and $$, are fine.
  h.write("ok.toml", kGenStage + "note = \"${PIPECTL_HOSTILE_SURELY_UNSET:-fallback} $$5\"\n");
  auto ok = h.pipectl("run ok.toml -q --out run");
  REQUIRE(ok.rc == 0);
  CHECK(contains(slurp(h / "run" / "pipeline.toml"), "note = 'fallback $$5'"));
}

TEST_CASE("hostile: config: no source, and no sink (which is fine)") {
  Home h;
  auto r = refused(h, "[[stage]]\nid = \"nap\"\nplugin = \"test_sleep\"\n");
  CHECK(r.err == "p.toml:1:1: stage \"nap\" (plugin \"test_sleep\") needs at least 1 input, got 0\n"
                 "p.toml:1:1: the pipeline has no source stage (a stage whose plugin takes no inputs)\n"
                 "pipectl: 2 errors; nothing was run\n");
  // A pipeline need not end in a trainer, evaluator or sink: the last
  // stage's output is simply the end of the run (its artifacts are in the run folder).
  h.write("nosink.toml", kGenStage + "\n[[stage]]\nid = \"nap\"\nplugin = \"test_sleep\"\ninputs = [\"gen\"]\nms = 0\n");
  auto ok = h.pipectl("run nosink.toml -q --out run");
  CHECK(ok.rc == 0);
  CHECK(read_json(h / "run" / "run.json")["status"] == "ok");
}

TEST_CASE("hostile: config: a self-loop and a cycle through 1,000 stages") {
  Home h;
  auto r = refused(h, kGenStage + "\n[[stage]]\nid = \"loop\"\nplugin = \"test_sleep\"\ninputs = [\"loop\"]\n");
  CHECK(r.err == "p.toml:5:1: cycle detected: loop -> loop\npipectl: 1 error; nothing was run\n");
  std::string text = kGenStage;
  for (int i = 0; i < 1000; ++i)
    text += "\n[[stage]]\nid = \"s" + std::to_string(i) + "\"\nplugin = \"test_sleep\"\ninputs = [\"" +
            (i == 0 ? std::string("s999") : "s" + std::to_string(i - 1)) + "\"]\n";
  r = refused(h, text);
  CHECK(contains(r.err, "cycle detected: s0 -> s1 -> s2 -> "));
  CHECK(contains(r.err, "s998 -> s999 -> s0\n"));
}

TEST_CASE("hostile: config: 1,000 stages in a chain validate, graph and run") {
  Home h;
  std::string text = "[pipeline]\nname = \"chain\"\n\n" + kGenStage + "rows = 10\n";
  for (int i = 0; i < 1000; ++i)
    text += "\n[[stage]]\nid = \"s" + std::to_string(i) + "\"\nplugin = \"test_sleep\"\nms = 0\ninputs = [\"" +
            (i == 0 ? std::string("gen") : "s" + std::to_string(i - 1)) + "\"]\n";
  h.write("chain.toml", text);
  auto v = h.pipectl("validate chain.toml");
  CHECK(v.rc == 0);
  CHECK(v.out == "chain.toml: ok (1001 stages)\n");
  auto g = h.pipectl("graph chain.toml --format json");
  REQUIRE(g.rc == 0);
  CHECK(json::parse(g.out)["order"].back() == "s999");
  auto r = h.pipectl("run chain.toml -q --jobs 2 --out run");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  auto info = read_json(h / "run" / "run.json");
  CHECK(info["stages"].size() == 1001);
  CHECK(stage_record(info, "s999")["rows_out"] == 10);
  // Again, all from the cache.
  auto again = h.pipectl("run chain.toml -q --out run2");
  REQUIRE(again.rc == 0);
  CHECK(stage_record(read_json(h / "run2" / "run.json"), "s999")["cached"] == true);
}

TEST_CASE("hostile: config: ids that are duplicated or would escape the run folder") {
  Home h;
  auto r = refused(h, kGenStage + kGenStage);
  CHECK(r.err == "p.toml:5:6: duplicate stage id \"gen\" (first defined at p.toml:2:6)\npipectl: 1 error; nothing was run\n");
  for (const char* id : {"../x", "..", ".", "a/b", "/etc", "a b", "\xc3\xa9t\xc3\xa9"}) {
    r = refused(h, std::string("[[stage]]\nid = \"") + id + "\"\nplugin = \"test_gen\"\n");
    CHECK(r.err == std::string("p.toml:2:6: stage id \"") + id +
                       "\" may only contain letters, digits, '_' and '-' (at most 64)\npipectl: 1 error; nothing was run\n");
  }
}

TEST_CASE("hostile: config: the top level holds something else than tables of stages") {
  Home h;
  auto r = refused(h, "stage = 3\n");
  CHECK(r.err == "p.toml:1:1: \"stage\" must be an array of tables: write each stage as [[stage]]\n"
                 "pipectl: 1 error; nothing was run\n");
  r = refused(h, "stage = [1, 2]\n");
  CHECK(contains(r.err, "each [[stage]] must be a table"));
  r = refused(h, "pipeline = 1\n" + kGenStage);
  CHECK(r.err == "p.toml:1:1: \"pipeline\" must be a table\npipectl: 1 error; nothing was run\n");
  r = refused(h, "[pipeline]\nseed = \"x\"\nplugin_path = 3\n" + kGenStage);
  CHECK(contains(r.err, "p.toml:2:8: pipeline \"seed\" must be an integer\n"));
  CHECK(contains(r.err, "p.toml:3:15: pipeline \"plugin_path\" must be a string or a list of strings\n"));
}

TEST_CASE("hostile: config: the pipeline file is missing, a folder, or unreadable") {
  Home h;
  auto r = h.pipectl("run missing.toml --runs-dir runs");
  CHECK(r.rc == 3);
  CHECK(r.err == "error: cannot read pipeline file \"missing.toml\"\n");
  fs::create_directories(h / "dir.toml");
  r = h.pipectl("run dir.toml --runs-dir runs");
  CHECK(r.rc == 3);
  CHECK(r.err == "error: cannot read pipeline file \"dir.toml\" (it is a folder)\n");
  CHECK_FALSE(fs::exists(h / "runs"));
}

TEST_CASE("hostile: config: command-line extremes: --jobs, huge sweeps, a long or escaping pipeline name") {
  Home h;
  h.write("p.toml", kGenStage + "rows = 5\n");
  SUBCASE("--jobs far beyond the stages, or zero") {
    auto r = h.pipectl("run p.toml -q --jobs 100000 --out run");
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(read_json(h / "run" / "run.json")["jobs"] == 100000);
    r = h.pipectl("run p.toml -q --jobs 0 --out run0");
    CHECK(r.rc == 2);
    CHECK(r.err == "pipectl: --jobs must be at least 1\n");
  }
  SUBCASE("a sweep of more than 10,000 runs is refused before anything is validated") {
    std::string many;
    for (int i = 1; i <= 101; ++i) many += (i > 1 ? "," : "") + std::to_string(i);
    auto r = h.pipectl("run p.toml -q --out sweep --set gen.rows=" + many + " --set gen.note=" + many);
    CHECK(r.rc == 2);
    CHECK(r.err == "error: the --set value lists make a sweep of more than 10000 runs; split it into several sweeps\n");
    CHECK_FALSE(fs::exists(h / "sweep"));
  }
  SUBCASE("a 300-character name, and one that looks like a path") {
    h.write("long.toml", "[pipeline]\nname = \"" + std::string(300, 'n') + "\"\n\n" + kGenStage);
    auto r = h.pipectl("run long.toml -q --runs-dir runs");
    CHECK_MESSAGE(r.rc == 0, r.err);
    h.write("esc.toml", "[pipeline]\nname = \"../../escape\"\n\n" + kGenStage);
    r = h.pipectl("run esc.toml -q --runs-dir runs");
    CHECK_MESSAGE(r.rc == 0, r.err);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(h / "runs")) names.push_back(e.path().filename().string());
    REQUIRE(names.size() == 2);
    for (const auto& n : names) {
      CHECK(n.size() < 100);
      CHECK(n.find('/') == std::string::npos);
    }
    CHECK_FALSE(fs::exists(h.path().parent_path() / "escape"));
  }
}

TEST_CASE("hostile: config: the stage graph of a 200,000-stage chain and cycle needs no deep stack") {
  // Boost's depth_first_search keeps its own stack (no recursion), and the
  // topological order is Kahn's algorithm: neither depends on the depth.
  const std::size_t n = 200000;
  std::vector<std::string> names(n);
  for (std::size_t i = 0; i < n; ++i) names[i] = "s" + std::to_string(i);
  pipectl::StageGraph chain(names);
  for (std::size_t i = 1; i < n; ++i) chain.add_edge(i - 1, i);
  CHECK_FALSE(chain.find_cycle());
  const auto order = chain.topo_order();
  REQUIRE(order.size() == n);
  CHECK(order.back() == n - 1);
  pipectl::StageGraph loop = chain;
  loop.add_edge(n - 1, 0);
  const auto cycle = loop.find_cycle();
  REQUIRE(cycle);
  CHECK(cycle->size() == n + 1);
  CHECK(cycle->front() == cycle->back());
  CHECK_THROWS_AS(loop.topo_order(), pipectl::Error);
}

TEST_CASE("hostile: config: strings with quotes and line breaks survive the resolved pipeline.toml") {
  // toml++ printed such strings as multi-line literals it could not read back.
  Home h;
  for (const char* note : {"line 1\\n'''\\nline 3", "\\nstarts with a line break", "ends in quotes''''", "tab\\tcr\\r"}) {
    fs::remove_all(h / "run");
    fs::remove_all(h / "again");
    h.write("p.toml", kGenStage + "note = \"" + note + "\"\n");
    auto r = h.pipectl("run p.toml -q --out run");
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    auto again = h.pipectl("run run/pipeline.toml -q --out again");
    REQUIRE_MESSAGE(again.rc == 0, again.err);
    CHECK(slurp(h / "again" / "pipeline.toml") == slurp(h / "run" / "pipeline.toml"));
    CHECK(read_json(h / "again" / "run.json")["pipeline_hash"] == read_json(h / "run" / "run.json")["pipeline_hash"]);
  }
}
