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

// A plugin's message goes to the terminal, the log and run.json: keep it
// readable when a plugin throws a megabyte.
static std::string shortened(const std::string& cause) {
  constexpr std::size_t kMax = 2000;
  if (cause.size() <= kMax) return cause;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(cause[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return cause.substr(0, cut) + "... (" + std::to_string(cause.size()) + " bytes of message, shortened)";
}

StageError::StageError(std::string stage, std::string plugin, const std::string& cause, ExitCode code)
    : Error("stage \"" + stage + "\" (plugin \"" + plugin + "\") failed: " + shortened(cause), code),
      stage_(std::move(stage)),
      plugin_(std::move(plugin)),
      cause_(shortened(cause)) {}

}  // namespace pipectl
