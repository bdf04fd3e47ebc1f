// PostgreSQL-backed distributed runs, against the server of the CTest
// fixture `postgres` (tests/dist/pg: started on loopback, loaded with the
// demo database).
#include "dist_common.hpp"

#include <sstream>

using namespace dist_test;

namespace {
std::string pg_dir() { return std::string(PG_FIXTURE_DIR); }
std::string conninfo() {
  auto c = slurp(fs::path(pg_dir()) / "conninfo");
  while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
  REQUIRE_MESSAGE(!c.empty(), "no conninfo: the fixture pg.start did not run");
  return c;
}
}  // namespace

TEST_CASE("dist-pg: 3 workers reading PostgreSQL fit what one process fits on the same data in SQLite") {
  TempDir home;
  const std::string sqlite_db = pg_dir() + "/demo.sqlite";
  // iot.toml as iot-postgres.toml is: split by sessionid (the postgres source reads no MAC), the manufacturer a
  // feature, 256 bins, its booster settings.
  auto single = run_pipectl("run " + kPipelines + "/iot.toml -q --set split.method=hash --set 'split.group=\"\"'"
                            " --set 'categories.columns=[\"srcport\",\"dstport\",\"manufacturer\"]'"
                            " --set 'train.exclude=[\"sessionid\",\"mac\"]' --set train.max_bin=256"
                            " --set train.eta=0.1 --set train.max_depth=6 --set train.early_stopping_rounds=20"
                            " --set source.path=" +
                                quote(sqlite_db) +
                                " --out " + quote((home / "sqlite").string()),
                            home.path);
  REQUIRE_MESSAGE(single.rc == 0, single.err);
  for (int w : {1, 3}) {
    CAPTURE(w);
    const auto out = home / ("pg" + std::to_string(w));
    auto r = run_pipectl("run " + kPipelines + "/iot-postgres.toml -q --set " + quote("source.conninfo=" + conninfo()) +
                             " --out " + quote(out.string()) + (w > 1 ? " --workers " + std::to_string(w) : ""),
                         home.path);
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    for (const char* s : {"normalise", "categories", "dns"})
      CHECK_MESSAGE(slurp(out / "stages" / s / "state.json") == slurp(home / "sqlite" / "stages" / s / "state.json"), s);
    const auto m = json::parse(slurp(out / "metrics.json"));
    const auto m1 = json::parse(slurp(home / "sqlite" / "metrics.json"));
    CHECK(m["evaluate"]["rows"] == m1["evaluate"]["rows"]);
    CHECK(std::fabs(auc_of(out) - auc_of(home / "sqlite")) <= 0.002);
  }
}

TEST_CASE("dist-pg: predict applies a run fitted on PostgreSQL to the server's sessions, its test rows bit for bit") {
  TempDir home;
  const auto run = home / "run";
  auto r = run_pipectl("run " + kPipelines + "/iot-postgres.toml -q --set " + quote("source.conninfo=" + conninfo()) +
                           " --out " + quote(run.string()),
                       home.path);
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  // --input is the connection string: the postgres source's `conninfo`.
  auto p = run_pipectl("predict " + quote(run.string()) + " -q --input " + quote(conninfo()) + " --out " +
                           quote((home / "p.csv").string()),
                       home.path);
  REQUIRE_MESSAGE(p.rc == 0, p.err);
  const auto rep = reproduced(home / "p.csv", run / "stages/evaluate/train/test_predictions.csv");
  CHECK(rep.test_rows > 1000);
  CHECK(rep.found == rep.test_rows);
  CHECK(rep.same == rep.test_rows);
  CHECK(rep.predicted > 9688);  // the unlabelled sessions too (labelled_only = false when predicting)

  // --by device: the postgres source says each session's device (the NetCollector devices table, its
  // declared group_details), as the sqlite source does; every predicted session counts for its device.
  auto d = run_pipectl("predict " + quote(run.string()) + " -q --by device --input " + quote(conninfo()), home.path);
  REQUIRE_MESSAGE(d.rc == 0, d.err);
  std::istringstream dev(d.out);
  std::string line;
  REQUIRE(std::getline(dev, line));
  CHECK(line == "mac,manufacturer,hostname,device_type,sessions,p_positive,verdict");
  long long sessions = 0, devices = 0;
  while (std::getline(dev, line)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 7);
    CHECK(f[0].size() == 17);  // a MAC
    sessions += std::stoll(f[4]);
    ++devices;
  }
  long long ok = 0;
  {
    std::istringstream ps(slurp(home / "p.csv"));
    while (std::getline(ps, line)) ok += line.find(",ok") != std::string::npos;
  }
  CHECK(devices > 10);
  CHECK(sessions == ok);
}

TEST_CASE("dist-pg: validate learns a custom query's columns by preparing it, and defers when the server is away") {
  TempDir home;
  auto pipeline = [&](const std::string& ci) {
    return "[pipeline]\nname = \"pgq\"\n[[stage]]\nid = \"source\"\nplugin = \"postgres\"\nconninfo = \"" + ci +
           "\"\nquery = \"select s.sessionid, s.lensum as bytes, d.device_type from sessions s join "
           "v_session_mnf_devicetype d on d.sessionid = s.sessionid where d.device_type is not null order by "
           "s.sessionid\"\n[[stage]]\nid = \"split\"\nplugin = \"splitter\"\ninputs = [\"source\"]\nstratify = \"device_type\"\n"
           "[[stage]]\nid = \"scale\"\nplugin = \"normaliser\"\ninputs = [\"split\"]\ncolumns = [\"bytes\", \"packets\"]\n";
  };
  std::ofstream(home / "near.toml") << pipeline(conninfo());
  auto v = run_pipectl("validate near.toml", home.path);
  CHECK(v.rc == 3);
  CHECK_MESSAGE(v.err.find("stage \"scale\" (plugin \"normaliser\") names column \"packets\", which its inputs do not "
                           "provide") != std::string::npos,
                v.err);
  CHECK(v.err.find("\"bytes\"") == std::string::npos);  // bytes is one of the query's columns
  // Unreachable: the schema is unknown, the stages after the source wait for it (checked when it arrives).
  std::ofstream(home / "away.toml") << pipeline("host=127.0.0.1 port=1 dbname=netcollector user=pipectl");
  auto a = run_pipectl("validate away.toml", home.path);
  CHECK_MESSAGE(a.rc == 0, a.err);
}
