#include "dns_tokens.hpp"

PIPECTL_PLUGIN(dns_tokens, "transform", "1.0.0",
               "a new column of each session's DNS names as registered domains (Public Suffix List) and mDNS "
               "service patterns",
               pipectl::plugins::dns_tokens_spec, pipectl::plugins::DnsTokens)
