#include "splitter.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

namespace pipectl::plugins {

namespace {

constexpr std::uint32_t kNull = std::numeric_limits<std::uint32_t>::max();
constexpr Role kRoles[3] = {Role::Train, Role::Valid, Role::Test};
const char* const kSplitNames[3] = {"train", "valid", "test"};

std::string shortest(double d) {
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, d);
  return std::string(b, r.ptr);
}

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/// Dense ids of a column's values in ascending key order (categorical: code
/// order, int64: value order); NULL rows get kNull. `distinct` = number of ids.
std::vector<std::uint32_t> dense_ids(const Column& c, const char* param, std::size_t& distinct) {
  const std::size_t n = c.rows();
  std::vector<std::uint32_t> id(n, kNull);
  if (c.type == DType::Categorical) {
    std::vector<std::uint32_t> rank(c.dictionary->size(), 0);
    for (std::size_t i = 0; i < n; ++i)
      if (c.codes[i] >= 0 && !c.is_null(i)) rank[static_cast<std::size_t>(c.codes[i])] = 1;
    std::uint32_t next = 0;
    for (auto& r : rank) r = r ? next++ : kNull;
    for (std::size_t i = 0; i < n; ++i)
      if (c.codes[i] >= 0 && !c.is_null(i)) id[i] = rank[static_cast<std::size_t>(c.codes[i])];
    distinct = next;
  } else if (c.type == DType::Int64) {
    std::vector<std::int64_t> values;
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      if (!c.is_null(i)) values.push_back(c.i64[i]);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (std::size_t i = 0; i < n; ++i)
      if (!c.is_null(i))
        id[i] = static_cast<std::uint32_t>(std::lower_bound(values.begin(), values.end(), c.i64[i]) - values.begin());
    distinct = values.size();
  } else {
    throw DataError(std::string(param) + " column \"" + c.name + "\" is " + dtype_name(c.type) +
                    "; it must be categorical or int64");
  }
  return id;
}

}  // namespace

SplitRng::SplitRng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

std::uint64_t SplitRng::next() {
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

std::uint64_t SplitRng::below(std::uint64_t n) {
  // Reject the low (2^64 mod n) values so every residue is equally likely.
  const std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    const std::uint64_t r = next();
    if (r >= threshold) return r % n;
  }
}

std::array<std::size_t, 3> apportion(std::size_t m, const std::array<double, 3>& f) {
  std::array<std::size_t, 3> c{0, 0, 0};
  std::array<double, 3> frac{0, 0, 0};
  std::size_t sum = 0;
  for (int s = 0; s < 3; ++s) {
    const double x = static_cast<double>(m) * f[s];
    const double fl = std::floor(x + 1e-9);
    c[s] = static_cast<std::size_t>(std::max(0.0, fl));
    frac[s] = f[s] > 0 ? std::max(0.0, x - fl) : -1.0;
    sum += c[s];
  }
  while (sum > m) {  // only from rounding noise
    int big = 0;
    for (int s = 1; s < 3; ++s)
      if (c[s] > c[big]) big = s;
    --c[big];
    --sum;
  }
  std::array<int, 3> order{0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return frac[a] > frac[b]; });
  for (std::size_t k = 0; sum < m; ++k, ++sum) ++c[order[k % 3]];
  std::size_t positive = 0;
  for (int s = 0; s < 3; ++s) positive += f[s] > 0;
  if (m >= positive)
    for (int s = 0; s < 3; ++s)
      if (f[s] > 0 && c[s] == 0) {
        int big = 0;
        for (int t = 1; t < 3; ++t)
          if (c[t] > c[big]) big = t;
        --c[big];
        ++c[s];
      }
  return c;
}

SplitterConfig SplitterConfig::from(const Params& p) {
  SplitterConfig c;
  c.fractions = {p.number("train"), p.number("valid"), p.number("test")};
  for (int s = 0; s < 3; ++s)
    if (!(c.fractions[s] >= 0 && c.fractions[s] <= 1))
      throw Error(std::string("splitter: ") + kSplitNames[s] + " must be in [0, 1], got " + shortest(c.fractions[s]));
  const double sum = c.fractions[0] + c.fractions[1] + c.fractions[2];
  if (std::fabs(sum - 1.0) > 1e-9) {
    std::ostringstream o;
    o << sum;
    throw Error("splitter: train + valid + test must sum to 1, got " + shortest(c.fractions[0]) + " + " +
                shortest(c.fractions[1]) + " + " + shortest(c.fractions[2]) + " = " + o.str());
  }
  c.stratify = p.str("stratify");
  c.group = p.str("group");
  c.seed = p.integer("seed");
  if (c.seed < -1) throw Error("splitter: seed must be -1 or at least 0, got " + std::to_string(c.seed));
  return c;
}

Contract SplitterConfig::contract() const {
  Contract k;
  if (!stratify.empty()) k.needs.push_back(stratify);
  if (!group.empty() && group != stratify) k.needs.push_back(group);
  k.makes_split = true;
  return k;
}

Splitter::Splitter(const Params& p) : cfg_(SplitterConfig::from(p)) {}

