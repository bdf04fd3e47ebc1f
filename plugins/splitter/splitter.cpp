#include "splitter.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
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

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

/// splitmix64's finaliser: a bijection of 64-bit words with full avalanche.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Little-endian byte strings for the collective (every worker runs this same code).
void put_u64(std::string& out, std::uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}
void put_str(std::string& out, const std::string& v) {
  put_u64(out, v.size());
  out += v;
}
struct Reader {
  const std::string& s;
  std::size_t p = 0;
  std::uint64_t u64() {
    if (s.size() - p < 8) throw Error("splitter: truncated message from another worker");
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[p + b])) << (8 * b);
    p += 8;
    return v;
  }
  std::string str() {
    const auto n = u64();
    if (s.size() - p < n) throw Error("splitter: truncated message from another worker");
    std::string v = s.substr(p, n);
    p += n;
    return v;
  }
  bool done() const { return p == s.size(); }
};

bool null_at(const Column& c, std::size_t i) {
  return c.is_null(i) || (c.type == DType::Categorical && c.codes[i] < 0);
}

/// Per-row hash of one key column's value (NULL -> split_null_hash()).
std::vector<std::uint64_t> value_hashes(const Column& c, const char* param) {
  const std::size_t n = c.rows();
  std::vector<std::uint64_t> h(n, split_null_hash());
  if (c.type == DType::Categorical) {
    std::vector<std::uint64_t> of_code(c.dictionary->size());
    for (std::size_t k = 0; k < of_code.size(); ++k) of_code[k] = split_value_hash((*c.dictionary)[k]);
    for (std::size_t i = 0; i < n; ++i)
      if (c.codes[i] >= 0 && !c.is_null(i)) h[i] = of_code[static_cast<std::size_t>(c.codes[i])];
  } else if (c.type == DType::Int64) {
    for (std::size_t i = 0; i < n; ++i)
      if (!c.is_null(i)) h[i] = split_value_hash(c.i64[i]);
  } else {
    throw DataError(std::string(param) + " column \"" + c.name + "\" is " + dtype_name(c.type) +
                    "; it must be categorical or int64");
  }
  return h;
}

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

/// Deal one stratum's groups, in the order given (`sizes`: each group's rows),
/// into train / valid / test: each to the split furthest below its share of
/// the stratum's rows; once only as many groups are left as splits still
/// empty, they go to the empty splits (when the stratum has at least one
/// group per split of positive fraction). Returns each group's split (0..2).
std::vector<std::uint8_t> deal_groups(const std::vector<double>& sizes, const std::array<double, 3>& fractions) {
  std::size_t positive = 0;
  for (int s = 0; s < 3; ++s) positive += fractions[s] > 0;
  double total = 0;
  for (double x : sizes) total += x;
  std::array<double, 3> deficit;
  for (int s = 0; s < 3; ++s) deficit[s] = fractions[s] * total;
  std::array<std::size_t, 3> taken{0, 0, 0};
  std::size_t empty = positive;
  std::vector<std::uint8_t> out(sizes.size());
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const std::size_t left = sizes.size() - k;
    const bool must_fill = sizes.size() >= positive && left <= empty;
    int best = -1;
    for (int s = 0; s < 3; ++s) {
      if (!(fractions[s] > 0)) continue;
      if (must_fill && taken[s] > 0) continue;
      if (best < 0 || deficit[s] > deficit[best]) best = s;
    }
    if (best < 0) best = 0;  // all fractions zero cannot happen (they sum to 1)
    if (taken[best]++ == 0 && fractions[best] > 0) --empty;
    deficit[best] -= sizes[k];
    out[k] = static_cast<std::uint8_t>(best);
  }
  return out;
}

}  // namespace

const char* const kShuffleOnWorkersError =
    "method \"shuffle\" splits by row position within one process; on several workers use method = \"hash\" "
    "(each row's split then depends only on its key)";

std::uint64_t split_value_hash(std::int64_t v) { return mix64(static_cast<std::uint64_t>(v) ^ 0x6A09E667F3BCC908ULL); }

