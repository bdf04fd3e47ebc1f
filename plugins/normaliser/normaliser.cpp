#include "normaliser.hpp"

#include "exact_sum.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace pipectl::plugins {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string shortest(double d) {
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, d);
  return std::string(b, r.ptr);
}

std::string state_error(const std::string& what) { return "normaliser state: " + what; }

double stat_field(const json& obj, const char* key, const std::string& column) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number())
    throw Error(state_error("column \"" + column + "\" needs a number \"" + key + "\""));
  return it->get<double>();
}

}  // namespace

Normaliser::Normaliser(const Options& o)
    : columns_(o.columns), zscore_(o.method == "zscore"), log1p_(o.log1p), clip_(o.clip) {}

Table Normaliser::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("normaliser takes exactly one input table");
  const Table& in = *inputs[0];
  const std::size_t n = in.rows();
  const bool fit = ctx.mode() == Mode::Fit;
  std::vector<std::uint32_t> train;
  std::int64_t train_rows = 0;  // over all workers
  if (fit) {
    if (!in.has_roles())
      throw DataError("the input has no train/valid/test roles; the normaliser fits on training rows, "
                      "so a splitter is needed upstream");
    train = in.rows_with(Role::Train);
    // A worker's shard may hold no training row; only none at all is an error.
    train_rows = ctx.collective().sum(static_cast<std::int64_t>(train.size()));
    if (train_rows == 0) throw DataError("no row has the train role; the normaliser has nothing to fit on");
    stats_.clear();
    fitted_ = false;
  } else if (!fitted_) {
    throw Error("normaliser: applying needs a fitted state, but none was loaded");
  }

  // Check every column before fitting (and before any collective call).
  for (const auto& name : columns_) {
    const Column& c = in.at(name);
    if (!c.is_numeric())
      throw DataError("column \"" + name + "\" is " + dtype_name(c.type) + "; the normaliser needs a numeric column");
    if (log1p_)
      for (std::size_t i = 0; i < n; ++i)
        if (!c.is_null(i) && c.number(i) < 0)
          throw DataError("column \"" + name + "\": negative value " +
                          (c.type == DType::Int64 ? std::to_string(c.i64[i]) : shortest(c.f64[i])) + " at row " +
                          std::to_string(i) + "; log1p needs values >= 0");
  }

  if (fit) fit_stats(ctx, in, train, train_rows);

  Table out = in;
  std::vector<double> x(n);
  for (const auto& name : columns_) {
    const Column& c = in.at(name);
    for (std::size_t i = 0; i < n; ++i) x[i] = value_of(c, i);
    const Stats s = stats_.at(name);
    std::vector<double> y(n);
    if (!zscore_) {
      const double range = s.hi - s.lo;
      if (!(range > 0)) {
        for (std::size_t i = 0; i < n; ++i) y[i] = std::isnan(x[i]) ? x[i] : 0.0;
      } else {
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.lo) / range;
        if (clip_)
          for (std::size_t i = 0; i < n; ++i) y[i] = std::isnan(y[i]) ? y[i] : std::clamp(y[i], 0.0, 1.0);
      }
    } else {
      if (!(s.hi > 0)) {
        for (std::size_t i = 0; i < n; ++i) y[i] = std::isnan(x[i]) ? x[i] : 0.0;
      } else {
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.lo) / s.hi;
      }
    }
    out = out.with(Column::make_f64(name, std::move(y), c.valid));
  }
  if (fit) fitted_ = true;
  return out;
}

double Normaliser::value_of(const Column& c, std::size_t i) const {
  // As double (log1p'd if asked); NULL is NaN (and stays NULL in the output).
  if (c.is_null(i)) return kNaN;
  const double v = c.type == DType::Int64 ? static_cast<double>(c.i64[i]) : c.f64[i];
  return log1p_ ? std::log1p(v) : v;
}

