#include <pipectl/error.hpp>
#include <pipectl/features.hpp>
#include <pipectl/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace pipectl {

std::vector<float> FeatureMatrix::dense() const {
  std::vector<float> d(rows * cols, 0.0f);
  for (std::size_t r = 0; r < rows; ++r)
    for (auto k = indptr[r]; k < indptr[r + 1]; ++k) d[r * cols + indices[k]] = values[k];
  return d;
}

std::vector<std::string> feature_columns(const Table& t, const std::string& label,
                                         const std::vector<std::string>& explicit_columns,
                                         const std::vector<std::string>& exclude) {
  if (!explicit_columns.empty()) {
    for (const auto& c : explicit_columns) (void)t.at(c);
    return explicit_columns;
  }
  std::vector<std::string> out;
  for (const auto& c : t.columns()) {
    if (c->name == label) continue;
    if (c->name.rfind("pred_", 0) == 0) continue;
    if (std::find(exclude.begin(), exclude.end(), c->name) != exclude.end()) continue;
    out.push_back(c->name);
  }
  return out;
}

FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns) {
  std::vector<std::uint32_t> rows(t.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::uint32_t>(i);
  return build_features(t, columns, rows);
}

FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns,
                             const std::vector<std::uint32_t>& rows) {
  return build_features(t, columns, rows, {});
}

std::string native_categorical_key(const std::string& column) { return "native_categorical." + column; }

FeatureMatrix build_features(const Table& t, const std::vector<std::string>& columns,
                             const std::vector<std::uint32_t>& rows, const std::vector<std::string>& native) {
  FeatureMatrix m;
  m.rows = rows.size();
  std::vector<const Column*> cols;
  std::vector<std::uint32_t> base;
  std::vector<char> as_code;  // per column: one feature holding the category code
  std::size_t nnz_guess = 0;
  for (const auto& name : columns) {
    const Column& c = t.at(name);
    cols.push_back(&c);
    base.push_back(static_cast<std::uint32_t>(m.names.size()));
    const bool code = std::find(native.begin(), native.end(), name) != native.end();
    if (code && c.type != DType::Categorical)
      throw DataError("column \"" + name + "\" is marked a native categorical feature but is " + dtype_name(c.type));
    as_code.push_back(code ? 1 : 0);
    if (code) {
      m.names.push_back(c.name);
      m.categorical.resize(m.names.size(), 0);  // 0 for the features before it
      m.categorical.back() = 1;
      nnz_guess += rows.size();
      continue;
    }
    if (c.is_numeric()) {
      m.names.push_back(c.name);
      nnz_guess += rows.size();
    } else {
      for (const auto& v : *c.dictionary) m.names.push_back(c.name + "=" + v);
      nnz_guess += rows.size();
    }
  }
  m.cols = m.names.size();
  if (!m.categorical.empty()) m.categorical.resize(m.cols, 0);
  m.indptr.resize(rows.size() + 1);
  m.indices.reserve(nnz_guess);
  m.values.reserve(nnz_guess);
  m.indptr[0] = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = rows[i];
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const Column& c = *cols[j];
      switch (c.type) {
        case DType::Float64: {
          if (c.is_null(r)) break;
          double v = c.f64[r];
          if (std::isnan(v)) break;
          m.indices.push_back(base[j]);
          m.values.push_back(static_cast<float>(v));
          break;
        }
        case DType::Int64:
          if (c.is_null(r)) break;
          m.indices.push_back(base[j]);
          m.values.push_back(static_cast<float>(c.i64[r]));
          break;
        case DType::Categorical:
          if (c.codes[r] < 0) break;
          if (as_code[j]) {
            m.indices.push_back(base[j]);
            m.values.push_back(static_cast<float>(c.codes[r]));
            break;
          }
          m.indices.push_back(base[j] + static_cast<std::uint32_t>(c.codes[r]));
          m.values.push_back(1.0f);
          break;
        case DType::MultiCategorical: {
          // Sorted, de-duplicated indices within the row.
          const auto b = m.indices.size();
          for (auto k = c.offsets[r]; k < c.offsets[r + 1]; ++k)
            m.indices.push_back(base[j] + static_cast<std::uint32_t>(c.codes[k]));
          std::sort(m.indices.begin() + static_cast<std::ptrdiff_t>(b), m.indices.end());
          m.indices.erase(std::unique(m.indices.begin() + static_cast<std::ptrdiff_t>(b), m.indices.end()),
                          m.indices.end());
          m.values.resize(m.indices.size(), 1.0f);
          break;
        }
      }
    }
    m.indptr[i + 1] = m.indices.size();
  }
  return m;
}

std::vector<std::string> int_label_names(const Table& t, const std::string& label, std::size_t k) {
  std::vector<std::string> names;
  for (std::size_t c = 0; c < k; ++c) names.push_back(std::to_string(c));
  const std::string given = t.meta("label_names." + label);
  if (given.empty()) return names;
  std::vector<std::string> g;
  std::size_t p = 0;
  while (p <= given.size()) {
    auto q = given.find(',', p);
    if (q == std::string::npos) q = given.size();
    g.push_back(given.substr(p, q - p));
    p = q + 1;
  }
  return g.size() == k ? g : names;
}

