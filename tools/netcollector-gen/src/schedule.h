// When which device sends a session: exact per-device session counts and
// start times over the capture week, in start-time order.
#pragma once

#include <cstdint>
#include <vector>

#include "network.h"

namespace ncgen {

// Share of the labelled sessions that come from IoT devices (the analysed data has 14-15 %).
constexpr double kIotShare = 0.145;

struct SessionCounts {
    std::int64_t labelled = 0;
    std::int64_t iot = 0;
    std::int64_t unlabelled = 0;
    std::vector<std::int64_t> per_device;  // indexed like Network::devices()
    std::int64_t total() const { return labelled + unlabelled; }
};

// Splits `labelled` sessions into IoT (round(labelled * kIotShare)) and non-IoT,
// and each group over its devices by weight (largest remainder, so the sums are exact).
SessionCounts plan_counts(const Network& network, std::int64_t labelled, std::int64_t unlabelled);

struct Slot {
    double start;        // unix seconds
    std::uint32_t device;  // index into Network::devices()
    std::uint32_t ordinal; // tie-breaker, makes the order total
};

// One slot per session, sorted by start time. People's devices follow the
// household's day; infrastructure and most IoT run around the clock.
std::vector<Slot> build_schedule(const Network& network, const SessionCounts& counts, std::uint64_t seed);

}  // namespace ncgen
