#include "csv_sink.hpp"

#include <charconv>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace pipectl::plugins {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Would the csv source take this text for a number?
bool looks_numeric(std::string_view s) {
  s = trim(s);
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double d;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return true;
  // out of double's range, still a number
  return r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size();
}

bool rfc_needs_quotes(std::string_view s, char delim) {
  for (char c : s)
    if (c == delim || c == '"' || c == '\n' || c == '\r') return true;
  return false;
}

bool needs_quotes(std::string_view s, char delim) {
  if (s.empty() || rfc_needs_quotes(s, delim)) return true;
  if (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t') return true;
  return looks_numeric(s);
}

void append_field(std::string& out, std::string_view s, bool quote) {
  if (!quote) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_double(std::string& out, double d, bool shortest) {
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  // to_chars(general, 17) is printf's "%.17g" (same text), several times faster.
  const auto r = shortest ? std::to_chars(buf, buf + sizeof buf, d)
                          : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::general, 17);
  const auto n = static_cast<std::size_t>(r.ptr - buf);
  out.append(buf, n);
  for (std::size_t i = 0; i < n; ++i)
    if (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E') return;
  out += ".0";  // "100" would read back as an integer
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// One output column with what is precomputed per dictionary entry.
struct OutCol {
  const Column* col;
  std::vector<std::string> encoded;   ///< categorical: the label as written (quoted if needed)
  std::vector<std::uint8_t> quote;    ///< multi: the item needs the field quoted
  std::vector<std::uint8_t> bad;      ///< multi: the item cannot be written (1 = holds separator, 2 = empty)
};

}  // namespace

CsvSinkConfig CsvSinkConfig::from(const CsvSinkOptions& o) {
  CsvSinkConfig c;
  c.path = o.path.string();
  c.columns = o.columns;
  c.roles = o.roles;
  c.list_separator = o.list_separator;
  c.delimiter = o.delimiter.size() == 1 ? o.delimiter[0] : ',';
  c.shortest_floats = o.float_format == "shortest";
  return c;
}

std::vector<std::pair<std::string, std::string>> CsvSinkConfig::problems(const CsvSinkOptions& o) {
  std::vector<std::pair<std::string, std::string>> p;
  if (o.list_separator.empty()) p.push_back({"list_separator", "is empty"});
  const std::string& delim = o.delimiter;
  if (delim.size() != 1 || delim[0] == '"' || delim[0] == '\n' || delim[0] == '\r')
    p.push_back({"delimiter", "must be one character other than a quote or a line break, got \"" + delim + "\""});
  else if (o.list_separator.find(delim[0]) != std::string::npos)
    p.push_back({"list_separator", "contains the delimiter"});
  for (std::size_t i = 0; i < o.columns.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (o.columns[i] == o.columns[j]) p.push_back({"columns", "names \"" + o.columns[i] + "\" twice"});
  return p;
}

Schema CsvSinkConfig::schema(SchemaContext& ctx) const {
  for (const auto& c : columns) ctx.need("columns", c);
  return ctx.input();
}

std::size_t write_csv(const Table& t, const CsvSinkConfig& cfg, const std::function<void(std::string_view)>& sink,
                      StageContext* ctx) {
  const char delim = cfg.delimiter;
  const std::string_view sep = cfg.list_separator;
  std::vector<OutCol> cols;
  if (cfg.columns.empty()) {
    for (const auto& c : t.columns()) cols.push_back({c.get(), {}, {}, {}});
  } else {
    for (const auto& n : cfg.columns) cols.push_back({&t.at(n), {}, {}, {}});
  }
  const bool role = cfg.roles && t.has_roles();
  if (role)
    for (const auto& c : cols)
      if (c.col->name == "role")
        throw DataError("the table already has a column \"role\"; cannot add the split as \"role\" (set roles = false)");
  for (auto& c : cols) {
    if (c.col->type == DType::Categorical) {
      c.encoded.reserve(c.col->dictionary->size());
      for (const auto& s : *c.col->dictionary) {
        std::string e;
        append_field(e, s, needs_quotes(s, delim));
        c.encoded.push_back(std::move(e));
      }
    } else if (c.col->type == DType::MultiCategorical) {
      for (const auto& s : *c.col->dictionary) {
        c.quote.push_back(rfc_needs_quotes(s, delim) ? 1 : 0);
        c.bad.push_back(s.empty() ? 2 : (s.find(sep) != std::string::npos ? 1 : 0));
      }
    }
  }

  std::string out;
  out.reserve(1 << 20);
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (j) out += delim;
    const auto& name = cols[j].col->name;
    append_field(out, name, name.empty() || rfc_needs_quotes(name, delim));
  }
  if (role) {
    if (!cols.empty()) out += delim;
    out += "role";
  }
  out += '\n';

  const std::size_t n = t.rows();
  const std::vector<Role>* roles = role ? &t.roles() : nullptr;
  std::string scratch;
  for (std::size_t i = 0; i < n; ++i) {
    if (ctx && (i & 4095) == 0 && i > 0) {
      if (ctx->cancelled()) throw Interrupted("cancelled while writing CSV");
      if ((i & 65535) == 0) ctx->progress(static_cast<double>(i) / static_cast<double>(n));
    }
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (j) out += delim;
      const OutCol& oc = cols[j];
      const Column& c = *oc.col;
      if (c.is_null(i)) continue;
      switch (c.type) {
        case DType::Int64: append_int(out, c.i64[i]); break;
        case DType::Float64: append_double(out, c.f64[i], cfg.shortest_floats); break;
        case DType::Categorical: {
          const auto code = c.codes[i];
          if (code >= 0) out += oc.encoded[static_cast<std::size_t>(code)];
          break;
        }
        case DType::MultiCategorical: {
          const auto b = c.offsets[i], e = c.offsets[i + 1];
          if (b == e) {
            out += "\"\"";  // the empty list; a bare empty field would be NULL
            break;
          }
          bool quote = false;
          for (auto k = b; k < e; ++k) {
            const auto code = static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)]);
            if (oc.bad[code])
              throw DataError("column \"" + c.name + "\": " +
                              (oc.bad[code] == 2 ? std::string("an empty item")
                                                 : "item \"" + (*c.dictionary)[code] + "\" holds the list separator \"" +
                                                       cfg.list_separator + "\"") +
                              " at row " + std::to_string(i) + " cannot be written");
            quote = quote || oc.quote[code];
          }
          std::string& dst = quote ? scratch : out;
          if (quote) scratch.clear();
          for (auto k = b; k < e; ++k) {
            if (k > b) dst.append(sep);
            dst += (*c.dictionary)[static_cast<std::size_t>(c.codes[static_cast<std::size_t>(k)])];
          }
          if (quote) append_field(out, scratch, true);
          break;
        }
      }
    }
    if (role) {
      if (!cols.empty()) out += delim;
      out += role_name((*roles)[i]);
    }
    out += '\n';
    if (out.size() >= (1u << 20)) {
      sink(out);
      out.clear();
    }
  }
  if (!out.empty()) sink(out);
  return n;
}

