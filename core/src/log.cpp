#include <pipectl/log.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>

namespace pipectl {

static const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "?";
}

static std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

Logger::Logger(LogLevel terminal_level, LogFormat format)
    : level_(terminal_level), format_(format), tty_(::isatty(STDERR_FILENO) != 0) {}

void Logger::open_file(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  file_.open(path, std::ios::app);
}

void Logger::close_file() {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_.is_open()) file_.close();
}

void Logger::log(LogLevel l, const std::string& stage, const std::string& msg, const json& fields) {
  std::lock_guard<std::mutex> lk(mu_);
  const auto ts = utc_now();
  json j = {{"time", ts}, {"level", level_name(l)}};
  if (!stage.empty()) j["stage"] = stage;
  j["message"] = msg;
  for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  for (auto it = prefix_fields_.begin(); it != prefix_fields_.end(); ++it) j[it.key()] = it.value();
  std::string text = (stage.empty() ? "" : "[" + stage + "] ") + msg;
  if (l == LogLevel::Warn) text = "warning: " + text;
  if (l == LogLevel::Error) text = "error: " + text;
  if (file_.is_open()) file_ << ts << " " << level_name(l) << " " << text << "\n" << std::flush;
  if (l < level_) return;
  if (bar_shown_) {
    std::fputs("\r\033[K", stderr);
    bar_shown_ = false;
  }
  if (format_ == LogFormat::Json) std::fprintf(stderr, "%s\n", j.dump().c_str());
  else std::fprintf(stderr, "%s%s\n", prefix_.c_str(), text.c_str());
}

void Logger::to_file(LogLevel l, const std::string& msg) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_.is_open()) file_ << utc_now() << " " << level_name(l) << " " << msg << "\n" << std::flush;
}

void Logger::progress(const std::string& stage, double fraction) {
  if (!tty_ || format_ != LogFormat::Text || level_ > LogLevel::Info) return;
  std::lock_guard<std::mutex> lk(mu_);
  fraction = std::fmin(1.0, std::fmax(0.0, fraction));
  const int width = 30, fill = static_cast<int>(std::lround(fraction * width));
  std::string bar(static_cast<std::size_t>(fill), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r\033[K[%s] [%s] %3d%%", stage.c_str(), bar.c_str(), static_cast<int>(fraction * 100));
  std::fflush(stderr);
  bar_shown_ = true;
}

}  // namespace pipectl
