// `pipectl ingest ...`: the command line of the ingest tool.
#pragma once

#include <atomic>
#include <iosfwd>
#include <string>
#include <vector>

namespace pipectl::ingest {

/// Run `pipectl ingest <args…>` (args = everything after "ingest"); returns
/// the exit code (0 ok, 1 failure, 2 usage, 6 data error, 130 interrupted).
/// Never calls exit(). Summary / help go to stdout, messages and the progress
/// bar to stderr. SIGINT / SIGTERM stop the ingest (no database is written);
/// the previous handlers are restored on return.
int cli_main(const std::vector<std::string>& args);

/// The same, writing to `out` / `err`, stopping when `*interrupt` becomes true
/// (no signal handlers are installed).
int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const std::atomic<bool>* interrupt = nullptr);

}  // namespace pipectl::ingest
