#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace ncgen {

namespace {

constexpr std::int64_t kMaxSessions = 1000000000;  // memory: ~16 bytes per session for the schedule

std::int64_t parse_count(const std::string& flag, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v < 1 || v > kMaxSessions)
        throw std::invalid_argument(flag + " expects an integer in [1, " + std::to_string(kMaxSessions) + "], got '" +
                                    text + "'");
    return v;
}

std::uint64_t parse_seed(const std::string& text, const std::string& flag = "--seed") {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0)
        throw std::invalid_argument(flag + " expects an unsigned 64-bit integer, got '" + text + "'");
    return v;
}

double parse_share(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0.0 || v > 1.0)
        throw std::invalid_argument("--unlabelled-share expects a number in [0, 1], got '" + text + "'");
    return v;
}

}  // namespace

const char* usage() {
    return R"(Usage: netcollector-gen --out FILE [--sessions N] [--seed S] [--unlabelled-share F] [--force]
                        [--households N [--catalogue-seed C] [--products all|a|b]]
       netcollector-gen --list-products [--catalogue-seed C]

Writes a synthetic NetCollector SQLite database (schema: schemas/netcollector.sql)
of a home network observed for one week: a gateway, an access point, a printer,
phones, tablets and computers (device_type 'Other') and IoT devices (cameras,
smart speakers, smart plugs, a Raspberry Pi sensor hub, a Hue bridge, a smart TV;
device_type = model name), plus a few unlabelled devices (device_type NULL).

Options:
  --out FILE              database to write (required). Written to FILE.tmp and
                          renamed to FILE when complete.
  --sessions N            number of labelled sessions (device_type NOT NULL);
                          exactly 14.5 % (rounded) of them come from IoT devices.
                          Default 9688, the size of the analysed capture.
  --seed S                seed (unsigned 64-bit; decimal or 0x hex). Same N, seed
                          and share give a byte-identical file. Default 42.
  --unlabelled-share F    sessions of unlabelled devices, added on top, as a
                          share of N (rounded). Default 0.05.
  --force                 overwrite FILE if it exists (refused otherwise).
  --households N          instead of the one demo network: N households, each
                          with its own mix of devices drawn from a catalogue of
                          52 IoT products and 35 non-IoT kinds of device (real
                          vendor OUIs), each device varying its class's behaviour,
                          1-2 unlabelled devices each. --sessions and the
                          unlabelled share are split evenly over the households.
  --catalogue-seed C      splits the catalogue, per behaviour class, into two
                          halves a and b (default 0).
  --products all|a|b      households use every product (default) or only one
                          half: a and b share no product, so a model fitted on
                          households of a can be tested on products it never saw.
  --list-products         print the catalogue as CSV (product, device_type,
                          manufacturer, oui, class, half) and exit.
  -h, --help              show this help.

Prints a one-line summary when done. Option values may also be given as
--option=value.
)";
}

Options parse_options(int argc, const char* const* argv) {
    Options opt;
    bool have_out = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_inline = false;
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_inline = true;
        }
        auto take_value = [&]() -> std::string {
            if (has_inline) return value;
            if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
            return argv[++i];
        };
        auto no_value = [&]() {
            if (has_inline) throw std::invalid_argument(arg + " takes no value");
        };

        if (arg == "-h" || arg == "--help") {
            no_value();
            opt.help = true;
        } else if (arg == "--force") {
            no_value();
            opt.force = true;
        } else if (arg == "--sessions") {
            opt.sessions = parse_count(arg, take_value());
        } else if (arg == "--seed") {
            opt.seed = parse_seed(take_value());
        } else if (arg == "--out") {
            opt.out = take_value();
            if (opt.out.empty()) throw std::invalid_argument("--out needs a file name");
            have_out = true;
        } else if (arg == "--households") {
            opt.households = parse_count(arg, take_value());
            if (opt.households > 100000) throw std::invalid_argument("--households expects at most 100000");
        } else if (arg == "--catalogue-seed") {
            opt.catalogue_seed = parse_seed(take_value(), arg);
        } else if (arg == "--products") {
            opt.products = take_value();
            if (opt.products != "all" && opt.products != "a" && opt.products != "b")
                throw std::invalid_argument("--products expects all, a or b, got '" + opt.products + "'");
        } else if (arg == "--list-products") {
            no_value();
            opt.list_products = true;
        } else if (arg == "--unlabelled-share") {
            opt.unlabelled_share = parse_share(take_value());
        } else {
            throw std::invalid_argument("unknown argument '" + std::string(argv[i]) + "'");
        }
    }
    if (!opt.help && !opt.list_products && !have_out) throw std::invalid_argument("--out FILE is required");
    if (opt.households == 0 && opt.products != "all")
        throw std::invalid_argument("--products needs --households");
    if (opt.households > opt.sessions)
        throw std::invalid_argument("--households must not exceed --sessions");
    return opt;
}

}  // namespace ncgen
