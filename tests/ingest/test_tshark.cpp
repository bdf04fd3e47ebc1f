// Real captures: pipectl's sessions (packets, bytes, times) and DNS names
// against tshark's dissection of the same files. The test groups tshark's
// per-frame fields into sessions by the definition (sending MAC, protocol,
// src ip, src port, dst ip, dst port; a new session when the key's packet
// comes more than the idle timeout after its previous one, or after a FIN /
// RST; all sessions end when time jumps back by more than the timeout) and
// compares every session. Datasets: ${CMAKE_SOURCE_DIR}/../shared/datasets.
#include "common.hpp"
#include "ingest.hpp"

#include <doctest/doctest.h>
#include <pipectl/test_skip.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace fs = std::filesystem;
using ingest_test::query;
using ingest_test::TempDir;

namespace {

const fs::path kDatasets = INGEST_DATASETS;
constexpr std::int64_t kTimeoutNs = 120LL * 1000000000LL;

struct Key {
  std::string mac;
  int proto;
  std::string src;
  int sport;
  std::string dst;
  int dport;
  bool operator<(const Key& o) const {
    return std::tie(mac, proto, src, sport, dst, dport) < std::tie(o.mac, o.proto, o.src, o.sport, o.dst, o.dport);
  }
};

struct Sess {
  Key key;
  std::int64_t first_ns = 0, last_ns = 0;
  std::int64_t packets = 0, bytes = 0;
  std::set<std::string> names;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string first(const std::string& agg) { return agg.substr(0, agg.find('|')); }

std::int64_t epoch_ns(const std::string& s) {
  const auto dot = s.find('.');
  std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  frac.resize(9, '0');
  return std::stoll(s.substr(0, dot)) * 1000000000LL + std::stoll(frac);
}

bool truthy(const std::string& v) { return v == "1" || v == "True" || v == "true"; }

struct TsharkResult {
  std::int64_t frames = 0;
  std::int64_t keyed = 0;
  std::vector<Sess> sessions;
};

/// Group tshark's view of `files` (read in this order) into sessions.
TsharkResult tshark_sessions(const std::vector<std::string>& files) {
  TsharkResult r;
  std::map<Key, std::size_t> open;
  bool started = false;
  std::int64_t newest = 0;
  // Several files are concatenated in order by mergecap (Wireshark's, beside
  // tshark) and read by one tshark: the same frames in the same order as one
  // tshark per file, without a tshark start-up per file (550 for IoT Sentinel).
  std::vector<std::string> inputs = files;
  if (files.size() > 1) {
    std::string all;
    for (const std::string& f : files) all += " '" + f + "'";
    inputs = {"mergecap -a -w -" + all + " 2>/dev/null | " + std::string(TSHARK_EXE) + " -n -r -"};
  }
  for (const std::string& input : inputs) {
    const std::string source = files.size() > 1 ? input : std::string(TSHARK_EXE) + " -n -r '" + input + "'";
    const std::string cmd = source +
                            " -T fields -E separator=/t -E occurrence=a -E aggregator='|' -E quote=n"
                            " -e frame.time_epoch -e frame.len -e eth.src -e frame.protocols"
                            " -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e ip.proto"
                            " -e tcp.srcport -e tcp.dstport -e tcp.flags.fin -e tcp.flags.reset"
                            " -e udp.srcport -e udp.dstport"
                            " -e dns.flags.response -e dns.flags.opcode -e dns.qry.name -e dns.qry.type 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    REQUIRE(pclose(p) == 0);
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      ++r.frames;
      const auto c = split(line, '\t');
      REQUIRE(c.size() == 19);
      const std::string mac = first(c[2]);
      if (mac.empty()) continue;
      if (std::stoi(mac.substr(0, 2), nullptr, 16) & 1) continue;  // group source MAC
      // the transport: the protocol after the first IP header (IPv6 extension headers skipped)
      const auto protos = split(c[3], ':');
      int family = 0, proto = -1;
      for (std::size_t i = 0; i < protos.size(); ++i) {
        if (protos[i] != "ip" && protos[i] != "ipv6") continue;
        family = protos[i] == "ip" ? 4 : 6;
        std::size_t j = i + 1;
        while (j < protos.size() && protos[j].rfind("ipv6.", 0) == 0) ++j;
        const std::string t = j < protos.size() ? protos[j] : "";
        proto = t == "tcp" ? 6 : t == "udp" ? 17 : t == "icmp" ? 1 : t == "icmpv6" ? 58 : t == "igmp" ? 2 : -1;
        if (proto < 0 && family == 4) proto = std::stoi(first(c[8]));
        break;
      }
      if (family == 0) continue;  // not IP
      REQUIRE_MESSAGE(proto >= 0, "unknown transport in " << c[3]);
      Key k;
      k.mac = mac;
      k.proto = proto;
      k.src = first(family == 4 ? c[4] : c[6]);
      k.dst = first(family == 4 ? c[5] : c[7]);
      k.sport = proto == 6 ? std::stoi(first(c[9])) : proto == 17 ? std::stoi(first(c[13])) : 0;
      k.dport = proto == 6 ? std::stoi(first(c[10])) : proto == 17 ? std::stoi(first(c[14])) : 0;
      const bool fin = proto == 6 && (truthy(first(c[11])) || truthy(first(c[12])));
      const std::int64_t ts = epoch_ns(c[0]);
      ++r.keyed;
      if (started && ts < newest - kTimeoutNs) {
        open.clear();
        newest = ts;
      }
      newest = started ? std::max(newest, ts) : ts;
      started = true;
      auto it = open.find(k);
      if (it != open.end() && ts - r.sessions[it->second].last_ns > kTimeoutNs) {
        open.erase(it);
        it = open.end();
      }
      if (it == open.end()) {
        Sess s;
        s.key = k;
        s.first_ns = ts;
        r.sessions.push_back(s);
        it = open.emplace(k, r.sessions.size() - 1).first;
      }
      Sess& s = r.sessions[it->second];
      s.last_ns = ts;
      s.packets += 1;
      s.bytes += std::stoll(c[1]);
      const bool dns_port = k.sport == 53 || k.dport == 53 || k.sport == 5353 || k.dport == 5353;
      if (proto == 17 && dns_port && first(c[15]) == "0" && first(c[16]) == "0" && !c[17].empty()) {
        const auto names = split(c[17], '|'), types = split(c[18], '|');
        REQUIRE(names.size() == types.size());
        for (std::size_t i = 0; i < names.size(); ++i) {
          const int t = std::stoi(types[i]);
          if ((t == 1 || t == 28 || t == 12 || t == 33 || t == 16) && names[i] != "<Root>") {
            std::string low = names[i];
            for (char& ch : low)
              if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            s.names.insert(low);
          }
        }
      }
      if (fin) open.erase(k);
    }
  }
  return r;
}

std::vector<Sess> db_sessions(const std::string& db) {
  std::vector<Sess> out;
  std::map<std::int64_t, std::size_t> by_id;
  for (const auto& row : query(db, "select s.sessionid, d.mac, s.protocol, s.srcip, s.srcport, s.dstip, s.dstport, "
                                   "s.pktcount, s.lensum, printf('%.9f', s.starttime), printf('%.9f', s.endtime) "
                                   "from sessions s join devices d using (deviceid) order by s.sessionid")) {
    Sess s;
    s.key = Key{row[1], std::stoi(row[2]), row[3], std::stoi(row[4]), row[5], std::stoi(row[6])};
    s.packets = std::stoll(row[7]);
    s.bytes = std::stoll(row[8]);
    s.first_ns = epoch_ns(row[9]);
    s.last_ns = epoch_ns(row[10]);
    by_id[std::stoll(row[0])] = out.size();
    out.push_back(s);
  }
  for (const auto& row : query(db, "select sessionid, qname from dns_queries"))
    out[by_id.at(std::stoll(row[0]))].names.insert(row[1]);
  return out;
}

void sort_sessions(std::vector<Sess>& v) {
  std::sort(v.begin(), v.end(), [](const Sess& a, const Sess& b) {
    if (a.key < b.key) return true;
    if (b.key < a.key) return false;
    return a.first_ns < b.first_ns;
  });
}

std::string describe(const Sess& s) {
  std::ostringstream o;
  o << s.key.mac << " " << s.key.proto << " " << s.key.src << ":" << s.key.sport << " -> " << s.key.dst << ":"
    << s.key.dport << " pkts " << s.packets << " bytes " << s.bytes << " t " << s.first_ns << ".." << s.last_ns
    << " names " << s.names.size();
  return o.str();
}

/// Ingest `inputs` and compare with tshark's reading of `files`.
void compare(const std::vector<std::string>& inputs, std::size_t min_sessions, std::size_t min_names) {
  if (std::string(TSHARK_EXE).empty()) {
    return pipectl::testing::skip_required_on_ci("tshark is not installed (apt-get install tshark)");
  }
  for (const auto& in : inputs) {
    if (!fs::exists(in)) {
      return pipectl::testing::skip_required_on_ci("dataset " + in + " is absent");
    }
  }
  TempDir t;
  const std::string db = (t / "x.db").string();
  pipectl::ingest::IngestOptions o;
  o.inputs = inputs;
  o.out = db;
  std::ostringstream warn;
  const auto st = pipectl::ingest::run_ingest(o, warn, warn);
  CHECK(warn.str().empty());

  const std::vector<std::string> files = pipectl::ingest::expand_inputs(inputs);
  TsharkResult ts = tshark_sessions(files);
  std::vector<Sess> mine = db_sessions(db);
  CHECK(static_cast<std::int64_t>(st.packets) == ts.frames);
  CHECK(static_cast<std::int64_t>(st.packets_in_sessions) == ts.keyed);
  REQUIRE(mine.size() == ts.sessions.size());
  CHECK(mine.size() >= min_sessions);
  sort_sessions(mine);
  sort_sessions(ts.sessions);
  std::size_t names = 0, mismatches = 0;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const Sess& a = mine[i];
    const Sess& b = ts.sessions[i];
    names += b.names.size();
    // times: the database holds doubles (about 0.2 µs resolution at today's epoch)
    const bool same = !(a.key < b.key) && !(b.key < a.key) && a.packets == b.packets && a.bytes == b.bytes &&
                      std::llabs(a.first_ns - b.first_ns) < 2000 && std::llabs(a.last_ns - b.last_ns) < 2000 &&
                      a.names == b.names;
    if (!same && ++mismatches <= 5) {
      std::string an, bn;
      for (const auto& x : a.names) an += x + " ";
      for (const auto& x : b.names) bn += x + " ";
      FAIL_CHECK("pipectl: " << describe(a) << " [" << an << "]\ntshark:  " << describe(b) << " [" << bn << "]");
    }
  }
  CHECK(mismatches == 0);
  CHECK(names >= min_names);
  CHECK(static_cast<std::size_t>(st.dns_names) == names);
  MESSAGE(files.size() << " files, " << ts.frames << " frames, " << mine.size() << " sessions, " << names
                       << " dns names: equal to tshark's");
}

}  // namespace

