#include "products.h"

#include <algorithm>
#include <deque>
#include <map>
#include <sstream>
#include <stdexcept>

#include "prng.h"

namespace ncgen {

const std::vector<Product>& products() {
    using C = DeviceClass;
    // OUIs are real IEEE MA-L assignments of the manufacturer named
    // (/usr/share/ieee-data/oui.csv; a test checks them when the file exists).
    static const std::vector<Product> list = {
        // ---- IoT: cameras streaming to their cloud over UDP (P2P relays) ----
        {"Wyze Cam v3", "Wyze Labs", "d0:3f:27", C::WyzeCam, true, "wyzecam.com iotcplatform.com", "wyze-cam"},
        {"Reolink E1 Pro", "Reolink Innovation", "ec:71:db", C::WyzeCam, true, "reolink.com", "reolink"},
        {"Ezviz C6N", "Hangzhou Ezviz Software", "64:f2:fb", C::WyzeCam, true, "ezvizlife.com ezviz7.com", "ezviz-c6n"},
        {"Hikvision DS-2CD2143", "Hangzhou Hikvision Digital Technology", "44:47:cc", C::WyzeCam, true, "hik-connect.com", nullptr},
        {"Xiaomi Mi Home Camera", "Xiaomi Communications", "a4:45:19", C::WyzeCam, true, "io.mi.com xiaomi.net", "chuangmi-camera"},
        {"Tapo C200", "TP-LINK Technologies", "d0:37:45", C::WyzeCam, true, "tplinknbu.com tplinkcloud.com", "tapo-c200"},
        // ---- IoT: cameras and doorbells over TLS to their cloud ----
        {"Nest Cam IQ", "Nest Labs", "18:b4:30", C::NestCam, true, "dropcam.com nest.com", "nest-cam"},
        {"Ring Stick Up Cam", "Ring", "54:e0:19", C::NestCam, true, "ring.com ring.devices.a2z.com", "ring-cam"},
        {"Arlo Pro 3", "Arlo Technology", "fc:9c:98", C::NestCam, true, "arlo.com arloxcld.com", "arlo-pro"},
        {"Canary Flex", "Canary Connect", "d8:42:e2", C::NestCam, true, "canaryis.com", "canary"},
        {"Logitech Circle 2", "Logitech", "c0:28:8d", C::NestCam, true, "logi.com circle.logi.com", nullptr},
        {"Blink Mini", "Blink by Amazon", "74:ab:93", C::NestCam, true, "immedia-semi.com", "blink-mini"},
        {"SkyBell HD", "SkyBell Technologies", "68:f0:d0", C::NestCam, true, "skybell.com", "skybell"},
        {"SimpliSafe SimpliCam", "SimpliSafe", "f8:51:28", C::NestCam, true, "simplisafe.com", nullptr},
        // ---- IoT: voice assistants and smart speakers ----
        {"Amazon Echo Dot", "Amazon Technologies", "fc:a6:67", C::EchoDot, true, "amazon.com amazonalexa.com", "echo-dot"},
        {"Amazon Echo Show", "Amazon Technologies", "4c:17:44", C::EchoDot, true, "amazon.com amazonalexa.com", "echo-show"},
        {"Sonos One", "Sonos", "54:2a:1b", C::EchoDot, true, "sonos.com ws.sonos.com", "sonos-one"},
        {"Bose Home Speaker 500", "Bose", "2c:41:a1", C::EchoDot, true, "bose.com bose.io", "bose-speaker"},
        {"Google Home Mini", "Google", "d4:f5:47", C::GoogleHome, true, "googleapis.com gstatic.com", "google-home-mini"},
        {"Google Nest Hub", "Google", "58:cb:52", C::GoogleHome, true, "googleapis.com googleusercontent.com", "nest-hub"},
        {"Chromecast", "Google", "7c:d9:5c", C::GoogleHome, true, "googleapis.com gvt1.com", "chromecast"},
        // ---- IoT: plugs, switches, locks, openers ----
        {"TP-Link HS110", "Topwell International", "d0:6f:4a", C::SmartPlug, true, "tplinkcloud.com tplinkra.com", "hs110"},
        {"Wemo Mini", "Belkin International", "58:ef:68", C::SmartPlug, true, "xbcs.net belkin.com", "wemo-mini"},
        {"Meross MSS110", "Chengdu Meross Technology", "48:e1:e9", C::SmartPlug, true, "meross.com", "meross-plug"},
        {"Gosund WP3", "Tuya Smart", "1c:90:ff", C::SmartPlug, true, "tuyaus.com tuya.com", "gosund-wp3"},
        {"Xiaomi Mi Smart Plug", "Xiaomi Communications", "d0:9c:7a", C::SmartPlug, true, "io.mi.com", "chuangmi-plug"},
        {"Sonoff S31", "Espressif", "80:7d:3a", C::SmartPlug, true, "coolkit.cc", "sonoff-s31"},
        {"Chamberlain MyQ", "The Chamberlain Group", "cc:6a:10", C::SmartPlug, true, "myqdevice.com", "myq-garage"},
        {"August Connect", "August Home", "78:9c:85", C::SmartPlug, true, "august.com", nullptr},
        // ---- IoT: hubs, thermostats, sensors, appliances ----
        {"Raspberry Pi 3B", "Raspberry Pi Foundation", "b8:27:eb", C::PiHub, true, "raspberrypi.org adafruit.com", "sensor-pi"},
        {"Raspberry Pi 4", "Raspberry Pi Trading", "dc:a6:32", C::PiHub, true, "raspberrypi.org home-assistant.io", "homeassistant"},
        {"SmartThings Hub v3", "SmartThings", "24:fd:5b", C::PiHub, true, "smartthings.com", "smartthings"},
        {"Netatmo Weather Station", "Netatmo", "70:ee:50", C::PiHub, true, "netatmo.net", "netatmo"},
        {"ecobee3 lite", "ecobee", "44:61:32", C::PiHub, true, "ecobee.com", "ecobee"},
        {"Nest Learning Thermostat", "Nest Labs", "64:16:66", C::PiHub, true, "nest.com", "nest-thermostat"},
        {"Withings Body+", "Withings", "00:24:e4", C::PiHub, true, "withings.net", nullptr},
        {"iRobot Roomba 960", "iRobot", "50:14:79", C::PiHub, true, "irobotapi.com", "roomba"},
        {"Roborock S5", "Beijing Roborock Technology", "b0:4a:39", C::PiHub, true, "roborock.com", "roborock"},
        {"Dyson Pure Cool", "Dyson", "c8:ff:77", C::PiHub, true, "cp.dyson.com", nullptr},
        // ---- IoT: lighting bridges ----
        {"Philips Hue Bridge", "Philips Lighting", "00:17:88", C::HueBridge, true, "meethue.com", "hue-bridge"},
        {"IKEA Tradfri Gateway", "IKEA of Sweden", "68:ec:8a", C::HueBridge, true, "ikea.com", "tradfri"},
        {"Aqara Hub M2", "Lumi United Technology", "54:ef:44", C::HueBridge, true, "aqara.com", "lumi-gateway"},
        {"Lutron Caseta Bridge", "Lutron Electronics", "00:0f:e7", C::HueBridge, true, "lutron.com", "lutron"},
        {"Nanoleaf Light Panels", "Nanoleaf", "80:8a:f7", C::HueBridge, true, "nanoleaf.me", "nanoleaf"},
        // ---- IoT: TVs and streaming sticks ----
        {"Samsung Smart TV", "Samsung Electro-Mechanics", "8c:b8:4a", C::SmartTv, true, "samsungcloudsolution.com samsungqbe.com", "samsung-tv"},
        {"LG webOS TV", "LG Electronics", "20:17:42", C::SmartTv, true, "lgtvsdp.com lge.com", "lgwebostv"},
        {"Roku Express", "Roku", "d0:4d:2c", C::SmartTv, true, "roku.com", "roku"},
        {"Vizio SmartCast TV", "Vizio", "00:6b:9e", C::SmartTv, true, "vizio.com", "vizio-tv"},
        {"Nvidia Shield TV", "NVIDIA", "48:b0:2d", C::SmartTv, true, "nvidia.com", "shield"},
        {"Fire TV Stick", "Amazon Technologies", "68:db:f5", C::SmartTv, true, "amazonvideo.com amazon.com", "fire-tv"},
        // ---- IoT: small Wi-Fi gadgets ----
        {"Shelly 1", "Espressif", "24:6f:28", C::EspGadget, true, "shelly.cloud", "shelly1"},
        {"Tuya LED Bulb", "Tuya Smart", "d4:a6:51", C::EspGadget, true, "tuyaus.com", nullptr},

        // ---- not IoT: gateways and access points ----
        {"Technicolor gateway", "Technicolor CH USA", "5c:76:95", C::Gateway, false, nullptr, "home-gateway"},
        {"Netgear router", "NETGEAR", "38:94:ed", C::Gateway, false, nullptr, "routerlogin"},
        {"ARRIS cable modem", "ARRIS Group", "0c:b7:71", C::Gateway, false, nullptr, nullptr},
        {"Sagemcom box", "Sagemcom Broadband", "f8:08:4f", C::Gateway, false, nullptr, "livebox"},
        {"FRITZ!Box", "AVM", "98:9b:cb", C::Gateway, false, nullptr, "fritz-box"},
        {"UniFi access point", "Ubiquiti Networks", "74:83:c2", C::AccessPoint, false, nullptr, "unifi-ap"},
        {"eero mesh node", "eero", "60:5f:8d", C::AccessPoint, false, nullptr, "eero"},
        // ---- not IoT: printers ----
        {"HP OfficeJet", "Hewlett Packard", "9c:7b:ef", C::Printer, false, nullptr, "hp-officejet"},
        {"Brother laser printer", "Brother Industries", "00:1b:a9", C::Printer, false, nullptr, "brn-printer"},
        {"Epson EcoTank", "Seiko Epson", "50:57:9c", C::Printer, false, nullptr, "epson-et"},
        {"Canon PIXMA", "Canon", "84:ba:3b", C::Printer, false, nullptr, "canon-pixma"},
        // ---- not IoT: people's devices ----
        {"iPhone", "Apple", "f0:18:98", C::IosPhone, false, nullptr, "iphone"},
        {"iPhone SE", "Apple", "88:b2:91", C::IosPhone, false, nullptr, "iphone-se"},
        {"iPad", "Apple", "bc:b8:63", C::IosTablet, false, nullptr, "ipad"},
        {"iPad mini", "Apple", "60:8b:0e", C::IosTablet, false, nullptr, "ipad-mini"},
        {"MacBook Air", "Apple", "a4:83:e7", C::MacLaptop, false, nullptr, "macbook-air"},
        {"iMac", "Apple", "f8:38:80", C::MacLaptop, false, nullptr, "imac"},
        {"Samsung Galaxy phone", "Samsung Electronics", "d0:d0:03", C::AndroidPhone, false, nullptr, "galaxy"},
        {"Google Pixel", "Google", "3c:5a:b4", C::AndroidPhone, false, nullptr, "pixel"},
        {"OnePlus phone", "OnePlus Technology", "5c:17:cf", C::AndroidPhone, false, nullptr, "oneplus"},
        {"Moto G", "Motorola Mobility", "60:1d:91", C::AndroidPhone, false, nullptr, nullptr},
        {"Huawei P30", "Huawei Device", "10:32:7e", C::AndroidPhone, false, nullptr, "huawei-p30"},
        {"Xiaomi Redmi", "Xiaomi Communications", "a4:45:19", C::AndroidPhone, false, nullptr, "redmi"},
        {"Sony Xperia", "Murata", "40:f3:08", C::AndroidPhone, false, nullptr, "xperia"},
        {"Fire HD tablet", "Amazon Technologies", "74:c2:46", C::FireTablet, false, nullptr, "kindle-fire"},
        {"Lenovo Tab", "Lenovo Mobile Communication", "e0:2c:b2", C::FireTablet, false, nullptr, "lenovo-tab"},
        {"ThinkPad", "Intel Corporate", "98:54:1b", C::WindowsLaptop, false, nullptr, "thinkpad"},
        {"Dell XPS", "Dell", "98:e7:43", C::WindowsLaptop, false, nullptr, "dell-xps"},
        {"HP laptop", "HP Inc", "04:0e:3c", C::WindowsLaptop, false, nullptr, "hp-laptop"},
        {"Surface Pro", "Microsoft", "70:bc:10", C::WindowsLaptop, false, nullptr, "surface"},
        {"Gaming laptop", "Rivet Networks", "9c:b6:d0", C::WindowsLaptop, false, nullptr, "gaming-laptop"},
        {"Windows desktop", "Realtek", "00:e0:4c", C::WindowsDesktop, false, nullptr, "desktop"},
        {"ASUS desktop", "ASUSTek Computer", "04:92:26", C::WindowsDesktop, false, nullptr, "asus-pc"},
        {"Ubuntu laptop", "AzureWave", "1c:4b:d6", C::LinuxLaptop, false, nullptr, "ubuntu"},
        {"Linux workstation", "Lenovo", "10:c5:95", C::LinuxLaptop, false, nullptr, "workstation"},
    };
    return list;
}

namespace {

// Subdomains IoT clouds use; each product asks a few of them under its domains.
const char* const kPrefixes[] = {"api", "devices", "mqtt", "fw", "ota", "events", "log", "time", "cloud", "iot",
                                 "update", "device", "connect", "push", "status", "config", "media", "relay",
                                 "auth", "metrics", "ntp", "gw", "stream", "us-east-1.api"};

std::uint64_t name_hash(const char* s) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
    return h;
}

}  // namespace

