// profile.html: the profile as pictures (hand-drawn inline SVG, no script,
// nothing fetched), and the per-label histograms it draws.
#include "profile.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pipectl::plugins {

namespace {

constexpr std::uint8_t kNeg = 0, kPos = 1;

std::string g17(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
std::string f(double v, int dec) {
  char b[40];
  std::snprintf(b, sizeof b, "%.*f", dec, v);
  return b;
}
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}
std::string str_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Horizontal bars: label, value in [0, vmax], text shown right of the bar.
std::string hbars(const std::string& id, const std::vector<std::tuple<std::string, double, std::string, std::string>>& bars,
                  double vmax, const std::string& colour) {
  const int row = 20, left = 260, width = 300;
  const int h = 10 + row * static_cast<int>(bars.size());
  std::string s = "<svg id=\"" + id + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(left + width + 120) +
                  "\" height=\"" + std::to_string(h) + "\" role=\"img\">\n";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& [label, v, text, data] = bars[i];
    const int y = 5 + row * static_cast<int>(i);
    const double w = vmax > 0 && std::isfinite(v) ? width * v / vmax : 0;
    std::string shown = label.size() > 40 ? label.substr(0, 39) + "…" : label;
    s += "<g class=\"bar\" " + data + "><text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 13) +
         "\" text-anchor=\"end\" font-size=\"12\">" + esc(shown) + "</text><rect x=\"" + std::to_string(left) +
         "\" y=\"" + std::to_string(y + 2) + "\" width=\"" + f(w, 1) + "\" height=\"14\" fill=\"" + colour +
         "\"/><text x=\"" + f(left + w + 4, 1) + "\" y=\"" + std::to_string(y + 13) + "\" font-size=\"11\">" +
         esc(text) + "</text></g>\n";
  }
  return s + "</svg>\n";
}

}  // namespace