Table Splitter::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("splitter takes exactly one input table");
  const Table& in = *inputs[0];
  const std::size_t n = in.rows();
  auto roles = std::make_shared<std::vector<Role>>(n, Role::Test);
  std::array<std::int64_t, 3> rows_in{0, 0, 0};

  if (ctx.mode() == Mode::Apply) {
    rows_in[2] = static_cast<std::int64_t>(n);
  } else {
    // Stratum of each row: NULL first, then values in key order.
    std::vector<std::uint32_t> stratum(n, 0);
    std::size_t strata = 1;
    if (!cfg_.stratify.empty()) {
      std::size_t distinct = 0;
      auto id = dense_ids(in.at(cfg_.stratify), "stratify", distinct);
      const bool any_null = std::find(id.begin(), id.end(), kNull) != id.end();
      for (std::size_t i = 0; i < n; ++i) stratum[i] = id[i] == kNull ? 0 : id[i] + (any_null ? 1 : 0);
      strata = distinct + (any_null ? 1 : 0);
    }
    SplitRng rng(cfg_.seed >= 0 ? static_cast<std::uint64_t>(cfg_.seed) : ctx.seed());

    if (cfg_.group.empty()) {
      std::vector<std::vector<std::uint32_t>> members(strata);
      for (std::size_t i = 0; i < n; ++i) members[stratum[i]].push_back(static_cast<std::uint32_t>(i));
      for (auto& rows : members) {
        rng.shuffle(rows);
        const auto c = apportion(rows.size(), cfg_.fractions);
        std::size_t k = 0;
        for (int s = 0; s < 3; ++s)
          for (std::size_t j = 0; j < c[s]; ++j) (*roles)[rows[k++]] = kRoles[s];
      }
    } else {
      // Groups: values in key order, then each NULL-group row on its own.
      std::size_t distinct = 0;
      auto gid = dense_ids(in.at(cfg_.group), "group", distinct);
      std::size_t groups = distinct;
      for (auto& g : gid)
        if (g == kNull) g = static_cast<std::uint32_t>(groups++);
      std::vector<std::uint32_t> size(groups, 0);
      for (auto g : gid) ++size[g];
      // Majority stratum per group (ties: the smaller stratum id).
      std::vector<std::uint32_t> gstratum(groups, 0);
      if (strata > 1) {
        std::vector<std::uint32_t> start(groups + 1, 0), order(n);
        for (std::size_t g = 0; g < groups; ++g) start[g + 1] = start[g] + size[g];
        std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < n; ++i) order[fill[gid[i]]++] = static_cast<std::uint32_t>(i);
        std::vector<std::uint32_t> votes(strata, 0);
        for (std::size_t g = 0; g < groups; ++g) {
          std::uint32_t best = 0;
          for (auto k = start[g]; k < start[g + 1]; ++k) ++votes[stratum[order[k]]];
          for (auto k = start[g]; k < start[g + 1]; ++k) {
            const auto s = stratum[order[k]];
            if (votes[s] > votes[best] || (votes[s] == votes[best] && s < best)) best = s;
          }
          if (votes[best] == 0) best = stratum[order[start[g]]];
          gstratum[g] = best;
          for (auto k = start[g]; k < start[g + 1]; ++k) votes[stratum[order[k]]] = 0;
        }
      }
      std::vector<std::vector<std::uint32_t>> members(strata);
      for (std::size_t g = 0; g < groups; ++g) members[gstratum[g]].push_back(static_cast<std::uint32_t>(g));
      std::vector<std::uint8_t> gsplit(groups, 0);
      std::array<std::int64_t, 3> groups_in{0, 0, 0};
      std::size_t positive = 0;
      for (int s = 0; s < 3; ++s) positive += cfg_.fractions[s] > 0;
      for (auto& gs : members) {
        rng.shuffle(gs);
        double total = 0;
        for (auto g : gs) total += size[g];
        std::array<double, 3> deficit;
        for (int s = 0; s < 3; ++s) deficit[s] = cfg_.fractions[s] * total;
        std::array<std::size_t, 3> taken{0, 0, 0};
        std::size_t empty = positive;
        for (std::size_t k = 0; k < gs.size(); ++k) {
          const std::size_t left = gs.size() - k;
          const bool must_fill = gs.size() >= positive && left <= empty;
          int best = -1;
          for (int s = 0; s < 3; ++s) {
            if (!(cfg_.fractions[s] > 0)) continue;
            if (must_fill && taken[s] > 0) continue;
            if (best < 0 || deficit[s] > deficit[best]) best = s;
          }
          if (best < 0) best = 0;  // all fractions zero cannot happen (they sum to 1)
          if (taken[best]++ == 0 && cfg_.fractions[best] > 0) --empty;
          deficit[best] -= size[gs[k]];
          gsplit[gs[k]] = static_cast<std::uint8_t>(best);
          ++groups_in[best];
        }
      }
      for (std::size_t i = 0; i < n; ++i) (*roles)[i] = kRoles[gsplit[gid[i]]];
      for (int s = 0; s < 3; ++s) ctx.count(std::string("groups.") + kSplitNames[s], groups_in[s]);
    }
    for (auto r : *roles) ++rows_in[static_cast<int>(r) - 1];
  }
  for (int s = 0; s < 3; ++s) ctx.count(std::string("rows.") + kSplitNames[s], rows_in[s]);
  return in.with_roles(std::move(roles));
}

}  // namespace pipectl::plugins
