#include <pipectl/pipeline.hpp>

#include <boost/uuid/detail/sha1.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace pipectl {

std::string sha1_hex(const std::string& bytes) {
  boost::uuids::detail::sha1 h;
  h.process_bytes(bytes.data(), bytes.size());
  unsigned int d[5];
  h.get_digest(d);
  char buf[41];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x%08x", d[0], d[1], d[2], d[3], d[4]);
  return buf;
}

std::uint64_t stage_seed(std::int64_t pipeline_seed, const std::string& stage_id) {
  // FNV-1a over the id, mixed with the seed through splitmix64.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : stage_id) h = (h ^ c) * 1099511628211ull;
  std::uint64_t z = h ^ (static_cast<std::uint64_t>(pipeline_seed) + 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::size_t ResolvedPipeline::index_of(const std::string& id) const {
  for (std::size_t i = 0; i < stages.size(); ++i)
    if (stages[i].id == id) return i;
  throw Error("no stage \"" + id + "\"");
}

json ResolvedPipeline::to_json() const {
  json j;
  j["pipeline"] = {{"name", name}, {"description", description}, {"seed", seed}};
  j["stage"] = json::array();
  for (const auto& s : stages) {
    json st = json::object();
    st["id"] = s.id;
    st["plugin"] = s.plugin->name;
    st["plugin_version"] = s.plugin->version;
    json in = json::array();
    for (auto i : s.inputs) in.push_back(stages[i].id);
    st["inputs"] = in;
    st["params"] = s.params.all();
    j["stage"].push_back(st);
  }
  return j;
}

static void json_to_toml(const json& j, toml::table& t, const std::string& key);

static toml::array json_array_to_toml(const json& a) {
  toml::array arr;
  for (const auto& e : a) {
    if (e.is_string()) arr.push_back(e.get<std::string>());
    else if (e.is_boolean()) arr.push_back(e.get<bool>());
    else if (e.is_number_integer()) arr.push_back(e.get<std::int64_t>());
    else if (e.is_number()) arr.push_back(e.get<double>());
    else if (e.is_array()) arr.push_back(json_array_to_toml(e));
    else if (e.is_object()) {
      toml::table sub;
      for (auto it = e.begin(); it != e.end(); ++it) json_to_toml(it.value(), sub, it.key());
      sub.is_inline(true);
      arr.push_back(std::move(sub));
    }
  }
  return arr;
}

static void json_to_toml(const json& j, toml::table& t, const std::string& key) {
  if (j.is_null()) return;
  if (j.is_string()) t.insert_or_assign(key, j.get<std::string>());
  else if (j.is_boolean()) t.insert_or_assign(key, j.get<bool>());
  else if (j.is_number_integer()) t.insert_or_assign(key, j.get<std::int64_t>());
  else if (j.is_number()) t.insert_or_assign(key, j.get<double>());
  else if (j.is_array()) t.insert_or_assign(key, json_array_to_toml(j));
  else if (j.is_object()) {
    toml::table sub;
    for (auto it = j.begin(); it != j.end(); ++it) json_to_toml(it.value(), sub, it.key());
    sub.is_inline(true);  // stays inside its [[stage]]
    t.insert_or_assign(key, std::move(sub));
  }
}

static std::string escape_dollars(const std::string& s) {
  std::string o;
  for (char c : s) {
    o += c;
    if (c == '$') o += '$';
  }
  return o;
}

static json escape_json_strings(const json& j) {
  if (j.is_string()) return escape_dollars(j.get<std::string>());
  if (j.is_array()) {
    json a = json::array();
    for (const auto& e : j) a.push_back(escape_json_strings(e));
    return a;
  }
  if (j.is_object()) {
    json o = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) o[it.key()] = escape_json_strings(it.value());
    return o;
  }
  return j;
}

static bool has_line_break(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find_first_of("\r\n") != std::string::npos;
  if (j.is_array() || j.is_object())
    for (const auto& e : j)
      if (has_line_break(e)) return true;
  return false;
}

std::string ResolvedPipeline::to_toml() const {
  // toml++ prints a string holding a line break as a multi-line string, and
  // gets it wrong when the text holds three quotes or starts with a line
  // break (the file no longer parses, or loses that line break): then every
  // string is printed on one line, with escapes.
  bool breaks = has_line_break(name) || has_line_break(description);
  for (const auto& s : stages) breaks = breaks || has_line_break(s.params.all());
  const auto flags = breaks ? toml::toml_formatter::default_flags & ~toml::format_flags::allow_literal_strings &
                                  ~toml::format_flags::allow_multi_line_strings
                            : toml::toml_formatter::default_flags;
  std::ostringstream out;
  out << "# Resolved pipeline: environment expanded, --set applied, defaults filled.\n";
  toml::table head;
  toml::table p;
  p.insert("name", name);
  if (!description.empty()) p.insert("description", escape_dollars(description));
  p.insert("seed", seed);
  head.insert("pipeline", std::move(p));
  out << toml::toml_formatter{head, flags} << "\n";
  for (const auto& s : stages) {
    toml::table st;
    st.insert("id", s.id);
    st.insert("plugin", s.plugin->name);
    toml::array in;
    for (auto i : s.inputs) in.push_back(stages[i].id);
    st.insert("inputs", std::move(in));
    const json& ps = s.params.all();
    // Keep the spec's declaration order.
    for (const auto& spec : s.plugin->spec.params)
      if (ps.contains(spec.name)) json_to_toml(escape_json_strings(ps[spec.name]), st, spec.name);
    out << "\n[[stage]]\n";
    // toml++ prints tables in key order; emit id/plugin/inputs first by hand.
    out << "id = " << toml::value<std::string>(s.id) << "\n";
    out << "plugin = " << toml::value<std::string>(s.plugin->name) << "\n";
    toml::table rest;
    for (auto&& [k, v] : st)
      if (k != "id" && k != "plugin") rest.insert(k, v);
    out << toml::toml_formatter{rest, flags} << "\n";
  }
  return out.str();
}

std::string ResolvedPipeline::hash() const { return sha1_hex(to_json().dump()); }

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}


}  // namespace

