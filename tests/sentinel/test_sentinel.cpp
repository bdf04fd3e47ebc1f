// The IoT Sentinel pipelines end to end on the real captures: `pipectl ingest
// pcap --captures --per-file` with the devices file, then
//   - pipelines/iot-sentinel.toml (is_iot), split grouped by capture file;
//   - pipelines/iot-sentinel-devices.toml (device type of the IoT devices'
//     sessions), scored per session and per capture next to the 81.5 % that
//     IoT Sentinel reports;
//   - `pipectl predict --by device` of a model trained on four fifths of the
//     capture files on the other fifth.
// Each test is reported skipped when the dataset is absent (a failure on CI,
// whose machine has it).
#include "support/run_cmd.hpp"

#include <doctest/doctest.h>
#include <pipectl/test_skip.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace pipectl::testsupport;
using nlohmann::json;
namespace fs = std::filesystem;

const std::string kBin = PIPECTL_BIN;
const fs::path kCaptures = SENTINEL_CAPTURES;
const fs::path kSource = SOURCE_DIR;
const std::string kDevices = (kSource / "pipelines" / "devices" / "iot-sentinel.csv").string();
const std::string kIotPipeline = (kSource / "pipelines" / "iot-sentinel.toml").string();
const std::string kDevicesPipeline = (kSource / "pipelines" / "iot-sentinel-devices.toml").string();
// IoT Sentinel (Miettinen et al., ICDCS 2017): device-type identification of
// the set-up captures of 27 device types, 81.5 % accuracy on average.
constexpr double kPublished = 0.815;

bool have_dataset() {
  if (fs::is_directory(kCaptures)) return true;
  pipectl::testing::skip_required_on_ci("dataset " + kCaptures.string() + " is absent");
  return false;
}

/// pipectl with a private cache and history; `env` prefixes the command (e.g. PIPECTL_DB=…).
CmdResult run_pipectl(const std::string& args, const fs::path& home, const std::string& env = "") {
  return sh(env + " PIPECTL_CACHE_DIR=" + quote((home / "cache").string()) +
            " PIPECTL_HISTORY=" + quote((home / "history.sqlite").string()) + " " + quote(kBin) + " " + args);
}

/// `pipectl ingest pcap INPUTS --captures --per-file --devices iot-sentinel.csv --out DB`.
void ingest(const std::vector<std::string>& inputs, const std::string& db, const fs::path& home) {
  std::string args = "ingest pcap";
  for (const auto& i : inputs) args += " " + quote(i);
  args += " --captures --per-file --devices " + quote(kDevices) + " --out " + quote(db) + " -q";
  const auto r = run_pipectl(args, home);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
}

/// The database of every capture, made once per process.
const std::string& all_db() {
  static TempDir dir;
  static std::string path;
  if (path.empty()) {
    const std::string p = (dir / "iot-sentinel.sqlite").string();
    ingest({kCaptures.string()}, p, dir.path);
    path = p;
  }
  return path;
}

using Rows = std::vector<std::vector<std::string>>;

Rows query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE_MESSAGE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK, sqlite3_errmsg(h));
  Rows rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> r;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      r.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    rows.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

/// A CSV file (RFC 4180 quoting) as a header and rows.
struct Csv {
  std::vector<std::string> head;
  Rows rows;
  std::size_t col(const std::string& name) const {
    auto it = std::find(head.begin(), head.end(), name);
    REQUIRE_MESSAGE(it != head.end(), "no column " << name);
    return static_cast<std::size_t>(it - head.begin());
  }
};

Csv read_table(const fs::path& file) {
  const auto all = csv_records(file);
  Csv csv;
  REQUIRE(!all.empty());
  csv.head = all.front();
  csv.rows.assign(all.begin() + 1, all.end());
  return csv;
}

json metrics(const fs::path& run) { return json::parse(slurp(run / "metrics.json")); }

