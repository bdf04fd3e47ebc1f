#include "profiles.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "session_kinds.h"

namespace ncgen {

namespace {

// ---------------------------------------------------------------------------
// Per-class profiles
// ---------------------------------------------------------------------------

struct ProfileSpec {
    DeviceClass cls;
    PortRange ephemeral;
    std::vector<std::pair<const char*, double>> kinds;  // kind name, weight
    std::vector<std::pair<NamePool, double>> dns;       // where its DNS questions come from
    NamePool mdns;                                      // what it asks over mDNS
    double public_dns;                                  // share of lookups sent to a public resolver
    double diurnal;                                     // 0 = flat day, 1 = follows the household
};

std::vector<ProfileSpec> make_profiles() {
    using C = DeviceClass;
    using N = NamePool;
    std::vector<ProfileSpec> p;

    // ---- people's devices ('Other') ----
    p.push_back({C::IosPhone, PortRange::Windows,
                 {{"dns", 15}, {"mdns", 6}, {"https", 36}, {"quic", 4}, {"tcp_tail", 4}, {"https_dl", 7},
                  {"apns", 6}, {"upload", 1.2}, {"call", .8}, {"ntp", .8}, {"icmp", .3}, {"dhcp", .3},
                  {"hue_client", 1}, {"kasa_client", .8}, {"cast_client", .6}, {"mail", 2}, {"mqtt", .1}},
                 {{N::AppleOs, .45}, {N::Web, .55}}, N::MdnsApple, 0.0, 1.0});
    p.push_back({C::IosTablet, PortRange::Windows,
                 {{"dns", 15}, {"mdns", 6}, {"https", 34}, {"quic", 5}, {"tcp_tail", 4}, {"https_dl", 12},
                  {"apns", 5}, {"upload", .6}, {"call", .6}, {"ntp", .8}, {"dhcp", .3}, {"cast_client", .6}},
                 {{N::AppleOs, .4}, {N::Web, .6}}, N::MdnsApple, 0.0, 1.0});
    p.push_back({C::MacLaptop, PortRange::Windows,
                 {{"dns", 15}, {"mdns", 6}, {"https", 36}, {"quic", 6}, {"tcp_tail", 4}, {"https_dl", 8},
                  {"apns", 4}, {"upload", 1.5}, {"call", 1.2}, {"ntp", .7}, {"mail", 3}, {"ssh_out", 1},
                  {"ssh_client", .5}, {"ipp_client", .4}, {"mqtt", .3}, {"icmp", .3}, {"dhcp", .2}},
                 {{N::AppleOs, .4}, {N::Web, .6}}, N::MdnsApple, 0.0, 1.0});
    p.push_back({C::AndroidPhone, PortRange::Linux,
                 {{"dns", 15}, {"mdns", 1.5}, {"https", 34}, {"quic", 9}, {"tcp_tail", 4}, {"https_dl", 7},
                  {"mtalk", 6}, {"upload", 1}, {"call", .8}, {"ntp", .5}, {"hue_client", .5},
                  {"kasa_client", .5}, {"cast_client", 1}, {"mail", 1.5}, {"dhcp", .3}},
                 {{N::AndroidOs, .4}, {N::Web, .6}}, N::MdnsAndroid, 0.05, 1.0});
    p.push_back({C::FireTablet, PortRange::Linux,
                 {{"dns", 15}, {"https", 34}, {"quic", 2}, {"tcp_tail", 4}, {"https_dl", 12}, {"avs", 1.5},
                  {"ntp", 1}, {"mdns", 1}, {"ssdp", 1}, {"dhcp", .3}},
                 {{N::FireOs, .5}, {N::Web, .5}}, N::MdnsEcho, 0.0, 1.0});
    p.push_back({C::WindowsLaptop, PortRange::Windows,
                 {{"dns", 14}, {"llmnr", 2}, {"netbios", 1.5}, {"ssdp", 3}, {"wsd", .8}, {"https", 34},
                  {"quic", 8}, {"tcp_tail", 4}, {"https_dl", 8}, {"upload", 1.5}, {"call", 1.5}, {"ntp", .4},
                  {"mail", 2}, {"smb_client", 1}, {"mqtt", .6}, {"icmp_win", .4}, {"ipp_client", .4},
                  {"dhcp", .2}},
                 {{N::WindowsOs, .4}, {N::Web, .6}}, N::MdnsApple, 0.0, 1.0});
    p.push_back({C::WindowsDesktop, PortRange::Windows,
                 {{"dns", 14}, {"llmnr", 2}, {"netbios", 1.5}, {"ssdp", 3}, {"wsd", .8}, {"https", 34},
                  {"quic", 8}, {"tcp_tail", 4}, {"https_dl", 8}, {"upload", 1.5}, {"call", .5}, {"ntp", .4},
                  {"mail", 1}, {"rtsp_client", 1}, {"icmp_win", .4}, {"ipp_client", .4}, {"dhcp", .2}},
                 {{N::WindowsOs, .4}, {N::Web, .6}}, N::MdnsApple, 0.0, 0.8});
    p.push_back({C::LinuxLaptop, PortRange::Linux,
                 {{"dns", 14}, {"mdns", 2}, {"https", 34}, {"quic", 8}, {"tcp_tail", 4}, {"https_dl", 6},
                  {"upload", 1.5}, {"ssh_out", 3}, {"ssh_client", 2}, {"mqtt", 1.5}, {"ntp", 1}, {"icmp", 1},
                  {"call", 1}, {"mail", 1}, {"dhcp", .2}},
                 {{N::LinuxOs, .45}, {N::Web, .55}}, N::MdnsLinux, 0.0, 1.0});

    // ---- infrastructure ('Other') ----
    p.push_back({C::Gateway, PortRange::Linux,
                 {{"dns_relay", 45}, {"dhcp_serve", 5}, {"tr069", 6}, {"ssdp_notify", 10}, {"ntp", 5},
                  {"dns", 8}, {"icmp", 6}},
                 {{N::Gateway, 1}}, N::MdnsLinux, 1.0, 0.3});
    p.push_back({C::AccessPoint, PortRange::Linux,
                 {{"unifi_inform", 50}, {"unifi_discovery", 20}, {"ntp", 5}, {"dns", 10}, {"icmp", 5}},
                 {{N::Ubiquiti, 1}}, N::MdnsLinux, 0.0, 0.0});
    p.push_back({C::Printer, PortRange::Linux,
                 {{"ipp_serve", 20}, {"snmp_serve", 20}, {"hp_cloud", 15}, {"mdns", 15}, {"ssdp_notify", 8},
                  {"wsd", 6}, {"ntp", 3}, {"dns", 10}},
                 {{N::HpPrinter, 1}}, N::MdnsPrinter, 0.0, 0.5});

    // ---- IoT ----
    p.push_back({C::WyzeCam, PortRange::Linux,
                 {{"cam_heartbeat", 30}, {"dns", 6}, {"ntp", 6}, {"cam_event", 8}, {"wyze_stream", 5}, {"wyze_recording", .6},
                  {"tcp_tail", 4}, {"https", 3}, {"https_api", 4}, {"icmp", 6}, {"rtsp_serve", 4}, {"dhcp", 1}},
                 {{N::Wyze, .85}, {N::IotCommon, .15}}, N::MdnsLinux, 0.0, 0.0});
    p.push_back({C::NestCam, PortRange::Linux,
                 {{"nest_keepalive", 30}, {"dns", 6}, {"ntp", 4}, {"cam_event", 10}, {"nest_stream", 5}, {"nest_recording", .6},
                  {"tcp_tail", 5}, {"https", 3}, {"https_api", 5}, {"quic", 3}, {"icmp", 2}},
                 {{N::NestCam, .85}, {N::IotCommon, .15}}, N::MdnsGoogleHome, 0.0, 0.0});
    p.push_back({C::EchoDot, PortRange::Linux,
                 {{"avs", 30}, {"avs_voice", 6}, {"dns", 8}, {"ntp", 5}, {"https_dl", 5}, {"https", 4},
                  {"https_api", 5}, {"tcp_tail", 5}, {"ssdp", 6}, {"mdns", 4}, {"dhcp", 1}, {"icmp", 1}},
                 {{N::Echo, .85}, {N::IotCommon, .15}}, N::MdnsEcho, 0.0, 0.3});
    p.push_back({C::GoogleHome, PortRange::Linux,
                 {{"dns", 9}, {"quic", 4}, {"https", 4}, {"https_api", 5}, {"mtalk", 3}, {"cast_serve", 12}, {"cast_http", 5},
                  {"mdns", 12}, {"ntp", 3}, {"https_dl", 5}, {"tcp_tail", 5}, {"ssdp", 2}},
                 {{N::GoogleHome, .9}, {N::IotCommon, .1}}, N::MdnsGoogleHome, 1.0, 0.3});
    p.push_back({C::SmartPlug, PortRange::Lwip,
                 {{"kasa_cloud", 35}, {"kasa_serve", 15}, {"kasa_discovery", 8}, {"dns", 6}, {"ntp", 6},
                  {"tcp_tail", 5}, {"dhcp", 2}},
                 {{N::TpLink, .9}, {N::IotCommon, .1}}, N::MdnsLinux, 0.0, 0.0});
    p.push_back({C::PiHub, PortRange::Linux,
                 {{"pi_mqtt", 35}, {"ssh_serve", 6}, {"pi_api", 12}, {"apt", 3}, {"dns", 10}, {"ntp", 5},
                  {"mdns", 4}, {"icmp", 3}, {"https", 8}, {"tcp_tail", 6}},
                 {{N::RaspberryPi, .9}, {N::IotCommon, .1}}, N::MdnsLinux, 0.2, 0.0});
    p.push_back({C::HueBridge, PortRange::Linux,
                 {{"hue_serve", 25}, {"hue_cloud", 25}, {"mdns", 10}, {"ssdp_notify", 10}, {"ntp", 5},
                  {"dns", 8}, {"tcp_tail", 5}, {"https", 5}},
                 {{N::Hue, .9}, {N::IotCommon, .1}}, N::MdnsHue, 0.0, 0.2});
    p.push_back({C::SmartTv, PortRange::Linux,
                 {{"tv_stream", 7}, {"https_dl", 3}, {"https", 4}, {"https_api", 5}, {"quic", 3}, {"dns", 9}, {"ssdp", 8}, {"mdns", 5},
                  {"tv_api", 8}, {"tv_upnp", 6}, {"ntp", 3}, {"tcp_tail", 4}, {"cast_serve", 3}},
                 {{N::SamsungTv, .9}, {N::IotCommon, .1}}, N::MdnsTv, 0.0, 1.0});

    // ---- unlabelled gadgets ----
    p.push_back({C::EspGadget, PortRange::Lwip,
                 {{"esp_mqtt", 40}, {"dns", 10}, {"ntp", 10}, {"tcp_tail", 5}, {"https", 5}, {"dhcp", 3}},
                 {{N::Espressif, 1}}, N::MdnsLinux, 0.0, 0.0});
    return p;
}

constexpr std::size_t kClassCount = static_cast<std::size_t>(DeviceClass::EspGadget) + 1;

const char* const kMdnsGroup = "224.0.0.251";
const char* const kSsdpGroup = "239.255.255.250";
const char* const kLlmnrGroup = "224.0.0.252";
const char* const kBroadcast = "255.255.255.255";

}  // namespace

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

struct TrafficModel::Impl {
    struct Profile {
        bool present = false;
        PortRange ephemeral = PortRange::Linux;
        std::vector<std::size_t> kinds;
        WeightedIndex kind_index;
        std::vector<NamePool> dns_pools;
        WeightedIndex dns_pool_index;
        NamePool mdns = NamePool::MdnsLinux;
        double public_dns = 0.0;
        std::vector<double> kind_weights;
    };

