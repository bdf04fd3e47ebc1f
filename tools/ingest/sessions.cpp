#include "sessions.hpp"

#include <algorithm>
#include <cstring>

namespace pipectl::ingest {

namespace {
inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace

std::size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  std::uint64_t a, b, c, d;
  std::memcpy(&a, k.src.data(), 8);
  std::memcpy(&b, k.src.data() + 8, 8);
  std::memcpy(&c, k.dst.data(), 8);
  std::memcpy(&d, k.dst.data() + 8, 8);
  std::uint64_t h = mix(a ^ (static_cast<std::uint64_t>(k.device) << 32 | k.proto << 8 | k.family));
  h = mix(h ^ b);
  h = mix(h ^ c);
  h = mix(h ^ d);
  h = mix(h ^ (static_cast<std::uint64_t>(k.sport) << 16 | k.dport));
  return static_cast<std::size_t>(h);
}

void Session::add_name(std::string&& n) {
  if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
}

Sessionizer::Handle Sessionizer::packet(const FlowKey& key, std::int64_t ts_ns, std::uint32_t frame_len) {
  if (started_ && ts_ns < newest_ns_ - timeout_) {
    finish();  // time went back: an earlier capture
    newest_ns_ = ts_ns;
  } else if (!started_ || ts_ns > newest_ns_) {
    newest_ns_ = ts_ns;
  }
  started_ = true;
  while (!lru_.empty() && idle(lru_.front(), ts_ns)) close(lru_.begin());
  auto it = open_.find(key);
  if (it != open_.end() && idle(*it->second, ts_ns)) {
    close(it->second);
    it = open_.end();
  }
  Handle h;
  if (it == open_.end()) {
    Session s;
    s.key = key;
    s.id = next_id_++;
    s.first_ns = ts_ns;
    lru_.push_back(std::move(s));
    h = std::prev(lru_.end());
    open_.emplace(key, h);
    peak_open_ = std::max(peak_open_, open_.size());
  } else {
    h = it->second;
    lru_.splice(lru_.end(), lru_, h);
  }
  h->last_ns = ts_ns;
  h->bytes += frame_len;
  h->packets += 1;
  return h;
}

void Sessionizer::close(Handle h) {
  open_.erase(h->key);
  closed_.push_back(std::move(*h));
  lru_.erase(h);
}

void Sessionizer::finish() {
  while (!lru_.empty()) close(lru_.begin());
}

}  // namespace pipectl::ingest
