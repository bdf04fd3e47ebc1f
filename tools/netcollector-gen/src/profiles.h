// Traffic profiles: what kinds of sessions each class of device sends
// (DNS lookups, HTTPS, camera streams, MQTT keep-alives, ...) and how the
// ports, sizes, durations and asked names of one session are drawn.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

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

class TrafficModel {
public:
    explicit TrafficModel(const Network& network);
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
