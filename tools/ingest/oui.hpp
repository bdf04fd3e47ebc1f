// The IEEE MAC address registry (as shipped by Debian's ieee-data package):
// MA-L (24-bit OUI), MA-M (28-bit), MA-S and IAB (36-bit) assignments.
#pragma once

#include "packet.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pipectl::ingest {

/// The files read when no --oui is given (those that exist).
std::vector<std::string> default_oui_files();

class OuiRegistry {
 public:
  /// Read one registry CSV ("Registry,Assignment,Organization Name,…").
  /// Throws std::runtime_error naming the file (and line) when it cannot be
  /// read or is not such a file.
  void load(const std::string& path);
  /// The organisation of the most specific assignment covering `mac`, or
  /// nullptr when none does.
  const std::string* lookup(const Mac& mac) const;
  std::size_t size() const { return l_.size() + m_.size() + s_.size(); }

 private:
  std::unordered_map<std::uint64_t, std::string> l_, m_, s_;  // 24, 28, 36-bit prefixes
};

}  // namespace pipectl::ingest
