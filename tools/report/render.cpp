// The report as text: Markdown table, JSON, self-contained HTML.
#include "compare_report.hpp"
#include "paired.hpp"
#include "report_detail.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace pipectl::report {

using json = nlohmann::json;

namespace detail {

std::string fmt_fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string fmt_seconds(double s) {
  char b[64];
  if (s < 10)
    std::snprintf(b, sizeof b, "%.3f s", s);
  else if (s < 1000)
    std::snprintf(b, sizeof b, "%.1f s", s);
  else
    std::snprintf(b, sizeof b, "%.0f s", s);
  return b;
}

std::string fmt_rate(double r) {
  if (r < 1000) return fmt_fixed(r, r < 10 ? 2 : 0);
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", r);
  std::string digits = b, out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[i];
    if ((n - 1 - i) % 3 == 0 && i + 1 < n) out += ',';
  }
  return out;
}

std::string fmt_bytes(double b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt_fixed(b, 0) + " B" : fmt_fixed(b, 1) + " " + units[u];
}

std::string html_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

const std::vector<Column>& columns() {
  static const std::vector<Column> cols = {
      {"roc_auc", "ROC AUC", true, [](const ModelRow& r) { return r.roc_auc; },
       [](double v) { return fmt_fixed(v, 4); }},
      {"pr_auc", "PR AUC", true, [](const ModelRow& r) { return r.pr_auc; }, [](double v) { return fmt_fixed(v, 4); }},
      {"f1", "F1", true, [](const ModelRow& r) { return r.f1; }, [](double v) { return fmt_fixed(v, 4); }},
      {"accuracy", "accuracy", true, [](const ModelRow& r) { return r.accuracy; },
       [](double v) { return fmt_fixed(v, 4); }},
      {"log_loss", "log loss", false, [](const ModelRow& r) { return r.log_loss; },
       [](double v) { return fmt_fixed(v, 4); }},
      {"train_seconds", "training time", false, [](const ModelRow& r) { return r.train_seconds; }, fmt_seconds},
      {"predict_rows_per_second", "prediction rows/s", true,
       [](const ModelRow& r) { return r.predict_rows_per_second; }, fmt_rate},
      {"model_bytes", "model size", false, [](const ModelRow& r) { return static_cast<double>(r.model_bytes); },
       fmt_bytes},
  };
  return cols;
}

std::vector<std::vector<bool>> best_flags(const CompareReport& report) {
  const auto& cols = columns();
  std::vector<std::vector<bool>> best(cols.size(), std::vector<bool>(report.rows.size(), false));
  for (std::size_t c = 0; c < cols.size(); ++c) {
    std::size_t have = 0;
    double b = 0;
    for (const auto& r : report.rows) {
      const double v = cols[c].value(r);
      if (!std::isfinite(v)) continue;
      if (have++ == 0 || (cols[c].higher_better ? v > b : v < b)) b = v;
    }
    if (have < 2) continue;
    for (std::size_t i = 0; i < report.rows.size(); ++i) best[c][i] = cols[c].value(report.rows[i]) == b;
  }
  return best;
}

std::string cell_text(const Column& c, const ModelRow& row) {
  const double v = c.value(row);
  return std::isfinite(v) ? c.format(v) : "-";
}

bool several_evaluators(const CompareReport& report) {
  std::set<std::string> ev;
  for (const auto& r : report.rows) ev.insert(r.evaluator);
  return ev.size() > 1;
}

