#include "dns.hpp"

#include <cctype>
#include <stdexcept>
#include <utility>

namespace pipectl::ingest {

namespace {

constexpr int kMaxPointerJumps = 64;
constexpr std::size_t kMaxWireName = 255;

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

/// Length of the valid UTF-8 sequence starting at s[i] (of n bytes), 0 if invalid.
std::size_t utf8_seq(const std::uint8_t* s, std::size_t i, std::size_t n) {
  const std::uint8_t c = s[i];
  std::size_t len;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

void append_label(std::string& out, const std::uint8_t* s, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    const std::uint8_t c = s[i];
    if (c >= 0x20 && c < 0x7F) {
      out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
      ++i;
    } else if (std::size_t k = c >= 0x80 ? utf8_seq(s, i, n) : 0; k != 0) {
      out.append(reinterpret_cast<const char*>(s + i), k);
      i += k;
    } else {
      char buf[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                     static_cast<char>('0' + c % 10), 0};
      out.append(buf, 4);
      ++i;
    }
  }
}

/// Read the (possibly compressed) name at `off`; `next` = offset after the
/// name in the original position.
DnsStatus read_name(const std::uint8_t* msg, std::size_t len, std::size_t off, std::string& name, std::size_t& next) {
  name.clear();
  std::size_t pos = off;
  bool jumped = false;
  int jumps = 0;
  std::size_t wire = 1;  // the root label
  for (;;) {
    if (pos >= len) return DnsStatus::Truncated;
    const std::uint8_t b = msg[pos];
    const std::uint8_t kind = b & 0xC0;
    if (kind == 0xC0) {
      if (pos + 1 >= len) return DnsStatus::Truncated;
      const std::size_t target = (static_cast<std::size_t>(b & 0x3F) << 8) | msg[pos + 1];
      if (!jumped) next = pos + 2;
      jumped = true;
      if (++jumps > kMaxPointerJumps) return DnsStatus::CompressionLoop;
      if (target >= len) return DnsStatus::BadPointer;
      pos = target;
      continue;
    }
    if (kind != 0) return DnsStatus::BadLabel;
    if (b == 0) {
      if (!jumped) next = pos + 1;
      return DnsStatus::Ok;
    }
    if (pos + 1 + b > len) return DnsStatus::Truncated;
    wire += 1 + b;
    if (wire > kMaxWireName) return DnsStatus::NameTooLong;
    if (!name.empty()) name.push_back('.');
    append_label(name, msg + pos + 1, b);
    pos += 1 + b;
  }
}

}  // namespace

const char* dns_status_name(DnsStatus s) {
  switch (s) {
    case DnsStatus::Ok: return "ok";
    case DnsStatus::NotQuery: return "not_query";
    case DnsStatus::Truncated: return "dns_truncated";
    case DnsStatus::BadLabel: return "dns_bad_label";
    case DnsStatus::BadPointer: return "dns_bad_pointer";
    case DnsStatus::CompressionLoop: return "dns_compression_loop";
    case DnsStatus::NameTooLong: return "dns_name_too_long";
    case DnsStatus::Count_: break;
  }
  return "unknown";
}

QtypeSet default_qtypes() {
  QtypeSet s;
  for (int t : {1, 28, 12, 33, 16}) s.set(static_cast<std::size_t>(t));
  return s;
}

QtypeSet parse_qtypes(const std::string& list) {
  static const std::pair<const char*, int> kNames[] = {
      {"A", 1},     {"NS", 2},     {"CNAME", 5}, {"SOA", 6},   {"PTR", 12},  {"HINFO", 13},
      {"MX", 15},   {"TXT", 16},   {"AAAA", 28}, {"SRV", 33},  {"NAPTR", 35}, {"DS", 43},
      {"DNSKEY", 48}, {"SVCB", 64}, {"HTTPS", 65}, {"ANY", 255}, {"CAA", 257}};
  QtypeSet s;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.pop_back();
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.erase(item.begin());
    for (char& ch : item) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    int t = -1;
    for (const auto& [n, v] : kNames)
      if (item == n) t = v;
    if (t < 0 && !item.empty() && item.find_first_not_of("0123456789") == std::string::npos && item.size() <= 5) {
      t = std::stoi(item);
      if (t > 65535) t = -1;
    }
    if (t < 0) throw std::invalid_argument("unknown DNS question type \"" + item + "\"");
    s.set(static_cast<std::size_t>(t));
    start = end + 1;
  }
  return s;
}

DnsStatus dns_query_names(const std::uint8_t* msg, std::size_t len, const QtypeSet& kept,
                          std::vector<std::string>& names) {
  if (len < 12) return DnsStatus::Truncated;
  const std::uint8_t flags = msg[2];
  if ((flags & 0x80) != 0) return DnsStatus::NotQuery;         // QR = 1: a response
  if (((flags >> 3) & 0x0F) != 0) return DnsStatus::NotQuery;  // opcode != QUERY (e.g. UPDATE)
  const std::size_t qdcount = be16(msg + 4);
  std::size_t pos = 12;
  std::string name;
  for (std::size_t q = 0; q < qdcount; ++q) {
    std::size_t next = pos;
    if (DnsStatus st = read_name(msg, len, pos, name, next); st != DnsStatus::Ok) return st;
    if (next + 4 > len) return DnsStatus::Truncated;
    const std::uint16_t qtype = be16(msg + next);
    pos = next + 4;
    if (kept.test(qtype) && !name.empty()) names.push_back(name);
  }
  return DnsStatus::Ok;
}

std::string dhcp_client_hostname(const std::uint8_t* msg, std::size_t len) {
  // BOOTP: op(1) htype hlen hops xid(4) secs(2) flags(2) ciaddr yiaddr siaddr giaddr (16)
  // chaddr(16) sname(64) file(128) = 236 bytes, then the magic cookie 99.130.83.99.
  if (len < 240 || msg[0] != 1) return {};
  if (msg[236] != 99 || msg[237] != 130 || msg[238] != 83 || msg[239] != 99) return {};
  std::size_t pos = 240;
  while (pos < len) {
    const std::uint8_t code = msg[pos];
    if (code == 255) break;
    if (code == 0) {
      ++pos;
      continue;
    }
    if (pos + 1 >= len) break;
    const std::size_t olen = msg[pos + 1];
    if (pos + 2 + olen > len) break;
    if (code == 12 && olen > 0) {
      std::string h;
      for (std::size_t i = 0; i < olen; ++i) {
        const std::uint8_t c = msg[pos + 2 + i];
        if (c == 0 && i + 1 == olen) break;  // some clients count a terminating NUL
        if (c < 0x20 || c >= 0x7F) return {};
        h.push_back(static_cast<char>(c));
      }
      return h;
    }
    pos += 2 + olen;
  }
  return {};
}

}  // namespace pipectl::ingest
