#include "profile.hpp"

#include <pipectl/features.hpp>
#include <pipectl/run_folder.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace pipectl::plugins {

namespace {

constexpr std::uint8_t kNeg = 0, kPos = 1, kUnl = 2;  // label of a profiled row
constexpr std::uint64_t kSign = 0x8000000000000000ull;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const char* const kQuantileMethod =
    "linear interpolation (numpy method \"linear\", pandas describe() default): h = (n - 1) * p, "
    "q = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]) over the sorted non-null values";
const char* const kStdMethod = "sample standard deviation (ddof = 1, like pandas); one pass (Welford states of 1024-value blocks merged by Chan's formula)";
const char* const kAucMethod =
    "univariate ROC AUC over labelled rows with a value, ties count half (= sklearn roc_auc_score); "
    "numeric: the value, reported as max(AUC, 1 - AUC) with the direction; categorical: the value's "
    "target mean (label rate) computed in-sample on the same rows (optimistic, >= 0.5), NULL a value of "
    "its own; multi-valued: the number of distinct names per row";
const char* const kMiMethod =
    "mutual information with the label in bits over labelled rows; numeric: equal-frequency bins (a run of "
    "equal values is never split: bin = floor(rank of its first row * bins / n); at most `bins` distinct "
    "values: one bin per value), NULL/NaN a bin of its own; categorical: by value, NULL a value of its own";

std::string qt(const std::string& s) { return "\"" + s + "\""; }

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json rate(std::int64_t pos, std::int64_t lab) {
  return lab > 0 ? json(static_cast<double>(pos) / static_cast<double>(lab)) : json(nullptr);
}

// ------------------------------------------------------------------ labels

struct Labels {
  bool present = false;
  std::vector<std::uint8_t> y;  // kNeg / kPos / kUnl per profiled row
  std::int64_t labelled = 0, positives = 0, nulls = 0;
  json info;
};

double entropy_bits(std::int64_t pos, std::int64_t total) {
  if (total <= 0) return kNaN;
  double h = 0;
  for (auto c : {pos, total - pos})
    if (c > 0) {
      const double p = static_cast<double>(c) / static_cast<double>(total);
      h -= p * std::log2(p);
    }
  return h;
}

Labels build_labels(const Table& in, const Table& t, const ProfileConfig& cfg,
                    const std::vector<std::uint32_t>& orig_rows, StageContext& ctx) {
  Labels L;
  const std::size_t n = t.rows();
  L.y.assign(n, kUnl);
  if (cfg.label.empty()) return L;
  L.present = true;
  const Column& c = t.at(cfg.label);
  auto orig = [&](std::size_t i) { return orig_rows.empty() ? i : static_cast<std::size_t>(orig_rows[i]); };
  json info = {{"column", cfg.label}, {"type", dtype_name(c.type)}};
  if (c.type == DType::Int64) {
    for (std::size_t i = 0; i < n; ++i) {
      if (c.is_null(i)) continue;
      const auto v = c.i64[i];
      if (v != 0 && v != 1)
        throw DataError("label column " + qt(cfg.label) + ": value " + std::to_string(v) + " at row " +
                        std::to_string(orig(i)) + " is not 0 or 1");
      L.y[i] = static_cast<std::uint8_t>(v);
    }
    info["positive"] = "1";
    const auto names = in.meta("label_names." + cfg.label);
    if (!names.empty()) info["class_names"] = names;
  } else if (c.type == DType::Categorical) {
    const auto& dict = *c.dictionary;
    std::vector<std::uint8_t> of_code(dict.size(), kNeg);
    if (!cfg.positive.empty()) {
      auto it = std::find(dict.begin(), dict.end(), cfg.positive);
      if (it == dict.end()) {
        std::string have;
        for (const auto& d : dict) have += (have.empty() ? "" : ", ") + qt(d);
        throw DataError("label column " + qt(cfg.label) + " has no class " + qt(cfg.positive) + " (classes: " +
                        have + ")");
      }
      of_code[static_cast<std::size_t>(it - dict.begin())] = kPos;
      info["positive"] = cfg.positive;
    } else {
      for (std::size_t k = 0; k < dict.size(); ++k) of_code[k] = dict[k] != cfg.negative ? kPos : kNeg;
      if (std::find(dict.begin(), dict.end(), cfg.negative) == dict.end())
        ctx.warn("label column " + qt(cfg.label) + " has no class " + qt(cfg.negative) +
                 ": every labelled row counts as positive");
      info["positive"] = "every class except " + qt(cfg.negative);
      info["negative"] = cfg.negative;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto code = c.codes[i];
      if (code >= 0) L.y[i] = of_code[static_cast<std::size_t>(code)];
    }
  } else {
    throw DataError("label column " + qt(cfg.label) + " must be int64 (0/1) or categorical, it is " +
                    dtype_name(c.type));
  }
  for (auto v : L.y) {
    L.labelled += v != kUnl;
    L.positives += v == kPos;
  }
  L.nulls = static_cast<std::int64_t>(n) - L.labelled;
  info["rows"] = n;
  info["labelled"] = L.labelled;
  info["unlabelled"] = L.nulls;
  info["positives"] = L.positives;
  info["rate"] = rate(L.positives, L.labelled);
  info["entropy_bits"] = num(entropy_bits(L.positives, L.labelled));
  L.info = std::move(info);
  return L;
}

// ------------------------------------------------------- sorting numbers

// Order-preserving unsigned keys: sorting keys sorts the values.
inline std::uint64_t key_f64(double v) {
  if (v == 0) v = 0.0;  // -0 and +0 are one value
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return (b & kSign) ? ~b : (b | kSign);
}
inline double unkey_f64(std::uint64_t k) {
  const std::uint64_t b = (k & kSign) ? (k ^ kSign) : ~k;
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
inline std::uint64_t key_i64(std::int64_t v) { return static_cast<std::uint64_t>(v) ^ kSign; }
inline std::int64_t unkey_i64(std::uint64_t k) { return static_cast<std::int64_t>(k ^ kSign); }

/// A reusable uninitialised buffer (one per worker thread): large columns
/// are sorted without zero-filling or page-faulting fresh memory per column.
template <class T>
struct Buffer {
  std::unique_ptr<T[]> p;
  std::size_t cap = 0;
  T* get(std::size_t n) {
    if (n > cap) {
      p.reset(new T[n]);  // default-initialised: no memset
      cap = n;
    }
    return p.get();
  }
};

struct Workspace {
  Buffer<std::uint64_t> keys[2];
  Buffer<std::uint8_t> labs[2];
};

// LSD radix sort of keys (8-bit digits, 8 passes), labels carried along; a
// pass whose digit is the same for every key is skipped. Sorts keys[0..n)
// using the other buffer as scratch; returns which buffer holds the result.
int radix_sort(std::uint64_t* keys[2], std::uint8_t* labs[2], std::size_t n) {
  constexpr int kBits = 8, kPasses = 8, kBuckets = 1 << kBits;
  int cur = 0;
  if (n < 2) return cur;
  std::vector<std::size_t> hist(static_cast<std::size_t>(kPasses) * kBuckets, 0);
  const std::uint64_t* k = keys[0];
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = k[i];
    for (int d = 0; d < kPasses; ++d) ++hist[static_cast<std::size_t>(d) * kBuckets + ((x >> (kBits * d)) & (kBuckets - 1))];
  }
  for (int d = 0; d < kPasses; ++d) {
    std::size_t* h = hist.data() + static_cast<std::size_t>(d) * kBuckets;
    const int shift = kBits * d;
    const std::uint64_t* src = keys[cur];
    if (h[(src[0] >> shift) & (kBuckets - 1)] == n) continue;
    std::size_t sum = 0;
    for (int b = 0; b < kBuckets; ++b) {
      const auto x = h[b];
      h[b] = sum;
      sum += x;
    }
    const std::uint8_t* lsrc = labs[cur];
    std::uint64_t* dst = keys[1 - cur];
    std::uint8_t* ldst = labs[1 - cur];
    for (std::size_t i = 0; i < n; ++i) {
      const auto p = h[(src[i] >> shift) & (kBuckets - 1)]++;
      dst[p] = src[i];
      ldst[p] = lsrc[i];
    }
    cur = 1 - cur;
  }
  return cur;
}
// ------------------------------------------------------- AUC and MI

struct Cell {
  std::int64_t pos = 0, neg = 0;
};

/// AUC of groups given in ascending score order (each group one tied score).
double auc_of_groups(const std::vector<Cell>& groups) {
  std::int64_t P = 0, N = 0;
  for (const auto& g : groups) {
    P += g.pos;
    N += g.neg;
  }
  if (P == 0 || N == 0) return kNaN;
  unsigned __int128 num2 = 0, neg_below = 0;
  for (const auto& g : groups) {
    num2 += 2 * neg_below * static_cast<unsigned __int128>(g.pos) +
            static_cast<unsigned __int128>(g.pos) * static_cast<unsigned __int128>(g.neg);
    neg_below += static_cast<unsigned __int128>(g.neg);
  }
  return static_cast<double>(num2) / (2.0 * static_cast<double>(P) * static_cast<double>(N));
}

/// Mutual information (bits) between the cell and the label.
double mutual_info_bits(const std::vector<Cell>& cells) {
  std::int64_t P = 0, N = 0;
  for (const auto& c : cells) {
    P += c.pos;
    N += c.neg;
  }
  const double T = static_cast<double>(P + N);
  if (P + N == 0) return kNaN;
  double mi = 0;
  for (const auto& c : cells) {
    const double row = static_cast<double>(c.pos + c.neg);
    if (c.pos > 0)
      mi += static_cast<double>(c.pos) / T * std::log2(static_cast<double>(c.pos) * T / (row * static_cast<double>(P)));
    if (c.neg > 0)
      mi += static_cast<double>(c.neg) / T * std::log2(static_cast<double>(c.neg) * T / (row * static_cast<double>(N)));
  }
  return std::max(0.0, mi);
}

struct RankInfo {
  std::string column;
  std::string type;
  std::string auc_of;  // "value", "target_mean", "names_per_row"
  double auc_raw = kNaN;
  std::int64_t auc_rows = 0;
  double mi = kNaN;
  std::int64_t mi_rows = 0;
  std::int64_t mi_bins = 0;
};

std::int64_t nonempty(const std::vector<Cell>& cells) {
  std::int64_t k = 0;
  for (const auto& c : cells) k += (c.pos + c.neg) > 0;
  return k;
}

// ------------------------------------------------------- numeric columns

struct Numeric {
  bool is_int = false;
  std::int64_t count = 0, nulls = 0, zeros = 0;
  std::int64_t lab_pos = 0, lab_neg = 0;  // labels of the rows with a value
  Cell null_cell;                         // labelled rows whose value is NULL / NaN
  double mean = kNaN, std = kNaN;
  const std::uint64_t* keys = nullptr;  // sorted non-null values (in the workspace)
  const std::uint8_t* labs = nullptr;   // their labels

