// pipectl predict RUN_DIR --input FILE|CONNINFO: apply a fitted run to new sessions.
//
// The run folder is the bundle: its resolved pipeline.toml, run.json (plugin
// names and versions) and stages/<id>/state.json. The source stage reads
// FILE (a postgres source: the server CONNINFO names) with the run's own
// plugin; every stage up to the model is applied with its saved state
// (Mode::Apply, nothing refitted), in chunks of sessions when the source
// can read key ranges from a SQLite file, so memory stays bounded.
#include "commands.hpp"
#include "explain.hpp"

#include <pipectl/config.hpp>
#include <pipectl/features.hpp>
#include <pipectl/run_folder.hpp>
#include <pipectl/runner.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace pipectl::cli {

namespace {

int major_of(const std::string& v) { return std::atoi(v.c_str()); }

struct Prediction {
  std::int64_t sessionid = -1;
  std::vector<double> proba;  // binary: {p(positive)}; multiclass: one per class
  std::int32_t pred = 0;
  std::string truth;  // "" when unlabelled
  std::size_t row = 0;  // in the chunk's table (for --explain)
};

// The sub-pipeline that leads to `model` (its ancestors and itself), in
// declaration order, with inputs re-indexed.
ResolvedPipeline upstream_of(const ResolvedPipeline& p, std::size_t model) {
  std::set<std::size_t> keep{model};
  std::vector<std::size_t> todo{model};
  while (!todo.empty()) {
    auto v = todo.back();
    todo.pop_back();
    for (auto u : p.stages[v].inputs)
      if (keep.insert(u).second) todo.push_back(u);
  }
  ResolvedPipeline q;
  q.name = p.name + "-predict";
  q.description = p.description;
  q.seed = p.seed;
  q.display_file = p.display_file;
  q.base_dir = p.base_dir;
  std::map<std::size_t, std::size_t> index;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < p.stages.size(); ++i)
    if (keep.count(i)) {
      index[i] = q.stages.size();
      q.stages.push_back(p.stages[i]);
      names.push_back(p.stages[i].id);
    }
  StageGraph g(names);
  for (auto& s : q.stages) {
    for (auto& u : s.inputs) u = index.at(u);
    for (auto u : s.inputs) g.add_edge(u, static_cast<std::size_t>(&s - &q.stages[0]));
  }
  q.graph = g;
  q.order = g.topo_order();
  return q;
}

// --- Every input session accounted for -------------------------------------
// A session the source read but the model did not predict gets a row with an
// empty probability and a status naming why: the reason a stage gave for it
// in stages/<id>/dropped_rows.tsv (the cleaner writes one in Mode::Apply:
// `<row index in its input>\t<reason>`, e.g. `null.srcport`), else that it
// is not in the model's output.

struct Dropped {
  std::int64_t sessionid;
  std::string status;  ///< "dropped: null srcport"
};

struct Accounting {
  std::int64_t predicted = 0;
  std::map<std::string, std::int64_t> dropped;  ///< status -> sessions

  /// "predict: 10172 sessions: 10169 predicted, 3 dropped (null srcport: 2, negative bytes: 1)"
  std::string summary() const {
    std::int64_t d = 0;
    std::string why;
    for (const auto& [status, n] : dropped) {
      d += n;
      why += (why.empty() ? "" : ", ") + status.substr(status.find(": ") + 2) + ": " + std::to_string(n);
    }
    std::string s = "predict: " + std::to_string(predicted + d) + " sessions: " + std::to_string(predicted) +
                    " predicted, " + std::to_string(d) + " dropped";
    return d ? s + " (" + why + ")" : s;
  }
};

