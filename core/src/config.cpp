#include <pipectl/config.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pipectl {

const ParamDecl* StageDecl::find_param(const std::string& key) const {
  for (const auto& p : params)
    if (p.key == key) return &p;
  return nullptr;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Override Override::parse(const std::string& arg) {
  auto eq = arg.find('=');
  auto dot = arg.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw Error("--set expects STAGE.KEY=VALUE, got \"" + arg + "\"", ExitCode::Usage);
  Override o;
  o.stage = arg.substr(0, dot);
  o.key = arg.substr(dot + 1, eq - dot - 1);
  o.text = arg.substr(eq + 1);
  return o;
}

std::optional<std::string> expand_env(const std::string& s, const EnvLookup& env, std::string& error) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '{') {
      auto close = s.find('}', i + 2);
      if (close == std::string::npos) {
        error = "unterminated \"${\" in \"" + s + "\"";
        return std::nullopt;
      }
      std::string body = s.substr(i + 2, close - i - 2);
      std::string name = body, def;
      bool has_def = false;
      auto d = body.find(":-");
      if (d != std::string::npos) {
        name = body.substr(0, d);
        def = body.substr(d + 2);
        has_def = true;
      }
      if (name.empty()) {
        error = "empty variable name in \"" + s + "\"";
        return std::nullopt;
      }
      auto v = env(name);
      if (v && !(has_def && v->empty())) {
        out += *v;
      } else if (has_def) {
        out += def;
      } else {
        error = "environment variable \"" + name + "\" is not set";
        return std::nullopt;
      }
      i = close;
      continue;
    }
    out += '$';
  }
  return out;
}

static std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest(const std::string& word, const std::vector<std::string>& candidates,
                                 std::size_t max) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  for (const auto& c : candidates) {
    auto d = edit_distance(word, c);
    bool prefix = !word.empty() && (c.rfind(word, 0) == 0 || word.rfind(c, 0) == 0);
    if (d <= limit || prefix) scored.emplace_back(d, c);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  // Only the nearest: "did you mean" with the best distance.
  for (std::size_t i = 0; i < scored.size() && i < max && scored[i].first == scored[0].first; ++i)
    out.push_back(scored[i].second);
  return out;
}

