// End-to-end tests on captures written by hand: sessions, DNS names, devices,
// skipped frames, the command line, the database file.
#include "common.hpp"

#include <pipectl/test_skip.hpp>
#include "craft.hpp"
#include "ingest.hpp"
#include "oui.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using craft::Bytes;
using ingest_test::ingest;
using ingest_test::join;
using ingest_test::one;
using ingest_test::query;
using ingest_test::TempDir;

namespace {

const craft::Mac kHue = craft::mac(0x00, 0x17, 0x88, 0x24, 0x76, 0xff);    // Philips Lighting BV
const craft::Mac kGw = craft::mac(0x00, 0xb5, 0x6d, 0x06, 0x08, 0xba);     // David Electronics
const craft::Mac kLocal = craft::mac(0x02, 0x42, 0xac, 0x11, 0x00, 0x02);  // locally administered
const craft::Mac kUnknown = craft::mac(0x00, 0x00, 0x00, 0x00, 0x00, 0x01);  // assigned (Xerox): replaced by --oui
const std::array<std::uint8_t, 4> kHueIp{192, 168, 1, 6}, kGwIp{192, 168, 1, 1}, kNet{52, 28, 131, 102};
const std::array<std::uint8_t, 16> kV6a{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x17, 0x88, 0xff, 0xfe, 0x24, 0x76, 0xff};
const std::array<std::uint8_t, 16> kMdns6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};

Bytes udp4(const craft::Mac& src, std::array<std::uint8_t, 4> s, std::array<std::uint8_t, 4> d, std::uint16_t sp,
           std::uint16_t dp, const Bytes& payload = {}) {
  return craft::eth(src, kGw, 0x0800, craft::ipv4(s, d, 17, craft::udp(sp, dp, payload)));
}
Bytes tcp4(const craft::Mac& src, std::array<std::uint8_t, 4> s, std::array<std::uint8_t, 4> d, std::uint16_t sp,
           std::uint16_t dp, std::uint8_t flags) {
  return craft::eth(src, kGw, 0x0800, craft::ipv4(s, d, 6, craft::tcp(sp, dp, flags)));
}

const char* kSessionCols =
    "select sessionid, deviceid, protocol, srcip, srcport, dstip, dstport, lensum, pktcount, starttime, endtime "
    "from sessions order by sessionid";

}  // namespace

