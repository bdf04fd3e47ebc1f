#include <pipectl/runner.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

namespace pipectl {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

class HostContext final : public StageContext {
 public:
  HostContext(const ResolvedStage& s, Mode mode, RunFolder& folder, Logger& log, StageRecord& rec,
              const std::atomic<bool>& cancel, int threads, Collective& coll, std::vector<Role> roles)
      : s_(s), mode_(mode), folder_(folder), log_(log), rec_(rec), cancel_(cancel), threads_(threads), coll_(coll),
        roles_(std::move(roles)) {}

  const std::string& stage_id() const override { return s_.id; }
  Mode mode() const override { return mode_; }
  std::uint64_t seed() const override { return s_.seed; }
  fs::path artifact_dir() override { return folder_.stage_dir(s_.id); }
  void count(const std::string& key, std::int64_t n) override {
    std::lock_guard<std::mutex> lk(mu_);
    rec_.counters[key] += n;
  }
  void metric(const std::string& key, const json& value) override {
    std::lock_guard<std::mutex> lk(mu_);
    rec_.metrics[key] = value;
  }
  void measure(const std::string& key, const json& value) override {
    std::lock_guard<std::mutex> lk(mu_);
    rec_.measures[key] = value;
  }
  void info(const std::string& msg) override { log_.log(LogLevel::Info, s_.id, msg); }
  void warn(const std::string& msg) override { log_.log(LogLevel::Warn, s_.id, msg); }
  void progress(double f) override { log_.progress(s_.id, f); }
  bool cancelled() const override { return cancel_.load(); }
  int threads() const override { return threads_; }
  Collective& collective() override { return coll_; }
  std::vector<Role> consumer_roles() const override { return roles_; }
  void report(const std::string& text) override {
    std::lock_guard<std::mutex> lk(mu_);
    rec_.reports.push_back(text);
  }

 private:
  const ResolvedStage& s_;
  Mode mode_;
  RunFolder& folder_;
  Logger& log_;
  StageRecord& rec_;
  const std::atomic<bool>& cancel_;
  int threads_;
  Collective& coll_;
  std::vector<Role> roles_;
  std::mutex mu_;
};

std::string fmt_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 10 ? "%.3f s" : "%.1f s", s);
  return b;
}

// Check a stage's output against its declared schema before anyone consumes it.
void check_output(const ResolvedStage& s, const Schema& declared, const Table& out) {
  try {
    out.check();
  } catch (const std::exception& e) {
    throw StageError(s.id, s.plugin->name, std::string("returned an inconsistent table: ") + e.what());
  }
  if (!declared.known) return;
  // By name in hash maps: a table may have hundreds of thousands of columns.
  std::unordered_map<std::string, const Column*> got;
  for (const auto& c : out.columns()) got.emplace(c->name, c.get());
  std::unordered_set<std::string> names;
  bool families = false;
  for (const auto& c : declared.columns) {
    if (c.prefix) {
      families = true;
      continue;
    }
    names.insert(c.name);
    auto it = got.find(c.name);
    if (it == got.end())
      throw StageError(s.id, s.plugin->name, "did not return column \"" + c.name + "\" that it declares it makes");
    const Column* col = it->second;
    if (col->type != c.type)
      throw StageError(s.id, s.plugin->name,
                       "returned column \"" + c.name + "\" as " + dtype_name(col->type) + ", but its schema declares " +
                           dtype_name(c.type));
    if (!c.nullable && col->null_count() > 0)
      throw StageError(s.id, s.plugin->name,
                       "returned NULLs in column \"" + c.name + "\", which its schema declares never NULL");
  }
  for (const auto& c : out.columns())
    if (!names.count(c->name) && !(families && declared.covering(c->name)))
      throw StageError(s.id, s.plugin->name, "returned column \"" + c->name + "\" that it did not declare");
}

/// The schema a stage's output is known by downstream: its declared one, or
/// (when that was learnt only at run time) what the table holds.
Schema effective_schema(const Schema& declared, const Table& t) {
  if (declared.known) return declared;
  Schema s = Schema::of(t);
  // Keep what the declaration knew of the columns it did declare (roles).
  for (auto& c : s.columns)
    if (const auto* d = declared.covering(c.name)) {
      c.role = d->role;
      c.positive = d->positive;
    }
  return s;
}

