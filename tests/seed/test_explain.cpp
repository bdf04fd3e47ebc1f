// Explanations on the demo database: predict --explain (additivity, reasons
// a person can check against the sessions), the MLP refused, and the compare
// report's feature importance for every model that can explain.
#include <doctest/doctest.h>
#include <pipectl/test_skip.hpp>

#include "seed_common.hpp"
#include "support/chromium.hpp"

#include <cmath>
#include <regex>
#include <set>
#include <sstream>

using namespace seed_test;

namespace {

// One run of iot-compare.toml on the demo database (xgboost x2, liblinear x2, mlp).
const fs::path& compare_run() {
  static TempDir home;
  static bool made = false;
  if (!made) {
    auto r = run_pipectl("compare " + kPipelines + "/iot-compare.toml -q --set source.path=" + quote(demo_db(42)) +
                             " --out " + quote((home / "run").string()),
                         home.path);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    made = true;
  }
  static fs::path p = home / "run";
  return p;
}

std::vector<std::vector<std::string>> query(const std::string& db, const std::string& sql_text) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql_text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::vector<std::string>> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> r;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const auto* t = sqlite3_column_text(st, i);
      r.push_back(t ? reinterpret_cast<const char*>(t) : "\x01NULL");
    }
    rows.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

double logit(double p) { return std::log(p / (1 - p)); }

// "name (+0.123)" -> name, value.
std::pair<std::string, double> parse_reason(const std::string& r) {
  const auto open = r.rfind(" (");
  REQUIRE(open != std::string::npos);
  REQUIRE(r.back() == ')');
  return {r.substr(0, open), std::stod(r.substr(open + 2, r.size() - open - 3))};
}

}  // namespace

