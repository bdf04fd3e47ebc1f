#include <pipectl/error.hpp>

namespace pipectl {

std::string SourcePos::str() const {
  if (file.empty()) return "";
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::str() const {
  auto w = where.str();
  return w.empty() ? message : w + ": " + message;
}

static std::string join_diags(const std::vector<Diagnostic>& d) {
  std::string s;
  for (const auto& x : d) {
    if (!s.empty()) s += "\n";
    s += x.str();
  }
  return s;
}

ConfigError::ConfigError(std::vector<Diagnostic> diags)
    : Error(join_diags(diags), ExitCode::ConfigInvalid), diags_(std::move(diags)) {}

StageError::StageError(std::string stage, std::string plugin, const std::string& cause, ExitCode code)
    : Error("stage \"" + stage + "\" (plugin \"" + plugin + "\") failed: " + cause, code),
      stage_(std::move(stage)),
      plugin_(std::move(plugin)),
      cause_(cause) {}

}  // namespace pipectl
