// Runs the built netcollector-gen and checks the database it writes.
// (Test names must not contain ";": CMake would split them into bogus tests.)
//
// Tolerances (stated once here, used below):
//   * quartiles of bytes / packets / |duration| within +-35 % of the analysed
//     data's (240/1200/3600 bytes, 2/6/13 packets, 0.03/14/30 s);
//   * IoT share of labelled sessions in [0.14, 0.15];
//   * distinct DNS names in [200, 320];
//   * univariate ROC AUC of |duration| for is_iot in [0.35, 0.65];
//   * IoT rate of sessions above mean + 2 std bytes >= 3x the rate below.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifndef NETCOLLECTOR_GEN_EXE
#error "NETCOLLECTOR_GEN_EXE must name the generator executable"
#endif
#ifndef NETCOLLECTOR_SCHEMA_FILE
#error "NETCOLLECTOR_SCHEMA_FILE must name schemas/netcollector.sql"
#endif

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDefaultSessions = 9688;
constexpr std::int64_t kDefaultUnlabelled = 484;  // round(9688 * 0.05)
constexpr double kCaptureStart = 1554076800.0;
constexpr double kWeek = 7 * 86400.0;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "netcollector-gen-test-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

const fs::path& scratch() {
    static TempDir dir;
    return dir.path();
}

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

struct RunResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

RunResult run_generator(const std::string& args) {
    const std::string cmd = quote(NETCOLLECTOR_GEN_EXE) + " " + args + " 2>&1";
    RunResult result;
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << cmd);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

fs::path generate(const std::string& name, const std::string& args) {
    const fs::path out = scratch() / name;
    const RunResult r = run_generator(args + " --out " + quote(out.string()));
    INFO("generator output: " << r.output);
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::exists(out));
    return out;
}

// The default-size database (N = 9688, seed 42), generated once per process.
const fs::path& default_db() {
    static const fs::path path = generate("default.sqlite", "--sessions 9688 --seed 42");
    return path;
}

class Db {
public:
    explicit Db(const fs::path& path, int flags = SQLITE_OPEN_READONLY) {
        if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
            const std::string msg = sqlite3_errmsg(db_);
            sqlite3_close(db_);
            throw std::runtime_error("cannot open " + path.string() + ": " + msg);
        }
    }
    ~Db() { sqlite3_close(db_); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            const std::string msg = err != nullptr ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error("sqlite: " + msg);
        }
    }

    // Calls fn(stmt) for every row.
    template <typename Fn>
    void each(const std::string& sql, Fn fn) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("cannot prepare: ") + sqlite3_errmsg(db_) + " in " + sql);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) throw std::runtime_error("query failed: " + sql);
    }

    double real(const std::string& sql) {
        double v = NAN;
        each(sql, [&](sqlite3_stmt* st) { v = sqlite3_column_double(st, 0); });
        return v;
    }
    std::int64_t integer(const std::string& sql) {
        std::int64_t v = -1;
        each(sql, [&](sqlite3_stmt* st) { v = sqlite3_column_int64(st, 0); });
        return v;
    }
    std::vector<double> reals(const std::string& sql) {
        std::vector<double> v;
        each(sql, [&](sqlite3_stmt* st) { v.push_back(sqlite3_column_double(st, 0)); });
        return v;
    }
    std::set<std::string> strings(const std::string& sql) {
        std::set<std::string> v;
        each(sql, [&](sqlite3_stmt* st) {
            const auto* t = sqlite3_column_text(st, 0);
            v.insert(t != nullptr ? reinterpret_cast<const char*>(t) : "<NULL>");
        });
        return v;
    }

    // FNV-1a over every value (type tag + bytes) of every row, tables in key order.
    std::uint64_t content_hash() {
        std::uint64_t h = 1469598103934665603ULL;
        auto mix = [&h](const void* data, std::size_t n) {
            const auto* p = static_cast<const unsigned char*>(data);
            for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
        };
        const char* queries[] = {
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
            "SELECT * FROM devices ORDER BY deviceid",
            "SELECT * FROM sessions ORDER BY sessionid",
            "SELECT sessionid, qname FROM dns_queries ORDER BY sessionid, qname",
        };
        for (const char* q : queries) {
            each(q, [&](sqlite3_stmt* st) {
                for (int c = 0; c < sqlite3_column_count(st); ++c) {
                    const int type = sqlite3_column_type(st, c);
                    mix(&type, sizeof type);
                    if (type == SQLITE_INTEGER) {
                        const std::int64_t v = sqlite3_column_int64(st, c);
                        mix(&v, sizeof v);
                    } else if (type == SQLITE_FLOAT) {
                        const double v = sqlite3_column_double(st, c);
                        mix(&v, sizeof v);
                    } else if (type != SQLITE_NULL) {
                        mix(sqlite3_column_blob(st, c), static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
                    }
                }
                const char sep = '\n';
                mix(&sep, 1);
            });
        }
        return h;
    }

private:
    sqlite3* db_ = nullptr;
};

