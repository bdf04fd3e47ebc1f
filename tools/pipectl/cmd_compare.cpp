// pipectl compare PIPELINE: run, then compare every model side by side.
// pipectl report RUN_DIR: (re)build that comparison for a finished run.
#include "commands.hpp"

#include "compare_report.hpp"

#include <cstdio>

namespace pipectl::cli {

namespace {
int report_for(const std::filesystem::path& dir) {
  auto rep = report::build_compare(dir);
  report::write_compare(rep, dir / "report");
  std::printf("\n%s\nreport: %s (and compare.md, compare.json)\n", report::markdown_table(rep).c_str(),
              (dir / "report" / "compare.html").string().c_str());
  return 0;
}
}  // namespace

int cmd_compare(const Args& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: pipectl compare PIPELINE [run options]\n\n"
          "Runs the pipeline (same options as `pipectl run`), then writes a side-by-side comparison of every\n"
          "model its evaluators scored — ROC AUC, PR AUC, F1, accuracy, log loss, training time, prediction\n"
          "throughput, model size — as <run>/report/compare.md, compare.json and a self-contained\n"
          "compare.html with ROC and precision-recall curves (drawn by gnuplot), and prints the table.\n");
      return 0;
    }
  std::vector<std::filesystem::path> dirs;
  int rc = cmd_run(args, &dirs);
  if (rc != 0) return rc;
  try {
    for (const auto& d : dirs) report_for(d);
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

int cmd_report(const Args& args) {
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h") {
    std::FILE* f = args.size() == 1 ? stdout : stderr;
    std::fprintf(f, "usage: pipectl report RUN_DIR   (writes RUN_DIR/report/compare.{md,json,html})\n");
    return args.size() == 1 ? 0 : code(ExitCode::Usage);
  }
  try {
    return report_for(args[0]);
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

}  // namespace pipectl::cli
