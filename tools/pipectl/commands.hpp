// The pipectl commands. Each returns the process exit code.
#pragma once

#include <pipectl/error.hpp>

#include <string>
#include <vector>

namespace pipectl::cli {

using Args = std::vector<std::string>;

int dispatch(const std::string& cmd, const Args& args, const char* usage);
int cmd_version();
int cmd_run(const Args& args);
int cmd_validate(const Args& args);
int cmd_graph(const Args& args);
int cmd_plugins(const Args& args);
int cmd_schema(const Args& args);

/// Print an error the way every command does, return its exit code.
int report_error(const std::exception& e);

}  // namespace pipectl::cli
