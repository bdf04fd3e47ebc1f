// write_compare: the report's files, the plots drawn by gnuplot.
#include "compare_report.hpp"
#include "report_detail.hpp"

#include <pipectl/run_folder.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace pipectl::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A private temporary folder, removed with the object.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pipectl-report-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder: " + std::string(std::strerror(errno)));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw Error("cannot write " + p.string());
}

// A gnuplot single-quoted string: '' stands for one quote; no control characters.
std::string gq(const std::string& s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += "''";
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o + "'";
}

std::string g17(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// Line styles: distinct colours, then dash patterns once they run out.
const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

struct Series {
  fs::path data;
  std::string title;
};

// Data files of one kind of curve ("roc": fpr/tpr, "pr": recall/precision).
std::vector<Series> write_series(const CompareReport& r, const std::string& kind, const fs::path& dir) {
  const char* xs = kind == "roc" ? "fpr" : "recall";
  const char* ys = kind == "roc" ? "tpr" : "precision";
  const char* area = kind == "roc" ? "auc" : "average_precision";
  const char* area_name = kind == "roc" ? "AUC" : "AP";
  std::vector<Series> out;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const auto& row = r.rows[i];
    if (!r.curves.contains(row.name)) continue;
    const json& c = r.curves[row.name];
    if (!c.contains(kind) || !c[kind].is_object()) continue;
    const json& k = c[kind];
    if (!k.contains(xs) || !k.contains(ys) || !k[xs].is_array() || !k[ys].is_array() || k[xs].empty()) continue;
    std::string text = std::string("# ") + xs + " " + ys + " of model " + row.name + "\n";
    for (std::size_t p = 0; p < k[xs].size() && p < k[ys].size(); ++p)
      text += g17(k[xs][p].get<double>()) + " " + g17(k[ys][p].get<double>()) + "\n";
    const fs::path f = dir / (kind + "-" + std::to_string(i) + ".dat");
    write_text(f, text);
    std::string title = row.name;
    if (k.contains(area) && k[area].is_number())
      title += std::string(" (") + area_name + " " + detail::fmt_fixed(k[area].get<double>(), 3) + ")";
    if (c.value("kind", std::string()) == "macro") title += " macro";
    out.push_back({f, title});
  }
  return out;
}

std::string plot_script(const std::vector<Series>& s, const fs::path& output, bool roc) {
  std::string g;
  g += "set terminal svg enhanced size 640,480 dynamic font 'DejaVu Sans,13' background rgb 'white'\n";
  g += "set encoding utf8\n";
  g += "set output " + gq(output.string()) + "\n";
  g += roc ? "set title 'ROC curves' noenhanced\n" : "set title 'Precision-recall curves' noenhanced\n";
  g += roc ? "set xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
           : "set xlabel 'recall'\nset ylabel 'precision'\n";
  g += "set xrange [0:1]\nset yrange [0:1.02]\nset xtics 0.1\nset ytics 0.1\nset format x '%.1f'\nset format y '%.1f'\n";
  g += "set grid lc rgb '#dddddd'\n";
  g += roc ? "set key bottom right box opaque noenhanced\n" : "set key bottom left box opaque noenhanced\n";
  g += "set border lc rgb '#555555'\n";
  for (std::size_t i = 0; i < s.size(); ++i)
    g += "set style line " + std::to_string(i + 1) + " lc rgb '" + kColours[i % 8] + "' lw 2 dt " +
         std::to_string(1 + (i / 8) % 4) + "\n";
  if (s.empty() && !roc) {
    g += "set label 1 'no precision-recall curve was recorded' at graph 0.5,0.5 center noenhanced\n";
    g += "plot 2 notitle\n";
  } else if (s.empty()) {
    g += "set label 1 'no ROC curve was recorded' at graph 0.5,0.6 center noenhanced\n";
  }
  if (!s.empty() || roc) {
    std::string p = "plot ";
    for (std::size_t i = 0; i < s.size(); ++i)
      p += gq(s[i].data.string()) + " using 1:2 with lines ls " + std::to_string(i + 1) + " title " + gq(s[i].title) +
           " noenhanced, ";
    if (roc)
      p += "x with lines lc rgb '#999999' lw 1 dt 2 title 'chance'";
    else
      p.erase(p.size() - 2);
    g += p + "\n";
  }
  g += "unset output\n";
  return g;
}

// Run `program script`, stdout and stderr into files; returns the exit status.
void run_gnuplot(const fs::path& script, const fs::path& dir) {
  const char* env = std::getenv("PIPECTL_GNUPLOT");
  const std::string program = env && *env ? env : "gnuplot";
  const fs::path out = dir / "gnuplot.out", err = dir / "gnuplot.err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string a0 = program, a1 = script.string();
  char* argv[] = {a0.data(), a1.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw Error("cannot run gnuplot (\"" + program + "\"): " + std::strerror(rc) +
                (rc == ENOENT ? " - install it (Debian package gnuplot-nox; ./setup installs it)" : ""));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("waiting for gnuplot failed: " + std::string(std::strerror(errno)));
  }
  std::string msg = slurp(err);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.size() > 2000) msg = msg.substr(0, 2000) + "…";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  throw Error("gnuplot (\"" + program + "\") failed drawing the curves (" + how + ")" +
              (msg.empty() ? std::string(", nothing on stderr") : ": " + msg));
}