std::uint64_t split_value_hash(const std::string& label) {
  // Length first, then 8-byte little-endian words (the last zero-padded), each
  // through the bijective finaliser before it is folded in.
  std::uint64_t h = mix64(label.size() ^ 0xBB67AE8584CAA73BULL);
  const auto* b = reinterpret_cast<const unsigned char*>(label.data());
  for (std::size_t p = 0; p < label.size(); p += 8) {
    std::uint64_t w = 0;
    for (std::size_t k = 0; k < 8 && p + k < label.size(); ++k) w |= static_cast<std::uint64_t>(b[p + k]) << (8 * k);
    h = mix64((h + kGolden) ^ mix64(w + kGolden));
  }
  return h;
}

std::uint64_t split_null_hash() { return 0x3C6EF372FE94F82BULL; }

Role hash_role(double u, const std::array<double, 3>& f) {
  // u < train -> train; u >= 1 - test -> test; valid between. A zero fraction
  // gets no row (the sliver left by rounding goes to a split that has a share).
  if (u < f[0]) return Role::Train;
  if (f[2] > 0 && u >= 1.0 - f[2]) return Role::Test;
  if (f[1] > 0) return Role::Valid;
  return f[2] > 0 ? Role::Test : Role::Train;
}

double split_unit(std::uint64_t seed, const std::uint64_t* value_hashes, std::size_t n) {
  std::uint64_t h = mix64(seed ^ 0xA54FF53A5F1D36F1ULL);
  for (std::size_t k = 0; k < n; ++k) h = mix64((h + kGolden) ^ value_hashes[k]);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

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
  const std::string method = p.str("method");
  if (method != "shuffle" && method != "hash" && method != "groups")
    throw Error("splitter: method must be \"shuffle\", \"hash\" or \"groups\", got \"" + method + "\"");
  c.hash = method == "hash";
  c.groups = method == "groups";
  if (c.groups && c.group.empty()) throw Error("splitter: method \"groups\" needs a group column (parameter group)");
  c.folds = p.has("folds") ? p.integer("folds") : 0;
  c.fold = p.has("fold") ? p.integer("fold") : 0;
  if (c.folds != 0 && !c.groups) throw Error("splitter: folds needs method \"groups\"");
  if (c.folds == 1 || c.folds < 0) throw Error("splitter: folds must be 0 (none) or at least 2, got " + std::to_string(c.folds));
  if (c.folds >= 2 && (c.fold < 0 || c.fold >= c.folds))
    throw Error("splitter: fold must be in 0 .. " + std::to_string(c.folds - 1) + ", got " + std::to_string(c.fold));
  c.key = p.strings("key");
  if (c.hash && c.key.empty()) throw Error("splitter: key must name at least one column when method is \"hash\"");
  return c;
}

Schema SplitterConfig::schema(SchemaContext& ctx) const {
  if (!stratify.empty()) ctx.need("stratify", stratify);
  if (!group.empty() && group != stratify) ctx.need("group", group);
  if (hash || groups)
    for (const auto& c : key)
      if (c != stratify && c != group) ctx.need("key", c);
  Schema out = ctx.input();
  if (!group.empty())
    if (const auto* g = out.find(group); g && g->role == ColumnRole::Feature) {
      ColumnSchema x = *g;
      x.role = ColumnRole::Group;
      out.set(x);
    }
  out.split = true;
  return out;
}

Splitter::Splitter(const Params& p) : cfg_(SplitterConfig::from(p)) {}

