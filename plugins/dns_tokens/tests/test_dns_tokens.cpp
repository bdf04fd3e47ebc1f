#include "dns_tokens.hpp"

#include <pipectl/testing.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace pipectl;
using pipectl::plugins::dns_tokens_of;
using pipectl::plugins::dns_tokens_spec;
using pipectl::plugins::DnsTokens;
using pipectl::testing::options_with_defaults;
using pipectl::testing::params_with_defaults;
using pipectl::testing::schema_of;
using pipectl::testing::schema_with;
using pipectl::testing::TestContext;

namespace {

using Names = std::vector<std::string>;
using Row = std::optional<Names>;  // nullopt = NULL

Names icann(const std::string& name) { return dns_tokens_of(name, true, false); }

/// Row i of a multi_categorical column, as names.
Names row(const Column& c, std::size_t i) {
  Names out;
  for (auto k = c.offsets[i]; k < c.offsets[i + 1]; ++k)
    out.push_back((*c.dictionary)[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])]);
  return out;
}

}  // namespace

TEST_CASE("dns_tokens: registered domains by the Public Suffix List's ICANN section") {
  CHECK(icann("a1.b.amazonaws.com") == Names{"amazonaws.com"});
  CHECK(icann("foo.co.uk") == Names{"foo.co.uk"});
  CHECK(icann("x.y.foo.co.uk") == Names{"foo.co.uk"});
  CHECK(icann("WWW.Example.COM.") == Names{"example.com"});  // case and the root dot
  CHECK(icann("example.com") == Names{"example.com"});
  CHECK(icann("co.uk").empty());  // itself a public suffix: no registered domain
  CHECK(icann("com").empty());
  CHECK(icann("").empty());
  CHECK(icann(".").empty());
  // an unknown top-level name is a suffix (the PSL's implicit "*" rule)
  CHECK(icann("printer.lan") == Names{"printer.lan"});
}

TEST_CASE("dns_tokens: private suffixes only with suffixes = all") {
  CHECK(dns_tokens_of("mybucket.s3.amazonaws.com", true, false) == Names{"amazonaws.com"});
  CHECK(dns_tokens_of("mybucket.s3.amazonaws.com", false, false) == Names{"mybucket.s3.amazonaws.com"});
  CHECK(dns_tokens_of("foo.github.io", false, false) == Names{"foo.github.io"});
  CHECK(dns_tokens_of("foo.github.io", true, false) == Names{"github.io"});
}

TEST_CASE("dns_tokens: DNS-SD service patterns, the instance dropped") {
  CHECK(icann("_googlecast._tcp.local") == Names{"_googlecast._tcp.local"});
  CHECK(icann("Living Room._googlecast._tcp.local") == Names{"_googlecast._tcp.local"});
  CHECK(icann("_services._dns-sd._udp.local") == Names{"_services._dns-sd._udp.local"});
  CHECK(icann("_printer._sub._http._tcp.local") == Names{"_printer._sub._http._tcp.local"});
  CHECK(dns_tokens_of("_googlecast._tcp.local", true, true) == Names{"_googlecast._tcp.local", ".local"});
  // "_" labels without _tcp / _udp are not a service: the registered domain
  CHECK(icann("_dmarc.example.com") == Names{"example.com"});
}

TEST_CASE("dns_tokens: IP literals and the public suffix token") {
  CHECK(icann("192.168.1.10") == Names{"<ipv4>"});
  CHECK(icann("fe80::1") == Names{"<ipv6>"});
  CHECK(icann("1.2.3") != Names{"<ipv4>"});  // three parts: a name, not an address
  CHECK(icann("1.2.3.4.5") != Names{"<ipv4>"});
  CHECK(icann("1.2.3.1234") != Names{"<ipv4>"});
  CHECK(dns_tokens_of("192.168.1.10", true, true) == Names{"<ipv4>"});
  CHECK(dns_tokens_of("foo.co.uk", true, true) == Names{"foo.co.uk", ".co.uk"});
  CHECK(dns_tokens_of("co.uk", true, true) == Names{".co.uk"});
}

