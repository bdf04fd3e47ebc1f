#include "evaluator.hpp"
#include "intervals.hpp"

#include <pipectl/run_folder.hpp>
#include <pipectl/error.hpp>
#include <pipectl/features.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <unordered_map>

namespace pipectl::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// log_loss clips probabilities to [eps, 1 - eps] with eps the machine epsilon
// of float64 (2.22e-16), then renormalises each row to sum 1: scikit-learn's
// default (log_loss(eps="auto") in 1.2, the dtype's eps; the only behaviour
// since 1.5). A binary row is {1 - clip(p), clip(p)}, as sklearn builds it.
constexpr double kEps = std::numeric_limits<double>::epsilon();

// Cumulative true/false positives at each distinct score, highest first.
struct Sweep {
  std::vector<std::uint64_t> tp, fp;
  std::vector<double> thr;
  std::uint64_t pos = 0, neg = 0;
};

Sweep sweep(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  if (y.size() != score.size()) throw Error("evaluator: labels and scores differ in length");
  Sweep s;
  std::vector<std::uint32_t> order(y.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return score[a] > score[b] || (score[a] == score[b] && a < b);
  });
  std::uint64_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size();) {
    const double v = score[order[i]];
    std::size_t j = i;
    for (; j < order.size() && score[order[j]] == v; ++j) (y[order[j]] ? tp : fp) += 1;
    s.tp.push_back(tp);
    s.fp.push_back(fp);
    s.thr.push_back(v);
    i = j;
  }
  s.pos = tp;
  s.neg = fp;
  return s;
}

json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string fmt17(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string join_quoted(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + ("\"" + v[i] + "\"");
  return s;
}

// ------------------------------------------------------------ several workers

template <class T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const std::string& b, std::size_t& at) {
  if (at + sizeof(T) > b.size()) throw Error("evaluator: a worker's outcomes are truncated");
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

/// The evaluated rows of one worker, compactly: the row count, the
/// probabilities per row, the class width (1 byte up to 127 classes, else
/// 4), then per row the true class, the predicted class and the
/// probabilities (float64).
std::string pack(const Outcomes& o, std::size_t kp) {
  const std::size_t n = o.truth.size();
  const std::uint8_t w = o.classes.size() <= 127 ? 1 : 4;
  std::string b;
  b.reserve(16 + n * (2 * w + 8 * kp));
  put<std::uint64_t>(b, n);
  put<std::uint32_t>(b, static_cast<std::uint32_t>(kp));
  put<std::uint8_t>(b, w);
  for (std::size_t i = 0; i < n; ++i) {
    if (w == 1) {
      put<std::int8_t>(b, static_cast<std::int8_t>(o.truth[i]));
      put<std::int8_t>(b, static_cast<std::int8_t>(o.pred[i]));
    } else {
      put<std::int32_t>(b, o.truth[i]);
      put<std::int32_t>(b, o.pred[i]);
    }
    for (std::size_t j = 0; j < kp; ++j) put<double>(b, o.proba[i * kp + j]);
  }
  return b;
}

/// Every worker's rows in one Outcomes, in an order that depends on the rows
/// only (sorted by probabilities, then true and predicted class), so that
/// each worker computes the same figures whatever the ranks hold.
Outcomes unite(const std::vector<std::string>& packed, const std::vector<std::string>& classes, const std::string& who) {
  Outcomes all;
  all.classes = classes;
  std::size_t kp = 0;
  for (std::size_t r = 0; r < packed.size(); ++r) {
    std::size_t at = 0;
    const auto n = get<std::uint64_t>(packed[r], at);
    const auto k = get<std::uint32_t>(packed[r], at);
    const auto w = get<std::uint8_t>(packed[r], at);
    if (r == 0) kp = k;
    if (k != kp)
      throw DataError(who + "worker 0 has " + std::to_string(kp) + " probability columns, worker " +
                      std::to_string(r) + " " + std::to_string(k));
    for (std::uint64_t i = 0; i < n; ++i) {
      all.truth.push_back(w == 1 ? get<std::int8_t>(packed[r], at) : get<std::int32_t>(packed[r], at));
      all.pred.push_back(w == 1 ? get<std::int8_t>(packed[r], at) : get<std::int32_t>(packed[r], at));
      for (std::size_t j = 0; j < kp; ++j) all.proba.push_back(get<double>(packed[r], at));
    }
  }
  const std::size_t n = all.truth.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t j = 0; j < kp; ++j) {
      const double x = all.proba[a * kp + j], y = all.proba[b * kp + j];
      if (x != y) return x < y;
    }
    if (all.truth[a] != all.truth[b]) return all.truth[a] < all.truth[b];
    return all.pred[a] < all.pred[b];
  });
  Outcomes sorted;
  sorted.classes = classes;
  sorted.truth.reserve(n);
  sorted.pred.reserve(n);
  sorted.proba.reserve(n * kp);
  for (auto i : order) {
    sorted.truth.push_back(all.truth[i]);
    sorted.pred.push_back(all.pred[i]);
    for (std::size_t j = 0; j < kp; ++j) sorted.proba.push_back(all.proba[i * kp + j]);
  }
  return sorted;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw Error("evaluator: cannot write " + p.string());
}

}  // namespace

