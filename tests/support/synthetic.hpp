// Synthetic tables for the trainers' tests (xgboost, liblinear, mlp) and what
// they score them with: a seeded generator, the pieces of a table of network
// sessions with a 60/20/20 train/valid/test split, the exact ROC AUC.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/plugin.hpp>
#include <pipectl/table.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace pipectl::synthetic {

/// SplitMix64: small, seeded, the same stream on every platform.
struct SplitMix64 {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

/// One row's names of the "dns" column (none, one or two of three, drawn
/// from `g`), appended to its buffers. True when "a.example" is among them.
inline bool draw_dns(SplitMix64& g, std::vector<std::int32_t>& dns, std::vector<std::int64_t>& offsets) {
  bool has_a = false;
  if (g.uniform() < 0.5) {
    const auto d = static_cast<std::int32_t>(g.next() % 3);
    dns.push_back(d);
    has_a = has_a || d == 0;
  }
  if (g.uniform() < 0.3) {
    const auto d = static_cast<std::int32_t>(g.next() % 3);
    dns.push_back(d);
    has_a = has_a || d == 0;
  }
  offsets.push_back(static_cast<std::int64_t>(dns.size()));
  return has_a;
}

/// The multi-categorical "dns" column over {"a.example", "b.example", "c.example"}.
inline Column dns_column(std::vector<std::int64_t> offsets, std::vector<std::int32_t> dns) {
  return Column::make_multi("dns", std::move(offsets), std::move(dns),
                            std::make_shared<Dictionary>(Dictionary{"a.example", "b.example", "c.example"}));
}

/// A row's role, drawn from `g`: Train 60 %, Valid 20 %, Test 20 %.
inline Role draw_role(SplitMix64& g) {
  const double u = g.uniform();
  return u < 0.6 ? Role::Train : (u < 0.8 ? Role::Valid : Role::Test);
}

/// The table of `columns` with the split `roles`, "no,yes" as the names of
/// is_iot's classes, checked.
inline Table split_table(std::vector<Column> columns, std::shared_ptr<std::vector<Role>> roles) {
  std::vector<ColumnPtr> cols;
  for (auto& c : columns) cols.push_back(std::make_shared<const Column>(std::move(c)));
  Table t(cols);
  t = t.with_roles(std::move(roles)).with_meta("label_names.is_iot", "no,yes");
  t.check();
  return t;
}

enum class LabelKind { Binary, ThreeClass, AllZero, Imbalanced };

/// n rows: sessionid, bytes (int64, large scale), ratio (float64, some NULL),
/// kind (categorical), dns (multi-categorical), a label depending on them
/// ("is_iot" 0/1, or "device" low/mid/high for ThreeClass) and a 60/20/20
/// train/valid/test split. With `interaction`, the label also depends on an
/// interaction of kind and bytes, which a linear model cannot see.
inline Table sessions_table(std::size_t n, LabelKind kind, bool interaction = false, std::uint64_t seed = 11) {
  SplitMix64 g{seed};
  std::vector<std::int64_t> sid(n), bytes(n), y(n);
  std::vector<double> ratio(n);
  std::vector<std::uint8_t> ratio_valid(n, 1);
  std::vector<std::int32_t> cat(n), cls(n);
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> dns;
  auto roles = std::make_shared<std::vector<Role>>(n);
  for (std::size_t i = 0; i < n; ++i) {
    sid[i] = static_cast<std::int64_t>(5000 + i);
    const double z1 = g.normal(), z2 = g.normal();
    bytes[i] = static_cast<std::int64_t>(std::llround(200000.0 + 60000.0 * z1));
    ratio[i] = z2;
    if (g.uniform() < 0.05) ratio_valid[i] = 0, ratio[i] = 0.0;
    cat[i] = static_cast<std::int32_t>(g.next() % 3);
    const bool has_a = draw_dns(g, dns, offsets);
    const double r = ratio_valid[i] ? z2 : 0.0;
    const double score = 1.6 * z1 + 1.0 * r + (cat[i] == 0 ? 1.2 : 0.0) + (has_a ? 1.0 : 0.0) +
                         (interaction && cat[i] == 2 ? -1.2 * z1 : 0.0) - 0.9 + 0.4 * g.normal();
    switch (kind) {
      case LabelKind::Binary: y[i] = score > 0 ? 1 : 0; break;
      case LabelKind::Imbalanced: y[i] = score > 2.2 ? 1 : 0; break;
      case LabelKind::AllZero: y[i] = 0; break;
      case LabelKind::ThreeClass: cls[i] = score < -0.5 ? 0 : (score < 1.2 ? 1 : 2); break;
    }
    (*roles)[i] = draw_role(g);
  }
  std::vector<Column> cols;
  cols.push_back(Column::make_i64("sessionid", sid));
  cols.push_back(Column::make_i64("bytes", bytes));
  cols.push_back(Column::make_f64("ratio", ratio, ratio_valid));
  cols.push_back(Column::make_cat("kind", cat, std::make_shared<Dictionary>(Dictionary{"cam", "plug", "tv"})));
  cols.push_back(dns_column(offsets, dns));
  if (kind == LabelKind::ThreeClass)
    cols.push_back(Column::make_cat("device", cls, std::make_shared<Dictionary>(Dictionary{"low", "mid", "high"})));
  else
    cols.push_back(Column::make_i64("is_iot", y));
  return split_table(std::move(cols), roles);
}

/// A stage's one input.
inline std::vector<TablePtr> in(const Table& t) { return {std::make_shared<const Table>(t)}; }

/// The message of the DataError that running `st` on `t` throws, or
/// "(no DataError)".
template <class S>
std::string data_error(S& st, StageContext& ctx, const Table& t) {
  try {
    st.run(ctx, in(t));
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

/// Exact binary ROC AUC (average ranks for ties) over the rows with role r.
inline double auc(const Table& t, const std::string& label, const std::string& score, Role r) {
  const auto rows = t.rows_with(r);
  const auto& y = t.at(label).i64;
  const auto& p = t.at(score).f64;
  std::vector<std::uint32_t> o(rows);
  std::sort(o.begin(), o.end(), [&](auto a, auto b) { return p[a] < p[b]; });
  double rank_sum = 0, npos = 0, nneg = 0;
  for (std::size_t i = 0; i < o.size();) {
    std::size_t j = i;
    while (j < o.size() && p[o[j]] == p[o[i]]) ++j;
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (y[o[k]] == 1) rank_sum += avg;
    i = j;
  }
  for (auto i : rows) (y[i] == 1 ? npos : nneg) += 1;
  return (rank_sum - npos * (npos + 1) / 2) / (npos * nneg);
}

/// The bytes of an existing file (a missing one fails the test).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace pipectl::synthetic
