// The product catalogue of --households: many IoT products and non-IoT kinds
// of device, each with its vendor (a real IEEE OUI), the behaviour class
// whose traffic profile it follows (profiles.cpp) and, for IoT products, the
// cloud domains its own DNS names live under. Nothing here is random; which
// half of the catalogue a product belongs to (--products a|b) is decided by
// --catalogue-seed, per behaviour class, so both halves hold cameras,
// speakers, plugs, hubs, TVs, phones, laptops, gateways, ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog.h"

namespace ncgen {

struct Product {
    const char* name;          // IoT: the device_type written; non-IoT: the kind (device_type is 'Other')
    const char* manufacturer;  // vendor of the OUI
    const char* oui;           // "aa:bb:cc", registered to the manufacturer (IEEE MA-L)
    DeviceClass cls;           // traffic profile
    bool iot;
    const char* domains;       // IoT: space-separated cloud domains of its DNS names; non-IoT: nullptr
    const char* host;          // hostname stem announced over DHCP (nullptr: none)
};

const std::vector<Product>& products();

// The DNS names an IoT product asks (prefix.domain), in popularity order; empty for non-IoT.
const std::vector<const char*>& product_names(std::size_t product);

// Which products a filter keeps: "all", "a" or "b" (the halves under catalogue_seed).
std::vector<bool> product_selection(const std::string& filter, std::uint64_t catalogue_seed);

}  // namespace ncgen
