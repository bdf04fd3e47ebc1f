#include "multi_hot.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace pipectl::plugins {

namespace {

void put_u64(std::string& out, std::uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
}

std::string state_error(const std::string& what) { return "multi_hot state: " + what; }

void require_multi(const Column& c) {
  if (c.type != DType::MultiCategorical)
    throw DataError("column \"" + c.name + "\" is " + dtype_name(c.type) + "; multi_hot needs a multi_categorical column");
}

}  // namespace

std::map<std::string, std::int64_t> document_frequency(const Column& c, const std::vector<std::uint32_t>& rows) {
  require_multi(c);
  const Dictionary& dict = *c.dictionary;
  // One id per distinct name (a dictionary may repeat a name).
  std::unordered_map<std::string, std::uint32_t> id_of;
  std::vector<std::uint32_t> canon(dict.size());
  std::vector<const std::string*> name_of;
  for (std::size_t k = 0; k < dict.size(); ++k) {
    auto [it, fresh] = id_of.emplace(dict[k], static_cast<std::uint32_t>(name_of.size()));
    if (fresh) name_of.push_back(&dict[k]);
    canon[k] = it->second;
  }
  std::vector<std::int64_t> df(name_of.size(), 0);
  std::vector<std::uint32_t> seen_in(name_of.size(), 0);  // row + 1 that last counted the name
  for (auto r : rows) {
    if (c.is_null(r)) continue;
    for (auto k = c.offsets[r]; k < c.offsets[r + 1]; ++k) {
      const auto id = canon[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])];
      if (seen_in[id] != r + 1) {
        seen_in[id] = r + 1;
        ++df[id];
      }
    }
  }
  std::map<std::string, std::int64_t> out;
  for (std::uint32_t id = 0; id < df.size(); ++id)
    if (df[id] > 0) out.emplace(*name_of[id], df[id]);
  return out;
}

std::vector<std::string> select_names(const std::map<std::string, std::int64_t>& df, std::size_t top_k,
                                      const std::vector<std::string>& reserved) {
  // Frequency descending, then name ascending (bytewise): no dependence on
  // the order names were first seen in. df is in name order, so a stable sort
  // by frequency breaks ties by name.
  std::vector<std::pair<const std::string*, std::int64_t>> cand;
  for (auto& [name, n] : df)
    if (n > 0 && std::find(reserved.begin(), reserved.end(), name) == reserved.end()) cand.emplace_back(&name, n);
  std::stable_sort(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> kept;
  for (std::size_t k = 0; k < cand.size() && k < top_k; ++k) kept.push_back(*cand[k].first);
  return kept;
}

std::string write_counts(const std::map<std::string, std::int64_t>& df) {
  std::string out;
  put_u64(out, df.size());
  for (auto& [name, n] : df) {
    put_u64(out, name.size());
    out += name;
    put_u64(out, static_cast<std::uint64_t>(n));
  }
  return out;
}

void merge_counts(const std::string& bytes, std::map<std::string, std::int64_t>& into) {
  std::size_t p = 0;
  auto u64 = [&] {
    if (bytes.size() - p < 8) throw Error("multi_hot: malformed counts from another worker");
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[p + b])) << (8 * b);
    p += 8;
    return v;
  };
  const auto entries = u64();
  for (std::uint64_t e = 0; e < entries; ++e) {
    const auto len = u64();
    if (bytes.size() - p < len) throw Error("multi_hot: malformed counts from another worker");
    std::string name = bytes.substr(p, len);
    p += len;
    into[std::move(name)] += static_cast<std::int64_t>(u64());
  }
  if (p != bytes.size()) throw Error("multi_hot: malformed counts from another worker");
}

std::vector<std::string> top_names(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                   const std::vector<std::string>& reserved) {
  return select_names(document_frequency(c, rows), top_k, reserved);
}

MultiHot::MultiHot(const Options& o)
    : column_(o.column), top_k_(static_cast<std::size_t>(o.top_k)), other_(o.other), none_(o.none) {}