TEST_CASE("ingest/tshark: CTU IoT-23 Philips Hue capture") {
  compare({(kDatasets / "ctu-iot23-hue" / "2018-09-14-13-40-25-Philips-Hue-Bridge.pcap").string()}, 500, 50);
}

TEST_CASE("ingest/tshark: IoT Sentinel HueBridge set-up") {
  compare({(kDatasets / "iot-sentinel" / "captures" / "HueBridge" / "Setup-A-2-STA.pcap").string()}, 50, 5);
}

TEST_CASE("ingest/tshark: IoT Sentinel D-LinkCam set-up") {
  compare({(kDatasets / "iot-sentinel" / "captures" / "D-LinkCam" / "Setup-A-2-STA.pcap").string()}, 50, 5);
}

TEST_CASE("ingest/tshark: IoT Sentinel WeMoLink set-up") {
  compare({(kDatasets / "iot-sentinel" / "captures" / "WeMoLink" / "Setup-C-1-STA.pcap").string()}, 50, 5);
}

TEST_CASE("ingest/tshark: IoT Sentinel D-LinkSiren folder (21 captures, sessions across files)") {
  compare({(kDatasets / "iot-sentinel" / "captures" / "D-LinkSiren").string()}, 500, 50);
}

TEST_CASE("ingest/iot-sentinel: the whole dataset with pipelines/devices/iot-sentinel.csv") {
  const fs::path caps = kDatasets / "iot-sentinel" / "captures";
  if (!fs::exists(caps)) {
    return pipectl::testing::skip_required_on_ci("dataset " + caps.string() + " is absent");
  }
  TempDir t;
  const std::string db = (t / "s.db").string();
  const fs::path devices = fs::path(SOURCE_DIR) / "pipelines" / "devices" / "iot-sentinel.csv";
  auto r = ingest_test::ingest({"pcap", caps.string(), "--out", db, "--devices", devices.string()});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  MESSAGE(r.out);
  // Every MAC that sends IP traffic is accounted for: each device folder's MAC has
  // its type, the gateway, phones and PCs are 'Other'.
  CHECK(ingest_test::one(db, "select count(*) from devices where device_type is null") == "0");
  CHECK(ingest_test::one(db, "select count(*) from devices where device_type = 'Other'") == "5");
  for (const auto& dir : fs::directory_iterator(caps)) {
    std::ifstream in(dir.path() / "_iotdevice-mac.txt");
    std::string mac;
    in >> mac;
    INFO(dir.path().filename().string());
    REQUIRE(!mac.empty());
    const std::string type = ingest_test::one(db, "select device_type from devices where mac = '" + mac + "'");
    std::string folder = dir.path().filename().string();
    if (folder == "D-LinkDoorSensor") folder = "D-LinkHomeHub";  // set up through the hub: the hub's MAC
    if (folder == "HueSwitch") folder = "HueBridge";
    CHECK(folder.rfind(type, 0) == 0);  // EdimaxCam1 -> EdimaxCam, WeMoSwitch2 -> WeMoSwitch
    CHECK(folder.size() <= type.size() + 1);
  }
  CHECK(ingest_test::one(db, "select count(distinct device_type) from devices") == "26");  // 25 IoT types + Other
  CHECK(ingest_test::one(db, "select manufacturer from devices where mac = '00:17:88:24:76:ff'") == "Philips Lighting BV");
  // the numbers the whole-dataset comparison with tshark agrees with
  CHECK(ingest_test::one(db, "select count(*) from sessions") == "36851");
  CHECK(ingest_test::one(db, "select count(*) from dns_queries") == "3975");
  CHECK(ingest_test::one(db, "select sum(pktcount) from sessions") == "187547");
}

TEST_CASE("ingest/tshark: the whole IoT Sentinel dataset (550 captures)") {
  compare({(kDatasets / "iot-sentinel" / "captures").string()}, 30000, 3000);
}