// ------------------------------------------------------------ pure helpers

double roc_auc(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  const Sweep s = sweep(y, score);
  if (s.pos == 0 || s.neg == 0) return kNaN;
  // Twice the area under the step-free (trapezoidal) ROC, in integer units.
  std::uint64_t area2 = 0;  // <= 2·pos·neg < 2^64 for fewer than 2^32 rows
  std::uint64_t ptp = 0, pfp = 0;
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    area2 += (s.fp[i] - pfp) * (s.tp[i] + ptp);
    ptp = s.tp[i];
    pfp = s.fp[i];
  }
  return static_cast<double>(area2) / (2.0 * static_cast<double>(s.pos) * static_cast<double>(s.neg));
}

double average_precision(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  const Sweep s = sweep(y, score);
  if (s.pos == 0) return kNaN;
  double sum = 0.0;
  std::uint64_t ptp = 0;
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    if (s.tp[i] != ptp)
      sum += static_cast<double>(s.tp[i] - ptp) * (static_cast<double>(s.tp[i]) / static_cast<double>(s.tp[i] + s.fp[i]));
    ptp = s.tp[i];
  }
  return sum / static_cast<double>(s.pos);
}

RocCurve roc_curve(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  RocCurve c;
  const Sweep s = sweep(y, score);
  if (s.pos == 0 || s.neg == 0) return c;
  c.fpr.push_back(0.0);
  c.tpr.push_back(0.0);
  c.threshold.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    c.fpr.push_back(static_cast<double>(s.fp[i]) / static_cast<double>(s.neg));
    c.tpr.push_back(static_cast<double>(s.tp[i]) / static_cast<double>(s.pos));
    c.threshold.push_back(s.thr[i]);
  }
  return c;
}

PrCurve pr_curve(const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
  PrCurve c;
  const Sweep s = sweep(y, score);
  if (s.pos == 0) return c;
  c.recall.push_back(0.0);
  c.precision.push_back(1.0);
  c.threshold.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < s.tp.size(); ++i) {
    c.recall.push_back(static_cast<double>(s.tp[i]) / static_cast<double>(s.pos));
    c.precision.push_back(static_cast<double>(s.tp[i]) / static_cast<double>(s.tp[i] + s.fp[i]));
    c.threshold.push_back(s.thr[i]);
  }
  return c;
}

std::vector<std::size_t> downsample(std::size_t n, std::size_t max_points) {
  std::vector<std::size_t> idx;
  if (n == 0 || max_points == 0) return idx;
  if (n <= max_points || max_points == 1) {
    const std::size_t m = n <= max_points ? n : 1;
    for (std::size_t i = 0; i < m; ++i) idx.push_back(i);
    return idx;
  }
  const std::size_t m = max_points;
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t i = (j * (n - 1) + (m - 1) / 2) / (m - 1);
    if (idx.empty() || idx.back() != i) idx.push_back(i);
  }
  return idx;
}

