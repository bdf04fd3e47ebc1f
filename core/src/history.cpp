#include <pipectl/history.hpp>
#include <pipectl/cache.hpp>
#include <pipectl/run_folder.hpp>

#include <sqlite3.h>

#include <cstdlib>
#include <fstream>
#include <memory>

namespace pipectl {

namespace fs = std::filesystem;

namespace {

struct Db {
  sqlite3* h = nullptr;
  explicit Db(const fs::path& p, bool write) {
    if (write) fs::create_directories(p.parent_path().empty() ? fs::path(".") : p.parent_path());
    int flags = write ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(p.c_str(), &h, flags, nullptr) != SQLITE_OK) {
      std::string m = h ? sqlite3_errmsg(h) : "out of memory";
      sqlite3_close(h);
      h = nullptr;
      throw Error("cannot open the run history \"" + p.string() + "\": " + m);
    }
    sqlite3_busy_timeout(h, 5000);
    exec("create table if not exists runs(run_id text primary key, pipeline text, pipeline_hash text, "
         "pipeline_file text, run_dir text, status text, sweep text, data_hash text, seed integer, started integer, "
         "duration_s real, params text, plugins text, metrics text)",
         write);
  }
  ~Db() { sqlite3_close(h); }
  void exec(const std::string& sql, bool write = true) {
    if (!write) return;
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw Error("run history: " + m);
    }
  }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw Error(std::string("run history: ") + sqlite3_errmsg(db));
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
  return e;
}

const char* kCols =
    "run_id, pipeline, pipeline_hash, pipeline_file, run_dir, status, sweep, data_hash, seed, started, duration_s, "
    "params, plugins, metrics";

void flatten(const json& j, const std::string& prefix, json& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (j.is_number() || j.is_boolean()) {
    out[prefix] = j;
  }
}

}  // namespace

History::History(fs::path db) : db_(std::move(db)) {}

fs::path History::default_path() {
  if (const char* e = std::getenv("PIPECTL_HISTORY"); e && *e) return e;
  return fs::current_path() / ".pipectl" / "history.sqlite";
}

void History::record(const RunEntry& e) const {
  Db db(db_, true);
  Stmt st(db.h, std::string("insert or replace into runs(") + kCols + ") values(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
  if (sqlite3_step(st.s) != SQLITE_DONE) throw Error(std::string("run history: ") + sqlite3_errmsg(db.h));
}

std::vector<RunEntry> History::list(const std::string& pipeline, int limit) const {
  std::vector<RunEntry> out;
  if (!fs::exists(db_)) return out;
  Db db(db_, false);
  std::string sql = std::string("select ") + kCols + " from runs" + (pipeline.empty() ? "" : " where pipeline = ?") +
                    " order by started, run_id";
  Stmt st(db.h, sql);
  if (!pipeline.empty()) st.text(1, pipeline);
  while (sqlite3_step(st.s) == SQLITE_ROW) out.push_back(read_row(st));
  if (limit > 0 && static_cast<int>(out.size()) > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

RunEntry History::find(const std::string& ref) const {
  auto all = list();
  std::string id = ref;
  if (fs::exists(ref)) id = fs::absolute(ref).lexically_normal().filename().string();
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
