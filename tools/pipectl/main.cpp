// pipectl: run, validate and inspect TOML pipelines of plugin stages.
#include "commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace pipectl::cli;

static const char* kUsage =
    "usage: pipectl <command> [options]\n"
    "\n"
    "commands:\n"
    "  run PIPELINE        run a pipeline (fit every learning stage on the training rows);\n"
    "                      --set STAGE.KEY=a,b,c sweeps: every combination is a run\n"
    "  validate PIPELINE   check a pipeline without running it\n"
    "  graph PIPELINE      print the stage graph (text, dot, mermaid, json)\n"
    "  plugins list        list the plugins found\n"
    "  plugins describe N  a plugin's kind, columns and parameters\n"
    "  schema              JSON Schema of pipeline files\n"
    "  status PIPELINE     which stages are cached, which would run, and why\n"
    "  cache prune|info    empty the stage cache / show its size\n"
    "  runs list|show|diff the run history (parameters and metrics side by side)\n"
    "  compare PIPELINE    run, then compare every model: table + HTML report with ROC/PR curves\n"
    "  cv PIPELINE         k-fold cross-validation by the pipeline's splitter (--folds K): per-fold metrics,\n"
    "                      mean ± std (cv.json); the stages before the splitter run once\n"
    "  report RUN_DIR      (re)build the comparison report of a finished run\n"
    "  ingest pcap IN...   packet captures -> a NetCollector database (--out DB [--devices FILE])\n"
    "  predict RUN_DIR     apply a fitted run to new sessions (--input FILE, --by session|device)\n"
    "  worker PIPELINE     one worker of a distributed run (--tracker HOST:PORT --rank R --world N)\n"
    "  tracker             the tracker of a distributed run over several machines (--workers N)\n"
    "\n"
    "options: --help (also after a command), --version\n"
    "\n"
    "exit codes: 0 ok, 1 other failure, 2 usage, 3 pipeline invalid, 4 plugin load failure,\n"
    "            5 stage failed, 6 data error, 7 a worker of a distributed run was lost, 130 interrupted\n";

int main(int argc, char** argv) {
  // OMP_WAIT_POLICY=PASSIVE unless the user set it (may execute pipectl again; see wait_policy.cpp).
  ensure_passive_openmp_wait(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") return cmd_version();
  return dispatch(cmd, rest, kUsage);
}