std::vector<std::string> label_classes(const Table& t, const std::string& label) {
  const Column& c = t.at(label);
  if (c.type == DType::Categorical) return *c.dictionary;
  if (c.type == DType::Int64) {
    std::int64_t mx = 1;
    for (std::size_t i = 0; i < c.i64.size(); ++i)
      if (!c.is_null(i)) mx = std::max(mx, c.i64[i]);
    return int_label_names(t, label, static_cast<std::size_t>(mx) + 1);
  }
  throw DataError("label column \"" + label + "\" must be int64 or categorical, it is " + dtype_name(c.type));
}

LabelVector label_vector(const Table& t, const std::string& label, const std::vector<std::uint32_t>& rows) {
  LabelVector out;
  out.classes = label_classes(t, label);
  const Column& c = t.at(label);
  out.y.reserve(rows.size());
  for (auto r : rows) {
    if (c.is_null(r) || (c.type == DType::Categorical && c.codes[r] < 0))
      throw DataError("label column \"" + label + "\" is NULL at row " + std::to_string(r));
    if (c.type == DType::Categorical) {
      out.y.push_back(static_cast<float>(c.codes[r]));
    } else {
      auto v = c.i64[r];
      if (v < 0) throw DataError("label column \"" + label + "\" has negative class " + std::to_string(v) +
                                 " at row " + std::to_string(r));
      out.y.push_back(static_cast<float>(v));
    }
  }
  return out;
}

std::vector<std::string> proba_columns(const std::vector<std::string>& classes) {
  if (classes.size() <= 2) return {"pred_proba"};
  std::vector<std::string> out;
  for (const auto& c : classes) out.push_back("pred_proba." + c);
  return out;
}

Table with_predictions(const Table& t, const std::vector<std::string>& classes, const std::vector<float>& proba,
                       const std::string& model_id) {
  const std::size_t n = t.rows();
  const std::size_t k = classes.size() <= 2 ? 1 : classes.size();
  if (proba.size() != n * k)
    throw Error("predictions have " + std::to_string(proba.size()) + " values, expected " + std::to_string(n * k));
  Table out = t;
  auto names = proba_columns(classes);
  auto dict = std::make_shared<Dictionary>(classes);
  std::vector<std::int32_t> pred(n);
  for (std::size_t j = 0; j < k; ++j) {
    std::vector<double> col(n);
    for (std::size_t i = 0; i < n; ++i) col[i] = proba[i * k + j];
    out = out.with(Column::make_f64(names[j], std::move(col)));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (k == 1) {
      pred[i] = proba[i] >= 0.5f ? 1 : 0;
    } else {
      std::size_t best = 0;
      for (std::size_t j = 1; j < k; ++j)
        if (proba[i * k + j] > proba[i * k + best]) best = j;
      pred[i] = static_cast<std::int32_t>(best);
    }
  }
  out = out.with(Column::make_cat("pred_label", std::move(pred), dict));
  return out.with_meta("model", model_id);
}

}  // namespace pipectl

namespace pipectl {

Table with_predictions(const Table& t, const std::vector<std::string>& classes, const std::vector<float>& proba,
                       const std::string& model_id, const std::vector<std::uint32_t>& rows) {
  const std::size_t n = t.rows(), m = rows.size();
  const std::size_t k = classes.size() <= 2 ? 1 : classes.size();
  if (proba.size() != m * k)
    throw Error("predictions have " + std::to_string(proba.size()) + " values, expected " + std::to_string(m * k));
  Table out = t;
  const auto names = proba_columns(classes);
  auto dict = std::make_shared<Dictionary>(classes);
  std::vector<std::uint8_t> valid(n, 0);
  for (auto r : rows) {
    if (r >= n) throw Error("predicted row " + std::to_string(r) + " outside the table's " + std::to_string(n));
    valid[r] = 1;
  }
  for (std::size_t j = 0; j < k; ++j) {
    std::vector<double> col(n, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t i = 0; i < m; ++i) col[rows[i]] = proba[i * k + j];
    out = out.with(Column::make_f64(names[j], std::move(col), valid));
  }
  std::vector<std::int32_t> pred(n, -1);  // -1: NULL
  for (std::size_t i = 0; i < m; ++i) {
    std::size_t best = 0;
    if (k == 1) {
      best = proba[i] >= 0.5f ? 1 : 0;
    } else {
      for (std::size_t j = 1; j < k; ++j)
        if (proba[i * k + j] > proba[i * k + best]) best = j;
    }
    pred[rows[i]] = static_cast<std::int32_t>(best);
  }
  out = out.with(Column::make_cat("pred_label", std::move(pred), dict));
  return out.with_meta("model", model_id).with_meta("predicted_rows", std::to_string(m) + " of " + std::to_string(n));
}

PredictedRows rows_to_predict(StageContext& ctx, const Table& t, const std::string& plugin) {
  PredictedRows out;
  const auto roles = ctx.consumer_roles();
  if (roles.empty() || !t.has_roles()) return out;
  out.all = false;
  std::map<Role, std::int64_t> left;
  const auto& r = t.roles();
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (std::find(roles.begin(), roles.end(), r[i]) != roles.end())
      out.rows.push_back(static_cast<std::uint32_t>(i));
    else
      ++left[r[i]];
  }
  std::string names;
  for (const auto& [role, count] : left) {
    ctx.count(std::string("not_predicted.role.") + role_name(role), count);
    names += std::string(names.empty() ? "" : ", ") + std::to_string(count) + " " + role_name(role);
  }
  if (!left.empty())
    ctx.info(plugin + ": predicted the " + std::to_string(out.rows.size()) + " rows its consumers read; " + names +
             " rows left NULL");
  return out;
}

}  // namespace pipectl