json compute_metrics(const Outcomes& o, std::vector<std::string>& warnings) {
  const std::size_t n = o.truth.size();
  const std::size_t k = o.classes.size();
  const bool binary = k == 2;
  const bool has_proba = !o.proba.empty();
  if (o.pred.size() != n) throw Error("evaluator: predictions and labels differ in length");
  if (has_proba && o.proba.size() != n * (binary ? 1 : k))
    throw Error("evaluator: probabilities do not match the rows and classes");

  json m = json::object();
  m["rows"] = static_cast<std::int64_t>(n);
  m["classes"] = o.classes;
  // Binary: precision, recall, F1 and the curves are those of this class.
  if (binary) m["positive_class"] = o.classes[1];
  std::vector<std::vector<std::int64_t>> cm(k, std::vector<std::int64_t>(k, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto t = static_cast<std::size_t>(o.truth[i]);
    const auto p = static_cast<std::size_t>(o.pred[i]);
    if (t >= k || p >= k) throw Error("evaluator: class index outside the classes");
    ++cm[t][p];
    correct += t == p;
  }
  m["confusion_matrix"] = cm;
  for (const char* key : {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"})
    m[key] = nullptr;
  if (n == 0) {
    warnings.push_back("no rows to evaluate: every metric is null");
    if (!binary) m["per_class"] = json::object();
    return m;
  }
  const double dn = static_cast<double>(n);
  m["accuracy"] = static_cast<double>(correct) / dn;

  // One-vs-rest counts per class.
  std::vector<std::int64_t> tp(k, 0), fp(k, 0), fn(k, 0), support(k, 0);
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p) {
      if (t == p)
        tp[t] += cm[t][p];
      else
        fp[p] += cm[t][p], fn[t] += cm[t][p];
      support[t] += cm[t][p];
    }
  auto ratio = [](std::int64_t a, std::int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); };
  auto prec = [&](std::size_t c) { return ratio(tp[c], tp[c] + fp[c]); };
  auto rec = [&](std::size_t c) { return ratio(tp[c], tp[c] + fn[c]); };
  auto f1 = [&](std::size_t c) { return ratio(2 * tp[c], 2 * tp[c] + fp[c] + fn[c]); };
  if (binary) {
    m["precision"] = prec(1);
    m["recall"] = rec(1);
    m["f1"] = f1(1);
  } else {
    // Macro averages over the classes present in the truth or the predictions (as sklearn).
    double sp = 0, sr = 0, sf = 0;
    std::size_t used = 0;
    json per = json::object();
    for (std::size_t c = 0; c < k; ++c) {
      per[o.classes[c]] = {{"precision", prec(c)}, {"recall", rec(c)}, {"f1", f1(c)}, {"support", support[c]}};
      if (support[c] == 0 && tp[c] + fp[c] == 0) continue;
      sp += prec(c), sr += rec(c), sf += f1(c);
      ++used;
    }
    m["precision"] = sp / static_cast<double>(used);
    m["recall"] = sr / static_cast<double>(used);
    m["f1"] = sf / static_cast<double>(used);
    m["per_class"] = per;
  }

  if (!has_proba) {
    warnings.push_back("no probability columns: roc_auc, pr_auc and log_loss are null");
    return m;
  }
  std::vector<std::uint8_t> y(n);
  std::vector<double> score(n);
  if (binary) {
    for (std::size_t i = 0; i < n; ++i) y[i] = o.truth[i] == 1;
    const double auc = roc_auc(y, o.proba);
    const double ap = average_precision(y, o.proba);
    const std::string only = o.classes[support[1] == 0 ? 0 : 1];
    if (std::isnan(auc))
      warnings.push_back("roc_auc is undefined: every evaluated row has the class \"" + only + "\"");
    if (std::isnan(ap)) warnings.push_back("pr_auc is undefined: no evaluated row has the class \"" + o.classes[1] + "\"");
    m["roc_auc"] = num_or_null(auc);
    m["pr_auc"] = num_or_null(ap);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double p1 = std::clamp(o.proba[i], kEps, 1 - kEps);
      const double p0 = 1.0 - p1;
      const double s = p0 + p1;
      sum -= std::log((o.truth[i] == 1 ? p1 : p0) / s);
    }
    m["log_loss"] = sum / dn;
  } else {
    double sa = 0, sp = 0;
    std::size_t na = 0, np = 0;
    std::vector<std::string> no_auc, no_ap;
    for (std::size_t c = 0; c < k; ++c) {
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = static_cast<std::size_t>(o.truth[i]) == c;
        score[i] = o.proba[i * k + c];
      }
      const double auc = roc_auc(y, score);
      const double ap = average_precision(y, score);
      if (std::isnan(auc)) no_auc.push_back(o.classes[c]); else sa += auc, ++na;
      if (std::isnan(ap)) no_ap.push_back(o.classes[c]); else sp += ap, ++np;
    }
    if (!no_auc.empty())
      warnings.push_back("roc_auc is undefined for the class(es) " + join_quoted(no_auc) +
                         " (all or none of the evaluated rows): the macro average leaves them out");
    if (!no_ap.empty())
      warnings.push_back("pr_auc is undefined for the class(es) " + join_quoted(no_ap) +
                         " (no evaluated row): the macro average leaves them out");
    m["roc_auc"] = na ? json(sa / static_cast<double>(na)) : json(nullptr);
    m["pr_auc"] = np ? json(sp / static_cast<double>(np)) : json(nullptr);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double* row = &o.proba[i * k];
      double s = 0;
      for (std::size_t c = 0; c < k; ++c) s += std::clamp(row[c], kEps, 1 - kEps);
      sum -= std::log(std::clamp(row[static_cast<std::size_t>(o.truth[i])], kEps, 1 - kEps) / s);
    }
    m["log_loss"] = sum / dn;
  }
  return m;
}

