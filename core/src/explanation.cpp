#include <pipectl/explanation.hpp>
#include <pipectl/trainer.hpp>

#include <algorithm>
#include <cmath>

namespace pipectl {

double Explanation::score(std::size_t row, std::size_t group) const {
  double s = 0;
  for (std::size_t f = 0; f < width(); ++f) s += at(row, group, f);
  return s;
}

std::vector<FeatureOrigin> feature_origins(const Table& t, const std::vector<std::string>& columns,
                                          const std::vector<std::string>& native) {
  std::vector<FeatureOrigin> out;
  for (const auto& name : columns) {
    const Column& c = t.at(name);
    // A native categorical column is one feature (its code), like a number.
    if (c.is_numeric() || std::find(native.begin(), native.end(), name) != native.end()) {
      out.push_back(FeatureOrigin{c.name, -1, ""});
    } else {
      for (std::size_t i = 0; i < c.dictionary->size(); ++i)
        out.push_back(FeatureOrigin{c.name, static_cast<std::int32_t>(i), (*c.dictionary)[i]});
    }
  }
  return out;
}

std::vector<std::uint32_t> importance_rows(const Table& t, std::size_t cap) {
  const auto rows = t.rows_with(t.has_roles() ? Role::Test : Role::None);
  if (rows.size() <= cap || cap == 0) return rows;
  std::vector<std::uint32_t> out;
  out.reserve(cap);
  for (std::size_t i = 0; i < cap; ++i) out.push_back(rows[i * rows.size() / cap]);
  return out;
}

json mean_abs_importance(const Explanation& e) {
  const std::size_t nf = e.features.size();
  std::vector<double> sum(nf, 0.0);
  for (std::size_t r = 0; r < e.rows; ++r)
    for (std::size_t g = 0; g < e.groups.size(); ++g)
      for (std::size_t f = 0; f < nf; ++f) sum[f] += std::fabs(e.at(r, g, f));
  std::vector<std::size_t> order(nf);
  for (std::size_t i = 0; i < nf; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sum[a] > sum[b]; });
  json fs = json::array();
  for (auto i : order)
    fs.push_back({{"feature", e.features[i]}, {"mean_abs", e.rows ? sum[i] / static_cast<double>(e.rows) : 0.0}});
  return json{{"rows", e.rows}, {"groups", e.groups}, {"note", e.note}, {"features", fs}};
}

void record_importance(StageContext& ctx, const Stage& stage, const Table& t, int threads) {
  const auto rows = importance_rows(t);
  if (rows.empty()) return;
  ctx.metric("importance", mean_abs_importance(stage.explain(t, rows, threads)));
}

}  // namespace pipectl