    // A varied device (--households): its own kind weights and scale factors.
    struct Variant {
        bool present = false;
        WeightedIndex kind_index;
        double packets = 1.0, bytes = 1.0, duration = 1.0;
        const std::vector<const char*>* names = nullptr;
        WeightedIndex name_index;
    };

    const Network& net;
    std::vector<Kind> kinds;
    std::vector<Profile> profiles;                // by DeviceClass
    std::vector<WeightedIndex> name_samplers;     // by NamePool, Zipf over rank
    WeightedIndex host_index;                     // Zipf over a provider's hosts
    WeightedIndex resolver_index;
    std::vector<Variant> variants;                // by device index; empty when none is varied

    Impl(const Network& network, const std::vector<DeviceTraits>& traits)
        : net(network), kinds(make_kinds()), profiles(kClassCount) {
        std::map<std::string, std::size_t> by_name;
        for (std::size_t i = 0; i < kinds.size(); ++i)
            if (!by_name.emplace(kinds[i].name, i).second)
                throw std::logic_error(std::string("duplicate session kind ") + kinds[i].name);

        for (const ProfileSpec& spec : make_profiles()) {
            Profile& prof = profiles[static_cast<std::size_t>(spec.cls)];
            prof.present = true;
            prof.ephemeral = spec.ephemeral;
            std::vector<double> weights;
            for (const auto& [name, weight] : spec.kinds) {
                auto it = by_name.find(name);
                if (it == by_name.end()) throw std::logic_error(std::string("unknown session kind ") + name);
                prof.kinds.push_back(it->second);
                weights.push_back(weight);
            }
            prof.kind_index = WeightedIndex(weights);
            prof.kind_weights = weights;
            weights.clear();
            for (const auto& [pool, weight] : spec.dns) {
                prof.dns_pools.push_back(pool);
                weights.push_back(weight);
            }
            prof.dns_pool_index = WeightedIndex(weights);
            prof.mdns = spec.mdns;
            prof.public_dns = spec.public_dns;
        }
        for (const Device& dev : net.devices())
            if (!profiles[static_cast<std::size_t>(dev.spec->cls)].present)
                throw std::logic_error(std::string("no traffic profile for device ") + dev.mac);

        for (std::size_t p = 0; p < static_cast<std::size_t>(NamePool::Count); ++p) {
            const auto& names = pool_names(static_cast<NamePool>(p));
            name_samplers.emplace_back(zipf_weights(names.size(), 1.0));
        }
        host_index = WeightedIndex(zipf_weights(Network::kHostsPerProvider, 1.1));
        resolver_index = WeightedIndex(zipf_weights(net.public_hosts(Provider::PublicDns).size(), 1.5));

        if (!traits.empty()) {
            if (traits.size() != net.devices().size()) throw std::logic_error("device traits do not match the devices");
            variants.resize(traits.size());
            for (std::size_t d = 0; d < traits.size(); ++d) {
                const DeviceTraits& t = traits[d];
                if (!t.varied) continue;
                Variant& v = variants[d];
                v.present = true;
                Rng rng(t.seed);
                std::vector<double> w = profile_of(net.devices()[d]).kind_weights;
                for (double& x : w) x *= rng.lognormal(1.0, t.variation);
                v.kind_index = WeightedIndex(w);
                v.packets = rng.lognormal(1.0, 0.4 * t.variation);
                v.bytes = rng.lognormal(1.0, 0.25 * t.variation);
                v.duration = rng.lognormal(1.0, 0.4 * t.variation);
                if (t.names != nullptr && !t.names->empty()) {
                    v.names = t.names;
                    v.name_index = WeightedIndex(zipf_weights(t.names->size(), 0.8));
                }
            }
        }
    }