ResolvedPipeline resolve_pipeline(const PipelineDecl& decl, const PluginRegistry& registry) {
  std::vector<Diagnostic> diags = decl.diagnostics;
  auto err = [&](const SourcePos& p, std::string m) { diags.push_back({p, std::move(m)}); };
  std::optional<PluginLoadError> load_error;

  ResolvedPipeline rp;
  rp.name = decl.name;
  rp.description = decl.description;
  rp.seed = decl.seed;
  rp.display_file = decl.display_file;
  rp.base_dir = decl.base_dir;

  if (!decl.syntax_ok) throw ConfigError(diags);

  // Ids.
  std::map<std::string, std::size_t> first;
  std::vector<bool> usable(decl.stages.size(), true);
  for (std::size_t i = 0; i < decl.stages.size(); ++i) {
    const auto& s = decl.stages[i];
    if (s.id.empty()) {
      usable[i] = false;
      continue;
    }
    if (!valid_id(s.id)) {
      const std::string shown = s.id.size() > 64 ? s.id.substr(0, 64) + "..." : s.id;
      err(s.id_pos, "stage id \"" + shown + "\" may only contain letters, digits, '_' and '-' (at most 64)");
      usable[i] = false;
      continue;
    }
    auto [it, fresh] = first.emplace(s.id, i);
    if (!fresh) {
      err(s.id_pos, "duplicate stage id \"" + s.id + "\" (first defined at " + decl.stages[it->second].id_pos.str() + ")");
      usable[i] = false;
    }
  }

  // Plugins and parameters.
  std::vector<const LoadedPlugin*> plugins(decl.stages.size(), nullptr);
  std::vector<Params> params(decl.stages.size());
  const auto known = registry.names();
  bool params_ok = true;
  for (std::size_t i = 0; i < decl.stages.size(); ++i) {
    const auto& s = decl.stages[i];
    if (!s.has_plugin || s.plugin.empty()) continue;
    const LoadedPlugin* p = registry.find(s.plugin);
    const std::string who = "stage \"" + s.id + "\"";
    if (!p) {
      if (const auto* prob = registry.problem_for(s.plugin)) {
        if (!load_error) load_error.emplace(prob->message);
        err(s.plugin_pos, "plugin \"" + s.plugin + "\" for " + who + " could not be loaded: " + prob->message);
      } else {
        auto near = closest(s.plugin, known);
        std::string m = "unknown plugin \"" + s.plugin + "\" for " + who;
        if (!near.empty()) {
          m += "; did you mean ";
          for (std::size_t k = 0; k < near.size(); ++k) m += (k ? " or \"" : "\"") + near[k] + "\"";
          m += "?";
        } else {
          m += " (known: " + join(known) + ")";
        }
        err(s.plugin_pos, m);
      }
      continue;
    }
    plugins[i] = p;
    const std::size_t diags_before = diags.size();
    json values = json::object();
    std::vector<std::string> allowed;
    for (const auto& ps : p->spec.params) allowed.push_back(ps.name);
    for (const auto& pd : s.params) {
      const ParamSpec* ps = p->spec.find(pd.key);
      if (!ps) {
        auto near = closest(pd.key, allowed, 1);
        std::string m = "unknown parameter \"" + pd.key + "\" for plugin \"" + p->name + "\"";
        if (!near.empty()) m += "; did you mean \"" + near[0] + "\"?";
        m += " (allowed: " + join(allowed) + ")";
        err(pd.key_pos, m);
        continue;
      }
      json v = pd.value;
      // An integer where a float is declared is fine.
      auto problem = ps->check(v);
      if (!problem.empty()) {
        err(pd.value_pos, "parameter \"" + pd.key + "\" of " + who + " " + problem);
        continue;
      }
      if (ps->type == ParamType::Float) v = v.get<double>();
      if (ps->type == ParamType::Path) {
        std::filesystem::path path = v.get<std::string>();
        if (!path.empty() && path.is_relative()) {
          auto base = pd.from_override ? std::filesystem::current_path() : decl.base_dir;
          path = (base / path).lexically_normal();
        }
        v = path.string();
      }
      values[pd.key] = v;
    }
    for (const auto& ps : p->spec.params) {
      if (values.contains(ps.name)) continue;
      if (s.find_param(ps.name)) continue;  // given but invalid: already reported
      if (ps.is_required) {
        err(s.pos, who + " (plugin \"" + p->name + "\") is missing required parameter \"" + ps.name + "\"");
        continue;
      }
      json d = ps.default_value;
      if (ps.type == ParamType::Path && d.is_string() && !d.get<std::string>().empty()) {
        std::filesystem::path path = d.get<std::string>();
        if (path.is_relative()) d = (decl.base_dir / path).lexically_normal().string();
      }
      values[ps.name] = d;
    }
    params[i] = Params(values);
    if (diags.size() != diags_before) params_ok = false;
    if (s.inputs_invalid) continue;
    // Arity.
    const int n = static_cast<int>(s.inputs.size());
    const auto& sp = p->spec;
    SourcePos where = s.inputs_pos.line ? s.inputs_pos : s.pos;
    if (sp.max_inputs == 0 && n > 0)
      err(where, who + " (plugin \"" + p->name + "\") takes no inputs, got " + std::to_string(n));
    else if (n < sp.min_inputs)
      err(where, who + " (plugin \"" + p->name + "\") needs at least " + std::to_string(sp.min_inputs) + " input" +
                     (sp.min_inputs == 1 ? "" : "s") + ", got " + std::to_string(n));
    else if (sp.max_inputs >= 0 && n > sp.max_inputs)
      err(where, who + " (plugin \"" + p->name + "\") takes at most " + std::to_string(sp.max_inputs) + " input" +
                     (sp.max_inputs == 1 ? "" : "s") + ", got " + std::to_string(n));
  }

  // Inputs and the graph.
  std::vector<std::string> ids;
  for (const auto& s : decl.stages) ids.push_back(s.id);
  StageGraph graph(ids);
  std::vector<std::vector<std::size_t>> inputs(decl.stages.size());
  for (std::size_t i = 0; i < decl.stages.size(); ++i) {
    const auto& s = decl.stages[i];
    for (std::size_t k = 0; k < s.inputs.size(); ++k) {
      auto it = first.find(s.inputs[k]);
      if (it == first.end()) {
        auto near = closest(s.inputs[k], ids, 1);
        err(s.input_pos[k], "input \"" + s.inputs[k] + "\" of stage \"" + s.id + "\" doesn't match any stage" +
                                (near.empty() ? "" : "; did you mean \"" + near[0] + "\"?"));
        continue;
      }
      if (!usable[i]) continue;
      inputs[i].push_back(it->second);
      graph.add_edge(it->second, i);
    }
  }
  bool has_source = false;
  for (std::size_t i = 0; i < decl.stages.size(); ++i)
    if (plugins[i] && plugins[i]->spec.max_inputs == 0) has_source = true;
  bool all_plugins_known = true;
  for (std::size_t i = 0; i < decl.stages.size(); ++i)
    if (!plugins[i]) all_plugins_known = false;
  if (!decl.stages.empty() && all_plugins_known && !has_source) {
    SourcePos p;
    p.file = decl.display_file;
    p.line = 1;
    p.column = 1;
    err(p, "the pipeline has no source stage (a stage whose plugin takes no inputs)");
  }

  auto cycle = graph.find_cycle();
  if (cycle) {
    err(decl.stages[cycle->front()].pos, "cycle detected: " + graph.cycle_text(*cycle));
  }

  // Schemas along the graph (only when the graph itself is sound).
  if (!cycle && all_plugins_known && params_ok) {
    std::vector<ResolvedStage> stages(decl.stages.size());
    std::vector<Schema> out(decl.stages.size());
    for (std::size_t i = 0; i < decl.stages.size(); ++i) {
      ResolvedStage& rs = stages[i];
      rs.id = decl.stages[i].id;
      rs.plugin = plugins[i];
      rs.inputs = inputs[i];
      rs.params = params[i];
      rs.seed = stage_seed(decl.seed, rs.id);
      rs.plugin_pos = decl.stages[i].has_plugin ? decl.stages[i].plugin_pos : decl.stages[i].pos;
      rs.pos = decl.stages[i].pos;
      for (const auto& pd : decl.stages[i].params) rs.param_pos[pd.key] = pd.value_pos;
    }
    for (auto i : graph.topo_order()) {
      ResolvedStage& rs = stages[i];
      std::vector<Schema> ins;
      for (auto u : inputs[i]) ins.push_back(out[u]);
      rs.deferred = std::any_of(ins.begin(), ins.end(), [](const Schema& x) { return !x.known; });
      auto r = apply_schema_rule(rs, ins);
      for (auto& d : r.diagnostics) diags.push_back(std::move(d));
      rs.params = std::move(r.params);
      rs.schema = r.schema;
      out[i] = std::move(r.schema);
    }
    if (diags.empty()) {
      rp.stages = std::move(stages);
      rp.graph = graph;
      rp.order = graph.topo_order();
      return rp;
    }
  }
  if (diags.empty()) {
    // Unreachable in practice: every failing path above adds a diagnostic.
    SourcePos p;
    p.file = decl.display_file;
    diags.push_back({p, "the pipeline is invalid"});
  }
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.where.file != b.where.file) return a.where.file < b.where.file;
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  if (load_error && diags.size() == 1) throw *load_error;
  throw ConfigError(diags);
}