json cache_record(const StageRecord& r, const json& parts, const Schema& schema) {
  // The output's schema too: a replayed stage's consumers know it without reading the table.
  return {{"counters", r.counters}, {"metrics", r.metrics}, {"measures", r.measures}, {"reports", r.reports},
          {"rows_out", r.rows_out},   {"wall_s", r.wall_s},   {"key_parts", parts}, {"schema", schema.to_json()}};
}

void replay(StageRecord& r, const json& rec) {
  r.counters = rec.value("counters", std::map<std::string, std::int64_t>{});
  r.metrics = rec.value("metrics", json::object());
  r.measures = rec.value("measures", json::object());
  r.reports = rec.value("reports", std::vector<std::string>{});
}

json record_json(const StageRecord& r, const ResolvedStage& s, const Schema* schema) {
  json j = {{"id", r.id},           {"plugin", r.plugin},     {"kind", kind_name(s.plugin->kind)},
            {"version", r.version}, {"status", r.status},
            {"start_s", r.start_s}, {"wall_s", r.wall_s},     {"rows_in", r.rows_in}, {"rows_out", r.rows_out},
            {"counters", r.counters}, {"measures", r.measures}};
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.key.empty()) j["cache_key"] = r.key;
  j["cached"] = r.cached;
  if (schema) j["schema"] = schema->to_json();
  // The figures the stage declares (the tools name them from here, without loading the plugin).
  if (!s.plugin->spec.metrics.empty()) {
    json m = json::array();
    for (const auto& d : s.plugin->spec.metrics)
      m.push_back({{"name", d.name}, {"description", d.description}, {"higher_is_better", d.higher_is_better},
                   {"headline", d.headline}});
    j["declared_metrics"] = std::move(m);
  }
  return j;
}

}  // namespace

namespace {
// Roles as bits: train 1, valid 2, test 4.
constexpr unsigned kAllRoles = 7;

// The roles read of stage i's output by its consumers and, since a stage's
// output carries its input's rows and columns on, by theirs.
unsigned roles_read_bits(const ResolvedPipeline& p, std::size_t i, std::vector<int>& memo) {
  if (memo[i] >= 0) return static_cast<unsigned>(memo[i]);
  unsigned bits = 0;
  for (std::size_t v = 0; v < p.stages.size() && bits != kAllRoles; ++v) {
    const auto& ins = p.stages[v].inputs;
    if (std::find(ins.begin(), ins.end(), i) == ins.end()) continue;
    const auto& names = p.stages[v].plugin->spec.reads_roles;
    if (names.empty()) {
      bits = kAllRoles;
      break;
    }
    for (const auto& name : names) {
      if (name == "train") bits |= 1;
      else if (name == "valid") bits |= 2;
      else if (name == "test") bits |= 4;
      else
        throw Error("plugin \"" + p.stages[v].plugin->name + "\" declares it reads rows of role \"" + name +
                    "\"; the roles are \"train\", \"valid\" and \"test\"");
    }
    bits |= roles_read_bits(p, v, memo);
  }
  memo[i] = static_cast<int>(bits);
  return bits;
}
}  // namespace

std::vector<Role> roles_read_by_consumers(const ResolvedPipeline& p, std::size_t i) {
  bool read = false;
  for (const auto& s : p.stages)
    if (std::find(s.inputs.begin(), s.inputs.end(), i) != s.inputs.end()) read = true;
  if (!read) return {};  // the run's result: every row
  std::vector<int> memo(p.stages.size(), -1);
  const unsigned bits = roles_read_bits(p, i, memo);
  if (bits == kAllRoles) return {};
  std::vector<Role> out;
  if (bits & 1) out.push_back(Role::Train);
  if (bits & 2) out.push_back(Role::Valid);
  if (bits & 4) out.push_back(Role::Test);
  return out;
}

std::vector<std::string> role_names(const std::vector<Role>& roles) {
  std::vector<std::string> out;
  for (auto r : roles) out.push_back(role_name(r));
  return out;
}

