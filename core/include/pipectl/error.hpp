// Errors with context. The library never calls exit(): it throws one of
// these, and the CLI maps each kind to a documented exit code.
#pragma once

#include <pipectl/export.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace pipectl {

/// Process exit codes, documented in the README and `pipectl --help`.
enum class ExitCode : int {
  Ok = 0,
  Failure = 1,        ///< anything not covered below (I/O on the run folder…)
  Usage = 2,          ///< bad command line
  ConfigInvalid = 3,  ///< the pipeline file does not validate
  PluginLoad = 4,     ///< a plugin the pipeline needs could not be loaded
  StageFailed = 5,    ///< a stage threw or broke its contract while running
  DataError = 6,      ///< the input data is unusable (missing table, bad values…)
  WorkerLost = 7,     ///< a distributed run lost a worker (collective failed)
  Interrupted = 130,  ///< SIGINT / SIGTERM
};

/// A place in a file: 1-based line and column; line 0 = no position.
struct PIPECTL_API SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;  ///< "file:line:column" (or "file" / "")
};

/// One validation finding.
struct PIPECTL_API Diagnostic {
  SourcePos where;
  std::string message;
  std::string str() const;  ///< "file:line:column: message"
};

class PIPECTL_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ExitCode code = ExitCode::Failure)
      : std::runtime_error(what), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// The pipeline file is invalid; carries every finding at once.
class PIPECTL_API ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diags);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

/// Bad input data: thrown by stages; names the column and first bad row.
class PIPECTL_API DataError : public Error {
 public:
  explicit DataError(const std::string& what) : Error(what, ExitCode::DataError) {}
};

class PIPECTL_API PluginLoadError : public Error {
 public:
  explicit PluginLoadError(const std::string& what) : Error(what, ExitCode::PluginLoad) {}
};

/// A stage failed; the message names stage id and plugin.
class PIPECTL_API StageError : public Error {
 public:
  StageError(std::string stage, std::string plugin, const std::string& cause,
             ExitCode code = ExitCode::StageFailed);
  const std::string& stage() const noexcept { return stage_; }
  const std::string& plugin() const noexcept { return plugin_; }
  const std::string& cause() const noexcept { return cause_; }

 private:
  std::string stage_, plugin_, cause_;
};

/// Run was interrupted by a signal.
class PIPECTL_API Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& what) : Error(what, ExitCode::Interrupted) {}
};

}  // namespace pipectl
