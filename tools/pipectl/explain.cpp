#include "explain.hpp"

#include <pipectl/error.hpp>
#include <pipectl/run_folder.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace fs = std::filesystem;

namespace pipectl::cli {

std::string fmt17(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

namespace {

std::string html(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// Largest |value| first, then by name (deterministic).
void sort_reasons(Reasons& r) {
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) {
    const double x = std::fabs(a.second), y = std::fabs(b.second);
    if (x != y) return x > y;
    return a.first < b.first;
  });
}

std::string reasons_suffix(const Reasons& r, int k) {
  std::string s;
  for (int i = 0; i < k; ++i)
    s += "," + (static_cast<std::size_t>(i) < r.size() ? csv_field(reason_text(r[i].first, r[i].second)) : "");
  return s;
}

}  // namespace

std::string reason_text(const std::string& name, double value) {
  char b[48];
  std::snprintf(b, sizeof b, " (%+.3f)", value);
  return name + b;
}

PredictExplainer::PredictExplainer(const std::string& what, const PluginRegistry& reg, const ResolvedStage& model,
                                   const fs::path& run) {
  if (what == "all") {
    k_ = 0;
  } else {
    char* end = nullptr;
    const long k = std::strtol(what.c_str(), &end, 10);
    if (what.empty() || *end != '\0' || k < 1 || k > 1000)
      throw Error("--explain takes a number of reasons (1 to 1000) or \"all\", got \"" + what + "\"", ExitCode::Usage);
    k_ = static_cast<int>(k);
  }
  if (!model.plugin->spec.explains) {
    std::string can;
    for (const auto& [name, p] : reg.plugins())
      if (p.spec.explains && p.kind == StageKind::Trainer) can += (can.empty() ? "" : ", ") + p.name;
    throw Error("model \"" + model.id + "\" (plugin \"" + model.plugin->name +
                    "\") cannot explain its predictions: the plugin does not declare `explains`" +
                    (can.empty() ? std::string() : " (models that can: " + can + ")"),
                ExitCode::Usage);
  }
  stage_ = reg.create(*model.plugin, model.id, model.params);
  const fs::path dir = run / "stages" / model.id;
  stage_->load_state(json::parse(read_file(dir / "state.json")), dir);
}

std::size_t PredictExplainer::group_of(std::int32_t pred) const {
  return groups_.size() == 1 ? 0 : static_cast<std::size_t>(std::max(0, pred));
}

Reasons PredictExplainer::row_reasons(const Explanation& e, const Table& input, std::size_t row,
                                      std::uint32_t tr, std::size_t group) const {
  std::map<std::string, double> by;
  for (std::size_t f = 0; f < e.features.size(); ++f) {
    const double v = e.at(row, group, f);
    const FeatureOrigin& o = e.origins[f];
    const Column& c = input.at(o.column);
    std::string key;
    if (c.is_numeric()) {
      key = o.column;
    } else if (c.type == DType::Categorical) {
      // One reason for the whole column, named by this session's value.
      key = o.column + "=" + (c.is_null(tr) || c.codes[tr] < 0 ? std::string("(null)") : (*c.dictionary)[c.codes[tr]]);
    } else {  // multi-valued: each present value, and the absent ones together
      bool present = false;
      if (!c.is_null(tr))
        for (auto k = c.offsets[tr]; k < c.offsets[tr + 1]; ++k) present = present || c.codes[k] == o.code;
      key = present ? o.column + "=" + o.value : o.column + " (names absent)";
      if (o.code < 0) {  // the model took the column whole
        std::string vals;
        for (auto k = c.offsets[tr]; k < c.offsets[tr + 1]; ++k) vals += (vals.empty() ? "" : "|") + (*c.dictionary)[c.codes[k]];
        key = o.column + "=" + vals;
      }
    }
    by[key] += v;
  }
  Reasons r(by.begin(), by.end());
  sort_reasons(r);
  return r;
}

std::string PredictExplainer::format_all(const std::vector<double>& v, std::size_t groups) const {
  std::string s;
  const std::size_t w = features_.size() + 1;
  for (std::size_t g = 0; g < groups; ++g)
    for (std::size_t f = 0; f < w; ++f) s += "," + fmt17(v[g * w + f]);
  return s;
}

void PredictExplainer::chunk(const Table& input, const std::vector<std::int32_t>& pred,
                             const std::vector<std::int64_t>& device) {
  suffix_.assign(input.rows(), std::string());
  // In slices, so the contributions of a large chunk are never all in memory.
  const std::size_t slice = 20000;
  for (std::size_t lo = 0; lo < input.rows(); lo += slice) {
    const std::size_t hi = std::min(input.rows(), lo + slice);
    std::vector<std::uint32_t> rows;
    for (std::size_t i = lo; i < hi; ++i) rows.push_back(static_cast<std::uint32_t>(i));
    const Explanation e = stage_->explain(input, rows, 0);
    if (e.rows != rows.size() || e.values.size() != e.rows * e.groups.size() * e.width() ||
        e.origins.size() != e.features.size())
      throw Error("the model's explanation does not match its input (" + std::to_string(e.rows) + " rows for " +
                  std::to_string(rows.size()) + ")");
    if (features_.empty()) {
      features_ = e.features;
      groups_ = e.groups;
    }
    const std::size_t G = e.groups.size(), w = e.width();
    for (std::size_t r = 0; r < e.rows; ++r) {
      const std::size_t tr = lo + r;
      const std::int64_t dev = device.empty() ? -1 : device[tr];
      Dev* d = nullptr;
      if (dev >= 0) {
        d = &devs_[dev];
        ++d->sessions;
        if (d->reasons.empty()) d->reasons.resize(G);
      }
      if (all()) {
        const double* b = &e.values[r * G * w];
        if (d) {
          if (d->all.empty()) d->all.assign(G * w, 0.0);
          for (std::size_t j = 0; j < G * w; ++j) d->all[j] += b[j];
        } else {
          suffix_[tr] = format_all(std::vector<double>(b, b + G * w), G);
        }
      } else if (d) {
        for (std::size_t g = 0; g < G; ++g)
          for (const auto& [name, v] : row_reasons(e, input, r, static_cast<std::uint32_t>(tr), g)) d->reasons[g][name] += v;
      } else {
        suffix_[tr] = reasons_suffix(row_reasons(e, input, r, static_cast<std::uint32_t>(tr), group_of(pred.at(tr))), k_);
      }
    }
  }
}

std::string PredictExplainer::session_header() const {
  std::string h;
  if (!all()) {
    for (int i = 1; i <= k_; ++i) h += ",reason_" + std::to_string(i);
    return h;
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string pre = groups_.size() == 1 ? "contrib." : "contrib." + groups_[g] + ".";
    for (const auto& f : features_) h += "," + csv_field(pre + f);
    h += "," + csv_field(pre + "bias");
  }
  return h;
}

Reasons PredictExplainer::device_reasons(std::int64_t device, std::size_t group) const {
  auto it = devs_.find(device);
  if (it == devs_.end() || it->second.reasons.empty()) return {};
  const auto& m = it->second.reasons.at(groups_.size() == 1 ? 0 : group);
  Reasons r;
  for (const auto& [name, v] : m) r.emplace_back(name, v / static_cast<double>(it->second.sessions));
  sort_reasons(r);
  return r;
}

std::string PredictExplainer::device_suffix(std::int64_t device, std::size_t group) const {
  if (!all()) return reasons_suffix(device_reasons(device, group), k_);
  auto it = devs_.find(device);
  std::vector<double> v(groups_.size() * (features_.size() + 1), 0.0);
  if (it != devs_.end() && !it->second.all.empty())
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = it->second.all[j] / static_cast<double>(it->second.sessions);
  return format_all(v, groups_.size());
}

std::string devices_html(const std::string& run, const std::string& model, const std::string& input,
                         const std::vector<std::string>& header, const std::vector<DeviceLine>& lines, bool binary,
                         const std::string& note) {
  double top = 0;
  for (const auto& l : lines)
    for (const auto& r : l.reasons) top = std::max(top, std::fabs(r.second));
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>pipectl predict: devices</title>\n"
      "<style>\nbody{font-family:sans-serif;margin:1.5em;color:#222}\ntable{border-collapse:collapse}\n"
      "th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}\n"
      "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
      ".verdict-pos{color:#a33;font-weight:bold}\n.reason{display:flex;align-items:center;gap:.4em;font-size:.9em}\n"
      ".bar{display:inline-block;height:.8em}\n.up{background:#c0504d}\n.down{background:#4f81bd}\n"
      ".name{min-width:16em}\n</style></head><body>\n<h1>Devices</h1>\n<p>Run <code>" +
      html(run) + "</code>, model <code>" + html(model) + "</code>, input <code>" + html(input) + "</code>: " +
      std::to_string(lines.size()) +
      " devices, most likely first. A reason is a feature's mean contribution over the device's sessions to the " +
      (binary ? std::string("log-odds") : std::string("verdict class's margin")) +
      " (red pushes towards the verdict's positive side, blue away).</p>\n";
  if (!note.empty()) h += "<p class=\"note\">" + html(note) + "</p>\n";
  h += "<table id=\"devices\"><thead><tr><th>#</th>";
  for (const auto& c : header) h += "<th>" + html(c) + "</th>";
  h += "<th>verdict</th><th>probability</th><th>sessions</th><th>top reasons</th></tr></thead>\n<tbody>\n";
  std::size_t i = 0;
  for (const auto& l : lines) {
    char p[32];
    std::snprintf(p, sizeof p, "%.4f", l.probability);
    h += "<tr data-key=\"" + html(l.desc.empty() ? std::string() : l.desc[0]) + "\" data-p=\"" +
         fmt17(l.probability) + "\" data-sessions=\"" + std::to_string(l.sessions) + "\"><td class=\"num\">" +
         std::to_string(++i) + "</td>";
    for (std::size_t c = 0; c < header.size(); ++c) h += "<td>" + html(c < l.desc.size() ? l.desc[c] : "") + "</td>";
    h += "<td class=\"verdict\">" +
         html(l.verdict) + "</td><td class=\"num p\">" + p + "</td><td class=\"num s\">" +
         std::to_string(l.sessions) + "</td><td class=\"reasons\">";
    for (const auto& r : l.reasons) {
      const int w = top > 0 ? static_cast<int>(std::lround(120.0 * std::fabs(r.second) / top)) : 0;
      h += "<div class=\"reason\" data-name=\"" + html(r.first) + "\" data-value=\"" + fmt17(r.second) +
           "\"><span class=\"name\">" + html(reason_text(r.first, r.second)) + "</span><span class=\"bar " +
           (r.second >= 0 ? "up" : "down") + "\" style=\"width:" + std::to_string(w) + "px\"></span></div>";
    }
    h += "</td></tr>\n";
  }
  h += "</tbody></table>\n</body></html>\n";
  return h;
}

}  // namespace pipectl::cli
