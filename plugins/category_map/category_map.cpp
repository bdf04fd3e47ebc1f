#include "category_map.hpp"

#include <pipectl/features.hpp>

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_map>

namespace pipectl::plugins {

namespace {

std::string state_error(const std::string& what) { return "category_map state: " + what; }

void require_type(const Column& c) {
  if (c.type != DType::Int64 && c.type != DType::Categorical)
    throw DataError("column \"" + c.name + "\" is " + dtype_name(c.type) +
                    "; category_map needs an int64 or categorical column");
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

bool parse_i64(const std::string& s, std::int64_t& out) {
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out);
  return r.ec == std::errc() && r.ptr == end && !s.empty();
}

}  // namespace

ValueCounts count_values(const Column& c, const std::vector<std::uint32_t>& rows) {
  require_type(c);
  ValueCounts v;
  v.is_int = c.type == DType::Int64;
  if (!v.is_int) {
    std::vector<std::int64_t> per_code(c.dictionary->size(), 0);
    for (auto r : rows)
      if (c.codes[r] >= 0 && !c.is_null(r)) ++per_code[static_cast<std::size_t>(c.codes[r])];
    for (std::size_t k = 0; k < per_code.size(); ++k)  // by label: merges repeated dictionary entries
      if (per_code[k] > 0) v.labels[(*c.dictionary)[k]] += per_code[k];
  } else {
    std::unordered_map<std::int64_t, std::int64_t> count;
    for (auto r : rows)
      if (!c.is_null(r)) ++count[c.i64[r]];
    v.ints.insert(count.begin(), count.end());
  }
  return v;
}

std::vector<std::string> select_top(const ValueCounts& v, std::size_t top_k, std::int64_t min_frequency,
                                    const std::string& other) {
  // Count descending, then value ascending (int64 numerically, labels
  // bytewise): no dependence on the order values were first seen in.
  std::vector<std::string> kept;
  if (!v.is_int) {
    std::vector<std::pair<const std::string*, std::int64_t>> cand;
    for (auto& [label, n] : v.labels)
      if (n >= min_frequency && label != other) cand.emplace_back(&label, n);
    // labels is in label order, so a stable sort by count breaks ties by label.
    std::stable_sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t k = 0; k < cand.size() && k < top_k; ++k) kept.push_back(*cand[k].first);
  } else {
    std::vector<std::pair<std::int64_t, std::int64_t>> cand;
    for (auto& [x, n] : v.ints)
      if (n >= min_frequency && std::to_string(x) != other) cand.emplace_back(x, n);
    std::stable_sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t k = 0; k < cand.size() && k < top_k; ++k) kept.push_back(std::to_string(cand[k].first));
  }
  return kept;
}

void ValueCounts::write(std::string& out) const {
  put_u64(out, is_int ? 1 : 0);
  put_u64(out, is_int ? ints.size() : labels.size());
  if (is_int) {
    for (auto& [x, n] : ints) {
      put_u64(out, static_cast<std::uint64_t>(x));
      put_u64(out, static_cast<std::uint64_t>(n));
    }
  } else {
    for (auto& [label, n] : labels) {
      put_u64(out, label.size());
      out += label;
      put_u64(out, static_cast<std::uint64_t>(n));
    }
  }
}

void ValueCounts::merge(CountReader& in, const std::string& column) {
  if ((in.u64() == 1) != is_int)
    throw DataError("column \"" + column + "\" is int64 on one worker and categorical on another");
  const auto entries = in.u64();
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (is_int) {
      const auto x = static_cast<std::int64_t>(in.u64());
      ints[x] += static_cast<std::int64_t>(in.u64());
    } else {
      auto label = in.bytes(in.u64());
      labels[std::move(label)] += static_cast<std::int64_t>(in.u64());
    }
  }
}

std::vector<std::string> top_categories(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                        std::int64_t min_frequency, const std::string& other) {
  return select_top(count_values(c, rows), top_k, min_frequency, other);
}

CategoryMap::CategoryMap(const Options& o)
    : columns_(o.columns),
      top_k_(static_cast<std::size_t>(o.top_k)),
      min_frequency_(o.min_frequency),
      other_(o.other),
      native_(o.native) {}

