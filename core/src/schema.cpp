#include <pipectl/error.hpp>
#include <pipectl/schema.hpp>

#include <fnmatch.h>

#include <algorithm>
#include <set>

namespace pipectl {

const char* column_role_name(ColumnRole r) {
  switch (r) {
    case ColumnRole::Feature: return "feature";
    case ColumnRole::Label: return "label";
    case ColumnRole::Key: return "key";
    case ColumnRole::Group: return "group";
    case ColumnRole::Prediction: return "prediction";
    case ColumnRole::Weight: return "weight";
    case ColumnRole::Meta: return "meta";
  }
  return "?";
}

bool parse_column_role(std::string_view s, ColumnRole& out) {
  for (auto r : {ColumnRole::Feature, ColumnRole::Label, ColumnRole::Key, ColumnRole::Group, ColumnRole::Prediction,
                 ColumnRole::Weight, ColumnRole::Meta})
    if (s == column_role_name(r)) {
      out = r;
      return true;
    }
  return false;
}

bool parse_dtype(std::string_view s, DType& out) {
  for (auto t : {DType::Float64, DType::Int64, DType::Categorical, DType::MultiCategorical})
    if (s == dtype_name(t)) {
      out = t;
      return true;
    }
  return false;
}

bool ColumnSchema::matches(const std::string& column) const {
  return prefix ? column.size() >= name.size() && column.compare(0, name.size(), name) == 0 : column == name;
}

json ColumnSchema::to_json() const {
  json j = {{"name", name}, {"type", dtype_name(type)}, {"nullable", nullable}, {"role", column_role_name(role)}};
  if (prefix) j["prefix"] = true;
  if (!positive.empty()) j["positive"] = positive;
  return j;
}

const ColumnSchema* Schema::find(const std::string& name) const {
  for (const auto& c : columns)
    if (!c.prefix && c.name == name) return &c;
  return nullptr;
}

const ColumnSchema* Schema::covering(const std::string& name) const {
  if (const auto* c = find(name)) return c;
  for (const auto& c : columns)
    if (c.prefix && c.matches(name)) return &c;
  return nullptr;
}

std::vector<std::string> Schema::names() const {
  std::vector<std::string> v;
  for (const auto& c : columns)
    if (!c.prefix) v.push_back(c.name);
  return v;
}

void Schema::set(ColumnSchema c) {
  for (auto& e : columns)
    if (e.name == c.name && e.prefix == c.prefix) {
      e = std::move(c);
      return;
    }
  columns.push_back(std::move(c));
}

void Schema::drop(const std::string& name) {
  columns.erase(std::remove_if(columns.begin(), columns.end(),
                               [&](const ColumnSchema& c) { return !c.prefix && c.name == name; }),
                columns.end());
}

const ColumnSchema* Schema::with_role(ColumnRole r) const {
  for (const auto& c : columns)
    if (c.role == r && !c.prefix) return &c;
  return nullptr;
}

json Schema::to_json() const {
  json j = {{"known", known}, {"split", split}, {"columns", json::array()}};
  for (const auto& c : columns) j["columns"].push_back(c.to_json());
  return j;
}

Schema Schema::from_json(const json& j) {
  Schema s;
  s.known = j.value("known", true);
  s.split = j.value("split", false);
  for (const auto& c : j.value("columns", json::array())) {
    ColumnSchema cs;
    cs.name = c.value("name", "");
    parse_dtype(c.value("type", "float64"), cs.type);
    cs.nullable = c.value("nullable", true);
    parse_column_role(c.value("role", "feature"), cs.role);
    cs.prefix = c.value("prefix", false);
    cs.positive = c.value("positive", "");
    s.columns.push_back(std::move(cs));
  }
  return s;
}

Schema Schema::of(const Table& t) {
  Schema s;
  s.split = t.has_roles();
  for (const auto& c : t.columns()) {
    ColumnSchema cs;
    cs.name = c->name;
    cs.type = c->type;
    cs.nullable = c->null_count() > 0;
    s.columns.push_back(std::move(cs));
  }
  return s;
}

Schema merge_schemas(const std::vector<Schema>& inputs) {
  Schema m;
  m.known = true;
  if (inputs.size() == 1) return inputs[0];  // a header may have a million columns: no quadratic merge
  std::set<std::pair<std::string, bool>> seen;
  for (const auto& in : inputs) {
    if (!in.known) m.known = false;
    m.split = m.split || in.split;
    for (const auto& c : in.columns)
      if (seen.emplace(c.name, c.prefix).second) m.columns.push_back(c);
  }
  return m;
}

std::string types_text(const std::vector<DType>& types) {
  const bool f = std::count(types.begin(), types.end(), DType::Float64) > 0;
  const bool i = std::count(types.begin(), types.end(), DType::Int64) > 0;
  std::string s;
  auto add = [&](const std::string& w) { s += (s.empty() ? "" : " or ") + w; };
  if (f && i) add("numeric (float64 or int64)");
  for (auto t : types) {
    if (f && i && (t == DType::Float64 || t == DType::Int64)) continue;
    add(dtype_name(t));
  }
  return s;
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string cut(const std::string& s, std::size_t n = 40) { return s.size() > n ? s.substr(0, n) + "..." : s; }

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool glob_match(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

const char* const kTypeWords[] = {"numeric", "float64", "int64", "categorical", "multi_categorical"};

bool type_word_matches(const std::string& word, DType t) {
  if (word == "numeric") return t == DType::Float64 || t == DType::Int64;
  return word == dtype_name(t);
}

}  // namespace

std::string missing_column_text(const std::string& column, const std::vector<std::string>& available) {
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // distance, index
  for (std::size_t i = 0; i < available.size(); ++i) {
    const auto& c = available[i];
    std::size_t d = edit_distance(column, c);
    if (!column.empty() && (c.rfind(column, 0) == 0 || column.rfind(c, 0) == 0)) d = std::min<std::size_t>(d, 1);
    scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end());
  std::string s = "column \"" + cut(column) + "\", which its inputs do not provide";
  if (available.empty()) return s + " (they have no columns)";
  s += " (closest: ";
  for (std::size_t k = 0; k < scored.size() && k < 5; ++k) s += (k ? ", " : "") + cut(available[scored[k].second], 30);
  s += available.size() > 5 ? "; " + std::to_string(available.size()) + " columns in all)" : ")";
  return s;
}

std::string shorten_names(const std::vector<std::string>& names, std::size_t max_chars) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string next = (i ? ", " : "") + names[i];
    const std::string more = " … (+" + std::to_string(names.size() - i) + " more)";
    if (s.size() + next.size() > max_chars && i + 1 < names.size()) return s + more;
    if (s.size() + next.size() > max_chars + more.size()) return s + more;
    s += next;
  }
  return s;
}

