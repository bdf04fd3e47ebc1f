// Deterministic pseudo-random numbers for netcollector-gen.
//
// Everything here is defined by this file alone (xoshiro256** seeded through
// splitmix64, Box-Muller normals), so a seed yields the same stream with any
// standard library. The <random> distributions are deliberately not used:
// their algorithms are implementation-defined.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ncgen {

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Mixes a seed with a stream label so that independent parts of the generator
// (network layout, schedule, traffic) draw from unrelated streams.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    splitmix64(s);
    return splitmix64(s);
}

// xoshiro256** 1.0 (Blackman & Vigna) plus the few samplers the generator needs.
class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        std::uint64_t s = seed;
        for (auto& word : state_) word = splitmix64(s);
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    // Uniform integer in [0, n); n > 0. Multiply-shift, bias below 2^-40 for our n.
    std::uint64_t below(std::uint64_t n) {
        __extension__ typedef unsigned __int128 u128;
        return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
    }

    // Uniform integer in [lo, hi], inclusive.
    std::int64_t range(std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }

    bool chance(double p) { return uniform() < p; }

    // Standard normal via Box-Muller; the second variate is kept for the next call.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double theta = 6.283185307179586 * u2;
        spare_ = r * std::sin(theta);
        has_spare_ = true;
        return r * std::cos(theta);
    }

    // Log-normal given its median and the sigma of the underlying normal.
    double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }

    double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    std::uint64_t state_[4]{};
    double spare_ = 0.0;
    bool has_spare_ = false;
};

// Draws an index with probability proportional to its weight (cumulative table + binary search).
class WeightedIndex {
public:
    WeightedIndex() = default;
    explicit WeightedIndex(const std::vector<double>& weights) {
        cumulative_.reserve(weights.size());
        double total = 0.0;
        for (double w : weights) {
            total += (w > 0.0 ? w : 0.0);
            cumulative_.push_back(total);
        }
    }

    bool empty() const { return cumulative_.empty() || cumulative_.back() <= 0.0; }
    std::size_t size() const { return cumulative_.size(); }

    std::size_t sample(Rng& rng) const {
        const double x = rng.uniform() * cumulative_.back();
        std::size_t lo = 0, hi = cumulative_.size() - 1;
        while (lo < hi) {  // first index whose cumulative weight exceeds x
            const std::size_t mid = (lo + hi) / 2;
            if (cumulative_[mid] > x) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

private:
    std::vector<double> cumulative_;
};

// Zipf-like weights 1/(rank+1)^s for n ranks.
inline std::vector<double> zipf_weights(std::size_t n, double s) {
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), s);
    return w;
}

}  // namespace ncgen