Table Splitter::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("splitter takes exactly one input table");
  const Table& in = *inputs[0];
  const std::size_t n = in.rows();
  Collective& coll = ctx.collective();
  // Apply mode assigns no split (every row is a test row), so it runs anywhere.
  if (ctx.mode() == Mode::Fit && coll.distributed() && !cfg_.hash && !cfg_.groups) throw Error(kShuffleOnWorkersError);
  auto roles = std::make_shared<std::vector<Role>>(n, Role::Test);
  std::array<std::int64_t, 3> rows_in{0, 0, 0};

  if (ctx.mode() == Mode::Apply) {
    rows_in[2] = static_cast<std::int64_t>(n);
  } else if (cfg_.hash) {
    run_hash(ctx, in, *roles);
    for (auto r : *roles) ++rows_in[static_cast<int>(r) - 1];
  } else if (cfg_.groups) {
    run_groups(ctx, in, *roles);
    for (auto r : *roles) ++rows_in[static_cast<int>(r) - 1];
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
      for (auto& gs : members) {
        rng.shuffle(gs);
        std::vector<double> sizes(gs.size());
        for (std::size_t k = 0; k < gs.size(); ++k) sizes[k] = size[gs[k]];
        const auto dealt = deal_groups(sizes, cfg_.fractions);
        for (std::size_t k = 0; k < gs.size(); ++k) {
          gsplit[gs[k]] = dealt[k];
          ++groups_in[dealt[k]];
        }
      }
      for (std::size_t i = 0; i < n; ++i) (*roles)[i] = kRoles[gsplit[gid[i]]];
      for (int s = 0; s < 3; ++s) ctx.count(std::string("groups.") + kSplitNames[s], groups_in[s]);
    }
    for (auto r : *roles) ++rows_in[static_cast<int>(r) - 1];
  }
  coll.allreduce(rows_in.data(), rows_in.size(), ReduceOp::Sum);  // global counts on every worker
  for (int s = 0; s < 3; ++s) ctx.count(std::string("rows.") + kSplitNames[s], rows_in[s]);
  return in.with_roles(std::move(roles));
}

void Splitter::run_hash(StageContext& ctx, const Table& in, std::vector<Role>& roles) const {
  const std::size_t n = in.rows();
  Collective& coll = ctx.collective();
  const std::uint64_t seed = cfg_.seed >= 0 ? static_cast<std::uint64_t>(cfg_.seed) : ctx.seed();
  // Check every column first (the same on every worker, before any collective call).
  std::vector<std::uint64_t> strat_h, group_h;
  if (!cfg_.stratify.empty()) {
    std::size_t distinct = 0;
    (void)dense_ids(in.at(cfg_.stratify), "stratify", distinct);
  }
  if (!cfg_.group.empty()) group_h = value_hashes(in.at(cfg_.group), "group");
  std::vector<std::vector<std::uint64_t>> key_h;
  for (const auto& k : cfg_.key) key_h.push_back(value_hashes(in.at(k), "key"));

  const Column* group = cfg_.group.empty() ? nullptr : &in.at(cfg_.group);
  std::vector<std::uint64_t> row(cfg_.key.size());
  for (std::size_t i = 0; i < n; ++i) {
    double u;
    if (group && !null_at(*group, i)) {
      u = split_unit(seed, &group_h[i], 1);
    } else {
      for (std::size_t k = 0; k < row.size(); ++k) row[k] = key_h[k][i];
      u = split_unit(seed, row.data(), row.size());
    }
    roles[i] = hash_role(u, cfg_.fractions);
  }

  if (!cfg_.group.empty()) {
    // Distinct groups per split over all workers: each worker sends the hashes
    // of its groups' values (a group has one split wherever its rows are);
    // NULL-group rows are groups of one row and are just summed.
    const Column& g = in.at(cfg_.group);
    std::vector<std::pair<std::uint64_t, std::uint8_t>> mine;
    std::array<std::int64_t, 3> singles{0, 0, 0};
    for (std::size_t i = 0; i < n; ++i) {
      const int s = static_cast<int>(roles[i]) - 1;
      if (null_at(g, i))
        ++singles[s];
      else
        mine.emplace_back(group_h[i], static_cast<std::uint8_t>(s));
    }
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    std::string bytes;
    for (auto& [h, s] : mine) {
      put_u64(bytes, h);
      put_u64(bytes, s);
    }
    std::vector<std::pair<std::uint64_t, std::uint8_t>> all;
    for (const auto& b : coll.allgather(bytes)) {
      Reader rd{b};
      while (!rd.done()) {
        const auto h = rd.u64();
        all.emplace_back(h, static_cast<std::uint8_t>(rd.u64() % 3));
      }
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    coll.allreduce(singles.data(), singles.size(), ReduceOp::Sum);
    std::array<std::int64_t, 3> groups_in = singles;
    for (auto& [h, s] : all) ++groups_in[s];
    for (int s = 0; s < 3; ++s) ctx.count(std::string("groups.") + kSplitNames[s], groups_in[s]);
  }

  if (!cfg_.stratify.empty()) {
    // Achieved per-class fractions over all workers, by value (labels, not codes).
    const Column& c = in.at(cfg_.stratify);
    std::map<std::pair<int, std::string>, std::array<std::int64_t, 3>> per;  // (0 NULL / 1 value, label)
    std::map<std::int64_t, std::array<std::int64_t, 3>> per_int;
    for (std::size_t i = 0; i < n; ++i) {
      const int s = static_cast<int>(roles[i]) - 1;
      if (null_at(c, i))
        ++per[{0, ""}][s];
      else if (c.type == DType::Int64)
        ++per_int[c.i64[i]][s];
      else
        ++per[{1, c.label(i)}][s];
    }
    std::string bytes;
    for (auto& [k, cnt] : per) {
      put_u64(bytes, static_cast<std::uint64_t>(k.first));
      put_str(bytes, k.second);
      for (auto x : cnt) put_u64(bytes, static_cast<std::uint64_t>(x));
    }
    for (auto& [v, cnt] : per_int) {
      put_u64(bytes, 2);
      put_u64(bytes, static_cast<std::uint64_t>(v));
      for (auto x : cnt) put_u64(bytes, static_cast<std::uint64_t>(x));
    }
    per.clear();
    per_int.clear();
    for (const auto& b : coll.allgather(bytes)) {
      Reader rd{b};
      while (!rd.done()) {
        const auto kind = rd.u64();
        std::array<std::int64_t, 3>* cnt;
        if (kind == 2) {
          const auto v = static_cast<std::int64_t>(rd.u64());
          cnt = &per_int[v];
        } else {
          auto label = rd.str();
          cnt = &per[{static_cast<int>(kind), std::move(label)}];
        }
        for (auto& x : *cnt) x += static_cast<std::int64_t>(rd.u64());
      }
    }
    std::ostringstream o;
    o << "hash split, achieved fractions per class of \"" << cfg_.stratify << "\" (exact only in expectation):";
    auto line = [&](const std::string& name, const std::array<std::int64_t, 3>& cnt) {
      const double m = static_cast<double>(cnt[0] + cnt[1] + cnt[2]);
      o << " " << name << ": " << cnt[0] + cnt[1] + cnt[2] << " rows";
      for (int s = 0; s < 3; ++s) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", m > 0 ? static_cast<double>(cnt[s]) / m : 0.0);
        o << (s ? ", " : " (") << kSplitNames[s] << " " << buf;
      }
      o << ");";
    };
    for (auto& [k, cnt] : per)
      if (k.first == 0) line("NULL", cnt);
    for (auto& [v, cnt] : per_int) line(std::to_string(v), cnt);
    for (auto& [k, cnt] : per)
      if (k.first == 1) line("\"" + k.second + "\"", cnt);
    std::string text = o.str();
    text.pop_back();
    ctx.info(text);
  }
}

