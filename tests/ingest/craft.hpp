// Hand-made frames and capture files for the ingest tests.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace craft {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }

inline Mac mac(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint8_t e, std::uint8_t f) {
  return Mac{a, b, c, d, e, f};
}
const Mac kBroadcast = mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/// Ethernet II; `tags` = (TPID, VLAN id) pairs, outermost first.
inline Bytes eth(const Mac& src, const Mac& dst, std::uint16_t type, const Bytes& payload,
                 std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
  Bytes b(dst.begin(), dst.end());
  b.insert(b.end(), src.begin(), src.end());
  for (const auto& [tpid, vid] : tags) {
    put16(b, tpid);
    put16(b, vid);
  }
  put16(b, type);
  append(b, payload);
  return b;
}

struct Ip4Opts {
  int ihl_words = 5;         ///< header length field
  int total_override = -1;   ///< total length field (-1 = correct)
  std::uint16_t frag = 0;    ///< flags + fragment offset field
  int version = 4;
};

inline Bytes ipv4(std::array<std::uint8_t, 4> src, std::array<std::uint8_t, 4> dst, std::uint8_t proto,
                  const Bytes& payload, Ip4Opts o = {}) {
  Bytes b;
  b.push_back(static_cast<std::uint8_t>((o.version << 4) | (o.ihl_words & 0x0F)));
  b.push_back(0);
  const int real_hdr = std::max(o.ihl_words, 5) * 4;
  put16(b, static_cast<std::uint16_t>(o.total_override >= 0 ? o.total_override : real_hdr + static_cast<int>(payload.size())));
  put16(b, 0x1234);  // id
  put16(b, o.frag);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);  // checksum (not checked)
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  while (static_cast<int>(b.size()) < real_hdr) b.push_back(1);  // NOP options
  append(b, payload);
  return b;
}

inline Bytes ipv6(const std::array<std::uint8_t, 16>& src, const std::array<std::uint8_t, 16>& dst, std::uint8_t nxt,
                  const Bytes& payload) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint16_t>(payload.size()));
  b.push_back(nxt);
  b.push_back(64);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, payload);
  return b;
}

/// A hop-by-hop options header (8 bytes) in front of `inner` (protocol `nxt`).
inline Bytes hop_by_hop(std::uint8_t nxt, const Bytes& inner) {
  Bytes b{nxt, 0, 5, 2, 0, 0, 1, 0};  // router alert + PadN
  append(b, inner);
  return b;
}

enum TcpFlags : std::uint8_t { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, const Bytes& payload = {},
                 int data_offset_words = 5) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 0);     // ack
  b.push_back(static_cast<std::uint8_t>(data_offset_words << 4));
  b.push_back(flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  append(b, payload);
  return b;
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload, int len_override = -1) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(len_override >= 0 ? len_override : 8 + static_cast<int>(payload.size())));
  put16(b, 0);
  append(b, payload);
  return b;
}

