#include <pipectl/history.hpp>
#include <pipectl/cache.hpp>
#include <pipectl/run_folder.hpp>

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace pipectl {

namespace fs = std::filesystem;

namespace {

bool damaged_code(int rc) { return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB; }

struct Db {
  sqlite3* h = nullptr;
  fs::path path;
  explicit Db(const fs::path& p, bool write, const std::function<void(const std::string&)>& warn = {}) : path(p) {
    if (write) {
      std::error_code ec;
      fs::create_directories(p.parent_path().empty() ? fs::path(".") : p.parent_path(), ec);
      if (ec) throw Error("cannot create the folder of the run history \"" + p.string() + "\": " + ec.message());
      std::error_code e2;
      if (fs::exists(p, e2) && fs::file_size(p, e2) == 0 && !e2) {
        if (warn) warn("the run history \"" + p.string() + "\" was an empty file (0 bytes); it is created anew");
      }
    }
    open(write);
    if (!write) return;
    int rc = create();
    if (rc != SQLITE_OK && damaged_code(rc)) {
      // A damaged history must not leave every later run unrecorded: keep
      // the damaged file for inspection, start a new one.
      const std::string why = sqlite3_errmsg(h);
      sqlite3_close(h);
      h = nullptr;
      const fs::path aside = p.string() + ".damaged-" + utc_stamp();
      std::error_code ec;
      fs::rename(p, aside, ec);
      if (ec) throw Error("the run history \"" + p.string() + "\" is damaged (" + why + ") and cannot be moved aside: " +
                          ec.message());
      for (const char* side : {"-journal", "-wal", "-shm"}) {
        std::error_code e3;
        fs::rename(p.string() + side, aside.string() + side, e3);
      }
      if (warn)
        warn("the run history \"" + p.string() + "\" is damaged (" + why + "); kept as \"" + aside.string() +
             "\", a new history is started");
      open(write);
      rc = create();
    }
    if (rc != SQLITE_OK) throw Error(std::string("run history \"") + p.string() + "\": " + sqlite3_errmsg(h));
  }
  void open(bool write) {
    int flags = write ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path.c_str(), &h, flags, nullptr) != SQLITE_OK) {
      std::string m = h ? sqlite3_errmsg(h) : "out of memory";
      sqlite3_close(h);
      h = nullptr;
      throw Error("cannot open the run history \"" + path.string() + "\": " + m);
    }
    sqlite3_busy_timeout(h, 10000);
  }
  int create() {
    int rc = sqlite3_exec(h,
                          "create table if not exists runs(run_id text primary key, pipeline text, pipeline_hash text, "
                          "pipeline_file text, run_dir text, status text, sweep text, data_hash text, seed integer, "
                          "started integer, duration_s real, params text, plugins text, metrics text)",
                          nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return rc;
    // uid: one per run (a run's row is written twice: before and after its
    // folder is published). Added to histories made before it existed.
    bool has_uid = false;
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(h, "pragma table_info(runs)", -1, &st, nullptr);
    if (rc != SQLITE_OK) return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      has_uid = has_uid || std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))) == "uid";
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return rc;
    if (!has_uid) {
      rc = sqlite3_exec(h, "alter table runs add column uid text", nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK && !has_column("uid")) return rc;
    }
    rc = sqlite3_exec(h, "create index if not exists runs_dir on runs(run_dir); "
                         "create unique index if not exists runs_uid on runs(uid)", nullptr, nullptr, nullptr);
    return rc;
  }
  bool has_column(const std::string& name) {
    sqlite3_stmt* st = nullptr;
    bool has = false;
    if (sqlite3_prepare_v2(h, "pragma table_info(runs)", -1, &st, nullptr) == SQLITE_OK)
      while (sqlite3_step(st) == SQLITE_ROW)
        has = has || name == reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return has;
  }
  /// True when the table exists (a read-only open of an empty file has none).
  bool has_table() {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(h, "select 1 from sqlite_master where type = 'table' and name = 'runs'", -1, &st, nullptr);
    bool has = rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!has && rc != SQLITE_DONE && rc != SQLITE_OK && rc != SQLITE_ROW) fail(rc);
    return has;
  }
  [[noreturn]] void fail(int rc) const {
    if (damaged_code(rc))
      throw Error("the run history \"" + path.string() + "\" is damaged (" + sqlite3_errmsg(h) +
                  "); the next `pipectl run` keeps it aside and starts a new one");
    throw Error("run history \"" + path.string() + "\": " + sqlite3_errmsg(h));
  }
  ~Db() { sqlite3_close(h); }
  void exec(const std::string& sql) {
    int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc);
  }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(Db& db, const std::string& sql) {
    int rc = sqlite3_prepare_v2(db.h, sql.c_str(), -1, &s, nullptr);
    if (rc != SQLITE_OK) db.fail(rc);
  }
  ~Stmt() { sqlite3_finalize(s); }
  void text(int i, const std::string& v) { sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT); }
  std::string col(int i) {
    auto p = sqlite3_column_text(s, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
};

RunEntry read_row(Stmt& st) {
  RunEntry e;
  e.run_id = st.col(0);
  e.pipeline = st.col(1);
  e.pipeline_hash = st.col(2);
  e.pipeline_file = st.col(3);
  e.run_dir = st.col(4);
  e.status = st.col(5);
  e.sweep = st.col(6);
  e.data_hash = st.col(7);
  e.seed = sqlite3_column_int64(st.s, 8);
  e.started = sqlite3_column_int64(st.s, 9);
  e.duration_s = sqlite3_column_double(st.s, 10);
  e.params = json::parse(st.col(11).empty() ? "{}" : st.col(11));
  e.plugins = json::parse(st.col(12).empty() ? "{}" : st.col(12));
  e.metrics = json::parse(st.col(13).empty() ? "{}" : st.col(13));
  e.uid = st.col(14);
  return e;
}

const char* kCols =
    "run_id, pipeline, pipeline_hash, pipeline_file, run_dir, status, sweep, data_hash, seed, started, duration_s, "
    "params, plugins, metrics, uid";
const char* kColsOld =
    "run_id, pipeline, pipeline_hash, pipeline_file, run_dir, status, sweep, data_hash, seed, started, duration_s, "
    "params, plugins, metrics, ''";

void flatten(const json& j, const std::string& prefix, json& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (j.is_number() || j.is_boolean()) {
    out[prefix] = j;
  }
}

}  // namespace