void Splitter::run_groups(StageContext& ctx, const Table& in, std::vector<Role>& roles) const {
  const std::size_t n = in.rows();
  Collective& coll = ctx.collective();
  const std::uint64_t seed = cfg_.seed >= 0 ? static_cast<std::uint64_t>(cfg_.seed) : ctx.seed();
  // Check every column first (the same on every worker, before any collective call).
  const Column& g = in.at(cfg_.group);
  std::vector<std::uint64_t> group_h = value_hashes(g, "group");
  const Column* strat = nullptr;
  if (!cfg_.stratify.empty()) {
    std::size_t distinct = 0;
    (void)dense_ids(in.at(cfg_.stratify), "stratify", distinct);
    strat = &in.at(cfg_.stratify);
  }
  std::vector<std::vector<std::uint64_t>> key_h;
  for (const auto& k : cfg_.key) key_h.push_back(value_hashes(in.at(k), "key"));
  // A NULL group value: the row is a group of its own, named by its key.
  std::vector<std::uint64_t> row(cfg_.key.size());
  for (std::size_t i = 0; i < n; ++i)
    if (null_at(g, i)) {
      for (std::size_t k = 0; k < row.size(); ++k) row[k] = key_h[k][i];
      std::uint64_t h = 0x510E527FADE682D1ULL;
      for (auto x : row) h = mix64((h + kGolden) ^ x);
      group_h[i] = h;
    }
  // The class of a row as a sortable key: NULL first, then int64 values, then labels.
  auto class_key = [&](std::size_t i) -> std::string {
    if (!strat || null_at(*strat, i)) return std::string();
    if (strat->type == DType::Int64) {
      std::string k = "\x01";
      put_u64(k, static_cast<std::uint64_t>(strat->i64[i]) ^ 0x8000000000000000ULL);  // signed order
      std::reverse(k.begin() + 1, k.end());  // big-endian: byte order = numeric order
      return k;
    }
    return "\x02" + strat->label(i);
  };
  std::map<std::uint64_t, std::map<std::string, std::int64_t>> mine;
  for (std::size_t i = 0; i < n; ++i) ++mine[group_h[i]][class_key(i)];
  std::string bytes;
  for (const auto& [h, classes] : mine)
    for (const auto& [k, cnt] : classes) {
      put_u64(bytes, h);
      put_str(bytes, k);
      put_u64(bytes, static_cast<std::uint64_t>(cnt));
    }
  std::map<std::uint64_t, std::map<std::string, std::int64_t>> all;
  for (const auto& b : coll.allgather(bytes)) {
    Reader rd{b};
    while (!rd.done()) {
      const auto h = rd.u64();
      auto k = rd.str();
      all[h][std::move(k)] += static_cast<std::int64_t>(rd.u64());
    }
  }
  // Strata of groups by majority class; within each, hashed order.
  std::map<std::string, std::vector<std::pair<double, std::uint64_t>>> strata;
  std::map<std::uint64_t, std::int64_t> size;
  for (const auto& [h, classes] : all) {
    const std::string* best = nullptr;
    std::int64_t best_n = -1, total = 0;
    for (const auto& [k, cnt] : classes) {
      total += cnt;
      if (cnt > best_n) {
        best_n = cnt;
        best = &k;
      }
    }
    size[h] = total;
    strata[*best].emplace_back(split_unit(seed, &h, 1), h);
  }
  std::map<std::uint64_t, std::uint8_t> split_of;
  std::array<std::int64_t, 3> groups_in{0, 0, 0};
  if (cfg_.folds >= 2) {
    // K folds of equal share per stratum, each group to the fold furthest below its share.
    const auto k_folds = static_cast<std::size_t>(cfg_.folds);
    const auto test = static_cast<std::size_t>(cfg_.fold), valid = (test + 1) % k_folds;
    for (auto& [k, gs] : strata) {
      std::sort(gs.begin(), gs.end());
      std::vector<double> filled(k_folds, 0.0);
      for (std::size_t j = 0; j < gs.size(); ++j) {
        // The first K groups open the K folds (in hashed order), then the emptiest fold takes the next.
        std::size_t best = 0;
        for (std::size_t f = 1; f < k_folds; ++f)
          if (filled[f] < filled[best]) best = f;
        filled[best] += static_cast<double>(size[gs[j].second]);
        const int s = best == test ? 2 : (best == valid ? 1 : 0);
        split_of[gs[j].second] = static_cast<std::uint8_t>(s);
        ++groups_in[s];
      }
    }
    for (std::size_t i = 0; i < n; ++i) roles[i] = kRoles[split_of.at(group_h[i])];
    for (int s = 0; s < 3; ++s) ctx.count(std::string("groups.") + kSplitNames[s], groups_in[s]);
    return;
  }
  for (auto& [k, gs] : strata) {
    std::sort(gs.begin(), gs.end());
    std::vector<double> sizes(gs.size());
    for (std::size_t j = 0; j < gs.size(); ++j) sizes[j] = static_cast<double>(size[gs[j].second]);
    const auto dealt = deal_groups(sizes, cfg_.fractions);
    for (std::size_t j = 0; j < gs.size(); ++j) {
      split_of[gs[j].second] = dealt[j];
      ++groups_in[dealt[j]];
    }
  }
  for (std::size_t i = 0; i < n; ++i) roles[i] = kRoles[split_of.at(group_h[i])];
  for (int s = 0; s < 3; ++s) ctx.count(std::string("groups.") + kSplitNames[s], groups_in[s]);
}

}  // namespace pipectl::plugins