TEST_CASE("ingest/sessions: idle timeout, FIN / RST, time going backwards") {
  TempDir t;
  const std::string cap = (t / "c.pcap").string(), db = (t / "c.db").string();
  craft::Capture c;
  const Bytes u = udp4(kHue, kHueIp, kGwIp, 40000, 123);  // 42 bytes
  c.add(1000.0, u).add(1100.0, u).add(1221.0, u)          // gap 121 s > 120: a new session
      .add(1341.0, u);                                    // gap exactly 120 s: the same one
  c.add(1342.0, tcp4(kHue, kHueIp, kNet, 50000, 443, craft::SYN))
      .add(1342.5, tcp4(kHue, kHueIp, kNet, 50000, 443, craft::ACK))
      .add(1343.0, tcp4(kHue, kHueIp, kNet, 50000, 443, craft::ACK | craft::FIN))  // ends the session
      .add(1343.25, tcp4(kHue, kHueIp, kNet, 50000, 443, craft::ACK))             // a new one
      .add(1344.0, tcp4(kHue, kHueIp, kNet, 50001, 443, craft::SYN))
      .add(1344.5, tcp4(kHue, kHueIp, kNet, 50001, 443, craft::RST))
      .add(1345.0, tcp4(kGw, kNet, kHueIp, 443, 50001, craft::ACK));  // the other direction: its own session
  c.add(500.0, u);  // time going back by more than the timeout: every session ends
  c.write_pcap(cap);

  SUBCASE("default timeout of 120 s") {
    auto r = ingest({"pcap", cap, "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, kSessionCols)) ==
          "1|1|17|192.168.1.6|40000|192.168.1.1|123|84|2|1000.0|1100.0\n"
          "2|1|17|192.168.1.6|40000|192.168.1.1|123|84|2|1221.0|1341.0\n"
          "3|1|6|192.168.1.6|50000|52.28.131.102|443|162|3|1342.0|1343.0\n"
          "4|1|6|192.168.1.6|50000|52.28.131.102|443|54|1|1343.25|1343.25\n"
          "5|1|6|192.168.1.6|50001|52.28.131.102|443|108|2|1344.0|1344.5\n"
          "6|2|6|52.28.131.102|443|192.168.1.6|50001|54|1|1345.0|1345.0\n"
          "7|1|17|192.168.1.6|40000|192.168.1.1|123|42|1|500.0|500.0\n");
    CHECK(r.out.rfind("ingested 1 file: 12 packets, 7 sessions, 2 devices, 0 dns names; skipped 0 packets; ", 0) == 0);
  }
  SUBCASE("--idle-timeout 60") {
    auto r = ingest({"pcap", cap, "--out", db, "--idle-timeout", "60"});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, "select pktcount, starttime from sessions where protocol = 17 order by sessionid")) ==
          "1|1000.0\n1|1100.0\n1|1221.0\n1|1341.0\n1|500.0\n");
  }
  SUBCASE("--idle-timeout 0.4 (fractions of a second)") {
    auto r = ingest({"pcap", cap, "--out", db, "--idle-timeout", "0.4"});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, "select pktcount from sessions where protocol = 6 and srcport = 50000 order by sessionid")) ==
          "1\n1\n1\n1\n");
  }
  SUBCASE("a bad timeout is a usage error") {
    for (const char* bad : {"0", "-5", "abc", "nan"}) {
      auto r = ingest({"pcap", cap, "--out", db, "--idle-timeout", bad});
      CHECK(r.rc == 2);
      CHECK_FALSE(fs::exists(db));
    }
  }
}

TEST_CASE("ingest/sessions: files out of time order") {
  TempDir t;
  const Bytes a = udp4(kHue, kHueIp, kGwIp, 1, 2), b = udp4(kHue, kHueIp, kGwIp, 3, 4);
  craft::Capture f1, f2, f3;
  f1.add(1000, a).add(1001, b);
  f2.add(950, a);           // 51 s back: still the same capture period, sessions go on
  f3.add(800, b).add(801, a);  // 201 s back: an earlier capture, every session ends
  f1.write_pcap((t / "1.pcap").string());
  f2.write_pcap((t / "2.pcap").string());
  f3.write_pcap((t / "3.pcap").string());
  const std::string db = (t / "x.db").string();
  auto r = ingest({"pcap", t.path.string(), "--out", db});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(join(query(db, "select sessionid, srcport, pktcount, starttime, endtime from sessions order by sessionid")) ==
        "1|1|2|1000.0|950.0\n"  // endtime < starttime: the schema allows it
        "2|3|1|1001.0|1001.0\n"
        "3|3|1|800.0|800.0\n"
        "4|1|1|801.0|801.0\n");
}