TomlDepth toml_nesting_depth(std::string_view text, std::size_t limit) {
  // A small scanner, not a parser: it only tells keys from values, skips
  // strings and comments, and adds up the levels of tables and arrays that
  // the text would build. Malformed text may be measured loosely; toml++
  // reports the actual error.
  enum class Mode { Statement, Header, Key, Value };
  struct Frame {
    char kind;          // '[' array, '{' inline table
    std::size_t depth;  // of the array or table itself; its elements are one deeper
  };
  TomlDepth out;
  Mode mode = Mode::Statement;
  std::vector<Frame> stack;
  std::size_t header = 0, key_base = 0, segments = 0, value_depth = 0;
  int line = 1;
  std::size_t line_start = 0;
  bool over = false;
  const std::size_t n = text.size();
  auto note = [&](std::size_t depth, std::size_t i) {
    const bool first_over = depth > limit && !over;
    if (depth > out.depth || first_over) {
      out.depth = std::max(out.depth, depth);
      if (!over) {
        out.line = line;
        out.column = static_cast<int>(i - line_start) + 1;
      }
      over = over || first_over;
    }
  };
  auto newline = [&](std::size_t i) {
    ++line;
    line_start = i + 1;
  };
  // Skip the string starting at i (a quote); returns the index of its last byte.
  auto skip_string = [&](std::size_t i) {
    const char q = text[i];
    const bool multi = i + 2 < n && text[i + 1] == q && text[i + 2] == q;
    std::size_t j = i + (multi ? 3 : 1);
    for (; j < n; ++j) {
      const char c = text[j];
      if (c == '\\' && q == '"') {
        ++j;
        if (j < n && text[j] == '\n') newline(j);
        continue;
      }
      if (c == '\n') {
        if (!multi) return j - 1;  // unterminated: toml++ reports it
        newline(j);
        continue;
      }
      if (c == q) {
        if (!multi) return j;
        if (j + 2 < n && text[j + 1] == q && text[j + 2] == q) {
          j += 2;
          while (j + 1 < n && text[j + 1] == q) ++j;  // up to two more quotes belong to the content
          return j;
        }
      }
    }
    return n - 1;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (mode == Mode::Statement) {
      if (c == ' ' || c == '\t' || c == '\r') continue;
      if (c == '\n') {
        newline(i);
        continue;
      }
      if (c == '#') {
        while (i + 1 < n && text[i + 1] != '\n') ++i;
        continue;
      }
      if (c == '[') {
        if (i + 1 < n && text[i + 1] == '[') ++i;
        mode = Mode::Header;
        header = 1;
        note(header, i);
        continue;
      }
      mode = Mode::Key;  // and this byte is the key's first
      key_base = header;
      segments = 1;
    }
    if (c == '"' || c == '\'') {
      i = skip_string(i);
      continue;
    }
    if (c == '#') {
      while (i + 1 < n && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '\n') {
      newline(i);
      if (stack.empty() || mode == Mode::Header) mode = Mode::Statement;
      continue;
    }
    switch (mode) {
      case Mode::Statement: break;
      case Mode::Header:
        if (c == '.') note(++header, i);
        break;
      case Mode::Key:
        if (c == '.') {
          ++segments;
        } else if (c == '=') {
          value_depth = key_base + segments;  // the value's own depth
          note(value_depth, i);
          mode = Mode::Value;
        } else if (c == '}' && !stack.empty() && stack.back().kind == '{') {
          stack.pop_back();
          mode = Mode::Value;
        }
        break;
      case Mode::Value:
        if (c == '[' || c == '{') {
          // The value of a key, or an element of the enclosing array.
          const std::size_t d = !stack.empty() && stack.back().kind == '[' ? stack.back().depth + 1 : value_depth;
          stack.push_back({c, d});
          note(d, i);
          if (c == '{') {
            mode = Mode::Key;
            key_base = d;
            segments = 1;
          }
        } else if ((c == ']' || c == '}') && !stack.empty()) {
          stack.pop_back();
        } else if (c == ',' && !stack.empty() && stack.back().kind == '{') {
          mode = Mode::Key;
          key_base = stack.back().depth;
          segments = 1;
        }
        break;
    }
  }
  return out;
}

namespace {

SourcePos pos_of(const toml::source_region& r, const std::string& file) {
  SourcePos p;
  p.file = file;
  p.line = static_cast<int>(r.begin.line);
  p.column = static_cast<int>(r.begin.column);
  return p;
}

struct Reader {
  const std::string& file;
  const ReadOptions& opt;
  PipelineDecl& out;

  void error(const SourcePos& where, std::string msg) { out.diagnostics.push_back({where, std::move(msg)}); }

  // TOML node -> json, expanding ${VAR} in strings. Returns false on error.
  bool to_json(const toml::node& n, json& j, const std::string& what) {
    if (auto s = n.as_string()) {
      std::string v = s->get();
      if (opt.expand_env) {
        std::string err;
        auto e = expand_env(v, opt.env, err);
        if (!e) {
          error(pos_of(n.source(), file), err + " (in " + what + ")");
          return false;
        }
        v = *e;
      }
      j = v;
    } else if (auto i = n.as_integer()) {
      j = i->get();
    } else if (auto f = n.as_floating_point()) {
      j = f->get();
    } else if (auto b = n.as_boolean()) {
      j = b->get();
    } else if (auto a = n.as_array()) {
      j = json::array();
      bool ok = true;
      for (const auto& e : *a) {
        json x;
        ok = to_json(e, x, what) && ok;
        j.push_back(std::move(x));
      }
      return ok;
    } else if (auto t = n.as_table()) {
      j = json::object();
      bool ok = true;
      for (auto&& [k, v] : *t) {
        json x;
        ok = to_json(v, x, what + "." + std::string(k.str())) && ok;
        j[std::string(k.str())] = std::move(x);
      }
      return ok;
    } else {
      std::ostringstream o;
      if (auto d = n.as_date()) o << *d;
      else if (auto t = n.as_time()) o << *t;
      else if (auto dt = n.as_date_time()) o << *dt;
      j = o.str();  // dates and times: kept as their TOML text
    }
    return true;
  }

  void read_pipeline_table(const toml::table& t) {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      SourcePos kp = pos_of(k.source(), file);
      SourcePos vp = pos_of(v.source(), file);
      if (key == "name") {
        if (auto s = v.as_string()) {
          out.name = s->get();
          out.name_pos = vp;
        } else {
          error(vp, "pipeline \"name\" must be a string");
        }
      } else if (key == "description") {
        json j;
        if (!v.as_string()) error(vp, "pipeline \"description\" must be a string");
        else if (to_json(v, j, "pipeline.description")) out.description = j.get<std::string>();
      } else if (key == "seed") {
        if (auto i = v.as_integer()) out.seed = i->get();
        else error(vp, "pipeline \"seed\" must be an integer");
      } else if (key == "plugin_path") {
        json j;
        if (!to_json(v, j, "pipeline.plugin_path")) continue;
        if (j.is_string()) j = json::array({j});
        if (!j.is_array()) {
          error(vp, "pipeline \"plugin_path\" must be a string or a list of strings");
          continue;
        }
        for (const auto& e : j) {
          if (!e.is_string()) {
            error(vp, "pipeline \"plugin_path\" must be a string or a list of strings");
            break;
          }
          std::filesystem::path p = e.get<std::string>();
          out.plugin_path.push_back(p.is_absolute() ? p : (out.base_dir / p).lexically_normal());
        }
      } else {
        error(kp, "unknown key \"" + key + "\" in [pipeline] (allowed: description, name, plugin_path, seed)");
      }
    }
  }

  void read_stage(const toml::table& t, std::size_t index) {
    StageDecl s;
    s.pos = pos_of(t.source(), file);
    if (auto id = t.get("id")) {
      s.id_pos = pos_of(id->source(), file);
      if (auto str = id->as_string()) s.id = str->get();
      else error(s.id_pos, "stage \"id\" must be a string");
    } else {
      error(s.pos, "stage #" + std::to_string(index + 1) + " has no \"id\"");
    }
    const std::string label = s.id.empty() ? "#" + std::to_string(index + 1) : "\"" + s.id + "\"";
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      SourcePos kp = pos_of(k.source(), file);
      SourcePos vp = pos_of(v.source(), file);
      if (key == "id") continue;
      if (key == "plugin") {
        s.plugin_pos = vp;
        if (auto str = v.as_string()) {
          s.plugin = str->get();
          s.has_plugin = true;
          if (s.plugin.empty()) error(vp, "stage " + label + " has an empty \"plugin\"");
        } else {
          error(vp, "\"plugin\" of stage " + label + " must be a string");
          s.has_plugin = true;  // reported; don't also say it is missing
        }
      } else if (key == "inputs") {
        s.inputs_pos = vp;
        auto arr = v.as_array();
        if (!arr) {
          error(vp, "\"inputs\" of stage " + label + " must be a list of stage ids");
          s.inputs_invalid = true;
          continue;
        }
        for (const auto& e : *arr) {
          if (auto str = e.as_string()) {
            s.inputs.push_back(str->get());
            s.input_pos.push_back(pos_of(e.source(), file));
          } else {
            error(pos_of(e.source(), file), "\"inputs\" of stage " + label + " must be a list of stage ids");
          }
        }
      } else {
        ParamDecl p;
        p.key = key;
        p.key_pos = kp;
        p.value_pos = vp;
        if (!to_json(v, p.value, (s.id.empty() ? label : s.id) + "." + key)) continue;
        s.params.push_back(std::move(p));
      }
    }
    if (!s.has_plugin) error(s.pos, "stage " + label + " has no \"plugin\"");
    out.stages.push_back(std::move(s));
  }

  void apply_overrides() {
    for (const auto& o : opt.overrides) {
      SourcePos where;
      where.file = "--set " + o.stage + "." + o.key;
      json value;
      const std::string doc = "v = " + o.text;
      if (toml_nesting_depth(doc).depth > kMaxTomlDepth) {
        error(where, "the value is nested more than " + std::to_string(kMaxTomlDepth) + " levels deep");
        continue;
      }
      try {
        auto parsed = toml::parse(doc);
        if (!to_json(*parsed.get("v"), value, o.stage + "." + o.key)) continue;
      } catch (const toml::parse_error&) {
        value = o.text;  // not a TOML value: take the text as a string
      }
      if (o.stage == "pipeline") {
        if (o.key == "seed" && value.is_number_integer()) out.seed = value.get<std::int64_t>();
        else if (o.key == "name" && value.is_string()) out.name = value.get<std::string>();
        else if (o.key == "description" && value.is_string()) out.description = value.get<std::string>();
        else error(where, "cannot set pipeline." + o.key + " to " + value.dump());
        continue;
      }
      auto it = std::find_if(out.stages.begin(), out.stages.end(), [&](const StageDecl& s) { return s.id == o.stage; });
      if (it == out.stages.end()) {
        std::vector<std::string> ids;
        for (const auto& s : out.stages) ids.push_back(s.id);
        auto near = closest(o.stage, ids);
        error(where, "no stage \"" + o.stage + "\"" + (near.empty() ? "" : "; did you mean \"" + near[0] + "\"?"));
        continue;
      }
      if (o.key == "id" || o.key == "inputs") {
        error(where, "\"" + o.key + "\" cannot be overridden");
        continue;
      }
      if (o.key == "plugin") {
        if (!value.is_string() || value.get<std::string>().empty()) {
          error(where, "\"plugin\" must be a non-empty string");
          continue;
        }
        it->plugin = value.get<std::string>();
        it->plugin_pos = where;
        it->has_plugin = true;
        continue;
      }
      ParamDecl p;
      p.key = o.key;
      p.value = value;
      p.key_pos = where;
      p.value_pos = where;
      p.from_override = true;
      bool replaced = false;
      for (auto& q : it->params)
        if (q.key == o.key) {
          q = p;
          replaced = true;
        }
      if (!replaced) it->params.push_back(p);
    }
  }
};

}  // namespace

