// Writes a NetCollector database: the embedded schema (schemas/netcollector.sql),
// then devices, sessions and dns_queries in one transaction with prepared
// statements. Everything goes to FILE.tmp, which is renamed to FILE only once
// complete, so a half-written database never appears under the final name.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "network.h"
#include "profiles.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ncgen {

class DatabaseWriter {
public:
    // Throws if `path` exists and `overwrite` is false.
    DatabaseWriter(std::string path, bool overwrite);
    ~DatabaseWriter();  // an unfinished database is closed and its .tmp file removed
    DatabaseWriter(const DatabaseWriter&) = delete;
    DatabaseWriter& operator=(const DatabaseWriter&) = delete;

    void add_device(const Device& device);
    void add_session(std::int64_t sessionid, const SessionRecord& session);

    // Inserts the rows still pending: sessions point into their Network, so this
    // must run before a Network is destroyed (--households: after each household).
    void flush();

    // Commits, builds the indexes, closes and renames FILE.tmp to FILE.
    void finish();

    std::int64_t dns_rows() const { return dns_rows_; }
    const std::string& temp_path() const { return temp_path_; }

private:
    void open();
    void exec(const char* sql);
    sqlite3_stmt* prepare(const char* sql);
    void step_and_reset(sqlite3_stmt* stmt);
    [[noreturn]] void fail(const std::string& what);
    void finalize_statements();
    void close();

    void flush_sessions();
    void flush_names();

    // Rows are inserted kRowsPerInsert at a time: one multi-row INSERT costs far
    // less per row than single-row statements. The remainder uses single-row ones.
    static constexpr int kSessionsPerInsert = 64;
    static constexpr int kNamesPerInsert = 128;

    struct PendingName {
        std::int64_t sessionid;
        const char* qname;
    };

    std::string path_;
    std::string temp_path_;
    bool overwrite_;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_device_ = nullptr;
    sqlite3_stmt* insert_session_ = nullptr;
    sqlite3_stmt* insert_dns_ = nullptr;
    sqlite3_stmt* insert_sessions_bulk_ = nullptr;
    sqlite3_stmt* insert_dns_bulk_ = nullptr;
    std::vector<std::pair<std::int64_t, SessionRecord>> pending_sessions_;
    std::vector<PendingName> pending_names_;
    std::vector<std::pair<std::string, std::string>> deferred_indexes_;  // name, CREATE statement
    std::int64_t dns_rows_ = 0;
    bool finished_ = false;
};

}  // namespace ncgen
