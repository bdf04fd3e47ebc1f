// Interrupts: SIGINT or SIGTERM while a stage runs — a fixture that sleeps,
// the sqlite source reading a big database, XGBoost training — ends the run
// within a second with "interrupted by a signal" and exit 130; the run folder
// is `<out>.failed`, the cache holds only complete entries (tmp/ is empty),
// and the next run works. A stage that ignores cancellation cannot keep
// pipectl alive: a second signal, or the grace period, ends it at once.
#include "common.hpp"

#include <chrono>

using namespace hostile;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double kPromptly = 2.5;  // seconds; sanitizers slow every stage down
#else
constexpr double kPromptly = 1.0;
#endif

struct Interrupted {
  CmdResult r;
  double secs = -1;  // from the signal to the exit
};

/// Start `pipectl run ARGS --out run` in the home, wait until its log shows
/// `started`, wait `delay` more seconds, send `sig` (and `again` later, if
/// not empty), and measure how long pipectl takes to exit.
Interrupted interrupt_run(const Home& h, const std::string& args, const std::string& started, const char* sig,
                          double delay, const std::string& plugin_path = FIXTURES_GOOD, const std::string& env = "",
                          const std::string& again = "") {
  const std::string log = (h / ".run.partial" / "log.txt").string();
  const std::string stats = (h / "stats.txt").string();
  std::string script = env + " PIPECTL_PLUGIN_PATH=" + quote(plugin_path) + " PIPECTL_CACHE_DIR=" +
                       quote(h.cache().string()) + " PIPECTL_HISTORY=" + quote((h / "history.sqlite").string()) + " " +
                       quote(kBin) + " run " + args + " --out run & pid=$!; i=0; while [ $i -lt 1200 ] && ! grep -qF " +
                       quote(started) + " " + quote(log) + " 2>/dev/null; do sleep 0.05; i=$((i+1)); done; sleep " +
                       std::to_string(delay) + "; t0=$(date +%s%N); kill -" + sig + " $pid; " +
                       (again.empty() ? "" : "sleep 0.3; kill -" + again + " $pid; ") +
                       "wait $pid; rc=$?; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )) > " + quote(stats) +
                       "; exit $rc";
  Interrupted out;
  out.r = sh(script, h.path());
  const auto ms = slurp(stats);
  if (!ms.empty()) out.secs = std::stod(ms) / 1000.0;
  return out;
}

/// Every cache entry is complete; nothing is left in tmp/.
void cache_is_sound(const Home& h) {
  CHECK(cache_tmp_empty(h));
  if (!fs::exists(h.cache())) return;
  for (const auto& shard : fs::directory_iterator(h.cache())) {
    const auto name = shard.path().filename().string();
    if (name == "tmp" || name == "index") continue;
    for (const auto& e : fs::directory_iterator(shard.path())) {
      CHECK_MESSAGE(fs::exists(e.path() / "record.json"), e.path());
      CHECK_MESSAGE(fs::exists(e.path() / "table.bin"), e.path());
      CHECK_NOTHROW(read_json(e.path() / "record.json"));
    }
  }
}

void interrupted_cleanly(const Home& h, const Interrupted& x, const std::string& stage) {
  CHECK(x.r.rc == 130);
  CHECK_MESSAGE(x.secs >= 0, x.r.err);
  CHECK_MESSAGE(x.secs < kPromptly, "took " << x.secs << " s");
  CHECK_MESSAGE(contains(x.r.err, "error: interrupted by a signal\n"), x.r.err);
  check_failed_run(h / "run");
  auto info = read_json(h / "run.failed" / "run.json");
  CHECK(stage_record(info, stage)["status"] == "interrupted");
  cache_is_sound(h);
}

const std::string kFanout = kSource + "/tests/pipelines/good/fanout.toml";

}  // namespace