// Quantile with linear interpolation between order statistics (numpy's default).
double quantile(std::vector<double> v, double p) {
    REQUIRE(!v.empty());
    std::sort(v.begin(), v.end());
    const double pos = p * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

void check_near(const char* what, double actual, double target, double rel_tol) {
    INFO(what << ": actual " << actual << ", target " << target << " +-" << rel_tol * 100 << " %");
    CHECK(actual >= target * (1.0 - rel_tol));
    CHECK(actual <= target * (1.0 + rel_tol));
}

// ROC AUC of `score` for binary `label` (Mann-Whitney U with average ranks for ties).
double roc_auc(const std::vector<std::pair<double, int>>& score_label) {
    std::vector<std::pair<double, int>> v = score_label;
    std::sort(v.begin(), v.end());
    double rank_sum_pos = 0.0;
    double n_pos = 0.0, n_neg = 0.0;
    for (std::size_t i = 0; i < v.size();) {
        std::size_t j = i;
        while (j < v.size() && v[j].first == v[i].first) ++j;
        const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
        for (std::size_t k = i; k < j; ++k) {
            if (v[k].second != 0) {
                rank_sum_pos += avg_rank;
                n_pos += 1.0;
            } else {
                n_neg += 1.0;
            }
        }
        i = j;
    }
    return (rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Labelled sessions with their label, as the analysis selects them.
const char* const kLabelled =
    "SELECT s.*, d.manufacturer, d.device_type, (d.device_type <> 'Other') AS is_iot, "
    "       (SELECT count(*) FROM dns_queries q WHERE q.sessionid = s.sessionid) AS n_names "
    "FROM sessions s INNER JOIN v_session_mnf_devicetype d ON s.sessionid = d.sessionid "
    "WHERE d.device_type IS NOT NULL";

std::string labelled(const std::string& select_from_l) {
    return "WITH l AS (" + std::string(kLabelled) + ") " + select_from_l;
}

}  // namespace

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

TEST_CASE("cli: --help documents every option") {
    const RunResult r = run_generator("--help");
    CHECK(r.exit_code == 0);
    for (const char* opt : {"--sessions", "--seed", "--out", "--unlabelled-share", "--force", "--help", "--households", "--catalogue-seed", "--products", "--list-products"}) {
        INFO(opt);
        CHECK(r.output.find(opt) != std::string::npos);
    }
}

TEST_CASE("cli: bad arguments are rejected with exit code 2") {
    CHECK(run_generator("--sessions 10").exit_code == 2);  // no --out
    CHECK(run_generator("--sessions abc --out " + quote((scratch() / "x.sqlite").string())).exit_code == 2);
    CHECK(run_generator("--unlabelled-share 2 --out " + quote((scratch() / "x.sqlite").string())).exit_code == 2);
    CHECK(run_generator("--bogus --out " + quote((scratch() / "x.sqlite").string())).exit_code == 2);
    CHECK_FALSE(fs::exists(scratch() / "x.sqlite"));
}

TEST_CASE("refuses to overwrite an existing file unless --force") {
    const fs::path out = scratch() / "existing.sqlite";
    { std::ofstream(out) << "precious"; }

    const RunResult refused = run_generator("--sessions 500 --out " + quote(out.string()));
    CHECK(refused.exit_code != 0);
    CHECK(refused.output.find("--force") != std::string::npos);
    CHECK(read_file(out) == "precious");
    CHECK_FALSE(fs::exists(out.string() + ".tmp"));

    const RunResult forced = run_generator("--sessions 500 --force --out " + quote(out.string()));
    INFO(forced.output);
    CHECK(forced.exit_code == 0);
    CHECK(read_file(out).rfind("SQLite format 3", 0) == 0);
    CHECK_FALSE(fs::exists(out.string() + ".tmp"));
    Db db(out);
    CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NOT NULL") == 500);
}

TEST_CASE("prints a one-line summary and leaves no temporary file") {
    const fs::path out = scratch() / "summary.sqlite";
    const RunResult r = run_generator("--sessions 2000 --seed 7 --out " + quote(out.string()));
    CHECK(r.exit_code == 0);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(r.output.find("2000 labelled") != std::string::npos);
    CHECK(r.output.find("dns rows") != std::string::npos);
    CHECK_FALSE(fs::exists(out.string() + ".tmp"));
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

TEST_CASE("schemas/netcollector.sql gives the same schema as the generator") {
    const std::string sql = read_file(NETCOLLECTOR_SCHEMA_FILE);
    REQUIRE(!sql.empty());
    const fs::path empty = scratch() / "from-sql-file.sqlite";
    {
        Db fresh(empty, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        fresh.exec(sql);
        fresh.exec(sql);  // IF NOT EXISTS everywhere: applying twice is harmless
    }
    auto describe = [](Db& db) {
        std::vector<std::string> rows;
        db.each("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name",
                [&](sqlite3_stmt* st) {
                    std::string row;
                    for (int c = 0; c < 4; ++c) row += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c))) + "|";
                    rows.push_back(row);
                });
        for (const char* table : {"devices", "sessions", "dns_queries", "v_session_mnf_devicetype"}) {
            db.each(std::string("PRAGMA table_info(") + table + ")", [&](sqlite3_stmt* st) {
                std::string row = table;
                for (int c = 0; c < sqlite3_column_count(st); ++c) {
                    const auto* t = sqlite3_column_text(st, c);
                    row += "|" + std::string(t != nullptr ? reinterpret_cast<const char*>(t) : "NULL");
                }
                rows.push_back(row);
            });
        }
        return rows;
    };
    Db from_file(empty);
    Db generated(default_db());
    const auto expected = describe(from_file);
    const auto actual = describe(generated);
    CHECK(expected == actual);
    CHECK(expected.size() >= 5 + 6 + 11 + 2 + 3);  // 3 tables, 1 view, 2 indexes + their columns
    CHECK(generated.integer("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dns_queries'") == 1);
    CHECK(generated.integer("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'v_session_mnf_devicetype'") == 1);
}

// ---------------------------------------------------------------------------
// Counts and labels at the default size
// ---------------------------------------------------------------------------

TEST_CASE("default size: exactly 9688 labelled sessions, unlabelled devices on top") {
    Db db(default_db());
    CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NOT NULL") == kDefaultSessions);
    CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NULL") == kDefaultUnlabelled);
    CHECK(db.integer("SELECT count(*) FROM sessions") == kDefaultSessions + kDefaultUnlabelled);
    CHECK(db.integer("SELECT count(*) FROM devices WHERE device_type IS NULL") >= 1);
    // Every session's device exists, and session ids are 1..n.
    CHECK(db.integer("SELECT count(*) FROM sessions s LEFT JOIN devices d USING (deviceid) WHERE d.deviceid IS NULL") == 0);
    CHECK(db.integer("SELECT min(sessionid) FROM sessions") == 1);
    CHECK(db.integer("SELECT max(sessionid) FROM sessions") == kDefaultSessions + kDefaultUnlabelled);
    // Home-sized network.
    const auto devices = db.integer("SELECT count(*) FROM devices");
    CHECK(devices >= 15);
    CHECK(devices <= 60);
}

TEST_CASE("default size: IoT share of labelled sessions in [0.14, 0.15]") {
    Db db(default_db());
    const double share = db.real(labelled("SELECT avg(is_iot) FROM l"));
    INFO("IoT share " << share);
    CHECK(share >= 0.14);
    CHECK(share <= 0.15);
    // IoT device_type is a model name; everything else is 'Other'.
    const auto types = db.strings("SELECT DISTINCT device_type FROM devices WHERE device_type IS NOT NULL");
    CHECK(types.count("Other") == 1);
    CHECK(types.size() >= 6);
    for (const char* model : {"Wyze Cam v2", "Nest Cam", "Amazon Echo Dot", "Google Home Mini", "TP-Link HS110",
                              "Raspberry Pi 3B", "Philips Hue Bridge"}) {
        INFO(model);
        CHECK(types.count(model) == 1);
    }
}

TEST_CASE("default size: the 15 manufacturers, some on both IoT and non-IoT devices") {
    Db db(default_db());
    const std::set<std::string> expected = {
        "Amazon Technologies", "Apple", "AzureWave", "Beijing LT Honway", "Google", "Hewlett Packard",
        "Intel Corporate", "Murata", "Raspberry Pi Foundation", "Realtek", "Rivet Networks",
        "Samsung Electro-Mechanics", "Technicolor CH USA", "Topwell International", "Ubiquiti Networks"};
    CHECK(db.strings(labelled("SELECT DISTINCT manufacturer FROM l")) == expected);
    CHECK(db.strings("SELECT DISTINCT manufacturer FROM devices WHERE device_type IS NOT NULL") == expected);
    // Manufacturer alone does not decide the label.
    const auto mixed = db.integer(labelled("SELECT count(*) FROM (SELECT manufacturer FROM l GROUP BY manufacturer "
                                           "HAVING min(is_iot) = 0 AND max(is_iot) = 1)"));
    CHECK(mixed >= 3);
}

TEST_CASE("devices: unique MACs with the manufacturer's OUI, LAN addresses, hostnames") {
    Db db(default_db());
    CHECK(db.integer("SELECT count(DISTINCT mac) FROM devices") == db.integer("SELECT count(*) FROM devices"));
    CHECK(db.integer("SELECT count(*) FROM devices WHERE mac NOT GLOB "
                     "'[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'") == 0);
    CHECK(db.integer("SELECT count(*) FROM devices WHERE ip NOT LIKE '192.168.1.%'") == 0);
    CHECK(db.integer("SELECT count(DISTINCT ip) FROM devices") == db.integer("SELECT count(*) FROM devices"));
    // Spot checks of real OUIs.
    CHECK(db.integer("SELECT count(*) FROM devices WHERE manufacturer = 'Raspberry Pi Foundation' AND mac NOT LIKE 'b8:27:eb:%'") == 0);
    CHECK(db.integer("SELECT count(*) FROM devices WHERE manufacturer = 'Realtek' AND mac NOT LIKE '00:e0:4c:%'") == 0);
    CHECK(db.integer("SELECT count(*) FROM devices WHERE hostname LIKE '%cam%' AND device_type IN ('Wyze Cam v2', 'Nest Cam')") >= 2);
    // The sender of a session is its device.
    CHECK(db.integer("SELECT count(*) FROM sessions s JOIN devices d USING (deviceid) WHERE s.srcip <> d.ip") == 0);
}

// ---------------------------------------------------------------------------
// Distributions at the default size (labelled sessions)
// ---------------------------------------------------------------------------

TEST_CASE("bytes: min 60, quartiles near 240 / 1200 / 3600, max in the hundreds of millions") {
    Db db(default_db());
    const auto bytes = db.reals(labelled("SELECT lensum FROM l"));
    CHECK(*std::min_element(bytes.begin(), bytes.end()) == 60.0);
    check_near("bytes Q1", quantile(bytes, 0.25), 240, 0.35);
    check_near("bytes median", quantile(bytes, 0.50), 1200, 0.35);
    check_near("bytes Q3", quantile(bytes, 0.75), 3600, 0.35);
    const double max = *std::max_element(bytes.begin(), bytes.end());
    CHECK(max >= 1e8);
    CHECK(max < 1e9);
}

TEST_CASE("packets: min 1, quartiles near 2 / 6 / 13, max near 500,000, consistent with bytes") {
    Db db(default_db());
    const auto pkts = db.reals(labelled("SELECT pktcount FROM l"));
    CHECK(*std::min_element(pkts.begin(), pkts.end()) == 1.0);
    check_near("packets Q1", quantile(pkts, 0.25), 2, 0.35);
    check_near("packets median", quantile(pkts, 0.50), 6, 0.35);
    check_near("packets Q3", quantile(pkts, 0.75), 13, 0.35);
    const double max = *std::max_element(pkts.begin(), pkts.end());
    CHECK(max >= 2e5);
    CHECK(max <= 1e6);
    // Every session (labelled or not): 60..1514 bytes per packet.
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE pktcount < 1 OR lensum < 60 * pktcount OR lensum > 1514 * pktcount") == 0);
}

TEST_CASE("duration: quartiles near 0.03 / 14 / 30 s, max near 2000 s, some endtime < starttime") {
    Db db(default_db());
    const auto durn = db.reals(labelled("SELECT abs(endtime - starttime) FROM l"));
    check_near("duration Q1", quantile(durn, 0.25), 0.03, 0.35);
    check_near("duration median", quantile(durn, 0.50), 14, 0.35);
    check_near("duration Q3", quantile(durn, 0.75), 30, 0.35);
    const double max = *std::max_element(durn.begin(), durn.end());
    CHECK(max >= 1500);
    CHECK(max <= 2000);
    const double swapped = db.real(labelled("SELECT avg(endtime < starttime) FROM l"));
    INFO("share with endtime < starttime: " << swapped);
    CHECK(swapped >= 0.01);
    CHECK(swapped <= 0.03);
    // Start times spread over the capture week.
    CHECK(db.real("SELECT min(starttime) FROM sessions") >= kCaptureStart);
    CHECK(db.real("SELECT max(starttime) FROM sessions") < kCaptureStart + kWeek);
    CHECK(db.real("SELECT max(starttime) - min(starttime) FROM sessions") > 0.95 * kWeek);
    // Session ids follow start time.
    CHECK(db.integer("SELECT count(*) FROM sessions a JOIN sessions b ON b.sessionid = a.sessionid + 1 "
                     "WHERE b.starttime < a.starttime") == 0);
}

TEST_CASE("DNS names: about 250 distinct, long tail, most sessions ask none") {
    Db db(default_db());
    const auto distinct = db.integer("SELECT count(DISTINCT qname) FROM dns_queries");
    INFO("distinct names " << distinct);
    CHECK(distinct >= 200);
    CHECK(distinct <= 320);
    // Zipf-like: the most asked name is asked far more often than the median name,
    // and many names are rare.
    const auto counts = db.reals("SELECT count(*) FROM dns_queries GROUP BY qname ORDER BY 1 DESC");
    const double top = counts.front();
    const double median = quantile(counts, 0.5);
    INFO("top " << top << ", median " << median);
    CHECK(top >= 10 * median);
    const double rare = static_cast<double>(std::count_if(counts.begin(), counts.end(), [](double c) { return c <= 3; }));
    CHECK(rare >= 0.2 * static_cast<double>(counts.size()));
    // Many sessions have none; some have several.
    const double with_names = db.real(labelled("SELECT avg(n_names > 0) FROM l"));
    CHECK(with_names > 0.1);
    CHECK(with_names < 0.5);
    CHECK(db.integer(labelled("SELECT max(n_names) FROM l")) >= 3);
    // Realistic vendor endpoints are among them.
    const auto names = db.strings("SELECT DISTINCT qname FROM dns_queries");
    for (const char* n : {"device-metrics-us.amazon.com", "clients3.google.com", "time.apple.com", "api.wyzecam.com",
                          "raspbian.raspberrypi.org", "www.google.com"}) {
        INFO(n);
        CHECK(names.count(n) == 1);
    }
    CHECK(db.integer("SELECT count(*) FROM dns_queries q LEFT JOIN sessions s USING (sessionid) WHERE s.sessionid IS NULL") == 0);
}

TEST_CASE("ports, protocols and addresses are realistic") {
    Db db(default_db());
    const auto protocols = db.strings("SELECT DISTINCT protocol FROM sessions");
    CHECK(protocols == std::set<std::string>{"1", "17", "6"});
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE protocol = 1 AND (srcport <> 0 OR dstport <> 0)") == 0);
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE protocol <> 1 AND "
                     "(srcport NOT BETWEEN 1 AND 65535 OR dstport NOT BETWEEN 1 AND 65535)") == 0);
    // 443 is the most common destination port; the well-known services are all there.
    CHECK(db.integer("SELECT dstport FROM sessions GROUP BY dstport ORDER BY count(*) DESC LIMIT 1") == 443);
    for (int port : {53, 80, 123, 443, 554, 1900, 5353, 8883}) {
        INFO("dstport " << port);
        CHECK(db.integer("SELECT count(*) FROM sessions WHERE dstport = " + std::to_string(port)) > 0);
    }
    // Clients send from ephemeral ports; RTSP (554) is served only by cameras.
    CHECK(db.real("SELECT avg(srcport >= 32768) FROM sessions WHERE protocol = 6 AND dstport = 443") > 0.99);
    CHECK(db.integer("SELECT count(*) FROM sessions s JOIN devices d USING (deviceid) WHERE s.srcport = 554 "
                     "AND d.device_type NOT IN ('Wyze Cam v2', 'Nest Cam')") == 0);
    // Per-type differences: IoT and non-IoT differ in their destination ports.
    CHECK(db.real(labelled("SELECT avg(dstport IN (8883, 1883, 10001, 32100, 50443)) FROM l WHERE is_iot")) >
          5 * db.real(labelled("SELECT avg(dstport IN (8883, 1883, 10001, 32100, 50443)) FROM l WHERE NOT is_iot")));
    // Destinations: LAN, multicast/broadcast or public-looking.
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE dstip LIKE '10.%' OR dstip LIKE '172.16.%' OR dstip = srcip") == 0);
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE dstip LIKE '192.168.1.%'") > 0);
    CHECK(db.integer("SELECT count(*) FROM sessions WHERE dstip NOT LIKE '192.168.%' AND dstip NOT LIKE '22_.%' "
                     "AND dstip NOT LIKE '239.%' AND dstip <> '255.255.255.255'") > 0);
}

