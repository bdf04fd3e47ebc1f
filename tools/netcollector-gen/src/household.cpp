#include "household.h"

#include <cstdio>
#include <stdexcept>

#include "prng.h"
#include "products.h"

namespace ncgen {

namespace {

constexpr std::uint64_t kHouseholdStream = 4;

// Typical share of its group's sessions a device of each class sends (as in catalog.cpp).
double class_weight(DeviceClass cls) {
    switch (cls) {
        case DeviceClass::Gateway: return 6;
        case DeviceClass::AccessPoint: return 2;
        case DeviceClass::Printer: return 2;
        case DeviceClass::IosPhone: return 14;
        case DeviceClass::IosTablet: return 5;
        case DeviceClass::MacLaptop: return 11;
        case DeviceClass::AndroidPhone: return 8;
        case DeviceClass::FireTablet: return 4;
        case DeviceClass::WindowsLaptop: return 9;
        case DeviceClass::WindowsDesktop: return 8;
        case DeviceClass::LinuxLaptop: return 6;
        case DeviceClass::WyzeCam: return 12;
        case DeviceClass::NestCam: return 12;
        case DeviceClass::EchoDot: return 16;
        case DeviceClass::GoogleHome: return 12;
        case DeviceClass::SmartPlug: return 5.5;
        case DeviceClass::PiHub: return 9;
        case DeviceClass::HueBridge: return 8;
        case DeviceClass::SmartTv: return 8;
        case DeviceClass::EspGadget: return 5;
    }
    return 5;
}

}  // namespace

Household draw_household(const std::vector<bool>& allowed, std::uint64_t seed, std::uint64_t index) {
    const auto& catalogue = products();
    Rng rng(derive_seed(derive_seed(seed, kHouseholdStream), index));

    std::vector<std::size_t> gateways, access_points, printers, people, iot, any;  // any: people's or IoT
    for (std::size_t i = 0; i < catalogue.size(); ++i) {
        if (!allowed[i]) continue;
        switch (catalogue[i].cls) {
            case DeviceClass::Gateway: gateways.push_back(i); break;
            case DeviceClass::AccessPoint: access_points.push_back(i); break;
            case DeviceClass::Printer: printers.push_back(i); break;
            default:
                (catalogue[i].iot ? iot : people).push_back(i);
                any.push_back(i);
                break;
        }
    }
    if (gateways.empty() || people.empty() || iot.empty())
        throw std::invalid_argument("the product selection needs a gateway, people's devices and IoT products");

    Household h;
    auto add = [&](std::size_t p, bool labelled) {
        const Product& prod = catalogue[p];
        const char* hostname = nullptr;
        if (prod.host != nullptr && rng.chance(0.85)) {
            char suffix[8];
            std::snprintf(suffix, sizeof suffix, "-%04x", static_cast<unsigned>(rng.below(0x10000)));
            h.strings.push_back(std::string(prod.host) + suffix);
            hostname = h.strings.back().c_str();
        }
        const double weight = class_weight(prod.cls) * rng.lognormal(1.0, 0.4);
        // Infrastructure has static addresses, as in the demo network (at most one of each per household).
        const int octet = prod.cls == DeviceClass::Gateway       ? 1
                          : prod.cls == DeviceClass::AccessPoint ? 2
                          : prod.cls == DeviceClass::Printer     ? 20
                                                                 : 0;
        h.specs.push_back({hostname, prod.manufacturer, labelled ? (prod.iot ? prod.name : "Other") : nullptr, prod.cls,
                           prod.oui, octet, weight});
        DeviceTraits t;
        t.varied = true;
        t.seed = rng.next();
        t.variation = 0.5;
        t.names = prod.iot ? &product_names(p) : nullptr;
        h.traits.push_back(t);
        h.product.push_back(p);
    };
    auto pick = [&](const std::vector<std::size_t>& from) { return from[rng.below(from.size())]; };

    add(pick(gateways), true);
    if (!access_points.empty() && rng.chance(0.5)) add(pick(access_points), true);
    if (!printers.empty() && rng.chance(0.5)) add(pick(printers), true);
    for (std::uint64_t n = 3 + rng.below(5); n > 0; --n) add(pick(people), true);  // 3-7
    for (std::uint64_t n = 3 + rng.below(6); n > 0; --n) add(pick(iot), true);     // 3-8
    for (std::uint64_t n = 1 + rng.below(2); n > 0; --n) add(pick(any), false);    // 1-2 unlabelled
    return h;
}

}  // namespace ncgen