json compute_curves(const Outcomes& o, std::size_t max_points) {
  const std::size_t n = o.truth.size();
  const std::size_t k = o.classes.size();
  const bool binary = k == 2;
  auto thr_json = [](double t) { return std::isfinite(t) ? json(t) : json(nullptr); };
  auto curves_of = [&](const std::vector<std::uint8_t>& y, const std::vector<double>& score) {
    json out = json::object();
    const RocCurve r = roc_curve(y, score);
    if (r.fpr.empty()) {
      out["roc"] = nullptr;
    } else {
      json fpr = json::array(), tpr = json::array(), th = json::array();
      for (auto i : downsample(r.fpr.size(), max_points)) {
        fpr.push_back(r.fpr[i]);
        tpr.push_back(r.tpr[i]);
        th.push_back(thr_json(r.threshold[i]));
      }
      out["roc"] = {{"fpr", fpr}, {"tpr", tpr}, {"threshold", th}, {"auc", num_or_null(roc_auc(y, score))}};
    }
    const PrCurve p = pr_curve(y, score);
    if (p.recall.empty()) {
      out["pr"] = nullptr;
    } else {
      json rc = json::array(), pc = json::array(), th = json::array();
      for (auto i : downsample(p.recall.size(), max_points)) {
        rc.push_back(p.recall[i]);
        pc.push_back(p.precision[i]);
        th.push_back(thr_json(p.threshold[i]));
      }
      out["pr"] = {{"recall", rc},
                   {"precision", pc},
                   {"threshold", th},
                   {"average_precision", num_or_null(average_precision(y, score))}};
    }
    return out;
  };
  json c = {{"classes", o.classes}, {"rows", static_cast<std::int64_t>(n)}, {"max_points", max_points}};
  if (o.proba.empty()) {
    c["curves"] = nullptr;
    return c;
  }
  std::vector<std::uint8_t> y(n);
  if (binary) {
    for (std::size_t i = 0; i < n; ++i) y[i] = o.truth[i] == 1;
    c["positive_class"] = o.classes[1];
    c["curves"] = curves_of(y, o.proba);
  } else {
    json per = json::object();
    std::vector<double> score(n);
    for (std::size_t cl = 0; cl < k; ++cl) {
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = static_cast<std::size_t>(o.truth[i]) == cl;
        score[i] = o.proba[i * k + cl];
      }
      per[o.classes[cl]] = curves_of(y, score);
    }
    c["curves"] = per;  // one-vs-rest, per class
  }
  return c;
}