json label_histograms(const Table& t, const std::vector<std::string>& numeric_columns,
                      const std::vector<std::uint8_t>& y, std::int64_t bins) {
  json out = json::array();
  const std::size_t B = static_cast<std::size_t>(std::max<std::int64_t>(bins, 2));
  for (const auto& name : numeric_columns) {
    const Column& c = t.at(name);
    double lo = INFINITY, hi = -INFINITY;
    std::vector<double> v;
    v.reserve(c.rows());
    for (std::size_t i = 0; i < c.rows(); ++i) {
      const double x = c.number(i);
      if (!std::isfinite(x)) continue;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    if (!(lo <= hi)) continue;
    // Log scale where the data needs it: non-negative values whose maximum is
    // more than 100 x (|median| + 1) (a long right tail, e.g. bytes).
    std::vector<double> sorted;
    for (std::size_t i = 0; i < c.rows(); ++i)
      if (std::isfinite(c.number(i))) sorted.push_back(c.number(i));
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const double median = sorted[sorted.size() / 2];
    const bool log = lo >= 0 && hi > 100 * (std::fabs(median) + 1);
    auto tr = [&](double x) { return log ? std::log10(1 + x) : x; };
    const double a = tr(lo), b = tr(hi);
    const double width = b > a ? (b - a) / static_cast<double>(B) : 1.0;
    std::vector<std::int64_t> pos(B, 0), neg(B, 0), unl(B, 0);
    for (std::size_t i = 0; i < c.rows(); ++i) {
      const double x = c.number(i);
      if (!std::isfinite(x)) continue;
      std::size_t k = static_cast<std::size_t>((tr(x) - a) / width);
      if (k >= B) k = B - 1;
      (y[i] == kPos ? pos : y[i] == kNeg ? neg : unl)[k] += 1;
    }
    json edges = json::array();
    for (std::size_t k = 0; k <= B; ++k) {
      const double e = a + width * static_cast<double>(k);
      edges.push_back(log ? std::pow(10.0, e) - 1 : e);
    }
    out.push_back({{"column", name}, {"scale", log ? "log10(1 + x)" : "linear"}, {"edges", edges},
                   {"positive", pos}, {"negative", neg}, {"unlabelled", unl}});
  }
  return out;
}

std::string profile_html(const json& p) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Profile " + esc(str_of(p["stage"])) +
      "</title>\n<style>\nbody{font-family:\"DejaVu Sans\",sans-serif;margin:1.5em;color:#222}\n"
      "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top;background:#fff;border:1px solid #ddd;padding:.5em}\n"
      "figcaption{font-size:.9em;color:#444}\n.legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em}\n"
      "</style></head><body>\n<h1>Profile</h1>\n<p>" + str_of(p["rows"]) + " rows (" + str_of(p["rows_profiled"]) +
      ").";
  const bool lab = p.contains("label") && p["label"].is_object();
  if (lab && p["label"].contains("rate") && p["label"]["rate"].is_number())
    h += " Label rate " + f(p["label"]["rate"].get<double>(), 4) + ".";
  h += " Every figure: <code>profile.json</code>; tables: <code>profile.md</code>.</p>\n";
  h += "<p class=\"legend\"><span style=\"background:#d62728\"></span>positive <span "
       "style=\"background:#1f77b4\"></span>negative <span style=\"background:#aaa\"></span>unlabelled</p>\n";

  // Histograms by label.
  h += "<section id=\"histograms\">\n<h2>Numeric columns by label</h2>\n";
  if (p.contains("histograms"))
    for (const auto& hist : p["histograms"]) {
      const std::string col = hist["column"].get<std::string>();
      const auto& pos = hist["positive"];
      const auto& neg = hist["negative"];
      const auto& unl = hist["unlabelled"];
      const std::size_t B = pos.size();
      std::int64_t mx = 1;
      for (std::size_t k = 0; k < B; ++k)
        mx = std::max({mx, pos[k].get<std::int64_t>(), neg[k].get<std::int64_t>(), unl[k].get<std::int64_t>()});
      const int W = 480, H = 200, left = 40, bottom = 30;
      const double bw = static_cast<double>(W - left - 10) / static_cast<double>(B);
      h += "<figure class=\"hist\" data-column=\"" + esc(col) + "\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           std::to_string(W) + "\" height=\"" + std::to_string(H) + "\" role=\"img\">\n";
      h += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(H - bottom) + "\" x2=\"" +
           std::to_string(W - 10) + "\" y2=\"" + std::to_string(H - bottom) + "\" stroke=\"#555\"/>\n";
      for (std::size_t k = 0; k < B; ++k) {
        const std::int64_t cs[3] = {pos[k].get<std::int64_t>(), neg[k].get<std::int64_t>(), unl[k].get<std::int64_t>()};
        const char* colours[3] = {"#d62728", "#1f77b4", "#aaa"};
        const char* kinds[3] = {"positive", "negative", "unlabelled"};
        for (int j = 0; j < 3; ++j) {
          const double bh = static_cast<double>(H - bottom - 10) * static_cast<double>(cs[j]) / static_cast<double>(mx);
          h += "<rect class=\"" + std::string(kinds[j]) + "\" data-bin=\"" + std::to_string(k) + "\" data-count=\"" +
               std::to_string(cs[j]) + "\" x=\"" + f(left + bw * static_cast<double>(k) + bw * j / 3.0, 2) + "\" y=\"" +
               f(H - bottom - bh, 2) + "\" width=\"" + f(bw / 3.0, 2) + "\" height=\"" + f(bh, 2) + "\" fill=\"" +
               colours[j] + "\"/>\n";
        }
      }
      const auto& edges = hist["edges"];
      h += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(H - 12) + "\" font-size=\"11\">" +
           esc(f(edges.front().get<double>(), 3)) + "</text><text x=\"" + std::to_string(W - 10) + "\" y=\"" +
           std::to_string(H - 12) + "\" font-size=\"11\" text-anchor=\"end\">" + esc(f(edges.back().get<double>(), 3)) +
           "</text><text x=\"4\" y=\"14\" font-size=\"11\">" + std::to_string(mx) + "</text>\n</svg>\n<figcaption>" +
           esc(col) + ": rows per bin by label (x: " + esc(hist["scale"].get<std::string>()) + " scale)</figcaption></figure>\n";
    }
  h += "</section>\n";

  // Label rate per top category and per DNS name.
  auto rates = [&](const json& list, const char* key, const std::string& id, const std::string& title) {
    std::vector<std::tuple<std::string, double, std::string, std::string>> bars;
    for (const auto& e : list) {
      if (!e.contains("label_rate") || !e["label_rate"].is_number()) continue;
      const double r = e["label_rate"].get<double>();
      bars.emplace_back(str_of(e[key]), r, f(r, 3) + " of " + str_of(e["rows"]),
                        "data-name=\"" + esc(str_of(e[key])) + "\" data-rate=\"" + g17(r) + "\" data-rows=\"" +
                            str_of(e["rows"]) + "\"");
    }
    if (bars.empty()) return;
    h += "<figure class=\"rates\" id=\"" + esc(id) + "\">" + hbars(id + "-svg", bars, 1.0, "#d62728") +
         "<figcaption>" + esc(title) + "</figcaption></figure>\n";
  };
  h += "<section id=\"rates\">\n<h2>Label rate per value</h2>\n";
  if (lab) {
    for (const auto& c : p["categorical"])
      rates(c["top"], "value", "rate-" + c["column"].get<std::string>(),
            c["column"].get<std::string>() + ": label rate of the top values (rows)");
    for (const auto& c : p["multi"])
      rates(c["top"], "name", "rate-" + c["column"].get<std::string>(),
            c["column"].get<std::string>() + ": label rate of the sessions asking each top name (rows)");
  }
  h += "</section>\n";

  // Univariate ranking.
  h += "<section id=\"ranking\">\n<h2>Univariate ranking</h2>\n";
  if (p.contains("ranking")) {
    std::vector<std::tuple<std::string, double, std::string, std::string>> bars;
    for (const auto& r : p["ranking"]) {
      const double auc = r["auc"].is_number() ? r["auc"].get<double>() : NAN;
      bars.emplace_back(r["column"].get<std::string>(), std::isfinite(auc) ? auc - 0.5 : 0.0,
                        std::isfinite(auc) ? "AUC " + f(auc, 3) + ", MI " + (r["mi_bits"].is_number() ? f(r["mi_bits"].get<double>(), 3) : "-") + " bits" : "-",
                        "data-name=\"" + esc(r["column"].get<std::string>()) + "\" data-auc=\"" +
                            (std::isfinite(auc) ? g17(auc) : std::string("null")) + "\"");
    }
    h += "<figure id=\"ranking-bars\">" + hbars("ranking-svg", bars, 0.5, "#2ca02c") +
         "<figcaption>Columns by univariate ROC AUC (bar: AUC - 0.5), with mutual information</figcaption></figure>\n";
  }
  h += "</section>\n</body></html>\n";
  return h;
}

}  // namespace pipectl::plugins
