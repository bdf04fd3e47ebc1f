// Hostile plugins: libraries that are no plugin or of another ABI are refused
// at load time naming the file; a plugin that throws, returns an inconsistent
// table or breaks its declaration fails its stage with a message naming the
// stage and the plugin (exit 5), and the run folder is `<out>.failed`.
#include "common.hpp"

using namespace hostile;

namespace {

const std::string kChain =
    "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\nrows = 50\n\n"
    "[[stage]]\nid = \"bad\"\nplugin = \"test_hostile\"\ninputs = [\"gen\"]\n";

const std::string kPaths = kGood + ":" + kHostile;

/// Run the chain gen -> bad (test_hostile with how = `how`).
CmdResult chain(const Home& h, const std::string& how) {
  h.write("p.toml", kChain);
  return h.pipectl("run p.toml -q --out run --set bad.how=" + how, kPaths);
}

}  // namespace

TEST_CASE("hostile: plugins: throwing in the factory, mid-run, or something that is no exception") {
  const std::string fixture = kSource + "/tests/pipelines/good/fanout.toml --set left.ms=0 --set right.ms=0";
  struct Case {
    const char* how;
    int rc;
    const char* message;
  };
  const Case cases[] = {
      {"factory", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: could not create the stage: refusing to be created\n"},
      {"run", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: boom in the middle of the run\n"},
      {"nonstd", 5, "error: stage \"bad\" (plugin \"test_misbehave\") failed: unknown exception\n"},
      {"data", 6, "error: stage \"bad\" (plugin \"test_misbehave\") failed: column \"x\": negative value -1 at row 3\n"},
  };
  for (const auto& c : cases) {
    SUBCASE(c.how) {
      Home h;
      auto r = h.pipectl("run " + fixture + " -q --out run --set bad.fail=" + c.how);
      CHECK(r.rc == c.rc);
      CHECK(r.err == c.message);
      check_failed_run(h / "run");
      auto info = read_json(h / "run.failed" / "run.json");
      CHECK(stage_record(info, "bad")["status"] == "failed");
      CHECK(stage_record(info, "bad")["error"] == std::string(c.message).substr(7, std::string(c.message).size() - 8));
      CHECK(cache_tmp_empty(h));
    }
  }
}

TEST_CASE("hostile: plugins: tables of mismatched lengths, undeclared, duplicated, null or out-of-dictionary columns") {
  const std::string fixture = kSource + "/tests/pipelines/good/fanout.toml --set left.ms=0 --set right.ms=0";
  SUBCASE("lengths") {
    Home h;
    auto r = h.pipectl("run " + fixture + " -q --out run --set bad.fail=lengths");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_misbehave\") failed: returned an inconsistent table: column "
                   "\"short\" has 2501 rows, expected 5000\n");
    check_failed_run(h / "run");
  }
  SUBCASE("undeclared") {
    Home h;
    auto r = h.pipectl("run " + fixture + " -q --out run --set bad.fail=undeclared");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_misbehave\") failed: returned column \"surprise\" that it did not declare\n");
    check_failed_run(h / "run");
  }
  SUBCASE("a declared column missing") {
    Home h;
    auto r = h.pipectl("run " + fixture + " -q --out run --set bad.fail=missing");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_misbehave\") failed: did not return column \"x\" that it declares it makes\n");
    check_failed_run(h / "run");
  }
  SUBCASE("codes outside the dictionary") {
    Home h;
    auto r = chain(h, "bad_codes");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_hostile\") failed: returned an inconsistent table: column \"cat\": "
                   "code 7 at position 0 outside dictionary of 1\n");
    check_failed_run(h / "run");
  }
  SUBCASE("the same column twice") {
    Home h;
    auto r = chain(h, "duplicate");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_hostile\") failed: returned an inconsistent table: column \"x\" appears twice\n");
    check_failed_run(h / "run");
  }
  SUBCASE("a null column") {
    Home h;
    auto r = chain(h, "null_column");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_hostile\") failed: returned an inconsistent table: column 4 is "
                   "missing (a null column pointer)\n");
    check_failed_run(h / "run");
  }
  SUBCASE("a factory that returns no stage") {
    Home h;
    auto r = chain(h, "null_factory");
    CHECK(r.rc == 5);
    CHECK(r.err == "error: stage \"bad\" (plugin \"test_hostile\") failed: could not create the stage: the factory returned no stage\n");
    check_failed_run(h / "run");
  }
  SUBCASE("an error message of a megabyte is shortened") {
    Home h;
    auto r = chain(h, "long_message");
    CHECK(r.rc == 5);
    CHECK(contains(r.err, "error: stage \"bad\" (plugin \"test_hostile\") failed: zzzz"));
    CHECK(r.err.size() < 5000);
    CHECK(contains(r.err, "(1048576 bytes of message, shortened)"));
    check_failed_run(h / "run");
  }
}

