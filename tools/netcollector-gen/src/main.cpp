// netcollector-gen: writes a realistic synthetic NetCollector database of a
// home network (see --help and tools/netcollector-gen/README.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "network.h"
#include "options.h"
#include "producer.h"
#include "profiles.h"
#include "schedule.h"
#include "writer.h"

namespace {

int run(const ncgen::Options& opt) {
    const auto t0 = std::chrono::steady_clock::now();  // only for the summary line

    ncgen::DatabaseWriter writer(opt.out, opt.force);  // refuses an existing file before any work

    const ncgen::Network network(opt.seed);
    const ncgen::TrafficModel traffic(network);
    const auto unlabelled = std::llround(static_cast<double>(opt.sessions) * opt.unlabelled_share);
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
