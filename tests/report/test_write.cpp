// write_compare: compare.md, compare.json, compare.html (+ roc.svg, pr.svg);
// the page is self-contained; gnuplot failures are reported clearly.
#include "compare_report.hpp"
#include "fixture.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <regex>

using namespace reportfix;
using pipectl::testsupport::slurp;

namespace {

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

struct EnvGuard {
  std::string name;
  EnvGuard(const std::string& n, const std::string& value) : name(n) { setenv(n.c_str(), value.c_str(), 1); }
  ~EnvGuard() { unsetenv(name.c_str()); }
};

std::vector<Model> models_with_odd_name() {
  auto m = two_models();
  m[0].id = "xgb_v2";  // '_' would be a subscript in gnuplot's enhanced text
  return m;
}

}  // namespace

TEST_CASE("write_compare: the three files and the plots") {
  TempDir t;
  const auto dir = t / "cmp-20261127T150024Z";
  const auto models = models_with_odd_name();
  make_run(dir, models, Layout::Shared);
  const auto rep = pipectl::report::build_compare(dir);
  const auto out = dir / "report";
  pipectl::report::write_compare(rep, out);
  for (const char* f : {"compare.md", "compare.json", "compare.html", "roc.svg", "pr.svg"}) {
    INFO(f);
    CHECK(fs::is_regular_file(out / f));
    CHECK(fs::file_size(out / f) > 0);
  }
  // No temporary files left behind in the report folder.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out)) files += e.is_regular_file(), (void)e;
  CHECK(files == 5);

  const std::string html = slurp(out / "compare.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(html, "<table id=\"models\">") == 1);
  CHECK(count(html, "<svg") == 2);
  CHECK(count(html, "</svg>") == 2);
  const auto roc = html.find("<figure id=\"roc\">"), pr = html.find("<figure id=\"pr\">");
  REQUIRE(roc != std::string::npos);
  REQUIRE(pr != std::string::npos);
  CHECK(html.find("<svg", roc) < html.find("</figure>", roc));
  CHECK(html.find("<svg", pr) < html.find("</figure>", pr));
  CHECK(html.find("<?xml") == std::string::npos);
  CHECK(html.find("<!DOCTYPE svg") == std::string::npos);
  // Self-contained: no reference out of the page but the SVG namespace name.
  {
    std::string rest = html;
    for (std::size_t p; (p = rest.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;)
      rest.erase(p, 34);
    CHECK(rest.find("http://") == std::string::npos);
    CHECK(rest.find("https://") == std::string::npos);
    CHECK(rest.find("<script") == std::string::npos);
    CHECK(rest.find("<link") == std::string::npos);
    CHECK(rest.find("src=") == std::string::npos);
    CHECK(rest.find("@import") == std::string::npos);
  }
  // Ids of the two plots never clash.
  {
    std::regex id_re("\\sid=['\"]([^'\"]+)['\"]");
    std::map<std::string, int> ids;
    for (std::sregex_iterator it(html.begin(), html.end(), id_re), end; it != end; ++it) ++ids[(*it)[1]];
    for (const auto& [id, n] : ids) {
      INFO(id);
      CHECK(n == 1);
    }
    CHECK(ids.count("roc-gnuplot_canvas") == 1);
    CHECK(ids.count("pr-gnuplot_canvas") == 1);
  }
  // Header, rows, best cells.
  CHECK(html.find("<dd id=\"pipeline\">cmp</dd>") != std::string::npos);
  CHECK(html.find("<dd id=\"run-id\">cmp-20261127T150024Z</dd>") != std::string::npos);
  CHECK(html.find("<dd id=\"run-date\">2026-11-27 15:00:24 UTC</dd>") != std::string::npos);
  CHECK(html.find("<tr data-model=\"xgb_v2\">") != std::string::npos);
  CHECK(html.find("<tr data-model=\"lr\">") != std::string::npos);
  CHECK(html.find("<td class=\"best\" data-key=\"roc_auc\" data-value=\"0.9466385817096717\">0.9466</td>") !=
        std::string::npos);
  CHECK(html.find("<td class=\"best\" data-key=\"model_bytes\" data-value=\"5678\">5.5 KiB</td>") != std::string::npos);
  CHECK(count(html, "class=\"best\"") == 8);  // one best per column, no ties here
  // The legends name the models literally (no enhanced-text subscript).
  CHECK(html.find("xgb_v2 (AUC 0.947)") != std::string::npos);
  CHECK(html.find("lr (AP 0.701)") != std::string::npos);
  CHECK(html.find(">chance<") != std::string::npos);
  const std::string rocsvg = slurp(out / "roc.svg");
  CHECK(rocsvg.find("<svg") != std::string::npos);
  CHECK(rocsvg.find("xgb_v2 (AUC 0.947)") != std::string::npos);

  const std::string md = slurp(out / "compare.md");
  CHECK(md.find("# Model comparison: cmp") == 0);
  CHECK(md.find(pipectl::report::markdown_table(rep)) != std::string::npos);
  CHECK(md.find("](roc.svg)") != std::string::npos);
  CHECK(md.find("](pr.svg)") != std::string::npos);

  const json j = read_json(out / "compare.json");
  CHECK(j["pipeline"] == "cmp");
  CHECK(j["run_id"] == "cmp-20261127T150024Z");
  REQUIRE(j["models"].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& m = models[i];
    const auto& o = j["models"][i];
    CHECK(o["name"] == m.id);
    CHECK(o["plugin"] == m.plugin);
    CHECK(o["evaluator"] == "evaluate");
    CHECK(o["roc_auc"].get<double>() == m.roc_auc);
    CHECK(o["pr_auc"].get<double>() == m.pr_auc);
    CHECK(o["f1"].get<double>() == m.f1);
    CHECK(o["accuracy"].get<double>() == m.accuracy);
    CHECK(o["log_loss"].get<double>() == m.log_loss);
    CHECK(o["test_rows"].get<std::int64_t>() == m.rows);
    CHECK(o["train_seconds"].get<double>() == m.train_seconds);
    CHECK(o["predict_rows_per_second"].get<double>() == m.predict_rows_per_second);
    CHECK(o["model_bytes"].get<std::uintmax_t>() == m.model_bytes);
    CHECK(j["curves"][m.id]["roc"]["fpr"].get<std::vector<double>>() == m.fpr);
    CHECK(j["curves"][m.id]["pr"]["precision"].get<std::vector<double>>() == m.precision_pts);
  }
  CHECK(j["best"]["roc_auc"] == json::array({"xgb_v2"}));
  CHECK(j["best"]["train_seconds"] == json::array({"lr"}));
  CHECK(j["columns"].size() == 8);
}