TEST_CASE("explain: --explain all adds up to each session's log-odds, for XGBoost and both liblinear models") {
  TempDir t;
  for (const std::string model : {"xgb_trees", "xgb_forest", "logreg", "svm"}) {
    CAPTURE(model);
    const fs::path out = t / (model + ".csv");
    auto r = run_pipectl("predict " + quote(compare_run().string()) + " -q --model " + model + " --explain all --input " +
                             quote(demo_db(42)) + " --out " + quote(out.string()),
                         t.path);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const auto rows = read_csv(out);
    REQUIRE(rows.size() > 9688);
    REQUIRE(rows[0].count("contrib.bias") == 1);
    REQUIRE(rows[0].count("contrib.bytes") == 1);
    std::size_t cols = 0;
    for (const auto& [k, v] : rows[0]) cols += k.rfind("contrib.", 0) == 0;
    CHECK(cols > 100);  // every model feature, the DNS names' indicators included
    double worst = 0;
    for (const auto& row : rows) {
      double sum = 0;
      for (const auto& [k, v] : row)
        if (k.rfind("contrib.", 0) == 0) sum += std::stod(v);
      const double p = std::stod(row.at("probability"));
      // The probability column is the model's float32 output: compare where it is exact to 1e-6.
      const double s = 1 / (1 + std::exp(-sum));
      worst = std::max(worst, std::fabs(s - p));
      if (p > 1e-3 && p < 1 - 1e-3) REQUIRE(std::fabs(sum - logit(p)) < 1e-6 / (p * (1 - p)) + 1e-6);
    }
    MESSAGE(model << ": largest |sigmoid(sum of contributions) - probability| = " << worst);
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("explain: the MLP is refused before any data is read") {
  TempDir t;
  auto r = run_pipectl("predict " + quote(compare_run().string()) + " --model mlp --explain 3 --input " +
                           quote(demo_db(42)) + " --out " + quote((t / "p.csv").string()),
                       t.path);
  CHECK(r.rc == 2);
  CHECK_FALSE(fs::exists(t / "p.csv"));
  CHECK(r.err.find("sessions") == std::string::npos);  // no stage ran
  // The capability is declared, and shown by plugins describe.
  for (const char* plugin : {"xgboost", "liblinear", "mlp"}) {
    auto d = run_pipectl(std::string("plugins describe ") + plugin, t.path);
    REQUIRE(d.rc == 0);
    CHECK((d.out.find("Explains     yes") != std::string::npos) == (std::string(plugin) != "mlp"));
  }
  CHECK(r.err.find("model \"mlp\" (plugin \"mlp\") cannot explain its predictions: the plugin does not declare "
                   "`explains` (models that can: liblinear, xgboost)") != std::string::npos);
}

TEST_CASE("explain: a device's reasons are its sessions' mean contributions, and features its sessions have") {
  TempDir t;
  const std::string db = demo_db(42);
  const fs::path run = compare_run();
  // Session level, every contribution; device level, the means and the top 3 reasons.
  auto a = run_pipectl("predict " + quote(run.string()) + " -q --model xgb_trees --explain all --input " + quote(db) +
                           " --out " + quote((t / "s.csv").string()),
                       t.path);
  REQUIRE(a.rc == 0);
  auto b = run_pipectl("predict " + quote(run.string()) + " -q --model xgb_trees --by device --explain all --input " +
                           quote(db) + " --out " + quote((t / "d_all.csv").string()),
                       t.path);
  REQUIRE(b.rc == 0);
  auto c = run_pipectl("predict " + quote(run.string()) + " -q --model xgb_trees --by device --explain 3 --input " +
                           quote(db) + " --out " + quote((t / "d.csv").string()) + " --report " +
                           quote((t / "devices.html").string()),
                       t.path);
  INFO(c.err);
  REQUIRE(c.rc == 0);

  std::map<std::string, std::string> mac_of_session;
  for (const auto& r : query(db, "select s.sessionid, d.mac from sessions s join devices d on d.deviceid = s.deviceid"))
    mac_of_session[r[0]] = r[1];
  // Mean of the sessions' contributions = the device's (and they add up to its mean log-odds).
  std::map<std::string, std::map<std::string, double>> mean;
  std::map<std::string, int> n;
  for (const auto& row : read_csv(t / "s.csv")) {
    const std::string& mac = mac_of_session.at(row.at("sessionid"));
    ++n[mac];
    for (const auto& [k, v] : row)
      if (k.rfind("contrib.", 0) == 0) mean[mac][k] += std::stod(v);
  }
  const auto dev_all = read_csv(t / "d_all.csv");
  REQUIRE(dev_all.size() == n.size());
  for (const auto& row : dev_all) {
    const std::string& mac = row.at("mac");
    CAPTURE(mac);
    REQUIRE(std::to_string(n.at(mac)) == row.at("sessions"));
    double sum = 0;
    for (const auto& [k, v] : row)
      if (k.rfind("contrib.", 0) == 0) {
        sum += std::stod(v);
        REQUIRE(std::fabs(std::stod(v) - mean[mac][k] / n[mac]) < 1e-9);
      }
    const double p = std::stod(row.at("p_positive"));
    CHECK(std::fabs(1 / (1 + std::exp(-sum)) - p) < 1e-6);
  }

  // What each reason can name, from the database itself and the run's fitted states.
  const json cats = json::parse(slurp(run / "stages" / "categories" / "state.json"));
  const json dns = json::parse(slurp(run / "stages" / "dns" / "state.json"));
  const json model = json::parse(slurp(run / "stages" / "xgb_trees" / "state.json"));
  std::set<std::string> vocab(dns["vocabulary"].begin(), dns["vocabulary"].end());
  std::map<std::string, std::map<std::string, std::set<std::string>>> values;  // mac -> column -> values
  for (const auto& r : query(db, "select d.mac, s.srcport, s.dstport, d.manufacturer from sessions s join devices d "
                                 "on d.deviceid = s.deviceid")) {
    values[r[0]]["srcport"].insert(r[1]);
    values[r[0]]["dstport"].insert(r[2]);
    values[r[0]]["manufacturer"].insert(r[3]);
  }
  for (const auto& r : query(db, "select d.mac, coalesce(q.qname, '\x01NONE') from sessions s join devices d on "
                                 "d.deviceid = s.deviceid left join dns_queries q on q.sessionid = s.sessionid"))
    values[r[0]]["dns"].insert(r[1]);
  auto session_has = [&](const std::string& mac, const std::string& col, const std::string& v) {
    const auto& have = values[mac][col];
    if (col == "dns") {
      if (v == "other") {
        for (const auto& h : have)
          if (h != "\x01NONE" && !vocab.count(h)) return true;
        return false;
      }
      if (v == "none") return have.count("\x01NONE") > 0;
      return have.count(v) > 0;
    }
    if (v == "(null)") return have.count("\x01NULL") > 0;
    std::set<std::string> kept(cats["columns"][col].begin(), cats["columns"][col].end());
    if (v == "other") {
      for (const auto& h : have)
        if (!kept.count(h)) return true;
      return false;
    }
    return have.count(v) > 0;
  };
  std::set<std::string> numeric;
  for (const auto& f : model["features"])
    if (!cats["columns"].contains(f.get<std::string>()) && f != "dns") numeric.insert(f.get<std::string>());
  std::size_t checked = 0, named = 0;
  const auto devs = read_csv(t / "d.csv");
  REQUIRE(devs.size() == n.size());
  for (const auto& row : devs) {
    const std::string& mac = row.at("mac");
    CAPTURE(mac);
    for (const char* col : {"reason_1", "reason_2", "reason_3"}) {
      if (row.at(col).empty()) continue;
      const auto [name, value] = parse_reason(row.at(col));
      CAPTURE(name);
      // The reason's value is the device's mean contribution, rounded to 3 decimals.
      double m = 0;
      for (const auto& [k, v] : mean[mac])
        if (k == "contrib." + name) m = v / n[mac];
      if (numeric.count(name)) {
        CHECK(std::fabs(value - m) <= 0.0005 + 1e-12);
        ++checked;
        continue;
      }
      if (name == "dns (names absent)") { ++checked; continue; }
      const auto eq = name.find('=');
      REQUIRE(eq != std::string::npos);
      CHECK(session_has(mac, name.substr(0, eq), name.substr(eq + 1)));
      ++checked;
      ++named;
    }
  }
  CHECK(checked >= 3 * devs.size() - 3);
  CHECK(named > 0);
  // The page: one row per device, in the CSV's order.
  const std::string page = slurp(t / "devices.html");
  std::size_t rows_on_page = 0;
  for (auto at = page.find("<tr data-key=\""); at != std::string::npos; at = page.find("<tr data-key=\"", at + 1)) {
    const auto end = page.find('"', at + 14);
    CHECK(page.substr(at + 14, end - at - 14) == devs.at(rows_on_page).at("mac"));
    ++rows_on_page;
  }
  CHECK(rows_on_page == devs.size());
}

TEST_CASE("explain: the compare report of iot-compare.toml shows the importance of every model that can explain") {
  const fs::path run = compare_run();
  const json metrics = json::parse(slurp(run / "metrics.json"));
  const json rep = json::parse(slurp(run / "report" / "compare.json"));
  const std::string html = slurp(run / "report" / "compare.html");
  for (const char* model : {"xgb_trees", "xgb_forest", "logreg", "svm"}) {
    CAPTURE(model);
    REQUIRE(metrics[model].contains("importance"));
    const json& imp = metrics[model]["importance"];
    CHECK(imp["rows"].get<int>() == 1453);  // the evaluator's test rows
    CHECK(imp["features"].size() > 100);
    CHECK(rep["importance"][model] == imp);
    CHECK(html.find("data-model=\"" + std::string(model) + "\"") != std::string::npos);
  }
  CHECK_FALSE(metrics["mlp"].contains("importance"));
  CHECK_FALSE(rep["importance"].contains("mlp"));
  CHECK(html.find("model &quot;mlp&quot; has no feature importance") != std::string::npos);
}

TEST_CASE("pages: devices.html and profile.html render in headless Chromium with the figures of their data") {
  if (!have_chromium())
    return pipectl::testing::skip_required_on_ci(std::string(kChromiumBin) +
                                                 " is not installed (./setup installs the chromium package)");
  TempDir t;
  const std::string db = demo_db(42);
  const std::string probe_rows = R"(<script>
(function () {
  var rows = document.querySelectorAll('table#devices tbody tr'), out = [];
  var r = document.querySelector('table#devices').getBoundingClientRect();
  out.push('table=' + Math.round(r.width) + 'x' + Math.round(r.height));
  out.push('bars=' + document.querySelectorAll('table#devices span.bar').length);
  for (var i = 0; i < rows.length; ++i)
    out.push('row ' + rows[i].children[1].textContent + ' ' + rows[i].querySelector('td.p').textContent + ' ' +
             rows[i].querySelector('td.verdict').textContent + ' ' + rows[i].querySelector('td.s').textContent);
  document.getElementById('probe').textContent = out.join('\n');
})();
</script>)";
  // The devices page.
  auto r = run_pipectl("predict " + quote(compare_run().string()) + " -q --model xgb_trees --by device --explain 3 --input " +
                           quote(db) + " --out " + quote((t / "d.csv").string()) + " --report " +
                           quote((t / "devices.html").string()),
                       t.path);
  REQUIRE(r.rc == 0);
  CHECK(external_reference(slurp(t / "devices.html")) == "");
  {
    const auto dom = chromium_dom(t.path, t / "devices.html", probe_rows);
    INFO(dom.err);
    REQUIRE(dom.rc == 0);
    std::smatch m;
    REQUIRE(std::regex_search(dom.out, m, std::regex("<pre id=\"probe\">([^<]*)</pre>")));
    const std::string probe = m[1];
    std::smatch d;
    REQUIRE(std::regex_search(probe, d, std::regex("table=(\\d+)x(\\d+)")));
    CHECK(std::stoi(d[1]) > 600);
    const auto devs = read_csv(t / "d.csv");
    CHECK(std::stoi(d[2]) > 20 * static_cast<int>(devs.size()));
    REQUIRE(std::regex_search(probe, d, std::regex("bars=(\\d+)")));
    CHECK(std::stoi(d[1]) == 3 * static_cast<int>(devs.size()));
    std::string expect;
    for (const auto& row : devs) {
      char p[32];
      std::snprintf(p, sizeof p, "%.4f", std::stod(row.at("p_positive")));
      expect += "row " + row.at("mac") + " " + p + " " + row.at("verdict") + " " + row.at("sessions") + "\n";
    }
    std::string got;
    std::istringstream in(probe);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("row ", 0) == 0) got += line + "\n";
    CHECK(got == expect);
  }

  // The profile page.
  auto p = run_pipectl("run " + kPipelines + "/iot-profile.toml -q --no-cache --set source.path=" + quote(db) +
                           " --out " + quote((t / "prof").string()),
                       t.path);
  REQUIRE(p.rc == 0);
  const fs::path page = t / "prof/stages/profile/profile.html";
  REQUIRE(fs::exists(page));
  CHECK(external_reference(slurp(page)) == "");
  const json prof = json::parse(slurp(t / "prof/stages/profile/profile.json"));
  const std::string probe_profile = R"(<script>
(function () {
  var out = [];
  document.querySelectorAll('figure.hist').forEach(function (f) {
    var r = f.querySelector('svg').getBoundingClientRect(), sum = {positive: 0, negative: 0, unlabelled: 0};
    f.querySelectorAll('rect').forEach(function (x) { sum[x.getAttribute('class')] += +x.getAttribute('data-count'); });
    out.push('hist ' + f.getAttribute('data-column') + ' ' + Math.round(r.width) + 'x' + Math.round(r.height) + ' ' +
             sum.positive + ' ' + sum.negative + ' ' + sum.unlabelled);
  });
  document.querySelectorAll('figure.rates g.bar').forEach(function (g) {
    out.push('rate ' + g.getAttribute('data-name') + '\t' + g.getAttribute('data-rate') + '\t' +
             Math.round(g.querySelector('rect').getBoundingClientRect().width));
  });
  document.querySelectorAll('#ranking-bars g.bar').forEach(function (g) {
    out.push('auc ' + g.getAttribute('data-name') + ' ' + g.getAttribute('data-auc'));
  });
  document.getElementById('probe').textContent = out.join('\n');
})();
</script>)";
  const auto dom = chromium_dom(t.path, page, probe_profile);
  INFO(dom.err);
  REQUIRE(dom.rc == 0);
  std::smatch m;
  REQUIRE(std::regex_search(dom.out, m, std::regex("<pre id=\"probe\">([^<]*)</pre>")));
  const std::string probe = m[1];
  INFO(probe);
  // One histogram per numeric column, drawn, holding the JSON's rows per label.
  REQUIRE(prof["histograms"].size() == prof["numeric"].size());
  REQUIRE(prof["histograms"].size() >= 3);
  for (const auto& h : prof["histograms"]) {
    std::int64_t s[3] = {0, 0, 0};
    const char* keys[3] = {"positive", "negative", "unlabelled"};
    for (int j = 0; j < 3; ++j)
      for (const auto& c : h[keys[j]]) s[j] += c.get<std::int64_t>();
    CHECK(probe.find("hist " + h["column"].get<std::string>() + " 480x200 " + std::to_string(s[0]) + " " +
                     std::to_string(s[1]) + " " + std::to_string(s[2])) != std::string::npos);
  }
  // bytes spans many decades: its histogram is on a log scale.
  for (const auto& h : prof["histograms"])
    if (h["column"] == "bytes") CHECK(h["scale"] == "log10(1 + x)");
  // Label rates of the top categories and DNS names, as in the JSON.
  std::size_t rates = 0;
  for (const char* kind : {"categorical", "multi"})
    for (const auto& c : prof[kind])
      for (const auto& e : c["top"]) {
        if (!e["label_rate"].is_number()) continue;
        char b[40];
        std::snprintf(b, sizeof b, "%.17g", e["label_rate"].get<double>());
        const std::string name = e.contains("value") ? e["value"].dump() : e["name"].get<std::string>();
        const std::string shown = name.size() > 1 && name.front() == '"' ? name.substr(1, name.size() - 2) : name;
        CHECK_MESSAGE(probe.find("rate " + shown + "\t" + b + "\t") != std::string::npos, shown);
        ++rates;
      }
  CHECK(rates > 20);
  for (const auto& x : prof["ranking"]) {
    if (!x["auc"].is_number()) continue;
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", x["auc"].get<double>());
    CHECK(probe.find("auc " + x["column"].get<std::string>() + " " + b) != std::string::npos);
  }
}