// ---------------------------------------------------------------------------
// The analysis's findings
// ---------------------------------------------------------------------------

TEST_CASE("findings: sessions over 1e8 bytes are camera streams (IoT)") {
    Db db(default_db());
    const auto big = db.integer(labelled("SELECT count(*) FROM l WHERE lensum > 1e8"));
    CHECK(big >= 1);
    CHECK(big <= 30);
    CHECK(db.integer(labelled("SELECT count(*) FROM l WHERE lensum > 1e8 AND device_type NOT IN ('Wyze Cam v2', 'Nest Cam')")) == 0);
    CHECK(db.integer("SELECT count(*) FROM sessions s JOIN devices d USING (deviceid) WHERE s.lensum > 1e8 "
                     "AND (d.device_type IS NULL OR d.device_type = 'Other')") == 0);
}

TEST_CASE("findings: every Raspberry Pi Foundation session is IoT") {
    Db db(default_db());
    CHECK(db.integer(labelled("SELECT count(*) FROM l WHERE manufacturer = 'Raspberry Pi Foundation'")) > 0);
    CHECK(db.integer(labelled("SELECT count(*) FROM l WHERE manufacturer = 'Raspberry Pi Foundation' AND NOT is_iot")) == 0);
}

TEST_CASE("findings: IoT sessions ask fewer DNS names and sessions without names are more often IoT") {
    Db db(default_db());
    const double iot_names = db.real(labelled("SELECT avg(n_names) FROM l WHERE is_iot"));
    const double other_names = db.real(labelled("SELECT avg(n_names) FROM l WHERE NOT is_iot"));
    INFO("mean names: IoT " << iot_names << ", non-IoT " << other_names);
    CHECK(iot_names < other_names);
    const double rate_without = db.real(labelled("SELECT avg(is_iot) FROM l WHERE n_names = 0"));
    const double rate_with = db.real(labelled("SELECT avg(is_iot) FROM l WHERE n_names > 0"));
    INFO("IoT rate: without names " << rate_without << ", with names " << rate_with);
    CHECK(rate_without > rate_with);
}

