#include <pipectl/error.hpp>
#include <pipectl/table.hpp>

#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace pipectl {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Categorical: return "categorical";
    case DType::MultiCategorical: return "multi_categorical";
  }
  return "?";
}

const char* role_name(Role r) {
  switch (r) {
    case Role::None: return "none";
    case Role::Train: return "train";
    case Role::Valid: return "valid";
    case Role::Test: return "test";
  }
  return "?";
}

std::size_t Column::rows() const {
  switch (type) {
    case DType::Float64: return f64.size();
    case DType::Int64: return i64.size();
    case DType::Categorical: return codes.size();
    case DType::MultiCategorical: return offsets.empty() ? 0 : offsets.size() - 1;
  }
  return 0;
}

std::size_t Column::null_count() const {
  std::size_t n = 0;
  if (type == DType::Categorical) {
    for (auto c : codes) n += (c < 0);
    return n;
  }
  for (auto v : valid) n += (v == 0);
  return n;
}

double Column::number(std::size_t i) const {
  if (is_null(i)) return std::numeric_limits<double>::quiet_NaN();
  if (type == DType::Float64) return f64[i];
  if (type == DType::Int64) return static_cast<double>(i64[i]);
  throw Error("column \"" + name + "\" is " + dtype_name(type) + ", not numeric");
}

const std::string& Column::label(std::size_t i) const {
  static const std::string empty;
  if (type != DType::Categorical) throw Error("column \"" + name + "\" is not categorical");
  auto c = codes[i];
  return c < 0 ? empty : (*dictionary)[static_cast<std::size_t>(c)];
}

void Column::check() const {
  const std::string pre = "column \"" + name + "\": ";
  if (!valid.empty() && valid.size() != rows())
    throw Error(pre + "validity has " + std::to_string(valid.size()) + " entries for " +
                std::to_string(rows()) + " rows");
  if (type == DType::Categorical || type == DType::MultiCategorical) {
    if (!dictionary) throw Error(pre + "no dictionary");
    const auto n = static_cast<std::int32_t>(dictionary->size());
    for (std::size_t i = 0; i < codes.size(); ++i)
      if (codes[i] >= n || (codes[i] < 0 && type == DType::MultiCategorical) || codes[i] < -1)
        throw Error(pre + "code " + std::to_string(codes[i]) + " at position " + std::to_string(i) +
                    " outside dictionary of " + std::to_string(n));
  }
  if (type == DType::MultiCategorical) {
    if (offsets.empty() || offsets.front() != 0) throw Error(pre + "offsets must start at 0");
    for (std::size_t i = 1; i < offsets.size(); ++i)
      if (offsets[i] < offsets[i - 1]) throw Error(pre + "offsets decrease at row " + std::to_string(i - 1));
    if (static_cast<std::size_t>(offsets.back()) != codes.size())
      throw Error(pre + "offsets end at " + std::to_string(offsets.back()) + " but " +
                  std::to_string(codes.size()) + " codes");
  }
}

Column Column::make_f64(std::string name, std::vector<double> v, std::vector<std::uint8_t> valid) {
  Column c;
  c.name = std::move(name);
  c.type = DType::Float64;
  c.f64 = std::move(v);
  c.valid = std::move(valid);
  return c;
}
Column Column::make_i64(std::string name, std::vector<std::int64_t> v, std::vector<std::uint8_t> valid) {
  Column c;
  c.name = std::move(name);
  c.type = DType::Int64;
  c.i64 = std::move(v);
  c.valid = std::move(valid);
  return c;
}
Column Column::make_cat(std::string name, std::vector<std::int32_t> codes, DictionaryPtr dict) {
  Column c;
  c.name = std::move(name);
  c.type = DType::Categorical;
  c.codes = std::move(codes);
  c.dictionary = std::move(dict);
  return c;
}
Column Column::make_multi(std::string name, std::vector<std::int64_t> offsets, std::vector<std::int32_t> codes,
                          DictionaryPtr dict) {
  Column c;
  c.name = std::move(name);
  c.type = DType::MultiCategorical;
  c.offsets = std::move(offsets);
  c.codes = std::move(codes);
  c.dictionary = std::move(dict);
  return c;
}

Column encode_strings(std::string name, const std::vector<std::string>& values,
                      const std::vector<std::uint8_t>& valid) {
  auto dict = std::make_shared<Dictionary>();
  std::vector<std::int32_t> codes(values.size(), -1);
  std::unordered_map<std::string, std::int32_t> idx;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!valid.empty() && !valid[i]) continue;
    auto it = idx.find(values[i]);
    if (it == idx.end()) {
      it = idx.emplace(values[i], static_cast<std::int32_t>(dict->size())).first;
      dict->push_back(values[i]);
    }
    codes[i] = it->second;
  }
  return Column::make_cat(std::move(name), std::move(codes), std::move(dict));
}