History::History(fs::path db, std::function<void(const std::string&)> warn)
    : db_(std::move(db)), warn_(std::move(warn)) {
  if (!warn_) warn_ = [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); };
}

fs::path History::default_path() {
  if (const char* e = std::getenv("PIPECTL_HISTORY"); e && *e) return e;
  return fs::current_path() / ".pipectl" / "history.sqlite";
}

namespace {

void bind_entry(Stmt& st, const RunEntry& e) {
  st.text(1, e.run_id);
  st.text(2, e.pipeline);
  st.text(3, e.pipeline_hash);
  st.text(4, e.pipeline_file);
  st.text(5, e.run_dir);
  st.text(6, e.status);
  st.text(7, e.sweep);
  st.text(8, e.data_hash);
  sqlite3_bind_int64(st.s, 9, e.seed);
  sqlite3_bind_int64(st.s, 10, e.started);
  sqlite3_bind_double(st.s, 11, e.duration_s);
  st.text(12, e.params.dump());
  st.text(13, e.plugins.dump());
  st.text(14, e.metrics.dump());
  st.text(15, e.uid);
}

/// Rows a killed run left "publishing": confirmed when their folder is a
/// finished run, removed otherwise (a live publisher writes its row again).
std::size_t repair_rows(Db& db) {
  std::vector<std::pair<std::string, std::string>> pending;
  {
    Stmt st(db, "select run_id, run_dir from runs where status = 'publishing'");
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) pending.emplace_back(st.col(0), st.col(1));
    if (rc != SQLITE_DONE) db.fail(rc);
  }
  std::size_t n = 0;
  for (const auto& [id, dir] : pending) {
    bool ok = false;
    try {
      std::error_code ec;
      if (fs::exists(fs::path(dir) / "run.json", ec))
        ok = json::parse(read_file(fs::path(dir) / "run.json")).value("status", "") == "ok";
    } catch (const std::exception&) {
    }
    Stmt st(db, ok ? "update runs set status = 'ok' where run_id = ? and status = 'publishing'"
                   : "delete from runs where run_id = ? and status = 'publishing'");
    st.text(1, id);
    int rc = sqlite3_step(st.s);
    if (rc != SQLITE_DONE) db.fail(rc);
    ++n;
  }
  return n;
}

}  // namespace