TEST_CASE("dns_tokens: a new column beside the names, unique and sorted per row, never NULL") {
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("sessionid", {0, 1, 2, 3, 4})),
      std::make_shared<const Column>(testing::multi_column(
          "dns", std::vector<Row>{Names{"a1.b.amazonaws.com", "foo.co.uk", "a2.amazonaws.com"},
                                  Names{"_googlecast._tcp.local", "10.0.0.1"}, Names{}, std::nullopt,
                                  Names{"com"}}))});
  TestContext ctx("dns_tokens");
  DnsTokens s(options_with_defaults<DnsTokens::Options>(dns_tokens_spec()));
  const Table out = s.run(ctx, {t});
  out.check();
  CHECK(out.at("dns").offsets == t->at("dns").offsets);  // the names stay
  const Column& d = out.at("dns_domain");
  CHECK(d.type == DType::MultiCategorical);
  CHECK(row(d, 0) == Names{"amazonaws.com", "foo.co.uk"});
  CHECK(row(d, 1) == Names{"<ipv4>", "_googlecast._tcp.local"});
  CHECK(row(d, 2).empty());
  CHECK(row(d, 3).empty());
  CHECK_FALSE(d.is_null(3));
  CHECK(row(d, 4).empty());
  CHECK(ctx.counters["rows.no_tokens"] == 3);
  CHECK(ctx.counters["null.dns"] == 1);

  TestContext ctx2("dns_tokens");
  DnsTokens w(options_with_defaults<DnsTokens::Options>(dns_tokens_spec(), {{"suffix", true}, {"output", "tok"}}));
  const Table out2 = w.run(ctx2, {t});
  CHECK(row(out2.at("tok"), 0) == Names{".co.uk", ".com", "amazonaws.com", "foo.co.uk"});
  CHECK(row(out2.at("tok"), 4) == Names{".com"});
}

TEST_CASE("dns_tokens: refuses a column that is not multi_categorical, and an output that exists") {
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(Column::make_i64("dns", {1})),
      std::make_shared<const Column>(Column::make_i64("dns_domain", {1}))});
  TestContext ctx("dns_tokens");
  DnsTokens s(options_with_defaults<DnsTokens::Options>(dns_tokens_spec()));
  CHECK_THROWS_WITH_AS(s.run(ctx, {t}), "dns_tokens: column \"dns\" must be multi_categorical, it is int64", DataError);
  DnsTokens x(options_with_defaults<DnsTokens::Options>(dns_tokens_spec(), {{"column", "names"}}));
  auto u = std::make_shared<const Table>(std::vector<ColumnPtr>{
      std::make_shared<const Column>(testing::multi_column("names", std::vector<Row>{Names{"a.com"}})),
      std::make_shared<const Column>(Column::make_i64("dns_domain", {1}))});
  CHECK_THROWS_WITH_AS(x.run(ctx, {u}), "dns_tokens: column \"dns_domain\" exists already (parameter \"output\")",
                       DataError);
  CHECK_THROWS_WITH(DnsTokens(options_with_defaults<DnsTokens::Options>(dns_tokens_spec(), {{"output", "dns"}})),
                    "dns_tokens: parameter \"output\" must name a new column, not \"dns\"");
}

TEST_CASE("dns_tokens: the schema rule declares the new column and reports at the parameter") {
  const auto spec = dns_tokens_spec();
  auto ok = schema_of(spec, params_with_defaults(spec), {schema_with({{"dns", DType::MultiCategorical}})});
  CHECK(ok.ok());
  const auto* c = ok.schema.find("dns_domain");
  REQUIRE(c != nullptr);
  CHECK(c->type == DType::MultiCategorical);
  CHECK(c->role == ColumnRole::Feature);
  CHECK_FALSE(c->nullable);
  CHECK(ok.schema.has("dns"));

  auto missing = schema_of(spec, params_with_defaults(spec), {schema_with({{"names", DType::MultiCategorical}})});
  REQUIRE(missing.issues.size() == 1);
  CHECK(missing.issues[0] == "column: names column \"dns\", which its inputs do not provide (closest: names)");
  auto wrong = schema_of(spec, params_with_defaults(spec), {schema_with({{"dns", DType::Categorical}})});
  REQUIRE(wrong.issues.size() == 1);
  CHECK(wrong.issues[0] == "column: names column \"dns\" of type categorical; it takes multi_categorical columns");
  auto same = schema_of(spec, params_with_defaults(spec, {{"output", "dns"}}),
                        {schema_with({{"dns", DType::MultiCategorical}})});
  REQUIRE(same.issues.size() == 1);
  CHECK(same.issues[0] == "output: is the input column \"dns\" (the tokens go beside the names)");
  auto exists = schema_of(spec, params_with_defaults(spec),
                          {schema_with({{"dns", DType::MultiCategorical}, {"dns_domain", DType::Int64}})});
  REQUIRE(exists.issues.size() == 1);
  CHECK(exists.issues[0] == "output: column \"dns_domain\" exists already");
  auto bad = schema_of(spec, params_with_defaults(spec, {{"suffixes", "some"}}),
                       {schema_with({{"dns", DType::MultiCategorical}})});
  CHECK(bad.ok());  // one_of is checked by the host's validation, before the rule
}