std::string inline_svg(const std::string& svg, const std::string& prefix, const std::string& title,
                       const std::string& attrs) {
  std::size_t start = svg.find("<svg");
  if (start == std::string::npos) return "";
  std::string s = svg.substr(start);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  // Drop the xlink namespace declaration: the HTML parser knows xlink:href.
  for (const char* decl : {" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", " xmlns:xlink='http://www.w3.org/1999/xlink'",
                           "\n xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "\n xmlns:xlink='http://www.w3.org/1999/xlink'"}) {
    std::size_t p = s.find(decl);
    if (p != std::string::npos) s.erase(p, std::string(decl).size());
  }
  // Prefix ids and the references to them.
  std::string out;
  out.reserve(s.size() + 4096);
  std::map<std::string, int> seen;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (std::size_t i = 0; i < s.size();) {
    auto starts = [&](const char* lit) { return s.compare(i, std::char_traits<char>::length(lit), lit) == 0; };
    if ((starts("id=\"") || starts("id='")) && i > 0 && is_space(s[i - 1])) {
      // gnuplot repeats the ids of key entries when it redraws an opaque key:
      // later copies get "-2", "-3"… (nothing refers to those).
      const char q = s[i + 3];
      const std::size_t end = s.find(q, i + 4);
      if (end == std::string::npos) {
        out += s.substr(i);
        break;
      }
      const std::string id = s.substr(i + 4, end - i - 4);
      const int n = ++seen[id];
      out += s.substr(i, 4) + prefix + id + (n > 1 ? "-" + std::to_string(n) : std::string()) + q;
      i = end + 1;
    } else if ((starts("href=\"#") || starts("href='#")) && i > 0 && (is_space(s[i - 1]) || s[i - 1] == ':')) {
      out += s.substr(i, 7) + prefix;
      i += 7;
    } else if (starts("url(#")) {
      out += "url(#" + prefix;
      i += 5;
    } else {
      out += s[i++];
    }
  }
  // Title and attributes.
  const std::size_t t0 = out.find("<title>");
  const std::size_t t1 = t0 == std::string::npos ? t0 : out.find("</title>", t0);
  if (t0 != std::string::npos && t1 != std::string::npos)
    out.replace(t0, t1 + 8 - t0, "<title>" + html_escape(title) + "</title>");
  out.insert(4, " " + attrs);
  return out;
}

}  // namespace detail

using namespace detail;

std::string markdown_table(const CompareReport& report) {
  const auto& cols = columns();
  const auto best = best_flags(report);
  const bool with_ev = several_evaluators(report);
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '|') o += "\\|";
      else if (c == '\n' || c == '\r') o += ' ';
      else o += c;
    }
    return o;
  };
  // Cells first, then pad every column to its widest cell (readable as plain text too).
  std::vector<std::string> header = {"model", "plugin"};
  std::vector<bool> right = {false, false};
  if (with_ev) header.push_back("evaluator"), right.push_back(false);
  header.push_back("test rows"), right.push_back(true);
  for (const auto& c : cols) header.push_back(std::string(c.title) + (c.higher_better ? " ↑" : " ↓")), right.push_back(true);
  std::vector<std::vector<std::string>> body;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const auto& r = report.rows[i];
    std::vector<std::string> line = {esc(r.name), esc(r.plugin)};
    if (with_ev) line.push_back(esc(r.evaluator));
    line.push_back(std::to_string(r.test_rows));
    for (std::size_t c = 0; c < cols.size(); ++c) {
      std::string t = cell_text(cols[c], r);
      if (best[c][i]) t = "**" + t + "**";
      line.push_back(t);
    }
    body.push_back(std::move(line));
  }
  auto width = [](const std::string& s) {  // display width: count UTF-8 lead bytes
    std::size_t w = 0;
    for (unsigned char ch : s) w += (ch & 0xC0) != 0x80;
    return w;
  };
  std::vector<std::size_t> w(header.size(), 3);
  for (std::size_t j = 0; j < header.size(); ++j) {
    w[j] = std::max(w[j], width(header[j]));
    for (const auto& l : body) w[j] = std::max(w[j], width(l[j]));
  }
  auto pad = [&](const std::string& s, std::size_t j) {
    const std::size_t n = width(s) < w[j] ? w[j] - width(s) : 0;
    return right[j] ? std::string(n, ' ') + s : s + std::string(n, ' ');
  };
  std::string out = "|";
  for (std::size_t j = 0; j < header.size(); ++j) out += " " + pad(header[j], j) + " |";
  out += "\n|";
  for (std::size_t j = 0; j < header.size(); ++j)
    out += right[j] ? " " + std::string(w[j] - 1, '-') + ": |" : " " + std::string(w[j], '-') + " |";
  out += "\n";
  for (const auto& l : body) {
    out += "|";
    for (std::size_t j = 0; j < l.size(); ++j) out += " " + pad(l[j], j) + " |";
    out += "\n";
  }
  if (report.rows.size() > 1) out += "\nBest value per column in **bold** (↑ higher is better, ↓ lower is better).\n";
  if (const std::string pt = paired_markdown(report); !pt.empty()) out += "\n" + pt;
  if (!report.notes.empty()) {
    out += "\n";
    for (const auto& n : report.notes) out += "- " + n + "\n";
  }
  return out;
}

