// Frames -> flow keys. Pure, bounds-checked parsing of one captured frame:
// link layer (Ethernet II with 802.1Q / 802.1ad / QinQ tags, Linux cooked
// SLL and SLL2), IPv4 (options), IPv6 (extension headers), TCP, UDP, ICMP,
// ICMPv6 and any other IP protocol (ports 0). Every read is checked against
// the captured length; a frame that cannot be keyed yields a SkipReason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pipectl::ingest {

/// Why a frame is not part of any session. Names (skip_name) are stable:
/// they appear in the summary and in IngestStats::skipped.
enum class SkipReason : std::uint8_t {
  None = 0,
  UnsupportedLinkType,  ///< the capture's link type has no source MAC (raw IP, 802.11 radiotap, …)
  NonIp,                ///< ARP, EAPOL, LLDP, 802.3/LLC, …: not IP traffic (not an error)
  MulticastSrcMac,      ///< the source MAC has the group bit set (not a device)
  TruncatedEthernet,    ///< fewer than 14 captured bytes
  TruncatedVlan,        ///< an 802.1Q/802.1ad tag is cut off
  VlanTooDeep,          ///< more than 8 stacked VLAN tags
  TruncatedSll,         ///< Linux cooked header cut off
  SllNoMac,             ///< cooked frame whose link-layer address is not a 6-byte MAC
  BadIpVersion,         ///< version nibble disagrees with the EtherType
  TruncatedIpv4,        ///< IPv4 header cut off
  BadIpv4Ihl,           ///< IHL < 5 or larger than the total length
  BadIpv4Length,        ///< total length < 20
  TruncatedIpv6,        ///< fixed IPv6 header cut off
  TruncatedIpv6Ext,     ///< an IPv6 extension header cut off or running past the payload
  IpFragment,           ///< a non-first IPv4/IPv6 fragment (no transport header to key it)
  TruncatedTcp,         ///< fewer than 20 bytes of TCP header captured
  BadTcpOffset,         ///< TCP data offset < 5 or past the end of the IP payload
  TruncatedUdp,         ///< fewer than 8 bytes of UDP header captured
  BadUdpLength,         ///< UDP length < 8 or larger than the IP payload
  TruncatedIcmp,        ///< ICMP header cut off (8 bytes for ICMP, 4 for ICMPv6)
  Count_
};

const char* skip_name(SkipReason r);

/// Link types understood (values of pcap_datalink()).
constexpr int kLinkEthernet = 1;    // DLT_EN10MB
constexpr int kLinkLinuxSll = 113;  // DLT_LINUX_SLL
constexpr int kLinkLinuxSll2 = 276; // DLT_LINUX_SLL2

using Mac = std::array<std::uint8_t, 6>;
using IpAddr = std::array<std::uint8_t, 16>;  ///< IPv4 in the first 4 bytes, rest 0

/// The parsed view of one frame. Pointers refer into the frame buffer.
struct Packet {
  Mac src_mac{};
  std::uint8_t family = 0;  ///< 4 or 6
  std::uint8_t proto = 0;   ///< IP protocol number of the transport (after IPv6 extension headers)
  IpAddr src_ip{}, dst_ip{};
  std::uint16_t sport = 0, dport = 0;  ///< 0 unless TCP or UDP
  bool fin_or_rst = false;
  /// UDP payload (within the UDP length and the captured bytes); empty otherwise.
  const std::uint8_t* udp_payload = nullptr;
  std::size_t udp_payload_len = 0;
};

/// Parse a frame of link type `linktype`. Returns SkipReason::None and fills
/// `out` when the frame belongs to a session.
SkipReason parse_frame(int linktype, const std::uint8_t* data, std::size_t caplen, Packet& out);

inline bool mac_is_group(const Mac& m) { return (m[0] & 0x01) != 0; }
inline bool mac_is_local(const Mac& m) { return (m[0] & 0x02) != 0; }

/// "aa:bb:cc:dd:ee:ff"
std::string mac_str(const Mac& m);
/// Dotted IPv4 / RFC 5952 IPv6 text.
std::string ip_str(std::uint8_t family, const IpAddr& a);

}  // namespace pipectl::ingest
