// The devices file: labels (and host names) for MAC addresses.
//
//   CSV  (header required; columns by name, hostname optional, others ignored)
//     mac,device_type,hostname
//     00:17:88:24:76:ff,HueBridge,
//     00:b5:6d:06:08:ba,Other,gateway
//
//   TOML
//     [[device]]
//     mac = "00:17:88:24:76:ff"
//     device_type = "HueBridge"
//     hostname = "hue"            # optional
//
// A listed device whose device_type is "Other" (any case) or empty is not
// IoT: it gets device_type 'Other'. Devices not listed get NULL.
#pragma once

#include "packet.hpp"

#include <map>
#include <string>

namespace pipectl::ingest {

struct DeviceLabel {
  std::string device_type;  ///< never empty: a type or "Other"
  std::string hostname;     ///< empty = not given
};

/// Parse a MAC written as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff
/// or aabbccddeeff (any case).
bool parse_mac(const std::string& text, Mac& out);

/// Read a devices file (.toml = TOML, anything else = CSV). Throws
/// std::runtime_error "FILE:LINE: message" on bad content or duplicate MACs.
std::map<Mac, DeviceLabel> read_devices_file(const std::string& path);

}  // namespace pipectl::ingest
