// Unit tests of the pure parts: frames, DNS names, DHCP host names, MACs,
// devices files, the MAC registry.
#include "common.hpp"

#include <pipectl/test_skip.hpp>
#include "craft.hpp"
#include "devices.hpp"
#include "dns.hpp"
#include "oui.hpp"
#include "packet.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace pipectl::ingest;
using craft::Bytes;

namespace {

const craft::Mac kDev = craft::mac(0x00, 0x17, 0x88, 0x24, 0x76, 0xff);
const craft::Mac kGw = craft::mac(0x00, 0xb5, 0x6d, 0x06, 0x08, 0xba);
const std::array<std::uint8_t, 4> kIpA{10, 0, 0, 2}, kIpB{10, 0, 0, 1};
const std::array<std::uint8_t, 16> kIp6A{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const std::array<std::uint8_t, 16> kIp6B{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};

SkipReason parse(const Bytes& f, Packet& p, int linktype = kLinkEthernet) {
  return parse_frame(linktype, f.data(), f.size(), p);
}
SkipReason parse(const Bytes& f) {
  Packet p;
  return parse(f, p);
}
Bytes eth4(const Bytes& ip) { return craft::eth(kDev, kGw, 0x0800, ip); }

/// The message of the exception `f` throws ("(no exception)" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("ingest/parse: frames are keyed or skipped with a reason") {
  Packet p;
  SUBCASE("TCP over IPv4 with options, FIN and RST") {
    const Bytes f = eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(40000, 443, craft::ACK | craft::FIN, {1, 2, 3}),
                                     craft::Ip4Opts{6}));
    REQUIRE(parse(f, p) == SkipReason::None);
    CHECK(p.family == 4);
    CHECK(p.proto == 6);
    CHECK(p.sport == 40000);
    CHECK(p.dport == 443);
    CHECK(p.fin_or_rst);
    CHECK(mac_str(p.src_mac) == "00:17:88:24:76:ff");
    CHECK(ip_str(4, p.src_ip) == "10.0.0.2");
    CHECK(ip_str(4, p.dst_ip) == "10.0.0.1");
    REQUIRE(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, craft::RST))), p) == SkipReason::None);
    CHECK(p.fin_or_rst);
    REQUIRE(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, craft::SYN | craft::ACK))), p) == SkipReason::None);
    CHECK_FALSE(p.fin_or_rst);
  }
  SUBCASE("UDP payload stops at the UDP length, not at the Ethernet padding") {
    Bytes f = eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(5000, 53, {9, 9, 9})));
    f.resize(60, 0);  // padded to the Ethernet minimum
    REQUIRE(parse(f, p) == SkipReason::None);
    CHECK(p.udp_payload_len == 3);
    CHECK(p.udp_payload[0] == 9);
  }
  SUBCASE("ICMP and other protocols have ports 0") {
    REQUIRE(parse(eth4(craft::ipv4(kIpA, kIpB, 1, craft::icmp_echo())), p) == SkipReason::None);
    CHECK((p.proto == 1 && p.sport == 0 && p.dport == 0));
    REQUIRE(parse(eth4(craft::ipv4(kIpA, kIpB, 2, Bytes{0x16, 0, 0, 0, 224, 0, 0, 251})), p) == SkipReason::None);
    CHECK((p.proto == 2 && p.sport == 0 && p.dport == 0));
  }
  SUBCASE("802.1Q, 802.1ad and QinQ tags") {
    for (auto tags : {std::vector<std::pair<std::uint16_t, std::uint16_t>>{{0x8100, 10}},
                      std::vector<std::pair<std::uint16_t, std::uint16_t>>{{0x88a8, 100}, {0x8100, 10}},
                      std::vector<std::pair<std::uint16_t, std::uint16_t>>{{0x9100, 7}, {0x8100, 10}}}) {
      Bytes f = craft::eth(kDev, kGw, 0x0800, craft::ipv4(kIpA, kIpB, 17, craft::udp(1, 2, {})));
      Bytes tagged(f.begin(), f.begin() + 12);
      for (auto [tpid, vid] : tags) {
        craft::put16(tagged, tpid);
        craft::put16(tagged, vid);
      }
      tagged.insert(tagged.end(), f.begin() + 12, f.end());
      REQUIRE(parse(tagged, p) == SkipReason::None);
      CHECK(p.dport == 2);
    }
    Bytes deep(kGw.begin(), kGw.end());
    deep.insert(deep.end(), kDev.begin(), kDev.end());
    for (int i = 0; i < 9; ++i) {
      craft::put16(deep, 0x8100);
      craft::put16(deep, 1);
    }
    craft::put16(deep, 0x0800);
    CHECK(parse(deep) == SkipReason::VlanTooDeep);
    Bytes cut = craft::eth(kDev, kGw, 0x8100, Bytes{0x00});
    CHECK(parse(cut) == SkipReason::TruncatedVlan);
  }
  SUBCASE("IPv6 with a hop-by-hop header; a cut extension header; a later fragment") {
    REQUIRE(parse(craft::eth(kDev, kGw, 0x86DD, craft::ipv6(kIp6A, kIp6B, 0, craft::hop_by_hop(58, Bytes{143, 0, 0, 0, 0, 0, 0, 1}))), p) ==
            SkipReason::None);
    CHECK(p.family == 6);
    CHECK(p.proto == 58);
    CHECK(ip_str(6, p.src_ip) == "fe80::2");
    CHECK(ip_str(6, p.dst_ip) == "ff02::fb");
    Bytes cut = craft::ipv6(kIp6A, kIp6B, 0, craft::hop_by_hop(17, {}));
    cut[4] = 0;
    cut[5] = 4;  // payload length 4: the 8-byte header runs past it
    cut.resize(44);
    CHECK(parse(craft::eth(kDev, kGw, 0x86DD, cut)) == SkipReason::TruncatedIpv6Ext);
    Bytes frag{17, 0, 0x00, 0x08, 0, 0, 0, 1};  // offset 1 (x8 bytes)
    CHECK(parse(craft::eth(kDev, kGw, 0x86DD, craft::ipv6(kIp6A, kIp6B, 44, frag))) == SkipReason::IpFragment);
    Bytes first{17, 0, 0x00, 0x01, 0, 0, 0, 1};  // offset 0, more fragments
    craft::append(first, craft::udp(5353, 5353, Bytes(20, 0), 1000));
    REQUIRE(parse(craft::eth(kDev, kGw, 0x86DD, craft::ipv6(kIp6A, kIp6B, 44, first)), p) == SkipReason::None);
    CHECK(p.sport == 5353);
    CHECK(parse(craft::eth(kDev, kGw, 0x86DD, Bytes(30, 0x60))) == SkipReason::TruncatedIpv6);
  }
  SUBCASE("malformed and truncated IPv4 / TCP / UDP / ICMP") {
    const Bytes good = craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, craft::SYN));
    CHECK(parse(Bytes(10, 0)) == SkipReason::TruncatedEthernet);
    CHECK(parse(eth4(Bytes(good.begin(), good.begin() + 12))) == SkipReason::TruncatedIpv4);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0), craft::Ip4Opts{3}))) == SkipReason::BadIpv4Ihl);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0), craft::Ip4Opts{15, 40}))) == SkipReason::BadIpv4Ihl);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0), craft::Ip4Opts{5, 12}))) == SkipReason::BadIpv4Length);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0), craft::Ip4Opts{5, -1, 0, 6}))) == SkipReason::BadIpVersion);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0), craft::Ip4Opts{5, -1, 0x0010}))) == SkipReason::IpFragment);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0, {}, 2)))) == SkipReason::BadTcpOffset);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, 0, {}, 15)))) == SkipReason::BadTcpOffset);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 6, Bytes(12, 0)))) == SkipReason::TruncatedTcp);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 17, Bytes(6, 0)))) == SkipReason::TruncatedUdp);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(1, 2, {}, 4)))) == SkipReason::BadUdpLength);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(1, 2, {1, 2}, 200)))) == SkipReason::BadUdpLength);
    CHECK(parse(eth4(craft::ipv4(kIpA, kIpB, 1, Bytes{8, 0, 0}))) == SkipReason::TruncatedIcmp);
    // Every prefix of a good frame parses or is skipped; none reads past its end.
    const Bytes full = eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(5353, 5353, craft::dns_query({{"a.local", 12}}))));
    for (std::size_t n = 0; n <= full.size(); ++n) {
      Bytes prefix(full.begin(), full.begin() + static_cast<long>(n));
      prefix.shrink_to_fit();
      (void)parse(prefix);
    }
  }
  SUBCASE("non-IP and multicast sources") {
    CHECK(parse(craft::eth(kDev, craft::kBroadcast, 0x0806, Bytes(28, 0))) == SkipReason::NonIp);
    CHECK(parse(craft::eth(kDev, kGw, 0x0026, Bytes(38, 0))) == SkipReason::NonIp);  // 802.3 length field
    CHECK(parse(craft::eth(craft::mac(0x01, 0, 0x5e, 0, 0, 1), kGw, 0x0800, craft::ipv4(kIpA, kIpB, 17, craft::udp(1, 2, {})))) ==
          SkipReason::MulticastSrcMac);
  }
  SUBCASE("Linux cooked captures (SLL and SLL2)") {
    Bytes sll{0, 0, 0, 1, 0, 6};
    sll.insert(sll.end(), kDev.begin(), kDev.end());
    sll.push_back(0);
    sll.push_back(0);
    craft::put16(sll, 0x0800);
    craft::append(sll, craft::ipv4(kIpA, kIpB, 17, craft::udp(7, 8, {})));
    REQUIRE(parse(sll, p, kLinkLinuxSll) == SkipReason::None);
    CHECK(mac_str(p.src_mac) == "00:17:88:24:76:ff");
    CHECK(p.dport == 8);
    Bytes sll2;
    craft::put16(sll2, 0x86DD);
    craft::put16(sll2, 0);
    craft::put32(sll2, 2);
    craft::put16(sll2, 1);
    sll2.push_back(0);
    sll2.push_back(6);
    sll2.insert(sll2.end(), kDev.begin(), kDev.end());
    sll2.push_back(0);
    sll2.push_back(0);
    craft::append(sll2, craft::ipv6(kIp6A, kIp6B, 17, craft::udp(5353, 5353, {})));
    REQUIRE(parse(sll2, p, kLinkLinuxSll2) == SkipReason::None);
    CHECK(p.family == 6);
    CHECK(p.sport == 5353);
    sll[5] = 0;  // no link-layer address
    CHECK(parse(sll, p, kLinkLinuxSll) == SkipReason::SllNoMac);
    CHECK(parse(Bytes(12, 0), p, kLinkLinuxSll) == SkipReason::TruncatedSll);
    CHECK(parse(Bytes(40, 0x45), p, 101 /* raw IP */) == SkipReason::UnsupportedLinkType);
  }
}

