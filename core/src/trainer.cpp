#include <pipectl/error.hpp>
#include <pipectl/trainer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pipectl {

void declare_trainer_params(PluginSpec& s) {
  s.param("label", ParamType::String, "label column (int64 0..k-1 or categorical)").def("is_iot");
  s.param("features", ParamType::Columns,
          "feature columns (names, globs or a selector table); empty = every column except label, exclude and pred_*")
      .def(json::array());
  s.param("exclude", ParamType::StringList, "columns never used as features (when `features` is empty)")
      .def(json::array({"sessionid"}));
}

const char* const kTrainerSchemaDoc =
    "needs `label` (int64 or categorical), the `features` columns and a split; gives its input plus pred_label "
    "(categorical, prediction) and pred_proba (binary) or pred_proba.<class> (multiclass) (float64, prediction)";

Schema trainer_schema(SchemaContext& ctx) {
  const auto& p = ctx.params();
  ctx.need_split();
  const std::string label = p.str("label");
  const ColumnSchema* lab = ctx.need("label", label, {DType::Int64, DType::Categorical});
  SelectOptions sel;
  sel.allow_empty = true;  // empty = every column but the label, exclude and the predictions
  sel.exclude = {label};
  sel.default_roles = {ColumnRole::Feature};
  ctx.select("features", sel);
  Schema out = ctx.input();
  if (lab) {
    ColumnSchema l = *lab;
    l.role = ColumnRole::Label;
    out.set(l);
  }
  ColumnSchema pl;
  pl.name = "pred_label";
  pl.type = DType::Categorical;
  pl.nullable = false;
  pl.role = ColumnRole::Prediction;
  out.set(pl);
  ColumnSchema pp;
  pp.name = "pred_proba";
  pp.type = DType::Float64;
  pp.role = ColumnRole::Prediction;
  pp.prefix = true;
  out.set(pp);
  return out;
}

const char* const kPartialTrainerSchemaDoc =
    "needs `label` (int64 or categorical), the `features` columns and a split; gives its input plus pred_label "
    "(categorical, prediction) and pred_proba (binary) or pred_proba.<class> (multiclass) (float64, prediction); "
    "pred_label is NULL on the rows no consumer reads";

Schema partial_trainer_schema(SchemaContext& ctx) {
  Schema out = trainer_schema(ctx);
  if (const auto* pl = out.find("pred_label")) {
    ColumnSchema x = *pl;
    x.nullable = true;
    out.set(x);
  }
  return out;
}