// A horizontal bar chart of one model's mean |contribution| per feature.
std::string importance_script(const json& imp, const std::string& model, const fs::path& data,
                              const fs::path& output, std::size_t& bars) {
  std::string text = "# rank mean_abs feature of model " + model + "\n";
  bars = 0;
  for (const auto& f : imp["features"]) {
    if (bars == kImportanceBars) break;
    std::string name = f.value("feature", std::string());
    for (auto& c : name)
      if (c == '"' || static_cast<unsigned char>(c) < 0x20) c = '\'';
    text += std::to_string(bars) + " " + g17(f.value("mean_abs", 0.0)) + " \"" + name + "\"\n";
    ++bars;
  }
  write_text(data, text);
  std::string g;
  g += "set terminal svg enhanced size 640," + std::to_string(120 + 26 * std::max<std::size_t>(bars, 1)) +
       " dynamic font 'DejaVu Sans,12' background rgb 'white'\n";
  g += "set encoding utf8\nset output " + gq(output.string()) + "\n";
  g += "set title " + gq("Feature importance: " + model) + " noenhanced\n";
  g += "set xlabel 'mean |contribution| to the log-odds' noenhanced\n";
  g += "set yrange [" + std::to_string(bars) + ":-1]\nset ytics scale 0 noenhanced\nset xrange [0:*]\n";
  g += "set grid xtics lc rgb '#dddddd'\nset border 3 lc rgb '#555555'\nset xtics nomirror\nset lmargin 34\n";
  g += "set style fill solid 0.85 noborder\nunset key\n";
  if (bars == 0)
    g += "set label 1 'no feature' at graph 0.5,0.5 center\nplot 2 notitle\n";
  else
    g += "plot " + gq(data.string()) +
         " using ($2/2):1:($2/2):(0.38):yticlabels(3) with boxxyerror lc rgb '#1f77b4' notitle\n";
  g += "unset output\n";
  return g;
}

}  // namespace

void write_compare(const CompareReport& report, const fs::path& out_dir) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw Error("cannot create the report folder " + out_dir.string() + (ec ? ": " + ec.message() : ""));

  // The plots, drawn in a private folder and moved in place once gnuplot succeeded.
  TempDir tmp;
  const auto roc = write_series(report, "roc", tmp.path);
  const auto pr = write_series(report, "pr", tmp.path);
  const fs::path script = tmp.path / "curves.gp";
  write_text(script, plot_script(roc, tmp.path / "roc.svg", true) + plot_script(pr, tmp.path / "pr.svg", false));
  run_gnuplot(script, tmp.path);
  std::string roc_svg = slurp(tmp.path / "roc.svg"), pr_svg = slurp(tmp.path / "pr.svg");
  if (roc_svg.find("<svg") == std::string::npos || pr_svg.find("<svg") == std::string::npos)
    throw Error("gnuplot exited normally but wrote no SVG (" + (tmp.path / "roc.svg").string() + ", " +
                (tmp.path / "pr.svg").string() + ")");

  // One importance chart per model that explains.
  std::vector<std::pair<std::string, std::string>> importance;
  {
    std::string g;
    std::vector<std::pair<std::string, fs::path>> charts;
    for (std::size_t i = 0; i < report.rows.size(); ++i) {
      const auto& name = report.rows[i].name;
      if (!report.importance.contains(name)) continue;
      std::size_t bars = 0;
      const fs::path svg = tmp.path / ("importance-" + std::to_string(i) + ".svg");
      g += importance_script(report.importance[name], name, tmp.path / ("importance-" + std::to_string(i) + ".dat"),
                             svg, bars);
      charts.emplace_back(name, svg);
    }
    if (!charts.empty()) {
      const fs::path is = tmp.path / "importance.gp";
      write_text(is, g);
      run_gnuplot(is, tmp.path);
      for (std::size_t c = 0; c < charts.size(); ++c) {
        std::string svg = slurp(charts[c].second);
        if (svg.find("<svg") == std::string::npos)
          throw Error("gnuplot exited normally but wrote no SVG (" + charts[c].second.string() + ")");
        write_file_atomic(out_dir / charts[c].second.filename(), svg);
        importance.emplace_back(charts[c].first, std::move(svg));
      }
    }
  }

  write_file_atomic(out_dir / "roc.svg", roc_svg);
  write_file_atomic(out_dir / "pr.svg", pr_svg);
  write_file_atomic(out_dir / "compare.json", to_json(report).dump(2) + "\n");

  std::string md = "# Model comparison: " + (report.pipeline.empty() ? report.run_id : report.pipeline) + "\n\n";
  md += "Run `" + report.run_id + "`" + (report.date.empty() ? std::string() : ", started " + report.date) +
        (report.status.empty() ? std::string() : ", status " + report.status) + ".\n\n";
  md += markdown_table(report);
  md += "\n## Curves\n\n![ROC curves](roc.svg)\n\n![Precision-recall curves](pr.svg)\n\n";
  md += "Every figure and curve point: [compare.json](compare.json); the page with both: "
        "[compare.html](compare.html).\n";
  if (!importance.empty()) {
    md += "\n## Feature importance\n\nMean |contribution| to the log-odds on the test rows, per model:\n\n";
    for (std::size_t i = 0; i < report.rows.size(); ++i)
      if (report.importance.contains(report.rows[i].name))
        md += "![" + report.rows[i].name + "](importance-" + std::to_string(i) + ".svg)\n\n";
  }
  write_file_atomic(out_dir / "compare.md", md);
  write_file_atomic(out_dir / "compare.html", html_page(report, roc_svg, pr_svg, importance));
}

}  // namespace pipectl::report