RunResult run_pipeline(const ResolvedPipeline& p, const PluginRegistry& registry, const RunOptions& opt, Logger& log) {
  Collective& coll = opt.collective ? *opt.collective : local_collective();
  const bool distributed = coll.distributed();
  // A joined collective (even a world of 1) is used from this thread only.
  const bool joined = opt.collective != nullptr;
  const int jobs = joined ? 1 : opt.jobs > 0 ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t n = p.stages.size();
  // Cores left to each stage when `jobs` stages run at once (results must not depend on it).
  const int stage_threads = opt.stage_threads > 0
                                ? opt.stage_threads
                                : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / jobs);
  std::vector<std::string> recovered;
  RunFolder folder(opt.runs_root, p.name, opt.out, &recovered);
  log.open_file((folder.work_dir() / "log.txt").string());
  for (const auto& note : recovered) log.log(LogLevel::Warn, "", note);
  folder.write("pipeline.toml", p.to_toml());

  const auto t_start = Clock::now();
  const auto wall_start = std::chrono::system_clock::now();
  log.log(LogLevel::Info, "", "running pipeline \"" + p.name + "\" (" + std::to_string(n) + " stages, " +
                                  std::to_string(jobs) + (jobs == 1 ? " job" : " jobs") +
                                  (distributed ? ", worker " + std::to_string(coll.rank()) + " of " +
                                                     std::to_string(coll.world()) + ", stage cache off"
                                               : "") +
                                  ")" +
                                  (opt.mode == Mode::Apply ? " applying the fitted run " + opt.state_from.string() : ""));

  std::vector<StageRecord> recs(n);
  for (std::size_t i = 0; i < n; ++i) {
    recs[i].id = p.stages[i].id;
    recs[i].plugin = p.stages[i].plugin->name;
    recs[i].version = p.stages[i].plugin->version;
  }
  std::vector<TablePtr> outputs(n);
  // What each finished stage's output is known by downstream (see effective_schema).
  std::vector<std::optional<Schema>> outputs_schema(n);
  std::vector<int> waiting(n, 0), consumers(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    waiting[i] = static_cast<int>(p.stages[i].inputs.size());
    for (auto u : p.stages[i].inputs) ++consumers[u];
  }
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::size_t> ready;  // by declaration index: deterministic start order
  for (std::size_t i = 0; i < n; ++i)
    if (waiting[i] == 0) ready.insert(i);
  std::size_t finished = 0, running = 0, started = 0;
  std::atomic<bool> cancel{false};
  std::exception_ptr failure;

  // Cache keys chain along the graph, so they are all known before running.
  const bool caching = opt.use_cache && opt.mode == Mode::Fit && !distributed;
  StageCache cache(opt.cache_root ? *opt.cache_root : StageCache::default_root(),
                   [&](const std::string& m) { log.log(LogLevel::Warn, "", m); });
  if (caching) cache.clean_orphans();
  std::vector<json> key_parts(n);
  std::vector<std::string> keys(n);
  // The rows each stage's consumers read (every row when re-applying a run
  // or when the caller keeps the outputs).
  std::vector<std::vector<Role>> consumer_roles(n);
  if (opt.mode == Mode::Fit && !opt.keep_outputs)
    for (std::size_t i = 0; i < n; ++i) consumer_roles[i] = roles_read_by_consumers(p, i);
  for (auto i : p.order) {
    std::vector<std::string> in;
    for (auto u : p.stages[i].inputs) in.push_back(keys[u]);
    key_parts[i] = StageCache::key_parts(p.stages[i], in, role_names(consumer_roles[i]));
    keys[i] = StageCache::key_of(key_parts[i]);
    recs[i].key = keys[i];
  }

  auto interrupted = [&] { return opt.interrupt && opt.interrupt->load(); };

  // A cached stage is replayed from its record alone; its table is read from
  // the cache only when a stage that runs needs it, so a fully cached re-run
  // reads no table and a partly cached one only the tables the re-run stages
  // read.
  std::vector<char> ok(n, 0);
  std::vector<std::mutex> table_mu(n);
  std::atomic<std::int64_t> tables_loaded{0};

  // Run stage i on `ins` (throws StageError / Interrupted); records, stores in the cache, logs.
  auto execute = [&](std::size_t i, const std::vector<TablePtr>& ins, const Clock::time_point t0) -> TablePtr {
    const ResolvedStage& s = p.stages[i];
    StageRecord& rec = recs[i];
    // The declared schema and parameters; a stage whose inputs were not
    // known at validation is checked now, with what they actually gave.
    Schema declared = s.schema;
    Params params = s.params;
    if (s.deferred) {
      std::vector<Schema> in_schemas;
      for (std::size_t k = 0; k < s.inputs.size(); ++k) {
        const auto u = s.inputs[k];
        std::optional<Schema> known;
        {
          std::lock_guard<std::mutex> lk(mu);
          known = outputs_schema[u];
        }
        in_schemas.push_back(known ? *known : effective_schema(p.stages[u].schema, *ins[k]));
      }
      auto r = apply_schema_rule(s, in_schemas);
      if (!r.diagnostics.empty()) {
        std::string m = "its inputs, known only now, do not fit it:";
        for (const auto& d : r.diagnostics) m += "\n  " + d.where.str() + ": " + d.message;
        throw StageError(s.id, s.plugin->name, m, ExitCode::ConfigInvalid);
      }
      declared = r.schema;
      params = r.params;
    }
    HostContext ctx(s, opt.mode, folder, log, rec, cancel, stage_threads, coll, consumer_roles[i]);
    TablePtr out;
    try {
      auto stage = registry.create(*s.plugin, s.id, params);
      if (opt.mode == Mode::Apply && s.plugin->spec.learns) {
        auto dir = opt.state_from / "stages" / s.id;
        auto file = dir / "state.json";
        if (!fs::exists(file)) throw Error("the fitted run has no state for this stage (" + file.string() + ")");
        stage->load_state(json::parse(read_file(file)), dir);
      }
      Table t = stage->run(ctx, ins);
      check_output(s, declared, t);
      if (opt.mode == Mode::Fit && s.plugin->spec.learns) {
        auto dir = folder.stage_dir(s.id);
        json st = stage->save_state(dir);
        write_file_atomic(dir / "state.json", st.dump(2) + "\n");
      }
      out = std::make_shared<const Table>(std::move(t));
    } catch (const StageError&) {
      throw;
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      throw StageError(s.id, s.plugin->name, e.what(),
                       e.code() == ExitCode::DataError    ? ExitCode::DataError
                       : e.code() == ExitCode::WorkerLost ? ExitCode::WorkerLost
                                                          : ExitCode::StageFailed);
    } catch (const std::exception& e) {
      throw StageError(s.id, s.plugin->name, e.what());
    } catch (...) {
      throw StageError(s.id, s.plugin->name, "unknown exception");
    }
    rec.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    rec.rows_out = out->rows();
    rec.status = "ok";
    Schema effective = effective_schema(declared, *out);
    if (caching && StageCache::cacheable(s)) {
      try {
        cache.store(keys[i], *out, cache_record(rec, key_parts[i], effective), folder.stage_dir(s.id));
      } catch (const std::exception& e) {
        log.log(LogLevel::Warn, s.id, std::string("could not store the output in the cache: ") + e.what());
      }
    }
    log.log(LogLevel::Info, s.id,
            "done in " + fmt_seconds(rec.wall_s) + ", rows " + std::to_string(rec.rows_in) + " -> " +
                std::to_string(rec.rows_out),
            {{"event", "stage_end"}, {"wall_s", rec.wall_s}, {"rows_in", rec.rows_in}, {"rows_out", rec.rows_out}});
    std::lock_guard<std::mutex> lk(mu);
    outputs_schema[i] = std::move(effective);
    return out;
  };

  // The output of finished stage u, for a stage about to run: read from the
  // cache when it was replayed without its table (or its table was freed).
  // Should that entry turn out unusable, stage u runs now (its own inputs
  // fetched the same way).
  std::function<TablePtr(std::size_t)> input = [&](std::size_t u) -> TablePtr {
    std::lock_guard<std::mutex> guard(table_mu[u]);
    {
      std::lock_guard<std::mutex> lk(mu);
      if (outputs[u]) return outputs[u];
    }
    TablePtr t;
    std::optional<StageCache::Entry> hit;
    if (caching && StageCache::cacheable(p.stages[u])) hit = cache.load(keys[u]);
    if (hit) {
      ++tables_loaded;
      t = std::make_shared<const Table>(std::move(hit->table));
    } else {
      const ResolvedStage& s = p.stages[u];
      log.log(LogLevel::Warn, s.id, "cached table unusable, running the stage");
      std::vector<TablePtr> ins;
      for (auto w : s.inputs) ins.push_back(input(w));
      StageRecord& rec = recs[u];
      rec = StageRecord{rec.id, rec.plugin, rec.version};
      rec.key = keys[u];
      for (const auto& x : ins) rec.rows_in += x->rows();
      const auto t0 = Clock::now();
      rec.start_s = std::chrono::duration<double>(t0 - t_start).count();
      t = execute(u, ins, t0);
    }
    std::lock_guard<std::mutex> lk(mu);
    outputs[u] = t;
    return t;
  };

  auto run_one = [&](std::size_t i) {
    const ResolvedStage& s = p.stages[i];
    StageRecord& rec = recs[i];
    for (auto u : s.inputs) rec.rows_in += recs[u].rows_out;
    const auto t0 = Clock::now();
    rec.start_s = std::chrono::duration<double>(t0 - t_start).count();
    log.log(LogLevel::Info, s.id, "started (" + s.plugin->name + ")", {{"event", "stage_start"}});
    if (caching && !opt.force && StageCache::cacheable(s)) {
      // With keep_outputs every table is wanted: read it with the record.
      std::optional<json> record;
      TablePtr table;
      if (opt.keep_outputs) {
        if (auto hit = cache.load(keys[i])) {
          ++tables_loaded;
          record = std::move(hit->record);
          table = std::make_shared<const Table>(std::move(hit->table));
        }
      } else {
        record = cache.record(keys[i]);
      }
      if (record) {
        try {
          auto dst = folder.stage_dir(s.id);
          fs::copy(cache.artifacts(keys[i]), dst,
                   fs::copy_options::recursive | fs::copy_options::overwrite_existing);
          replay(rec, *record);
          rec.cached = true;
          rec.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
          rec.rows_out = record->at("rows_out").get<std::uint64_t>();
          rec.status = "ok";
          log.log(LogLevel::Info, s.id,
                  "cached (key " + keys[i].substr(0, 12) + "; the run that made it took " +
                      fmt_seconds(record->value("wall_s", 0.0)) + "), rows " + std::to_string(rec.rows_out),
                  {{"event", "stage_cached"}, {"key", keys[i]}});
          std::lock_guard<std::mutex> lk(mu);
          outputs[i] = table;
          if (record->contains("schema")) outputs_schema[i] = Schema::from_json(record->at("schema"));
          else if (s.schema.known && !s.deferred) outputs_schema[i] = s.schema;
          ok[i] = 1;
          return;
        } catch (const std::exception& e) {
          log.log(LogLevel::Warn, s.id, std::string("cache entry unusable, running the stage: ") + e.what());
          rec = StageRecord{rec.id, rec.plugin, rec.version};
          rec.key = keys[i];
          rec.rows_in = 0;
          for (auto u : s.inputs) rec.rows_in += recs[u].rows_out;
        }
      }
    }
    try {
      std::vector<TablePtr> ins;
      for (auto u : s.inputs) ins.push_back(input(u));
      TablePtr out = execute(i, ins, t0);
      std::lock_guard<std::mutex> lk(mu);
      outputs[i] = std::move(out);
      ok[i] = 1;
    } catch (...) {
      rec.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
      rec.status = "failed";
      try {
        throw;
      } catch (const Interrupted& e) {
        rec.status = "interrupted";
        rec.error = e.what();
      } catch (const std::exception& e) {
        rec.error = e.what();
      }
      std::lock_guard<std::mutex> lk(mu);
      if (!failure) failure = std::current_exception();
      cancel = true;
      return;
    }
  };

  auto worker = [&] {
    std::unique_lock<std::mutex> lk(mu);
    while (true) {
      cv.wait(lk, [&] { return !ready.empty() || finished == n || cancel || (running == 0 && ready.empty()); });
      if (interrupted() && !cancel) {
        cancel = true;
        if (!failure) failure = std::make_exception_ptr(Interrupted("interrupted by a signal"));
      }
      if (cancel || finished == n || ready.empty()) {
        cv.notify_all();
        if (cancel || finished == n || running == 0) return;
        continue;
      }
      auto i = *ready.begin();
      ready.erase(ready.begin());
      ++running;
      ++started;
      lk.unlock();
      run_one(i);
      lk.lock();
      --running;
      ++finished;
      if (ok[i]) {
        for (std::size_t v = 0; v < n; ++v)
          for (auto u : p.stages[v].inputs)
            if (u == i && --waiting[v] == 0) ready.insert(v);
        // Free inputs nobody else needs.
        for (auto u : p.stages[i].inputs)
          if (--consumers[u] == 0 && !opt.keep_outputs && consumers[u] == 0 && !p.graph.successors(u).empty())
            outputs[u].reset();
      }
      cv.notify_all();
    }
  };

  // A watcher turns a signal into cancellation promptly even while stages run.
  std::thread watcher([&] {
    std::unique_lock<std::mutex> lk(mu);
    while (finished < n && !cancel) {
      cv.wait_for(lk, std::chrono::milliseconds(50));
      if (interrupted() && !cancel) {
        cancel = true;
        if (!failure) failure = std::make_exception_ptr(Interrupted("interrupted by a signal"));
        cv.notify_all();
      }
    }
  });
  {
    // No more workers than stages; if the system refuses a thread, run with
    // those started (or on this thread) rather than abort.
    const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(jobs), std::max<std::size_t>(n, 1));
    std::vector<std::thread> pool;
    // XGBoost 1.7 keeps its communicator per thread: a distributed run's
    // stages run on the thread that joined the collective, this one.
    for (std::size_t k = 0; k < (joined ? 0 : workers); ++k) {
      try {
        pool.emplace_back(worker);
      } catch (const std::system_error& e) {
        log.log(LogLevel::Warn, "", "could start only " + std::to_string(pool.size()) + " of " +
                                        std::to_string(workers) + " worker threads: " + e.what());
        break;
      }
    }
    if (pool.empty()) worker();
    for (auto& t : pool) t.join();
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    cancel = cancel || finished < n;
    cv.notify_all();
  }
  watcher.join();
  if (!failure && finished < n) failure = std::make_exception_ptr(Error("not every stage ran"));

  RunResult result;
  const double total = std::chrono::duration<double>(Clock::now() - t_start).count();
  json metrics = json::object();
  for (auto& r : recs)
    if (!r.metrics.empty()) metrics[r.id] = r.metrics;
  json info = {{"pipeline", p.name},
               {"pipeline_file", p.display_file},
               {"pipeline_hash", p.hash()},
               {"seed", p.seed},
               {"mode", opt.mode == Mode::Fit ? "fit" : "apply"},
               {"jobs", jobs},
               {"workers", coll.world()},
               {"rank", coll.rank()},
               {"started", std::chrono::duration_cast<std::chrono::seconds>(wall_start.time_since_epoch()).count()},
               {"duration_s", total},
               {"status", failure ? "failed" : "ok"}};
  if (opt.mode == Mode::Apply) info["fitted_run"] = fs::absolute(opt.state_from).string();
  json stages = json::array();
  json plugins = json::object();
  for (std::size_t i = 0; i < n; ++i) {
    stages.push_back(record_json(recs[i], p.stages[i], outputs_schema[i] ? &*outputs_schema[i] : nullptr));
    plugins[p.stages[i].plugin->name] = {{"version", p.stages[i].plugin->version},
                                         {"file", p.stages[i].plugin->file.filename().string()}};
  }
  info["stages"] = stages;
  info["plugins"] = plugins;
  // Stage tables read from the cache (only those a stage that ran needed).
  info["cache_tables_loaded"] = tables_loaded.load();
  folder.write("metrics.json", metrics.dump(2) + "\n");
  folder.write("run.json", info.dump(2) + "\n");

  if (failure) {
    std::string what;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    }
    log.to_file(LogLevel::Error, what);  // the CLI prints it to the terminal
    log.close_file();
    auto where = folder.fail();
    log.log(LogLevel::Info, "", "incomplete run kept in " + where.string());
    std::rethrow_exception(failure);
  }
  if (caching) {
    json idx = json::object();
    for (std::size_t i = 0; i < n; ++i) idx[p.stages[i].id] = {{"key", keys[i]}, {"parts", key_parts[i]}};
    try {
      cache.remember(p.name, idx);
    } catch (const std::exception& e) {
      log.log(LogLevel::Warn, "", std::string("could not update the cache index: ") + e.what());
    }
  }
  log.log(LogLevel::Info, "", "finished in " + fmt_seconds(total));
  log.close_file();
  // The history row is written before the folder is published and
  // confirmed after: a run killed in between is repaired at the next start.
  if (opt.on_publish) opt.on_publish(folder.final_dir(), info, metrics, false);
  result.dir = folder.commit();
  if (opt.on_publish) opt.on_publish(result.dir, info, metrics, true);
  log.log(LogLevel::Info, "", "run folder: " + result.dir.string());
  result.metrics = metrics;
  result.info = info;
  result.stages = recs;
  if (opt.keep_outputs)
    for (std::size_t i = 0; i < n; ++i) result.outputs[p.stages[i].id] = outputs[i];
  if (opt.print_reports)
    for (const auto& r : recs)
      for (const auto& text : r.reports) std::fprintf(stdout, "%s%s", text.c_str(), text.empty() || text.back() != '\n' ? "\n" : "");
  std::fflush(stdout);
  return result;
}

}  // namespace pipectl