/// ROC AUC of (score, positive) pairs: the Mann-Whitney statistic, ties counted half.
double roc_auc(std::vector<std::pair<double, bool>> v) {
  std::sort(v.begin(), v.end());
  double rank_sum = 0, pos = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j < v.size() && v[j].first == v[i].first) ++j;
    const double mid = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // ranks i+1 … j
    for (std::size_t k = i; k < j; ++k)
      if (v[k].second) {
        rank_sum += mid;
        ++pos;
      }
    i = j;
  }
  const double neg = static_cast<double>(v.size()) - pos;
  REQUIRE(pos > 0);
  REQUIRE(neg > 0);
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %%", 100 * v);
  return b;
}

/// session id -> capture file, and sessions per capture, of the sessions `where` selects.
struct Captures {
  std::map<std::string, std::string> of;  // sessionid -> file
  std::map<std::string, std::size_t> sessions;
};
Captures captures(const std::string& db, const std::string& where) {
  Captures c;
  for (const auto& r : query(db, "select s.sessionid, c.file from sessions s join devices d using (deviceid) "
                                 "join captures c using (sessionid) where " + where)) {
    c.of[r[0]] = r[1];
    ++c.sessions[r[1]];
  }
  return c;
}

/// The test rows of the evaluator, per capture: every capture with a test row
/// must have all its sessions there (the split is grouped by capture). The
/// cleaner drops none of ingest's sessions (no NULLs, no negative counts), so
/// the counts compare as they are.
std::map<std::string, std::vector<std::size_t>> test_rows_by_capture(const Csv& pred, const Captures& caps) {
  std::map<std::string, std::vector<std::size_t>> by;
  const auto sid = pred.col("sessionid");
  for (std::size_t i = 0; i < pred.rows.size(); ++i) {
    auto it = caps.of.find(pred.rows[i][sid]);
    REQUIRE_MESSAGE(it != caps.of.end(), "test session " << pred.rows[i][sid] << " has no capture");
    by[it->second].push_back(i);
  }
  std::size_t split = 0;
  for (const auto& [file, rows] : by) split += rows.size() != caps.sessions.at(file);
  CHECK_MESSAGE(split == 0, split << " captures have sessions both in the test split and outside it");
  return by;
}

}  // namespace

TEST_CASE("sentinel: ingest gives every session its capture file and every device its label") {
  if (!have_dataset()) return;
  const std::string& db = all_db();
  CHECK(query(db, "select count(*) from sessions")[0][0] == query(db, "select count(*) from captures")[0][0]);
  CHECK(query(db, "select count(distinct file) from captures")[0][0] == "550");
  CHECK(query(db, "select file from captures where sessionid = 1")[0][0] == "Aria/Setup-A-1-STA.pcap");
  CHECK(query(db, "select count(*) from devices where device_type is null")[0][0] == "0");
  CHECK(query(db, "select count(distinct device_type) from devices where device_type <> 'Other'")[0][0] == "25");
  // --per-file: each capture file holds its own sessions, so every IoT device
  // type is in the set-up captures of its folders: 20 (EdimaxCam 12 + 8,
  // EdnetCam 11 + 9), 25 (WeMoSwitch and WeMoInsightSwitch: 20 + 5) or 40
  // (the hubs: D-LinkDoorSensor and HueSwitch captures are their hub's traffic).
  const std::map<std::string, int> more = {
      {"D-LinkHomeHub", 40}, {"HueBridge", 40}, {"WeMoSwitch", 25}, {"WeMoInsightSwitch", 25}};
  const Rows per_type = query(db,
                              "select d.device_type, count(distinct c.file) from sessions s join devices d using "
                              "(deviceid) join captures c using (sessionid) where d.device_type <> 'Other' group by 1");
  CHECK(per_type.size() == 25);
  for (const auto& r : per_type) {
    const auto it = more.find(r[0]);
    CHECK_MESSAGE(std::stoi(r[1]) == (it == more.end() ? 20 : it->second), r[0]);
  }
}

