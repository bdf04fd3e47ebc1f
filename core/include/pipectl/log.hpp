// Run log: one line per event, to the terminal (text or JSON lines) and to
// the run folder's log file. Thread-safe.
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/param.hpp>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

namespace pipectl {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class LogFormat { Text, Json };

class PIPECTL_API Logger {
 public:
  Logger(LogLevel terminal_level = LogLevel::Info, LogFormat format = LogFormat::Text);
  void set_level(LogLevel l) { level_ = l; }
  void set_format(LogFormat f) { format_ = f; }
  LogLevel level() const { return level_; }
  LogFormat format() const { return format_; }
  /// Put before every terminal line (e.g. "worker 1/3: "); also a "worker" field in JSON.
  void set_prefix(std::string prefix, json fields = json::object()) {
    prefix_ = std::move(prefix);
    prefix_fields_ = std::move(fields);
  }
  /// Also append every event (all levels) to this file.
  void open_file(const std::string& path);
  void close_file();

  void log(LogLevel l, const std::string& stage, const std::string& msg, const json& fields = json::object());
  /// Only into the log file.
  void to_file(LogLevel l, const std::string& msg);
  void info(const std::string& msg) { log(LogLevel::Info, "", msg); }
  void warn(const std::string& msg) { log(LogLevel::Warn, "", msg); }
  void error(const std::string& msg) { log(LogLevel::Error, "", msg); }
  /// Progress bar line on a terminal (no-op when stderr is not a TTY or output is quiet).
  void progress(const std::string& stage, double fraction);

 private:
  std::mutex mu_;
  LogLevel level_;
  LogFormat format_;
  std::ofstream file_;
  bool tty_;
  bool bar_shown_ = false;
  std::string prefix_;
  json prefix_fields_ = json::object();
};

}  // namespace pipectl
