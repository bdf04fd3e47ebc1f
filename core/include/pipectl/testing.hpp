// An in-memory StageContext for unit tests of stages (no runner needed).
// A test case that cannot run here (a dataset, a tool missing) reports itself
// skipped with pipectl/test_skip.hpp: pipectl::testing::skip(reason).
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
#include <optional>
#include <unordered_map>
#include <stdexcept>

#include <stdlib.h>

namespace pipectl::testing {

/// A fresh folder under the system's temporary directory (mkdtemp, named
/// pipectl-<what>-XXXXXX), removed with everything in it with the object.
class TempDir {
 public:
  explicit TempDir(const std::string& what = "test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("pipectl-" + what + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary folder from " + tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path of `f` in the folder, as text.
  std::string operator/(const std::string& f) const { return (path / f).string(); }

  std::filesystem::path path;
};

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
  std::vector<Role> consumer_roles() const override { return roles_read; }

  void set_mode(Mode m) { mode_ = m; }

  std::map<std::string, std::int64_t> counters;
  json metrics = json::object();
  json measures = json::object();
  std::vector<std::string> log;
  std::vector<std::string> reports;
  bool cancel = false;
  Collective* coll = nullptr;  ///< set by ThreadGroup::run for a shard's context
  std::vector<Role> roles_read;  ///< what consumer_roles() answers (empty = every row)

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

/// The options struct O a stage is built from, as the host fills it:
/// `given` plus the declared defaults (paths as given, not resolved).
template <class O>
O options_with_defaults(const PluginSpec& spec, json given = json::object()) {
  return bind_options<O>(spec, params_with_defaults(spec, std::move(given)));
}

/// What a plugin's schema rule gives for `params` on `inputs` (its
/// problems, "parameter: message" or the message alone, in `issues`).
struct SchemaOutcome {
  Schema schema;
  std::vector<std::string> issues;
  std::vector<std::pair<std::string, std::vector<std::string>>> resolved;
  bool ok() const { return issues.empty(); }
};
inline SchemaOutcome schema_of(const PluginSpec& spec, const Params& params, std::vector<Schema> inputs = {}) {
  SchemaOutcome o;
  SchemaContext ctx(params, std::move(inputs));
  o.schema = spec.schema ? spec.schema(ctx) : ctx.input();
  for (const auto& is : ctx.issues()) o.issues.push_back(is.param.empty() ? is.message : is.param + ": " + is.message);
  o.resolved = ctx.resolved();
  return o;
}

/// A schema of the named columns, all of one type (for tests of schema rules).
inline Schema schema_with(const std::vector<std::pair<std::string, DType>>& cols, bool split = false) {
  Schema s;
  s.split = split;
  for (const auto& [n, t] : cols) {
    ColumnSchema c;
    c.name = n;
    c.type = t;
    s.columns.push_back(c);
  }
  return s;
}

/// A multi_categorical column from lists of strings (std::nullopt = a NULL
/// row), its dictionary in first-seen order.
inline Column multi_column(const std::string& name,
                           const std::vector<std::optional<std::vector<std::string>>>& rows) {
  auto dict = std::make_shared<Dictionary>();
  std::unordered_map<std::string, std::int32_t> idx;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> codes;
  std::vector<std::uint8_t> valid;
  for (const auto& r : rows) {
    valid.push_back(r.has_value());
    if (r)
      for (const auto& s : *r) {
        auto it = idx.emplace(s, static_cast<std::int32_t>(dict->size())).first;
        if (it->second == static_cast<std::int32_t>(dict->size())) dict->push_back(s);
        codes.push_back(it->second);
      }
    offsets.push_back(static_cast<std::int64_t>(codes.size()));
  }
  Column c = Column::make_multi(name, std::move(offsets), std::move(codes), std::move(dict));
  c.valid = std::move(valid);
  return c;
}

/// A categorical column's values as text, "<null>" for NULL.
inline std::vector<std::string> labels(const Column& c) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < c.rows(); ++i) v.push_back(c.is_null(i) ? "<null>" : c.label(i));
  return v;
}

/// Row `row` of a multi_categorical column, as text.
inline std::vector<std::string> list(const Column& c, std::size_t row) {
  std::vector<std::string> v;
  for (auto k = c.offsets[row]; k < c.offsets[row + 1]; ++k)
    v.push_back((*c.dictionary)[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])]);
  return v;
}

/// `t`'s rows dealt into `world` disjoint shards from an order shuffled with
/// `seed` (roles go with the rows), as workers reading their own shards would
/// hold them: categorical and multi_categorical columns are re-encoded per
/// shard in first-seen order, so the same value has other codes on other
/// shards. For tests that a stage fitted on shards equals one fitted on `t`.
inline std::vector<TablePtr> deal_shards(const TablePtr& t, int world, std::uint64_t seed) {
  std::vector<std::uint32_t> order(t->rows());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 g(seed);
  std::shuffle(order.begin(), order.end(), g);
  std::vector<TablePtr> out;
  for (int r = 0; r < world; ++r) {
    std::vector<std::uint32_t> rows;
    for (std::size_t k = static_cast<std::size_t>(r); k < order.size(); k += static_cast<std::size_t>(world))
      rows.push_back(order[k]);
    Table s = t->take(rows);
    for (const auto& c : t->columns()) {
      const Column& sc = s.at(c->name);
      if (c->type != DType::Categorical && c->type != DType::MultiCategorical) continue;
      // New codes in first-seen order; a NULL stays one.
      std::vector<std::int32_t> remap(sc.dictionary ? sc.dictionary->size() : 0, -1);
      auto dict = std::make_shared<Dictionary>();
      std::vector<std::int32_t> codes(sc.codes.size());
      for (std::size_t i = 0; i < sc.codes.size(); ++i) {
        const std::int32_t old = sc.codes[i];
        const bool null = old < 0 || (c->type == DType::Categorical && sc.is_null(i));
        if (null) {
          codes[i] = -1;
          continue;
        }
        auto& m = remap[static_cast<std::size_t>(old)];
        if (m < 0) {
          m = static_cast<std::int32_t>(dict->size());
          dict->push_back((*sc.dictionary)[static_cast<std::size_t>(old)]);
        }
        codes[i] = m;
      }
      // A categorical NULL is code -1 (as encode_strings makes it).
      Column n = c->type == DType::Categorical ? Column::make_cat(c->name, std::move(codes), dict)
                                               : Column::make_multi(c->name, sc.offsets, std::move(codes), dict);
      s = s.with(std::move(n));
    }
    s.check();
    out.push_back(std::make_shared<const Table>(std::move(s)));
  }
  return out;
}

}  // namespace pipectl::testing