std::string History::record(const RunEntry& e) const {
  Db db(db_, true, warn_);
  db.exec("begin immediate");
  try {
    repair_rows(db);
    std::string id;
    if (!e.uid.empty()) {
      Stmt st(db, "select run_id from runs where uid = ?");
      st.text(1, e.uid);
      if (sqlite3_step(st.s) == SQLITE_ROW) id = st.col(0);
    }
    if (id.empty()) {
      // A run id of its own: the folder's name, or "<name>~2", … when another
      // run (another folder with that name, or an earlier run in this one) has it.
      for (int n = 1; id.empty(); ++n) {
        const std::string cand = n == 1 ? e.run_id : e.run_id + "~" + std::to_string(n);
        Stmt st(db, "select 1 from runs where run_id = ?");
        st.text(1, cand);
        int rc = sqlite3_step(st.s);
        if (rc == SQLITE_DONE) id = cand;
        else if (rc != SQLITE_ROW) db.fail(rc);
      }
    }
    RunEntry row = e;
    row.run_id = id;
    Stmt st(db, std::string("insert or replace into runs(") + kCols + ") values(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bind_entry(st, row);
    int rc = sqlite3_step(st.s);
    if (rc != SQLITE_DONE) db.fail(rc);
    if (e.status == "ok") {
      // A run given the same --out replaced the earlier run's folder.
      Stmt r(db, "update runs set status = 'replaced' where run_dir = ? and run_id <> ? and status = 'ok'");
      r.text(1, e.run_dir);
      r.text(2, id);
      rc = sqlite3_step(r.s);
      if (rc != SQLITE_DONE) db.fail(rc);
    }
    db.exec("commit");
    return id;
  } catch (...) {
    sqlite3_exec(db.h, "rollback", nullptr, nullptr, nullptr);
    throw;
  }
}

std::size_t History::repair() const {
  if (!fs::exists(db_)) return 0;
  Db db(db_, true, warn_);
  db.exec("begin immediate");
  const auto n = repair_rows(db);
  db.exec("commit");
  return n;
}

std::vector<RunEntry> History::list(const std::string& pipeline, int limit) const {
  std::vector<RunEntry> out;
  std::error_code ec;
  if (!fs::exists(db_, ec) || fs::file_size(db_, ec) == 0) return out;
  Db db(db_, false);
  if (!db.has_table()) return out;
  const bool uid = db.has_column("uid");
  std::string sql = std::string("select ") + (uid ? kCols : kColsOld) + " from runs where status <> 'publishing'" +
                    (pipeline.empty() ? "" : " and pipeline = ?") + " order by started, run_id";
  Stmt st(db, sql);
  if (!pipeline.empty()) st.text(1, pipeline);
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) out.push_back(read_row(st));
  if (rc != SQLITE_DONE) db.fail(rc);
  if (limit > 0 && static_cast<int>(out.size()) > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

RunEntry History::find(const std::string& ref) const {
  auto all = list();
  std::error_code ec;
  if (!ref.empty() && fs::exists(ref, ec)) {
    // A folder: the latest run recorded there (by its full path).
    const auto dir = fs::absolute(ref).lexically_normal();
    const auto canon = fs::weakly_canonical(dir, ec);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      const fs::path d = fs::path(it->run_dir).lexically_normal();
      std::error_code e2;
      if (d == dir || (!ec && fs::weakly_canonical(d, e2) == canon && !e2)) return *it;
    }
  }
  std::string id = ref;
  if (!id.empty() && id.back() == '/') id.pop_back();
  std::vector<RunEntry> hits;
  for (auto& e : all) {
    if (e.run_id == id) return e;
    if (e.run_id.rfind(id, 0) == 0) hits.push_back(e);
  }
  if (hits.size() == 1) return hits[0];
  if (hits.empty()) throw Error("no run \"" + ref + "\" in the history (" + db_.string() + ")", ExitCode::Usage);
  std::string ids;
  for (const auto& h : hits) ids += (ids.empty() ? "" : ", ") + h.run_id;
  throw Error("\"" + ref + "\" matches several runs: " + ids, ExitCode::Usage);
}

json flatten_params(const ResolvedPipeline& p) {
  json out = json::object();
  out["pipeline.seed"] = p.seed;
  for (const auto& s : p.stages) {
    out[s.id + ".plugin"] = s.plugin->name;
    const auto& a = s.params.all();
    for (auto it = a.begin(); it != a.end(); ++it) out[s.id + "." + it.key()] = it.value();
  }
  return out;
}

json flatten_metrics(const json& metrics) {
  json out = json::object();
  flatten(metrics, "", out);
  return out;
}

std::string data_fingerprint(const ResolvedPipeline& p) {
  std::string acc;
  for (const auto& s : p.stages) {
    if (!s.inputs.empty()) continue;
    for (const auto& ps : s.plugin->spec.params) {
      if (ps.type != ParamType::Path || !s.params.has(ps.name)) continue;
      for (const fs::path& f : files_of_path(s.params.str(ps.name))) {
      std::error_code ec;
      if (!fs::is_regular_file(f, ec)) continue;
      const auto size = fs::file_size(f, ec);
      acc += s.id + "." + ps.name + "=" + f.string() + ":" + std::to_string(size) + ":";
      std::ifstream in(f, std::ios::binary);
      std::string buf(1 << 20, '\0');
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      acc += sha1_hex(buf.substr(0, static_cast<std::size_t>(in.gcount())));
      if (size > buf.size()) {
        in.clear();
        in.seekg(static_cast<std::streamoff>(size - buf.size()));
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        acc += sha1_hex(buf.substr(0, static_cast<std::size_t>(in.gcount())));
      }
      acc += ";";
      }
    }
  }
  return sha1_hex(acc);
}

}  // namespace pipectl