SchemaResult apply_schema_rule(const ResolvedStage& s, const std::vector<Schema>& inputs) {
  SchemaResult r;
  r.params = s.params;
  const auto& spec = s.plugin->spec;
  const std::string who = "stage \"" + s.id + "\" (plugin \"" + s.plugin->name + "\")";
  auto where = [&](const std::string& param) {
    auto it = s.param_pos.find(param);
    return it != s.param_pos.end() && it->second.line ? it->second : s.pos;
  };
  if (!spec.schema) {
    // No rule: a one-input stage passes its input through; what any other
    // gives is known only from its rows.
    if (inputs.size() == 1) {
      r.schema = inputs[0];
    } else {
      r.schema = merge_schemas(inputs);  // a split reaches it when one reaches any input
      r.schema.known = false;
      r.schema.columns.clear();
    }
    return r;
  }
  SchemaContext ctx(s.params, inputs);
  try {
    r.schema = spec.schema(ctx);
  } catch (const std::exception& e) {
    r.diagnostics.push_back({s.pos, "stage \"" + s.id + "\": " + e.what()});
  } catch (...) {
    r.diagnostics.push_back({s.pos, "stage \"" + s.id + "\": its plugin's schema rule threw an unknown exception"});
  }
  if (!r.diagnostics.empty()) {
    // Reported once: what this stage gives downstream is unknown, and its
    // split is assumed, so later stages raise no follow-on errors.
    r.schema = Schema{};
    r.schema.known = false;
    r.schema.split = true;
    return r;
  }
  for (const auto& is : ctx.issues())
    r.diagnostics.push_back({where(is.param), is.param.empty() ? who + " " + is.message
                                                                 : "parameter \"" + is.param + "\" of " + who + " " +
                                                                       is.message});
  if (!ctx.issues().empty()) {
    Schema unknown = r.schema;
    unknown.known = false;
    unknown.split = true;
    r.schema = unknown;
    return r;
  }
  if (!ctx.resolved().empty()) {
    json v = s.params.all();
    for (const auto& [param, names] : ctx.resolved()) v[param] = names;
    r.params = Params(std::move(v));
  }
  return r;
}

