// Writing the NetCollector database: the schema of schemas/netcollector.sql
// (embedded at build time), then all rows inside one transaction through
// prepared statements.
#pragma once

#include "sessions.hpp"

#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace pipectl::ingest {

struct DeviceRow {
  std::int64_t deviceid = 0;
  std::string mac;
  std::optional<std::string> ip, manufacturer, device_type, hostname;
};

class DbWriter {
 public:
  /// Create `path` (which must not exist), execute the schema, begin the
  /// transaction. With `capture_names` (input file index -> name), also create
  /// the table `captures` (kCapturesTableSql) and write each session's file.
  explicit DbWriter(const std::string& path, const std::vector<std::string>* capture_names = nullptr);
  ~DbWriter();
  DbWriter(const DbWriter&) = delete;
  DbWriter& operator=(const DbWriter&) = delete;

  /// Insert sessions (deviceid = key.device + 1), their DNS names and (with
  /// capture names) their capture file.
  void write_sessions(const std::vector<Session>& sessions);
  void write_device(const DeviceRow& d);
  /// Commit and close. Returns the number of dns_queries rows written.
  void commit();

  std::int64_t sessions_written() const { return sessions_; }
  std::int64_t names_written() const { return names_; }

 private:
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* ins_session_ = nullptr;
  sqlite3_stmt* ins_name_ = nullptr;
  sqlite3_stmt* ins_device_ = nullptr;
  sqlite3_stmt* ins_capture_ = nullptr;
  const std::vector<std::string>* capture_names_ = nullptr;
  std::string path_;
  std::int64_t sessions_ = 0, names_ = 0;
};

/// Unix seconds as a double from nanoseconds.
inline double ns_to_seconds(std::int64_t ns) {
  std::int64_t s = ns / 1000000000, r = ns % 1000000000;
  if (r < 0) {
    r += 1000000000;
    s -= 1;
  }
  return static_cast<double>(s) + static_cast<double>(r) * 1e-9;
}

}  // namespace pipectl::ingest