std::string format_report(const std::vector<std::string>& models, const std::vector<json>& metrics,
                          const std::string& rows_what) {
  // roc_auc_ci (binary: its 95 % interval) only when some model has one.
  std::vector<const char*> rows = {"rows", "accuracy", "precision", "recall", "f1", "roc_auc"};
  for (const auto& m : metrics)
    if (m.contains("roc_auc_ci")) {
      rows.push_back("roc_auc_ci");
      break;
    }
  for (const char* r : {"pr_auc", "log_loss"}) rows.push_back(r);
  // Multiclass precision, recall, F1, ROC AUC and PR AUC are macro averages: say so.
  const bool multiclass = !metrics.empty() && metrics[0].contains("per_class");
  auto row_name = [&](const char* r) {
    const std::string n = r;
    const bool macro = n == "precision" || n == "recall" || n == "f1" || n == "roc_auc" || n == "pr_auc";
    return multiclass && macro ? n + " (macro)" : n;
  };
  auto cell = [](const json& v) -> std::string {
    if (v.is_null()) return "-";
    if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
    char b[64];
    if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()) {
      std::snprintf(b, sizeof b, "[%.4f, %.4f]", v[0].get<double>(), v[1].get<double>());
      return b;
    }
    std::snprintf(b, sizeof b, "%.4f", v.get<double>());
    return b;
  };
  // An interval withheld for too few groups: "n/a (mac: 1+ 2-)".
  auto table_cell = [&](const json& m, const char* r) -> std::string {
    const json v = m.value(r, json());
    if (v.is_null() && std::string(r) == "roc_auc_ci" && m.contains("roc_auc_ci_groups")) {
      const auto& g = m["roc_auc_ci_groups"];
      const std::string method = m.value("roc_auc_ci_method", std::string());
      const auto over = method.find("bootstrap over ");
      std::string col = over == std::string::npos ? "groups" : method.substr(over + 15, method.find(' ', over + 15) - over - 15);
      return "n/a (" + col + ": " + g["positive"].dump() + "+ " + g["negative"].dump() + "-)";
    }
    return cell(v);
  };
  std::size_t w0 = 10;  // "precision" + 1
  for (const char* r : rows) w0 = std::max(w0, row_name(r).size() + 1);
  std::vector<std::size_t> w(models.size());
  for (std::size_t j = 0; j < models.size(); ++j) {
    w[j] = std::max<std::size_t>(models[j].size(), 6);
    for (const char* r : rows) w[j] = std::max(w[j], table_cell(metrics[j], r).size());
  }
  auto pad = [](std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
  };
  auto lpad = [](std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
  };
  // What the figures are of: which rows, and the model (trainer stage) of each column.
  std::string out = rows_what + ", model" + (models.size() > 1 ? "s " : " ");
  for (std::size_t j = 0; j < models.size(); ++j) out += (j ? ", " : "") + models[j];
  out += "\n" + pad("metric", w0);
  for (std::size_t j = 0; j < models.size(); ++j) out += "  " + lpad(models[j], w[j]);
  out += "\n";
  for (const char* r : rows) {
    out += pad(row_name(r), w0);
    for (std::size_t j = 0; j < models.size(); ++j) out += "  " + lpad(table_cell(metrics[j], r), w[j]);
    out += "\n";
  }
  // Confusion matrices: rows = true class, columns = predicted class.
  for (std::size_t j = 0; j < models.size(); ++j) {
    const auto classes = metrics[j]["classes"].get<std::vector<std::string>>();
    const auto& cm = metrics[j]["confusion_matrix"];
    const std::size_t k = classes.size();
    std::size_t w_first = 0;
    std::vector<std::size_t> cw(k);
    for (std::size_t a = 0; a < k; ++a) {
      w_first = std::max(w_first, classes[a].size());
      cw[a] = classes[a].size();
      for (std::size_t b = 0; b < k; ++b) cw[a] = std::max(cw[a], cm[b][a].dump().size());
    }
    out += "\nconfusion matrix of " + models[j] + " (rows = true, columns = predicted)\n";
    out += pad("", w_first);
    for (std::size_t a = 0; a < k; ++a) out += "  " + lpad(classes[a], cw[a]);
    out += "\n";
    for (std::size_t a = 0; a < k; ++a) {
      out += pad(classes[a], w_first);
      for (std::size_t b = 0; b < k; ++b) out += "  " + lpad(cm[a][b].dump(), cw[b]);
      out += "\n";
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

// ------------------------------------------------------------ the stage

Evaluator::Evaluator(const Options& o)
    : label_(o.label),
      group_(o.group),
      ci_resamples_(static_cast<int>(o.ci_resamples)),
      ci_min_groups_(o.ci_min_groups),
      threshold_(o.threshold),
      curves_(o.curves),
      predictions_(o.predictions) {}

Table Evaluator::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.empty()) throw Error("evaluator: needs at least one input");
  const bool several = inputs.size() > 1;
  const bool apply = ctx.mode() == Mode::Apply;
  Collective& coll = ctx.collective();
  const bool dist = coll.distributed();
  std::vector<std::string> models;
  std::vector<json> all;

  for (std::size_t in = 0; in < inputs.size(); ++in) {
    if (!inputs[in]) throw Error("evaluator: input " + std::to_string(in + 1) + " is missing");
    const Table& t = *inputs[in];
    std::string model = t.meta("model");
    if (model.empty()) model = "input" + std::to_string(in + 1);
    {  // unique names, first come first kept
      const std::string base = model;
      for (int k = 2; std::find(models.begin(), models.end(), model) != models.end(); ++k)
        model = base + "#" + std::to_string(k);
    }
    const std::string who = "evaluator: model \"" + model + "\": ";
    const std::string suffix = several ? "." + model : "";

    // The classes (and the checks of the columns); on several workers they
    // are agreed before any row is read, a failure on one failing all.
    std::vector<std::string> classes;
    std::exception_ptr failed;
    std::string why;
    try {
      const Column& lab = t.at(label_);
      if (lab.type != DType::Int64 && lab.type != DType::Categorical)
        throw DataError("label column \"" + label_ + "\" must be int64 or categorical, it is " + dtype_name(lab.type));
      const Column& pl = t.at("pred_label");
      if (pl.type == DType::Categorical)
        classes = *pl.dictionary;
      else if (pl.type == DType::Int64)
        classes = label_classes(t, label_);
      else
        throw DataError("column \"pred_label\" must be categorical or int64, it is " + std::string(dtype_name(pl.type)));
      if (classes.size() < 2) throw DataError("column \"pred_label\" of model \"" + model + "\" has fewer than two classes");
      if (!group_.empty()) {
        const Column& gc = t.at(group_);
        if (gc.type != DType::Int64 && gc.type != DType::Categorical)
          throw DataError("group column \"" + group_ + "\" must be int64 or categorical, it is " + dtype_name(gc.type));
      }
      if (!apply && !t.has_roles())
        throw DataError(who + "the table has no train/valid/test split; a splitter is needed upstream (or run in "
                              "apply mode)");
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      if (!dist) throw;
      failed = std::current_exception();
      why = e.what();
    }
    if (dist) {
      const json mine = failed ? json{{"error", why}} : json{{"classes", classes}, {"int64", t.at("pred_label").type == DType::Int64}};
      std::vector<json> all;
      for (const auto& b : coll.allgather(mine.dump())) all.push_back(json::parse(b));
      for (std::size_t r = 0; r < all.size(); ++r)
        if (all[r].contains("error")) {
          if (failed) std::rethrow_exception(failed);
          throw DataError("evaluator: worker " + std::to_string(r) + " of " + std::to_string(coll.world()) +
                          " failed: " + all[r]["error"].get<std::string>());
        }
      // An int64 prediction's classes are 0..max of the label on each worker:
      // the longest list, of which the others must be the start.
      std::size_t longest = 0;
      for (std::size_t r = 1; r < all.size(); ++r)
        if (all[r]["classes"].size() > all[longest]["classes"].size()) longest = r;
      const auto want = all[longest]["classes"].get<std::vector<std::string>>();
      for (std::size_t r = 0; r < all.size(); ++r) {
        const auto have = all[r]["classes"].get<std::vector<std::string>>();
        const bool prefix = all[r]["int64"].get<bool>() && have.size() <= want.size() &&
                            std::equal(have.begin(), have.end(), want.begin());
        if (have != want && !prefix)
          throw DataError(who + "the classes differ between workers (worker " + std::to_string(longest) + ": " +
                          join_quoted(want) + "; worker " + std::to_string(r) + ": " + join_quoted(have) + ")");
      }
      classes = want;
    }
    const Column& lab = t.at(label_);
    const Column& pl = t.at("pred_label");
    const std::size_t k = classes.size();
    const bool binary = k == 2;

    // Truth: a categorical label maps onto the model's classes by name (once per
    // dictionary entry); an int64 label is the class index itself.
    std::vector<std::int32_t> code_map;
    if (lab.type == DType::Categorical) {
      std::unordered_map<std::string, std::int32_t> idx;
      for (std::size_t c = 0; c < k; ++c) idx.emplace(classes[c], static_cast<std::int32_t>(c));
      for (const auto& name : *lab.dictionary) {
        auto it = idx.find(name);
        code_map.push_back(it == idx.end() ? -1 : it->second);
      }
    }
    // Probability columns.
    std::vector<const Column*> pcols;
    if (binary) {
      auto c = t.find("pred_proba");
      if (c && c->type == DType::Float64) pcols.push_back(c.get());
    } else {
      for (const auto& cl : classes) {
        auto c = t.find("pred_proba." + cl);
        if (!c || c->type != DType::Float64) {
          pcols.clear();
          break;
        }
        pcols.push_back(c.get());
      }
    }
    const std::size_t kp = pcols.size();

    std::vector<std::uint32_t> rows;
    if (apply) {
      rows.resize(t.rows());
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::uint32_t>(i);
    } else {
      rows = t.rows_with(Role::Test);
    }

    const auto sid = t.find("sessionid");
    const bool sid_ok = sid && sid->type != DType::MultiCategorical;
    std::string csv;
    if (predictions_) {
      if (sid_ok) csv += "sessionid,";
      csv += csv_field(label_) + ",pred_label";
      for (const auto* c : pcols) csv += "," + csv_field(c->name);
      csv += "\n";
    }

    // With a group: each evaluated row's group (binary, with probabilities).
    const Column* gcol = group_.empty() ? nullptr : &t.at(group_);
    auto group_of = [&](std::uint32_t r) -> std::uint64_t {
      if (gcol->is_null(r) || (gcol->type == DType::Categorical && gcol->codes[r] < 0))
        return group_hash("\x01row" + std::to_string(r));  // a group of its own
      return group_hash(gcol->type == DType::Int64 ? std::to_string(gcol->i64[r]) : gcol->label(r));
    };
    GroupedRows test_groups;
    // Binary, one process, with curves: every scored test row as "row,group,y,p" (scores.csv),
    // for the compare report's paired test of two models on the same rows.
    const bool write_scores = curves_ && binary && kp == 1 && !dist;
    std::string scores = write_scores ? "row,group,y,p\n" : "";

    Outcomes o;
    o.classes = classes;
    o.truth.reserve(rows.size());
    o.pred.reserve(rows.size());
    if (kp) o.proba.reserve(rows.size() * kp);
    std::int64_t null_label = 0, unknown = 0, nan_proba = 0, bad_pred = 0;
    std::vector<double> pv(kp);
    for (auto r : rows) {
      // Truth.
      std::int32_t y = -1;
      bool is_null = false;
      if (lab.type == DType::Int64) {
        if (lab.is_null(r)) is_null = true;
        else if (lab.i64[r] >= 0 && static_cast<std::uint64_t>(lab.i64[r]) < k) y = static_cast<std::int32_t>(lab.i64[r]);
      } else {
        if (lab.codes[r] < 0) is_null = true;
        else y = code_map[static_cast<std::size_t>(lab.codes[r])];
      }
      // Probabilities.
      bool nan = false;
      for (std::size_t j = 0; j < kp; ++j) {
        pv[j] = pcols[j]->is_null(r) ? kNaN : pcols[j]->f64[r];
        nan |= std::isnan(pv[j]);
      }
      // Prediction: the binary threshold on P(class 1), else the trainer's pred_label.
      std::int32_t pred = -1;
      if (binary && kp == 1 && !nan) {
        pred = pv[0] >= threshold_ ? 1 : 0;
      } else if (pl.type == DType::Categorical) {
        pred = pl.codes[r];
      } else if (!pl.is_null(r) && pl.i64[r] >= 0 && static_cast<std::uint64_t>(pl.i64[r]) < k) {
        pred = static_cast<std::int32_t>(pl.i64[r]);
      }
      if (predictions_) {
        if (sid_ok) {
          if (sid->is_null(r) || (sid->type == DType::Categorical && sid->codes[r] < 0)) {
          } else if (sid->type == DType::Int64) {
            csv += std::to_string(sid->i64[r]);
          } else if (sid->type == DType::Float64) {
            csv += fmt17(sid->f64[r]);
          } else {
            csv += csv_field(sid->label(r));
          }
          csv += ',';
        }
        if (!is_null) {
          if (y >= 0)
            csv += csv_field(classes[static_cast<std::size_t>(y)]);
          else
            csv += csv_field(lab.type == DType::Int64 ? std::to_string(lab.i64[r]) : lab.label(r));
        }
        csv += ',';
        if (pred >= 0) csv += csv_field(classes[static_cast<std::size_t>(pred)]);
        for (std::size_t j = 0; j < kp; ++j) {
          csv += ',';
          if (!std::isnan(pv[j])) csv += fmt17(pv[j]);
        }
        csv += '\n';
      }
      if (is_null) { ++null_label; continue; }
      if (y < 0) { ++unknown; continue; }
      if (nan) { ++nan_proba; continue; }
      if (pred < 0) { ++bad_pred; continue; }
      o.truth.push_back(y);
      o.pred.push_back(pred);
      for (std::size_t j = 0; j < kp; ++j) o.proba.push_back(pv[j]);
      if (gcol && binary && kp == 1) test_groups.add(group_of(r), y == 1, pv[0]);
      if (write_scores) {
        scores += std::to_string(r) + ',';
        if (gcol && !gcol->is_null(r) && !(gcol->type == DType::Categorical && gcol->codes[r] < 0))
          scores += csv_field(gcol->type == DType::Int64 ? std::to_string(gcol->i64[r]) : gcol->label(r));
        scores += y == 1 ? ",1," : ",0,";
        scores += fmt17(pv[0]) + '\n';
      }
    }
    auto skipped = [&](std::int64_t n, const std::string& reason, const std::string& column, const std::string& what) {
      if (n == 0) return;
      ctx.count("skipped." + reason + "." + column + suffix, n);
      ctx.warn(who + std::to_string(n) + " row(s) skipped: " + what);
    };
    skipped(null_label, "null_label", label_, "NULL \"" + label_ + "\"");
    skipped(unknown, "unknown_class", label_, "\"" + label_ + "\" is not one of the model's classes (" +
                                                 join_quoted(classes) + ")");
    skipped(nan_proba, "nan_proba", "pred_proba", "NaN or NULL probability");
    skipped(bad_pred, "null_prediction", "pred_label", "no predicted class");

    // Several workers: the figures of the union of every worker's rows (the
    // per-row predictions above stay this worker's).
    if (dist) o = unite(coll.allgather(pack(o, kp)), classes, who);
    std::vector<std::string> warnings;
    json m = compute_metrics(o, warnings);
    for (const auto& w : warnings) ctx.warn(who + w);
    if (binary && kp == 1) {
      // The 95 % interval of ROC AUC; with a group, the device-level figures too.
      std::pair<double, double> ci;
      if (gcol) {
        if (dist) test_groups = unite_grouped(coll.allgather(pack_grouped(test_groups)));
        m["roc_auc_ci_method"] = "bootstrap over " + group_ + " (" + std::to_string(ci_resamples_) + " draws)";
        const auto [gpos, gneg] = class_groups(test_groups);
        m["roc_auc_ci_groups"] = {{"positive", gpos}, {"negative", gneg}};
        if (gpos < ci_min_groups_ || gneg < ci_min_groups_) {
          // Resampling a handful of groups only moves weight between the few pairwise AUCs they make:
          // an interval far narrower than what a new group would show. Say so instead of giving one.
          ci = {kNaN, kNaN};
          const std::string note = "too few test groups (" + group_ + ") for an interval: " + std::to_string(gpos) +
                                   " with positive rows, " + std::to_string(gneg) + " with negative rows, needs " +
                                   std::to_string(ci_min_groups_) + " of each (ci_min_groups)";
          m["roc_auc_ci_note"] = note;
          ctx.warn(who + "roc_auc_ci: " + note);
        } else {
          ci = roc_auc_ci_groups(test_groups, ctx.seed(), ci_resamples_);
        }
      } else {
        std::vector<std::uint8_t> yy(o.truth.size());
        for (std::size_t i = 0; i < yy.size(); ++i) yy[i] = o.truth[i] == 1;
        ci = roc_auc_ci_delong(yy, o.proba);
        m["roc_auc_ci_method"] = "DeLong";
      }
      m["roc_auc_ci"] = std::isfinite(ci.first) ? json::array({ci.first, ci.second}) : json(nullptr);
      if (gcol) {
        // Validation devices choose the verdict threshold (0.5 in apply mode or without valid rows of both classes).
        GroupedRows valid_groups;
        if (!apply)
          for (auto r : t.rows_with(Role::Valid)) {
            if (lab.type == DType::Int64 ? lab.is_null(r) : lab.codes[r] < 0) continue;
            const std::int32_t y = lab.type == DType::Int64 ? static_cast<std::int32_t>(lab.i64[r])
                                                            : code_map[static_cast<std::size_t>(lab.codes[r])];
            if (y < 0 || y > 1 || pcols[0]->is_null(r) || std::isnan(pcols[0]->f64[r])) continue;
            valid_groups.add(group_of(r), y == 1, pcols[0]->f64[r]);
          }
        if (dist) valid_groups = unite_grouped(coll.allgather(pack_grouped(valid_groups)));
        const auto valid_devices = devices_of(valid_groups);
        const double dev_threshold = valid_devices.empty() ? threshold_ : choose_threshold(valid_devices);
        const json dm = device_metrics(devices_of(test_groups), dev_threshold);
        for (auto it = dm.begin(); it != dm.end(); ++it) m[it.key()] = it.value();
        m["valid_devices"] = static_cast<std::int64_t>(valid_devices.size());
      }
    }
    if (several) {
      ctx.metric(model, m);
    } else {
      for (auto it = m.begin(); it != m.end(); ++it) ctx.metric(it.key(), it.value());
    }
    if (curves_ || predictions_) {
      const auto dir = ctx.artifact_dir() / model_dir_name(model);
      if (curves_) {
        json c = compute_curves(o);
        c["model"] = model;
        write_file(dir / "curves.json", c.dump(1) + "\n");
      }
      if (predictions_) write_file(dir / "test_predictions.csv", csv);
    }
    if (write_scores) write_file(ctx.artifact_dir() / model_dir_name(model) / "scores.csv", scores);
    models.push_back(model);
    all.push_back(std::move(m));
  }
  ctx.report(format_report(models, all, ctx.mode() == Mode::Apply ? "all rows" : "test rows"));
  return Table(*inputs[0]);
}

}  // namespace pipectl::eval