TEST_CASE("hostile: interrupt: SIGINT or SIGTERM while a stage sleeps") {
  for (const char* sig : {"INT", "TERM"}) {
    SUBCASE(sig) {
      Home h;
      auto x = interrupt_run(h, kFanout + " -q --set left.ms=60000 --set right.ms=60000", "started (test_sleep)", sig, 0.3);
      interrupted_cleanly(h, x, "left");
      // The source finished before the signal: cached, and the next run works.
      auto next = h.pipectl("run " + kFanout + " -q --set left.ms=0 --set right.ms=0 --out run");
      CHECK_MESSAGE(next.rc == 0, next.err);
      CHECK(stage_record(read_json(h / "run" / "run.json"), "gen")["cached"] == true);
    }
  }
}

TEST_CASE("hostile: interrupt: SIGINT while the sqlite source reads a big database") {
  Home h;
  const auto db = copy_db(h, "big.sqlite", 3000000);
  auto x = interrupt_run(h, kHere + "/clean.toml -q --no-cache", "started (sqlite)", "INT", 0.3, kGood,
                         "PIPECTL_DB=" + quote(db));
  interrupted_cleanly(h, x, "source");
  CHECK(contains(read_json(h / "run.failed" / "run.json").dump(), "cancelled while reading"));
  fs::remove_all(h / "run.failed");
  auto next = h.pipectl("run " + kHere + "/clean.toml -q --no-cache --out run", kGood, "PIPECTL_DB=" + quote(db));
  CHECK_MESSAGE(next.rc == 0, next.err);
}

TEST_CASE("hostile: interrupt: SIGINT during XGBoost training with a million rounds") {
  Home h;
  const auto db = copy_db(h);
  const std::string args = kPipelines + "/iot.toml -q --set source.path=" + quote(db);
  auto x = interrupt_run(h, args + " --set train.num_round=1000000 --set train.early_stopping_rounds=0",
                         "started (xgboost)", "INT", 0.5);
  interrupted_cleanly(h, x, "train");
  auto next = h.pipectl("run " + args + " --out run");
  CHECK_MESSAGE(next.rc == 0, next.err);
  auto info = read_json(h / "run" / "run.json");
  for (const char* s : {"source", "clean", "split", "normalise", "categories", "dns"})
    CHECK_MESSAGE(stage_record(info, s)["cached"] == true, s);
  CHECK(stage_record(info, "train")["cached"] == false);
}

TEST_CASE("hostile: interrupt: a stage that ignores cancellation cannot keep pipectl alive") {
  const std::string chain =
      "[[stage]]\nid = \"gen\"\nplugin = \"test_gen\"\n\n[[stage]]\nid = \"stuck\"\nplugin = \"test_hostile\"\n"
      "inputs = [\"gen\"]\nhow = \"spin\"\n";
  SUBCASE("a second signal ends it at once") {
    Home h;
    h.write("p.toml", chain);
    auto x = interrupt_run(h, "p.toml -q", "started (test_hostile)", "INT", 0.2, kGood + ":" + kHostile, "", "INT");
    CHECK(x.r.rc == 130);
    CHECK(x.secs < 0.3 + kPromptly);
    CHECK(contains(x.r.err, "error: interrupted again; exiting at once\n"));
    CHECK_FALSE(fs::exists(h / "run"));  // nothing looks finished
    CHECK(cache_tmp_empty(h));
    auto next = h.pipectl("run p.toml -q --out run --set stuck.how=none", kGood + ":" + kHostile);
    CHECK_MESSAGE(next.rc == 0, next.err);
  }
  SUBCASE("or the grace period after the first") {
    Home h;
    h.write("p.toml", chain);
    auto x = interrupt_run(h, "p.toml -q", "started (test_hostile)", "TERM", 0.2, kGood + ":" + kHostile);
    CHECK(x.r.rc == 130);
    CHECK(x.secs > 2.5);
    CHECK(x.secs < 3 + kPromptly);
    CHECK(contains(x.r.err, "error: interrupted by a signal, and a stage did not stop within 3 s; exiting at once\n"));
    CHECK_FALSE(fs::exists(h / "run"));
  }
}
