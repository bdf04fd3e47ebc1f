// netcollector-gen: writes a realistic synthetic NetCollector database of a
// home network (see --help and tools/netcollector-gen/README.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <set>
#include <stdexcept>
#include <string>

#include "household.h"
#include "network.h"
#include "options.h"
#include "producer.h"
#include "products.h"
#include "profiles.h"
#include "schedule.h"
#include "writer.h"

namespace {

const char* class_name(ncgen::DeviceClass cls) {
    using C = ncgen::DeviceClass;
    switch (cls) {
        case C::Gateway: return "gateway";
        case C::AccessPoint: return "access_point";
        case C::Printer: return "printer";
        case C::IosPhone: return "ios_phone";
        case C::IosTablet: return "ios_tablet";
        case C::MacLaptop: return "mac";
        case C::AndroidPhone: return "android_phone";
        case C::FireTablet: return "android_tablet";
        case C::WindowsLaptop: return "windows_laptop";
        case C::WindowsDesktop: return "windows_desktop";
        case C::LinuxLaptop: return "linux";
        case C::WyzeCam: return "camera_udp";
        case C::NestCam: return "camera_tls";
        case C::EchoDot: return "speaker";
        case C::GoogleHome: return "cast_speaker";
        case C::SmartPlug: return "plug";
        case C::PiHub: return "hub";
        case C::HueBridge: return "light_bridge";
        case C::SmartTv: return "tv";
        case C::EspGadget: return "gadget";
    }
    return "?";
}

std::string csv(const char* s) {
    std::string v = s;
    if (v.find_first_of(",\"") == std::string::npos) return v;
    std::string o = "\"";
    for (char c : v) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
}

int list_products(const ncgen::Options& opt) {
    const auto a = ncgen::product_selection("a", opt.catalogue_seed);
    const auto& list = ncgen::products();
    std::printf("product,device_type,manufacturer,oui,class,half\n");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& p = list[i];
        std::printf("%s,%s,%s,%s,%s,%s\n", csv(p.name).c_str(), csv(p.iot ? p.name : "Other").c_str(),
                    csv(p.manufacturer).c_str(), p.oui, class_name(p.cls), a[i] ? "a" : "b");
    }
    return 0;
}

// --households: each household its own network, traffic and week; sessionids run on.
int run_households(const ncgen::Options& opt, ncgen::DatabaseWriter& writer, std::int64_t unlabelled,
                   ncgen::SessionCounts& total, std::size_t& devices, std::int64_t& sessionid) {
    const auto allowed = ncgen::product_selection(opt.products, opt.catalogue_seed);
    std::set<std::string> macs;
    int next_id = 1;
    const auto h_count = static_cast<std::uint64_t>(opt.households);
    for (std::uint64_t h = 0; h < h_count; ++h) {
        // Even shares of the labelled and unlabelled sessions (the first households take the remainders).
        const auto share = [&](std::int64_t n) {
            return n / opt.households + (static_cast<std::int64_t>(h) < n % opt.households ? 1 : 0);
        };
        const std::uint64_t hseed = ncgen::derive_seed(opt.seed, 1000 + h);
        const ncgen::Household household = ncgen::draw_household(allowed, opt.seed, h);
        const ncgen::Network network(household.specs, hseed, next_id, macs);
        const ncgen::TrafficModel traffic(network, household.traits);
        const ncgen::SessionCounts counts = ncgen::plan_counts(network, share(opt.sessions), share(unlabelled));
        const std::vector<ncgen::Slot> slots = ncgen::build_schedule(network, counts, hseed);
        for (const auto& device : network.devices()) writer.add_device(device);
        {
            ncgen::SessionProducer producer(traffic, slots, hseed);
            ncgen::SessionProducer::Batch batch;
            while (producer.next(batch))
                for (const ncgen::SessionRecord& session : batch) writer.add_session(++sessionid, session);
        }
        writer.flush();  // the pending rows point into this household's network
        next_id += static_cast<int>(network.devices().size());
        devices += network.devices().size();
        total.labelled += counts.labelled;
        total.iot += counts.iot;
        total.unlabelled += counts.unlabelled;
    }
    return 0;
}

int run(const ncgen::Options& opt) {
    if (opt.list_products) return list_products(opt);
    const auto t0 = std::chrono::steady_clock::now();  // only for the summary line

    ncgen::DatabaseWriter writer(opt.out, opt.force);  // refuses an existing file before any work
    const auto unlabelled = std::llround(static_cast<double>(opt.sessions) * opt.unlabelled_share);
    if (opt.households > 0) {
        ncgen::SessionCounts counts;
        std::size_t devices = 0;
        std::int64_t sessionid = 0;
        run_households(opt, writer, unlabelled, counts, devices, sessionid);
        writer.finish();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf(
            "netcollector-gen: wrote %s: %lld sessions (%lld labelled, IoT share %.2f %%, %lld unlabelled), "
            "%lld households, %zu devices, %lld dns rows, %.2f s\n",
            opt.out.c_str(), static_cast<long long>(sessionid), static_cast<long long>(counts.labelled),
            100.0 * static_cast<double>(counts.iot) / static_cast<double>(counts.labelled),
            static_cast<long long>(counts.unlabelled), static_cast<long long>(opt.households), devices,
            static_cast<long long>(writer.dns_rows()), seconds);
        return 0;
    }

    const ncgen::Network network(opt.seed);
    const ncgen::TrafficModel traffic(network);
    const ncgen::SessionCounts counts = ncgen::plan_counts(network, opt.sessions, unlabelled);
    const std::vector<ncgen::Slot> slots = ncgen::build_schedule(network, counts, opt.seed);

    for (const auto& device : network.devices()) writer.add_device(device);

    std::int64_t sessionid = 0;
    {
        ncgen::SessionProducer producer(traffic, slots, opt.seed);  // draws sessions on a second core
        ncgen::SessionProducer::Batch batch;
        while (producer.next(batch))
            for (const ncgen::SessionRecord& session : batch) writer.add_session(++sessionid, session);
    }
    writer.finish();

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "netcollector-gen: wrote %s: %lld sessions (%lld labelled, IoT share %.2f %%, %lld unlabelled), "
        "%zu devices, %lld dns rows, %.2f s\n",
        opt.out.c_str(), static_cast<long long>(sessionid), static_cast<long long>(counts.labelled),
        counts.labelled > 0 ? 100.0 * static_cast<double>(counts.iot) / static_cast<double>(counts.labelled) : 0.0,
        static_cast<long long>(counts.unlabelled), network.devices().size(),
        static_cast<long long>(writer.dns_rows()), seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    ncgen::Options opt;
    try {
        opt = ncgen::parse_options(argc, argv);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "netcollector-gen: %s\nTry 'netcollector-gen --help'.\n", e.what());
        return 2;
    }
    if (opt.help) {
        std::fputs(ncgen::usage(), stdout);
        return 0;
    }
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netcollector-gen: %s\n", e.what());
        return 1;
    }
}