TEST_CASE("ingest/parse: DNS question names") {
  std::vector<std::string> names;
  const QtypeSet kept = default_qtypes();
  SUBCASE("kept types, lowercase, no trailing dot, root and other types left out") {
    const Bytes q = craft::dns_query({{"Bridge.MeetHue.com", 1},
                                      {"x.example", 28},
                                      {"_hue._tcp.local", 12},
                                      {"_sip._udp.example", 33},
                                      {"t.example", 16},
                                      {"any.example", 255},
                                      {"mx.example", 15},
                                      {"", 1}});
    CHECK(dns_query_names(q.data(), q.size(), kept, names) == DnsStatus::Ok);
    CHECK(names == std::vector<std::string>{"bridge.meethue.com", "x.example", "_hue._tcp.local", "_sip._udp.example",
                                            "t.example"});
    names.clear();
    QtypeSet any;
    any.set(255);
    CHECK(dns_query_names(q.data(), q.size(), any, names) == DnsStatus::Ok);
    CHECK(names == std::vector<std::string>{"any.example"});
  }
  SUBCASE("responses and non-QUERY opcodes give nothing") {
    Bytes r = craft::dns_query({{"a.example", 1}}, 0x8180);
    CHECK(dns_query_names(r.data(), r.size(), kept, names) == DnsStatus::NotQuery);
    Bytes upd = craft::dns_query({{"zone.example", 1}}, 0x2800);  // opcode 5 (UPDATE)
    CHECK(dns_query_names(upd.data(), upd.size(), kept, names) == DnsStatus::NotQuery);
    CHECK(names.empty());
  }
  SUBCASE("compression pointers, spaces and escapes") {
    Bytes q = craft::dns_header(0x0000, 3);
    const std::size_t first = q.size();
    craft::append(q, craft::qname("Philips hue - 2476FF._hap._tcp.local"));
    craft::put16(q, 12);
    craft::put16(q, 0x8001);  // QU bit in the class: still kept
    // "_hap._tcp.local" by pointer into the first name (offset of "_hap").
    craft::append(q, Bytes{0xC0, static_cast<std::uint8_t>(first + 21)});
    craft::put16(q, 12);
    craft::put16(q, 1);
    // "srv" + pointer.
    craft::append(q, Bytes{3, 'S', 'r', 'v', 0xC0, static_cast<std::uint8_t>(first + 21)});
    craft::put16(q, 33);
    craft::put16(q, 1);
    CHECK(dns_query_names(q.data(), q.size(), kept, names) == DnsStatus::Ok);
    CHECK(names == std::vector<std::string>{"philips hue - 2476ff._hap._tcp.local", "_hap._tcp.local", "srv._hap._tcp.local"});
    names.clear();
    Bytes odd = craft::dns_header(0, 1);
    craft::append(odd, Bytes{4, 'a', 0x01, 0xC3, 0xA9, 0});  // control byte, then "é" in UTF-8
    craft::put16(odd, 1);
    craft::put16(odd, 1);
    CHECK(dns_query_names(odd.data(), odd.size(), kept, names) == DnsStatus::Ok);
    CHECK(names == std::vector<std::string>{"a\\001\xC3\xA9"});
    names.clear();
    Bytes bad_utf8 = craft::dns_header(0, 1);
    craft::append(bad_utf8, Bytes{2, 0xFF, 'X', 0});
    craft::put16(bad_utf8, 1);
    craft::put16(bad_utf8, 1);
    CHECK(dns_query_names(bad_utf8.data(), bad_utf8.size(), kept, names) == DnsStatus::Ok);
    CHECK(names == std::vector<std::string>{"\\255x"});
  }
  SUBCASE("loops, bad pointers, bad labels, truncation") {
    Bytes self = craft::dns_header(0, 1);
    craft::append(self, Bytes{0xC0, 12});  // points at itself
    craft::put16(self, 1);
    craft::put16(self, 1);
    CHECK(dns_query_names(self.data(), self.size(), kept, names) == DnsStatus::CompressionLoop);
    Bytes pair = craft::dns_header(0, 1);
    craft::append(pair, Bytes{1, 'a', 0xC0, 12});  // "a" then back to "a"…
    craft::put16(pair, 1);
    craft::put16(pair, 1);
    CHECK(dns_query_names(pair.data(), pair.size(), kept, names) == DnsStatus::CompressionLoop);
    Bytes far = craft::dns_header(0, 1);
    craft::append(far, Bytes{0xC1, 0x00});
    craft::put16(far, 1);
    craft::put16(far, 1);
    CHECK(dns_query_names(far.data(), far.size(), kept, names) == DnsStatus::BadPointer);
    Bytes label = craft::dns_header(0, 1);
    craft::append(label, Bytes{0x41, 'a', 0});
    CHECK(dns_query_names(label.data(), label.size(), kept, names) == DnsStatus::BadLabel);
    Bytes longname = craft::dns_header(0, 1);
    for (int i = 0; i < 5; ++i) {
      longname.push_back(63);
      longname.insert(longname.end(), 63, 'x');
    }
    longname.push_back(0);
    craft::put16(longname, 1);
    craft::put16(longname, 1);
    CHECK(dns_query_names(longname.data(), longname.size(), kept, names) == DnsStatus::NameTooLong);
    CHECK(names.empty());
    // The first question is kept when the second is cut off.
    Bytes two = craft::dns_query({{"ok.example", 1}, {"cut.example", 1}});
    two.resize(two.size() - 6);
    CHECK(dns_query_names(two.data(), two.size(), kept, names) == DnsStatus::Truncated);
    CHECK(names == std::vector<std::string>{"ok.example"});
    names.clear();
    // Every prefix of a message is handled.
    const Bytes full = craft::dns_query({{"a.b.example", 1}, {"c.example", 28}});
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes prefix(full.begin(), full.begin() + static_cast<long>(n));
      prefix.shrink_to_fit();
      CHECK(dns_query_names(prefix.data(), prefix.size(), kept, names) == DnsStatus::Truncated);
      names.clear();
    }
  }
  SUBCASE("question type lists") {
    QtypeSet s = parse_qtypes("a, aaaa,PTR,65");
    CHECK(s.count() == 4);
    CHECK((s.test(1) && s.test(28) && s.test(12) && s.test(65)));
    CHECK(parse_qtypes("A,AAAA,PTR,SRV,TXT") == default_qtypes());
    CHECK(error_of([&] { (void)parse_qtypes("A,BOGUS"); }) == std::string("unknown DNS question type \"BOGUS\""));
    CHECK(error_of([&] { (void)parse_qtypes("A,,PTR"); }) == std::string("unknown DNS question type \"\""));
    CHECK(error_of([&] { (void)parse_qtypes("70000"); }) == std::string("unknown DNS question type \"70000\""));
  }
}

