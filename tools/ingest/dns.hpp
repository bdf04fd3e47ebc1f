// Application-layer bits the database keeps: the names asked in DNS / mDNS
// queries, and the host name a DHCP client announces. Bounds-checked.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pipectl::ingest {

enum class DnsStatus : std::uint8_t {
  Ok = 0,
  NotQuery,         ///< a response (QR = 1) or an opcode other than QUERY: nothing to take (not an error)
  Truncated,        ///< header or a question cut off
  BadLabel,         ///< a label of the reserved types 0x40 / 0x80
  BadPointer,       ///< a compression pointer past the end of the message
  CompressionLoop,  ///< too many compression pointers followed (a loop)
  NameTooLong,      ///< a name longer than 255 bytes on the wire
  Count_
};

const char* dns_status_name(DnsStatus s);

/// The question types whose names are kept.
using QtypeSet = std::bitset<65536>;
/// A, AAAA, PTR, SRV, TXT.
QtypeSet default_qtypes();
/// Parse "A,AAAA,PTR" / "1,28,12" (names or numbers, case-insensitive);
/// throws std::invalid_argument naming the bad entry.
QtypeSet parse_qtypes(const std::string& list);

/// Append the names of the questions of a kept type of a DNS query message (the UDP
/// payload) to `names`: lowercase ASCII, no trailing dot, labels joined by
/// '.', bytes outside printable ASCII / valid UTF-8 written as \DDD. Names of
/// questions before a malformed one are kept; the status tells the first
/// problem. The root name (empty) is not kept.
DnsStatus dns_query_names(const std::uint8_t* msg, std::size_t len, const QtypeSet& kept,
                          std::vector<std::string>& names);

/// DHCP (BOOTP request from a client, UDP 68 -> 67): the Host Name option (12)
/// if present and printable; empty otherwise.
std::string dhcp_client_hostname(const std::uint8_t* msg, std::size_t len);

}  // namespace pipectl::ingest
