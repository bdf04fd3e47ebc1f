// Command line of netcollector-gen.
#pragma once

#include <cstdint>
#include <string>

namespace ncgen {

struct Options {
    std::int64_t sessions = 9688;    // labelled sessions
    std::uint64_t seed = 42;
    std::string out;
    double unlabelled_share = 0.05;  // unlabelled sessions, as a share of the labelled ones
    bool force = false;
    std::int64_t households = 0;     // 0: the classic demo network; N: N households drawn from the product catalogue
    std::uint64_t catalogue_seed = 0;  // splits the catalogue into halves a and b
    std::string products = "all";    // all, a or b
    bool list_products = false;
    bool help = false;
};

// Throws std::invalid_argument with a message for the user on bad input.
Options parse_options(int argc, const char* const* argv);

const char* usage();

}  // namespace ncgen
