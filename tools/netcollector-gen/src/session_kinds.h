// The vocabulary of traffic: a session *kind* ("DNS lookup", "HTTPS page
// load", "camera stream", ...) fixes protocol, ports, peer and the
// distributions of packets, bytes per packet, duration and asked names.
// Device profiles (profiles.cpp) mix kinds with weights.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <vector>

#include "catalog.h"
#include "prng.h"

namespace ncgen {

// Longest session the collector reports (its active timeout), seconds.
constexpr double kMaxSessionSeconds = 2000.0;

struct LogNormal {
    double median = 1.0;
    double sigma = 0.0;
    double lo = 0.0;
    double hi = 1e18;
    double sample(Rng& rng) const { return std::clamp(rng.lognormal(median, sigma), lo, hi); }
};

// A weighted choice among a few integer values (ports, packet counts, sizes).
class Choice {
public:
    Choice() = default;
    Choice(std::initializer_list<std::pair<int, double>> items)
        : Choice(std::vector<std::pair<int, double>>(items)) {}
    explicit Choice(const std::vector<std::pair<int, double>>& items) {
        std::vector<double> weights;
        for (const auto& item : items) {
            values_.push_back(item.first);
            weights.push_back(item.second);
        }
        index_ = WeightedIndex(weights);
    }
    bool empty() const { return values_.empty(); }
    int sample(Rng& rng) const { return values_.size() == 1 ? values_[0] : values_[index_.sample(rng)]; }

private:
    std::vector<int> values_;
    WeightedIndex index_;
};

// Ephemeral (client) port ranges of the operating systems involved.
enum class PortRange {
    Linux,    // 32768-60999 (Linux, Android, most Linux-based IoT)
    Windows,  // 49152-65535 (Windows, macOS, iOS)
    Lwip,     // lwIP on small RTOS gadgets: counts up from 49152 after each boot
};

// A client port of the given range.
int ephemeral_port(Rng& rng, PortRange range);

enum class Peer {
    Internet,   // a public host of one of the kind's providers
    DnsServer,  // the gateway, or a public resolver for devices that hard-code one
    LanClient,  // a phone / tablet / computer on the LAN (answers to its requests)
    LanAny,     // any other LAN device
    LanTarget,  // a LAN device of a given class (e.g. the cameras an NVR pulls from)
    MdnsGroup,  // 224.0.0.251
    SsdpGroup,  // 239.255.255.250
    LlmnrGroup, // 224.0.0.252
    Broadcast,  // 255.255.255.255
};

enum class Duration {
    Instant,  // request/response exchange: 0 for one packet, else short
    Idle,     // connection kept until an idle timeout: lognormal seconds
    Rate,     // stream: packets / (lognormal packets per second), capped at the active timeout
    Ping,     // one packet per second
};

enum class Asks { Nothing, Dns, Mdns, Llmnr, Relay };

// A kind of session (e.g. "DNS lookup", "HTTPS page load", "camera stream").
struct Kind {
    explicit Kind(const char* n) : name(n) {}

    const char* name;
    int proto = 6;
    Choice src_ports;  // empty: ephemeral port of the sender
    Choice dst_ports;  // empty: ephemeral port of the (LAN) peer
    Peer peer = Peer::Internet;
    Choice providers;  // for Peer::Internet (values are Provider)
    DeviceClass target = DeviceClass::Gateway;
    Choice pkt_choice;  // explicit packet counts, or else...
    LogNormal pkts{1, 0, 1, 1};
    Choice size_choice;  // explicit packet sizes, or else bytes per packet:
    LogNormal size{100, 0, 60, 1514};
    Duration duration = Duration::Idle;
    LogNormal dur{1, 0, 0, kMaxSessionSeconds};
    Asks asks = Asks::Nothing;

    Kind& tcp() { proto = 6; return *this; }
    Kind& udp() { proto = 17; return *this; }
    Kind& icmp() { proto = 1; return *this; }
    Kind& from(Choice ports) { src_ports = std::move(ports); return *this; }
    Kind& to(Choice ports) { dst_ports = std::move(ports); return *this; }
    Kind& via(Peer p) { peer = p; return *this; }
    Kind& internet(std::initializer_list<std::pair<Provider, double>> ps) {
        peer = Peer::Internet;
        std::vector<std::pair<int, double>> items;
        for (const auto& p : ps) items.emplace_back(static_cast<int>(p.first), p.second);
        providers = Choice(items);
        return *this;
    }
    Kind& lan(DeviceClass cls) { peer = Peer::LanTarget; target = cls; return *this; }
    Kind& packets(Choice c) { pkt_choice = std::move(c); return *this; }
    Kind& packets(double median, double sigma, double lo, double hi) { pkts = {median, sigma, lo, hi}; return *this; }
    Kind& sizes(Choice c) { size_choice = std::move(c); return *this; }
    Kind& sizes(double median, double sigma, double lo = 60, double hi = 1514) {
        size = {median, sigma, lo, hi};
        return *this;
    }
    Kind& instant(double median, double sigma) {
        duration = Duration::Instant;
        dur = {median, sigma, 0.0002, 30.0};
        return *this;
    }
    Kind& idle(double median, double sigma) {
        duration = Duration::Idle;
        dur = {median, sigma, 0.001, kMaxSessionSeconds};
        return *this;
    }
    Kind& rate(double pps_median, double sigma, double pps_max = 5000.0) {
        duration = Duration::Rate;
        dur = {pps_median, sigma, 1.0, pps_max};
        return *this;
    }
    Kind& ping() { duration = Duration::Ping; return *this; }
    Kind& asking(Asks a) { asks = a; return *this; }
};

// All kinds, each with a unique name.
std::vector<Kind> make_kinds();

}  // namespace ncgen
