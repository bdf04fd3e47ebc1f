#include "normaliser.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

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

Normaliser::Normaliser(const Params& p)
    : columns_(p.strings("columns")),
      zscore_(p.str("method") == "zscore"),
      log1p_(p.boolean("log1p")),
      clip_(p.boolean("clip")) {
  const auto m = p.str("method");
  if (m != "minmax" && m != "zscore")
    throw Error("normaliser: method must be \"minmax\" or \"zscore\", got \"" + m + "\"");
  std::set<std::string> seen;
  for (const auto& c : columns_)
    if (!seen.insert(c).second) throw Error("normaliser: columns lists \"" + c + "\" twice");
}

Table Normaliser::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("normaliser takes exactly one input table");
  const Table& in = *inputs[0];
  const std::size_t n = in.rows();
  const bool fit = ctx.mode() == Mode::Fit;
  std::vector<std::uint32_t> train;
  if (fit) {
    if (!in.has_roles())
      throw DataError("the input has no train/valid/test roles; the normaliser fits on training rows, "
                      "so a splitter is needed upstream");
    train = in.rows_with(Role::Train);
    if (train.empty()) throw DataError("no row has the train role; the normaliser has nothing to fit on");
    stats_.clear();
    fitted_ = false;
  } else if (!fitted_) {
    throw Error("normaliser: applying needs a fitted state, but none was loaded");
  }

  Table out = in;
  std::vector<double> x(n);
  for (const auto& name : columns_) {
    const Column& c = in.at(name);
    if (!c.is_numeric())
      throw DataError("column \"" + name + "\" is " + dtype_name(c.type) + "; the normaliser needs a numeric column");
    // Values as double (log1p'd if asked); NULL rows hold NaN and stay NULL.
    if (c.type == DType::Int64) {
      for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<double>(c.i64[i]);
    } else {
      std::copy(c.f64.begin(), c.f64.end(), x.begin());
    }
    if (!c.valid.empty())
      for (std::size_t i = 0; i < n; ++i)
        if (!c.valid[i]) x[i] = kNaN;
    if (log1p_) {
      for (std::size_t i = 0; i < n; ++i)
        if (x[i] < 0)
          throw DataError("column \"" + name + "\": negative value " +
                          (c.type == DType::Int64 ? std::to_string(c.i64[i]) : shortest(x[i])) + " at row " +
                          std::to_string(i) + "; log1p needs values >= 0");
      for (std::size_t i = 0; i < n; ++i) x[i] = std::log1p(x[i]);
    }

    if (fit) {
      Stats s;
      std::size_t m = 0;
      if (!zscore_) {
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (auto r : train)
          if (std::isfinite(x[r])) {
            lo = std::min(lo, x[r]);
            hi = std::max(hi, x[r]);
            ++m;
          }
        if (m > 0) s = {lo, hi};
      } else {
        double sum = 0;
        for (auto r : train)
          if (std::isfinite(x[r])) {
            sum += x[r];
            ++m;
          }
        if (m > 0) {
          const double mean = sum / static_cast<double>(m);
          double ss = 0;
          for (auto r : train)
            if (std::isfinite(x[r])) ss += (x[r] - mean) * (x[r] - mean);
          s = {mean, std::sqrt(ss / static_cast<double>(m))};
        }
      }
      if (m == 0)
        ctx.warn("column \"" + name + "\" has no finite value in the " + std::to_string(train.size()) +
                 " training rows; it maps to 0");
      stats_[name] = s;
    }

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