TEST_CASE("ingest/parse: DHCP host names") {
  const Bytes req = craft::dhcp_request(kDev, "Philips-hue");
  CHECK(dhcp_client_hostname(req.data(), req.size()) == "Philips-hue");
  Bytes reply = req;
  reply[0] = 2;
  CHECK(dhcp_client_hostname(reply.data(), reply.size()).empty());
  // Cut anywhere before the end of the host name option: no name, no over-read.
  for (std::size_t n = 0; n + 1 < req.size(); ++n) {
    Bytes prefix(req.begin(), req.begin() + static_cast<long>(n));
    prefix.shrink_to_fit();
    CHECK(dhcp_client_hostname(prefix.data(), prefix.size()).empty());
  }
}

TEST_CASE("ingest/parse: MAC addresses and devices files") {
  Mac m{};
  SUBCASE("spellings") {
    for (const char* s : {"00:17:88:24:76:FF", "00-17-88-24-76-ff", "0017.8824.76ff", "0017882476ff", " 0017882476ff\r"}) {
      INFO(s);
      REQUIRE(parse_mac(s, m));
      CHECK(mac_str(m) == "00:17:88:24:76:ff");
    }
    for (const char* s : {"001788 2476ff", "00:17:88:24:76", "00:17:88-24:76:ff", "001788:2476ff", "0017.88247.6ff",
                          "00:17:88:24:76:fg", ""}) {
      INFO(s);
      CHECK_FALSE(parse_mac(s, m));
    }
  }
  ingest_test::TempDir t;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(t / name) << text;
    return (t / name).string();
  };
  SUBCASE("CSV and TOML give the same labels") {
    const std::string csv = write("d.csv",
                                  "hostname,mac,device_type,notes\n"
                                  "hue,00:17:88:24:76:FF,HueBridge,x\n"
                                  "# a comment\n"
                                  "\n"
                                  ",00:b5:6d:06:08:ba,other,\n"
                                  "phone,38-0b-40-ef-85-41,,\n"
                                  "\"a, quoted\",5ccf7f06d902,\"iKettle2\",\n");
    const std::string toml = write("d.toml",
                                   "[[device]]\nmac = \"00:17:88:24:76:ff\"\ndevice_type = \"HueBridge\"\nhostname = \"hue\"\n"
                                   "[[device]]\nmac = \"00:b5:6d:06:08:ba\"\ndevice_type = \"Other\"\n"
                                   "[[device]]\nmac = \"38:0b:40:ef:85:41\"\nhostname = \"phone\"\n"
                                   "[[device]]\nmac = \"5c:cf:7f:06:d9:02\"\ndevice_type = \"iKettle2\"\nhostname = \"a, quoted\"\n");
    for (const std::string& f : {csv, toml}) {
      INFO(f);
      auto d = read_devices_file(f);
      REQUIRE(d.size() == 4);
      REQUIRE(parse_mac("00:17:88:24:76:ff", m));
      CHECK(d.at(m).device_type == "HueBridge");
      CHECK(d.at(m).hostname == "hue");
      REQUIRE(parse_mac("00:b5:6d:06:08:ba", m));
      CHECK(d.at(m).device_type == "Other");
      CHECK(d.at(m).hostname.empty());
      REQUIRE(parse_mac("38:0b:40:ef:85:41", m));
      CHECK(d.at(m).device_type == "Other");
      CHECK(d.at(m).hostname == "phone");
      REQUIRE(parse_mac("5c:cf:7f:06:d9:02", m));
      CHECK(d.at(m).device_type == "iKettle2");
      CHECK(d.at(m).hostname == "a, quoted");
    }
  }
  SUBCASE("bad files name the line") {
    CHECK(error_of([&] { (void)read_devices_file(write("a.csv", "mac,device_type\n00:11:22:33:44:55,A\n00-11-22-33-44-55,B\n")); }) == std::string((t / "a.csv").string() + ":3: MAC 00:11:22:33:44:55 is listed twice (first at line 2)"));
    CHECK(error_of([&] { (void)read_devices_file(write("b.csv", "mac,device_type\nzz:11:22:33:44:55,A\n")); }) == std::string((t / "b.csv").string() + ":2: \"zz:11:22:33:44:55\" is not a MAC address"));
    CHECK(error_of([&] { (void)read_devices_file(write("c.csv", "address,type\n")); }) == std::string((t / "c.csv").string() +
                          ":1: the header must name the columns mac and device_type (and optionally hostname), got "
                          "\"address,type\""));
    CHECK(error_of([&] { (void)read_devices_file(write("d.csv", "mac,device_type\n01:00:5e:00:00:01,A\n")); }) == std::string((t / "d.csv").string() + ":2: \"01:00:5e:00:00:01\" is a multicast/broadcast MAC, not a device"));
    CHECK(error_of([&] { (void)read_devices_file(write("e.csv", "mac,device_type\n00:11:22:33:44:55,\"A\n")); }) == std::string((t / "e.csv").string() + ":2: unterminated quote"));
    CHECK(error_of([&] { (void)read_devices_file(write("f.csv", "")); }) == std::string((t / "f.csv").string() + ":0: no header line (mac,device_type,hostname)"));
    CHECK(error_of([&] { (void)read_devices_file(write("a.toml", "[[device]]\nmac = \"00:11:22:33:44:55\"\ntype = \"A\"\n")); }) == std::string((t / "a.toml").string() + ":3: unknown key \"type\" in [[device]] (mac, device_type, hostname)"));
    CHECK(error_of([&] { (void)read_devices_file(write("b.toml", "[[device]]\ndevice_type = \"A\"\n")); }) == std::string((t / "b.toml").string() + ":1: [[device]] without mac"));
    CHECK(error_of([&] { (void)read_devices_file(write("c.toml", "[[devices]]\nmac = \"00:11:22:33:44:55\"\n")); }) == std::string((t / "c.toml").string() + ":1: unknown key \"devices\" (only [[device]] tables are allowed)"));
    CHECK(error_of([&] { (void)read_devices_file(write("d.toml", "[[device]]\nmac = 5\n")); }) == std::string((t / "d.toml").string() + ":2: \"mac\" must be a string"));
    CHECK(error_of([&] { (void)read_devices_file((t / "missing.csv").string()); }) == std::string("cannot read the devices file \"" + (t / "missing.csv").string() + "\""));
  }
}

