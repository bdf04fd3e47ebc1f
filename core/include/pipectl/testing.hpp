// An in-memory StageContext for unit tests of stages (no runner needed).
#pragma once

#include <pipectl/plugin.hpp>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <map>
#include <random>
#include <algorithm>
#include <cstring>
#include <exception>
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
  Collective& collective() override { return coll ? *coll : local_collective(); }

  void set_mode(Mode m) { mode_ = m; }

  std::map<std::string, std::int64_t> counters;
  json metrics = json::object();
  json measures = json::object();
  std::vector<std::string> log;
  std::vector<std::string> reports;
  bool cancel = false;
  Collective* coll = nullptr;  ///< set by ThreadGroup::run for a shard's context

 private:
  std::string id_;
  Mode mode_;
  std::uint64_t seed_;
  std::filesystem::path dir_;
};

/// N workers simulated by N threads of one process, for unit tests of
/// learning stages on shards: run(f) calls f(collective) on every rank at
/// once; the collectives reduce across the threads like Rabit across
/// processes. An exception on one rank is rethrown by run() (the others are
/// released with a CollectiveError so nothing deadlocks).
class ThreadGroup {
 public:
  explicit ThreadGroup(int world) : world_(world), slots_(static_cast<std::size_t>(world)) {}

  void run(const std::function<void(Collective&)>& f) {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(world_));
    for (int r = 0; r < world_; ++r)
      threads.emplace_back([&, r] {
        Member m(*this, r);
        try {
          f(m);
        } catch (...) {
          errors[static_cast<std::size_t>(r)] = std::current_exception();
          std::lock_guard<std::mutex> lock(mu_);
          failed_ = true;
          cv_.notify_all();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  class Member final : public Collective {
   public:
    Member(ThreadGroup& g, int r) : g_(g), r_(r) {}
    int rank() const override { return r_; }
    int world() const override { return g_.world_; }
    void allreduce(double* d, std::size_t n, ReduceOp op) override { g_.reduce(r_, d, n, op); }
    void allreduce(std::int64_t* d, std::size_t n, ReduceOp op) override { g_.reduce(r_, d, n, op); }
    void broadcast(std::string& bytes, int root) override {
      g_.exchange(r_, [&](ThreadGroup& g) { g.slots_[0] = bytes; }, root,
                  [&](ThreadGroup& g) { bytes = g.slots_[0]; });
    }

   private:
    ThreadGroup& g_;
    int r_;
  };

  template <class T>
  void reduce(int r, T* d, std::size_t n, ReduceOp op) {
    slots_[static_cast<std::size_t>(r)].assign(reinterpret_cast<const char*>(d), n * sizeof(T));
    exchange(r, nullptr, -1, [&](ThreadGroup& g) {
      for (std::size_t i = 0; i < n; ++i) {
        T acc;
        std::memcpy(&acc, g.slots_[0].data() + i * sizeof(T), sizeof(T));
        for (int k = 1; k < g.world_; ++k) {
          T v;
          std::memcpy(&v, g.slots_[static_cast<std::size_t>(k)].data() + i * sizeof(T), sizeof(T));
          acc = op == ReduceOp::Sum ? acc + v : op == ReduceOp::Max ? std::max(acc, v) : std::min(acc, v);
        }
        d[i] = acc;
      }
    });
  }

  // Two barriers: everyone has deposited (root writes first), everyone has read.
  void exchange(int r, const std::function<void(ThreadGroup&)>& deposit, int root,
                const std::function<void(ThreadGroup&)>& read) {
    std::unique_lock<std::mutex> lock(mu_);
    if (deposit && r == root) deposit(*this);
    barrier(lock);
    read(*this);
    barrier(lock);
  }
  void barrier(std::unique_lock<std::mutex>& lock) {
    const std::uint64_t gen = gen_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++gen_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return gen_ != gen || failed_; });
    if (failed_ && gen_ == gen) throw CollectiveError("another worker failed");
  }

  int world_;
  std::vector<std::string> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  std::uint64_t gen_ = 0;
  bool failed_ = false;
};

/// Resolve a spec's defaults over the given values (no validation), for tests.
inline Params params_with_defaults(const PluginSpec& spec, json given = json::object()) {
  for (const auto& p : spec.params)
    if (!given.contains(p.name) && !p.default_value.is_null()) given[p.name] = p.default_value;
  return Params(std::move(given));
}

}  // namespace pipectl::testing