PipelineDecl read_pipeline_text(const std::string& text, const std::string& display_file,
                                const std::filesystem::path& base_dir, const ReadOptions& opt) {
  PipelineDecl out;
  out.display_file = display_file;
  out.base_dir = base_dir;
  Reader r{display_file, opt, out};
  toml::table root;
  if (const auto deep = toml_nesting_depth(text); deep.depth > kMaxTomlDepth) {
    SourcePos p;
    p.file = display_file;
    p.line = deep.line;
    p.column = deep.column;
    out.diagnostics.push_back({p, "TOML nested more than " + std::to_string(kMaxTomlDepth) +
                                      " levels deep (tables, dotted keys, arrays); refusing to parse it"});
    out.syntax_ok = false;
    return out;
  }
  try {
    root = toml::parse(text, display_file);
  } catch (const toml::parse_error& e) {
    SourcePos p = pos_of(e.source(), display_file);
    out.diagnostics.push_back({p, "TOML syntax error: " + std::string(e.description())});
    out.syntax_ok = false;
    return out;
  }
  bool saw_stage = false;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    SourcePos kp = pos_of(k.source(), display_file);
    if (key == "pipeline") {
      if (auto t = v.as_table()) r.read_pipeline_table(*t);
      else r.error(kp, "\"pipeline\" must be a table");
    } else if (key == "stage") {
      saw_stage = true;
      if (auto a = v.as_array()) {
        std::size_t i = 0;
        for (const auto& e : *a) {
          if (auto t = e.as_table()) r.read_stage(*t, i);
          else r.error(pos_of(e.source(), display_file), "each [[stage]] must be a table");
          ++i;
        }
      } else {
        r.error(kp, "\"stage\" must be an array of tables: write each stage as [[stage]]");
      }
    } else {
      r.error(kp, "unknown top-level key \"" + key + "\" (allowed: pipeline, stage)");
    }
  }
  if (!saw_stage) {
    SourcePos p;
    p.file = display_file;
    p.line = 1;
    p.column = 1;
    out.diagnostics.push_back({p, "the pipeline has no stages (add [[stage]] tables)"});
  }
  if (out.name.empty()) out.name = std::filesystem::path(display_file).stem().string();
  r.apply_overrides();
  return out;
}

PipelineDecl read_pipeline_file(const std::filesystem::path& file, const ReadOptions& opt) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw Error("cannot read pipeline file \"" + file.string() + "\" (it is a folder)", ExitCode::ConfigInvalid);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read pipeline file \"" + file.string() + "\"", ExitCode::ConfigInvalid);
  std::stringstream ss;
  ss << in.rdbuf();
  auto base = std::filesystem::absolute(file).parent_path().lexically_normal();
  return read_pipeline_text(ss.str(), file.string(), base, opt);
}

}  // namespace pipectl
