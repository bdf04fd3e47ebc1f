#include "dns_tokens.hpp"

#include <pipectl/error.hpp>

#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

namespace pipectl::plugins {

namespace {

/// The system's Public Suffix List (the newest of the distribution's file and
/// libpsl's built-in copy), loaded once.
const psl_ctx_t* psl() {
  static const std::unique_ptr<psl_ctx_t, void (*)(psl_ctx_t*)> ctx(
      [] {
        psl_ctx_t* p = psl_latest(nullptr);
        return p ? p : const_cast<psl_ctx_t*>(psl_builtin());
      }(),
      [](psl_ctx_t* p) {
        if (p != psl_builtin()) psl_free(p);
      });
  if (!ctx) {
    const char* f = psl_dist_filename();
    throw Error(std::string("dns_tokens: no Public Suffix List could be loaded (libpsl; install the publicsuffix "
                            "package") +
                (f && *f ? std::string(", ") + f : std::string()) + ")");
  }
  return ctx.get();
}

bool is_ipv4(const std::string& s) {
  int dots = 0, digits = 0;
  for (char ch : s) {
    if (ch == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (std::isdigit(static_cast<unsigned char>(ch))) {
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

bool is_ipv6(const std::string& s) {
  if (s.find(':') == std::string::npos) return false;
  for (char ch : s)
    if (!(std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.')) return false;
  return true;
}

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (;;) {
    const auto e = s.find('.', b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) return out;
    b = e + 1;
  }
}

std::string join_from(const std::vector<std::string>& labels, std::size_t i) {
  std::string out;
  for (std::size_t k = i; k < labels.size(); ++k) {
    if (k > i) out += '.';
    out += labels[k];
  }
  return out;
}

}  // namespace

std::vector<std::string> dns_tokens_of(const std::string& raw, bool icann_only, bool with_suffix) {
  std::string name = raw;
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) return {};
  if (is_ipv4(name)) return {"<ipv4>"};
  if (is_ipv6(name)) return {"<ipv6>"};

  const auto labels = split_labels(name);
  std::vector<std::string> out;
  // A DNS-SD service: from the first "_" label on (the instance dropped).
  const bool service = std::any_of(labels.begin(), labels.end(),
                                   [](const std::string& l) { return l == "_tcp" || l == "_udp"; });
  std::size_t first_service = labels.size();
  if (service)
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (!labels[i].empty() && labels[i][0] == '_') {
        first_service = i;
        break;
      }

  // The longest public suffix: the first position whose rest is one.
  const int type = icann_only ? PSL_TYPE_ICANN : PSL_TYPE_ANY;
  const psl_ctx_t* ctx = psl();
  std::size_t suffix_at = labels.size();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].empty()) continue;  // "a..b": no suffix starts at an empty label
    if (psl_is_public_suffix2(ctx, join_from(labels, i).c_str(), type)) {
      suffix_at = i;
      break;
    }
  }

  if (service && first_service < labels.size()) out.push_back(join_from(labels, first_service));
  else if (suffix_at > 0 && suffix_at < labels.size() && !labels[suffix_at - 1].empty())
    out.push_back(join_from(labels, suffix_at - 1));
  if (with_suffix && suffix_at < labels.size()) out.push_back("." + join_from(labels, suffix_at));
  return out;
}

DnsTokens::DnsTokens(const Options& o) : o_(o) {
  if (o_.output.empty() || o_.output == o_.column)
    throw Error("dns_tokens: parameter \"output\" must name a new column, not \"" + o_.output + "\"");
  if (o_.suffixes != "icann" && o_.suffixes != "all")
    throw Error("dns_tokens: parameter \"suffixes\" must be icann or all, not \"" + o_.suffixes + "\"");
  psl();  // no Public Suffix List: an error now, not on the first row
}

Table DnsTokens::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("dns_tokens takes exactly one input table");
  const Table& in = *inputs[0];
  const Column& c = in.at(o_.column);
  if (c.type != DType::MultiCategorical)
    throw DataError("dns_tokens: column \"" + o_.column + "\" must be multi_categorical, it is " + dtype_name(c.type));
  if (in.find(o_.output))
    throw DataError("dns_tokens: column \"" + o_.output + "\" exists already (parameter \"output\")");
  const bool icann = o_.suffixes == "icann";

  // Each dictionary entry tokenised once; the output dictionary is the
  // tokens in name order (codes then depend on the names only).
  const Dictionary& dict = *c.dictionary;
  std::vector<std::vector<std::string>> tokens_of(dict.size());
  std::map<std::string, std::int32_t> code_of;
  for (std::size_t k = 0; k < dict.size(); ++k) {
    tokens_of[k] = dns_tokens_of(dict[k], icann, o_.suffix);
    for (const auto& t : tokens_of[k]) code_of.emplace(t, 0);
  }
  Dictionary out_dict;
  for (auto& [t, code] : code_of) {
    code = static_cast<std::int32_t>(out_dict.size());
    out_dict.push_back(t);
  }
  std::vector<std::vector<std::int32_t>> codes_of(dict.size());
  for (std::size_t k = 0; k < dict.size(); ++k)
    for (const auto& t : tokens_of[k]) codes_of[k].push_back(code_of.at(t));

  const std::size_t n = in.rows();
  std::vector<std::int64_t> offsets(n + 1, 0);
  std::vector<std::int32_t> codes;
  codes.reserve(c.codes.size());
  std::int64_t empty_rows = 0, null_rows = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = codes.size();
    if (c.is_null(i)) {
      ++null_rows;
    } else {
      for (auto k = c.offsets[i]; k < c.offsets[i + 1]; ++k) {
        const auto& cs = codes_of[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])];
        codes.insert(codes.end(), cs.begin(), cs.end());
      }
    }
    if (codes.size() - b > 1) {
      const auto first = codes.begin() + static_cast<std::ptrdiff_t>(b);
      std::sort(first, codes.end());
      codes.erase(std::unique(first, codes.end()), codes.end());
    }
    if (codes.size() == b) ++empty_rows;
    offsets[i + 1] = static_cast<std::int64_t>(codes.size());
  }
  if (null_rows) ctx.count("null." + o_.column, null_rows);
  ctx.count("rows.no_tokens", empty_rows);
  return in.with(Column::make_multi(o_.output, std::move(offsets), std::move(codes),
                                    std::make_shared<const Dictionary>(std::move(out_dict))));
}

}  // namespace pipectl::plugins
