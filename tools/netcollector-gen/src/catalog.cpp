#include "catalog.h"

#include <array>
#include <cstring>

namespace ncgen {

Group group_of(const DeviceSpec& spec) {
    if (spec.device_type == nullptr) return Group::Unlabelled;
    return std::strcmp(spec.device_type, "Other") == 0 ? Group::NonIot : Group::Iot;
}

const std::vector<DeviceSpec>& device_specs() {
    // Weights are relative within a group (non-IoT, IoT, unlabelled); the
    // schedule fixes each group's total. OUIs are real IEEE assignments.
    static const std::vector<DeviceSpec> specs = {
        // ---- not IoT ('Other') ----
        {"home-gateway", "Technicolor CH USA", "Other", DeviceClass::Gateway, "5c:76:95", 1, 6.0},
        {"unifi-ap-lr", "Ubiquiti Networks", "Other", DeviceClass::AccessPoint, "80:2a:a8", 2, 2.0},
        {"hp-officejet-pro", "Hewlett Packard", "Other", DeviceClass::Printer, "9c:7b:ef", 20, 2.0},
        {"alice-iphone", "Apple", "Other", DeviceClass::IosPhone, "f0:18:98", 0, 14.0},
        {"alice-macbook-air", "Apple", "Other", DeviceClass::MacLaptop, "a4:83:e7", 0, 11.0},
        {"kids-ipad", "Apple", "Other", DeviceClass::IosTablet, "bc:b8:63", 0, 5.0},
        {"bob-galaxy-s9", "Samsung Electro-Mechanics", "Other", DeviceClass::AndroidPhone, "5c:a3:9d", 0, 9.0},
        {"bob-thinkpad", "Intel Corporate", "Other", DeviceClass::WindowsLaptop, "98:54:1b", 0, 11.0},
        {"dave-gaming-laptop", "Rivet Networks", "Other", DeviceClass::WindowsLaptop, "9c:b6:d0", 0, 7.0},
        {"family-desktop", "Realtek", "Other", DeviceClass::WindowsDesktop, "00:e0:4c", 0, 8.0},
        {"eve-ubuntu-laptop", "AzureWave", "Other", DeviceClass::LinuxLaptop, "1c:4b:d6", 0, 6.0},
        {"carol-pixel-3a", "Google", "Other", DeviceClass::AndroidPhone, "3c:5a:b4", 0, 7.0},
        {"kids-kindle-fire", "Amazon Technologies", "Other", DeviceClass::FireTablet, "74:c2:46", 0, 4.0},
        {"grandpa-xperia", "Murata", "Other", DeviceClass::AndroidPhone, "40:f3:08", 0, 3.0},
        // ---- IoT (device_type = model) ----
        {"living-room-cam", "Beijing LT Honway", "Wyze Cam v2", DeviceClass::WyzeCam, "60:c5:a8", 0, 14.0},
        {"garage-cam", "AzureWave", "Wyze Cam v2", DeviceClass::WyzeCam, "dc:f5:05", 0, 10.0},
        {"front-door-cam", "Google", "Nest Cam", DeviceClass::NestCam, "f4:f5:e8", 0, 12.0},
        {"kitchen-echo", "Amazon Technologies", "Amazon Echo Dot", DeviceClass::EchoDot, "fc:a6:67", 0, 16.0},
        {"bedroom-google-home", "Google", "Google Home Mini", DeviceClass::GoogleHome, "d4:f5:47", 0, 12.0},
        {"coffee-maker-plug", "Topwell International", "TP-Link HS110", DeviceClass::SmartPlug, "d0:6f:4a", 0, 6.0},
        {"desk-lamp-plug", "Topwell International", "TP-Link HS110", DeviceClass::SmartPlug, "fc:6b:f0", 0, 5.0},
        {"sensor-hub-pi", "Raspberry Pi Foundation", "Raspberry Pi 3B", DeviceClass::PiHub, "b8:27:eb", 30, 9.0},
        {"hue-bridge", "Realtek", "Philips Hue Bridge", DeviceClass::HueBridge, "00:e0:4c", 0, 8.0},
        {"living-room-tv", "Samsung Electro-Mechanics", "Samsung Smart TV", DeviceClass::SmartTv, "8c:b8:4a", 0, 8.0},
        // ---- unlabelled (device_type NULL) ----
        {"ESP_3A1F2B", "Espressif", nullptr, DeviceClass::EspGadget, "24:6f:28", 0, 35.0},
        {"android-8c1f5e2d7a90b3c4", "Motorola Mobility", nullptr, DeviceClass::AndroidPhone, "60:1d:91", 0, 45.0},
        {nullptr, "Apple", nullptr, DeviceClass::MacLaptop, "f8:38:80", 0, 20.0},
    };
    return specs;
}

namespace {

using Names = std::vector<const char*>;

const std::array<Names, static_cast<std::size_t>(NamePool::Count)>& all_pools() {
    static const std::array<Names, static_cast<std::size_t>(NamePool::Count)> pools = [] {
        std::array<Names, static_cast<std::size_t>(NamePool::Count)> p;
        auto set = [&p](NamePool pool, Names names) { p[static_cast<std::size_t>(pool)] = std::move(names); };

        set(NamePool::AppleOs,
            {"gateway.icloud.com", "time.apple.com", "gsp-ssl.ls.apple.com", "init.itunes.apple.com",
             "api.smoot.apple.com", "captive.apple.com", "courier.push.apple.com", "init.push.apple.com",
             "p59-contacts.icloud.com", "configuration.apple.com", "mesu.apple.com", "gs-loc.apple.com",
             "xp.apple.com", "bag.itunes.apple.com", "weather-data.apple.com", "setup.icloud.com",
             "keyvalueservice.icloud.com", "play.itunes.apple.com", "mask.icloud.com", "gspe35-ssl.ls.apple.com"});
        set(NamePool::WindowsOs,
            {"www.msftconnecttest.com", "settings-win.data.microsoft.com", "v10.events.data.microsoft.com",
             "login.live.com", "time.windows.com", "ctldl.windowsupdate.com", "www.bing.com",
             "fe3.delivery.mp.microsoft.com", "arc.msn.com", "outlook.office365.com", "teams.microsoft.com",
             "officeclient.microsoft.com", "onedrive.live.com", "tile-service.weather.microsoft.com",
             "dns.msftncsi.com", "watson.telemetry.microsoft.com"});
        set(NamePool::AndroidOs,
            {"connectivitycheck.gstatic.com", "android.clients.google.com", "mtalk.google.com",
             "www.googleapis.com", "play.googleapis.com", "clients4.google.com", "android.googleapis.com",
             "firebaseinstallations.googleapis.com", "time.android.com", "app-measurement.com",
             "lh3.googleusercontent.com", "people-pa.googleapis.com"});
        set(NamePool::SamsungPhone,
            {"api.samsungapps.com", "dir-apis.samsungdm.com", "gos-api.gos-gsp.io", "samsung-gamelauncher.s3.amazonaws.com",
             "connectivitycheck.gstatic.com", "android.clients.google.com", "mtalk.google.com", "www.googleapis.com"});
        set(NamePool::LinuxOs,
            {"connectivity-check.ubuntu.com", "archive.ubuntu.com", "security.ubuntu.com", "ntp.ubuntu.com",
             "api.snapcraft.io", "github.com", "api.github.com", "pypi.org", "files.pythonhosted.org",
             "motd.ubuntu.com", "changelogs.ubuntu.com", "registry.npmjs.org", "stackoverflow.com"});
        set(NamePool::FireOs,
            {"device-metrics-us.amazon.com", "api.amazon.com", "softwareupdates.amazon.com", "kindle-time.amazon.com",
             "atv-ext.amazon.com", "fls-na.amazon.com", "msh.amazon.com", "api.amazonvideo.com",
             "avs-alexa-na.amazon.com"});
        set(NamePool::Web,
            {"www.google.com", "www.youtube.com", "i.ytimg.com", "www.facebook.com", "graph.facebook.com",
             "static.xx.fbcdn.net", "www.instagram.com", "scontent.cdninstagram.com", "www.netflix.com",
             "www.amazon.com", "m.media-amazon.com", "www.reddit.com", "www.redditstatic.com", "i.redd.it",
             "fonts.googleapis.com", "fonts.gstatic.com", "www.googletagmanager.com", "www.google-analytics.com",
             "stats.g.doubleclick.net", "googleads.g.doubleclick.net", "pagead2.googlesyndication.com",
             "accounts.google.com", "mail.google.com", "ssl.gstatic.com", "www.gstatic.com", "twitter.com",
             "api.twitter.com", "pbs.twimg.com", "abs.twimg.com", "en.wikipedia.org", "upload.wikimedia.org",
             "open.spotify.com", "spclient.wg.spotify.com", "audio-fa.scdn.co", "i.scdn.co", "apresolve.spotify.com",
             "yt3.ggpht.com", "i.instagram.com", "scontent-iad3-1.xx.fbcdn.net", "connect.facebook.net",
             "api-global.netflix.com", "occ-0-1168-299.1.nflxso.net", "images-na.ssl-images-amazon.com",
             "www.linkedin.com", "static.licdn.com", "media.licdn.com", "outlook.live.com", "docs.google.com",
             "drive.google.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "ajax.googleapis.com", "code.jquery.com",
             "web.whatsapp.com", "mmg.whatsapp.net", "g.whatsapp.net", "zoom.us", "us04web.zoom.us", "slack.com",
             "edgeapi.slack.com", "wss-primary.slack.com", "a.slack-edge.com", "www.dropbox.com",
             "client.dropbox.com", "avatars.githubusercontent.com", "raw.githubusercontent.com", "cdn.sstatic.net",
             "www.nytimes.com", "www.cnn.com", "www.espn.com", "weather.com", "www.ebay.com", "www.paypal.com",
             "www.pinterest.com", "i.pinimg.com", "www.tiktok.com", "www.hulu.com", "www.disneyplus.com",
             "www.imdb.com", "www.yahoo.com", "s.yimg.com", "news.ycombinator.com", "duckduckgo.com",
             "www.walmart.com", "maps.googleapis.com", "maps.gstatic.com", "www.office.com", "www.primevideo.com",
             "play.google.com", "www.msn.com", "assets.msn.com", "t.co", "bit.ly", "video.twimg.com", "v.redd.it",
             "preview.redd.it", "platform.twitter.com", "d1v9u1mwsq0qmj.cloudfront.net"});
        set(NamePool::Echo,
            {"device-metrics-us.amazon.com", "avs-alexa-na.amazon.com", "api.amazonalexa.com", "dcape-na.amazon.com",
             "unagi-na.amazon.com", "softwareupdates.amazon.com", "ntp-g7g.amazon.com", "latinum.amazon.com",
             "arcus-uswest.amazon.com", "todo-ta-g7g.amazon.com", "det-ta-g7g.amazon.com", "pindorama.amazon.com",
             "spectrum.s3.amazonaws.com", "prod.amcs-tachyon.com", "fireoscaptiveportal.com"});
        set(NamePool::GoogleHome,
            {"clients3.google.com", "www.googleapis.com", "connectivitycheck.gstatic.com", "time.google.com",
             "mtalk.google.com", "googlehomefoyer-pa.googleapis.com", "tools.google.com", "clients1.google.com",
             "dl.google.com", "android.clients.google.com", "www.gstatic.com", "cast.google.com"});
        set(NamePool::NestCam,
            {"nexusapi-us1.dropcam.com", "oculus519-vir.dropcam.com", "frontdoor.nest.com", "home.nest.com",
             "time.google.com", "log-rts01-iad01.devices.nest.com", "transport01-rts04-iad01.transport.home.nest.com",
             "czfe82-front01-iad01.transport.home.nest.com"});
        set(NamePool::Wyze,
            {"api.wyzecam.com", "m1.iotcplatform.com", "m2.iotcplatform.com", "wyze-general-api.wyzecam.com",
             "wyze-platform-service.wyzecam.com", "m4.iotcplatform.com", "m5.iotcplatform.com",
             "wyze-device-alarm-file.s3.us-west-2.amazonaws.com", "wyze-upgrade-service.wyzecam.com",
             "d1fk93tz4plczb.cloudfront.net"});
        set(NamePool::TpLink,
            {"n-devs.tplinkcloud.com", "devs.tplinkcloud.com", "n-deventry.tplinkcloud.com",
             "deventry.tplinkcloud.com", "use1-api.tplinkra.com", "download.tplinkcloud.com"});
        set(NamePool::RaspberryPi,
            {"io.adafruit.com", "raspbian.raspberrypi.org", "archive.raspberrypi.org", "2.debian.pool.ntp.org",
             "api.thingspeak.com", "api.openweathermap.org", "0.debian.pool.ntp.org", "downloads.raspberrypi.org",
             "pypi.org", "files.pythonhosted.org", "github.com"});
        set(NamePool::Hue,
            {"ws.meethue.com", "diagnostics.meethue.com", "bridge.meethue.com", "firmware.meethue.com",
             "www2.meethue.com", "time.meethue.com"});
        set(NamePool::SamsungTv,
            {"log-config.samsungacc.com", "time.samsungcloudsolution.com", "osb.samsungqbe.com",
             "samsungcloudsolution.com", "api.samsungyosemite.com", "samsungotn.net", "www.netflix.com",
             "www.youtube.com", "i.ytimg.com", "api-global.netflix.com", "occ-0-1168-299.1.nflxso.net"});
        set(NamePool::Gateway,
            {"acs.xfinity.com", "time.nist.gov", "xfinity.com", "pool.ntp.org"});
        set(NamePool::Ubiquiti,
            {"fw-update.ubnt.com", "trace.svc.ui.com", "ping.ui.com", "config.ubnt.com"});
        set(NamePool::HpPrinter,
            {"xmpp01.hpeprint.com", "chat.hpeprint.com", "h10141.www1.hp.com", "www.hpeprint.com",
             "hpconnected.com"});
        set(NamePool::IotCommon,
            {"pool.ntp.org", "time.google.com", "s3.amazonaws.com", "0.pool.ntp.org",
             "d3p8zr0ffa9t17.cloudfront.net", "time.nist.gov", "1.pool.ntp.org"});
        set(NamePool::Espressif,
            {"mqtt.eclipseprojects.io", "pool.ntp.org", "iot.espressif.cn", "ota.tuya.com"});
        set(NamePool::MdnsApple,
            {"_companion-link._tcp.local", "_airplay._tcp.local", "_raop._tcp.local", "_homekit._tcp.local",
             "_sleep-proxy._udp.local", "_services._dns-sd._udp.local", "_apple-mobdev2._tcp.local",
             "_googlecast._tcp.local", "_spotify-connect._tcp.local", "_hap._tcp.local", "_ipp._tcp.local"});
        set(NamePool::MdnsAndroid,
            {"_googlecast._tcp.local", "_spotify-connect._tcp.local", "_services._dns-sd._udp.local",
             "_adb-tls-connect._tcp.local"});
        set(NamePool::MdnsGoogleHome,
            {"_googlecast._tcp.local", "_googlezone._tcp.local", "_spotify-connect._tcp.local",
             "_services._dns-sd._udp.local"});
        set(NamePool::MdnsEcho,
            {"_amzn-wplay._tcp.local", "_amzn-alexa._tcp.local", "_spotify-connect._tcp.local"});
        set(NamePool::MdnsHue,
            {"_hue._tcp.local", "_hap._tcp.local", "_services._dns-sd._udp.local"});
        set(NamePool::MdnsPrinter,
            {"_ipp._tcp.local", "_printer._tcp.local", "_pdl-datastream._tcp.local", "_ipps._tcp.local",
             "_uscan._tcp.local", "_http._tcp.local"});
        set(NamePool::MdnsTv,
            {"_airplay._tcp.local", "_spotify-connect._tcp.local", "_googlecast._tcp.local",
             "_services._dns-sd._udp.local"});
        set(NamePool::MdnsLinux,
            {"_workstation._tcp.local", "_ssh._tcp.local", "_services._dns-sd._udp.local", "_ipp._tcp.local"});
        set(NamePool::Llmnr, {"wpad", "isatap", "family-desktop", "bob-thinkpad"});
        return p;
    }();
    return pools;
}

}  // namespace

const std::vector<const char*>& pool_names(NamePool pool) {
    return all_pools()[static_cast<std::size_t>(pool)];
}

const std::vector<Prefix16>& provider_prefixes(Provider provider) {
    static const std::array<std::vector<Prefix16>, static_cast<std::size_t>(Provider::Count)> table = {{
        /* Google     */ {{142, 250}, {172, 217}, {216, 58}, {172, 253}, {74, 125}},
        /* Aws        */ {{52, 94}, {54, 239}, {3, 208}, {18, 205}, {52, 46}, {34, 192}},
        /* Apple      */ {{17, 253}, {17, 248}, {17, 57}, {17, 133}},
        /* Microsoft  */ {{13, 107}, {20, 190}, {40, 126}, {52, 113}},
        /* Akamai     */ {{23, 32}, {23, 215}, {184, 24}, {104, 86}},
        /* Cloudflare */ {{104, 16}, {172, 64}, {104, 18}},
        /* Fastly     */ {{151, 101}, {199, 232}},
        /* Facebook   */ {{157, 240}, {31, 13}},
        /* Netflix    */ {{45, 57}, {198, 38}, {198, 45}},
        /* NtpPool    */ {{129, 6}, {132, 163}, {162, 159}, {216, 239}, {45, 79}},
        /* PublicDns  */ {{8, 8}, {1, 1}, {75, 75}},
        /* Misc       */ {{64, 233}, {66, 102}, {69, 147}, {98, 137}, {107, 21}, {162, 125}, {185, 199}, {208, 80}},
    }};
    return table[static_cast<std::size_t>(provider)];
}

}  // namespace ncgen
