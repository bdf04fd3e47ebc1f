// dns_tokens: a session's DNS names broken into tokens that carry to names
// never seen — the registered domain and the mDNS service pattern — in a new
// multi_categorical column beside the exact names, so that a model can learn
// "talks to amazonaws.com" or "announces _googlecast._tcp.local" rather than
// one product's host names (a multi_hot stage downstream encodes it).
//
// Each name of `column` (lower-cased, a trailing dot dropped) gives:
//   an mDNS / DNS-SD service name (a label "_tcp" or "_udp"): the name from
//     its first label starting with "_" on, the instance name dropped
//     ("Living Room._googlecast._tcp.local" -> "_googlecast._tcp.local");
//   an IP literal (dotted IPv4, or IPv6 with ':'): "<ipv4>" / "<ipv6>";
//   any other name: its registered domain (eTLD+1) by the system's Public
//     Suffix List (libpsl; `suffixes` = "icann": the ICANN section only, so
//     "a1.b.amazonaws.com" -> "amazonaws.com"; "all": private suffixes too,
//     so "x.s3.amazonaws.com" -> "x.s3.amazonaws.com"); a name that is
//     itself a public suffix gives no domain;
//   with `suffix` = true, also its public suffix as ".co.uk", ".local".
// A row's tokens are unique and sorted; a NULL or empty row gives an empty
// row (never NULL). Nothing is fitted: training rows and new data are
// tokenised alike and workers need nothing from each other.
#pragma once

#include <pipectl/plugin.hpp>

#include <string>
#include <vector>

namespace pipectl::plugins {

/// dns_tokens' parameters (bound in dns_tokens_spec).
struct DnsTokensOptions {
  std::string column;    ///< multi_categorical input (DNS names)
  std::string output;    ///< the new multi_categorical column
  std::string suffixes;  ///< "icann" or "all"
  bool suffix = false;   ///< also emit the public suffix (".com")
};

PluginSpec dns_tokens_spec();

/// The tokens of one DNS name (see the file comment), in the order found.
/// icann_only: ICANN suffixes only. Throws Error when no Public Suffix List
/// can be loaded.
std::vector<std::string> dns_tokens_of(const std::string& name, bool icann_only, bool with_suffix);

class DnsTokens : public Stage {
 public:
  using Options = DnsTokensOptions;
  explicit DnsTokens(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  Options o_;
};

}  // namespace pipectl::plugins
