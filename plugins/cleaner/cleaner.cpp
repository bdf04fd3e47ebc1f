#include "cleaner.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pipectl::plugins {

namespace {

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::string qt(const std::string& s) { return "\"" + s + "\""; }

bool cell_null(const Column& c, std::size_t i) {
  if (c.is_null(i)) return true;
  if (c.type == DType::Categorical) return c.codes[i] < 0;
  return false;
}

const Column& numeric_column(const Table& t, const std::string& name, const char* param) {
  const Column& c = t.at(name);
  if (!c.is_numeric())
    throw DataError("column " + qt(name) + " is " + dtype_name(c.type) + "; " + param +
                    " needs a numeric column");
  return c;
}

}  // namespace

CleanerConfig CleanerConfig::from(const CleanerOptions& o) {
  CleanerConfig c;
  c.duration_from = o.duration_from;
  c.duration = o.duration;
  c.label = o.label;
  c.label_from = o.label_from;
  c.multiclass = o.label_kind == "multiclass";
  c.negative = o.negative;
  c.positive = o.positive;
  c.keep_unlabelled = o.keep_unlabelled;
  c.required = o.required;
  c.non_negative = o.non_negative;
  c.ports = o.ports;
  c.drop = o.drop;
  const PluginSpec spec = cleaner_spec();
  auto at_default = [&](const char* k, const std::vector<std::string>& v) {
    if (const auto* ps = spec.find(k); ps && json(v) == ps->default_value) c.defaulted.insert(k);
  };
  at_default("duration_from", c.duration_from);
  at_default("required", c.required);
  at_default("non_negative", c.non_negative);
  at_default("ports", c.ports);
  at_default("drop", c.drop);
  return c;
}

std::vector<std::pair<std::string, std::string>> CleanerConfig::problems() const {
  std::vector<std::pair<std::string, std::string>> p;
  if (!duration_from.empty() && duration_from.size() != 2)
    p.push_back({"duration_from", "must name two columns [start, end] (or none), got " +
                                      std::to_string(duration_from.size())});
  if (!duration_from.empty() && duration.empty()) p.push_back({"duration", "must name the column to add"});
  if (label.empty()) p.push_back({"label", "must not be empty"});
  if (label_from.empty()) p.push_back({"label_from", "must not be empty"});
  const bool has_duration = !duration_from.empty();
  for (const auto& d : drop) {
    if (d == label) p.push_back({"drop", "lists " + qt(d) + ", the label this stage makes"});
    if (has_duration && d == duration) p.push_back({"drop", "lists " + qt(d) + ", the duration column this stage makes"});
  }
  if (has_duration && !duration.empty() && duration == label)
    p.push_back({"duration", "names " + qt(label) + ", the label this stage makes"});
  return p;
}

CleanerConfig CleanerConfig::adapted(const std::function<bool(const std::string&)>& has) const {
  CleanerConfig c = *this;
  auto keep = [&](const char* param, std::vector<std::string>& v) {
    if (!defaulted.count(param)) return;
    std::vector<std::string> kept;
    for (const auto& x : v)
      if (has(x) || (x == c.duration && !c.duration_from.empty())) kept.push_back(x);
    v = std::move(kept);
  };
  if (defaulted.count("duration_from") && !duration_from.empty() &&
      !(has(duration_from[0]) && has(duration_from[1])))
    c.duration_from.clear();
  keep("required", c.required);
  keep("non_negative", c.non_negative);
  keep("ports", c.ports);
  keep("drop", c.drop);
  return c;
}

std::string CleanerConfig::binary_names() const {
  return positive.empty() ? "no,yes" : "not " + positive + "," + positive;
}

