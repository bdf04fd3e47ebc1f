#include "group_stats.hpp"

#include <pipectl/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace pipectl::plugins {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const std::string& b, std::size_t& at) {
  if (at + sizeof(T) > b.size()) throw Error("group_stats: a worker's rows are truncated");
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

bool has(const std::vector<std::string>& v, const char* f) { return std::find(v.begin(), v.end(), f) != v.end(); }

struct Acc {
  std::vector<double> bytes, packets, starts, ports;
  std::int64_t rows = 0, with_names = 0;
};

const Column* numeric(const Table& t, const std::string& name, const char* param) {
  const Column& c = t.at(name);
  if (!c.is_numeric())
    throw DataError(std::string("group_stats: ") + param + " column \"" + name + "\" must be numeric, it is " +
                    dtype_name(c.type));
  return &c;
}

}  // namespace

double sorted_quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return kNaN;
  const double at = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(at));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

std::vector<std::string> group_stats_columns(const std::string& prefix, const std::vector<std::string>& features) {
  std::vector<std::string> out;
  if (has(features, "dns_share")) out.push_back(prefix + "dns_share");
  if (has(features, "dstports")) out.push_back(prefix + "dstports");
  for (const char* f : {"bytes", "packets"})
    if (has(features, f))
      for (const char* q : {"_q25", "_q50", "_q75"}) out.push_back(prefix + f + q);
  if (has(features, "interval")) out.push_back(prefix + "interval_cv");
  return out;
}

GroupStats::GroupStats(const Options& o)
    : group_(o.group),
      prefix_(o.prefix),
      bytes_(o.bytes),
      packets_(o.packets),
      start_(o.start),
      port_(o.port),
      dns_(o.dns),
      features_(o.features) {}

