#include "writer.h"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "netcollector_schema.h"  // generated from schemas/netcollector.sql

namespace fs = std::filesystem;

namespace ncgen {

namespace {

// "(?,?,?),(?,?,?)" for `rows` rows of `columns` parameters.
std::string values_list(int rows, int columns) {
    std::string out;
    for (int r = 0; r < rows; ++r) {
        out += r == 0 ? "(" : ",(";
        for (int c = 0; c < columns; ++c) out += c == 0 ? "?" : ",?";
        out += ")";
    }
    return out;
}

}  // namespace

DatabaseWriter::DatabaseWriter(std::string path, bool overwrite)
    : path_(std::move(path)), temp_path_(path_ + ".tmp"), overwrite_(overwrite) {
    if (!overwrite_ && fs::exists(path_))
        throw std::runtime_error(path_ + " already exists (use --force to overwrite it)");
    std::error_code ec;
    fs::remove(temp_path_, ec);  // left over from an interrupted run
    try {
        open();
    } catch (...) {
        close();
        fs::remove(temp_path_, ec);
        throw;
    }
}

void DatabaseWriter::open() {
    // One thread writes: skip SQLite's malloc statistics and connection mutex (both lock per call).
    // sqlite3_config() only works before SQLite initialises; later calls are harmless no-ops.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(temp_path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
        fail("cannot create " + temp_path_);

    // Bulk load: no journal, no fsync, one writer. A crash leaves only FILE.tmp behind.
    exec("PRAGMA journal_mode = OFF");
    exec("PRAGMA synchronous = OFF");
    exec("PRAGMA locking_mode = EXCLUSIVE");
    exec("PRAGMA temp_store = MEMORY");
    exec("PRAGMA cache_size = -262144");  // 256 MiB
    exec(kNetcollectorSchemaSql);

    // Secondary indexes are built after the bulk insert (much faster); remember
    // their exact CREATE statements so the final schema equals the .sql file's.
    sqlite3_stmt* q = prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
    while (sqlite3_step(q) == SQLITE_ROW)
        deferred_indexes_.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)),
                                       reinterpret_cast<const char*>(sqlite3_column_text(q, 1)));
    sqlite3_finalize(q);
    for (const auto& index : deferred_indexes_) exec(("DROP INDEX \"" + index.first + "\"").c_str());

    exec("BEGIN");
    insert_device_ = prepare(
        "INSERT INTO devices (deviceid, mac, ip, manufacturer, device_type, hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    const std::string sessions_head =
        "INSERT INTO sessions (sessionid, deviceid, protocol, srcip, srcport, dstip, dstport, lensum, pktcount, "
        "starttime, endtime) VALUES ";
    const std::string dns_head = "INSERT INTO dns_queries (sessionid, qname) VALUES ";
    insert_session_ = prepare((sessions_head + values_list(1, 11)).c_str());
    insert_dns_ = prepare((dns_head + values_list(1, 2)).c_str());
    insert_sessions_bulk_ = prepare((sessions_head + values_list(kSessionsPerInsert, 11)).c_str());
    insert_dns_bulk_ = prepare((dns_head + values_list(kNamesPerInsert, 2)).c_str());
    pending_sessions_.reserve(kSessionsPerInsert);
    pending_names_.reserve(kNamesPerInsert);
}

DatabaseWriter::~DatabaseWriter() {
    if (!finished_) {
        close();
        std::error_code ec;
        fs::remove(temp_path_, ec);
    }
}

void DatabaseWriter::add_device(const Device& device) {
    auto text_or_null = [this](int col, const char* value) {
        if (value != nullptr) sqlite3_bind_text(insert_device_, col, value, -1, SQLITE_STATIC);
        else sqlite3_bind_null(insert_device_, col);
    };
    sqlite3_bind_int64(insert_device_, 1, device.id);
    sqlite3_bind_text(insert_device_, 2, device.mac.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_device_, 3, device.ip.c_str(), -1, SQLITE_STATIC);
    text_or_null(4, device.spec->manufacturer);
    text_or_null(5, device.spec->device_type);
    text_or_null(6, device.spec->hostname);
    step_and_reset(insert_device_);
}

