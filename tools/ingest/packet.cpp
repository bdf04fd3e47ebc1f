#include "packet.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace pipectl::ingest {

namespace {

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr int kMaxVlanTags = 8;
constexpr int kMaxIpv6ExtHeaders = 16;

inline bool is_vlan_tpid(std::uint16_t t) { return t == 0x8100 || t == 0x88A8 || t == 0x9100; }

/// Walk stacked VLAN tags starting at `off` (where the 2-byte EtherType of
/// the outer header has been read into `type`).
SkipReason skip_vlans(const std::uint8_t* data, std::size_t caplen, std::size_t& off, std::uint16_t& type) {
  int depth = 0;
  while (is_vlan_tpid(type)) {
    if (++depth > kMaxVlanTags) return SkipReason::VlanTooDeep;
    if (caplen < off + 4) return SkipReason::TruncatedVlan;
    type = be16(data + off + 2);
    off += 4;
  }
  return SkipReason::None;
}

/// Transport header of an IP packet. `cap` = bytes captured from the
/// transport header on (already limited to the IP packet's declared extent),
/// `declared` = IP payload length from the IP header(s).
SkipReason parse_transport(const std::uint8_t* q, std::size_t cap, std::size_t declared, bool more_fragments,
                           Packet& out) {
  switch (out.proto) {
    case 6: {  // TCP
      if (cap < 20) return SkipReason::TruncatedTcp;
      const std::size_t doff = static_cast<std::size_t>(q[12] >> 4) * 4;
      if (doff < 20 || (!more_fragments && doff > declared)) return SkipReason::BadTcpOffset;
      out.sport = be16(q);
      out.dport = be16(q + 2);
      out.fin_or_rst = (q[13] & 0x05) != 0;  // FIN 0x01, RST 0x04
      return SkipReason::None;
    }
    case 17: {  // UDP
      if (cap < 8) return SkipReason::TruncatedUdp;
      const std::size_t ulen = be16(q + 4);
      if (ulen < 8 || (!more_fragments && ulen > declared)) return SkipReason::BadUdpLength;
      out.sport = be16(q);
      out.dport = be16(q + 2);
      out.udp_payload = q + 8;
      out.udp_payload_len = std::min(ulen, cap) - 8;
      return SkipReason::None;
    }
    case 1:  // ICMP
      if (cap < 8) return SkipReason::TruncatedIcmp;
      return SkipReason::None;
    case 58:  // ICMPv6
      if (cap < 4) return SkipReason::TruncatedIcmp;
      return SkipReason::None;
    default:  // any other protocol: a session without ports
      return SkipReason::None;
  }
}

SkipReason parse_ipv4(const std::uint8_t* p, std::size_t avail, Packet& out) {
  if (avail < 1) return SkipReason::TruncatedIpv4;
  if ((p[0] >> 4) != 4) return SkipReason::BadIpVersion;
  if (avail < 20) return SkipReason::TruncatedIpv4;
  const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0F) * 4;
  if (ihl < 20) return SkipReason::BadIpv4Ihl;
  std::size_t total = be16(p + 2);
  if (total == 0) total = avail;  // segmentation offload on the capturing host: length not filled in
  if (total < 20) return SkipReason::BadIpv4Length;
  if (ihl > total) return SkipReason::BadIpv4Ihl;
  if (ihl > avail) return SkipReason::TruncatedIpv4;
  const std::uint16_t frag = be16(p + 6);
  if ((frag & 0x1FFF) != 0) return SkipReason::IpFragment;
  const bool more_fragments = (frag & 0x2000) != 0;
  out.family = 4;
  out.proto = p[9];
  out.src_ip.fill(0);
  out.dst_ip.fill(0);
  std::memcpy(out.src_ip.data(), p + 12, 4);
  std::memcpy(out.dst_ip.data(), p + 16, 4);
  const std::size_t end = std::min(total, avail);  // drop Ethernet padding
  return parse_transport(p + ihl, end - ihl, total - ihl, more_fragments, out);
}