    const Variant* variant_of(std::size_t device_index) const {
        if (variants.empty() || !variants[device_index].present) return nullptr;
        return &variants[device_index];
    }

    const Profile& profile_of(const Device& dev) const { return profiles[static_cast<std::size_t>(dev.spec->cls)]; }

    const char* pick_name(Rng& rng, NamePool pool) const {
        const auto& names = pool_names(pool);
        return names[name_samplers[static_cast<std::size_t>(pool)].sample(rng)];
    }

    // Adds up to `count` distinct names drawn by `draw`.
    template <typename Draw>
    static void add_names(SessionRecord& out, int count, Draw draw) {
        count = std::min(count, SessionRecord::kMaxNames);
        for (int attempt = 0; out.name_count < count && attempt < 4 * count; ++attempt) {
            const char* name = draw();
            bool dup = false;
            for (int i = 0; i < out.name_count; ++i) dup = dup || std::strcmp(out.names[i], name) == 0;
            if (!dup) out.names[out.name_count++] = name;
        }
    }

    const char* dns_name_for(Rng& rng, const Device& asker) const {
        const Profile& prof = profile_of(asker);
        // A varied IoT product asks its own cloud's names, and some common ones.
        if (const Variant* v = variant_of(static_cast<std::size_t>(&asker - net.devices().data()))) {
            if (v->names != nullptr) {
                if (rng.chance(0.85)) return (*v->names)[v->name_index.sample(rng)];
                return pick_name(rng, NamePool::IotCommon);
            }
        }
        return pick_name(rng, prof.dns_pools[prof.dns_pool_index.sample(rng)]);
    }

