#include <pipectl/column_builder.hpp>

#include <cmath>

namespace pipectl {

BuildKind build_kind(DType t) {
  switch (t) {
    case DType::Int64: return BuildKind::Int;
    case DType::Float64: return BuildKind::Float;
    default: return BuildKind::Text;
  }
}

void ColumnBuilder::reserve(std::size_t n) {
  switch (kind) {
    case BuildKind::Int: i64.reserve(n); break;
    case BuildKind::Float: f64.reserve(n); break;
    case BuildKind::Text: codes.reserve(n); break;
    case BuildKind::Unknown: break;
  }
}

void ColumnBuilder::push_null(std::size_t row) {
  ++nulls;
  if (kind == BuildKind::Unknown) return;  // backfilled when the kind is known
  if (valid.empty()) valid.assign(row, 1);
  valid.push_back(0);
  switch (kind) {
    case BuildKind::Int: i64.push_back(0); break;
    case BuildKind::Float: f64.push_back(std::nan("")); break;
    case BuildKind::Text: codes.push_back(-1); break;
    case BuildKind::Unknown: break;
  }
}

void ColumnBuilder::settle(BuildKind k, std::size_t row) {
  kind = k;
  if (row == 0) return;
  valid.assign(row, 0);
  switch (kind) {
    case BuildKind::Int: i64.assign(row, 0); break;
    case BuildKind::Float: f64.assign(row, std::nan("")); break;
    case BuildKind::Text: codes.assign(row, -1); break;
    case BuildKind::Unknown: break;
  }
}

Column ColumnBuilder::finish(std::size_t rows) {
  if (kind == BuildKind::Unknown) settle(BuildKind::Float, rows);
  Column c;
  switch (kind) {
    case BuildKind::Int: c = Column::make_i64(name, std::move(i64)); break;
    case BuildKind::Float: c = Column::make_f64(name, std::move(f64)); break;
    default: c = Column::make_cat(name, std::move(codes), dict.finish()); break;
  }
  if (nulls > 0) c.valid = std::move(valid);
  return c;
}

std::string column_names(const std::vector<ColumnBuilder>& cols) {
  std::string have;
  for (const auto& b : cols) have += (have.empty() ? "" : ", ") + b.name;
  return have;
}

int check_query_columns(const std::vector<ColumnBuilder>& cols, const std::map<std::string, DType>& types,
                        const std::string& query_sql, bool list, const std::string& list_key,
                        const std::string& list_column) {
  int key_idx = -1;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    for (std::size_t d = 0; d < c; ++d)
      if (cols[d].name == cols[c].name)
        throw DataError("query returns two columns named \"" + cols[c].name +
                        "\" (give one another name with \"as\"); query: " + query_sql);
    if (cols[c].name == list_key) key_idx = static_cast<int>(c);
  }
  for (const auto& [name, type] : types) {
    bool found = false;
    for (const auto& b : cols) found = found || b.name == name;
    if (!found)
      throw DataError("parameter \"types\" names column \"" + name + "\", which the query does not return (columns: " +
                      column_names(cols) + ")");
  }
  if (list) {
    if (key_idx < 0)
      throw DataError("list_key \"" + list_key + "\" is not a column of the query (columns: " + column_names(cols) +
                      ")");
    for (const auto& b : cols)
      if (b.name == list_column)
        throw DataError("list_column \"" + list_column + "\" is already a column of the query");
  }
  return key_idx;
}