  double decode(std::uint64_t k) const { return is_int ? static_cast<double>(unkey_i64(k)) : unkey_f64(k); }
  double value(std::size_t i) const { return decode(keys[i]); }
  /// numpy "linear" quantile (same arithmetic as numpy's _lerp).
  double quantile(double p) const {
    if (count == 0) return kNaN;
    const double h = static_cast<double>(count - 1) * p;
    const double lo = std::floor(h);
    const auto i = static_cast<std::size_t>(lo);
    const auto j = std::min(i + 1, static_cast<std::size_t>(count - 1));
    const double g = h - lo;
    const double a = value(i), b = value(j);
    const double d = b - a;
    return g >= 0.5 ? b - d * (1 - g) : a + d * g;
  }
};

/// Mean and M2 in one pass, block by block (Chan et al.'s merge of Welford
/// states): exact for a block in cache, stable across blocks, no division per value.
struct Moments {
  static constexpr std::size_t kBlock = 1024;
  double buf[kBlock];
  std::size_t fill = 0;
  double n = 0, mean = 0, m2 = 0;

  void add(double x) {
    buf[fill++] = x;
    if (fill == kBlock) flush();
  }
  void flush() {
    if (fill == 0) return;
    double s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= fill; i += 4)
      for (int k = 0; k < 4; ++k) s[k] += buf[i + k];
    for (; i < fill; ++i) s[0] += buf[i];
    const double nb = static_cast<double>(fill);
    const double bm = ((s[0] + s[1]) + (s[2] + s[3])) / nb;
    double q[4] = {0, 0, 0, 0};
    for (i = 0; i + 4 <= fill; i += 4)
      for (int k = 0; k < 4; ++k) q[k] += (buf[i + k] - bm) * (buf[i + k] - bm);
    for (; i < fill; ++i) q[0] += (buf[i] - bm) * (buf[i] - bm);
    const double bm2 = (q[0] + q[1]) + (q[2] + q[3]);
    const double tot = n + nb;
    const double delta = bm - mean;
    mean += delta * nb / tot;
    m2 += bm2 + delta * delta * n * nb / tot;
    n = tot;
    fill = 0;
  }
};

