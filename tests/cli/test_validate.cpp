// `pipectl validate` on broken pipelines: exact messages, positions, exit code 3.
#include <doctest/doctest.h>

#include "common.hpp"

using namespace cli_test;

namespace {
struct Case {
  const char* file;
  const char* expected;  // stderr, exactly
};

const Case kCases[] = {
    {"syntax.toml",
     "syntax.toml:4:9: TOML syntax error: Error while parsing table header: expected ']', saw '\\n'\n"
     "pipectl: 1 error; nothing was run\n"},
    {"unknown_plugin.toml",
     "unknown_plugin.toml:3:10: unknown plugin \"test_gne\" for stage \"gen\"; did you mean \"test_gen\"?\n"
     "pipectl: 1 error; nothing was run\n"},
    {"unknown_input.toml",
     "unknown_input.toml:8:11: input \"gne\" of stage \"nap\" doesn't match any stage; did you mean \"gen\"?\n"
     "pipectl: 1 error; nothing was run\n"},
    {"duplicate_id.toml",
     "duplicate_id.toml:6:6: duplicate stage id \"gen\" (first defined at duplicate_id.toml:2:6)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"cycle.toml",
     "cycle.toml:5:1: cycle detected: a -> b -> c -> a\n"
     "pipectl: 1 error; nothing was run\n"},
    {"self_loop.toml",
     "self_loop.toml:5:1: cycle detected: loop -> loop\n"
     "pipectl: 1 error; nothing was run\n"},
    {"unknown_param.toml",
     "unknown_param.toml:4:1: unknown parameter \"rwos\" for plugin \"test_gen\"; did you mean \"rows\"? "
     "(allowed: rows, note, file)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"wrong_type.toml",
     "wrong_type.toml:4:8: parameter \"rows\" of stage \"gen\" expects an integer, got string \"ten\"\n"
     "pipectl: 1 error; nothing was run\n"},
    {"out_of_range.toml",
     "out_of_range.toml:9:6: parameter \"ms\" of stage \"nap\" must be in [0, 600000], got -1\n"
     "pipectl: 1 error; nothing was run\n"},
    {"not_a_choice.toml",
     "not_a_choice.toml:9:8: parameter \"fail\" of stage \"bad\" must be one of \"none\", \"factory\", \"run\", "
     "\"data\", \"lengths\", \"undeclared\", \"missing\", \"nonstd\", got \"sometimes\"\n"
     "pipectl: 1 error; nothing was run\n"},
    {"missing_required.toml",
     "missing_required.toml:10:1: stage \"model\" (plugin \"test_model\") is missing required parameter \"label\"\n"
     "pipectl: 1 error; nothing was run\n"},
    {"missing_column.toml",
     "missing_column.toml:15:9: parameter \"label\" of stage \"model\" (plugin \"test_model\") names column \"label\", which its inputs do not provide (closest: x, k, y)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"missing_split.toml",
     "missing_split.toml:5:1: stage \"model\" (plugin \"test_model\") needs a train/valid/test split, but no "
     "splitter runs upstream\n"
     "pipectl: 1 error; nothing was run\n"},
    {"three_errors.toml",
     "three_errors.toml:8:8: parameter \"rows\" of stage \"gen\" expects an integer, got float 1.5\n"
     "three_errors.toml:12:10: unknown plugin \"test_slep\" for stage \"nap\"; did you mean \"test_sleep\"?\n"
     "three_errors.toml:18:11: input \"gne\" of stage \"model\" doesn't match any stage; did you mean \"gen\"?\n"
     "pipectl: 3 errors; nothing was run\n"},
    {"env_unset.toml",
     "env_unset.toml:4:8: environment variable \"PIPECTL_TEST_SURELY_UNSET\" is not set (in gen.note)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"inputs_not_list.toml",
     "inputs_not_list.toml:8:10: \"inputs\" of stage \"nap\" must be a list of stage ids\n"
     "pipectl: 1 error; nothing was run\n"},
    {"no_plugin.toml",
     "no_plugin.toml:1:1: stage \"gen\" has no \"plugin\"\n"
     "pipectl: 1 error; nothing was run\n"},
    {"no_source.toml",
     "no_source.toml:1:1: stage \"nap\" (plugin \"test_sleep\") needs at least 1 input, got 0\n"
     "no_source.toml:1:1: the pipeline has no source stage (a stage whose plugin takes no inputs)\n"
     "pipectl: 2 errors; nothing was run\n"},
    {"too_many_inputs.toml",
     "too_many_inputs.toml:8:10: stage \"gen2\" (plugin \"test_gen\") takes no inputs, got 1\n"
     "pipectl: 1 error; nothing was run\n"},
    {"empty.toml",
     "empty.toml:1:1: the pipeline has no stages (add [[stage]] tables)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"bad_id.toml",
     "bad_id.toml:2:6: stage id \"../escape\" may only contain letters, digits, '_' and '-' (at most 64)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"unknown_top_level.toml",
     "unknown_top_level.toml:1:2: unknown top-level key \"pipelines\" (allowed: pipeline, stage)\n"
     "pipectl: 1 error; nothing was run\n"},
    // Schemas: each mistake found before any row is read (the source's file does not even exist).
    {"selector_wrong_type.toml",
     "selector_wrong_type.toml:19:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") selects columns of the wrong type: kind (categorical), maker (categorical); it takes numeric (float64 or int64) columns\n"
     "pipectl: 1 error; nothing was run\n"},
    {"selector_no_match.toml",
     "selector_no_match.toml:19:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") pattern \"http_*\" matches no column of its inputs\n"
     "pipectl: 1 error; nothing was run\n"},
    {"selector_empty.toml",
     "selector_empty.toml:19:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") selects no column: the list is empty\n"
     "pipectl: 1 error; nothing was run\n"},
    {"normalise_categorical.toml",
     "normalise_categorical.toml:19:11: parameter \"columns\" of stage \"scale\" (plugin \"normaliser\") selects a column of the wrong type: maker (categorical); it takes numeric (float64 or int64) columns\n"
     "pipectl: 1 error; nothing was run\n"},
    {"label_default.toml",
     "label_default.toml:15:1: parameter \"label\" of stage \"train\" (plugin \"xgboost\") names column \"is_iot\", which its inputs do not provide (closest: kind, bytes, maker, packets)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"label_misspelt.toml",
     "label_misspelt.toml:25:9: parameter \"label\" of stage \"evaluate\" (plugin \"evaluator\") names column \"knid\", which its inputs do not provide (closest: kind, bytes, maker, packets, pred_label)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"eta_zero.toml",
     "eta_zero.toml:20:7: parameter \"eta\" of stage \"train\" must be in (0, 1], got 0\n"
     "pipectl: 1 error; nothing was run\n"},
    {"selector_bad_key.toml",
     "selector_bad_key.toml:19:11: parameter \"columns\" of stage \"scale\" unknown selector key \"kind\" (allowed: type, role, pattern, exclude)\n"
     "pipectl: 1 error; nothing was run\n"},
    {"split_sum.toml",
     "split_sum.toml:14:9: parameter \"valid\" of stage \"split\" (plugin \"splitter\") train + valid + test must sum to 1, got 0.7 + 0.2 + 0.15 = 1.05\n"
     "pipectl: 1 error; nothing was run\n"},
    {"cleaner_missing.toml",
     "cleaner_missing.toml:18:17: parameter \"duration_from\" of stage \"clean\" (plugin \"cleaner\") names column \"start\", which its inputs do not provide (closest: bytes, kind, maker, packets)\n"
     "cleaner_missing.toml:18:17: parameter \"duration_from\" of stage \"clean\" (plugin \"cleaner\") names column \"end\", which its inputs do not provide (closest: kind, bytes, maker, packets)\n"
     "cleaner_missing.toml:19:9: parameter \"ports\" of stage \"clean\" (plugin \"cleaner\") names column \"src_port\", which its inputs do not provide (closest: maker, packets, bytes, kind)\n"
     "cleaner_missing.toml:20:16: parameter \"non_negative\" of stage \"clean\" (plugin \"cleaner\") names column \"octets\", which its inputs do not provide (closest: bytes, packets, maker, kind)\n"
     "pipectl: 4 errors; nothing was run\n"},
};
}  // namespace