const std::vector<const char*>& product_names(std::size_t product) {
    static const std::vector<std::vector<const char*>> names = [] {
        static std::deque<std::string> storage;  // stable addresses for the lifetime of the program
        std::vector<std::vector<const char*>> out;
        for (const Product& p : products()) {
            out.emplace_back();
            if (!p.iot) continue;
            std::vector<std::string> domains;
            std::istringstream in(p.domains);
            for (std::string d; in >> d;) domains.push_back(d);
            Rng rng(derive_seed(name_hash(p.name), 7));
            const std::size_t n_prefix = sizeof kPrefixes / sizeof kPrefixes[0];
            std::vector<std::size_t> order(n_prefix);
            for (std::size_t i = 0; i < n_prefix; ++i) order[i] = i;
            for (std::size_t i = n_prefix; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
            const std::size_t count = 4 + rng.below(5);  // 4-8 names
            for (std::size_t i = 0; i < count; ++i) {
                storage.push_back(std::string(kPrefixes[order[i]]) + "." + domains[i % domains.size()]);
                out.back().push_back(storage.back().c_str());
            }
        }
        return out;
    }();
    return names.at(product);
}

std::vector<bool> product_selection(const std::string& filter, std::uint64_t catalogue_seed) {
    const auto& list = products();
    if (filter == "all") return std::vector<bool>(list.size(), true);
    if (filter != "a" && filter != "b") throw std::invalid_argument("--products expects all, a or b, got '" + filter + "'");
    // Per behaviour class: shuffle its products under the catalogue seed; the
    // first half (rounded up) is "a", the rest "b".
    std::map<int, std::vector<std::size_t>> by_class;
    for (std::size_t i = 0; i < list.size(); ++i) by_class[static_cast<int>(list[i].cls)].push_back(i);
    std::vector<bool> keep(list.size(), false);
    for (auto& [cls, members] : by_class) {
        Rng rng(derive_seed(catalogue_seed, 100 + static_cast<std::uint64_t>(cls)));
        for (std::size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[rng.below(i)]);
        const std::size_t half = (members.size() + 1) / 2;
        for (std::size_t k = 0; k < members.size(); ++k) keep[members[k]] = (k < half) == (filter == "a");
    }
    return keep;
}

}  // namespace ncgen
