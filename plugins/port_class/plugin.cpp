#include "port_class.hpp"

PIPECTL_PLUGIN(port_class, "transform", "1.0.0",
               "each port's class beside it (dns, http, https, ntp, rtsp, ssdp, mqtt, mdns, well-known, registered, "
               "ephemeral)",
               pipectl::plugins::port_class_spec, pipectl::plugins::PortClass)