std::vector<Dropped> dropped_sessions(const ResolvedPipeline& piece, const RunResult& r, const fs::path& run_out,
                                      const std::string& src_id, const std::string& key,
                                      const std::vector<std::int64_t>& predicted_sorted) {
  std::unordered_map<std::int64_t, std::string> why;
  for (const auto& s : piece.stages) {
    const fs::path f = run_out / "stages" / s.id / "dropped_rows.tsv";
    if (s.inputs.empty() || !fs::exists(f)) continue;
    const auto in = r.outputs.find(piece.stages[s.inputs[0]].id);
    if (in == r.outputs.end() || !in->second) continue;
    ColumnPtr k = in->second->find(key);
    if (!k || !k->is_numeric()) continue;
    std::ifstream is(f);
    std::string line;
    while (std::getline(is, line)) {
      const auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      const auto row = static_cast<std::size_t>(std::stoull(line.substr(0, tab)));
      if (row >= k->rows() || k->is_null(row)) continue;
      std::string reason = line.substr(tab + 1);
      std::replace(reason.begin(), reason.end(), '.', ' ');
      why.emplace(static_cast<std::int64_t>(k->number(row)), "dropped: " + reason);
    }
  }
  std::vector<Dropped> out;
  const auto src = r.outputs.find(src_id);
  if (src == r.outputs.end() || !src->second) return out;
  ColumnPtr sk = src->second->find(key);
  if (!sk || !sk->is_numeric()) return out;
  for (std::size_t i = 0; i < sk->rows(); ++i) {
    if (sk->is_null(i)) continue;
    const auto id = static_cast<std::int64_t>(sk->number(i));
    if (std::binary_search(predicted_sorted.begin(), predicted_sorted.end(), id)) continue;
    const auto w = why.find(id);
    out.push_back({id, w != why.end() ? w->second : "dropped: not in the output of model stage"});
  }
  std::sort(out.begin(), out.end(), [](const Dropped& a, const Dropped& b) { return a.sessionid < b.sessionid; });
  return out;
}

}  // namespace

