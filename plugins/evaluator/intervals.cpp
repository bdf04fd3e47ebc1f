#include "intervals.hpp"

#include <set>

#include <pipectl/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace pipectl::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256** (the splitter's generator), for the bootstrap draws.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// Midranks (1-based, ties averaged) of `v`.
std::vector<double> midranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k) r[order[k]] = mid;
    i = j;
  }
  return r;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(at));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

template <class T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const std::string& b, std::size_t& at) {
  if (at + sizeof(T) > b.size()) throw Error("evaluator: a worker's grouped rows are truncated");
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

double logit(double p) {
  const double c = std::min(1 - 1e-7, std::max(1e-7, p));
  return std::log(c / (1 - c));
}

}  // namespace

std::uint64_t group_hash(const std::string& label) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : label) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void canonical_order(GroupedRows& r) {
  std::vector<std::size_t> order(r.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (r.p[a] != r.p[b]) return r.p[a] < r.p[b];
    if (r.y[a] != r.y[b]) return r.y[a] < r.y[b];
    return r.group[a] < r.group[b];
  });
  GroupedRows s;
  for (auto i : order) s.add(r.group[i], r.y[i] != 0, r.p[i]);
  r = std::move(s);
}

std::string pack_grouped(const GroupedRows& r) {
  std::string b;
  put<std::uint64_t>(b, r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    put<std::uint64_t>(b, r.group[i]);
    put<std::uint8_t>(b, r.y[i]);
    put<double>(b, r.p[i]);
  }
  return b;
}

GroupedRows unite_grouped(const std::vector<std::string>& packed) {
  GroupedRows all;
  for (const auto& b : packed) {
    std::size_t at = 0;
    const auto n = get<std::uint64_t>(b, at);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto g = get<std::uint64_t>(b, at);
      const auto y = get<std::uint8_t>(b, at);
      all.add(g, y != 0, get<double>(b, at));
    }
  }
  canonical_order(all);
  return all;
}

double delong_variance(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  std::vector<double> pos, neg;
  for (std::size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg).push_back(score[i]);
  // Sorted, so that every sum runs in one order whatever the rows' order (workers).
  std::sort(pos.begin(), pos.end());
  std::sort(neg.begin(), neg.end());
  const std::size_t m = pos.size(), n = neg.size();
  if (m == 0 || n == 0) return kNaN;
  std::vector<double> all(pos);
  all.insert(all.end(), neg.begin(), neg.end());
  const auto rz = midranks(all), rx = midranks(pos), ry = midranks(neg);
  std::vector<double> v10(m), v01(n);
  for (std::size_t i = 0; i < m; ++i) v10[i] = (rz[i] - rx[i]) / static_cast<double>(n);
  for (std::size_t j = 0; j < n; ++j) v01[j] = 1.0 - (rz[m + j] - ry[j]) / static_cast<double>(m);
  auto var = [](const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double s = 0;
    for (double x : v) s += (x - mean) * (x - mean);
    return s / static_cast<double>(v.size() - 1);
  };
  return var(v10) / static_cast<double>(m) + var(v01) / static_cast<double>(n);
}

std::pair<double, double> roc_auc_ci_delong(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  const double var = delong_variance(y, score);
  if (std::isnan(var)) return {kNaN, kNaN};
  // The AUC itself from the same midranks: mean of v10.
  std::vector<double> pos, neg;
  for (std::size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg).push_back(score[i]);
  std::sort(pos.begin(), pos.end());
  std::sort(neg.begin(), neg.end());
  std::vector<double> all(pos);
  all.insert(all.end(), neg.begin(), neg.end());
  const auto rz = midranks(all), rx = midranks(pos);
  double s = 0;
  for (std::size_t i = 0; i < pos.size(); ++i) s += rz[i] - rx[i];
  const double auc = s / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
  const double half = 1.959963984540054 * std::sqrt(std::max(0.0, var));
  return {std::max(0.0, auc - half), std::min(1.0, auc + half)};
}