TEST_CASE("sentinel: is_iot scored on captures the model has never seen") {
  if (!have_dataset()) return;
  TempDir home;
  const fs::path run = home / "run";
  const auto r = run_pipectl("run " + quote(kIotPipeline) + " --out " + quote(run.string()) + " --quiet", home.path,
                         "PIPECTL_DB=" + quote(all_db()));
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const json m = metrics(run)["evaluate"];
  const double auc = m["roc_auc"];
  MESSAGE("is_iot on held-out captures: ROC AUC " << auc << ", accuracy " << pct(m["accuracy"]) << " ("
                                                  << m["rows"] << " test sessions)");
  CHECK(auc >= 0.99);
  CHECK(m["accuracy"].get<double>() >= 0.97);
  const Csv pred = read_table(run / "stages" / "evaluate" / "train" / "test_predictions.csv");
  const auto by = test_rows_by_capture(pred, captures(all_db(), "1"));
  MESSAGE(by.size() << " of 550 captures in the test split");
  CHECK(by.size() >= 40);
  CHECK(by.size() <= 130);
}

TEST_CASE("sentinel: device type on held-out captures next to IoT Sentinel's 81.5 %") {
  if (!have_dataset()) return;
  TempDir home;
  const fs::path run = home / "run";
  const auto r = run_pipectl("run " + quote(kDevicesPipeline) + " --out " + quote(run.string()) + " --quiet", home.path,
                         "PIPECTL_DB=" + quote(all_db()));
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const json m = metrics(run)["evaluate"];
  const auto classes = m["classes"].get<std::vector<std::string>>();
  CHECK(classes.size() == 25);  // the IoT device types only: no 'Other'
  CHECK(std::find(classes.begin(), classes.end(), "Other") == classes.end());

  // Per capture, as IoT Sentinel identifies one set-up capture at a time: the
  // class with the largest sum of log-probabilities over the capture's
  // sessions (the product of the sessions' probabilities).
  const Csv pred = read_table(run / "stages" / "evaluate" / "train" / "test_predictions.csv");
  const auto by = test_rows_by_capture(pred, captures(all_db(), "d.device_type <> 'Other'"));
  const std::size_t truth = pred.col("device_type");
  std::vector<std::size_t> proba;
  for (const auto& c : classes) proba.push_back(pred.col("pred_proba." + c));
  std::size_t right = 0;
  std::string wrong;
  for (const auto& [file, rows] : by) {
    std::vector<double> logp(classes.size(), 0.0);
    for (auto i : rows)
      for (std::size_t k = 0; k < classes.size(); ++k)
        logp[k] += std::log(std::max(1e-9, std::stod(pred.rows[i][proba[k]])));
    const auto best = static_cast<std::size_t>(std::max_element(logp.begin(), logp.end()) - logp.begin());
    const std::string& t = pred.rows[rows.front()][truth];
    if (classes[best] == t) {
      ++right;
    } else {
      wrong += "\n  " + file + ": " + t + " taken for " + classes[best];
    }
  }
  const double per_capture = static_cast<double>(right) / static_cast<double>(by.size());
  const double per_session = m["accuracy"];
  MESSAGE("device type (25 IoT types) on held-out captures: " << pct(per_capture) << " of " << by.size()
                                                              << " captures (" << right << " right), "
                                                              << pct(per_session) << " of " << m["rows"]
                                                              << " sessions; IoT Sentinel reports " << pct(kPublished)
                                                              << " over 27 types" << wrong);
  // Floors: over pipeline seeds 1-7 and 42 the measured figures were
  // 85.0-89.0 % per capture and 78.8-81.8 % per session (seed 42: 86.2 % and
  // 78.8 %); one test capture is about 1.25 points. The floors leave room for
  // other XGBoost / compiler builds while still failing a model that no
  // longer tells the vendors' device families apart.
  CHECK(per_capture >= 0.75);
  CHECK(per_session >= 0.70);
  CHECK(m["roc_auc"].get<double>() >= 0.95);
}