Table::Table(std::vector<ColumnPtr> columns) : columns_(std::move(columns)) {
  rows_ = columns_.empty() || !columns_.front() ? 0 : columns_.front()->rows();
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> n;
  n.reserve(columns_.size());
  for (const auto& c : columns_) n.push_back(c->name);
  return n;
}

ColumnPtr Table::find(std::string_view name) const {
  for (const auto& c : columns_)
    if (c->name == name) return c;
  return nullptr;
}

const Column& Table::at(std::string_view name) const {
  auto c = find(name);
  if (!c) {
    std::string have;
    for (const auto& x : columns_) have += (have.empty() ? "" : ", ") + x->name;
    throw DataError("no column \"" + std::string(name) + "\" (columns: " + have + ")");
  }
  return *c;
}

Table Table::with(ColumnPtr col) const {
  Table t = *this;
  if (!t.columns_.empty() && col->rows() != rows_)
    throw Error("column \"" + col->name + "\" has " + std::to_string(col->rows()) + " rows, table has " +
                std::to_string(rows_));
  for (auto& c : t.columns_)
    if (c->name == col->name) {
      c = std::move(col);
      return t;
    }
  if (t.columns_.empty()) t.rows_ = col->rows();
  t.columns_.push_back(std::move(col));
  return t;
}

Table Table::without(std::string_view name) const {
  Table t = *this;
  t.columns_.clear();
  for (const auto& c : columns_)
    if (c->name != name) t.columns_.push_back(c);
  return t;
}

template <class T>
static std::vector<T> gather(const std::vector<T>& v, const std::vector<std::uint32_t>& rows) {
  std::vector<T> out;
  if (v.empty()) return out;
  out.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) out[i] = v[rows[i]];
  return out;
}

Table Table::take(const std::vector<std::uint32_t>& rows) const {
  std::vector<ColumnPtr> cols;
  cols.reserve(columns_.size());
  for (const auto& c : columns_) {
    auto n = std::make_shared<Column>();
    n->name = c->name;
    n->type = c->type;
    n->dictionary = c->dictionary;
    n->valid = gather(c->valid, rows);
    switch (c->type) {
      case DType::Float64: n->f64 = gather(c->f64, rows); break;
      case DType::Int64: n->i64 = gather(c->i64, rows); break;
      case DType::Categorical: n->codes = gather(c->codes, rows); break;
      case DType::MultiCategorical: {
        n->offsets.reserve(rows.size() + 1);
        n->offsets.push_back(0);
        for (auto r : rows) {
          for (auto k = c->offsets[r]; k < c->offsets[r + 1]; ++k) n->codes.push_back(c->codes[k]);
          n->offsets.push_back(static_cast<std::int64_t>(n->codes.size()));
        }
        break;
      }
    }
    cols.push_back(std::move(n));
  }
  Table t(std::move(cols));
  t.rows_ = rows.size();
  t.meta_ = meta_;
  if (roles_) t.roles_ = std::make_shared<const std::vector<Role>>(gather(*roles_, rows));
  return t;
}

const std::vector<Role>& Table::roles() const {
  if (!roles_) throw Error("the table has no train/valid/test split (no splitter upstream)");
  return *roles_;
}

Table Table::with_roles(std::shared_ptr<const std::vector<Role>> roles) const {
  if (roles && roles->size() != rows_)
    throw Error("roles have " + std::to_string(roles->size()) + " entries, table has " + std::to_string(rows_) +
                " rows");
  Table t = *this;
  t.roles_ = std::move(roles);
  return t;
}

std::vector<std::uint32_t> Table::rows_with(Role r) const {
  std::vector<std::uint32_t> out;
  if (!roles_) {
    if (r == Role::None) {
      out.resize(rows_);
      for (std::size_t i = 0; i < rows_; ++i) out[i] = static_cast<std::uint32_t>(i);
    }
    return out;
  }
  for (std::size_t i = 0; i < roles_->size(); ++i)
    if ((*roles_)[i] == r) out.push_back(static_cast<std::uint32_t>(i));
  return out;
}

std::string Table::meta(const std::string& key, const std::string& fallback) const {
  auto it = meta_.find(key);
  return it == meta_.end() ? fallback : it->second;
}

Table Table::with_meta(const std::string& key, const std::string& value) const {
  Table t = *this;
  t.meta_[key] = value;
  return t;
}

void Table::check() const {
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto& c = columns_[i];
    if (!c) throw Error("column " + std::to_string(i + 1) + " is missing (a null column pointer)");
    if (!seen.insert(c->name).second) throw Error("column \"" + c->name + "\" appears twice");
    if (c->rows() != rows_)
      throw Error("column \"" + c->name + "\" has " + std::to_string(c->rows()) + " rows, expected " +
                  std::to_string(rows_));
    c->check();
  }
  if (roles_ && roles_->size() != rows_) throw Error("row roles do not match the row count");
}

}  // namespace pipectl
