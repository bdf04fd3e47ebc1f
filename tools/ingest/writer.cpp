#include "writer.hpp"

#include "ingest.hpp"
#include "ingest/netcollector_schema.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace pipectl::ingest {

DbWriter::DbWriter(const std::string& path, const std::vector<std::string>* capture_names)
    : capture_names_(capture_names), path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot create \"" + path + "\": " + msg);
  }
  // The file is a temporary that is renamed into place only after a
  // successful commit (and fsync by the caller), so no journal is needed.
  exec("PRAGMA journal_mode=OFF");
  exec("PRAGMA synchronous=OFF");
  exec(kNetcollectorSchemaSql);
  if (capture_names_) exec(kCapturesTableSql);
  exec("BEGIN");
  auto prep = [&](const char* sql, sqlite3_stmt** st) {
    if (sqlite3_prepare_v2(db_, sql, -1, st, nullptr) != SQLITE_OK) fail("preparing statement");
  };
  prep("INSERT INTO sessions (sessionid, deviceid, protocol, srcip, srcport, dstip, dstport, lensum, pktcount, "
       "starttime, endtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
       &ins_session_);
  prep("INSERT INTO dns_queries (sessionid, qname) VALUES (?1, ?2)", &ins_name_);
  prep("INSERT INTO devices (deviceid, mac, ip, manufacturer, device_type, hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
       &ins_device_);
  if (capture_names_) prep("INSERT INTO captures (sessionid, file) VALUES (?1, ?2)", &ins_capture_);
}

DbWriter::~DbWriter() {
  sqlite3_finalize(ins_session_);
  sqlite3_finalize(ins_name_);
  sqlite3_finalize(ins_device_);
  sqlite3_finalize(ins_capture_);
  if (db_) sqlite3_close(db_);
}

void DbWriter::fail(const std::string& what) {
  throw std::runtime_error("writing \"" + path_ + "\": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "closed"));
}

void DbWriter::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("writing \"" + path_ + "\": " + m);
  }
}

void DbWriter::write_sessions(const std::vector<Session>& sessions) {
  std::string src, dst;
  for (const Session& s : sessions) {
    src = ip_str(s.key.family, s.key.src);
    dst = ip_str(s.key.family, s.key.dst);
    sqlite3_bind_int64(ins_session_, 1, s.id);
    sqlite3_bind_int64(ins_session_, 2, static_cast<std::int64_t>(s.key.device) + 1);
    sqlite3_bind_int(ins_session_, 3, s.key.proto);
    sqlite3_bind_text(ins_session_, 4, src.data(), static_cast<int>(src.size()), SQLITE_STATIC);
    sqlite3_bind_int(ins_session_, 5, s.key.sport);
    sqlite3_bind_text(ins_session_, 6, dst.data(), static_cast<int>(dst.size()), SQLITE_STATIC);
    sqlite3_bind_int(ins_session_, 7, s.key.dport);
    sqlite3_bind_int64(ins_session_, 8, static_cast<std::int64_t>(s.bytes));
    sqlite3_bind_int64(ins_session_, 9, static_cast<std::int64_t>(s.packets));
    sqlite3_bind_double(ins_session_, 10, ns_to_seconds(s.first_ns));
    sqlite3_bind_double(ins_session_, 11, ns_to_seconds(s.last_ns));
    if (sqlite3_step(ins_session_) != SQLITE_DONE) fail("inserting session " + std::to_string(s.id));
    sqlite3_reset(ins_session_);
    ++sessions_;
    if (ins_capture_) {
      const std::string& f = capture_names_->at(s.file);
      sqlite3_bind_int64(ins_capture_, 1, s.id);
      sqlite3_bind_text(ins_capture_, 2, f.data(), static_cast<int>(f.size()), SQLITE_STATIC);
      if (sqlite3_step(ins_capture_) != SQLITE_DONE) fail("inserting the capture of session " + std::to_string(s.id));
      sqlite3_reset(ins_capture_);
    }
    for (const std::string& n : s.names) {
      sqlite3_bind_int64(ins_name_, 1, s.id);
      sqlite3_bind_text(ins_name_, 2, n.data(), static_cast<int>(n.size()), SQLITE_STATIC);
      if (sqlite3_step(ins_name_) != SQLITE_DONE) fail("inserting a DNS name of session " + std::to_string(s.id));
      sqlite3_reset(ins_name_);
      ++names_;
    }
  }
}

void DbWriter::write_device(const DeviceRow& d) {
  auto opt = [&](int i, const std::optional<std::string>& v) {
    if (v) {
      sqlite3_bind_text(ins_device_, i, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(ins_device_, i);
    }
  };
  sqlite3_bind_int64(ins_device_, 1, d.deviceid);
  sqlite3_bind_text(ins_device_, 2, d.mac.data(), static_cast<int>(d.mac.size()), SQLITE_TRANSIENT);
  opt(3, d.ip);
  opt(4, d.manufacturer);
  opt(5, d.device_type);
  opt(6, d.hostname);
  if (sqlite3_step(ins_device_) != SQLITE_DONE) fail("inserting device " + d.mac);
  sqlite3_reset(ins_device_);
}

void DbWriter::commit() {
  exec("COMMIT");
  sqlite3_finalize(ins_session_);
  sqlite3_finalize(ins_name_);
  sqlite3_finalize(ins_device_);
  sqlite3_finalize(ins_capture_);
  ins_session_ = ins_name_ = ins_device_ = ins_capture_ = nullptr;
  if (sqlite3_close(db_) != SQLITE_OK) fail("closing");
  db_ = nullptr;
}

}  // namespace pipectl::ingest