Schema CleanerConfig::schema(SchemaContext& ctx) const {
  if (ctx.known()) {
    const Schema& in = ctx.input();
    const CleanerConfig a = adapted([&](const std::string& c) { return in.has(c); });
    if (a.defaulted.size() != defaulted.size() || a.duration_from != duration_from || a.required != required ||
        a.non_negative != non_negative || a.ports != ports || a.drop != drop)
      return a.schema(ctx);
  }
  const bool has_duration = !duration_from.empty();
  const std::vector<DType> numeric = {DType::Float64, DType::Int64};
  // Each column named by a parameter must reach the stage (the duration and
  // label it makes aside), reported under that parameter.
  auto need = [&](const char* param, const std::string& col, const std::vector<DType>& types) {
    if (has_duration && col == duration) return;
    if (col == label && col != label_from) return;
    ctx.need(param, col, types);
  };
  for (const auto& c : duration_from) need("duration_from", c, numeric);
  need("label_from", label_from, {DType::Categorical});
  for (const auto& c : required) need("required", c, {});
  for (const auto& c : non_negative) need("non_negative", c, numeric);
  for (const auto& c : ports) need("ports", c, numeric);
  for (const auto& c : drop) need("drop", c, {});
  Schema out = ctx.input();
  if (has_duration) {
    ColumnSchema d;
    d.name = duration;
    d.type = DType::Float64;
    out.set(d);
  }
  ColumnSchema l;
  l.name = label;
  l.type = multiclass ? DType::Categorical : DType::Int64;
  l.nullable = keep_unlabelled;
  l.role = ColumnRole::Label;
  if (!multiclass) l.positive = positive.empty() ? "not " + negative : positive;
  out.set(l);
  for (const auto& c : drop) out.drop(c);
  if (label != label_from) out.drop(label_from);
  return out;
}

Cleaner::Cleaner(const Options& o) : cfg_(CleanerConfig::from(o)) {}

