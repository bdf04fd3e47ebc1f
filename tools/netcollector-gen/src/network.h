// One concrete home network drawn from the catalog for a seed: device MACs
// (manufacturer OUI + random NIC part), LAN addresses, and the public hosts
// that sessions talk to.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "catalog.h"

namespace ncgen {

struct Device {
    int id = 0;  // deviceid
    const DeviceSpec* spec = nullptr;
    Group group = Group::NonIot;
    std::string mac;
    std::string ip;
};

class Network {
public:
    static constexpr std::size_t kHostsPerProvider = 48;

    // The classic demo network (catalog.cpp's device_specs()), deviceids from 1.
    explicit Network(std::uint64_t seed);
    // A household of --households: `specs` (kept alive by the caller), deviceids
    // from `first_id`, MACs distinct from those in `used_macs` (which it extends).
    Network(const std::vector<DeviceSpec>& specs, std::uint64_t seed, int first_id, std::set<std::string>& used_macs);

    const std::vector<Device>& devices() const { return devices_; }
    const Device& gateway() const { return devices_[gateway_index_]; }

    // Devices people use (phones, tablets, computers): the clients of LAN services.
    const std::vector<std::size_t>& lan_clients() const { return lan_clients_; }
    // Indices of devices of one class (e.g. the cameras a desktop NVR pulls from).
    const std::vector<std::size_t>& devices_of(DeviceClass cls) const;

    // Public addresses of a provider, in popularity order.
    const std::vector<std::string>& public_hosts(Provider provider) const {
        return public_hosts_[static_cast<std::size_t>(provider)];
    }

private:
    void build(const std::vector<DeviceSpec>& specs, std::uint64_t seed, int first_id, std::set<std::string>& macs);

    std::vector<Device> devices_;
    std::size_t gateway_index_ = 0;
    std::vector<std::size_t> lan_clients_;
    std::vector<std::vector<std::size_t>> by_class_;
    std::array<std::vector<std::string>, static_cast<std::size_t>(Provider::Count)> public_hosts_;
};

bool is_lan_client(DeviceClass cls);

}  // namespace ncgen
