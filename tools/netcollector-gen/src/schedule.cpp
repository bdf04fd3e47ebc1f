#include "schedule.h"

#include <algorithm>
#include <cmath>

#include "prng.h"
#include "profiles.h"

namespace ncgen {

namespace {

constexpr std::uint64_t kScheduleStream = 2;

// Relative activity of a household per hour of the day (local time = UTC here).
constexpr double kHourlyActivity[24] = {0.30, 0.15, 0.10, 0.08, 0.08, 0.12, 0.35, 0.70, 0.85, 0.80, 0.75, 0.80,
                                        0.90, 0.85, 0.80, 0.85, 0.95, 1.10, 1.30, 1.50, 1.60, 1.50, 1.10, 0.60};

// Distributes `total` over `weights` proportionally; the result sums to `total` exactly.
std::vector<std::int64_t> apportion(std::int64_t total, const std::vector<double>& weights) {
    std::vector<std::int64_t> out(weights.size(), 0);
    double sum = 0.0;
    for (double w : weights) sum += w;
    if (total <= 0 || sum <= 0.0) return out;

    std::vector<std::pair<double, std::size_t>> remainders;
    std::int64_t assigned = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const double quota = static_cast<double>(total) * weights[i] / sum;
        out[i] = static_cast<std::int64_t>(std::floor(quota));
        assigned += out[i];
        remainders.emplace_back(quota - std::floor(quota), i);
    }
    std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t k = 0; assigned < total; ++k, ++assigned) ++out[remainders[k % remainders.size()].second];
    return out;
}

}  // namespace

SessionCounts plan_counts(const Network& network, std::int64_t labelled, std::int64_t unlabelled) {
    SessionCounts counts;
    counts.labelled = labelled;
    counts.iot = std::llround(static_cast<double>(labelled) * kIotShare);
    counts.unlabelled = unlabelled;

    const auto& devices = network.devices();
    counts.per_device.assign(devices.size(), 0);
    const std::pair<Group, std::int64_t> groups[] = {
        {Group::NonIot, labelled - counts.iot}, {Group::Iot, counts.iot}, {Group::Unlabelled, unlabelled}};
    for (const auto& [group, total] : groups) {
        std::vector<std::size_t> members;
        std::vector<double> weights;
        for (std::size_t i = 0; i < devices.size(); ++i) {
            if (devices[i].group != group) continue;
            members.push_back(i);
            weights.push_back(devices[i].spec->weight);
        }
        const auto shares = apportion(total, weights);
        for (std::size_t k = 0; k < members.size(); ++k) counts.per_device[members[k]] = shares[k];
    }
    return counts;
}

std::vector<Slot> build_schedule(const Network& network, const SessionCounts& counts, std::uint64_t seed) {
    Rng rng(derive_seed(seed, kScheduleStream));
    double mean_activity = 0.0;
    for (double a : kHourlyActivity) mean_activity += a / 24.0;

    std::vector<Slot> slots;
    slots.reserve(static_cast<std::size_t>(counts.total()));
    const auto& devices = network.devices();
    for (std::size_t d = 0; d < devices.size(); ++d) {
        const double strength = diurnal_strength(devices[d].spec->cls);
        std::vector<double> hourly(24);
        for (int h = 0; h < 24; ++h) hourly[h] = (1.0 - strength) + strength * kHourlyActivity[h] / mean_activity;
        const WeightedIndex hour_index(hourly);

        for (std::int64_t n = 0; n < counts.per_device[d]; ++n) {
            const double day = static_cast<double>(rng.below(7));
            const double hour = static_cast<double>(hour_index.sample(rng));
            const double offset = day * 86400.0 + hour * 3600.0 + rng.uniform() * 3600.0;
            const double start = kCaptureStart + std::round(offset * 1e6) / 1e6;  // microsecond resolution
            slots.push_back({start, static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(n)});
        }
    }
    std::sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
        if (a.start != b.start) return a.start < b.start;
        if (a.device != b.device) return a.device < b.device;
        return a.ordinal < b.ordinal;
    });
    return slots;
}

}  // namespace ncgen