Numeric collect_numeric(const Column& c, const std::uint8_t* y, std::size_t n, Workspace& ws) {
  Numeric s;
  s.is_int = c.type == DType::Int64;
  std::uint64_t* kp = ws.keys[0].get(n);
  std::uint8_t* lp = ws.labs[0].get(n);
  ws.keys[1].get(n);
  ws.labs[1].get(n);
  std::size_t m = 0;
  auto mom = std::make_unique<Moments>();
  std::int64_t zeros = 0, null_lab[3] = {0, 0, 0}, val_lab[3] = {0, 0, 0};
  const bool nullable = !c.valid.empty();
  const std::uint8_t* valid = c.valid.data();
  if (s.is_int) {
    const std::int64_t* v = c.i64.data();
    for (std::size_t i = 0; i < n; ++i) {
      if (nullable && !valid[i]) {
        ++null_lab[y[i]];
        continue;
      }
      mom->add(static_cast<double>(v[i]));
      zeros += v[i] == 0;
      ++val_lab[y[i]];
      kp[m] = key_i64(v[i]);
      lp[m++] = y[i];
    }
  } else {
    const double* v = c.f64.data();
    for (std::size_t i = 0; i < n; ++i) {
      const double x = v[i];
      if ((nullable && !valid[i]) || std::isnan(x)) {
        ++null_lab[y[i]];
        continue;
      }
      mom->add(x);
      zeros += x == 0;
      ++val_lab[y[i]];
      kp[m] = key_f64(x);
      lp[m++] = y[i];
    }
  }
  mom->flush();
  s.count = static_cast<std::int64_t>(m);
  s.nulls = static_cast<std::int64_t>(n - m);
  s.zeros = zeros;
  s.lab_pos = val_lab[kPos];
  s.lab_neg = val_lab[kNeg];
  s.null_cell = {null_lab[kPos], null_lab[kNeg]};
  if (m > 0) s.mean = mom->mean;
  if (m > 1) s.std = std::sqrt(mom->m2 / static_cast<double>(m - 1));
  std::uint64_t* keys[2] = {ws.keys[0].p.get(), ws.keys[1].p.get()};
  std::uint8_t* labs[2] = {ws.labs[0].p.get(), ws.labs[1].p.get()};
  const int which = radix_sort(keys, labs, m);
  s.keys = keys[which];
  s.labs = labs[which];
  return s;
}

/// The i-th sorted value as json (int64 columns exactly).
json value_json(const Numeric& s, std::size_t i) {
  if (s.is_int) return unkey_i64(s.keys[i]);
  return num(unkey_f64(s.keys[i]));
}