Table Cleaner::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("cleaner takes exactly one input table");
  const Table& in = *inputs[0];
  // The NetCollector columns of parameters left at their defaults apply
  // where the data has them.
  const CleanerConfig cfg_ = this->cfg_.adapted([&](const std::string& c) { return in.has(c); });
  const std::size_t n = in.rows();
  if (n == 0) throw DataError("the input table has no rows");

  // Reason per row: 0 = kept, k = reasons[k - 1].
  std::vector<std::uint16_t> reason(n, 0);
  std::vector<std::string> reasons;
  std::vector<std::int64_t> reason_rows;
  auto new_reason = [&](const std::string& key) {
    reasons.push_back(key);
    reason_rows.push_back(0);
    return static_cast<std::uint16_t>(reasons.size());
  };

  // 1. duration = |end - start| (NULL when either end is NULL).
  Table t = in;
  const bool has_duration = !cfg_.duration_from.empty();
  std::vector<std::uint8_t> flipped;
  if (has_duration) {
    const Column& s = numeric_column(in, cfg_.duration_from[0], "duration_from");
    const Column& e = numeric_column(in, cfg_.duration_from[1], "duration_from");
    std::vector<double> d(n);
    std::vector<std::uint8_t> valid;
    if (!s.valid.empty() || !e.valid.empty()) valid.assign(n, 1);
    flipped.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double a = s.type == DType::Float64 ? s.f64[i] : static_cast<double>(s.i64[i]);
      const double b = e.type == DType::Float64 ? e.f64[i] : static_cast<double>(e.i64[i]);
      if (!valid.empty() && (s.is_null(i) || e.is_null(i))) {
        valid[i] = 0;
        d[i] = std::nan("");
        continue;
      }
      const double x = b - a;
      flipped[i] = x < 0;
      d[i] = std::fabs(x);
    }
    t = t.with(Column::make_f64(cfg_.duration, std::move(d), std::move(valid)));
  }

  // 2. NULLs in required columns (label_from last unless listed / keep_unlabelled).
  std::vector<std::string> req;
  for (const auto& c : cfg_.required)
    if (!(cfg_.keep_unlabelled && c == cfg_.label_from)) add_unique(req, c);
  if (!cfg_.keep_unlabelled) add_unique(req, cfg_.label_from);
  for (const auto& name : req) {
    const Column& c = t.at(name);
    if (c.type != DType::Categorical && c.valid.empty()) continue;
    const auto r = new_reason("null." + name);
    for (std::size_t i = 0; i < n; ++i)
      if (reason[i] == 0 && cell_null(c, i)) reason[i] = r;
  }

  // 3. Non-finite durations.
  if (has_duration) {
    const Column& d = t.at(cfg_.duration);
    const auto r = new_reason("non_finite." + cfg_.duration);
    for (std::size_t i = 0; i < n; ++i)
      if (reason[i] == 0 && !d.is_null(i) && !std::isfinite(d.f64[i])) reason[i] = r;
  }

  // 4. Negative values.
  for (const auto& name : cfg_.non_negative) {
    const Column& c = numeric_column(t, name, "non_negative");
    const auto r = new_reason("negative." + name);
    if (c.type == DType::Int64) {
      for (std::size_t i = 0; i < n; ++i)
        if (reason[i] == 0 && c.i64[i] < 0 && !c.is_null(i)) reason[i] = r;
    } else {
      for (std::size_t i = 0; i < n; ++i)
        if (reason[i] == 0 && c.f64[i] < 0 && !c.is_null(i)) reason[i] = r;
    }
  }

  // 5. Ports outside 0-65535 (NaN counts as outside).
  for (const auto& name : cfg_.ports) {
    const Column& c = numeric_column(t, name, "ports");
    const auto r = new_reason("port_range." + name);
    if (c.type == DType::Int64) {
      for (std::size_t i = 0; i < n; ++i)
        if (reason[i] == 0 && (c.i64[i] < 0 || c.i64[i] > 65535) && !c.is_null(i)) reason[i] = r;
    } else {
      for (std::size_t i = 0; i < n; ++i)
        if (reason[i] == 0 && !(c.f64[i] >= 0 && c.f64[i] <= 65535) && !c.is_null(i)) reason[i] = r;
    }
  }

  // Tally.
  std::vector<std::uint32_t> kept;
  kept.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (reason[i] == 0)
      kept.push_back(static_cast<std::uint32_t>(i));
    else
      ++reason_rows[reason[i] - 1];
  }
  const auto dropped = static_cast<std::int64_t>(n - kept.size());
  for (std::size_t k = 0; k < reasons.size(); ++k)
    if (reason_rows[k] > 0) ctx.count("dropped." + reasons[k], reason_rows[k]);
  ctx.count("rows.dropped", dropped);
  // Applying a fitted run to new rows (pipectl predict): every dropped row,
  // by its index in the input, with its reason, so each is accounted for.
  if (ctx.mode() == Mode::Apply && dropped > 0) {
    const auto file = ctx.artifact_dir() / "dropped_rows.tsv";
    std::ofstream f(file);
    for (std::size_t i = 0; i < n; ++i)
      if (reason[i] != 0) f << i << '\t' << reasons[reason[i] - 1] << '\n';
    if (!f.flush()) throw Error("cannot write " + file.string());
  }
  // Nothing left is an error of the whole run: on several workers, of all
  // their rows together (one worker's shard may well be dropped whole), and
  // raised on every worker at once.
  std::vector<std::int64_t> totals = reason_rows;
  totals.push_back(static_cast<std::int64_t>(n));
  totals.push_back(static_cast<std::int64_t>(kept.size()));
  Collective& coll = ctx.collective();
  if (coll.distributed()) coll.allreduce(totals.data(), totals.size(), ReduceOp::Sum);
  if (totals.back() == 0) {
    std::string why;
    for (std::size_t k = 0; k < reasons.size(); ++k)
      if (totals[k] > 0) why += (why.empty() ? "" : ", ") + reasons[k] + ": " + std::to_string(totals[k]);
    throw DataError("every one of the " + std::to_string(totals[reasons.size()]) + " rows was dropped (" + why +
                    ")" + (coll.distributed() ? " on all " + std::to_string(coll.world()) + " workers" : ""));
  }
  if (has_duration) {
    std::int64_t fixed = 0;
    for (auto i : kept) fixed += flipped[i];
    ctx.count("fixed.negative_duration", fixed);
  }

  // 6. The label.
  const Column& from = t.at(cfg_.label_from);
  if (from.type != DType::Categorical)
    throw DataError("label_from column " + qt(cfg_.label_from) + " must be categorical, it is " +
                    dtype_name(from.type));
  const auto& dict = *from.dictionary;
  std::vector<std::string> class_names;  // for the single-class check
  std::vector<std::int64_t> class_rows;
  std::int64_t labelled = 0;
  Column label_col;
  if (!cfg_.multiclass) {
    std::vector<std::int64_t> yes_of_code(dict.size());
    for (std::size_t k = 0; k < dict.size(); ++k)
      yes_of_code[k] = cfg_.positive.empty() ? dict[k] != cfg_.negative : dict[k] == cfg_.positive;
    std::vector<std::int64_t> y(n, 0);
    std::vector<std::uint8_t> valid;
    for (std::size_t i = 0; i < n; ++i) {
      if (cell_null(from, i)) {
        if (valid.empty()) valid.assign(n, 1);
        valid[i] = 0;
        continue;
      }
      y[i] = yes_of_code[static_cast<std::size_t>(from.codes[i])];
    }
    std::int64_t counts[2] = {0, 0};
    for (auto i : kept)
      if (valid.empty() || valid[i]) ++counts[y[i]];
    class_names = {"no", "yes"};
    class_rows = {counts[0], counts[1]};
    label_col = Column::make_i64(cfg_.label, std::move(y), std::move(valid));
  } else {
    // Dictionary: the labels used by kept rows, sorted; codes remapped.
    std::vector<std::uint8_t> used(dict.size(), 0);
    for (auto i : kept)
      if (!cell_null(from, i)) used[static_cast<std::size_t>(from.codes[i])] = 1;
    std::vector<std::string> names;
    for (std::size_t k = 0; k < dict.size(); ++k)
      if (used[k]) names.push_back(dict[k]);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (coll.distributed()) {
      // Every worker must give each class the same code: the union of the
      // classes every worker's kept rows use, sorted.
      std::vector<std::string> all;
      for (const auto& bytes : coll.allgather(json(names).dump()))
        for (const auto& v : json::parse(bytes)) all.push_back(v.get<std::string>());
      std::sort(all.begin(), all.end());
      all.erase(std::unique(all.begin(), all.end()), all.end());
      names = std::move(all);
    }
    std::unordered_map<std::string, std::int32_t> index;
    for (std::size_t k = 0; k < names.size(); ++k) index.emplace(names[k], static_cast<std::int32_t>(k));
    std::vector<std::int32_t> remap(dict.size(), -1);
    for (std::size_t k = 0; k < dict.size(); ++k)
      if (used[k]) remap[k] = index.at(dict[k]);
    std::vector<std::int32_t> codes(n, -1);
    for (std::size_t i = 0; i < n; ++i)
      if (!cell_null(from, i)) codes[i] = remap[static_cast<std::size_t>(from.codes[i])];
    class_rows.assign(names.size(), 0);
    for (auto i : kept)
      if (codes[i] >= 0) ++class_rows[static_cast<std::size_t>(codes[i])];
    class_names = names;
    label_col = Column::make_cat(cfg_.label, std::move(codes),
                                 std::make_shared<const Dictionary>(std::move(names)));
  }
  // On several workers the class check is over every worker's rows (the
  // kept rows of all of them were summed above).
  const std::int64_t kept_rows = totals.back();
  if (coll.distributed()) coll.allreduce(class_rows.data(), class_rows.size(), ReduceOp::Sum);
  for (auto r : class_rows) labelled += r;

  if (ctx.mode() == Mode::Fit) {
    std::size_t present = 0, which = 0;
    for (std::size_t k = 0; k < class_rows.size(); ++k)
      if (class_rows[k] > 0) {
        ++present;
        which = k;
      }
    if (present == 0)
      throw DataError("label " + qt(cfg_.label) + " is NULL in all " + std::to_string(kept_rows) +
                      " rows; a classifier needs at least two classes");
    if (present == 1)
      throw DataError("label " + qt(cfg_.label) + " has a single class (" + qt(class_names[which]) +
                      ") in " + std::to_string(labelled) + " rows; a classifier needs at least two");
  }

  // 7. Assemble: label, drops, then the kept rows.
  t = t.with(std::move(label_col));
  for (const auto& d : cfg_.drop) {
    (void)t.at(d);
    t = t.without(d);
  }
  if (cfg_.label != cfg_.label_from && t.has(cfg_.label_from)) t = t.without(cfg_.label_from);
  if (!cfg_.multiclass) t = t.with_meta("label_names." + cfg_.label, cfg_.binary_names());
  t = t.with_meta("label", cfg_.label);
  if (dropped > 0) t = t.take(kept);
  return t;
}

}  // namespace pipectl::plugins
