// Static facts of the simulated home network: which devices exist, their
// vendors (with real IEEE OUIs), the DNS/mDNS names they ask, and the public
// address blocks their peers live in. Nothing here is random.
#pragma once

#include <cstddef>
#include <vector>

namespace ncgen {

// Behavioural class of a device; selects its traffic profile (profiles.cpp).
enum class DeviceClass {
    Gateway,
    AccessPoint,
    Printer,
    IosPhone,
    IosTablet,
    MacLaptop,
    AndroidPhone,
    FireTablet,
    WindowsLaptop,
    WindowsDesktop,
    LinuxLaptop,
    WyzeCam,
    NestCam,
    EchoDot,
    GoogleHome,
    SmartPlug,
    PiHub,
    HueBridge,
    SmartTv,
    EspGadget,
};

enum class Group { NonIot, Iot, Unlabelled };

struct DeviceSpec {
    const char* hostname;      // nullptr: the device announces none
    const char* manufacturer;  // vendor of the OUI
    const char* device_type;   // "Other", an IoT model name, or nullptr (unlabelled)
    DeviceClass cls;
    const char* oui;           // "aa:bb:cc", registered to the manufacturer
    int fixed_octet;           // last octet of a static 192.168.1.x address, 0 = DHCP pool
    double weight;             // relative share of its group's sessions
};

Group group_of(const DeviceSpec& spec);

// Devices in deviceid order (deviceid = index + 1).
const std::vector<DeviceSpec>& device_specs();

// Names that appear in dns_queries, grouped by who asks them. Each list is in
// popularity order; samplers put Zipf weights on the rank.
enum class NamePool {
    AppleOs,
    WindowsOs,
    AndroidOs,
    SamsungPhone,
    LinuxOs,
    FireOs,
    Web,
    Echo,
    GoogleHome,
    NestCam,
    Wyze,
    TpLink,
    RaspberryPi,
    Hue,
    SamsungTv,
    Gateway,
    Ubiquiti,
    HpPrinter,
    IotCommon,
    Espressif,
    MdnsApple,
    MdnsAndroid,
    MdnsGoogleHome,
    MdnsEcho,
    MdnsHue,
    MdnsPrinter,
    MdnsTv,
    MdnsLinux,
    Llmnr,
    Count
};

const std::vector<const char*>& pool_names(NamePool pool);

// Public address blocks (/16 prefixes) of the organisations peers belong to.
enum class Provider {
    Google,
    Aws,
    Apple,
    Microsoft,
    Akamai,
    Cloudflare,
    Fastly,
    Facebook,
    Netflix,
    NtpPool,
    PublicDns,
    Misc,
    Count
};

struct Prefix16 {
    int a, b;
};

const std::vector<Prefix16>& provider_prefixes(Provider provider);

// Unix time of the first second of the simulated capture week (2019-04-01 00:00 UTC, a Monday).
constexpr double kCaptureStart = 1554076800.0;
constexpr double kCaptureSeconds = 7.0 * 86400.0;

}  // namespace ncgen