TEST_CASE("ingest/captures: --captures names each session's file, --per-file ends sessions with their file") {
  TempDir t;
  const Bytes a = udp4(kHue, kHueIp, kGwIp, 1, 2), b = udp4(kHue, kHueIp, kGwIp, 3, 4);
  craft::Capture f1, f2, f3;
  f1.add(1000, a).add(1001, b);
  f2.add(1010, a).add(1011, b);  // 9 s later: without --per-file, the sessions of 1.pcap go on
  f3.add(1020, a);
  fs::create_directories(t / "caps" / "Hue");
  f1.write_pcap((t / "caps" / "Hue" / "1.pcap").string());
  f2.write_pcap((t / "caps" / "Hue" / "2.pcap").string());
  f3.write_pcap((t / "3.pcap").string());
  const std::string in = (t / "caps").string(), lone = (t / "3.pcap").string();
  const char* kCaps =
      "select s.sessionid, s.srcport, s.pktcount, c.file from sessions s left join captures c using (sessionid) "
      "order by s.sessionid";
  SUBCASE("sessions across files: the file of the first packet, counted in the summary") {
    const std::string db = (t / "x.db").string();
    auto r = ingest({"pcap", in, lone, "--captures", "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, kCaps)) ==
          "1|1|3|Hue/1.pcap\n"  // relative to the input folder; a file given alone: as given
          "2|3|2|Hue/1.pcap\n");
    CHECK(r.out.find("; captures table (2 sessions span files, each given its first; --per-file ends them with "
                     "each file);") != std::string::npos);
    CHECK(one(db, "select sql from sqlite_master where name = 'captures'") == pipectl::ingest::kCapturesTableSql);
    CHECK(query(db, "pragma foreign_key_check").empty());
  }
  SUBCASE("--per-file: no session mixes two files") {
    const std::string db = (t / "y.db").string();
    auto r = ingest({"pcap", in, lone, "--captures", "--per-file", "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, kCaps)) ==
          "1|1|1|Hue/1.pcap\n"
          "2|3|1|Hue/1.pcap\n"
          "3|1|1|Hue/2.pcap\n"
          "4|3|1|Hue/2.pcap\n"
          "5|1|1|" + lone + "\n");
    CHECK(r.out.find("; captures table;") != std::string::npos);
  }
  SUBCASE("--per-file alone: the NetCollector schema only") {
    const std::string db = (t / "z.db").string();
    REQUIRE(ingest({"pcap", in, "--per-file", "--out", db}).rc == 0);
    CHECK(one(db, "select count(*) from sessions") == "4");
    CHECK(one(db, "select count(*) from sqlite_master where name = 'captures'") == "0");
  }
}

TEST_CASE("ingest/sessions: sessions close while others go on, memory bounded by open flows") {
  TempDir t;
  const std::string cap = (t / "c.pcap").string(), db = (t / "c.db").string();
  craft::Capture c;
  // 2000 flows, each one packet, 1 s apart: with a 10 s timeout at most ~11 are open at once.
  for (int i = 0; i < 2000; ++i) c.add(10.0 + i, udp4(kHue, kHueIp, kNet, static_cast<std::uint16_t>(20000 + i), 53));
  c.write_pcap(cap);
  auto r = ingest({"pcap", cap, "--out", db, "--idle-timeout", "10"});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(one(db, "select count(*) from sessions") == "2000");
  // ids follow the first packets, whatever the order in which sessions closed
  CHECK(one(db, "select count(*) from sessions where srcport - 20000 + 1 != sessionid") == "0");
  pipectl::ingest::IngestOptions o;
  o.inputs = {cap};
  o.out = (t / "d.db").string();
  o.idle_timeout = 10;
  o.batch = 7;
  std::ostringstream w;
  const auto st = pipectl::ingest::run_ingest(o, w, w);
  CHECK(st.sessions == 2000);
  CHECK(st.peak_open_sessions <= 12);
  CHECK(st.packets_in_sessions == 2000);
}

TEST_CASE("ingest/crafted: malformed and truncated frames are counted and skipped") {
  TempDir t;
  const std::string cap = (t / "bad.pcap").string(), db = (t / "bad.db").string();
  craft::Capture c;
  const Bytes good = udp4(kHue, kHueIp, kGwIp, 1000, 2000);
  double ts = 100;
  auto add = [&](const Bytes& f) { c.add(ts += 0.01, f); };
  add(good);
  add(Bytes(good.begin(), good.begin() + 14 + 10));                                                     // truncated IPv4 header
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 17, craft::udp(1000, 2000, {}), craft::Ip4Opts{3})));  // IHL 3
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 6, craft::tcp(1, 2, craft::SYN, {}, 3))));  // TCP offset 3
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 6, Bytes(10, 0))));                 // TCP header cut
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 17, craft::udp(1, 2, {}, 3))));     // UDP length 3
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 17, craft::udp(1, 2, {}), craft::Ip4Opts{5, -1, 0x0020})));  // later fragment
  add(Bytes(good.begin(), good.begin() + 9));                                                          // truncated Ethernet
  add(craft::eth(kHue, kGw, 0x8100, Bytes{0x00, 0x0a}));                                              // VLAN tag cut
  add(craft::eth(kHue, craft::kBroadcast, 0x0806, Bytes(28, 0)));                                     // ARP
  add(craft::eth(craft::mac(0x01, 0x00, 0x5e, 0, 0, 0xfb), kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 17, craft::udp(1, 2, {}))));
  // Frames that are fine: VLAN-tagged (QinQ), IPv6 with a hop-by-hop header, ICMP.
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 17, craft::udp(1000, 2000, {})), {{0x88a8, 100}, {0x8100, 10}}));
  add(craft::eth(kHue, kGw, 0x86DD, craft::ipv6(kV6a, kMdns6, 0, craft::hop_by_hop(17, craft::udp(5353, 5353, {})))));
  add(craft::eth(kHue, kGw, 0x0800, craft::ipv4(kHueIp, kGwIp, 1, craft::icmp_echo())));
  // A DNS query with a compression loop: the packet counts, its names do not.
  Bytes loop = craft::dns_header(0x0100, 2);
  craft::append(loop, craft::qname("fine.example"));
  craft::put16(loop, 1);
  craft::put16(loop, 1);
  craft::append(loop, Bytes{1, 'a', 0xC0, static_cast<std::uint8_t>(loop.size())});
  craft::put16(loop, 1);
  craft::put16(loop, 1);
  add(udp4(kHue, kHueIp, kGwIp, 33333, 53, loop));
  // A frame captured with a short snap length: lensum uses the original length.
  c.records.push_back({static_cast<std::int64_t>((ts += 0.01) * 1e9), Bytes(good.begin(), good.begin() + 42), 1514});
  c.write_pcap(cap);

  auto r = ingest({"pcap", cap, "--out", db});
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  CHECK(r.out.find("ingested 1 file: 16 packets, 4 sessions, 1 devices, 1 dns names; skipped 10 packets "
                   "(bad_ipv4_ihl 1, bad_tcp_offset 1, bad_udp_length 1, ip_fragment 1, multicast_src_mac 1, "
                   "non_ip 1, truncated_ethernet 1, truncated_ipv4 1, truncated_tcp 1, truncated_vlan 1); "
                   "dns names dropped (dns_compression_loop 1); ") == 0);
  CHECK(join(query(db, "select protocol, srcip, srcport, dstip, dstport, lensum, pktcount from sessions order by sessionid")) ==
        "17|192.168.1.6|1000|192.168.1.1|2000|1606|3\n"  // 42 + 50 (2 tags) + 1514 (snapped)
        "17|fe80::217:88ff:fe24:76ff|5353|ff02::fb|5353|70|1\n"
        "1|192.168.1.6|0|192.168.1.1|0|46|1\n"
        "17|192.168.1.6|33333|192.168.1.1|53|" + std::to_string(42 + loop.size()) + "|1\n");
  CHECK(one(db, "select group_concat(qname) from dns_queries") == "fine.example");
  pipectl::ingest::IngestOptions o;
  o.inputs = {cap};
  o.out = (t / "again.db").string();
  std::ostringstream w;
  const auto st = pipectl::ingest::run_ingest(o, w, w);
  CHECK(st.skipped.at("truncated_ipv4") == 1);
  CHECK(st.dns_errors.at("dns_compression_loop") == 1);
  CHECK(st.packets == 16);
}

