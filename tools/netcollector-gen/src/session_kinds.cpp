#include "session_kinds.h"

namespace ncgen {

int ephemeral_port(Rng& rng, PortRange range) {
    switch (range) {
        case PortRange::Linux: return static_cast<int>(rng.range(32768, 60999));
        case PortRange::Windows: return static_cast<int>(rng.range(49152, 65535));
        case PortRange::Lwip: return static_cast<int>(rng.range(49152, 49407));
    }
    return 0;
}

std::vector<Kind> make_kinds() {
    using P = Provider;
    const std::initializer_list<std::pair<Provider, double>> web = {
        {P::Google, 4}, {P::Akamai, 2}, {P::Cloudflare, 2}, {P::Aws, 3}, {P::Fastly, 1}};
    std::vector<Kind> k;

    // ---- names and LAN chatter ----
    k.push_back(Kind("dns").udp().to({{53, 1}}).via(Peer::DnsServer)
                    .packets({{1, .42}, {2, .33}, {3, .15}, {4, .10}}).sizes(86, .12, 62, 160)
                    .instant(.015, 1.0).asking(Asks::Dns));
    k.push_back(Kind("dns_relay").udp().from({{53, 1}}).via(Peer::LanAny)
                    .packets({{1, .6}, {2, .3}, {3, .1}}).sizes(160, .4, 70, 512)
                    .instant(.01, 1.0).asking(Asks::Relay));
    k.push_back(Kind("mdns").udp().from({{5353, 1}}).to({{5353, 1}}).via(Peer::MdnsGroup)
                    .packets({{1, .55}, {2, .25}, {3, .12}, {4, .08}}).sizes(170, .55, 70, 1400)
                    .instant(1.0, .8).asking(Asks::Mdns));
    k.push_back(Kind("llmnr").udp().to({{5355, 1}}).via(Peer::LlmnrGroup)
                    .packets({{1, .5}, {2, .5}}).sizes(76, .08, 64, 120).instant(.1, .5).asking(Asks::Llmnr));
    k.push_back(Kind("netbios").udp().from({{137, 1}}).to({{137, 1}}).via(Peer::Broadcast)
                    .packets({{1, .4}, {2, .2}, {3, .4}}).sizes({{92, 1}}).instant(.75, .3));
    k.push_back(Kind("ssdp").udp().to({{1900, 1}}).via(Peer::SsdpGroup)
                    .packets({{1, .3}, {2, .2}, {3, .3}, {4, .2}}).sizes(200, .2, 160, 460).instant(1.2, .6));
    k.push_back(Kind("ssdp_notify").udp().from({{1900, 1}}).to({{1900, 1}}).via(Peer::SsdpGroup)
                    .packets({{1, .2}, {2, .2}, {3, .3}, {6, .3}}).sizes(330, .15, 250, 520).instant(.05, 1.0));
    k.push_back(Kind("wsd").udp().to({{3702, 1}}).via(Peer::SsdpGroup)
                    .packets({{1, .5}, {2, .3}, {4, .2}}).sizes(650, .15, 300, 1400).instant(.5, 1.0));
    k.push_back(Kind("dhcp").udp().from({{68, 1}}).to({{67, 1}}).via(Peer::Broadcast)
                    .packets({{1, .5}, {2, .5}}).sizes({{342, 1}}).instant(.01, 1.0));
    k.push_back(Kind("dhcp_serve").udp().from({{67, 1}}).to({{68, 1}}).via(Peer::LanAny)
                    .packets({{1, .5}, {2, .5}}).sizes({{342, 1}}).instant(.01, 1.0));
    k.push_back(Kind("ntp").udp().from({{123, 1}}).to({{123, 1}}).internet({{P::NtpPool, 1}})
                    .packets({{1, .7}, {2, .2}, {3, .1}}).sizes({{90, 1}}).idle(8, 1.0));
    k.push_back(Kind("icmp").icmp().internet({{P::PublicDns, 1}})
                    .packets({{1, .3}, {2, .1}, {3, .1}, {4, .5}}).sizes({{98, 1}}).ping());
    k.push_back(Kind("icmp_win").icmp().internet({{P::PublicDns, 1}})
                    .packets({{1, .2}, {2, .1}, {4, .7}}).sizes({{74, 1}}).ping());

    // ---- generic client traffic (everyone) ----
    k.push_back(Kind("tcp_tail").tcp().to({{443, .85}, {80, .15}}).internet(web)
                    .packets({{1, .35}, {2, .4}, {3, .25}}).sizes({{60, .6}, {66, .4}}).idle(15, .9));
    k.push_back(Kind("https").tcp().to({{443, .88}, {80, .12}}).internet(web)
                    .packets(10, .6, 3, 20000).sizes(280, .5).idle(23, .6));
    k.push_back(Kind("quic").udp().to({{443, 1}}).internet({{P::Google, 1}})
                    .packets(11, .7, 2, 20000).sizes(210, .55, 60, 1400).idle(18, .7));
    k.push_back(Kind("https_api").tcp().to({{443, 1}}).internet({{P::Aws, 3}, {P::Google, 2}, {P::Akamai, 1}})
                    .packets(8, .5, 3, 2000).sizes(210, .35).idle(30, .45));
    k.push_back(Kind("https_dl").tcp().to({{443, 1}})
                    .internet({{P::Netflix, 2}, {P::Akamai, 2}, {P::Google, 2}, {P::Aws, 1}})
                    .packets(250, 1.1, 20, 150000).sizes(72, .12, 60, 200).idle(70, .9));
    k.push_back(Kind("upload").tcp().to({{443, 1}})
                    .internet({{P::Apple, 1}, {P::Google, 1}, {P::Aws, 1}, {P::Microsoft, 1}})
                    .packets(300, 1.2, 20, 60000).sizes(1250, .12, 600, 1514).rate(100, .8));
    k.push_back(Kind("call").udp().to({{3478, .3}, {3479, .1}, {8801, .3}, {19302, .3}})
                    .internet({{P::Misc, 1}, {P::Google, 1}})
                    .packets(2500, 1.0, 50, 60000).sizes(500, .5, 100, 1200).rate(40, .3));
    k.push_back(Kind("apns").tcp().to({{5223, 1}}).internet({{P::Apple, 1}})
                    .packets(7, .6, 2, 200).sizes(110, .4).idle(28, .6));
    k.push_back(Kind("mtalk").tcp().to({{5228, 1}}).internet({{P::Google, 1}})
                    .packets(7, .6, 2, 200).sizes(110, .4).idle(28, .6));
    k.push_back(Kind("mail").tcp().to({{993, 1}}).internet({{P::Google, 1}, {P::Microsoft, 1}})
                    .packets(12, .8, 3, 2000).sizes(160, .5).idle(25, .7));
    k.push_back(Kind("ssh_out").tcp().to({{22, 1}}).internet({{P::Misc, 1}, {P::Aws, 1}})
                    .packets(80, 1.3, 4, 100000).sizes(110, .4).idle(200, 1.2));
    k.push_back(Kind("mqtt").tcp().to({{8883, .8}, {1883, .2}}).internet({{P::Aws, 1}})
                    .packets(6, .6, 2, 400).sizes(95, .35).idle(28, .5));

    // ---- clients of LAN services ----
    k.push_back(Kind("smb_client").tcp().to({{445, 1}}).lan(DeviceClass::WindowsDesktop)
                    .packets(30, 1.2, 3, 50000).sizes(200, .8).idle(30, .9));
    k.push_back(Kind("rtsp_client").tcp().to({{554, 1}}).lan(DeviceClass::WyzeCam)
                    .packets(400, 1.0, 10, 100000).sizes(72, .15, 60, 200).idle(300, 1.0));
    k.push_back(Kind("ssh_client").tcp().to({{22, 1}}).lan(DeviceClass::PiHub)
                    .packets(60, 1.2, 4, 100000).sizes(100, .4).idle(200, 1.1));
    k.push_back(Kind("ipp_client").tcp().to({{631, .7}, {9100, .3}}).lan(DeviceClass::Printer)
                    .packets(60, 1.2, 4, 20000).sizes(900, .4).idle(8, .9));
    k.push_back(Kind("hue_client").tcp().to({{443, .6}, {80, .4}}).lan(DeviceClass::HueBridge)
                    .packets(6, .5, 2, 200).sizes(220, .5).idle(5, 1.0));
    k.push_back(Kind("kasa_client").tcp().to({{9999, 1}}).lan(DeviceClass::SmartPlug)
                    .packets(4, .4, 1, 40).sizes(140, .5).instant(.05, 1.0));
    k.push_back(Kind("cast_client").tcp().to({{8009, 1}}).lan(DeviceClass::GoogleHome)
                    .packets(10, .7, 2, 2000).sizes(170, .5).idle(20, .6));

    // ---- IoT ----
    k.push_back(Kind("cam_heartbeat").udp().to({{10001, .6}, {32100, .4}}).internet({{P::Aws, 1}})
                    .packets({{1, .4}, {2, .3}, {3, .2}, {4, .1}}).sizes(110, .4, 60, 400).idle(16, .5));
    // Live view: minutes of video. Recording: continuous upload the collector cuts at its active timeout.
    k.push_back(Kind("wyze_stream").udp().to({{10001, 1}}).internet({{P::Aws, 1}})
                    .packets(10000, 1.2, 300, 400000).sizes(1150, .08, 900, 1514).rate(190, .2, 260));
    k.push_back(Kind("nest_stream").tcp().to({{443, 1}}).internet({{P::Google, 1}})
                    .packets(10000, 1.2, 300, 400000).sizes(1150, .08, 900, 1514).rate(190, .2, 260));
    k.push_back(Kind("wyze_recording").udp().to({{10001, 1}}).internet({{P::Aws, 1}})
                    .packets(1e7, 0, 1e7, 1e7).sizes(1180, .05, 900, 1514).rate(230, .06, 260));
    k.push_back(Kind("nest_recording").tcp().to({{443, 1}}).internet({{P::Google, 1}})
                    .packets(1e7, 0, 1e7, 1e7).sizes(1180, .05, 900, 1514).rate(230, .06, 260));
    k.push_back(Kind("cam_event").tcp().to({{443, 1}}).internet({{P::Aws, 1}})
                    .packets(700, .8, 50, 20000).sizes(1300, .08, 900, 1514).rate(180, .4));
    k.push_back(Kind("rtsp_serve").tcp().from({{554, 1}}).via(Peer::LanClient)
                    .packets(3000, 1.2, 20, 400000).sizes(1250, .1).rate(90, .4));
    k.push_back(Kind("nest_keepalive").tcp().to({{443, 1}}).internet({{P::Google, 1}})
                    .packets(7, .5, 2, 100).sizes(130, .4).idle(25, .45));
    k.push_back(Kind("avs").tcp().to({{443, 1}}).internet({{P::Aws, 1}})
                    .packets(8, .55, 2, 400).sizes(120, .4).idle(26, .5));
    k.push_back(Kind("avs_voice").tcp().to({{443, 1}}).internet({{P::Aws, 1}})
                    .packets(90, .6, 10, 2000).sizes(650, .35, 200, 1514).idle(5, .6));
    k.push_back(Kind("cast_serve").tcp().from({{8009, 1}}).via(Peer::LanClient)
                    .packets(12, .7, 2, 2000).sizes(180, .5).idle(20, .6));
    k.push_back(Kind("cast_http").tcp().from({{8008, 1}}).via(Peer::LanClient)
                    .packets(6, .4, 2, 50).sizes(300, .4).instant(.05, 1.0));
    k.push_back(Kind("kasa_serve").tcp().from({{9999, 1}}).via(Peer::LanClient)
                    .packets(4, .4, 1, 20).sizes(150, .6).instant(.04, 1.0));
    k.push_back(Kind("kasa_discovery").udp().from({{9999, 1}}).via(Peer::LanClient)
                    .packets({{1, 1}}).sizes(600, .2, 300, 900).instant(.01, 1.0));
    k.push_back(Kind("kasa_cloud").tcp().to({{50443, .7}, {443, .3}}).internet({{P::Aws, 1}})
                    .packets(6, .5, 2, 100).sizes(130, .35).idle(30, .4));
    k.push_back(Kind("hue_serve").tcp().from({{443, .6}, {80, .4}}).via(Peer::LanClient)
                    .packets(7, .6, 2, 500).sizes(350, .6).idle(6, .9));
    k.push_back(Kind("hue_cloud").tcp().to({{443, 1}}).internet({{P::Misc, 1}})
                    .packets(6, .5, 2, 200).sizes(140, .4).idle(30, .5));
    k.push_back(Kind("pi_mqtt").tcp().to({{8883, .6}, {1883, .4}}).internet({{P::Aws, 1}})
                    .packets(6, .6, 2, 300).sizes(120, .4).idle(22, .6));
    k.push_back(Kind("ssh_serve").tcp().from({{22, 1}}).via(Peer::LanClient)
                    .packets(40, 1.3, 3, 100000).sizes(130, .5).idle(150, 1.1));
    k.push_back(Kind("pi_api").tcp().to({{443, 1}}).internet({{P::Aws, 1}, {P::Cloudflare, 1}})
                    .packets(8, .5, 3, 200).sizes(200, .4).idle(2, 1.0));
    k.push_back(Kind("apt").tcp().to({{80, 1}}).internet({{P::Fastly, 1}, {P::Misc, 1}})
                    .packets(120, 1.0, 5, 20000).sizes(66, .05, 60, 90).idle(15, 1.0));
    k.push_back(Kind("tv_api").tcp().from({{8001, .5}, {8002, .5}}).via(Peer::LanClient)
                    .packets(6, .5, 2, 200).sizes(250, .5).idle(10, .8));
    k.push_back(Kind("tv_upnp").tcp().from({{7676, .5}, {9197, .5}}).via(Peer::LanClient)
                    .packets(5, .5, 2, 100).sizes(420, .4).instant(.08, 1.0));
    k.push_back(Kind("tv_stream").tcp().to({{443, 1}}).internet({{P::Netflix, 3}, {P::Google, 2}, {P::Akamai, 1}})
                    .packets(1500, 1.0, 50, 200000).sizes(68, .06, 60, 120).idle(300, .8));
    k.push_back(Kind("esp_mqtt").tcp().to({{1883, .7}, {8883, .3}}).internet({{P::Misc, 1}})
                    .packets(4, .5, 2, 100).sizes(90, .3).idle(30, .5));

    // ---- infrastructure ----
    k.push_back(Kind("tr069").tcp().to({{7547, .5}, {443, .5}}).internet({{P::Misc, 1}})
                    .packets(14, .6, 4, 400).sizes(400, .5).idle(4, .8));
    k.push_back(Kind("unifi_inform").tcp().to({{8080, 1}}).internet({{P::Misc, 1}})
                    .packets(8, .4, 3, 100).sizes(400, .5).instant(.2, .7));
    k.push_back(Kind("unifi_discovery").udp().from({{10001, 1}}).to({{10001, 1}}).via(Peer::Broadcast)
                    .packets({{1, 1}}).sizes(200, .2, 120, 400).instant(.01, 1.0));
    k.push_back(Kind("ipp_serve").tcp().from({{631, .75}, {9100, .25}}).via(Peer::LanClient)
                    .packets(60, 1.0, 2, 50000).sizes(70, .15, 60, 300).idle(8, .9));
    k.push_back(Kind("snmp_serve").udp().from({{161, 1}}).via(Peer::LanClient)
                    .packets({{1, .6}, {2, .25}, {3, .15}}).sizes(180, .4, 80, 600).instant(.02, 1.0));
    k.push_back(Kind("hp_cloud").tcp().to({{5222, .6}, {443, .4}}).internet({{P::Misc, 1}})
                    .packets(6, .5, 2, 200).sizes(160, .4).idle(30, .6));
    return k;
}

}  // namespace ncgen
