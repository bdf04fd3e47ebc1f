#include "paired.hpp"

#include "report_detail.hpp"

#include <pipectl/run_folder.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

namespace pipectl::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t kPairedSeed = 20240601;  // fixed: the report is the same each time it is built
constexpr int kPairedDraws = 1000;

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool q = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (c == '"') q = false;
      else cur += c;
    } else if (c == '"') {
      q = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

/// Structural components of DeLong: per positive the share of negatives below (ties half), per negative the share of positives above.
void components(const std::vector<std::uint8_t>& y, const std::vector<double>& s, std::vector<double>& v10,
                std::vector<double>& v01) {
  std::vector<double> pos, neg;
  for (std::size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg).push_back(s[i]);
  std::vector<double> sp = pos, sn = neg;
  std::sort(sp.begin(), sp.end());
  std::sort(sn.begin(), sn.end());
  v10.clear();
  v01.clear();
  for (double x : pos) {
    const auto lo = std::lower_bound(sn.begin(), sn.end(), x) - sn.begin();
    const auto hi = std::upper_bound(sn.begin(), sn.end(), x) - sn.begin();
    v10.push_back((static_cast<double>(lo) + 0.5 * static_cast<double>(hi - lo)) / static_cast<double>(sn.size()));
  }
  for (double x : neg) {
    const auto lo = std::lower_bound(sp.begin(), sp.end(), x) - sp.begin();
    const auto hi = std::upper_bound(sp.begin(), sp.end(), x) - sp.begin();
    const auto above = static_cast<double>(sp.size()) - static_cast<double>(hi);
    v01.push_back((above + 0.5 * static_cast<double>(hi - lo)) / static_cast<double>(sp.size()));
  }
}

double cov(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - ma) * (b[i] - mb);
  return s / (n - 1);
}

/// Weighted AUC with the rows already in ascending order of p (`order`).
double auc_in_order(const std::vector<std::size_t>& order, const std::vector<std::uint8_t>& y,
                    const std::vector<double>& p, const std::vector<double>& w) {
  double below = 0, num = 0, wp = 0, wn = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    double tp = 0, tn = 0;
    while (j < order.size() && p[order[j]] == p[order[i]]) {
      const double wt = w.empty() ? 1.0 : w[order[j]];
      (y[order[j]] ? tp : tn) += wt;
      ++j;
    }
    num += tp * (below + 0.5 * tn);
    below += tn;
    wp += tp;
    wn += tn;
    i = j;
  }
  return wp > 0 && wn > 0 ? num / (wp * wn) : kNaN;
}

std::vector<std::size_t> ascending(const std::vector<double>& p) {
  std::vector<std::size_t> o(p.size());
  std::iota(o.begin(), o.end(), 0);
  std::stable_sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  return o;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto k = static_cast<std::size_t>(std::floor(pos));
  const double f = pos - static_cast<double>(k);
  return k + 1 < v.size() ? v[k] + f * (v[k + 1] - v[k]) : v[k];
}

std::string fmt4(double v) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

}  // namespace

Scores read_scores(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string());
  std::string line;
  if (!std::getline(in, line) || line != "row,group,y,p")
    throw Error(file.string() + ":1: expected the header \"row,group,y,p\"");
  Scores s;
  std::size_t n = 1;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const auto f = split_csv_line(line);
    const std::string where = file.string() + ":" + std::to_string(n) + ": ";
    if (f.size() != 4) throw Error(where + "expected 4 fields (row,group,y,p), got " + std::to_string(f.size()));
    std::size_t used = 0;
    std::int64_t row = -1;
    double p = kNaN;
    try {
      row = std::stoll(f[0], &used);
      if (used != f[0].size() || row < 0) throw std::invalid_argument("row");
      p = std::stod(f[3], &used);
      if (used != f[3].size()) throw std::invalid_argument("p");
    } catch (const std::exception&) {
      throw Error(where + "row must be an integer >= 0 and p a number");
    }
    if (f[2] != "0" && f[2] != "1") throw Error(where + "y must be 0 or 1, got \"" + f[2] + "\"");
    if (!(p >= 0 && p <= 1)) throw Error(where + "p must be in [0, 1], got " + f[3]);
    s.row.push_back(row);
    s.group.push_back(f[1]);
    s.y.push_back(f[2] == "1" ? 1 : 0);
    s.p.push_back(p);
  }
  return s;
}

double weighted_auc(const std::vector<std::uint8_t>& y, const std::vector<double>& p, const std::vector<double>& w) {
  return auc_in_order(ascending(p), y, p, w);
}