SkipReason parse_ipv6(const std::uint8_t* p, std::size_t avail, Packet& out) {
  if (avail < 1) return SkipReason::TruncatedIpv6;
  if ((p[0] >> 4) != 6) return SkipReason::BadIpVersion;
  if (avail < 40) return SkipReason::TruncatedIpv6;
  std::size_t declared = be16(p + 4);
  if (declared == 0) declared = avail - 40;  // jumbogram / offload: take what is there
  std::uint8_t nxt = p[6];
  out.family = 6;
  std::memcpy(out.src_ip.data(), p + 8, 16);
  std::memcpy(out.dst_ip.data(), p + 24, 16);
  std::size_t cap = std::min(declared, avail - 40);  // bytes of the payload we can read
  const std::uint8_t* q = p + 40;
  bool more_fragments = false;
  for (int i = 0;; ++i) {
    std::size_t len = 0;
    switch (nxt) {
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60:   // destination options
        if (cap < 2) return SkipReason::TruncatedIpv6Ext;
        len = (static_cast<std::size_t>(q[1]) + 1) * 8;
        break;
      case 51:  // authentication header
        if (cap < 2) return SkipReason::TruncatedIpv6Ext;
        len = (static_cast<std::size_t>(q[1]) + 2) * 4;
        break;
      case 44: {  // fragment
        if (cap < 8) return SkipReason::TruncatedIpv6Ext;
        if ((be16(q + 2) >> 3) != 0) return SkipReason::IpFragment;
        more_fragments = (q[3] & 0x01) != 0;
        len = 8;
        break;
      }
      default:
        out.proto = nxt;
        return parse_transport(q, cap, declared, more_fragments, out);
    }
    if (i >= kMaxIpv6ExtHeaders || len > cap || len > declared) return SkipReason::TruncatedIpv6Ext;
    nxt = q[0];
    q += len;
    cap -= len;
    declared -= len;
  }
}

}  // namespace

const char* skip_name(SkipReason r) {
  switch (r) {
    case SkipReason::None: return "none";
    case SkipReason::UnsupportedLinkType: return "unsupported_link_type";
    case SkipReason::NonIp: return "non_ip";
    case SkipReason::MulticastSrcMac: return "multicast_src_mac";
    case SkipReason::TruncatedEthernet: return "truncated_ethernet";
    case SkipReason::TruncatedVlan: return "truncated_vlan";
    case SkipReason::VlanTooDeep: return "vlan_too_deep";
    case SkipReason::TruncatedSll: return "truncated_sll";
    case SkipReason::SllNoMac: return "sll_no_mac";
    case SkipReason::BadIpVersion: return "bad_ip_version";
    case SkipReason::TruncatedIpv4: return "truncated_ipv4";
    case SkipReason::BadIpv4Ihl: return "bad_ipv4_ihl";
    case SkipReason::BadIpv4Length: return "bad_ipv4_length";
    case SkipReason::TruncatedIpv6: return "truncated_ipv6";
    case SkipReason::TruncatedIpv6Ext: return "truncated_ipv6_ext";
    case SkipReason::IpFragment: return "ip_fragment";
    case SkipReason::TruncatedTcp: return "truncated_tcp";
    case SkipReason::BadTcpOffset: return "bad_tcp_offset";
    case SkipReason::TruncatedUdp: return "truncated_udp";
    case SkipReason::BadUdpLength: return "bad_udp_length";
    case SkipReason::TruncatedIcmp: return "truncated_icmp";
    case SkipReason::Count_: break;
  }
  return "unknown";
}

SkipReason parse_frame(int linktype, const std::uint8_t* data, std::size_t caplen, Packet& out) {
  out = Packet{};
  std::size_t off = 0;
  std::uint16_t type = 0;
  switch (linktype) {
    case kLinkEthernet:
      if (caplen < 14) return SkipReason::TruncatedEthernet;
      std::memcpy(out.src_mac.data(), data + 6, 6);
      type = be16(data + 12);
      off = 14;
      break;
    case kLinkLinuxSll:  // pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (caplen < 16) return SkipReason::TruncatedSll;
      if (be16(data + 4) != 6) return SkipReason::SllNoMac;
      std::memcpy(out.src_mac.data(), data + 6, 6);
      type = be16(data + 14);
      off = 16;
      break;
    case kLinkLinuxSll2:  // protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
      if (caplen < 20) return SkipReason::TruncatedSll;
      if (data[11] != 6) return SkipReason::SllNoMac;
      std::memcpy(out.src_mac.data(), data + 12, 6);
      type = be16(data);
      off = 20;
      break;
    default:
      return SkipReason::UnsupportedLinkType;
  }
  if (mac_is_group(out.src_mac)) return SkipReason::MulticastSrcMac;
  if (SkipReason r = skip_vlans(data, caplen, off, type); r != SkipReason::None) return r;
  if (type == kEtherIpv4) return parse_ipv4(data + off, caplen - off, out);
  if (type == kEtherIpv6) return parse_ipv6(data + off, caplen - off, out);
  return SkipReason::NonIp;
}

std::string mac_str(const Mac& m) {
  static const char* hex = "0123456789abcdef";
  std::string s(17, ':');
  for (int i = 0; i < 6; ++i) {
    s[i * 3] = hex[m[i] >> 4];
    s[i * 3 + 1] = hex[m[i] & 0x0F];
  }
  return s;
}

std::string ip_str(std::uint8_t family, const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family == 4) {
    inet_ntop(AF_INET, a.data(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace pipectl::ingest