/// describe()-style summary (+ outliers when wanted) and the AUC / MI of the values.
json numeric_json(const Numeric& s, const ProfileConfig& cfg, bool has_label, bool outliers, RankInfo& rank) {
  json j;
  j["count"] = s.count;
  j["nulls"] = s.nulls;
  j["mean"] = num(s.mean);
  j["std"] = num(s.std);
  j["min"] = s.count ? value_json(s, 0) : json(nullptr);
  j["25%"] = num(s.quantile(0.25));
  j["50%"] = num(s.quantile(0.50));
  j["75%"] = num(s.quantile(0.75));
  j["max"] = s.count ? value_json(s, static_cast<std::size_t>(s.count - 1)) : json(nullptr);
  j["zeros"] = s.zeros;
  j["zero_share"] = s.count ? json(static_cast<double>(s.zeros) / static_cast<double>(s.count)) : json(nullptr);
  if (has_label) j["null_label_rate"] = rate(s.null_cell.pos, s.null_cell.pos + s.null_cell.neg);

  const std::size_t m = static_cast<std::size_t>(s.count);
  // Outliers: the sorted values above the threshold are a suffix, starting at `lo`.
  const double thr = s.mean + cfg.k * s.std;
  const bool split = outliers && m >= 2 && std::isfinite(thr);
  std::size_t lo = m;
  if (split) {
    std::size_t a = 0, b = m;
    while (a < b) {
      const std::size_t mid = a + (b - a) / 2;
      if (s.value(mid) <= thr)
        a = mid + 1;
      else
        b = mid;
    }
    lo = a;
  }
  struct Side {
    std::int64_t rows = 0, lab = 0, pos = 0;
    double sum = 0;
  } side[2];

  // One walk over the runs of equal values: outlier sides, AUC, MI cells.
  const std::int64_t P = s.lab_pos, N = s.lab_neg;
  const auto total = static_cast<std::uint64_t>(P + N);
  const auto bins = static_cast<std::uint64_t>(cfg.bins);
  unsigned __int128 num2 = 0, neg_below = 0;
  std::vector<Cell> per_value;  // one cell per distinct labelled value, while there are at most `bins`
  bool many = false;
  std::vector<Cell> per_bin(static_cast<std::size_t>(bins));
  std::uint64_t before = 0;
  for (std::size_t i = 0; i < m;) {
    const std::uint64_t key = s.keys[i];
    std::size_t e = i;
    Cell g;
    while (e < m && s.keys[e] == key) {
      g.pos += s.labs[e] == kPos;
      g.neg += s.labs[e] == kNeg;
      ++e;
    }
    const auto rows = static_cast<std::int64_t>(e - i);
    Side& sd = side[i >= lo];
    sd.rows += rows;
    sd.sum += s.decode(key) * static_cast<double>(rows);
    sd.lab += g.pos + g.neg;
    sd.pos += g.pos;
    if (g.pos + g.neg > 0) {
      num2 += 2 * neg_below * static_cast<unsigned __int128>(g.pos) +
              static_cast<unsigned __int128>(g.pos) * static_cast<unsigned __int128>(g.neg);
      neg_below += static_cast<unsigned __int128>(g.neg);
      if (!many) {
        if (per_value.size() == static_cast<std::size_t>(bins)) {
          many = true;
          per_value.clear();
        } else {
          per_value.push_back(g);
        }
      }
      auto& b = per_bin[static_cast<std::size_t>(static_cast<unsigned __int128>(before) * bins / total)];
      b.pos += g.pos;
      b.neg += g.neg;
      before += static_cast<std::uint64_t>(g.pos + g.neg);
    }
    i = e;
  }

  if (outliers) {
    json o = {{"k", cfg.k}};
    if (split) {
      o["threshold"] = num(thr);
      const char* names[2] = {"below", "above"};
      for (int k = 0; k < 2; ++k) {
        json x = {{"rows", side[k].rows},
                  {"mean", side[k].rows ? num(side[k].sum / static_cast<double>(side[k].rows)) : json(nullptr)}};
        if (has_label) {
          x["labelled"] = side[k].lab;
          x["label_rate"] = rate(side[k].pos, side[k].lab);
        }
        o[names[k]] = std::move(x);
      }
    } else {
      o["threshold"] = nullptr;
    }
    j["outliers"] = std::move(o);
  }

  if (has_label) {
    rank.auc_rows = P + N;
    rank.auc_raw = (P > 0 && N > 0)
                       ? static_cast<double>(num2) / (2.0 * static_cast<double>(P) * static_cast<double>(N))
                       : kNaN;
    std::vector<Cell>& cells = many ? per_bin : per_value;
    cells.push_back(s.null_cell);
    rank.mi = mutual_info_bits(cells);
    rank.mi_rows = P + N + s.null_cell.pos + s.null_cell.neg;
    rank.mi_bins = nonempty(cells);
  }
  return j;
}
// ------------------------------------------------------- categorical columns

struct CodeStats {
  std::vector<std::int64_t> rows, lab, pos;  // per code
};

/// Codes with rows > 0, most rows first, then by value.
std::vector<std::size_t> top_codes(const std::vector<std::int64_t>& rows, const Dictionary& dict) {
  std::vector<std::size_t> order;
  for (std::size_t k = 0; k < dict.size(); ++k)
    if (rows[k] > 0) order.push_back(k);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (rows[a] != rows[b]) return rows[a] > rows[b];
    if (dict[a] != dict[b]) return dict[a] < dict[b];
    return a < b;
  });
  return order;
}

json top_json(const CodeStats& s, const std::vector<std::size_t>& order, const Dictionary& dict, std::size_t top,
              std::size_t n, const char* key, bool has_label, std::int64_t P, std::int64_t L) {
  json arr = json::array();
  for (std::size_t r = 0; r < order.size() && r < top; ++r) {
    const auto k = order[r];
    json e = {{key, dict[k]},
              {"rows", s.rows[k]},
              {"share", static_cast<double>(s.rows[k]) / static_cast<double>(n)}};
    if (has_label) {
      e["label_rate"] = rate(s.pos[k], s.lab[k]);
      e["rest_label_rate"] = rate(P - s.pos[k], L - s.lab[k]);
    }
    arr.push_back(std::move(e));
  }
  return arr;
}

