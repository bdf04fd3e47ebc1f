#include "dns_tokens.hpp"

namespace pipectl::plugins {

PluginSpec dns_tokens_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = false;  // a fixed mapping (the system's Public Suffix List)
  s.distributed = PluginSpec::Distributed::PerShard;
  s.param("column", &DnsTokensOptions::column, "multi_categorical column of DNS names (kept as it is)").def("dns");
  s.param("output", &DnsTokensOptions::output, "new multi_categorical column of the names' tokens")
      .def("dns_domain");
  s.param("suffixes", &DnsTokensOptions::suffixes,
          "icann: registered domains by the Public Suffix List's ICANN section (a1.b.amazonaws.com -> "
          "amazonaws.com); all: its private section too")
      .def("icann")
      .one_of({"icann", "all"});
  s.param("suffix", &DnsTokensOptions::suffix, "also give each name's public suffix, as \".com\"").def(false);
  s.schema_doc =
      "needs `column` (multi_categorical); gives its input plus `output` (multi_categorical, a feature, never NULL: "
      "registered domains, mDNS service patterns, <ipv4>/<ipv6>)";
  s.schema = [](SchemaContext& c) {
    const auto& p = c.params();
    const auto column = p.str("column");
    const auto output = p.str("output");
    if (column.empty()) c.error("column", "must not be empty");
    else c.need("column", column, {DType::MultiCategorical});
    Schema out = c.input();
    if (output.empty()) {
      c.error("output", "must not be empty");
    } else if (output == column) {
      c.error("output", "is the input column \"" + column + "\" (the tokens go beside the names)");
    } else {
      if (c.known() && out.has(output)) c.error("output", "column \"" + output + "\" exists already");
      ColumnSchema x;
      x.name = output;
      x.type = DType::MultiCategorical;
      x.nullable = false;
      x.role = ColumnRole::Feature;
      out.set(x);
    }
    return out;
  };
  return s;
}

}  // namespace pipectl::plugins