TEST_CASE("sentinel: predict --by device on held-out capture files tells IoT devices from the rest") {
  if (!have_dataset()) return;
  TempDir home;
  // Every fifth capture file of each device folder (sorted by name, index % 5 == 0) is held out.
  std::vector<std::string> train, held;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(kCaptures))
    if (e.is_directory()) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const auto& f : folders) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(f))
      if (e.is_regular_file() && (e.path().extension() == ".pcap" || e.path().extension() == ".pcapng"))
        files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i < files.size(); ++i) (i % 5 == 0 ? held : train).push_back(files[i]);
  }
  REQUIRE(folders.size() == 31);
  REQUIRE(held.size() + train.size() == 550);
  const std::string train_db = (home / "train.sqlite").string(), held_db = (home / "held.sqlite").string();
  ingest(train, train_db, home.path);
  ingest(held, held_db, home.path);
  const std::size_t devices = std::stoul(query(held_db, "select count(distinct deviceid) from sessions")[0][0]);
  CHECK(devices == 34);  // 29 IoT MACs (25 types) and 5 others: every device is in the held-out files

  // With the pipeline's features, and without the manufacturer (the MAC
  // vendor alone separates the five 'Other' devices from the IoT vendors).
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"iot-sentinel.toml", ""},
      {"without manufacturer", " --set 'categories.columns=[\"srcport\",\"dstport\"]'"
                               " --set 'train.exclude=[\"sessionid\",\"capture\",\"manufacturer\"]'"}};
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const auto& [name, sets] = variants[v];
    CAPTURE(name);
    const fs::path run = home / ("run-" + std::to_string(v));
    const auto r = run_pipectl("run " + quote(kIotPipeline) + sets + " --out " + quote(run.string()) + " --quiet",
                           home.path, "PIPECTL_DB=" + quote(train_db));
    REQUIRE_MESSAGE(r.rc == 0, r.err);

    const fs::path dev_csv = home / "devices.csv", ses_csv = home / "sessions.csv";
    auto p = run_pipectl("predict " + quote(run.string()) + " --input " + quote(held_db) + " --by device -q --out " +
                         quote(dev_csv.string()),
                     home.path);
    REQUIRE_MESSAGE(p.rc == 0, p.err);
    const Csv dev = read_table(dev_csv);
    CHECK(dev.rows.size() == devices);
    const auto type = dev.col("device_type"), verdict = dev.col("verdict"), prob = dev.col("p_positive"),
               mac = dev.col("mac"), hostname = dev.col("hostname");
    std::string exceptions, table;
    std::size_t iot = 0, other = 0;
    double lowest_iot = 1, highest_other = 0;
    for (const auto& row : dev.rows) {
      const bool is_iot = row[type] != "Other";
      const double pr = std::stod(row[prob]);
      (is_iot ? iot : other)++;
      if (is_iot) lowest_iot = std::min(lowest_iot, pr);
      else highest_other = std::max(highest_other, pr);
      if (row[verdict] != (is_iot ? "yes" : "no"))
        exceptions += "\n  " + row[mac] + " (" + row[type] + ", " + row[hostname] + "): p " + row[prob];
    }
    MESSAGE(name << ": predict --by device on " << held.size() << " held-out capture files: " << iot
                 << " IoT devices (lowest p " << lowest_iot << "), " << other << " others (highest p "
                 << highest_other << ")" << (exceptions.empty() ? "; no exceptions" : "; exceptions:" + exceptions));
    CHECK(iot == 29);
    CHECK(other == 5);
    CHECK_MESSAGE(exceptions.empty(), exceptions);

    // The same model, session by session on the held-out files.
    p = run_pipectl("predict " + quote(run.string()) + " --input " + quote(held_db) + " --by session -q --out " +
                    quote(ses_csv.string()),
                home.path);
    REQUIRE_MESSAGE(p.rc == 0, p.err);
    const Csv ses = read_table(ses_csv);
    const auto sp = ses.col("probability"), sl = ses.col("label");
    std::vector<std::pair<double, bool>> scored;
    for (const auto& row : ses.rows) scored.emplace_back(std::stod(row[sp]), row[sl] == "yes");
    const double auc = roc_auc(scored);
    MESSAGE(name << ": is_iot ROC AUC on the " << scored.size() << " sessions of the held-out files: " << auc);
    CHECK(auc >= 0.98);
  }
}