std::pair<double, double> roc_auc_ci_groups(const GroupedRows& rows_in, std::uint64_t seed, int resamples) {
  GroupedRows rows = rows_in;
  canonical_order(rows);  // ascending p
  // Dense group ids in hash order.
  std::vector<std::uint64_t> keys(rows.group);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  const std::size_t g = keys.size();
  if (g == 0) return {kNaN, kNaN};
  std::vector<std::uint32_t> gid(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    gid[i] = static_cast<std::uint32_t>(std::lower_bound(keys.begin(), keys.end(), rows.group[i]) - keys.begin());
  Rng rng(seed ^ 0xD1B54A32D192ED03ULL);
  std::vector<double> w(g);
  std::vector<double> aucs;
  aucs.reserve(static_cast<std::size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    std::fill(w.begin(), w.end(), 0.0);
    for (std::size_t k = 0; k < g; ++k) w[rng.below(g)] += 1.0;
    // Weighted AUC: sweep ascending scores, ties counted half.
    double neg_below = 0, num = 0, wpos = 0, wneg = 0;
    for (std::size_t i = 0; i < rows.size();) {
      std::size_t j = i;
      double tie_pos = 0, tie_neg = 0;
      for (; j < rows.size() && rows.p[j] == rows.p[i]; ++j) (rows.y[j] ? tie_pos : tie_neg) += w[gid[j]];
      num += tie_pos * (neg_below + 0.5 * tie_neg);
      neg_below += tie_neg;
      wpos += tie_pos;
      wneg += tie_neg;
      i = j;
    }
    if (wpos > 0 && wneg > 0) aucs.push_back(num / (wpos * wneg));
  }
  if (aucs.size() < 2) return {kNaN, kNaN};
  return {quantile(aucs, 0.025), quantile(aucs, 0.975)};
}

std::pair<std::int64_t, std::int64_t> class_groups(const GroupedRows& rows) {
  std::set<std::uint64_t> pos, neg;
  for (std::size_t i = 0; i < rows.size(); ++i) (rows.y[i] ? pos : neg).insert(rows.group[i]);
  return {static_cast<std::int64_t>(pos.size()), static_cast<std::int64_t>(neg.size())};
}

std::vector<Device> devices_of(const GroupedRows& rows) {
  std::map<std::uint64_t, std::pair<double, std::pair<std::size_t, std::size_t>>> acc;  // sum logit, (rows, positives)
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& a = acc[rows.group[i]];
    a.first += logit(rows.p[i]);
    ++a.second.first;
    a.second.second += rows.y[i];
  }
  std::vector<Device> out;
  for (const auto& [g, a] : acc) {
    Device d;
    d.group = g;
    d.rows = a.second.first;
    d.p = 1 / (1 + std::exp(-a.first / static_cast<double>(d.rows)));
    d.positive = 2 * a.second.second >= d.rows;
    out.push_back(d);
  }
  return out;
}

double choose_threshold(const std::vector<Device>& devices) {
  std::vector<std::pair<double, bool>> v;  // logit, positive
  for (const auto& d : devices) v.emplace_back(logit(d.p), d.positive);
  std::sort(v.begin(), v.end());
  const auto pos = static_cast<long>(std::count_if(v.begin(), v.end(), [](const auto& e) { return e.second; }));
  if (pos == 0 || pos == static_cast<long>(v.size())) return 0.5;
  // Threshold in the gap below device k (k = 0..n): devices k.. are positive.
  long correct = pos;  // k = 0: all predicted positive
  long best = -1;
  double best_gap = -1, best_t = 0.5;
  for (std::size_t k = 0; k <= v.size(); ++k) {
    if (k > 0) correct += v[k - 1].second ? -1 : 1;
    if (k > 0 && k < v.size() && v[k].first == v[k - 1].first) continue;  // not a gap
    const double lo = k == 0 ? v[0].first - 4.0 : v[k - 1].first;
    const double hi = k == v.size() ? v.back().first + 4.0 : v[k].first;
    const double gap = hi - lo;
    if (correct > best || (correct == best && gap > best_gap)) {
      best = correct;
      best_gap = gap;
      const double mid = 0.5 * (lo + hi);
      best_t = 1 / (1 + std::exp(-mid));
    }
  }
  return best_t;
}

json device_metrics(const std::vector<Device>& devices, double threshold) {
  std::int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  for (const auto& d : devices) {
    const bool pred = d.p >= threshold;
    if (pred && d.positive) ++tp;
    else if (pred) ++fp;
    else if (d.positive) ++fn;
    else ++tn;
  }
  const auto n = static_cast<double>(devices.size());
  auto ratio = [](std::int64_t a, std::int64_t b) { return b == 0 ? json(nullptr) : json(static_cast<double>(a) / static_cast<double>(b)); };
  return {{"devices", static_cast<std::int64_t>(devices.size())},
          {"device_threshold", threshold},
          {"device_accuracy", devices.empty() ? json(nullptr) : json(static_cast<double>(tp + tn) / n)},
          {"device_precision", ratio(tp, tp + fp)},
          {"device_recall", ratio(tp, tp + fn)},
          {"device_confusion_matrix", {{tn, fp}, {fn, tp}}}};
}

}  // namespace pipectl::eval