CsvSink::CsvSink(const Options& o) : cfg_(CsvSinkConfig::from(o)) {}

Table CsvSink::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (inputs.size() != 1 || !inputs[0]) throw Error("csv_sink takes exactly one input");
  const Table& t = *inputs[0];
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path path(cfg_.path);
  fs::path tmp = path;
  tmp += ".tmp";
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create the folder \"" + path.parent_path().string() + "\": " + ec.message());
  }
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error("cannot write \"" + tmp.string() + "\": " + std::strerror(errno));
  std::size_t bytes = 0, rows = 0;
  try {
    rows = write_csv(
        t, cfg_,
        [&](std::string_view s) {
          if (std::fwrite(s.data(), 1, s.size(), f) != s.size())
            throw Error("writing \"" + tmp.string() + "\" failed: " + std::strerror(errno));
          bytes += s.size();
        },
        &ctx);
    std::FILE* g = f;
    f = nullptr;
    if (std::fclose(g) != 0) throw Error("writing \"" + tmp.string() + "\" failed: " + std::strerror(errno));
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error("cannot rename \"" + tmp.string() + "\" to \"" + path.string() + "\": " + ec.message());
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  ctx.progress(1.0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.measure("seconds", secs);
  ctx.measure("bytes", static_cast<double>(bytes));
  ctx.info("wrote " + std::to_string(rows) + " rows to \"" + cfg_.path + "\"");
  return t;
}

}  // namespace pipectl::plugins