json to_json(const CompareReport& report) {
  const auto& cols = columns();
  const auto best = best_flags(report);
  json j = json::object();
  j["pipeline"] = report.pipeline;
  j["run_id"] = report.run_id;
  j["run_dir"] = report.run_dir.string();
  j["date"] = report.date;
  j["status"] = report.status;
  json cj = json::array();
  for (const auto& c : cols)
    cj.push_back({{"key", c.key}, {"title", c.title}, {"better", c.higher_better ? "higher" : "lower"}});
  j["columns"] = cj;
  json models = json::array();
  for (const auto& r : report.rows) {
    json m = {{"name", r.name},
              {"model", r.model},
              {"plugin", r.plugin},
              {"plugin_version", r.plugin_version},
              {"trainer", r.trainer},
              {"evaluator", r.evaluator},
              {"test_rows", r.test_rows},
              {"roc_auc", nan_null(r.roc_auc)},
              {"pr_auc", nan_null(r.pr_auc)},
              {"f1", nan_null(r.f1)},
              {"accuracy", nan_null(r.accuracy)},
              {"log_loss", nan_null(r.log_loss)},
              {"precision", nan_null(r.precision)},
              {"recall", nan_null(r.recall)},
              {"train_seconds", nan_null(r.train_seconds)},
              {"predict_rows_per_second", nan_null(r.predict_rows_per_second)},
              {"model_bytes", r.model_bytes},
              {"model_files", r.model_files},
              {"classes", r.classes},
              {"multiclass", r.multiclass},
              {"has_curves", r.has_curves}};
    if (!r.positive_class.empty()) m["positive_class"] = r.positive_class;
    m["roc_auc_ci"] = std::isfinite(r.roc_auc_lo) ? json::array({r.roc_auc_lo, r.roc_auc_hi}) : json(nullptr);
    if (!r.roc_auc_ci_method.empty()) m["roc_auc_ci_method"] = r.roc_auc_ci_method;
    if (!r.paired_vs.empty())
      m["paired_test"] = {{"against", r.paired_vs}, {"method", r.paired_method}, {"difference", nan_null(r.paired_diff)},
                          {"difference_ci", json::array({nan_null(r.paired_lo), nan_null(r.paired_hi)})},
                          {"p_value", nan_null(r.paired_p)}};
    models.push_back(std::move(m));
  }
  j["models"] = models;
  json bj = json::object();
  for (std::size_t c = 0; c < cols.size(); ++c) {
    json names = json::array();
    for (std::size_t i = 0; i < report.rows.size(); ++i)
      if (best[c][i]) names.push_back(report.rows[i].name);
    bj[cols[c].key] = names;
  }
  j["best"] = bj;
  j["curves"] = report.curves;
  j["importance"] = report.importance;
  j["notes"] = report.notes;
  return j;
}

