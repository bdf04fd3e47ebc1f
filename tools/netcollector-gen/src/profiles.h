// Traffic profiles: what kinds of sessions each class of device sends
// (DNS lookups, HTTPS, camera streams, MQTT keep-alives, ...) and how the
// ports, sizes, durations and asked names of one session are drawn.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "catalog.h"
#include "network.h"
#include "prng.h"

namespace ncgen {

// One row of `sessions` plus its `dns_queries` names. Strings point into the
// Network / catalog, which outlive every record.
struct SessionRecord {
    static constexpr int kMaxNames = 6;

    int deviceid = 0;
    int protocol = 0;
    const char* srcip = nullptr;
    int srcport = 0;
    const char* dstip = nullptr;
    int dstport = 0;
    std::int64_t lensum = 0;
    std::int64_t pktcount = 0;
    double starttime = 0.0;
    double endtime = 0.0;
    std::array<const char*, kMaxNames> names{};
    int name_count = 0;
};

// How strongly a class's activity follows the household's day (0 = flat).
double diurnal_strength(DeviceClass cls);

// How one device of a household differs from its class's profile (--households):
// every kind's weight is scaled by its own lognormal factor (median 1, sigma
// `variation`), packets, bytes per packet and durations by one factor each,
// and an IoT product asks its own names instead of the class's vendor pool.
struct DeviceTraits {
    bool varied = false;                           // false: exactly the class profile
    std::uint64_t seed = 0;                        // draws the factors
    double variation = 0.0;
    const std::vector<const char*>* names = nullptr;  // the product's DNS names (nullptr: the class's pools)
};

class TrafficModel {
public:
    explicit TrafficModel(const Network& network);
    // `traits` indexed like network.devices() (empty: none varied).
    TrafficModel(const Network& network, std::vector<DeviceTraits> traits);
    ~TrafficModel();
    TrafficModel(const TrafficModel&) = delete;
    TrafficModel& operator=(const TrafficModel&) = delete;

    // Fills `out` with one session of device `device_index` starting at `start`.
    void synthesize(Rng& rng, std::size_t device_index, double start, SessionRecord& out) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ncgen