const std::vector<std::int64_t>& checked_list_keys(const Column& keycol, const std::string& list_key,
                                                   bool one_row_per_session) {
  if (keycol.type != DType::Int64)
    throw DataError("list_key \"" + list_key + "\" must be an int64 column, it is " + dtype_name(keycol.type) +
                    " (set types." + list_key + " = \"int64\"?)");
  const auto& keys = keycol.i64;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keycol.is_null(i)) throw DataError("column \"" + list_key + "\" (list_key): NULL at row " + std::to_string(i));
    if (i > 0 && keys[i] == keys[i - 1] && one_row_per_session)  // a custom query's rows may share a key
      throw DataError("column \"sessionid\": session " + std::to_string(keys[i]) + " appears more than once (rows " +
                      std::to_string(i - 1) + " and " + std::to_string(i) +
                      "); a NetCollector database has one row per session and one device per session");
    if (i > 0 && keys[i] < keys[i - 1])
      throw DataError("query result is not ordered by \"" + list_key + "\": row " + std::to_string(i) + " has " +
                      list_key + " " + std::to_string(keys[i]) + " after " + std::to_string(keys[i - 1]) +
                      " (the query needs \"order by " + list_key + "\")");
  }
  return keys;
}

std::map<std::string, DType> parse_column_types(const nlohmann::json& t, bool multi) {
  if (!t.is_object()) throw Error("parameter \"types\" must be a table of column = \"type\"");
  std::map<std::string, DType> out;
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string s = it.value().is_string() ? it.value().get<std::string>() : std::string();
    DType d;
    if (s == "int64") d = DType::Int64;
    else if (s == "float64") d = DType::Float64;
    else if (s == "categorical") d = DType::Categorical;
    else if (multi && s == "multi_categorical") d = DType::MultiCategorical;
    else
      throw Error("parameter \"types\": column \"" + it.key() + "\" has type " + it.value().dump() +
                  (multi ? "; expected \"int64\", \"float64\", \"categorical\" or \"multi_categorical\""
                         : "; expected \"int64\", \"float64\" or \"categorical\""));
    out[it.key()] = d;
  }
  return out;
}

std::string column_types_problem(const nlohmann::json& t, bool multi) {
  if (!t.is_object()) return "";
  try {
    parse_column_types(t, multi);
  } catch (const Error& e) {
    std::string m = e.what();
    const std::string head = "parameter \"types\": ";
    return m.rfind(head, 0) == 0 ? m.substr(head.size()) : m;
  }
  return "";
}

ListJoin::ListJoin(const std::vector<std::int64_t>& keys, bool distinct, std::string list_sql)
    : keys_(keys), n_(keys.size()), distinct_(distinct), sql_(std::move(list_sql)), offsets_(n_ + 1, 0) {}

void ListJoin::next_key(std::int64_t k, std::size_t lrow) {
  if (have_) {
    if (k < cur_)
      throw DataError("list_query result is not ordered by its key: row " + std::to_string(lrow) + " has key " +
                      std::to_string(k) + " after " + std::to_string(cur_) +
                      " (the list query needs \"order by\" its first column); query: " + sql_);
    end_group();
  }
  have_ = true;
  // Rows before the new key get empty lists; `matched_`: some row has it.
  while (p_ < n_ && keys_[p_] < k) {
    offsets_[p_ + 1] = static_cast<std::int64_t>(codes_.size());
    ++p_;
  }
  matched_ = p_ < n_ && keys_[p_] == k;
  cur_ = k;
  group_.clear();
  ++gid_;
}

// The key's values go to every row with that key.
void ListJoin::end_group() {
  if (!matched_) return;
  while (p_ < n_ && keys_[p_] == cur_) {
    codes_.insert(codes_.end(), group_.begin(), group_.end());
    offsets_[p_ + 1] = static_cast<std::int64_t>(codes_.size());
    ++p_;
  }
}

Column ListJoin::finish(const std::string& column, const std::function<void(const std::string&, std::int64_t)>& count) {
  if (have_) end_group();
  for (; p_ < n_; ++p_) offsets_[p_ + 1] = static_cast<std::int64_t>(codes_.size());
  codes_.shrink_to_fit();
  if (null_values_) count("nulls." + column, static_cast<std::int64_t>(null_values_));
  if (null_keys_) count("dropped.null_key." + column, static_cast<std::int64_t>(null_keys_));
  if (unmatched_) count("dropped.unmatched_key." + column, static_cast<std::int64_t>(unmatched_));
  return Column::make_multi(column, std::move(offsets_), std::move(codes_), dict_.finish());
}

}  // namespace pipectl