TEST_CASE("validate reports every error of a broken pipeline with its position") {
  for (const auto& c : kCases) {
    SUBCASE(c.file) {
      auto r = run_pipectl(std::string("validate ") + c.file, FIXTURES_GOOD, kBroken);
      CHECK(r.rc == 3);
      CHECK(r.out == "");
      CHECK(r.err == c.expected);
    }
  }
}

TEST_CASE("run refuses an invalid pipeline before running anything") {
  TempDir t;
  auto r = run_pipectl("run " + kBroken + "/three_errors.toml --runs-dir " + quote((t / "runs").string()));
  CHECK(r.rc == 3);
  CHECK(r.err.find("pipectl: 3 errors; nothing was run") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(t / "runs"));
}

TEST_CASE("--set overrides are validated like file values") {
  SUBCASE("a bad value") {
    auto r = run_pipectl("validate " + kGood + "/fanout.toml --set gen.rows=-3");
    CHECK(r.rc == 3);
    CHECK(r.err == "--set gen.rows: parameter \"rows\" of stage \"gen\" must be in [0, 1e+09], got -3\n"
                   "pipectl: 1 error; nothing was run\n");
  }
  SUBCASE("an unknown stage") {
    auto r = run_pipectl("validate " + kGood + "/fanout.toml --set gne.rows=3");
    CHECK(r.rc == 3);
    CHECK(r.err == "--set gne.rows: no stage \"gne\"; did you mean \"gen\"?\n"
                   "pipectl: 1 error; nothing was run\n");
  }
  SUBCASE("malformed") {
    auto r = run_pipectl("validate " + kGood + "/fanout.toml --set rows=3");
    CHECK(r.rc == 2);
    CHECK(r.err == "error: --set expects STAGE.KEY=VALUE, got \"rows=3\"\n");
  }
  SUBCASE("a good value") {
    auto r = run_pipectl("validate " + kGood + "/fanout.toml --set gen.rows=5");
    CHECK(r.rc == 0);
  }
}

TEST_CASE("environment variables with defaults") {
  auto r = sh("PIPECTL_PLUGIN_PATH=" + quote(FIXTURES_GOOD) + " PIPECTL_TEST_ROWS_NOTE=hello " + quote(kBin) +
              " validate " + quote(kGood + "/fanout.toml"));
  CHECK(r.rc == 0);
  CHECK(r.out.find("fanout.toml: ok (4 stages)") != std::string::npos);
}