void Normaliser::fit_stats(StageContext& ctx, const Table& in, const std::vector<std::uint32_t>& train,
                           std::int64_t train_rows) {
  // Each worker reduces its shard's training rows; the collective combines
  // them (the identity in one process). The same calls in the same order on
  // every worker: one per statistic, all columns at once.
  Collective& coll = ctx.collective();
  const std::size_t cols = columns_.size();
  std::vector<std::int64_t> m(cols, 0);  // finite training values per column
  std::vector<Stats> fitted(cols);
  std::vector<const Column*> col(cols);
  for (std::size_t j = 0; j < cols; ++j) col[j] = &in.at(columns_[j]);
  if (!zscore_) {
    // min / max are exact, so the combined state is bit-identical to one
    // process's fit of all training rows.
    std::vector<double> lo(cols, std::numeric_limits<double>::infinity()), hi(cols, -lo[0]);
    for (std::size_t j = 0; j < cols; ++j)
      for (auto r : train) {
        const double v = value_of(*col[j], r);
        if (std::isfinite(v)) {
          lo[j] = std::min(lo[j], v);
          hi[j] = std::max(hi[j], v);
          ++m[j];
        }
      }
    coll.allreduce(lo.data(), cols, ReduceOp::Min);
    coll.allreduce(hi.data(), cols, ReduceOp::Max);
    coll.allreduce(m.data(), cols, ReduceOp::Sum);
    // + 0.0 turns -0.0 into 0.0: which zero min() keeps depends on the row order.
    for (std::size_t j = 0; j < cols; ++j)
      if (m[j] > 0) fitted[j] = {lo[j] + 0.0, hi[j] + 0.0};
  } else {
    // Exact sums (ExactSum), rounded once: the mean and the std do not depend
    // on the row order or the number of workers either.
    auto reduce = [&](std::vector<ExactSum>& acc) {
      std::vector<std::int64_t> words(cols * ExactSum::kWords);
      for (std::size_t j = 0; j < cols; ++j) {
        acc[j].normalise();
        std::copy(acc[j].words(), acc[j].words() + ExactSum::kWords, words.begin() + j * ExactSum::kWords);
      }
      coll.allreduce(words.data(), words.size(), ReduceOp::Sum);
      for (std::size_t j = 0; j < cols; ++j) {
        std::copy(words.begin() + j * ExactSum::kWords, words.begin() + (j + 1) * ExactSum::kWords, acc[j].words());
        acc[j].normalise();
      }
    };
    std::vector<ExactSum> sum(cols), ss(cols);
    for (std::size_t j = 0; j < cols; ++j)
      for (auto r : train) {
        const double v = value_of(*col[j], r);
        if (std::isfinite(v)) {
          sum[j].add(v);
          ++m[j];
        }
      }
    coll.allreduce(m.data(), cols, ReduceOp::Sum);
    reduce(sum);
    std::vector<double> mean(cols, 0.0);
    for (std::size_t j = 0; j < cols; ++j)
      if (m[j] > 0) mean[j] = sum[j].round() / static_cast<double>(m[j]);
    for (std::size_t j = 0; j < cols; ++j)
      for (auto r : train) {
        const double v = value_of(*col[j], r);
        if (std::isfinite(v)) ss[j].add((v - mean[j]) * (v - mean[j]));
      }
    reduce(ss);
    for (std::size_t j = 0; j < cols; ++j)
      if (m[j] > 0) fitted[j] = {mean[j], std::sqrt(ss[j].round() / static_cast<double>(m[j]))};
  }
  for (std::size_t j = 0; j < cols; ++j) {
    if (m[j] == 0)
      ctx.warn("column \"" + columns_[j] + "\" has no finite value in the " + std::to_string(train_rows) +
               " training rows; it maps to 0");
    stats_[columns_[j]] = fitted[j];
  }
}

json Normaliser::save_state(const std::filesystem::path&) const {
  if (!fitted_) return nullptr;
  json cols = json::object();
  for (const auto& name : columns_) {
    const Stats& s = stats_.at(name);
    cols[name] = zscore_ ? json{{"mean", s.lo}, {"std", s.hi}} : json{{"min", s.lo}, {"max", s.hi}};
  }
  return {{"method", zscore_ ? "zscore" : "minmax"}, {"log1p", log1p_}, {"clip", clip_}, {"columns", cols}};
}

void Normaliser::load_state(const json& state, const std::filesystem::path&) {
  if (!state.is_object()) throw Error(state_error("expected an object"));
  auto method = state.find("method");
  if (method == state.end() || !method->is_string() || (*method != "minmax" && *method != "zscore"))
    throw Error(state_error("\"method\" must be \"minmax\" or \"zscore\""));
  auto log1p = state.find("log1p");
  if (log1p == state.end() || !log1p->is_boolean()) throw Error(state_error("\"log1p\" must be a boolean"));
  auto clip = state.find("clip");
  if (clip != state.end() && !clip->is_boolean()) throw Error(state_error("\"clip\" must be a boolean"));
  auto cols = state.find("columns");
  if (cols == state.end() || !cols->is_object()) throw Error(state_error("\"columns\" must be an object"));

  const bool z = *method == "zscore";
  std::map<std::string, Stats> stats;
  for (auto it = cols->begin(); it != cols->end(); ++it) {
    if (std::find(columns_.begin(), columns_.end(), it.key()) == columns_.end())
      throw Error(state_error("column \"" + it.key() + "\" was fitted but the stage is not configured for it"));
    if (!it->is_object()) throw Error(state_error("column \"" + it.key() + "\" must be an object"));
    stats[it.key()] = z ? Stats{stat_field(*it, "mean", it.key()), stat_field(*it, "std", it.key())}
                        : Stats{stat_field(*it, "min", it.key()), stat_field(*it, "max", it.key())};
  }
  for (const auto& c : columns_)
    if (!stats.count(c)) throw Error(state_error("column \"" + c + "\" has no fitted statistics"));
  zscore_ = z;
  log1p_ = log1p->get<bool>();
  if (clip != state.end()) clip_ = clip->get<bool>();
  stats_ = std::move(stats);
  fitted_ = true;
}

}  // namespace pipectl::plugins