TEST_CASE("write_compare: a model without curves, and no PR curve at all") {
  TempDir t;
  const auto dir = t / "run";
  make_run(dir, two_models(), Layout::Shared);
  for (const char* id : {"xgb", "lr"}) {
    json c = read_json(dir / "stages/evaluate" / id / "curves.json");
    c["curves"]["pr"] = nullptr;
    if (std::string(id) == "lr") c["curves"] = nullptr;  // no probabilities
    write(dir / "stages/evaluate" / id / "curves.json", c.dump());
  }
  const auto rep = pipectl::report::build_compare(dir);
  CHECK_FALSE(rep.rows[1].has_curves);
  pipectl::report::write_compare(rep, t / "out");
  const std::string html = slurp(t / "out/compare.html");
  CHECK(count(html, "<svg") == 2);
  CHECK(html.find("no precision-recall curve was recorded") != std::string::npos);
  CHECK(html.find("has no curves") != std::string::npos);  // the note
}

TEST_CASE("write_compare: gnuplot missing or failing is a clear error") {
  TempDir t;
  const auto dir = t / "run";
  make_run(dir, two_models(), Layout::Shared);
  const auto rep = pipectl::report::build_compare(dir);
  SUBCASE("missing") {
    EnvGuard g("PIPECTL_GNUPLOT", (t / "no-such-gnuplot").string());
    std::string msg;
    try {
      pipectl::report::write_compare(rep, t / "out");
    } catch (const pipectl::Error& e) {
      msg = e.what();
    }
    INFO(msg);
    CHECK(msg.find("cannot run gnuplot") != std::string::npos);
    CHECK(msg.find("gnuplot-nox") != std::string::npos);
  }
  SUBCASE("failing") {
    write(t / "fake-gnuplot", "#!/bin/sh\necho \"line 3: undefined variable: boom\" >&2\nexit 3\n");
    fs::permissions(t / "fake-gnuplot", fs::perms::owner_all);
    EnvGuard g("PIPECTL_GNUPLOT", (t / "fake-gnuplot").string());
    std::string msg;
    try {
      pipectl::report::write_compare(rep, t / "out");
    } catch (const pipectl::Error& e) {
      msg = e.what();
    }
    INFO(msg);
    CHECK(msg.find("gnuplot") != std::string::npos);
    CHECK(msg.find("exit status 3") != std::string::npos);
    CHECK(msg.find("undefined variable: boom") != std::string::npos);
    CHECK_FALSE(fs::exists(t / "out/compare.html"));
  }
}