TrainingSet prepare_training(StageContext& ctx, const Table& t, const std::string& label,
                             const std::vector<std::string>& features, const std::vector<std::string>& exclude,
                             const std::string& plugin, bool with_valid, bool native_categorical) {
  if (!t.has_roles())
    throw DataError(plugin + ": the table has no train/valid/test split; a splitter is needed upstream");
  TrainingSet s;
  const Column& lab = t.at(label);
  s.classes = label_classes(t, label);
  if (s.classes.size() < 2)
    throw DataError("label column \"" + label + "\" has a single class (" + join_quoted(s.classes) +
                    "); a classifier needs at least two");
  s.columns = feature_columns(t, label, features, exclude);
  if (std::find(s.columns.begin(), s.columns.end(), label) != s.columns.end())
    throw DataError("label column \"" + label + "\" is listed among the features");
  if (s.columns.empty())
    throw DataError(plugin + ": no feature columns left (columns: " + join_quoted(t.column_names()) + ")");

  // Labelled rows of a role; rows with a NULL label are left out and counted.
  std::int64_t skipped = 0;
  auto labelled = [&](Role r) {
    auto rows = t.rows_with(r);
    std::vector<std::uint32_t> keep;
    keep.reserve(rows.size());
    for (auto i : rows) {
      if (label_is_null(lab, i))
        ++skipped;
      else
        keep.push_back(i);
    }
    return keep;
  };
  s.train_rows = labelled(Role::Train);
  if (with_valid) s.valid_rows = labelled(Role::Valid);
  if (skipped > 0) {
    ctx.count("skipped.null_label." + label, skipped);
    ctx.warn(plugin + ": " + std::to_string(skipped) + (with_valid ? " train/valid" : " train") +
             " rows with a NULL \"" + label + "\" are left out of training (they are still predicted)");
  }
  if (s.train_rows.empty())
    throw DataError(plugin + ": no labelled rows with role train (label \"" + label + "\")");

  s.y_train = label_vector(t, label, s.train_rows);
  s.per_class.assign(s.classes.size(), 0);
  for (float y : s.y_train.y) {
    const auto k = static_cast<std::size_t>(y);
    if (k >= s.per_class.size())
      throw DataError("label column \"" + label + "\" has class index " + std::to_string(k) + " outside " +
                      std::to_string(s.per_class.size()) + " classes");
    ++s.per_class[k];
  }
  std::size_t only = 0;
  for (std::size_t k = 0; k < s.per_class.size(); ++k)
    if (s.per_class[k]) ++s.distinct, only = k;
  if (s.distinct < 2)
    throw DataError("label column \"" + label + "\" has a single class (\"" + s.classes[only] + "\") in the " +
                    std::to_string(s.train_rows.size()) + " training rows; a classifier needs at least two");

  s.started = std::chrono::steady_clock::now();
  if (native_categorical) s.native = native_categorical_columns(t, s.columns);
  s.x_train = build_features(t, s.columns, s.train_rows, s.native);
  return s;
}

std::vector<std::string> native_categorical_columns(const Table& t, const std::vector<std::string>& columns) {
  std::vector<std::string> out;
  for (const auto& c : columns)
    if (t.meta(native_categorical_key(c)) == "1") out.push_back(c);
  return out;
}

void check_feature_names(const std::vector<std::string>& fitted, const std::vector<std::string>& now,
                         const std::string& plugin) {
  if (now == fitted) return;
  std::size_t i = 0;
  while (i < now.size() && i < fitted.size() && now[i] == fitted[i]) ++i;
  const std::string want = i < fitted.size() ? "\"" + fitted[i] + "\"" : "nothing (end)";
  const std::string got = i < now.size() ? "\"" + now[i] + "\"" : "nothing (end)";
  throw DataError(plugin + ": the features differ from the fitted model's (" + std::to_string(fitted.size()) +
                  " fitted, " + std::to_string(now.size()) + " now): first difference at feature " +
                  std::to_string(i) + ": expected " + want + ", got " + got);
}

std::vector<bool> numeric_features(const Table& t, const std::vector<std::string>& columns) {
  std::vector<bool> out;
  for (const auto& name : columns) {
    const Column& c = t.at(name);
    if (c.is_numeric())
      out.push_back(true);
    else
      out.insert(out.end(), c.dictionary ? c.dictionary->size() : 0, false);
  }
  return out;
}

void check_finite(const FeatureMatrix& m, const std::vector<std::uint32_t>* rows) {
  for (std::size_t i = 0; i < m.rows; ++i)
    for (auto e = m.indptr[i]; e < m.indptr[i + 1]; ++e)
      if (!std::isfinite(m.values[e])) {
        const std::size_t r = rows ? (*rows)[i] : i;
        const std::string val = m.values[e] > 0 ? "inf" : "-inf";
        throw DataError("column \"" + m.names[m.indices[e]] + "\": non-finite value " + val + " at row " +
                        std::to_string(r));
      }
}

std::string fmt17(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string join_quoted(const std::vector<std::string>& v, std::size_t max_items) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < max_items; ++i) s += (i ? ", " : "") + ("\"" + v[i] + "\"");
  if (v.size() > max_items) s += ", …";
  return s;
}

bool label_is_null(const Column& c, std::size_t r) {
  return c.is_null(r) || (c.type == DType::Categorical && c.codes[r] < 0);
}

}  // namespace pipectl
