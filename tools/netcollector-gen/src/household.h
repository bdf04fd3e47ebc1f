// One household of --households: its own device mix drawn from the product
// catalogue (products.h) — a gateway, sometimes an access point and a
// printer, people's phones, tablets and computers, several IoT products and
// one or two unlabelled devices — and each device's own variation of its
// class's behaviour (DeviceTraits).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "catalog.h"
#include "profiles.h"

namespace ncgen {

struct Household {
    std::vector<DeviceSpec> specs;     // gateway first
    std::vector<DeviceTraits> traits;  // indexed like specs
    std::vector<std::size_t> product;  // catalogue index of each device
    std::deque<std::string> strings;   // hostnames the specs point into
};

// Household `index` for `seed`, using only the products whose `allowed` flag is set.
// Throws std::invalid_argument when the selection lacks a gateway, people's devices or IoT products.
Household draw_household(const std::vector<bool>& allowed, std::uint64_t seed, std::uint64_t index);

}  // namespace ncgen