TEST_CASE("write_compare: feature importance as one bar chart per model that has it") {
  TempDir t;
  const auto dir = t / "cmp-20261127T150024Z";
  const auto models = two_models();
  make_run(dir, models, Layout::Shared);
  // The first trainer recorded its importance beside its own figures, the second did not.
  json metrics = read_json(dir / "metrics.json");
  json feats = json::array();
  for (int i = 0; i < 20; ++i)
    feats.push_back({{"feature", "f_" + std::to_string(i) + (i == 3 ? "=a \"b\"" : "")}, {"mean_abs", 2.0 - 0.1 * i}});
  metrics[models[0].id]["importance"] = {{"rows", 1453}, {"groups", {"yes"}}, {"note", "n"}, {"features", feats}};
  write(dir / "metrics.json", metrics.dump(2));
  const auto rep = pipectl::report::build_compare(dir);
  REQUIRE(rep.importance.contains(models[0].id));
  CHECK_FALSE(rep.importance.contains(models[1].id));
  bool noted = false;
  for (const auto& n : rep.notes) noted |= n.find("\"" + models[1].id + "\" has no feature importance") != std::string::npos;
  CHECK(noted);
  const auto out = dir / "report";
  pipectl::report::write_compare(rep, out);
  CHECK(fs::is_regular_file(out / "importance-0.svg"));
  CHECK_FALSE(fs::exists(out / "importance-1.svg"));
  CHECK(read_json(out / "compare.json")["importance"][models[0].id] == metrics[models[0].id]["importance"]);
  const std::string html = slurp(out / "compare.html");
  const auto fig = html.find("<figure id=\"importance-0\" data-model=\"" + models[0].id + "\">");
  REQUIRE(fig != std::string::npos);
  const auto end = html.find("</figure>", fig);
  CHECK(html.find("<svg", fig) < end);
  CHECK(count(html, "<svg") == 3);
  // The 15 largest, in order, as the chart's labels; not the 16th.
  std::size_t at = fig;
  for (std::size_t i = 0; i < pipectl::report::kImportanceBars; ++i) {
    const std::string label = ">f_" + std::to_string(i) + (i == 3 ? "=a " : "<");
    const auto p = html.find(label, at);
    CHECK_MESSAGE((p != std::string::npos && p < end), label);
    if (p != std::string::npos) at = p;
  }
  CHECK(html.find(">f_15<", fig) == std::string::npos);
  CHECK(slurp(out / "compare.md").find("![" + models[0].id + "](importance-0.svg)") != std::string::npos);
}