TEST_CASE("ingest/parse: the IEEE registry") {
  ingest_test::TempDir t;
  SUBCASE("most specific assignment wins; quoted and multi-line fields") {
    std::ofstream(t / "r.csv") << "Registry,Assignment,Organization Name,Organization Address\n"
                                  "MA-L,001788,Philips Lighting BV,\"High Tech Campus 48\nEindhoven NL\"\n"
                                  "MA-L,70B3D5,IEEE Registration Authority,x\n"
                                  "MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1\"\n"
                                  "MA-M,70B3D5A,\"Small, Inc.\",y\n";
    OuiRegistry r;
    r.load((t / "r.csv").string());
    CHECK(r.size() == 4);
    auto look = [&](const char* s) {
      Mac m{};
      REQUIRE(parse_mac(s, m));
      const std::string* v = r.lookup(m);
      return v ? *v : std::string("(none)");
    };
    CHECK(look("00:17:88:24:76:ff") == "Philips Lighting BV");
    CHECK(look("70:b3:d5:f2:f1:23") == "TELEPLATFORMS");
    CHECK(look("70:b3:d5:a0:00:01") == "Small, Inc.");
    CHECK(look("70:b3:d5:00:00:01") == "IEEE Registration Authority");
    CHECK(look("00:17:89:00:00:00") == "(none)");
  }
  SUBCASE("the Debian registry names vendors as the IEEE does") {
    const auto files = default_oui_files();
    if (files.empty()) {
      return pipectl::testing::skip_required_on_ci("/usr/share/ieee-data (package ieee-data) is not installed");
    }
    OuiRegistry r;
    for (const auto& f : files) r.load(f);
    Mac m{};
    REQUIRE(parse_mac("f0:27:2d:00:00:01", m));
    REQUIRE(r.lookup(m));
    CHECK(*r.lookup(m) == "Amazon Technologies Inc.");
    REQUIRE(parse_mac("00:17:88:24:76:ff", m));
    CHECK(*r.lookup(m) == "Philips Lighting BV");
  }
  SUBCASE("not a registry") {
    std::ofstream(t / "x.csv") << "mac,vendor\n";
    OuiRegistry r;
    CHECK(error_of([&] { (void)r.load((t / "x.csv").string()); }) == std::string("\"" + (t / "x.csv").string() +
                          "\" is not an IEEE registry CSV (expected the header \"Registry,Assignment,Organization Name,...\")"));
    std::ofstream(t / "y.csv") << "Registry,Assignment,Organization Name\nMA-L,0017,Short\n";
    CHECK(error_of([&] { (void)r.load((t / "y.csv").string()); }) == std::string("\"" + (t / "y.csv").string() + "\" line 2: bad assignment \"0017\" (6, 7 or 9 hex digits expected)"));
  }
}