Table CategoryMap::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("category_map takes exactly one input table");
  const Table& in = *inputs[0];
  const std::size_t n = in.rows();
  const bool fit = ctx.mode() == Mode::Fit;
  if (fit) {
    if (!in.has_roles())
      throw DataError("the input has no train/valid/test roles; category_map fits on training rows, "
                      "so a splitter is needed upstream");
    const auto train = in.rows_with(Role::Train);
    // Each worker counts its shard's training rows by value; the counts are
    // gathered (one message per worker, all columns) and merged, so every
    // worker selects from the counts of all training rows. A shard may hold
    // no training row; none on any worker is an error.
    Collective& coll = ctx.collective();
    if (coll.sum(static_cast<std::int64_t>(train.size())) == 0)
      throw DataError("no row has the train role; category_map has nothing to fit on");
    std::vector<ValueCounts> counts;
    std::string mine;
    for (const auto& name : columns_) {
      counts.push_back(count_values(in.at(name), train));
      counts.back().write(mine);
    }
    if (coll.distributed()) {
      for (auto& v : counts) v = ValueCounts{v.is_int, {}, {}};
      for (const auto& bytes : coll.allgather(mine)) {
        CountReader rd{bytes};
        for (std::size_t j = 0; j < columns_.size(); ++j) counts[j].merge(rd, columns_[j]);
        if (!rd.done()) throw Error("category_map: malformed counts from another worker");
      }
    }
    std::map<std::string, DictionaryPtr> dicts;
    for (std::size_t j = 0; j < columns_.size(); ++j) {
      auto kept = select_top(counts[j], top_k_, min_frequency_, other_);
      kept.push_back(other_);
      dicts[columns_[j]] = std::make_shared<const Dictionary>(std::move(kept));
    }
    dicts_ = std::move(dicts);
    fitted_ = true;
  } else if (!fitted_) {
    throw Error("category_map: applying needs a fitted state, but none was loaded");
  }

  // Rows whose mapping to "other" is worth reporting: all but the training rows.
  const std::vector<Role>* roles = in.has_roles() ? &in.roles() : nullptr;
  Table out = in;
  for (const auto& name : columns_) {
    const Column& c = in.at(name);
    require_type(c);
    const DictionaryPtr& dict = dicts_.at(name);
    const auto other_code = static_cast<std::int32_t>(dict->size() - 1);
    std::vector<std::int32_t> codes(n, other_code);
    if (c.type == DType::Categorical) {
      std::unordered_map<std::string, std::int32_t> index;
      for (std::size_t k = 0; k + 1 < dict->size(); ++k) index.emplace((*dict)[k], static_cast<std::int32_t>(k));
      std::vector<std::int32_t> remap(c.dictionary->size(), other_code);
      for (std::size_t k = 0; k < remap.size(); ++k) {
        auto it = index.find((*c.dictionary)[k]);
        if (it != index.end()) remap[k] = it->second;
      }
      for (std::size_t i = 0; i < n; ++i)
        if (c.codes[i] >= 0 && !c.is_null(i)) codes[i] = remap[static_cast<std::size_t>(c.codes[i])];
    } else {
      std::unordered_map<std::int64_t, std::int32_t> index;
      for (std::size_t k = 0; k + 1 < dict->size(); ++k) {
        std::int64_t v = 0;
        if (parse_i64((*dict)[k], v)) index.emplace(v, static_cast<std::int32_t>(k));
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (c.is_null(i)) continue;
        auto it = index.find(c.i64[i]);
        if (it != index.end()) codes[i] = it->second;
      }
    }
    std::int64_t to_other = 0;
    for (std::size_t i = 0; i < n; ++i)
      to_other += codes[i] == other_code && !(roles && (*roles)[i] == Role::Train);
    ctx.count("mapped_to_other." + name, to_other);
    out = out.with(Column::make_cat(name, std::move(codes), dict));
    if (native_) out = out.with_meta(native_categorical_key(name), "1");
  }
  return out;
}

json CategoryMap::save_state(const std::filesystem::path&) const {
  if (!fitted_) return nullptr;
  json cols = json::object();
  for (const auto& [name, dict] : dicts_) cols[name] = *dict;
  return {{"columns", cols}, {"other", other_}};
}

void CategoryMap::load_state(const json& state, const std::filesystem::path&) {
  if (!state.is_object()) throw Error(state_error("expected an object"));
  auto other = state.find("other");
  if (other == state.end() || !other->is_string()) throw Error(state_error("\"other\" must be a string"));
  auto cols = state.find("columns");
  if (cols == state.end() || !cols->is_object()) throw Error(state_error("\"columns\" must be an object"));
  std::map<std::string, DictionaryPtr> dicts;
  for (auto it = cols->begin(); it != cols->end(); ++it) {
    const std::string& name = it.key();
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end())
      throw Error(state_error("column \"" + name + "\" was fitted but the stage is not configured for it"));
    if (!it->is_array() || it->empty())
      throw Error(state_error("column \"" + name + "\" needs a non-empty list of categories"));
    Dictionary d;
    std::set<std::string> seen;
    for (const auto& v : *it) {
      if (!v.is_string()) throw Error(state_error("column \"" + name + "\" has a category that is not a string"));
      if (!seen.insert(v.get<std::string>()).second)
        throw Error(state_error("column \"" + name + "\" lists \"" + v.get<std::string>() + "\" twice"));
      d.push_back(v.get<std::string>());
    }
    if (d.back() != other->get<std::string>())
      throw Error(state_error("column \"" + name + "\" must end with the other category \"" +
                              other->get<std::string>() + "\""));
    dicts[name] = std::make_shared<const Dictionary>(std::move(d));
  }
  for (const auto& c : columns_)
    if (!dicts.count(c)) throw Error(state_error("column \"" + c + "\" has no fitted categories"));
  other_ = other->get<std::string>();
  dicts_ = std::move(dicts);
  fitted_ = true;
}

}  // namespace pipectl::plugins