TEST_CASE("ingest/crafted: DNS and mDNS query names per session") {
  TempDir t;
  const std::string cap = (t / "dns.pcap").string(), db = (t / "dns.db").string();
  craft::Capture c;
  c.add(1, udp4(kHue, kHueIp, kGwIp, 40001, 53, craft::dns_query({{"Bridge.MeetHue.COM", 1}, {"x.example", 255}})));
  c.add(2, udp4(kHue, kHueIp, kGwIp, 40001, 53, craft::dns_query({{"bridge.meethue.com", 28}, {"b.example", 12}})));
  c.add(3, udp4(kGw, kGwIp, kHueIp, 53, 40001, craft::dns_query({{"answer.example", 1}}, 0x8180)));  // a response
  c.add(4, udp4(kHue, kHueIp, {224, 0, 0, 251}, 5353, 5353, craft::dns_query({{"_hue._tcp.local", 12}}, 0)));
  c.add(5, udp4(kHue, kHueIp, kGwIp, 53, 9999, craft::dns_query({{"src53.example", 33}})));   // query from port 53
  c.add(6, udp4(kHue, kHueIp, kGwIp, 40002, 5353, craft::dns_query({{"legacy.local", 16}})));  // unicast mDNS
  c.add(7, udp4(kHue, kHueIp, kGwIp, 40003, 5355, craft::dns_query({{"llmnr", 1}})));          // LLMNR: not read
  c.add(8, udp4(kHue, kHueIp, kGwIp, 40004, 53, craft::dns_query({{"", 1}})));                 // root only
  c.add(9, craft::eth(kHue, kGw, 0x86DD, craft::ipv6(kV6a, kMdns6, 17, craft::udp(5353, 5353, craft::dns_query({{"Philips-hue.local", 28}}, 0)))));
  c.write_pcap(cap);

  SUBCASE("default question types") {
    auto r = ingest({"pcap", cap, "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, "select s.srcport, s.dstport, q.qname from dns_queries q join sessions s using (sessionid) "
                         "order by q.rowid")) ==
          "40001|53|bridge.meethue.com\n"
          "40001|53|b.example\n"
          "5353|5353|_hue._tcp.local\n"
          "53|9999|src53.example\n"
          "40002|5353|legacy.local\n"
          "5353|5353|philips-hue.local\n");
    CHECK(one(db, "select count(*) from sessions") == "8");
  }
  SUBCASE("--dns-types ANY,A") {
    auto r = ingest({"pcap", cap, "--out", db, "--dns-types", "ANY,A"});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(one(db, "select group_concat(qname, ' ') from (select qname from dns_queries order by rowid)") ==
          "bridge.meethue.com x.example");
  }
  SUBCASE("--dns-types with a typo") {
    auto r = ingest({"pcap", cap, "--out", db, "--dns-types", "A,AAA"});
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("pipectl ingest: --dns-types: unknown DNS question type \"AAA\"\n", 0) == 0);
  }
}