TEST_CASE("findings: duration is a weak signal (univariate ROC AUC in [0.35, 0.65])") {
    Db db(default_db());
    std::vector<std::pair<double, int>> v;
    db.each(labelled("SELECT abs(endtime - starttime), is_iot FROM l"), [&](sqlite3_stmt* st) {
        v.emplace_back(sqlite3_column_double(st, 0), sqlite3_column_int(st, 1));
    });
    const double auc = roc_auc(v);
    INFO("duration AUC " << auc);
    CHECK(auc >= 0.35);
    CHECK(auc <= 0.65);
}

TEST_CASE("findings: byte outliers (above mean + 2 std) are mostly IoT") {
    Db db(default_db());
    const auto bytes = db.reals(labelled("SELECT lensum FROM l"));
    double mean = 0.0;
    for (double b : bytes) mean += b / static_cast<double>(bytes.size());
    double var = 0.0;
    for (double b : bytes) var += (b - mean) * (b - mean) / static_cast<double>(bytes.size() - 1);
    const double threshold = mean + 2.0 * std::sqrt(var);
    const std::string t = std::to_string(threshold);
    const auto above = db.integer(labelled("SELECT count(*) FROM l WHERE lensum > " + t));
    const double rate_above = db.real(labelled("SELECT avg(is_iot) FROM l WHERE lensum > " + t));
    const double rate_below = db.real(labelled("SELECT avg(is_iot) FROM l WHERE lensum <= " + t));
    INFO("threshold " << threshold << ": " << above << " above with IoT rate " << rate_above << ", below " << rate_below);
    CHECK(above >= 5);
    CHECK(rate_above >= 3.0 * rate_below);
}