json categorical_json(const Column& c, const std::uint8_t* y, std::size_t n, const ProfileConfig& cfg,
                      const Labels& L, RankInfo& rank) {
  const auto& dict = *c.dictionary;
  const std::size_t K = dict.size();
  CodeStats s;
  s.rows.assign(K + 1, 0);  // index K = NULL
  s.lab.assign(K + 1, 0);
  s.pos.assign(K + 1, 0);
  const std::int32_t* codes = c.codes.data();
  for (std::size_t i = 0; i < n; ++i) {
    const auto code = codes[i];
    const std::size_t k = code < 0 ? K : static_cast<std::size_t>(code);
    ++s.rows[k];
    s.lab[k] += y[i] != kUnl;
    s.pos[k] += y[i] == kPos;
  }
  const auto order = top_codes(s.rows, dict);
  json j;
  j["column"] = c.name;
  j["type"] = dtype_name(c.type);
  j["rows"] = n;
  j["distinct"] = order.size();
  j["nulls"] = s.rows[K];
  j["null_share"] = static_cast<double>(s.rows[K]) / static_cast<double>(n);
  if (L.present) j["null_label_rate"] = rate(s.pos[K], s.lab[K]);
  j["top"] = top_json(s, order, dict, static_cast<std::size_t>(cfg.top), n, "value", L.present, L.positives,
                      L.labelled);
  if (L.present) {
    // Target-mean encoding: categories (NULL included) ordered by label rate, equal rates tied.
    std::vector<std::size_t> cats;
    for (std::size_t k = 0; k <= K; ++k)
      if (s.lab[k] > 0) cats.push_back(k);
    auto less = [&](std::size_t a, std::size_t b) {  // rate(a) < rate(b), exactly
      return static_cast<__int128>(s.pos[a]) * s.lab[b] < static_cast<__int128>(s.pos[b]) * s.lab[a];
    };
    std::stable_sort(cats.begin(), cats.end(), less);
    std::vector<Cell> groups, cells;
    for (std::size_t r = 0; r < cats.size(); ++r) {
      const auto k = cats[r];
      const Cell cell{s.pos[k], s.lab[k] - s.pos[k]};
      cells.push_back(cell);
      if (r > 0 && !less(cats[r - 1], k)) {
        groups.back().pos += cell.pos;
        groups.back().neg += cell.neg;
      } else {
        groups.push_back(cell);
      }
    }
    rank.auc_raw = auc_of_groups(groups);
    rank.auc_rows = L.labelled;
    rank.mi = mutual_info_bits(cells);
    rank.mi_rows = L.labelled;
    rank.mi_bins = nonempty(cells);
  }
  return j;
}

// ------------------------------------------------------- multi-valued columns

json multi_json(const Column& c, const std::uint8_t* y, std::size_t n, const ProfileConfig& cfg, const Labels& L,
                RankInfo& rank, Workspace& ws) {
  const auto& dict = *c.dictionary;
  const std::size_t K = dict.size();
  CodeStats s;
  s.rows.assign(K, 0);
  s.lab.assign(K, 0);
  s.pos.assign(K, 0);
  std::vector<std::int64_t> last(K, -1);  // last row that counted the name
  std::vector<std::int64_t> per_row(n, 0);
  std::vector<std::uint8_t> valid;
  if (!c.valid.empty()) valid.assign(c.valid.begin(), c.valid.begin() + static_cast<std::ptrdiff_t>(n));
  std::int64_t nulls = 0, entries = 0;
  Cell none;
  std::int64_t none_rows = 0;
  const std::int64_t* off = c.offsets.data();
  const std::int32_t* codes = c.codes.data();
  for (std::size_t i = 0; i < n; ++i) {
    if (!valid.empty() && !valid[i]) {
      ++nulls;
      continue;
    }
    const auto row = static_cast<std::int64_t>(i);
    const std::int64_t lab = y[i] != kUnl, pos = y[i] == kPos;
    std::int64_t d = 0;
    for (auto e = off[i]; e < off[i + 1]; ++e) {
      const auto k = static_cast<std::size_t>(codes[e]);
      if (last[k] == row) continue;
      last[k] = row;
      ++d;
      ++s.rows[k];
      s.lab[k] += lab;
      s.pos[k] += pos;
    }
    entries += off[i + 1] - off[i];
    per_row[i] = d;
    if (d == 0) {
      ++none_rows;
      none.pos += pos;
      none.neg += lab - pos;
    }
  }
  const auto order = top_codes(s.rows, dict);
  json j;
  j["column"] = c.name;
  j["type"] = dtype_name(c.type);
  j["rows"] = n;
  j["distinct"] = order.size();
  j["nulls"] = nulls;
  j["entries"] = entries;
  const Column npr = Column::make_i64(c.name, std::move(per_row), std::move(valid));
  const Numeric ns = collect_numeric(npr, y, n, ws);
  j["names_per_row"] = numeric_json(ns, cfg, L.present, false, rank);
  j["rows_with_none"] = none_rows;
  j["none_share"] = static_cast<double>(none_rows) / static_cast<double>(n);
  if (L.present) j["none_label_rate"] = rate(none.pos, none.pos + none.neg);
  j["top"] = top_json(s, order, dict, static_cast<std::size_t>(cfg.top), n, "name", L.present, L.positives,
                      L.labelled);
  return j;
}

// ------------------------------------------------------- running tasks

void run_tasks(std::vector<std::function<void(Workspace&)>>& tasks, int threads, StageContext& ctx) {
  std::vector<std::exception_ptr> errors(tasks.size());
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex mu;
  auto worker = [&] {
    Workspace ws;  // reused by every column this thread profiles
    for (;;) {
      const std::size_t i = next++;
      if (i >= tasks.size()) return;
      try {
        if (ctx.cancelled()) throw Interrupted("profile: cancelled");
        tasks[i](ws);
      } catch (...) {
        errors[i] = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(mu);
      ctx.progress(static_cast<double>(++done) / static_cast<double>(tasks.size()));
    }
  };
  const int w = std::max(1, std::min(threads, static_cast<int>(tasks.size())));
  if (w == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int k = 1; k < w; ++k) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors)  // the first failing column, whatever the thread count
    if (e) std::rethrow_exception(e);
}