TEST_CASE("ingest/parse: mutated frames never read out of bounds") {
  // Deterministic mutations (splitmix64) of well-formed frames: byte flips and
  // cuts. Meaningful under AddressSanitizer (each buffer is exactly sized);
  // here it checks that every outcome is a key or a reason.
  std::uint64_t state = 0x1234567;
  auto next = [&] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  Bytes dns = craft::dns_header(0, 2);
  craft::append(dns, craft::qname("a.example.com"));
  craft::put16(dns, 1);
  craft::put16(dns, 1);
  craft::append(dns, Bytes{3, 'w', 'w', 'w', 0xC0, 14});
  craft::put16(dns, 28);
  craft::put16(dns, 1);
  const std::vector<Bytes> bases = {
      eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(5353, 5353, dns))),
      eth4(craft::ipv4(kIpA, kIpB, 6, craft::tcp(1, 2, craft::SYN, {1, 2, 3}, 6), craft::Ip4Opts{7})),
      eth4(craft::ipv4(kIpA, kIpB, 17, craft::udp(68, 67, craft::dhcp_request(kDev, "host")))),
      craft::eth(kDev, kGw, 0x86DD, craft::ipv6(kIp6A, kIp6B, 0, craft::hop_by_hop(17, craft::udp(40000, 53, dns)))),
      craft::eth(kDev, kGw, 0x0800, craft::ipv4(kIpA, kIpB, 1, craft::icmp_echo()), {{0x88a8, 1}, {0x8100, 2}}),
  };
  const QtypeSet kept = default_qtypes();
  std::size_t keyed = 0, skipped = 0;
  for (const Bytes& base : bases) {
    for (int i = 0; i < 4000; ++i) {
      Bytes f = base;
      const int flips = 1 + static_cast<int>(next() % 4);
      for (int k = 0; k < flips; ++k) f[next() % f.size()] = static_cast<std::uint8_t>(next());
      if (next() % 3 == 0) f.resize(next() % (f.size() + 1));
      f.shrink_to_fit();
      Packet p;
      const SkipReason r = parse_frame(kLinkEthernet, f.data(), f.size(), p);
      if (r != SkipReason::None) {
        CHECK(std::string(skip_name(r)) != "unknown");
        ++skipped;
        continue;
      }
      ++keyed;
      if (p.udp_payload_len) {
        CHECK(p.udp_payload >= f.data());
        CHECK(p.udp_payload + p.udp_payload_len <= f.data() + f.size());
        std::vector<std::string> names;
        (void)dns_query_names(p.udp_payload, p.udp_payload_len, kept, names);
        (void)dhcp_client_hostname(p.udp_payload, p.udp_payload_len);
      }
    }
  }
  CHECK(keyed > 1000);
  CHECK(skipped > 1000);
}