    std::size_t pick_other(Rng& rng, const std::vector<std::size_t>& pool, std::size_t self) const {
        if (pool.empty() || (pool.size() == 1 && pool[0] == self)) return net.devices().size();  // none
        for (;;) {
            const std::size_t idx = pool[rng.below(pool.size())];
            if (idx != self) return idx;
        }
    }

    void synthesize(Rng& rng, std::size_t device_index, double start, SessionRecord& out) const {
        const auto& devices = net.devices();
        const Device& dev = devices[device_index];
        const Profile& prof = profile_of(dev);
        const Variant* variant = variant_of(device_index);
        const Kind& kind = kinds[prof.kinds[(variant ? variant->kind_index : prof.kind_index).sample(rng)]];

        out = SessionRecord{};
        out.deviceid = dev.id;
        out.protocol = kind.proto;
        out.srcip = dev.ip.c_str();

        // -- peer --
        std::size_t peer = devices.size();  // a LAN device, if the peer is one
        switch (kind.peer) {
            case Peer::Internet: {
                // Popular hosts of a provider are contacted more often (Zipf); the
                // public-resolver table is short and has its own weights.
                const auto& hosts = net.public_hosts(static_cast<Provider>(kind.providers.sample(rng)));
                const WeightedIndex& pick = hosts.size() == Network::kHostsPerProvider ? host_index : resolver_index;
                out.dstip = hosts[pick.sample(rng)].c_str();
                break;
            }
            case Peer::DnsServer:
                out.dstip = rng.chance(prof.public_dns)
                                ? net.public_hosts(Provider::PublicDns)[resolver_index.sample(rng)].c_str()
                                : net.gateway().ip.c_str();
                break;
            case Peer::LanClient: peer = pick_other(rng, net.lan_clients(), device_index); break;
            case Peer::LanTarget: peer = pick_other(rng, net.devices_of(kind.target), device_index); break;
            case Peer::LanAny: {
                std::size_t idx;
                do idx = rng.below(devices.size()); while (idx == device_index);
                peer = idx;
                break;
            }
            case Peer::MdnsGroup: out.dstip = kMdnsGroup; break;
            case Peer::SsdpGroup: out.dstip = kSsdpGroup; break;
            case Peer::LlmnrGroup: out.dstip = kLlmnrGroup; break;
            case Peer::Broadcast: out.dstip = kBroadcast; break;
        }
        if (out.dstip == nullptr) {
            if (peer >= devices.size()) peer = net.lan_clients().front();  // no such device: a laptop instead
            out.dstip = devices[peer].ip.c_str();
        }

        // -- ports --
        if (kind.proto == 1) {
            out.srcport = 0;
            out.dstport = 0;
        } else {
            out.srcport = kind.src_ports.empty() ? ephemeral_port(rng, prof.ephemeral) : kind.src_ports.sample(rng);
            if (!kind.dst_ports.empty()) {
                out.dstport = kind.dst_ports.sample(rng);
            } else {
                const PortRange range = peer < devices.size() ? profile_of(devices[peer]).ephemeral : PortRange::Linux;
                out.dstport = ephemeral_port(rng, range);
            }
        }

        // -- packets and bytes --
        std::int64_t pkts = kind.pkt_choice.empty() ? std::llround(kind.pkts.sample(rng)) : kind.pkt_choice.sample(rng);
        pkts = std::max<std::int64_t>(pkts, 1);
        double size = kind.size_choice.empty() ? kind.size.sample(rng) : kind.size_choice.sample(rng);
        if (variant) {  // a device's own habits: longer or shorter exchanges, bigger or smaller packets
            if (kind.pkt_choice.empty())
                pkts = std::max<std::int64_t>(1, std::llround(static_cast<double>(pkts) * variant->packets));
            size *= variant->bytes;
        }

        // -- duration --
        double dur = 0.0;
        switch (kind.duration) {
            case Duration::Instant:
            case Duration::Idle:
                dur = pkts > 1 ? kind.dur.sample(rng) : 0.0;
                break;
            case Duration::Rate: {
                const double pps = kind.dur.sample(rng);
                dur = static_cast<double>(pkts) / pps;
                if (dur > kMaxSessionSeconds) {  // the collector cuts streams at its active timeout
                    dur = kMaxSessionSeconds - rng.uniform(0.0, 5.0);
                    pkts = std::max<std::int64_t>(1, std::llround(dur * pps));
                }
                if (pkts == 1) dur = 0.0;
                break;
            }
            case Duration::Ping:
                dur = pkts > 1 ? static_cast<double>(pkts - 1) + rng.uniform(0.0005, 0.02) : 0.0;
                break;
        }
        if (variant && kind.duration == Duration::Idle) dur *= variant->duration;
        dur = std::min(dur, kMaxSessionSeconds);
        dur = std::round(dur * 1e6) / 1e6;

        out.pktcount = pkts;
        const double p = static_cast<double>(pkts);
        out.lensum = std::clamp<std::int64_t>(std::llround(p * size), 60 * pkts, 1514 * pkts);

        out.starttime = start;
        // The collector sometimes swaps the timestamps of a session.
        out.endtime = (dur > 0.0 && rng.chance(kCollectorBugRate)) ? start - dur : start + dur;

        // -- asked names --
        switch (kind.asks) {
            case Asks::Nothing: break;
            case Asks::Dns:
            case Asks::Relay: {
                const Device& asker = (kind.asks == Asks::Relay && peer < devices.size()) ? devices[peer] : dev;
                int count = 1;
                for (std::int64_t i = 1; i < pkts && count < 4; ++i) count += rng.chance(0.45) ? 1 : 0;
                add_names(out, count, [&] { return dns_name_for(rng, asker); });
                break;
            }
            case Asks::Mdns: {
                int count = 1;
                while (count < 4 && rng.chance(0.45)) ++count;
                add_names(out, count, [&] { return pick_name(rng, prof.mdns); });
                break;
            }
            case Asks::Llmnr:
                add_names(out, 1, [&] { return pick_name(rng, NamePool::Llmnr); });
                break;
        }
    }

    static constexpr double kCollectorBugRate = 0.022;
};

TrafficModel::TrafficModel(const Network& network) : impl_(std::make_unique<Impl>(network, std::vector<DeviceTraits>{})) {}
TrafficModel::TrafficModel(const Network& network, std::vector<DeviceTraits> traits)
    : impl_(std::make_unique<Impl>(network, traits)) {}
TrafficModel::~TrafficModel() = default;

void TrafficModel::synthesize(Rng& rng, std::size_t device_index, double start, SessionRecord& out) const {
    impl_->synthesize(rng, device_index, start, out);
}

double diurnal_strength(DeviceClass cls) {
    for (const ProfileSpec& spec : make_profiles())
        if (spec.cls == cls) return spec.diurnal;
    return 0.0;
}

}  // namespace ncgen