std::string check_selector(const json& v) {
  if (v.is_array()) {
    for (const auto& e : v)
      if (!e.is_string() || e.get<std::string>().empty())
        return "expects column names or patterns (strings), got " + std::string(e.type_name()) + " " + cut(e.dump());
    return "";
  }
  if (!v.is_object()) return "expects a list of column names and patterns, or a table { type, role, pattern, exclude }";
  for (auto it = v.begin(); it != v.end(); ++it) {
    const auto& k = it.key();
    const auto& x = it.value();
    if (k == "type") {
      if (!x.is_string() || std::none_of(std::begin(kTypeWords), std::end(kTypeWords),
                                         [&](const char* w) { return x.get<std::string>() == w; }))
        return "selector key \"type\" must be one of \"numeric\", \"float64\", \"int64\", \"categorical\", "
               "\"multi_categorical\", got " + cut(x.dump());
    } else if (k == "role") {
      ColumnRole r;
      if (!x.is_string() || !parse_column_role(x.get<std::string>(), r))
        return "selector key \"role\" must be one of \"feature\", \"label\", \"key\", \"group\", \"prediction\", "
               "\"weight\", \"meta\", got " + cut(x.dump());
    } else if (k == "pattern") {
      if (!x.is_string() || x.get<std::string>().empty()) return "selector key \"pattern\" must be a non-empty string";
    } else if (k == "exclude") {
      if (!x.is_array() || std::any_of(x.begin(), x.end(), [](const json& e) { return !e.is_string(); }))
        return "selector key \"exclude\" must be a list of column names and patterns";
    } else {
      return "unknown selector key \"" + cut(k) + "\" (allowed: type, role, pattern, exclude)";
    }
  }
  return "";
}

bool plain_names(const json& selector) {
  if (!selector.is_array()) return false;
  for (const auto& e : selector)
    if (!e.is_string() || is_glob(e.get<std::string>())) return false;
  return true;
}

SchemaContext::SchemaContext(const Params& params, std::vector<Schema> inputs)
    : params_(params), inputs_(std::move(inputs)), merged_(merge_schemas(inputs_)) {}