// ---------------------------------------------------------------------------
// Determinism and options
// ---------------------------------------------------------------------------

TEST_CASE("determinism: the same seed gives identical content and bytes and another seed differs") {
    const fs::path again = generate("again.sqlite", "--sessions 9688 --seed 42");
    const fs::path other = generate("other-seed.sqlite", "--sessions 9688 --seed 43");
    std::uint64_t h_default, h_again, h_other;
    {
        Db a(default_db()), b(again), c(other);
        h_default = a.content_hash();
        h_again = b.content_hash();
        h_other = c.content_hash();
        CHECK(c.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NOT NULL") == kDefaultSessions);
        // Different data, not merely a different order: the MACs and the byte totals differ.
        CHECK(a.strings("SELECT mac FROM devices") != c.strings("SELECT mac FROM devices"));
        CHECK(a.integer("SELECT sum(lensum) FROM sessions") != c.integer("SELECT sum(lensum) FROM sessions"));
    }
    CHECK(h_default == h_again);
    CHECK(h_default != h_other);
    CHECK(read_file(default_db()) == read_file(again));
}

TEST_CASE("options: --sessions and --unlabelled-share") {
    {
        const fs::path p = generate("small.sqlite", "--sessions 1000 --seed 5 --unlabelled-share 0");
        Db db(p);
        CHECK(db.integer("SELECT count(*) FROM sessions") == 1000);
        CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NULL") == 0);
        CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type <> 'Other'") == 145);
    }
    {
        const fs::path p = generate("more-unlabelled.sqlite", "--sessions=4000 --seed=5 --unlabelled-share=0.25");
        Db db(p);
        CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NULL") == 1000);
        CHECK(db.integer("SELECT count(*) FROM v_session_mnf_devicetype WHERE device_type IS NOT NULL") == 4000);
    }
}

// ---------------------------------------------------------------------------
// --households: many products, disjoint halves
// ---------------------------------------------------------------------------

namespace {

struct CatalogueRow {
    std::string product, device_type, manufacturer, oui, cls, half;
};

// --list-products parsed (no field of the catalogue holds a comma or quote).
std::vector<CatalogueRow> catalogue(const std::string& args = "") {
    const RunResult r = run_generator("--list-products " + args);
    REQUIRE(r.exit_code == 0);
    std::vector<CatalogueRow> rows;
    std::size_t at = r.output.find('\n') + 1;  // header
    while (at < r.output.size()) {
        const std::size_t end = r.output.find('\n', at);
        const std::string line = r.output.substr(at, end - at);
        at = end + 1;
        std::vector<std::string> f;
        std::size_t p = 0;
        for (std::size_t q; (q = line.find(',', p)) != std::string::npos; p = q + 1) f.push_back(line.substr(p, q - p));
        f.push_back(line.substr(p));
        REQUIRE(f.size() == 6);
        rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
    }
    return rows;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

TEST_CASE("households: a catalogue of >= 40 IoT products and >= 20 non-IoT kinds, in two halves covering every class") {
    const auto rows = catalogue();
    std::set<std::string> iot, other, classes_a, classes_b, classes;
    for (const auto& r : rows) {
        (r.device_type == "Other" ? other : iot).insert(r.product);
        classes.insert(r.cls);
        (r.half == "a" ? classes_a : classes_b).insert(r.cls);
    }
    CHECK(iot.size() >= 40);
    CHECK(other.size() >= 20);
    CHECK(classes_a == classes);
    CHECK(classes_b == classes);
    // Another catalogue seed splits differently; the same one identically.
    const auto again = catalogue("--catalogue-seed 0");
    const auto other_seed = catalogue("--catalogue-seed 7");
    std::size_t same = 0, moved = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        same += rows[i].half == again[i].half;
        moved += rows[i].half != other_seed[i].half;
    }
    CHECK(same == rows.size());
    CHECK(moved > 0);
}

TEST_CASE("households: every product's OUI is registered to its manufacturer (ieee-data)") {
    const fs::path registry = "/usr/share/ieee-data/oui.csv";  // package ieee-data, installed by ./setup
    REQUIRE_MESSAGE(fs::exists(registry), "package ieee-data is not installed");
    std::map<std::string, std::string> org;  // AABBCC -> organisation
    std::ifstream in(registry);
    for (std::string line; std::getline(in, line);) {
        const auto a = line.find(',');
        if (a == std::string::npos) continue;
        const auto b = line.find(',', a + 1);
        org[line.substr(a + 1, b - a - 1)] = lower(line.substr(b + 1));
    }
    for (const auto& r : catalogue()) {
        std::string key;
        for (char c : r.oui)
            if (c != ':') key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        INFO(r.product << " " << r.oui << " " << r.manufacturer);
        REQUIRE(org.count(key) == 1);
        // The manufacturer's first word names the registered organisation.
        const std::string first = lower(r.manufacturer.substr(0, r.manufacturer.find(' ')));
        CHECK(org[key].find(first) != std::string::npos);
    }
}

TEST_CASE("households: own device mixes, disjoint products for halves a and b, unlabelled devices, varied behaviour") {
    const fs::path a = generate("households-a.sqlite", "--households 6 --sessions 6000 --seed 3 --products a");
    const fs::path b = generate("households-b.sqlite", "--households 4 --sessions 4000 --seed 4 --products b");
    const fs::path a2 = generate("households-a2.sqlite", "--households 6 --sessions 6000 --seed 3 --products a");
    Db da(a), db(b);
    CHECK(da.content_hash() == Db(a2).content_hash());
    CHECK(read_file(a) == read_file(a2));
    CHECK(da.integer("SELECT count(*) FROM sessions s JOIN devices d USING (deviceid) WHERE d.device_type IS NOT NULL") ==
          6000);
    CHECK(da.integer("SELECT count(*) FROM devices WHERE device_type IS NULL") >= 6);
    CHECK(da.integer("SELECT count(DISTINCT mac) FROM devices") == da.integer("SELECT count(*) FROM devices"));

    // Halves a and b share no IoT product, and no vendor OUI of any product.
    const auto types_a = da.strings("SELECT DISTINCT device_type FROM devices WHERE device_type <> 'Other'");
    const auto types_b = db.strings("SELECT DISTINCT device_type FROM devices WHERE device_type <> 'Other'");
    CHECK(types_a.size() >= 8);
    CHECK(types_b.size() >= 6);
    for (const auto& t : types_b) CHECK_MESSAGE(types_a.count(t) == 0, t);
    std::set<std::string> products_a;
    for (const auto& r : catalogue())
        if (r.half == "a") products_a.insert(r.oui);
    for (const auto& oui : db.strings("SELECT DISTINCT substr(mac, 1, 8) FROM devices")) CHECK(products_a.count(oui) == 0);

    // Households differ in their mix (deviceids run on, 192.168.1.1 is each household's gateway).
    const auto gateways = da.integer("SELECT count(*) FROM devices WHERE ip = '192.168.1.1'");
    CHECK(gateways == 6);
    std::set<std::string> mixes;
    da.each("SELECT group_concat(device_type, '|') FROM (SELECT deviceid, device_type, "
            "(SELECT count(*) FROM devices g WHERE g.ip = '192.168.1.1' AND g.deviceid <= d.deviceid) AS h "
            "FROM devices d ORDER BY deviceid) GROUP BY h",
            [&](sqlite3_stmt* st) { mixes.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))); });
    CHECK(mixes.size() == 6);

    // Devices of one class vary: the median bytes of the IoT devices' sessions spread widely.
    const auto medians = da.reals(
        "SELECT avg(lensum) FROM sessions s JOIN devices d USING (deviceid) WHERE d.device_type NOT IN ('Other') "
        "GROUP BY deviceid HAVING count(*) >= 20");
    REQUIRE(medians.size() >= 8);
    CHECK(*std::max_element(medians.begin(), medians.end()) > 3 * *std::min_element(medians.begin(), medians.end()));

    // IoT products ask their own cloud's names, so the two halves' IoT names barely overlap.
    const char* iot_names =
        "SELECT DISTINCT q.qname FROM dns_queries q JOIN sessions s USING (sessionid) JOIN devices d USING (deviceid) "
        "WHERE d.device_type <> 'Other' AND q.qname NOT LIKE '%.local'";
    const auto names_a = da.strings(iot_names), names_b = db.strings(iot_names);
    std::size_t shared = 0;
    for (const auto& n : names_b) shared += names_a.count(n);
    CHECK(shared * 2 < names_b.size());
}

TEST_CASE("households: options") {
    CHECK(run_generator("--products a --out " + quote((scratch() / "p.sqlite").string())).exit_code == 2);
    CHECK(run_generator("--households 3 --products c --out " + quote((scratch() / "p.sqlite").string())).exit_code == 2);
    CHECK(run_generator("--households 0 --out " + quote((scratch() / "p.sqlite").string())).exit_code == 2);
    CHECK(run_generator("--households 20 --sessions 10 --out " + quote((scratch() / "p.sqlite").string())).exit_code == 2);
}
