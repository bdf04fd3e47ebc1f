// Sessions: one direction of a flow, keyed by (sending device, protocol,
// src ip, src port, dst ip, dst port). A session ends when the next packet of
// its key comes more than the idle timeout after its last one, or with a TCP
// packet carrying FIN or RST (that packet included). When time jumps back by
// more than the idle timeout (the next capture file was taken earlier), every
// open session ends first: sessions continue across files only while time
// runs on. Open sessions sit in a hash map plus a list in order of last
// activity, so idle ones are closed in O(1) per packet and memory is bounded
// by the number of open flows, not by the capture.
#pragma once

#include "packet.hpp"

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace pipectl::ingest {

struct FlowKey {
  std::uint32_t device = 0;  ///< index of the sending MAC
  std::uint8_t family = 0;
  std::uint8_t proto = 0;
  std::uint16_t sport = 0, dport = 0;
  IpAddr src{}, dst{};
  bool operator==(const FlowKey& o) const {
    return device == o.device && family == o.family && proto == o.proto && sport == o.sport && dport == o.dport &&
           src == o.src && dst == o.dst;
  }
};

struct FlowKeyHash {
  std::size_t operator()(const FlowKey& k) const noexcept;
};

struct Session {
  FlowKey key;
  std::int64_t id = 0;        ///< sessionid: 1, 2, … in order of the first packet
  std::int64_t first_ns = 0;  ///< timestamp of the first packet (ns since the epoch)
  std::int64_t last_ns = 0;   ///< timestamp of the last packet
  std::uint64_t bytes = 0;    ///< sum of original frame lengths
  std::uint64_t packets = 0;
  std::uint32_t file = 0;     ///< index of the input file of the first packet (set by the caller)
  std::uint32_t last_file = 0;  ///< index of the input file of the last packet (set by the caller)
  std::vector<std::string> names;  ///< DNS names asked, first-seen order, each once

  void add_name(std::string&& n);
};

class Sessionizer {
 public:
  using Handle = std::list<Session>::iterator;

  explicit Sessionizer(std::int64_t idle_timeout_ns) : timeout_(idle_timeout_ns) {}

  /// Account one packet: close every session when `ts_ns` is more than the
  /// timeout before the newest packet so far, else the sessions idle for
  /// longer than the timeout; then add the packet to its session (a new one
  /// when none is open). The handle stays valid
  /// until close() / finish() / the next packet().
  Handle packet(const FlowKey& key, std::int64_t ts_ns, std::uint32_t frame_len);
  /// Close a session now (FIN / RST).
  void close(Handle h);
  /// Close every open session, least recently active first.
  void finish();

  /// Sessions closed and not yet taken; the caller writes and clears them.
  std::vector<Session>& closed() { return closed_; }
  std::size_t open_count() const { return open_.size(); }
  std::size_t peak_open() const { return peak_open_; }
  std::int64_t sessions_started() const { return next_id_ - 1; }

 private:
  bool idle(const Session& s, std::int64_t now) const { return now - s.last_ns > timeout_; }

  std::int64_t timeout_;
  bool started_ = false;
  std::int64_t newest_ns_ = 0;  // the latest packet time seen (since the last jump back)
  std::int64_t next_id_ = 1;
  std::list<Session> lru_;  // front = least recently active
  std::unordered_map<FlowKey, Handle, FlowKeyHash> open_;
  std::vector<Session> closed_;
  std::size_t peak_open_ = 0;
};

}  // namespace pipectl::ingest