namespace {

const char* kStyle = R"css(
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #24364f; color: #fff; padding: 18px 32px 14px; }
header h1 { margin: 0 0 8px; font-size: 24px; font-weight: 600; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; font-size: 14px; }
header dt { opacity: .75; display: inline; }
header dd { margin: 0 0 0 6px; display: inline; font-family: "DejaVu Sans Mono", monospace; }
main { padding: 20px 32px 32px; }
h2 { font-size: 18px; margin: 18px 0 10px; }
table#models { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.12); font-size: 14px; }
#models th, #models td { padding: 7px 10px; border-bottom: 1px solid #e3e6ea; white-space: nowrap; }
#models thead th { background: #eef1f5; text-align: right; font-weight: 600; border-bottom: 2px solid #c9ced6; }
#models thead th.text, #models td.text, #models tbody th { text-align: left; }
#models td { text-align: right; font-variant-numeric: tabular-nums; }
#models td.best { background: #d5f0d8; font-weight: 700; color: #125a1d; }
#models tbody tr:hover td { background: #f3f6fa; }
#models tbody tr:hover td.best { background: #c3e8c7; }
#models .sub { color: #6b7380; font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; padding: 2px; }
p.legend { font-size: 13px; color: #4b5563; margin: 8px 0; }
p.legend .swatch { display: inline-block; width: 12px; height: 12px; background: #d5f0d8; border: 1px solid #9ccca2; vertical-align: -2px; }
ul.notes { font-size: 13px; color: #4b5563; margin: 6px 0; padding-left: 20px; }
.plots { display: flex; flex-wrap: wrap; gap: 20px; }
figure { margin: 0; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 10px; width: 560px; max-width: 100%; box-sizing: border-box; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; color: #4b5563; padding: 6px 4px 2px; }
footer { font-size: 12px; color: #6b7380; padding: 0 32px 24px; }
)css";

}  // namespace

std::string html_page(const CompareReport& report, const std::string& roc_svg, const std::string& pr_svg,
                      const std::vector<std::pair<std::string, std::string>>& importance_svgs) {
  const auto& cols = columns();
  const auto best = best_flags(report);
  const bool with_ev = several_evaluators(report);
  const std::string title = "Model comparison: " + (report.pipeline.empty() ? report.run_id : report.pipeline);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + html_escape(title + " (" + report.run_id + ")") + "</title>\n";
  h += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<header>\n<h1>" + html_escape(title) + "</h1>\n<dl>\n";
  h += "<div><dt>pipeline</dt><dd id=\"pipeline\">" + html_escape(report.pipeline) + "</dd></div>\n";
  h += "<div><dt>run</dt><dd id=\"run-id\">" + html_escape(report.run_id) + "</dd></div>\n";
  h += "<div><dt>date</dt><dd id=\"run-date\">" + html_escape(report.date.empty() ? "unknown" : report.date) +
       "</dd></div>\n";
  if (!report.status.empty())
    h += "<div><dt>status</dt><dd id=\"run-status\">" + html_escape(report.status) + "</dd></div>\n";
  h += "<div><dt>models</dt><dd>" + std::to_string(report.rows.size()) + "</dd></div>\n";
  h += "</dl>\n</header>\n<main>\n";

  h += "<section>\n<h2>Models side by side</h2>\n<div class=\"scroll\">\n<table id=\"models\">\n<thead><tr>";
  h += "<th class=\"text\" scope=\"col\">model</th><th class=\"text\" scope=\"col\">plugin</th>";
  if (with_ev) h += "<th class=\"text\" scope=\"col\">evaluator</th>";
  h += "<th scope=\"col\">test rows</th>";
  for (const auto& c : cols)
    h += "<th scope=\"col\" data-key=\"" + std::string(c.key) + "\" title=\"" +
         (c.higher_better ? "higher is better" : "lower is better") + "\">" + html_escape(c.title) +
         (c.higher_better ? " &uarr;" : " &darr;") + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const auto& r = report.rows[i];
    h += "<tr data-model=\"" + html_escape(r.name) + "\">";
    h += "<th class=\"text\" scope=\"row\">" + html_escape(r.name) + "</th>";
    h += "<td class=\"text\"" +
         (r.plugin_version.empty() ? std::string() : " title=\"version " + html_escape(r.plugin_version) + "\"") + ">" +
         html_escape(r.plugin) + (r.multiclass ? " <span class=\"sub\">macro</span>" : "") + "</td>";
    if (with_ev) h += "<td class=\"text\">" + html_escape(r.evaluator) + "</td>";
    h += "<td>" + std::to_string(r.test_rows) + "</td>";
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const double v = cols[c].value(r);
      std::string exact;
      if (std::isfinite(v))  // shortest text that reads back the same; whole numbers without ".0"
        exact = v == std::floor(v) && std::fabs(v) < 9007199254740992.0 ? std::to_string(static_cast<std::int64_t>(v))
                                                                         : json(v).dump();
      h += std::string("<td") + (best[c][i] ? " class=\"best\"" : "") + " data-key=\"" + cols[c].key + "\"" +
           (exact.empty() ? "" : " data-value=\"" + exact + "\"") + ">" + html_escape(cell_text(cols[c], r)) +
           "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody>\n</table>\n</div>\n";
  if (report.rows.size() > 1)
    h += "<p class=\"legend\"><span class=\"swatch\"></span> best value per column "
         "(&uarr; higher is better, &darr; lower is better). Figures are on the evaluator's test rows; training "
         "time and prediction throughput are the trainer's own measures.</p>\n";
  if (!report.notes.empty()) {
    h += "<ul class=\"notes\">\n";
    for (const auto& n : report.notes) h += "<li>" + html_escape(n) + "</li>\n";
    h += "</ul>\n";
  }
  h += "</section>\n" + paired_html(report) + "<section>\n<h2>Curves</h2>\n<div class=\"plots\">\n";
  h += "<figure id=\"roc\">\n" +
       inline_svg(roc_svg, "roc-", "ROC curves", "role=\"img\" aria-label=\"ROC curves, one line per model\"") +
       "\n<figcaption>ROC curves: true positive rate against false positive rate, one line per model "
       "(dashed: chance).</figcaption>\n</figure>\n";
  h += "<figure id=\"pr\">\n" +
       inline_svg(pr_svg, "pr-", "Precision-recall curves",
                  "role=\"img\" aria-label=\"Precision-recall curves, one line per model\"") +
       "\n<figcaption>Precision-recall curves: precision against recall, one line per model.</figcaption>\n"
       "</figure>\n";
  h += "</div>\n</section>\n";
  if (!importance_svgs.empty()) {
    h += "<section id=\"importance\">\n<h2>Feature importance</h2>\n<p class=\"notes\">Mean |contribution| of "
         "each feature to the log-odds on the test rows (XGBoost: exact TreeSHAP; liblinear: weight &times; value), "
         "the " + std::to_string(kImportanceBars) + " largest per model.</p>\n<div class=\"plots\">\n";
    for (std::size_t i = 0; i < importance_svgs.size(); ++i) {
      const auto& [name, svg] = importance_svgs[i];
      const std::string id = "importance-" + std::to_string(i);
      h += "<figure id=\"" + id + "\" data-model=\"" + html_escape(name) + "\">\n" +
           inline_svg(svg, id + "-", "Feature importance: " + name,
                      "role=\"img\" aria-label=\"Feature importance of model " + html_escape(name) + "\"") +
           "\n<figcaption>" + html_escape(name) + ": mean |contribution| per feature.</figcaption>\n</figure>\n";
    }
    h += "</div>\n</section>\n";
  }
  h += "</main>\n";
  h += "<footer>pipectl compare report &middot; run folder <code>" + html_escape(report.run_dir.string()) +
       "</code></footer>\n</body>\n</html>\n";
  return h;
}

}  // namespace pipectl::report