TEST_CASE("explain: multiclass XGBoost explains every class: the softmax of the class sums is the probability") {
  TempDir t;
  auto r = run_pipectl("run " + kPipelines + "/device_type.toml -q --no-cache --set source.path=" + quote(demo_db(42)) +
                           " --out " + quote((t / "run").string()),
                       t.path);
  REQUIRE(r.rc == 0);
  const json state = json::parse(slurp(t / "run/stages/train/state.json"));
  const auto classes = state["classes"].get<std::vector<std::string>>();
  REQUIRE(classes.size() > 2);
  auto p = run_pipectl("predict " + quote((t / "run").string()) + " -q --explain all --input " + quote(demo_db(42)) +
                           " --out " + quote((t / "all.csv").string()),
                       t.path);
  REQUIRE(p.rc == 0);
  const auto rows = read_csv(t / "all.csv");
  REQUIRE(rows.size() > 9688);
  for (const auto& c : classes) CHECK(rows[0].count("contrib." + c + ".bias") == 1);
  double worst = 0;
  for (const auto& row : rows) {
    std::map<std::string, double> margin;
    for (const auto& c : classes)
      for (const auto& [k, v] : row)
        if (k.rfind("contrib." + c + ".", 0) == 0) margin[c] += std::stod(v);
    double mx = -INFINITY, z = 0;
    for (const auto& [c, m] : margin) mx = std::max(mx, m);
    for (const auto& [c, m] : margin) z += std::exp(m - mx);
    worst = std::max(worst, std::fabs(std::exp(margin.at(row.at("predicted")) - mx) / z - std::stod(row.at("probability"))));
  }
  CHECK(worst < 1e-6);
}