TEST_CASE("ingest/crafted: devices, manufacturers and labels") {
  TempDir t;
  const std::string cap = (t / "d.pcap").string(), db = (t / "d.db").string();
  craft::Capture c;
  c.add(1, udp4(kHue, {0, 0, 0, 0}, {255, 255, 255, 255}, 68, 67, craft::dhcp_request(kHue, "Philips-hue")));
  c.add(2, udp4(kHue, kHueIp, kGwIp, 1, 2));
  c.add(3, udp4(kGw, kNet, kHueIp, 443, 3));  // the gateway forwards Internet traffic …
  c.add(4, udp4(kGw, kGwIp, kHueIp, 53, 4));  // … and has a LAN address of its own
  c.add(5, udp4(kGw, {8, 8, 8, 8}, kHueIp, 53, 4));
  c.add(6, udp4(kLocal, {10, 1, 1, 9}, kGwIp, 5, 6));
  c.add(7, craft::eth(kUnknown, kGw, 0x86DD, craft::ipv6(kV6a, kMdns6, 58, Bytes{133, 0, 0, 0, 0, 0, 0, 0})));
  c.write_pcap(cap);
  const char* kDevices = "select deviceid, mac, ip, manufacturer, device_type, hostname from devices order by deviceid";

  SUBCASE("no devices file: manufacturers from the registry, no labels") {
    auto r = ingest({"pcap", cap, "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    if (pipectl::ingest::default_oui_files().empty()) {
      return pipectl::testing::skip_required_on_ci("ieee-data is not installed");
    }
    CHECK(join(query(db, kDevices)) ==
          "1|00:17:88:24:76:ff|192.168.1.6|Philips Lighting BV|NULL|Philips-hue\n"
          "2|00:b5:6d:06:08:ba|192.168.1.1|David Electronics Co., LTD.|NULL|NULL\n"
          "3|02:42:ac:11:00:02|10.1.1.9|Locally administered|NULL|NULL\n"
          "4|00:00:00:00:00:01|NULL|XEROX CORPORATION|NULL|NULL\n");
  }
  SUBCASE("a devices file (CSV or TOML) labels the listed devices, 'Other' for the non-IoT ones") {
    std::ofstream(t / "dev.csv") << "mac,device_type,hostname\n"
                                    "00:17:88:24:76:FF,HueBridge,\n"
                                    "00:b5:6d:06:08:ba,Other,gateway\n"
                                    "aa:bb:cc:dd:ee:00,NotSeen,\n";
    std::ofstream(t / "dev.toml") << "[[device]]\nmac = \"0017.8824.76ff\"\ndevice_type = \"HueBridge\"\n"
                                     "[[device]]\nmac = \"00-b5-6d-06-08-ba\"\nhostname = \"gateway\"\n";
    std::ofstream(t / "reg.csv") << "Registry,Assignment,Organization Name,Organization Address\n"
                                    "MA-L,001788,Signify (test registry),\n";
    for (const char* f : {"dev.csv", "dev.toml"}) {
      INFO(f);
      auto r = ingest({"pcap", cap, "--out", db, "--force", "--devices", (t / f).string(), "--oui", (t / "reg.csv").string()});
      REQUIRE_MESSAGE(r.rc == 0, r.err);
      CHECK(join(query(db, kDevices)) ==
            "1|00:17:88:24:76:ff|192.168.1.6|Signify (test registry)|HueBridge|Philips-hue\n"
            "2|00:b5:6d:06:08:ba|192.168.1.1|NULL|Other|gateway\n"
            "3|02:42:ac:11:00:02|10.1.1.9|Locally administered|NULL|NULL\n"
            "4|00:00:00:00:00:01|NULL|NULL|NULL|NULL\n");
      // the view the sqlite source reads
      CHECK(one(db, "select count(*) from v_session_mnf_devicetype where device_type is not null") == "5");
    }
  }
  SUBCASE("a bad devices file or registry is a data error; nothing is written") {
    std::ofstream(t / "bad.csv") << "mac,device_type\nnot-a-mac,X\n";
    auto r = ingest({"pcap", cap, "--out", db, "--devices", (t / "bad.csv").string()});
    CHECK(r.rc == 6);
    CHECK(r.err == "pipectl ingest: " + (t / "bad.csv").string() + ":2: \"not-a-mac\" is not a MAC address\n");
    CHECK_FALSE(fs::exists(db));
    r = ingest({"pcap", cap, "--out", db, "--oui", (t / "nope.csv").string()});
    CHECK(r.rc == 6);
    CHECK(r.err == "pipectl ingest: cannot read the MAC registry \"" + (t / "nope.csv").string() + "\"\n");
    CHECK_FALSE(fs::exists(db));
  }
}

TEST_CASE("ingest/cli: inputs, output file, errors") {
  TempDir t;
  craft::Capture a, b;
  a.add(10, udp4(kHue, kHueIp, kGwIp, 1, 2));
  b.add(20, udp4(kGw, kGwIp, kHueIp, 3, 4));
  fs::create_directories(t / "caps" / "z");
  fs::create_directories(t / "caps" / "a");
  b.write_pcap((t / "caps" / "z" / "2.pcap").string());
  a.write_pcapng((t / "caps" / "a" / "1.capture").string());  // found by its magic number, not its name
  std::ofstream(t / "caps" / "README.txt") << "not a capture\n";
  const std::string db = (t / "out.db").string();

  SUBCASE("folders are searched recursively, in sorted order; pcapng and nanosecond pcap are read") {
    craft::Capture n;
    n.add(30.123456789, udp4(kHue, kHueIp, kGwIp, 7, 8));
    n.write_pcap((t / "nano.pcap").string(), true);
    auto r = ingest({"pcap", (t / "caps").string(), (t / "nano.pcap").string(), (t / "caps" / "z" / "2.pcap").string(),
                     "--out", db});  // 2.pcap is read once
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, "select sessionid, srcport, starttime from sessions order by sessionid")) ==
          "1|1|10.0\n2|3|20.0\n3|7|30.123456789\n");
    CHECK(r.out.find("ingested 3 files: 3 packets, 3 sessions, 2 devices, 0 dns names; skipped 0 packets; "
                     "1 non-capture files ignored; ") == 0);
    CHECK_FALSE(fs::exists(db + ".tmp"));
  }
  SUBCASE("an existing database is kept unless --force") {
    std::ofstream(db) << "precious";
    auto r = ingest({"pcap", (t / "caps").string(), "--out", db});
    CHECK(r.rc == 2);
    CHECK(r.err == "pipectl ingest: \"" + db + "\" exists; use --force to overwrite it\n");
    CHECK(pipectl::testsupport::slurp(db) == "precious");
    r = ingest({"pcap", (t / "caps").string(), "--out", db, "--force", "-q"});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(r.out.empty());
    CHECK(one(db, "select count(*) from sessions") == "2");
  }
  SUBCASE("a failed run leaves the old database and no temporary") {
    std::ofstream(db) << "precious";
    std::ofstream(db + ".tmp") << "stale";
    std::ofstream(t / "junk.pcap") << "this is not a capture at all";
    auto r = ingest({"pcap", (t / "caps").string(), (t / "junk.pcap").string(), "--out", db, "--force"});
    CHECK(r.rc == 6);
    CHECK(r.err.rfind("pipectl ingest: cannot read the capture \"" + (t / "junk.pcap").string() + "\": ", 0) == 0);
    CHECK(pipectl::testsupport::slurp(db) == "precious");
    CHECK_FALSE(fs::exists(db + ".tmp"));
  }
  SUBCASE("a capture cut in the middle of a packet: a warning, the packets before it count") {
    craft::Capture c;
    c.add(1, udp4(kHue, kHueIp, kGwIp, 1, 2)).add(2, udp4(kHue, kHueIp, kGwIp, 1, 2));
    c.write_pcap((t / "cut.pcap").string());
    fs::resize_file(t / "cut.pcap", fs::file_size(t / "cut.pcap") - 5);
    auto r = ingest({"pcap", (t / "cut.pcap").string(), "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(r.err.find("pipectl ingest: warning: \"" + (t / "cut.pcap").string() + "\": truncated dump file") == 0);
    CHECK(r.out.find("ingested 1 file: 1 packets, 1 sessions, 1 devices, 0 dns names; skipped 0 packets; 1 truncated files; ") == 0);
  }
  SUBCASE("Linux cooked capture (SLL)") {
    craft::Capture s;
    s.linktype = 113;
    Bytes f{0, 4, 0, 1, 0, 6};
    f.insert(f.end(), kHue.begin(), kHue.end());
    f.push_back(0);
    f.push_back(0);
    craft::put16(f, 0x0800);
    craft::append(f, craft::ipv4(kHueIp, kGwIp, 6, craft::tcp(5, 6, craft::SYN)));
    s.add(1, f);
    s.write_pcap((t / "sll.pcap").string());
    auto r = ingest({"pcap", (t / "sll.pcap").string(), "--out", db});
    REQUIRE_MESSAGE(r.rc == 0, r.err);
    CHECK(join(query(db, "select d.mac, s.protocol, s.srcport, s.lensum from sessions s join devices d using (deviceid)")) ==
          "00:17:88:24:76:ff|6|5|56\n");
  }
  SUBCASE("usage errors") {
    CHECK(ingest({}).rc == 2);
    auto r = ingest({"pcapng", "x"});
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("pipectl ingest: unknown input kind \"pcapng\" (pcap)\n", 0) == 0);
    r = ingest({"pcap", "--out", db});
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("pipectl ingest: no input captures given\n", 0) == 0);
    r = ingest({"pcap", (t / "caps").string()});
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("pipectl ingest: --out DB is required\n", 0) == 0);
    r = ingest({"pcap", (t / "missing").string(), "--out", db});
    CHECK(r.rc == 2);
    CHECK(r.err == "pipectl ingest: input \"" + (t / "missing").string() + "\" does not exist\n");
    r = ingest({"pcap", (t / "caps").string(), "--out", db, "--bogus"});
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("pipectl ingest: unrecognised option '--bogus'\n", 0) == 0);
    r = ingest({"pcap", (t / "caps").string(), "--out", db, "--progress", "sometimes"});
    CHECK(r.rc == 2);
    r = ingest({"pcap", (t / "caps").string(), "--out", (t / "caps").string()});
    CHECK(r.rc == 2);
    CHECK(r.err == "pipectl ingest: \"" + (t / "caps").string() + "\" is a folder\n");
    fs::create_directories(t / "empty");
    r = ingest({"pcap", (t / "empty").string(), "--out", db});
    CHECK(r.rc == 6);
    CHECK(r.err == "pipectl ingest: no capture files (pcap / pcapng) found in the inputs\n");
    CHECK_FALSE(fs::exists(db));
  }
  SUBCASE("an interrupt stops the run; no database, no temporary") {
    std::atomic<bool> stop{true};
    std::ostringstream out, err;
    const int rc = pipectl::ingest::cli_main({"pcap", (t / "caps").string(), "--out", db}, out, err, &stop);
    CHECK(rc == 130);
    CHECK(err.str() == "pipectl ingest: interrupted by a signal; \"" + db + "\" not written\n");
    CHECK_FALSE(fs::exists(db));
    CHECK_FALSE(fs::exists(db + ".tmp"));
  }
  SUBCASE("help") {
    for (auto args : {std::vector<std::string>{"--help"}, std::vector<std::string>{"pcap", "--help"}}) {
      auto r = ingest(args);
      CHECK(r.rc == 0);
      CHECK(r.out.rfind("usage: pipectl ingest pcap INPUT... --out DB [options]\n", 0) == 0);
      CHECK(r.out.find("--idle-timeout SECONDS (=120)") != std::string::npos);
    }
  }
  SUBCASE("the standalone executable") {
    auto r = pipectl::testsupport::sh(std::string(PIPECTL_INGEST_EXE) + " pcap " + (t / "caps").string() + " --out " + db);
    CHECK_MESSAGE(r.rc == 0, r.err);
    CHECK(r.out.rfind("ingested 2 files: 2 packets, 2 sessions, 2 devices, 0 dns names;", 0) == 0);
    r = pipectl::testsupport::sh(std::string(PIPECTL_INGEST_EXE) + " pcap " + (t / "caps").string() + " --out " + db);
    CHECK(r.rc == 2);
  }
  SUBCASE("progress bar when asked") {
    pipectl::ingest::IngestOptions o;
    o.inputs = {(t / "caps").string()};
    o.out = db;
    o.progress = pipectl::ingest::ProgressMode::Always;
    std::ostringstream w, p;
    pipectl::ingest::run_ingest(o, w, p);  // too short to show a bar (< 0.5 s): nothing
    CHECK(p.str().empty());
  }
}