// ------------------------------------------------------- formatting

std::string fmt_g(const json& v, int sig = 6) {
  if (v.is_null()) return "n/a";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", sig, v.get<double>());
  return b;
}
std::string fmt_f(const json& v, int dec = 4) {
  if (v.is_null()) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", dec, v.get<double>());
  return b;
}
std::string cell(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '|')
      o += "\\|";
    else if (ch == '\n' || ch == '\r')
      o += ' ';
    else
      o += ch;
  }
  return o;
}
json get(const json& j, const char* k) { return j.contains(k) ? j[k] : json(nullptr); }

}  // namespace

// ------------------------------------------------------------------ config

ProfileConfig ProfileConfig::from(const ProfileOptions& o) {
  ProfileConfig c;
  c.label = o.label;
  c.positive = o.positive;
  c.negative = o.negative;
  c.columns = o.columns;
  c.exclude = o.exclude;
  c.k = o.k;
  c.top = o.top;
  c.bins = o.bins;
  c.train_only = o.rows == "train";
  return c;
}

std::vector<std::pair<std::string, std::string>> ProfileConfig::problems() const {
  std::vector<std::pair<std::string, std::string>> p;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (!label.empty() && columns[i] == label) p.push_back({"columns", "lists " + qt(label) + ", the label"});
    for (std::size_t j = 0; j < i; ++j)
      if (columns[j] == columns[i]) p.push_back({"columns", "lists " + qt(columns[i]) + " twice"});
  }
  return p;
}

Schema ProfileConfig::schema(SchemaContext& ctx) const {
  if (!label.empty()) ctx.need("label", label);
  for (const auto& c : columns) ctx.need("columns", c);
  if (train_only) ctx.need_split();
  return ctx.input();
}

// ------------------------------------------------------------------ profile

json compute_profile(const Table& in, const ProfileConfig& cfg, StageContext& ctx, int threads) {
  const auto names = feature_columns(in, cfg.label, cfg.columns, cfg.exclude);
  if (!cfg.label.empty()) (void)in.at(cfg.label);
  if (names.empty() && cfg.label.empty())
    throw DataError("nothing to profile: no columns are left (label \"\", exclude removes every column)");

  std::vector<std::uint32_t> subset;
  if (cfg.train_only) {
    if (!in.has_roles())
      throw DataError("rows = \"train\" needs a train/valid/test split, but the table has none "
                      "(a splitter is needed upstream)");
    subset = in.rows_with(Role::Train);
    if (subset.empty()) throw DataError("rows = \"train\": the table has no training rows");
  }
  if (in.rows() == 0) throw DataError("the input table has no rows to profile");

  // Only the columns we read, and (rows = "train") only the training rows.
  std::vector<ColumnPtr> narrow;
  for (const auto& nm : names) narrow.push_back(in.find(nm));
  if (!cfg.label.empty()) narrow.push_back(in.find(cfg.label));
  Table t(narrow);
  if (cfg.train_only) t = t.take(subset);
  const std::size_t n = cfg.train_only ? subset.size() : in.rows();

  const Labels L = build_labels(in, t, cfg, subset, ctx);
  if (L.present && L.nulls > 0) ctx.count("unlabelled." + cfg.label, L.nulls);

  // One task per column; each fills its own slot.
  struct Slot {
    DType type;
    json j;
    RankInfo rank;
  };
  std::vector<Slot> slots(names.size());
  std::vector<std::function<void(Workspace&)>> tasks;
  for (std::size_t c = 0; c < names.size(); ++c) {
    const Column& col = t.at(names[c]);
    slots[c].type = col.type;
    slots[c].rank.column = col.name;
    slots[c].rank.type = dtype_name(col.type);
    tasks.emplace_back([&, c, colp = &col](Workspace& ws) {
      Slot& s = slots[c];
      const std::uint8_t* y = L.y.data();
      switch (colp->type) {
        case DType::Float64:
        case DType::Int64: {
          const Numeric num = collect_numeric(*colp, y, n, ws);
          json j = {{"column", colp->name}, {"type", dtype_name(colp->type)}};
          j.update(numeric_json(num, cfg, L.present, true, s.rank));
          s.j = std::move(j);
          s.rank.auc_of = "value";
          break;
        }
        case DType::Categorical:
          s.j = categorical_json(*colp, y, n, cfg, L, s.rank);
          s.rank.auc_of = "target_mean";
          break;
        case DType::MultiCategorical:
          s.j = multi_json(*colp, y, n, cfg, L, s.rank, ws);
          s.rank.auc_of = "names_per_row";
          break;
      }
    });
  }
  run_tasks(tasks, threads, ctx);

  json out;
  out["stage"] = ctx.stage_id();
  out["rows"] = n;
  out["rows_in"] = in.rows();
  out["rows_profiled"] = cfg.train_only ? "train" : "all";
  out["params"] = {{"k", cfg.k}, {"top", cfg.top}, {"bins", cfg.bins}};
  out["method"] = {{"quantiles", kQuantileMethod}, {"std", kStdMethod}};
  if (L.present) {
    out["method"]["auc"] = kAucMethod;
    out["method"]["mutual_information"] = kMiMethod;
    out["label"] = L.info;
  } else {
    out["label"] = nullptr;
  }
  json numeric = json::array(), categorical = json::array(), multi = json::array();
  for (auto& s : slots) {
    if (s.type == DType::Float64 || s.type == DType::Int64)
      numeric.push_back(std::move(s.j));
    else if (s.type == DType::Categorical)
      categorical.push_back(std::move(s.j));
    else
      multi.push_back(std::move(s.j));
  }
  out["numeric"] = std::move(numeric);
  out["categorical"] = std::move(categorical);
  out["multi"] = std::move(multi);

  if (L.present) {
    std::vector<const RankInfo*> order;
    for (const auto& s : slots) order.push_back(&s.rank);
    auto key = [](double auc_raw) { return std::isnan(auc_raw) ? -1.0 : std::max(auc_raw, 1.0 - auc_raw); };
    std::stable_sort(order.begin(), order.end(), [&](const RankInfo* a, const RankInfo* b) {
      const double ka = key(a->auc_raw), kb = key(b->auc_raw);
      if (ka != kb) return ka > kb;
      const double ma = std::isnan(a->mi) ? -1.0 : a->mi, mb = std::isnan(b->mi) ? -1.0 : b->mi;
      if (ma != mb) return ma > mb;
      return a->column < b->column;
    });
    json ranking = json::array();
    int r = 0;
    for (const auto* x : order) {
      const bool has_auc = !std::isnan(x->auc_raw);
      std::string dir = "none";
      if (x->auc_of == "target_mean")
        dir = "target_mean";
      else if (has_auc && x->auc_raw > 0.5)
        dir = "higher";
      else if (has_auc && x->auc_raw < 0.5)
        dir = "lower";
      ranking.push_back({{"rank", ++r},
                         {"column", x->column},
                         {"type", x->type},
                         {"auc", has_auc ? json(std::max(x->auc_raw, 1.0 - x->auc_raw)) : json(nullptr)},
                         {"auc_raw", num(x->auc_raw)},
                         {"direction", dir},
                         {"auc_of", x->auc_of},
                         {"auc_rows", x->auc_rows},
                         {"mi_bits", num(x->mi)},
                         {"mi_bins", x->mi_bins},
                         {"mi_rows", x->mi_rows}});
    }
    out["ranking"] = std::move(ranking);
    std::vector<std::string> numeric_names;
    for (const auto& s : slots)
      if (s.type == DType::Float64 || s.type == DType::Int64) numeric_names.push_back(s.rank.column);
    out["histograms"] = label_histograms(t, numeric_names, L.y, cfg.bins);
  }
  return out;
}

