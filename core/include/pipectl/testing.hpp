// An in-memory StageContext for unit tests of stages (no runner needed).
#pragma once

#include <pipectl/plugin.hpp>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace pipectl::testing {

class TestContext : public StageContext {
 public:
  explicit TestContext(std::string id = "stage", Mode mode = Mode::Fit, std::uint64_t seed = 42)
      : id_(std::move(id)), mode_(mode), seed_(seed) {}
  ~TestContext() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  const std::string& stage_id() const override { return id_; }
  Mode mode() const override { return mode_; }
  std::uint64_t seed() const override { return seed_; }
  std::filesystem::path artifact_dir() override {
    if (dir_.empty()) {
      std::random_device rd;
      dir_ = std::filesystem::temp_directory_path() / ("pipectl-test-" + std::to_string(rd()) + "-" + id_);
      std::filesystem::create_directories(dir_);
    }
    return dir_;
  }
  void count(const std::string& key, std::int64_t n) override { counters[key] += n; }
  void metric(const std::string& key, const json& value) override { metrics[key] = value; }
  void measure(const std::string& key, const json& value) override { measures[key] = value; }
  void info(const std::string& msg) override { log.push_back("info: " + msg); }
  void warn(const std::string& msg) override { log.push_back("warn: " + msg); }
  void progress(double) override {}
  bool cancelled() const override { return cancel; }
  int threads() const override { return 1; }
  void report(const std::string& text) override { reports.push_back(text); }

  void set_mode(Mode m) { mode_ = m; }

  std::map<std::string, std::int64_t> counters;
  json metrics = json::object();
  json measures = json::object();
  std::vector<std::string> log;
  std::vector<std::string> reports;
  bool cancel = false;

 private:
  std::string id_;
  Mode mode_;
  std::uint64_t seed_;
  std::filesystem::path dir_;
};

/// Resolve a spec's defaults over the given values (no validation), for tests.
inline Params params_with_defaults(const PluginSpec& spec, json given = json::object()) {
  for (const auto& p : spec.params)
    if (!given.contains(p.name) && !p.default_value.is_null()) given[p.name] = p.default_value;
  return Params(std::move(given));
}

}  // namespace pipectl::testing