TEST_CASE("hostile: plugins: a contract that throws is a validation error, not a crash") {
  Home h;
  h.write("p.toml", kChain);
  auto r = h.pipectl("validate p.toml --set bad.how=contract", kPaths);
  CHECK(r.rc == 3);
  CHECK(r.err == "p.toml:6:1: stage \"bad\": the contract cannot be computed\npipectl: 1 error; nothing was run\n");
  r = h.pipectl("validate p.toml --set bad.how=contract_nonstd", kPaths);
  CHECK(r.rc == 3);
  CHECK(r.err == "p.toml:6:1: stage \"bad\": its plugin's schema rule threw an unknown exception\npipectl: 1 error; nothing was run\n");
  auto d = h.pipectl("plugins describe test_hostile", kPaths);
  CHECK(d.rc == 0);
}

TEST_CASE("hostile: plugins: libraries the loader refuses, naming the file and why") {
  Home h;
  auto r = h.pipectl("plugins list", kGood + ":" + kRefused + ":" + kBad);
  CHECK(r.rc == 0);
  CHECK(contains(r.out, "test_gen"));
  CHECK(contains(r.err, "warning: plugin \"" + kRefused + "/pipectl_test_spec_throws.so\" (\"spec_throws\") refused: its spec() threw: cannot describe myself\n"));
  CHECK(contains(r.err, "warning: plugin \"" + kRefused + "/pipectl_test_spec_throws_nonstd.so\" (\"spec_throws_nonstd\") refused: its spec() threw an unknown exception\n"));
  CHECK(contains(r.err, "warning: plugin \"" + kRefused + "/pipectl_test_null_name.so\" refused: its descriptor has no name\n"));
  CHECK(contains(r.err, "warning: file \"" + kRefused + "/pipectl_test_bad_magic.so\" is not a pipectl plugin (bad descriptor magic)\n"));
  CHECK(contains(r.err, "warning: file \"" + kRefused + "/pipectl_test_undefined_symbol.so\" could not be loaded: "));
  CHECK(contains(r.err, "undefined symbol: pipectl_test_function_nobody_defines"));
  CHECK(contains(r.err, "warning: plugin \"" + kBad + "/pipectl_test_wrong_abi.so\" (\"wrong_abi\") refused: plugin ABI version 999, host 4; built with gcc-4"));
  CHECK(contains(r.err, "warning: file \"" + kBad + "/not_a_plugin.so\" is not a pipectl plugin (no \"pipectl_plugin\" descriptor)\n"));
  SUBCASE("a pipeline that needs a refused plugin stops with exit 4, naming it") {
    h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"s\"\nplugin = \"spec_throws\"\ninputs = [\"gen\"]\n");
    auto v = h.pipectl("run p.toml --runs-dir runs", kGood + ":" + kRefused);
    CHECK(v.rc == 4);
    CHECK(contains(v.err, "error: plugin \"" + kRefused + "/pipectl_test_spec_throws.so\" (\"spec_throws\") refused: its spec() threw: cannot describe myself\n"));
    CHECK_FALSE(fs::exists(h / "runs"));
  }
  SUBCASE("wrong ABI") {
    h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"w\"\nplugin = \"wrong_abi\"\ninputs = [\"gen\"]\n");
    auto v = h.pipectl("run p.toml --runs-dir runs", kGood + ":" + kBad);
    CHECK(v.rc == 4);
    CHECK(contains(v.err, "error: plugin \"" + kBad + "/pipectl_test_wrong_abi.so\" (\"wrong_abi\") refused: plugin ABI version 999, host 4"));
    CHECK_FALSE(fs::exists(h / "runs"));
  }
}

TEST_CASE("hostile: plugins: a valid library of another kind, and a file that is no library, in a plugin folder") {
  Home h;
  const auto dir = h / "plugins";
  fs::create_directories(dir);
  fs::copy_file(kBad + "/not_a_plugin.so", dir / "libother.so");
  // A system library: valid, loadable, no descriptor.
  for (const char* lib : {"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "/lib/x86_64-linux-gnu/libsqlite3.so.0"})
    if (fs::exists(lib)) {
      fs::copy_file(lib, dir / "libsqlite3.so", fs::copy_options::overwrite_existing);
      break;
    }
  h.write("plugins/garbage.so", "this is not an ELF file\n");
  h.write("plugins/empty.so", "");
  auto r = h.pipectl("plugins list", kGood + ":" + dir.string());
  CHECK(r.rc == 0);
  CHECK(contains(r.out, "test_gen"));
  CHECK(contains(r.err, "warning: file \"" + (dir / "libother.so").string() + "\" is not a pipectl plugin (no \"pipectl_plugin\" descriptor)\n"));
  if (fs::exists(dir / "libsqlite3.so"))
    CHECK(contains(r.err, "warning: file \"" + (dir / "libsqlite3.so").string() + "\" is not a pipectl plugin (no \"pipectl_plugin\" descriptor)\n"));
  CHECK(contains(r.err, "warning: file \"" + (dir / "garbage.so").string() + "\" could not be loaded: "));
  CHECK(contains(r.err, "warning: file \"" + (dir / "empty.so").string() + "\" could not be loaded: "));
  // Pipelines that do not need them still run.
  h.write("p.toml", "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n");
  auto run = h.pipectl("run p.toml -q --out run", kGood + ":" + dir.string());
  CHECK(run.rc == 0);
}