void check_distributed(const ResolvedPipeline& p, int world) {
  if (world <= 1) return;
  std::vector<Diagnostic> diags;
  const std::string on = "cannot run on " + std::to_string(world) + " workers: ";
  for (const auto& s : p.stages) {
    const auto& spec = s.plugin->spec;
    const std::string who = "stage \"" + s.id + "\" (plugin \"" + s.plugin->name + "\") ";
    if (spec.distributed == PluginSpec::Distributed::Combined) continue;
    if (spec.distributed == PluginSpec::Distributed::No) {
      diags.push_back({s.plugin_pos, who + on + "it fits on, or writes, the rows of one process; run it without --workers"});
      continue;
    }
    // PerShard: fine for a stage that works row by row; a source, a learner,
    // an evaluator, a report or a sink must say how it handles shards.
    const auto kind = s.plugin->kind;
    const bool row_local = !spec.learns && (kind == StageKind::Transform || kind == StageKind::Splitter);
    if (!row_local)
      diags.push_back({s.plugin_pos, who + on + "the plugin does not declare how it handles shards "
                                      "(a source must read only its shard, a learning stage must combine its "
                                      "statistics across workers: PluginSpec::distributed = Combined)"});
  }
  if (!diags.empty()) throw ConfigError(std::move(diags));
}

}  // namespace pipectl