inline Bytes icmp_echo() { return Bytes{8, 0, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'}; }

/// Wire form of a name ("a.b.c" -> 1a1b1c0).
inline Bytes qname(const std::string& name) {
  Bytes b;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<std::uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}

/// A DNS message header with `qd` questions; flags e.g. 0x0100 (query, RD) or 0x8180 (response).
inline Bytes dns_header(std::uint16_t flags, std::uint16_t qd) {
  Bytes b;
  put16(b, 0xBEEF);
  put16(b, flags);
  put16(b, qd);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  return b;
}

/// A query with the questions (name, type).
inline Bytes dns_query(std::initializer_list<std::pair<std::string, std::uint16_t>> qs, std::uint16_t flags = 0x0100) {
  Bytes b = dns_header(flags, static_cast<std::uint16_t>(qs.size()));
  for (const auto& [n, t] : qs) {
    append(b, qname(n));
    put16(b, t);
    put16(b, 1);
  }
  return b;
}

/// A DHCP request from a client announcing `hostname`.
inline Bytes dhcp_request(const Mac& client, const std::string& hostname) {
  Bytes b(236, 0);
  b[0] = 1;  // BOOTREQUEST
  b[1] = 1;
  b[2] = 6;
  for (int i = 0; i < 6; ++i) b[28 + i] = client[i];
  for (int v : {99, 130, 83, 99}) b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(53);
  b.push_back(1);
  b.push_back(3);  // DHCPREQUEST
  b.push_back(12);
  b.push_back(static_cast<std::uint8_t>(hostname.size()));
  b.insert(b.end(), hostname.begin(), hostname.end());
  b.push_back(255);
  return b;
}

struct Record {
  std::int64_t ts_ns;
  Bytes data;
  std::uint32_t orig_len;  ///< 0 = data.size()
};

/// A capture being built: frames with timestamps (seconds as double or ns).
struct Capture {
  int linktype = 1;
  std::vector<Record> records;

  Capture& add(double t, const Bytes& frame, std::uint32_t orig_len = 0) {
    records.push_back(Record{static_cast<std::int64_t>(t * 1e9 + (t >= 0 ? 0.5 : -0.5)), frame, orig_len});
    return *this;
  }

  /// Classic pcap; microsecond or nanosecond timestamps.
  void write_pcap(const std::string& path, bool nano = false) const {
    Bytes b;
    auto le32 = [&](std::uint32_t v) {
      for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    auto le16 = [&](std::uint16_t v) {
      b.push_back(static_cast<std::uint8_t>(v));
      b.push_back(static_cast<std::uint8_t>(v >> 8));
    };
    le32(nano ? 0xA1B23C4D : 0xA1B2C3D4);
    le16(2);
    le16(4);
    le32(0);
    le32(0);
    le32(262144);
    le32(static_cast<std::uint32_t>(linktype));
    for (const Record& r : records) {
      le32(static_cast<std::uint32_t>(r.ts_ns / 1000000000));
      const std::int64_t frac = r.ts_ns % 1000000000;
      le32(static_cast<std::uint32_t>(nano ? frac : frac / 1000));
      le32(static_cast<std::uint32_t>(r.data.size()));
      le32(r.orig_len ? r.orig_len : static_cast<std::uint32_t>(r.data.size()));
      append(b, r.data);
    }
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  }

  /// pcapng: section header, one interface (microsecond resolution), enhanced packet blocks.
  void write_pcapng(const std::string& path) const {
    Bytes b;
    auto le32 = [&](Bytes& o, std::uint32_t v) {
      for (int i = 0; i < 4; ++i) o.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    auto le16 = [&](Bytes& o, std::uint16_t v) {
      o.push_back(static_cast<std::uint8_t>(v));
      o.push_back(static_cast<std::uint8_t>(v >> 8));
    };
    // Section header block.
    le32(b, 0x0A0D0D0A);
    le32(b, 28);
    le32(b, 0x1A2B3C4D);
    le16(b, 1);
    le16(b, 0);
    le32(b, 0xFFFFFFFF);
    le32(b, 0xFFFFFFFF);
    le32(b, 28);
    // Interface description block.
    le32(b, 1);
    le32(b, 20);
    le16(b, static_cast<std::uint16_t>(linktype));
    le16(b, 0);
    le32(b, 262144);
    le32(b, 20);
    for (const Record& r : records) {
      const std::uint32_t cap = static_cast<std::uint32_t>(r.data.size());
      const std::uint32_t padded = (cap + 3) & ~3u;
      const std::uint32_t len = 32 + padded;
      const std::uint64_t us = static_cast<std::uint64_t>(r.ts_ns / 1000);
      le32(b, 6);
      le32(b, len);
      le32(b, 0);
      le32(b, static_cast<std::uint32_t>(us >> 32));
      le32(b, static_cast<std::uint32_t>(us));
      le32(b, cap);
      le32(b, r.orig_len ? r.orig_len : cap);
      append(b, r.data);
      for (std::uint32_t i = cap; i < padded; ++i) b.push_back(0);
      le32(b, len);
    }
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  }
};

}  // namespace craft