// ------------------------------------------------------------------ markdown

std::string profile_markdown(const json& p) {
  std::string o;
  auto line = [&](const std::string& s) { o += s + "\n"; };
  line("# Profile `" + p.value("stage", std::string()) + "`");
  line("");
  line("Rows profiled: " + p["rows"].dump() + " of " + p["rows_in"].dump() + " (" +
       (p["rows_profiled"] == "train" ? std::string("training rows") : std::string("all rows")) + ").");
  const bool has_label = !p["label"].is_null();
  if (has_label) {
    const auto& l = p["label"];
    line("");
    line("Label `" + l["column"].get<std::string>() + "` (" + l["type"].get<std::string>() +
         ", positive: " + l["positive"].get<std::string>() + "): rate " + fmt_f(l["rate"]) + " (" +
         l["positives"].dump() + " positives of " + l["labelled"].dump() + " labelled rows, " +
         l["unlabelled"].dump() + " unlabelled); entropy " + fmt_f(l["entropy_bits"]) + " bits.");
  } else {
    line("");
    line("No label: label rates, AUC and mutual information are omitted.");
  }

  if (!p["numeric"].empty()) {
    line("");
    line("## Numeric columns");
    line("");
    line(std::string("Quantiles: ") + kQuantileMethod + ". Std: " + kStdMethod + ".");
    line("");
    line("| column | type | count | nulls | mean | std | min | 25% | 50% | 75% | max | zeros | zero share |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const auto& c : p["numeric"])
      line("| " + cell(c["column"].get<std::string>()) + " | " + c["type"].get<std::string>() + " | " +
           c["count"].dump() + " | " + c["nulls"].dump() + " | " + fmt_g(c["mean"]) + " | " + fmt_g(c["std"]) +
           " | " + fmt_g(c["min"]) + " | " + fmt_g(c["25%"]) + " | " + fmt_g(c["50%"]) + " | " +
           fmt_g(c["75%"]) + " | " + fmt_g(c["max"]) + " | " + c["zeros"].dump() + " | " +
           fmt_f(c["zero_share"]) + " |");
    line("");
    line("### Outliers: above mean + k std (k = " + fmt_g(p["params"]["k"]) + ") against the rest");
    line("");
    if (has_label) {
      line("| column | threshold | rows above | mean above | label rate above | rows below | mean below | "
           "label rate below |");
      line("|---|---:|---:|---:|---:|---:|---:|---:|");
    } else {
      line("| column | threshold | rows above | mean above | rows below | mean below |");
      line("|---|---:|---:|---:|---:|---:|");
    }
    for (const auto& c : p["numeric"]) {
      const auto& o = c["outliers"];
      const json none = json::object();
      const auto& a = o.contains("above") ? o["above"] : none;
      const auto& b = o.contains("below") ? o["below"] : none;
      std::string r = "| " + cell(c["column"].get<std::string>()) + " | " + fmt_g(o["threshold"]) + " | " +
                      fmt_g(get(a, "rows")) + " | " + fmt_g(get(a, "mean")) + " | ";
      if (has_label) r += fmt_f(get(a, "label_rate")) + " | ";
      r += fmt_g(get(b, "rows")) + " | " + fmt_g(get(b, "mean")) + " |";
      if (has_label) r += " " + fmt_f(get(b, "label_rate")) + " |";
      line(r);
    }
  }

  auto top_table = [&](const json& c, const char* key) {
    line("");
    if (has_label) {
      line(std::string("| ") + key + " | rows | share | label rate | label rate of the rest |");
      line("|---|---:|---:|---:|---:|");
    } else {
      line(std::string("| ") + key + " | rows | share |");
      line("|---|---:|---:|");
    }
    for (const auto& e : c["top"]) {
      std::string r = "| " + cell(e[key].get<std::string>()) + " | " + e["rows"].dump() + " | " +
                      fmt_f(e["share"]) + " |";
      if (has_label) r += " " + fmt_f(e["label_rate"]) + " | " + fmt_f(e["rest_label_rate"]) + " |";
      line(r);
    }
  };

  if (!p["categorical"].empty()) {
    line("");
    line("## Categorical columns");
    for (const auto& c : p["categorical"]) {
      line("");
      std::string h = "### `" + c["column"].get<std::string>() + "`: " + c["distinct"].dump() +
                      " distinct values, " + c["nulls"].dump() + " nulls";
      if (has_label) h += " (label rate of nulls " + fmt_f(c["null_label_rate"]) + ")";
      line(h);
      top_table(c, "value");
    }
  }

  if (!p["multi"].empty()) {
    line("");
    line("## Multi-valued columns");
    for (const auto& c : p["multi"]) {
      const auto& npr = c["names_per_row"];
      line("");
      line("### `" + c["column"].get<std::string>() + "`: " + c["distinct"].dump() + " distinct names, " +
           c["nulls"].dump() + " nulls");
      line("");
      std::string s = "Names per row: mean " + fmt_g(npr["mean"]) + ", median " + fmt_g(npr["50%"]) + ", max " +
                      fmt_g(npr["max"]) + ". Rows with none: " + c["rows_with_none"].dump() + " (share " +
                      fmt_f(c["none_share"]);
      if (has_label) s += ", label rate " + fmt_f(c["none_label_rate"]);
      line(s + ").");
      top_table(c, "name");
    }
  }

  if (has_label && p.contains("ranking")) {
    line("");
    line("## Columns ranked by what they tell about the label");
    line("");
    line(std::string("AUC: ") + kAucMethod + ".");
    line("");
    line(std::string("MI: ") + kMiMethod + ".");
    line("");
    line("| rank | column | AUC | direction | AUC of | MI (bits) | rows |");
    line("|---:|---|---:|---|---|---:|---:|");
    for (const auto& r : p["ranking"])
      line("| " + r["rank"].dump() + " | " + cell(r["column"].get<std::string>()) + " | " + fmt_f(r["auc"]) +
           " | " + r["direction"].get<std::string>() + " | " + r["auc_of"].get<std::string>() + " | " +
           fmt_f(r["mi_bits"]) + " | " + r["auc_rows"].dump() + " |");
  }
  return o;
}

std::string profile_summary(const json& p, const std::string& stage_id) {
  std::string o = "profile `" + stage_id + "`: " + p["rows"].dump() + " rows" +
                  (p["rows_profiled"] == "train" ? " (training rows)" : "");
  if (p["label"].is_null()) return o + ", no label (details in profile.md)\n";
  const auto& l = p["label"];
  o += ", " + l["column"].get<std::string>();
  if (l["type"] == "categorical") o += " (positive: " + l["positive"].get<std::string>() + ")";
  o += " rate " + fmt_f(l["rate"]) + " (" + l["positives"].dump() + " of " + l["labelled"].dump() + " labelled)\n\n";
  o += "| rank | column | AUC | direction | MI (bits) |\n|---:|---|---:|---|---:|\n";
  for (const auto& r : p["ranking"])
    o += "| " + r["rank"].dump() + " | " + cell(r["column"].get<std::string>()) + " | " + fmt_f(r["auc"]) + " | " +
         r["direction"].get<std::string>() + " | " + fmt_f(r["mi_bits"]) + " |\n";
  return o;
}

// ------------------------------------------------------------------ stage

Profile::Profile(const Options& o) : cfg_(ProfileConfig::from(o)) {}

Table Profile::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("profile takes exactly one input table");
  const Table& in = *inputs[0];
  const auto t0 = std::chrono::steady_clock::now();
  last_ = compute_profile(in, cfg_, ctx, ctx.threads());
  const auto dir = ctx.artifact_dir();
  write_file_atomic(dir / "profile.json", last_.dump(2) + "\n");
  write_file_atomic(dir / "profile.md", profile_markdown(last_));
  write_file_atomic(dir / "profile.html", profile_html(last_));
  ctx.report(profile_summary(last_, ctx.stage_id()));

  ctx.metric("rows", last_["rows"]);
  if (!last_["label"].is_null()) {
    ctx.metric("label_rate", last_["label"]["rate"]);
    json rank = json::array(), auc = json::object(), mi = json::object();
    for (const auto& r : last_["ranking"]) {
      const auto name = r["column"].get<std::string>();
      rank.push_back(name);
      auc[name] = r["auc"];
      mi[name] = r["mi_bits"];
    }
    ctx.metric("auc_rank", rank);
    ctx.metric("auc", auc);
    ctx.metric("mi_bits", mi);
  }
  ctx.measure("profile_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  ctx.progress(1.0);
  return in;  // unchanged: every column shared
}

}  // namespace pipectl::plugins
