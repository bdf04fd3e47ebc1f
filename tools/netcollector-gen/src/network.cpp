#include "network.h"

#include <cstdio>
#include <set>
#include <stdexcept>

#include "prng.h"

namespace ncgen {

namespace {

constexpr std::uint64_t kNetworkStream = 1;
constexpr std::size_t kClassCount = static_cast<std::size_t>(DeviceClass::EspGadget) + 1;

std::string format_mac(const char* oui, std::uint32_t nic) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%s:%02x:%02x:%02x", oui, (nic >> 16) & 0xffu, (nic >> 8) & 0xffu, nic & 0xffu);
    return buf;
}

std::string format_ip(int a, int b, int c, int d) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", a, b, c, d);
    return buf;
}

}  // namespace

bool is_lan_client(DeviceClass cls) {
    switch (cls) {
        case DeviceClass::IosPhone:
        case DeviceClass::IosTablet:
        case DeviceClass::MacLaptop:
        case DeviceClass::AndroidPhone:
        case DeviceClass::FireTablet:
        case DeviceClass::WindowsLaptop:
        case DeviceClass::WindowsDesktop:
        case DeviceClass::LinuxLaptop:
            return true;
        default:
            return false;
    }
}

Network::Network(std::uint64_t seed) : by_class_(kClassCount) {
    std::set<std::string> macs;
    build(device_specs(), seed, 1, macs);
}

Network::Network(const std::vector<DeviceSpec>& specs, std::uint64_t seed, int first_id,
                 std::set<std::string>& used_macs)
    : by_class_(kClassCount) {
    build(specs, seed, first_id, used_macs);
}

void Network::build(const std::vector<DeviceSpec>& specs, std::uint64_t seed, int first_id,
                    std::set<std::string>& macs) {
    Rng rng(derive_seed(seed, kNetworkStream));
    std::set<int> octets;
    for (const auto& spec : specs)
        if (spec.fixed_octet != 0) octets.insert(spec.fixed_octet);

    devices_.reserve(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const DeviceSpec& spec = specs[i];
        Device dev;
        dev.id = first_id + static_cast<int>(i);
        dev.spec = &spec;
        dev.group = group_of(spec);
        do {
            dev.mac = format_mac(spec.oui, static_cast<std::uint32_t>(rng.below(1u << 24)));
        } while (!macs.insert(dev.mac).second);

        int octet = spec.fixed_octet;
        if (octet == 0) {  // DHCP pool 192.168.1.100-199
            do {
                octet = static_cast<int>(rng.range(100, 199));
            } while (!octets.insert(octet).second);
        }
        dev.ip = format_ip(192, 168, 1, octet);

        if (spec.cls == DeviceClass::Gateway) gateway_index_ = i;
        if (is_lan_client(spec.cls)) lan_clients_.push_back(i);
        by_class_[static_cast<std::size_t>(spec.cls)].push_back(i);
        devices_.push_back(std::move(dev));
    }
    if (devices_.empty() || devices_[gateway_index_].spec->cls != DeviceClass::Gateway)
        throw std::logic_error("catalog has no gateway");

    for (std::size_t p = 0; p < public_hosts_.size(); ++p) {
        auto& hosts = public_hosts_[p];
        if (static_cast<Provider>(p) == Provider::PublicDns) {
            hosts = {"8.8.8.8", "8.8.4.4", "1.1.1.1", "75.75.75.75"};  // well-known resolvers
            continue;
        }
        const auto& prefixes = provider_prefixes(static_cast<Provider>(p));
        std::set<std::string> seen;
        while (hosts.size() < kHostsPerProvider) {
            const Prefix16& pre = prefixes[rng.below(prefixes.size())];
            std::string ip = format_ip(pre.a, pre.b, static_cast<int>(rng.below(256)), static_cast<int>(rng.range(1, 254)));
            if (seen.insert(ip).second) hosts.push_back(std::move(ip));
        }
    }
}

const std::vector<std::size_t>& Network::devices_of(DeviceClass cls) const {
    return by_class_[static_cast<std::size_t>(cls)];
}

}  // namespace ncgen