Table MultiHot::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("multi_hot takes exactly one input table");
  const Table& in = *inputs[0];
  const Column& c = in.at(column_);
  require_multi(c);
  const std::size_t n = in.rows();
  if (ctx.mode() == Mode::Fit) {
    if (!in.has_roles())
      throw DataError("the input has no train/valid/test roles; multi_hot fits on training rows, "
                      "so a splitter is needed upstream");
    const auto train = in.rows_with(Role::Train);
    // Each worker counts its shard's training rows by name; the counts are
    // gathered and merged, so every worker ranks the names of all training
    // rows. A shard may hold no training row; none on any worker is an error.
    Collective& coll = ctx.collective();
    if (coll.sum(static_cast<std::int64_t>(train.size())) == 0)
      throw DataError("no row has the train role; multi_hot has nothing to fit on");
    auto df = document_frequency(c, train);
    if (coll.distributed()) {
      const auto all = coll.allgather(write_counts(df));
      df.clear();
      for (const auto& bytes : all) merge_counts(bytes, df);
    }
    std::vector<std::string> reserved{other_};
    if (!none_.empty()) reserved.push_back(none_);
    auto vocab = select_names(df, top_k_, reserved);
    kept_ = vocab.size();
    vocab.push_back(other_);
    if (!none_.empty()) vocab.push_back(none_);
    vocab_ = std::make_shared<const Dictionary>(std::move(vocab));
    fitted_ = true;
  } else if (!fitted_) {
    throw Error("multi_hot: applying needs a fitted state, but none was loaded");
  }

  const auto other_code = static_cast<std::int32_t>(kept_);
  const std::int32_t none_code = none_.empty() ? -1 : static_cast<std::int32_t>(kept_ + 1);
  std::unordered_map<std::string, std::int32_t> index;
  for (std::size_t k = 0; k < kept_; ++k) index.emplace((*vocab_)[k], static_cast<std::int32_t>(k));
  std::vector<std::int32_t> remap(c.dictionary->size(), other_code);
  for (std::size_t k = 0; k < remap.size(); ++k) {
    auto it = index.find((*c.dictionary)[k]);
    if (it != index.end()) remap[k] = it->second;
  }

  const std::vector<Role>* roles = in.has_roles() ? &in.roles() : nullptr;
  std::vector<std::int64_t> offsets(n + 1, 0);
  std::vector<std::int32_t> codes;
  codes.reserve(c.codes.size() + n);
  std::int64_t no_names = 0, with_other = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = codes.size();
    if (!c.is_null(i))
      for (auto k = c.offsets[i]; k < c.offsets[i + 1]; ++k)
        codes.push_back(remap[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])]);
    if (codes.size() == b) {
      ++no_names;
      if (none_code >= 0) codes.push_back(none_code);
    } else if (codes.size() - b > 1) {
      const auto first = codes.begin() + static_cast<std::ptrdiff_t>(b);
      std::sort(first, codes.end());
      codes.erase(std::unique(first, codes.end()), codes.end());
    }
    if (codes.size() > b && codes.back() == other_code && !(roles && (*roles)[i] == Role::Train)) ++with_other;
    offsets[i + 1] = static_cast<std::int64_t>(codes.size());
  }
  ctx.count("rows.no_names", no_names);
  ctx.count("mapped_to_other." + column_, with_other);
  return in.with(Column::make_multi(column_, std::move(offsets), std::move(codes), vocab_));
}

json MultiHot::save_state(const std::filesystem::path&) const {
  if (!fitted_) return nullptr;
  return {{"column", column_}, {"vocabulary", *vocab_}, {"other", other_}, {"none", none_}};
}

void MultiHot::load_state(const json& state, const std::filesystem::path&) {
  if (!state.is_object()) throw Error(state_error("expected an object"));
  for (const char* key : {"column", "other", "none"}) {
    auto it = state.find(key);
    if (it == state.end() || !it->is_string()) throw Error(state_error(std::string("\"") + key + "\" must be a string"));
  }
  const auto column = state["column"].get<std::string>();
  const auto other = state["other"].get<std::string>();
  const auto none = state["none"].get<std::string>();
  if (column != column_)
    throw Error(state_error("fitted on column \"" + column + "\" but the stage is configured for \"" + column_ + "\""));
  if (other.empty() || other == none) throw Error(state_error("\"other\" must be non-empty and differ from \"none\""));
  auto v = state.find("vocabulary");
  if (v == state.end() || !v->is_array()) throw Error(state_error("\"vocabulary\" must be a list of names"));
  Dictionary vocab;
  std::set<std::string> seen;
  for (const auto& x : *v) {
    if (!x.is_string()) throw Error(state_error("\"vocabulary\" has an entry that is not a string"));
    if (!seen.insert(x.get<std::string>()).second)
      throw Error(state_error("\"vocabulary\" lists \"" + x.get<std::string>() + "\" twice"));
    vocab.push_back(x.get<std::string>());
  }
  const std::size_t tail = none.empty() ? 1 : 2;
  if (vocab.size() < tail || vocab[vocab.size() - tail] != other || (!none.empty() && vocab.back() != none))
    throw Error(state_error("\"vocabulary\" must end with \"" + other + "\"" +
                            (none.empty() ? std::string() : " and \"" + none + "\"")));
  other_ = other;
  none_ = none;
  kept_ = vocab.size() - tail;
  vocab_ = std::make_shared<const Dictionary>(std::move(vocab));
  fitted_ = true;
}

}  // namespace pipectl::plugins