void SchemaContext::error(const std::string& param, const std::string& message) {
  issues_.push_back({param, message});
}

const ColumnSchema* SchemaContext::need(const std::string& param, const std::string& column,
                                        const std::vector<DType>& types, const Schema* in) {
  const Schema& s = in ? *in : merged_;
  if (!s.known) return nullptr;
  const ColumnSchema* c = s.find(column);
  if (!c) {
    error(param, "names " + missing_column_text(column, s.names()));
    return nullptr;
  }
  if (!types.empty() && std::find(types.begin(), types.end(), c->type) == types.end()) {
    error(param, "names column \"" + cut(column) + "\" of type " + dtype_name(c->type) + "; it takes " +
                     types_text(types) + " columns");
    return nullptr;
  }
  return c;
}

void SchemaContext::need_split() {
  if (!merged_.split) error("", "needs a train/valid/test split, but no splitter runs upstream");
}

std::vector<std::string> SchemaContext::select(const std::string& param, const SelectOptions& opt) {
  const json& sel = params_.raw(param);
  std::vector<std::string> out;
  if (!merged_.known) {
    if (plain_names(sel))
      for (const auto& e : sel) out.push_back(e.get<std::string>());
    return out;
  }
  const std::size_t issues_before = issues_.size();
  std::set<std::string> chosen;
  auto excluded = [&](const std::string& n) {
    return std::find(opt.exclude.begin(), opt.exclude.end(), n) != opt.exclude.end();
  };
  auto add = [&](const std::string& n) {
    if (chosen.insert(n).second) out.push_back(n);
  };
  std::string what;  // the selector in words, for an empty selection
  if (sel.is_array()) {
    for (const auto& e : sel) {
      const std::string w = e.get<std::string>();
      if (is_glob(w)) {
        std::size_t hits = 0;
        for (const auto& c : merged_.columns)
          if (!c.prefix && glob_match(w, c.name) && !excluded(c.name)) {
            ++hits;
            add(c.name);
          }
        if (!hits) error(param, "pattern \"" + cut(w) + "\" matches no column of its inputs");
      } else if (merged_.find(w)) {
        add(w);
      } else {
        error(param, "names " + missing_column_text(w, merged_.names()));
      }
    }
    what = sel.empty() ? "the list is empty" : "the list matches none of its inputs' " + std::to_string(merged_.names().size()) + " columns";
  } else if (sel.is_object()) {
    const std::string type = sel.value("type", "");
    const std::string pattern = sel.value("pattern", "");
    ColumnRole role{};
    const bool has_role = sel.contains("role") && parse_column_role(sel["role"].get<std::string>(), role);
    std::vector<std::string> ex;
    for (const auto& e : sel.value("exclude", json::array())) ex.push_back(e.get<std::string>());
    for (const auto& e : ex)
      if (!is_glob(e) && !merged_.find(e))
        error(param, "exclude names " + missing_column_text(e, merged_.names()));
    for (const auto& c : merged_.columns) {
      if (c.prefix || excluded(c.name)) continue;
      if (!type.empty() && !type_word_matches(type, c.type)) continue;
      if (has_role ? c.role != role
                   : !opt.default_roles.empty() &&
                         std::find(opt.default_roles.begin(), opt.default_roles.end(), c.role) ==
                             opt.default_roles.end())
        continue;
      if (!pattern.empty() && !glob_match(pattern, c.name)) continue;
      if (std::any_of(ex.begin(), ex.end(), [&](const std::string& x) { return glob_match(x, c.name); })) continue;
      add(c.name);
    }
    what = "the selector " + cut(sel.dump(), 80) + " matches none of its inputs' " + std::to_string(merged_.names().size()) + " columns";
  }
  if (!opt.types.empty()) {
    std::vector<std::string> wrong;
    for (const auto& n : out) {
      const auto* c = merged_.find(n);
      if (c && std::find(opt.types.begin(), opt.types.end(), c->type) == opt.types.end())
        wrong.push_back(n + " (" + dtype_name(c->type) + ")");
    }
    if (!wrong.empty())
      error(param, "selects " + std::string(wrong.size() == 1 ? "a column" : "columns") + " of the wrong type: " +
                       shorten_names(wrong, 100) + "; it takes " + types_text(opt.types) + " columns");
  }
  if (issues_.size() != issues_before) return out;
  if (out.empty() && !opt.allow_empty)
    error(param, "selects no column: " + what);
  resolved_.emplace_back(param, out);
  return out;
}

}  // namespace pipectl