int cmd_predict(const Args& args) {
  Common c;
  std::string run_dir, input, out, by = "session", model, aggregate = "mean_logodds", chunk_key = "sessionid";
  std::string explain, report, group_column;
  std::vector<std::string> source_params;
  std::int64_t chunk_rows = 1000000;
  double threshold = 0.5;
  bool quiet = false;
  po::options_description d("predict options");
  d.add_options()("run", po::value<std::string>(&run_dir), "the fitted run folder")(
      "input", po::value<std::string>(&input),
      "new sessions: a file for the run's source plugin (its `path`), or a PostgreSQL connection string for the "
      "postgres source (its `conninfo`)")(
      "source-param", po::value<std::vector<std::string>>(&source_params)->composing(),
      "another source parameter, KEY=VALUE (repeatable)")(
      "out", po::value<std::string>(&out), "write the CSV here (default: standard output)")(
      "by", po::value<std::string>(&by),
      "session (one row per session) or device (one row per device: the device the source says each session is "
      "of, else the rows' column of role group)")(
      "group", po::value<std::string>(&group_column),
      "--by device: the rows' column naming each row's device, when they have several of role group")(
      "aggregate", po::value<std::string>(&aggregate),
      "--by device: mean_logodds (default; p = sigmoid of the mean log-odds) or vote (share of sessions predicted positive)")(
      "threshold", po::value<double>(&threshold), "--by device: verdict when p >= threshold (default: the threshold the run's evaluator chose on its validation "
      "devices, else 0.5)")(
      "model", po::value<std::string>(&model), "the trainer stage to use when the run has several")(
      "chunk-rows", po::value<std::int64_t>(&chunk_rows),
      "sessions per chunk when the source reads key ranges (default 1000000; 0 = all at once)")(
      "quiet,q", po::bool_switch(&quiet), "no progress output")(
      "explain", po::value<std::string>(&explain),
      "K: reason_1..reason_K, the K features contributing most to each row's log-odds; all: contrib.<feature> "
      "columns and contrib.bias (models whose plugin declares `explains`: xgboost, liblinear)")(
      "report", po::value<std::string>(&report),
      "--by device: also write this self-contained HTML page (devices by probability, with their top reasons)");
  d.add_options()("allow-insecure-plugins", po::bool_switch(&c.allow_insecure), "load plugins from insecure folders");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm,
             "usage: pipectl predict RUN_DIR --input FILE|CONNINFO [--source-param K=V]... [--out predictions.csv] "
             "[--by session|device] [--aggregate mean_logodds|vote] [--model STAGE] [--explain K|all] "
             "[--report devices.html]",
             "run", 1, &rc))
    return rc;
  if (by != "session" && by != "device") {
    std::fprintf(stderr, "pipectl: --by must be session or device\n");
    return code(ExitCode::Usage);
  }
  if (aggregate != "mean_logodds" && aggregate != "vote") {
    std::fprintf(stderr, "pipectl: --aggregate must be mean_logodds or vote\n");
    return code(ExitCode::Usage);
  }
  if (!report.empty() && by != "device") {
    std::fprintf(stderr, "pipectl: --report writes the devices page: it needs --by device\n");
    return code(ExitCode::Usage);
  }
  if (input.empty()) {
    std::fprintf(stderr, "pipectl: --input FILE (or CONNINFO for a postgres source) is required\n");
    return code(ExitCode::Usage);
  }
  try {
    const fs::path run = run_dir;
    if (!fs::exists(run / "pipeline.toml") || !fs::exists(run / "run.json"))
      throw Error("\"" + run_dir + "\" is not a finished pipectl run folder (no pipeline.toml and run.json)",
                  ExitCode::Usage);
    json info;
    try {
      info = json::parse(read_file(run / "run.json"));
    } catch (const json::exception& e) {
      throw Error("\"" + run_dir + "\" is not a usable run folder: its run.json is damaged (" + e.what() + ")",
                  ExitCode::Usage);
    }
    if (!info.is_object() || (info.contains("plugins") && !info["plugins"].is_object()))
      throw Error("\"" + run_dir + "\" is not a usable run folder: its run.json is damaged", ExitCode::Usage);
    if (info.value("status", "") != "ok") throw Error("run \"" + run_dir + "\" did not finish", ExitCode::Usage);

    // The resolved pipeline, with the source pointed at the new input.
    ReadOptions ro;
    auto decl = read_pipeline_file(run / "pipeline.toml", ro);
    if (!decl.syntax_ok) throw ConfigError(decl.diagnostics);  // a damaged bundle: say where
    std::vector<std::size_t> sources;
    for (std::size_t i = 0; i < decl.stages.size(); ++i)
      if (decl.stages[i].inputs.empty()) sources.push_back(i);
    if (sources.size() != 1)
      throw Error("predict needs a run with exactly one source stage, this one has " + std::to_string(sources.size()));
    const std::string src_id = decl.stages[sources[0]].id;

    PluginRegistry reg;
    reg.set_allow_insecure(c.allow_insecure);
    reg.load_default(decl.plugin_path);
    // --input replaces the parameter the source declares takes its data: a
    // file (a path parameter), or e.g. a server's connection string.
    const auto* src_plugin = reg.find(decl.stages[sources[0]].plugin);
    const std::string input_param =
        src_plugin && !src_plugin->spec.input_param.empty() ? src_plugin->spec.input_param : "path";
    const ParamSpec* input_spec = src_plugin ? src_plugin->spec.find(input_param) : nullptr;
    const bool input_is_file = !input_spec || input_spec->type == ParamType::Path;
    if (!input_is_file) {
      ro.overrides.push_back(Override::parse(src_id + "." + input_param + "=" + input));
    } else {
      if (!fs::exists(input)) throw DataError("input \"" + input + "\" not found");
      ro.overrides.push_back(Override::parse(src_id + "." + input_param + "=" + fs::absolute(input).string()));
    }
    for (const auto& sp : source_params) ro.overrides.push_back(Override::parse(src_id + "." + sp));
    decl = read_pipeline_file(run / "pipeline.toml", ro);
    // The bundle's plugins must be installed, in a compatible version.
    for (auto it = info["plugins"].begin(); it != info["plugins"].end(); ++it) {
      const auto* p = reg.find(it.key());
      const std::string v = it.value().is_object() ? it.value().value("version", "") : "";
      if (!p)
        throw PluginLoadError("the run was made with plugin \"" + it.key() + "\" " + v + ", which is not installed");
      if (major_of(p->version) != major_of(v))
        throw PluginLoadError("the run was made with plugin \"" + it.key() + "\" " + v + "; the installed " +
                              p->version + " is incompatible (another major version)");
    }
    // Predicting keeps sessions without a label: they are the point.
    const std::map<std::string, std::string> apply_defaults = {{"labelled_only", "false"}, {"keep_unlabelled", "true"}};
    for (const auto& s : decl.stages) {
      const auto* p = reg.find(s.plugin);
      if (!p) continue;
      for (const auto& [k, v] : apply_defaults) {
        bool given = false;
        for (const auto& sp : source_params) given = given || sp.rfind(k + "=", 0) == 0;
        if (p->spec.find(k) && !given) ro.overrides.push_back(Override::parse(s.id + "." + k + "=" + v));
      }
    }
    decl = read_pipeline_file(run / "pipeline.toml", ro);
    auto full = resolve_pipeline(decl, reg);

    std::vector<std::size_t> trainers;
    for (std::size_t i = 0; i < full.stages.size(); ++i)
      if (full.stages[i].plugin->kind == StageKind::Trainer) trainers.push_back(i);
    std::size_t model_ix = 0;
    if (!model.empty()) {
      model_ix = full.index_of(model);
      if (full.stages[model_ix].plugin->kind != StageKind::Trainer)
        throw Error("stage \"" + model + "\" is not a trainer", ExitCode::Usage);
    } else if (trainers.size() == 1) {
      model_ix = trainers[0];
    } else {
      std::string ids;
      for (auto t : trainers) ids += (ids.empty() ? "" : ", ") + full.stages[t].id;
      throw Error(trainers.empty() ? "the run has no trainer stage"
                                   : "the run has several models; choose one with --model (" + ids + ")",
                  ExitCode::Usage);
    }
    const std::string model_id = full.stages[model_ix].id;
    auto sub = upstream_of(full, model_ix);
    // --by device: the verdict threshold the run's evaluator chose on its validation devices (metrics.json).
    if (by == "device" && !vm.count("threshold")) {
      std::string from;
      try {
        const json metrics = json::parse(read_file(run / "metrics.json"));
        for (const auto& s : full.stages) {
          if (s.plugin->kind != StageKind::Evaluator || !metrics.contains(s.id)) continue;
          if (std::find(s.inputs.begin(), s.inputs.end(), model_ix) == s.inputs.end()) continue;
          const json& m = metrics[s.id];
          const json* dt = nullptr;
          if (m.contains("device_threshold")) dt = &m["device_threshold"];
          else if (m.contains(model_id) && m[model_id].is_object() && m[model_id].contains("device_threshold"))
            dt = &m[model_id]["device_threshold"];
          if (dt && dt->is_number()) {
            threshold = dt->get<double>();
            from = s.id;
            break;
          }
        }
      } catch (const std::exception&) {
        from.clear();  // no readable metrics.json: the default threshold
      }
      if (!quiet)
        std::fprintf(stderr, from.empty() ? "predict: device verdicts at p >= %.6g (the run has no device threshold)\n"
                                          : "predict: device verdicts at p >= %.6g, the threshold stage \"%s\" chose on "
                                            "the validation devices (--threshold overrides it)\n",
                     threshold, from.c_str());
    }
    // --explain: the model must say it can, before any data is read.
    std::unique_ptr<PredictExplainer> ex;
    const auto& model_stage = full.stages[model_ix];
    if (!explain.empty() || (!report.empty() && model_stage.plugin->spec.explains))
      ex = std::make_unique<PredictExplainer>(explain.empty() ? "3" : explain, reg, model_stage, run);
    const std::string model_input = full.stages.at(model_stage.inputs.at(0)).id;

    // Chunks of sessions when the source reads key ranges.
    const auto& src = sub.stages[sub.index_of(src_id)];
    const bool chunked = chunk_rows > 0 && src.plugin->spec.find("key_min") && src.plugin->spec.find("key_max");
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    if (chunked && src.plugin->spec.key_ranges) {
      // The source says how its data divides into key ranges.
      try {
        ranges = src.plugin->spec.key_ranges(src.params, chunk_rows);
      } catch (const std::exception&) {
        ranges.clear();  // one chunk, and the source stage says what is wrong
      }
    }
    if (ranges.empty()) ranges.emplace_back(0, -1);  // one chunk: everything

    Logger log(quiet ? LogLevel::Warn : LogLevel::Info);
    install_signal_handlers();
    std::random_device rd;
    const fs::path scratch = fs::temp_directory_path() / ("pipectl-predict-" + std::to_string(rd()));
    std::vector<std::string> classes;
    bool binary = true;

    // --by device: each session's device. The source may know it (its
    // declared group_details: a NetCollector database's devices); else the
    // model's rows name it in their column of role group (the schema the run
    // recorded), described by their columns of role meta.
    struct Dev {
      std::vector<std::string> desc;  // what describes the device, in dev_header's order
      std::int64_t sessions = 0;
      std::vector<double> sum;  // log-odds (binary) or probabilities (multiclass)
      std::int64_t votes = 0;
    };
    std::vector<std::string> dev_header;
    std::vector<std::pair<std::int64_t, std::int64_t>> sess_dev;  // sorted by sessionid (source's devices)
    std::map<std::int64_t, Dev> devs;
    std::map<std::string, std::int64_t> dev_ids;  // the rows' group values (no source's devices)
    std::vector<std::string> meta_cols;
    if (by == "device") {
      Table det;
      if (src.plugin->spec.group_details) {
        try {
          det = src.plugin->spec.group_details(src.params);
        } catch (const std::exception&) {
          det = Table();  // the source does not say: the rows' own group column
        }
      }
      if (det.num_columns() >= 2 && det.columns()[0]->type == DType::Int64 && det.columns()[1]->type == DType::Int64) {
        const Column& k = *det.columns()[0];
        const Column& g = *det.columns()[1];
        for (std::size_t c = 2; c < det.num_columns(); ++c) dev_header.push_back(det.columns()[c]->name);
        for (std::size_t i = 0; i < det.rows(); ++i) {
          sess_dev.emplace_back(k.i64[i], g.i64[i]);
          auto& dv = devs[g.i64[i]];
          if (dv.desc.empty())
            for (std::size_t c = 2; c < det.num_columns(); ++c) {
              const Column& col = *det.columns()[c];
              dv.desc.push_back(col.type == DType::Categorical ? col.label(i)
                                : col.is_null(i)                ? std::string()
                                                                : fmt17(col.number(i)));
            }
        }
        std::sort(sess_dev.begin(), sess_dev.end());
      } else {
        Schema rows;
        try {
          const json rj = json::parse(read_file(run / "run.json"));
          for (const auto& st : rj.at("stages"))
            if (st.value("id", "") == model_id && st.contains("schema")) rows = Schema::from_json(st["schema"]);
        } catch (const std::exception&) {
          rows = Schema();
        }
        std::vector<std::string> groups;
        for (const auto& cs : rows.columns) {
          if (cs.role == ColumnRole::Group) groups.push_back(cs.name);
          if (cs.role == ColumnRole::Meta) meta_cols.push_back(cs.name);
        }
        std::string list;
        for (const auto& g : groups) list += (list.empty() ? "\"" : ", \"") + g + "\"";
        if (!group_column.empty()) {
          if (!rows.find(group_column))
            throw Error("--group \"" + group_column + "\" is not a column of model \"" + model_id + "\"'s rows",
                        ExitCode::Usage);
          groups = {group_column};
        } else if (groups.empty()) {
          throw Error("--by device needs each session's device: the source \"" + src_id +
                          "\" does not say, and model \"" + model_id +
                          "\"'s rows have no column of role group (a splitter's `group`); name one with --group "
                          "(predict --by session)",
                      ExitCode::Usage);
        } else if (groups.size() > 1) {
          throw Error("model \"" + model_id + "\"'s rows have several columns of role group (" + list +
                          "): choose the device's with --group",
                      ExitCode::Usage);
        }
        group_column = groups[0];
        meta_cols.erase(std::remove(meta_cols.begin(), meta_cols.end(), group_column), meta_cols.end());
        dev_header.push_back(group_column);
        for (const auto& m : meta_cols) dev_header.push_back(m);
      }
    }
    // The device of row `row` (session `sessionid`) of the model's output `t`; -1 = none.
    auto device_of = [&](const Table& t, std::size_t row, std::int64_t sessionid) -> std::int64_t {
      if (group_column.empty()) {
        auto it = std::lower_bound(sess_dev.begin(), sess_dev.end(), std::make_pair(sessionid, std::int64_t{-1}));
        return it == sess_dev.end() || it->first != sessionid ? -1 : it->second;
      }
      auto text = [&](const std::string& name) -> std::optional<std::string> {
        ColumnPtr c = t.find(name);
        if (!c || c->is_null(row)) return std::nullopt;
        if (c->type == DType::Categorical) return c->label(row);
        if (c->type == DType::Int64) return std::to_string(c->i64[row]);
        if (c->type == DType::Float64) return fmt17(c->f64[row]);
        return std::nullopt;
      };
      const auto g = text(group_column);
      if (!g) return -1;
      auto [it, fresh] = dev_ids.emplace(*g, static_cast<std::int64_t>(dev_ids.size()));
      if (fresh) {
        auto& dv = devs[it->second];
        dv.desc.push_back(*g);
        for (const auto& m : meta_cols) dv.desc.push_back(text(m).value_or(""));
      }
      return it->second;
    };

    // Output is written chunk by chunk (chunks come in key order), so memory
    // stays bounded by one chunk; a file appears only when complete.
    const fs::path tmp_out = out.empty() ? fs::path() : fs::path(out + ".tmp");
    std::FILE* of = out.empty() ? stdout : std::fopen(tmp_out.c_str(), "wb");
    if (!of) throw Error("cannot write \"" + tmp_out.string() + "\"");
    auto discard = [&] {
      if (!out.empty()) {
        std::fclose(of);
        std::error_code ec;
        fs::remove(tmp_out, ec);
      }
    };
    std::int64_t written = 0;
    bool header = false;
    Accounting accounting;
    // The explanation's columns (--explain) follow status; they are known once
    // the model explained its first chunk, and a dropped session leaves them empty.
    std::string session_header, dropped_fill;
    auto session_header_text = [&]() -> const char* {
      const std::string explain_header = ex ? ex->session_header() : "";
      session_header = "sessionid,probability,predicted,label,status" + explain_header + "\n";
      dropped_fill.assign(static_cast<std::size_t>(std::count(explain_header.begin(), explain_header.end(), ',')), ',');
      return session_header.c_str();
    };
    auto write_dropped = [&](const Dropped& d) {
      const std::string line = std::to_string(d.sessionid) + ",,,," + csv_field(d.status) + dropped_fill + "\n";
      std::fwrite(line.data(), 1, line.size(), of);
    };
    std::int64_t chunk_no = 0;
    try {
      for (const auto& [lo, hi] : ranges) {
        if (g_interrupt) throw Interrupted("interrupted by a signal");
        ResolvedPipeline piece = sub;
        if (hi >= lo) {
          auto& s = piece.stages[piece.index_of(src_id)];
          json v = s.params.all();
          v["key_min"] = lo;
          v["key_max"] = hi;
          s.params = Params(v);
        }
        RunOptions opt;
        opt.mode = Mode::Apply;
        opt.state_from = run;
        opt.out = scratch / ("chunk-" + std::to_string(chunk_no++));
        opt.keep_outputs = true;
        opt.print_reports = false;
        opt.use_cache = false;
        opt.interrupt = &g_interrupt;
        opt.jobs = 1;
        Logger chunk_log(LogLevel::Warn);
        RunResult r = run_pipeline(piece, reg, opt, ranges.size() == 1 ? log : chunk_log);
        const Table& t = *r.outputs.at(model_id);
        std::vector<Dropped> dropped;
        {
          std::vector<std::int64_t> ids;
          if (ColumnPtr k = t.find(chunk_key); k && k->is_numeric())
            for (std::size_t i = 0; i < k->rows(); ++i)
              if (!k->is_null(i)) ids.push_back(static_cast<std::int64_t>(k->number(i)));
          std::sort(ids.begin(), ids.end());
          dropped = dropped_sessions(piece, r, opt.out.value(), src_id, chunk_key, ids);
          for (const auto& d : dropped) ++accounting.dropped[d.status];
          std::error_code ec;
          fs::remove_all(opt.out.value(), ec);
        }
        if (t.rows() == 0 && dropped.empty()) continue;
        if (t.rows() == 0) {  // every session of the chunk dropped
          if (by == "session") {
            if (!header) std::fputs(session_header_text(), of);
            header = true;
            for (const auto& d : dropped) write_dropped(d);
            written += static_cast<std::int64_t>(dropped.size());
          }
          continue;
        }
        const Column& pl = t.at("pred_label");
        classes = *pl.dictionary;
        binary = classes.size() <= 2;
        const auto pcols = proba_columns(classes);
        std::vector<const Column*> pc;
        for (const auto& n : pcols) pc.push_back(&t.at(n));
        const std::string label = t.meta("label", full.stages[model_ix].params.has("label")
                                                      ? full.stages[model_ix].params.str("label") : "");
        ColumnPtr truth = label.empty() ? nullptr : t.find(label);
        std::vector<std::string> truth_names;
        if (truth) truth_names = label_classes(t, label);
        ColumnPtr sid = t.find(chunk_key);
        std::vector<Prediction> preds;
        preds.reserve(t.rows());
        for (std::size_t i = 0; i < t.rows(); ++i) {
          Prediction p;
          p.sessionid = sid && !sid->is_null(i) ? static_cast<std::int64_t>(sid->number(i))
                                                : written + static_cast<std::int64_t>(i);
          for (auto* col : pc) p.proba.push_back(col->f64[i]);
          p.pred = pl.codes[i];
          p.row = i;
          if (truth && !truth->is_null(i)) {
            if (truth->type == DType::Categorical && truth->codes[i] >= 0) p.truth = truth_names[truth->codes[i]];
            else if (truth->type == DType::Int64) p.truth = truth_names.at(static_cast<std::size_t>(truth->i64[i]));
          }
          preds.push_back(std::move(p));
        }
        if (ex) {
          std::vector<std::int32_t> codes(pl.codes.begin(), pl.codes.end());
          std::vector<std::int64_t> dev_of;
          if (by == "device")
            for (const auto& p : preds) dev_of.push_back(device_of(t, p.row, p.sessionid));
          ex->chunk(*r.outputs.at(model_input), codes, dev_of);
        }
        std::sort(preds.begin(), preds.end(),
                  [](const Prediction& a, const Prediction& b) { return a.sessionid < b.sessionid; });
        accounting.predicted += static_cast<std::int64_t>(preds.size());
        if (by == "session") {
          if (!header) std::fputs(session_header_text(), of);
          header = true;
          std::size_t d = 0;
          for (const auto& p : preds) {
            for (; d < dropped.size() && dropped[d].sessionid < p.sessionid; ++d) write_dropped(dropped[d]);
            const double prob = binary ? p.proba[0] : p.proba[static_cast<std::size_t>(p.pred)];
            const std::string line = std::to_string(p.sessionid) + "," + fmt17(prob) + "," +
                                     csv_field(classes[static_cast<std::size_t>(p.pred)]) + "," + csv_field(p.truth) +
                                     ",ok" + (ex ? ex->session_suffix(p.row) : "") + "\n";
            std::fwrite(line.data(), 1, line.size(), of);
          }
          for (; d < dropped.size(); ++d) write_dropped(dropped[d]);
          written += static_cast<std::int64_t>(dropped.size());
        } else {
          const std::size_t k = binary ? 1 : classes.size();
          for (const auto& p : preds) {
            const std::int64_t dv = device_of(t, p.row, p.sessionid);
            if (dv < 0) continue;
            auto& d = devs[dv];
            if (d.sum.empty()) d.sum.assign(k, 0.0);
            ++d.sessions;
            if (binary) {
              const double pr = std::min(1 - 1e-7, std::max(1e-7, p.proba[0]));
              d.sum[0] += std::log(pr / (1 - pr));
              d.votes += pr >= threshold;
            } else {
              for (std::size_t j = 0; j < k; ++j) d.sum[j] += p.proba[j];
            }
          }
        }
        written += static_cast<std::int64_t>(preds.size());
        if (!quiet && ranges.size() > 1)
          log.log(LogLevel::Info, "", "chunk " + std::to_string(chunk_no) + "/" + std::to_string(ranges.size()) + ": " +
                                          std::to_string(t.rows()) + " sessions");
      }
      std::size_t device_rows = 0;
      if (by == "device") {
        struct Row {
          const Dev* d;
          double p;
          std::string verdict;
          std::int64_t id = -1;
          std::size_t group = 0;
        };
        std::vector<Row> rows;
        for (const auto& [id, d] : devs) {
          if (d.sessions == 0) continue;
          Row r{&d, 0, "", id, 0};
          if (binary) {
            r.p = aggregate == "vote" ? double(d.votes) / d.sessions : 1 / (1 + std::exp(-d.sum[0] / d.sessions));
            r.verdict = classes.size() == 2 ? classes[r.p >= threshold ? 1 : 0] : (r.p >= threshold ? "1" : "0");
          } else {
            std::size_t best = 0;
            for (std::size_t j = 1; j < d.sum.size(); ++j)
              if (d.sum[j] > d.sum[best]) best = j;
            r.p = d.sum[best] / d.sessions;
            r.verdict = classes[best];
            r.group = best;
          }
          rows.push_back(r);
        }
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
          if (a.p != b.p) return a.p > b.p;
          return a.d->desc < b.d->desc;
        });
        std::string csv;
        for (const auto& h : dev_header) csv += csv_field(h) + ",";
        csv += std::string("sessions,") + (binary ? "p_positive" : "p_verdict") + ",verdict" +
               (ex ? ex->device_header() : "") + "\n";
        std::vector<DeviceLine> lines;
        for (const auto& r : rows) {
          for (std::size_t c = 0; c < dev_header.size(); ++c)
            csv += csv_field(c < r.d->desc.size() ? r.d->desc[c] : std::string()) + ",";
          csv += std::to_string(r.d->sessions) + "," + fmt17(r.p) + "," + csv_field(r.verdict) +
                 (ex ? ex->device_suffix(r.id, r.group) : "") + "\n";
        }
        if (!report.empty())
          for (const auto& r : rows) {
            DeviceLine l{r.d->desc, r.verdict, r.d->sessions, r.p, {}};
            if (ex) {
              l.reasons = ex->device_reasons(r.id, r.group);
              if (l.reasons.size() > static_cast<std::size_t>(ex->all() ? 5 : ex->k()))
                l.reasons.resize(static_cast<std::size_t>(ex->all() ? 5 : ex->k()));
            }
            lines.push_back(std::move(l));
          }
        std::fwrite(csv.data(), 1, csv.size(), of);
        device_rows = rows.size();
        if (!report.empty()) {
          const std::string note =
              ex ? "" : "model \"" + model_id + "\" cannot explain its predictions: no reasons are shown";
          write_file_atomic(report, devices_html(run_dir, model_id, input, dev_header, lines, binary, note));
          if (!quiet) std::fprintf(stderr, "wrote %zu devices to %s\n", lines.size(), report.c_str());
        }
      } else if (!header) {
        std::fputs(session_header_text(), of);
      }
      if (std::fflush(of) != 0 || std::ferror(of)) throw Error("writing the predictions failed");
      if (!quiet || !accounting.dropped.empty()) std::fprintf(stderr, "%s\n", accounting.summary().c_str());
      if (!out.empty()) {
        std::fclose(of);
        fs::rename(tmp_out, out);
        if (!quiet)
          std::fprintf(stderr, "wrote %lld %s to %s\n",
                       static_cast<long long>(by == "session" ? written : static_cast<std::int64_t>(device_rows)),
                       by == "session" ? "sessions" : "device verdicts", out.c_str());
      }
    } catch (...) {
      discard();
      // The runner said where the failed chunk's folder is kept: keep it.
      std::error_code ec;
      bool kept = false;
      for (auto it = fs::directory_iterator(scratch, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        kept = kept || it->path().extension() == ".failed";
      if (kept) log.log(LogLevel::Warn, "", "the failed run folder is kept in " + scratch.string());
      else fs::remove_all(scratch, ec);
      throw;
    }
    {
      std::error_code ec;
      fs::remove_all(scratch, ec);
    }
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

}  // namespace pipectl::cli