void DatabaseWriter::flush() {
    flush_sessions();
    flush_names();
}

void DatabaseWriter::add_session(std::int64_t sessionid, const SessionRecord& s) {
    pending_sessions_.emplace_back(sessionid, s);
    if (pending_sessions_.size() == kSessionsPerInsert) flush_sessions();
    for (int i = 0; i < s.name_count; ++i) {
        pending_names_.push_back({sessionid, s.names[i]});
        if (pending_names_.size() == kNamesPerInsert) flush_names();
        ++dns_rows_;
    }
}

void DatabaseWriter::flush_sessions() {
    const bool bulk = pending_sessions_.size() == kSessionsPerInsert;
    for (std::size_t first = 0; first < pending_sessions_.size();) {
        sqlite3_stmt* st = bulk ? insert_sessions_bulk_ : insert_session_;
        const std::size_t rows = bulk ? pending_sessions_.size() : 1;
        for (std::size_t r = 0; r < rows; ++r) {
            const auto& [sessionid, s] = pending_sessions_[first + r];
            const int p = static_cast<int>(r) * 11;
            sqlite3_bind_int64(st, p + 1, sessionid);
            sqlite3_bind_int64(st, p + 2, s.deviceid);
            sqlite3_bind_int(st, p + 3, s.protocol);
            sqlite3_bind_text(st, p + 4, s.srcip, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, p + 5, s.srcport);
            sqlite3_bind_text(st, p + 6, s.dstip, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, p + 7, s.dstport);
            sqlite3_bind_int64(st, p + 8, s.lensum);
            sqlite3_bind_int64(st, p + 9, s.pktcount);
            sqlite3_bind_double(st, p + 10, s.starttime);
            sqlite3_bind_double(st, p + 11, s.endtime);
        }
        step_and_reset(st);
        first += rows;
    }
    pending_sessions_.clear();
}

void DatabaseWriter::flush_names() {
    const bool bulk = pending_names_.size() == kNamesPerInsert;
    for (std::size_t first = 0; first < pending_names_.size();) {
        sqlite3_stmt* st = bulk ? insert_dns_bulk_ : insert_dns_;
        const std::size_t rows = bulk ? pending_names_.size() : 1;
        for (std::size_t r = 0; r < rows; ++r) {
            const int p = static_cast<int>(r) * 2;
            sqlite3_bind_int64(st, p + 1, pending_names_[first + r].sessionid);
            sqlite3_bind_text(st, p + 2, pending_names_[first + r].qname, -1, SQLITE_STATIC);
        }
        step_and_reset(st);
        first += rows;
    }
    pending_names_.clear();
}

void DatabaseWriter::finish() {
    flush_sessions();
    flush_names();
    finalize_statements();
    exec("COMMIT");
    for (const auto& index : deferred_indexes_) exec(index.second.c_str());
    close();

    if (!overwrite_ && fs::exists(path_))
        throw std::runtime_error(path_ + " appeared while generating; left the result in " + temp_path_);
    fs::rename(temp_path_, path_);  // atomic within a file system; replaces an old file under --force
    finished_ = true;
}

void DatabaseWriter::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err != nullptr ? err : "unknown error";
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + msg);
    }
}

sqlite3_stmt* DatabaseWriter::prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) fail(std::string("cannot prepare ") + sql);
    return stmt;
}

void DatabaseWriter::step_and_reset(sqlite3_stmt* stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) fail("insert failed");
    sqlite3_reset(stmt);
}

void DatabaseWriter::fail(const std::string& what) {
    const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    throw std::runtime_error(what + ": " + detail);
}

void DatabaseWriter::finalize_statements() {
    for (sqlite3_stmt** st :
         {&insert_device_, &insert_session_, &insert_dns_, &insert_sessions_bulk_, &insert_dns_bulk_}) {
        sqlite3_finalize(*st);
        *st = nullptr;
    }
}

void DatabaseWriter::close() {
    finalize_statements();
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
}

}  // namespace ncgen