PairedTest delong_paired(const std::vector<std::uint8_t>& y, const std::vector<double>& a, const std::vector<double>& b) {
  PairedTest t;
  t.method = "DeLong paired";
  std::vector<double> a10, a01, b10, b01;
  components(y, a, a10, a01);
  components(y, b, b10, b01);
  if (a10.size() < 2 || a01.size() < 2) {
    t.diff = t.lo = t.hi = t.p_value = kNaN;
    return t;
  }
  const double m = static_cast<double>(a10.size()), n = static_cast<double>(a01.size());
  const double auc_a = std::accumulate(a10.begin(), a10.end(), 0.0) / m;
  const double auc_b = std::accumulate(b10.begin(), b10.end(), 0.0) / m;
  const double var = (cov(a10, a10) + cov(b10, b10) - 2 * cov(a10, b10)) / m +
                     (cov(a01, a01) + cov(b01, b01) - 2 * cov(a01, b01)) / n;
  t.diff = auc_a - auc_b;
  const double se = std::sqrt(std::max(var, 0.0));
  t.lo = t.diff - 1.96 * se;
  t.hi = t.diff + 1.96 * se;
  if (se > 0) t.p_value = std::erfc(std::fabs(t.diff / se) / std::sqrt(2.0));
  else t.p_value = t.diff == 0 ? 1.0 : 0.0;
  return t;
}

PairedTest bootstrap_paired(const std::vector<std::string>& group, const std::vector<std::uint8_t>& y,
                            const std::vector<double>& a, const std::vector<double>& b, std::uint64_t seed, int draws) {
  PairedTest t;
  // Groups in sorted order of their value: the draws do not depend on row order.
  std::vector<std::string> names = group;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::size_t> gi(group.size());
  for (std::size_t i = 0; i < group.size(); ++i)
    gi[i] = static_cast<std::size_t>(std::lower_bound(names.begin(), names.end(), group[i]) - names.begin());
  const auto oa = ascending(a), ob = ascending(b);
  t.diff = auc_in_order(oa, y, a, {}) - auc_in_order(ob, y, b, {});
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, names.size() - 1);
  std::vector<double> diffs, count(names.size()), w(group.size());
  for (int d = 0; d < draws; ++d) {
    std::fill(count.begin(), count.end(), 0.0);
    for (std::size_t k = 0; k < names.size(); ++k) count[pick(rng)] += 1;
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = count[gi[i]];
    const double da = auc_in_order(oa, y, a, w) - auc_in_order(ob, y, b, w);
    if (std::isfinite(da)) diffs.push_back(da);
  }
  t.method = "paired bootstrap over groups (" + std::to_string(draws) + " draws)";
  if (diffs.size() < 2) {
    t.lo = t.hi = t.p_value = kNaN;
    return t;
  }
  t.lo = percentile(diffs, 0.025);
  t.hi = percentile(diffs, 0.975);
  double le = 0, ge = 0;
  for (double x : diffs) le += x <= 0, ge += x >= 0;
  const double dn = static_cast<double>(diffs.size());
  t.p_value = std::min(1.0, 2 * std::min(le / dn, ge / dn));
  return t;
}

void add_intervals_and_paired(CompareReport& rep, const json& metrics) {
  // Intervals, from metrics.json.
  for (auto& row : rep.rows) {
    if (row.multiclass || !metrics.contains(row.evaluator)) continue;
    const json& em = metrics[row.evaluator];
    const json& figs = em.contains(row.model) && em[row.model].is_object() ? em[row.model] : em;
    if (figs.contains("roc_auc_ci") && figs["roc_auc_ci"].is_array() && figs["roc_auc_ci"].size() == 2 &&
        figs["roc_auc_ci"][0].is_number() && figs["roc_auc_ci"][1].is_number()) {
      row.roc_auc_lo = figs["roc_auc_ci"][0].get<double>();
      row.roc_auc_hi = figs["roc_auc_ci"][1].get<double>();
      row.roc_auc_ci_method = figs.value("roc_auc_ci_method", std::string());
    }
  }
  // Paired tests, per evaluator, against its best model.
  std::map<std::string, std::vector<ModelRow*>> by_ev;
  for (auto& row : rep.rows)
    if (!row.multiclass && std::isfinite(row.roc_auc)) by_ev[row.evaluator].push_back(&row);
  for (auto& [ev, rows] : by_ev) {
    if (rows.size() < 2) continue;
    std::vector<fs::path> files;
    std::size_t have = 0;
    for (auto* r : rows) {
      files.push_back(rep.run_dir / "stages" / ev / model_dir_name(r->model) / "scores.csv");
      std::error_code ec;
      have += fs::exists(files.back(), ec);
    }
    if (have == 0) continue;  // a run on several workers, or made before the evaluator wrote them: nothing to say
    if (have < rows.size()) {
      rep.notes.push_back("evaluator \"" + ev + "\" wrote no scores.csv for some of its models (a run on several "
                          "workers, or made before the evaluator wrote them): no paired test");
      continue;
    }
    std::size_t best = 0;
    for (std::size_t k = 1; k < rows.size(); ++k)
      if (rows[k]->roc_auc > rows[best]->roc_auc) best = k;
    auto sorted = [](Scores s) {
      std::vector<std::size_t> o(s.row.size());
      std::iota(o.begin(), o.end(), 0);
      std::sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return s.row[a] < s.row[b]; });
      Scores t;
      for (auto i : o) {
        t.row.push_back(s.row[i]);
        t.group.push_back(s.group[i]);
        t.y.push_back(s.y[i]);
        t.p.push_back(s.p[i]);
      }
      return t;
    };
    const Scores sb = sorted(read_scores(files[best]));
    bool grouped = false;
    for (const auto& g : sb.group) grouped |= !g.empty();
    std::vector<std::string> groups = sb.group;
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (groups[i].empty()) groups[i] = "\x01row" + std::to_string(sb.row[i]);  // a group of its own
    for (std::size_t k = 0; k < rows.size(); ++k) {
      if (k == best) continue;
      const Scores so = sorted(read_scores(files[k]));
      if (so.row != sb.row || so.y != sb.y || so.group != sb.group)
        throw Error(files[k].string() + " and " + files[best].string() +
                    " do not hold the same test rows (row, group and label): the models cannot be paired");
      PairedTest t = grouped ? bootstrap_paired(groups, sb.y, sb.p, so.p, kPairedSeed, kPairedDraws)
                             : delong_paired(sb.y, sb.p, so.p);
      ModelRow& r = *rows[k];
      r.paired_vs = rows[best]->name;
      r.paired_method = t.method;
      r.paired_diff = t.diff;
      r.paired_lo = t.lo;
      r.paired_hi = t.hi;
      r.paired_p = t.p_value;
    }
  }
}