Table GroupStats::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("group_stats takes exactly one input table");
  const Table& t = *inputs[0];
  const std::size_t n = t.rows();
  Collective& coll = ctx.collective();
  const Column& g = t.at(group_);
  if (g.type != DType::Categorical && g.type != DType::Int64)
    throw DataError("group_stats: group column \"" + group_ + "\" must be categorical or int64, it is " +
                    dtype_name(g.type));
  const bool f_dns = has(features_, "dns_share"), f_ports = has(features_, "dstports"),
             f_bytes = has(features_, "bytes"), f_pk = has(features_, "packets"), f_iv = has(features_, "interval");
  const Column* dns = nullptr;
  if (f_dns) {
    dns = &t.at(dns_);
    if (dns->type != DType::MultiCategorical)
      throw DataError("group_stats: dns column \"" + dns_ + "\" must be multi_categorical, it is " +
                      dtype_name(dns->type));
  }
  const Column* bytes = f_bytes ? numeric(t, bytes_, "bytes") : nullptr;
  const Column* packets = f_pk ? numeric(t, packets_, "packets") : nullptr;
  const Column* start = f_iv ? numeric(t, start_, "start") : nullptr;
  const Column* port = f_ports ? numeric(t, port_, "port") : nullptr;

  // Each row's group key; a NULL value is a group of its own row (unique over the workers).
  std::vector<std::string> key(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (g.is_null(i) || (g.type == DType::Categorical && g.codes[i] < 0))
      key[i] = "\x01" + std::to_string(coll.rank()) + ":" + std::to_string(i);
    else
      key[i] = "\x02" + (g.type == DType::Int64 ? std::to_string(g.i64[i]) : g.label(i));
  }
  // This worker's rows, gathered from every worker (one process: its own).
  std::string mine;
  put<std::uint64_t>(mine, n);
  for (std::size_t i = 0; i < n; ++i) {
    put<std::uint64_t>(mine, key[i].size());
    mine += key[i];
    put<double>(mine, bytes ? bytes->number(i) : 0.0);
    put<double>(mine, packets ? packets->number(i) : 0.0);
    put<double>(mine, start ? start->number(i) : 0.0);
    put<double>(mine, port ? port->number(i) : 0.0);
    put<std::uint8_t>(mine, dns && !dns->is_null(i) && dns->offsets[i + 1] > dns->offsets[i] ? 1 : 0);
  }
  std::unordered_map<std::string, Acc> acc;
  for (const auto& b : coll.allgather(mine)) {
    std::size_t at = 0;
    const auto rows = get<std::uint64_t>(b, at);
    for (std::uint64_t r = 0; r < rows; ++r) {
      const auto len = get<std::uint64_t>(b, at);
      if (at + len > b.size()) throw Error("group_stats: a worker's rows are truncated");
      Acc& a = acc[b.substr(at, len)];
      at += len;
      const double by = get<double>(b, at), pk = get<double>(b, at), st = get<double>(b, at), po = get<double>(b, at);
      const auto nm = get<std::uint8_t>(b, at);
      ++a.rows;
      a.with_names += nm;
      if (bytes && !std::isnan(by)) a.bytes.push_back(std::log10(1.0 + std::max(0.0, by)));
      if (packets && !std::isnan(pk)) a.packets.push_back(std::log10(1.0 + std::max(0.0, pk)));
      if (start && !std::isnan(st)) a.starts.push_back(st);
      if (port && !std::isnan(po)) a.ports.push_back(po);
    }
  }
  // Figures per group.
  struct Fig {
    double dns_share = kNaN, dstports = kNaN, interval_cv = kNaN;
    double bq[3] = {kNaN, kNaN, kNaN}, pq[3] = {kNaN, kNaN, kNaN};
  };
  std::unordered_map<std::string, Fig> fig;
  for (auto& [k, a] : acc) {
    Fig f;
    const double rows = static_cast<double>(a.rows);
    f.dns_share = static_cast<double>(a.with_names) / rows;
    if (port) {
      std::set<double> distinct(a.ports.begin(), a.ports.end());
      f.dstports = static_cast<double>(distinct.size()) / rows;
    }
    std::sort(a.bytes.begin(), a.bytes.end());
    std::sort(a.packets.begin(), a.packets.end());
    const double qs[3] = {0.25, 0.5, 0.75};
    for (int j = 0; j < 3; ++j) {
      f.bq[j] = sorted_quantile(a.bytes, qs[j]);
      f.pq[j] = sorted_quantile(a.packets, qs[j]);
    }
    if (a.starts.size() >= 3) {
      std::sort(a.starts.begin(), a.starts.end());
      std::vector<double> gaps(a.starts.size() - 1);
      for (std::size_t j = 1; j < a.starts.size(); ++j) gaps[j - 1] = a.starts[j] - a.starts[j - 1];
      double mean = 0;
      for (double x : gaps) mean += x;
      mean /= static_cast<double>(gaps.size());
      double var = 0;
      for (double x : gaps) var += (x - mean) * (x - mean);
      var /= static_cast<double>(gaps.size());
      f.interval_cv = mean > 0 ? std::sqrt(var) / mean : 0.0;
    }
    fig.emplace(k, f);
  }
  // Joined back to the rows.
  const auto names = group_stats_columns(prefix_, features_);
  std::vector<std::vector<double>> cols(names.size(), std::vector<double>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const Fig& f = fig.at(key[i]);
    std::size_t c = 0;
    if (f_dns) cols[c++][i] = f.dns_share;
    if (f_ports) cols[c++][i] = f.dstports;
    if (f_bytes)
      for (double q : f.bq) cols[c++][i] = q;
    if (f_pk)
      for (double q : f.pq) cols[c++][i] = q;
    if (f_iv) cols[c++][i] = f.interval_cv;
  }
  Table out = t;
  for (std::size_t c = 0; c < names.size(); ++c) {
    std::vector<std::uint8_t> valid;
    for (std::size_t i = 0; i < n; ++i)
      if (std::isnan(cols[c][i])) {
        valid.assign(n, 1);
        break;
      }
    if (!valid.empty())
      for (std::size_t i = 0; i < n; ++i) {
        valid[i] = !std::isnan(cols[c][i]);
        if (!valid[i]) cols[c][i] = 0.0;
      }
    out = out.with(Column::make_f64(names[c], std::move(cols[c]), std::move(valid)));
  }
  std::int64_t groups = static_cast<std::int64_t>(acc.size());
  ctx.count("groups", groups);
  return out;
}

}  // namespace pipectl::plugins