TEST_CASE("ingest/database: exactly the schema of schemas/netcollector.sql, deterministic") {
  TempDir t;
  craft::Capture c;
  c.add(1, udp4(kHue, kHueIp, kGwIp, 40001, 53, craft::dns_query({{"a.example", 1}})));
  c.add(2, tcp4(kHue, kHueIp, kNet, 1, 443, craft::SYN));
  c.write_pcap((t / "c.pcap").string());
  const std::string db = (t / "a.db").string(), db2 = (t / "b.db").string();
  REQUIRE(ingest({"pcap", (t / "c.pcap").string(), "--out", db}).rc == 0);
  REQUIRE(ingest({"pcap", (t / "c.pcap").string(), "--out", db2}).rc == 0);
  // The reference: the schema file executed by sqlite3 itself.
  const std::string ref = (t / "ref.db").string();
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(ref.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, pipectl::testsupport::slurp(SCHEMA_FILE).c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
  const char* kMaster = "select type, name, tbl_name, sql from sqlite_master order by type, name";
  CHECK(join(query(db, kMaster)) == join(query(ref, kMaster)));
  CHECK(query(db, kMaster).size() == 6);  // 3 tables, 2 indexes (one for UNIQUE mac), 1 view
  CHECK(pipectl::testsupport::slurp(db) == pipectl::testsupport::slurp(db2));
  CHECK(one(db, "pragma integrity_check") == "ok");
}