std::string paired_markdown(const CompareReport& rep) {
  bool any = false;
  for (const auto& r : rep.rows) any |= std::isfinite(r.roc_auc_lo) || !r.paired_vs.empty();
  if (!any) return "";
  std::string o =
      "ROC AUC with its 95 % interval, and each model against the best of its evaluator on the same test rows "
      "(difference best - model, its 95 % interval and two-sided p):\n\n"
      "| model | ROC AUC [95 %] | against | difference [95 %] | p | test |\n|---|---|---|---|---|---|\n";
  for (const auto& r : rep.rows) {
    o += "| " + r.name + " | " + fmt4(r.roc_auc) +
         (std::isfinite(r.roc_auc_lo) ? " [" + fmt4(r.roc_auc_lo) + ", " + fmt4(r.roc_auc_hi) + "]" : "") + " | ";
    if (r.paired_vs.empty()) {
      o += "| | | |\n";
      continue;
    }
    o += r.paired_vs + " | " + fmt4(r.paired_diff) + " [" + fmt4(r.paired_lo) + ", " + fmt4(r.paired_hi) + "] | " +
         fmt4(r.paired_p) + " | " + r.paired_method + " |\n";
  }
  return o;
}

std::string paired_html(const CompareReport& rep) {
  bool any = false;
  for (const auto& r : rep.rows) any |= std::isfinite(r.roc_auc_lo) || !r.paired_vs.empty();
  if (!any) return "";
  using detail::html_escape;
  std::string h =
      "<section id=\"paired\">\n<h2>Intervals and paired tests</h2>\n<p class=\"notes\">ROC AUC with its 95 % "
      "interval, and each model against the best of its evaluator on the same test rows (difference best &minus; "
      "model, its 95 % interval and two-sided p).</p>\n<div class=\"scroll\">\n<table>\n<thead><tr><th>model</th>"
      "<th>ROC AUC [95 %]</th><th>against</th><th>difference [95 %]</th><th>p</th><th>test</th></tr></thead>\n"
      "<tbody>\n";
  for (const auto& r : rep.rows) {
    h += "<tr><td>" + html_escape(r.name) + "</td><td>" + fmt4(r.roc_auc) +
         (std::isfinite(r.roc_auc_lo) ? " [" + fmt4(r.roc_auc_lo) + ", " + fmt4(r.roc_auc_hi) + "]" : "") + "</td>";
    if (r.paired_vs.empty()) {
      h += "<td></td><td></td><td></td><td></td></tr>\n";
      continue;
    }
    h += "<td>" + html_escape(r.paired_vs) + "</td><td>" + fmt4(r.paired_diff) + " [" + fmt4(r.paired_lo) + ", " +
         fmt4(r.paired_hi) + "]</td><td>" + fmt4(r.paired_p) + "</td><td>" + html_escape(r.paired_method) +
         "</td></tr>\n";
  }
  return h + "</tbody>\n</table>\n</div>\n</section>\n";
}

}  // namespace pipectl::report
