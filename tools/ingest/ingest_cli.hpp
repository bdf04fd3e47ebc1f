// `pipectl ingest ...`: the command line of the ingest tool.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace pipectl::ingest {

/// Run `pipectl ingest <args…>` (args = everything after "ingest"); returns
/// the exit code (0 ok, 1 failure, 2 usage, 6 data error). Never calls exit().
int cli_main(const std::vector<std::string>& args);

/// The same, writing the summary / help to `out` and messages / progress to `err`.
int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace pipectl::ingest
