#include "csv_source.hpp"

#include "csv_reader.hpp"

#include <pipectl/column_builder.hpp>
#include <pipectl/interner.hpp>
#include <pipectl/text.hpp>

#include <algorithm>
#include <fstream>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pipectl::plugins {

namespace fs = std::filesystem;
using namespace pipectl::text;

namespace {

enum class Kind : std::uint8_t { Infer, Int, Float, Text, Multi, Skip };

Kind kind_of(DType t) {
  switch (t) {
    case DType::Int64: return Kind::Int;
    case DType::Float64: return Kind::Float;
    case DType::Categorical: return Kind::Text;
    case DType::MultiCategorical: return Kind::Multi;
  }
  return Kind::Text;
}

std::string fields_msg(std::size_t line, std::size_t got, std::size_t want) {
  return "line " + std::to_string(line) + ": " + std::to_string(got) + (got == 1 ? " field" : " fields") +
         ", header has " + std::to_string(want);
}

struct Inference {
  bool is_int = true;
  bool is_num = true;
  bool text = false;          ///< a value that is no number (or quoted, with quoted_is_text)
  bool empty_quoted = false;  ///< a `""`
  std::size_t numbers = 0;
  bool settled() const { return text; }
};

struct Builder {
  std::string name;
  Kind kind = Kind::Text;
  std::vector<std::int64_t> i64;
  std::vector<double> f64;
  std::vector<std::int32_t> codes;
  std::vector<std::int64_t> offsets;
  std::vector<std::uint8_t> valid;  ///< empty until the first NULL
  std::size_t nulls = 0;
  std::size_t rows = 0;
  Interner dict;

  void reserve(std::size_t n) {
    switch (kind) {
      case Kind::Int: i64.reserve(n); break;
      case Kind::Float: f64.reserve(n); break;
      case Kind::Text: codes.reserve(n); break;
      case Kind::Multi: offsets.reserve(n + 1); break;
      case Kind::Infer:
      case Kind::Skip: break;
    }
  }
  void null() {
    ++nulls;
    if (valid.empty()) valid.assign(rows, 1);
    valid.push_back(0);
    switch (kind) {
      case Kind::Int: i64.push_back(0); break;
      case Kind::Float: f64.push_back(std::nan("")); break;
      case Kind::Text: codes.push_back(-1); break;
      case Kind::Multi: offsets.push_back(static_cast<std::int64_t>(codes.size())); break;
      case Kind::Infer:
      case Kind::Skip: break;
    }
    ++rows;
  }
  void done_value() {
    if (!valid.empty()) valid.push_back(1);
    ++rows;
  }
  Column finish() {
    Column c;
    switch (kind) {
      case Kind::Int: c = Column::make_i64(name, std::move(i64)); break;
      case Kind::Float: c = Column::make_f64(name, std::move(f64)); break;
      case Kind::Multi: c = Column::make_multi(name, std::move(offsets), std::move(codes), dict.finish()); break;
      default: c = Column::make_cat(name, std::move(codes), dict.finish()); break;
    }
    if (nulls > 0) c.valid = std::move(valid);
    return c;
  }
};

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const std::string where = "file \"" + path + "\"";
    std::error_code ec;
    if (!fs::exists(path, ec)) throw DataError(where + " not found");
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw DataError(where + " cannot be read: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) throw DataError(where + " is not a regular file");
    n_ = static_cast<std::size_t>(st.st_size);
    if (n_ == 0) throw DataError(where + " is empty (no header row)");
    // MAP_POPULATE: fault the file in at once rather than page by page.
    void* p = ::mmap(nullptr, n_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) throw DataError(where + " cannot be mapped: " + std::strerror(errno));
    p_ = static_cast<const char*>(p);
    ::madvise(p, n_, MADV_SEQUENTIAL);
  }
  ~MappedFile() {
    if (p_) ::munmap(const_cast<char*>(p_), n_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view view() const { return {p_, n_}; }

 private:
  int fd_ = -1;
  const char* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace

CsvConfig CsvConfig::from(const CsvOptions& o) {
  CsvConfig c;
  c.path = o.path.string();
  c.delimiter = o.delimiter.size() == 1 ? o.delimiter[0] : ',';
  c.list_separator = o.list_separator;
  c.quoted_is_text = o.quoted_is_text;
  c.list_columns = o.list_columns;
  if (o.types.is_object()) c.types = parse_column_types(o.types, /*multi=*/true);
  for (const auto& [name, t] : c.types)
    if (t == DType::MultiCategorical &&
        std::find(c.list_columns.begin(), c.list_columns.end(), name) == c.list_columns.end())
      c.list_columns.push_back(name);
  return c;
}

std::vector<std::pair<std::string, std::string>> CsvConfig::problems(const CsvOptions& o) {
  std::vector<std::pair<std::string, std::string>> p;
  const std::string& delim = o.delimiter;
  if (delim.size() != 1 || delim[0] == '"' || delim[0] == '\n' || delim[0] == '\r')
    p.push_back({"delimiter", "must be one character other than a quote or a line break, got \"" + delim + "\""});
  if (o.list_separator.empty()) p.push_back({"list_separator", "is empty"});
  else if (delim.size() == 1 && o.list_separator.find(delim[0]) != std::string::npos)
    p.push_back({"list_separator", "contains the delimiter"});
  std::map<std::string, DType> types;
  if (auto m = column_types_problem(o.types, /*multi=*/true); !m.empty()) p.push_back({"types", m});
  else if (o.types.is_object()) types = parse_column_types(o.types, /*multi=*/true);
  for (const auto& l : o.list_columns) {
    auto it = types.find(l);
    if (it != types.end() && it->second != DType::MultiCategorical)
      p.push_back({"list_columns", "names \"" + l + "\", but types gives it \"" + dtype_name(it->second) + "\""});
  }
  return p;
}


namespace {

/// The head of the file whose records decide the inferred types.
constexpr std::size_t kCsvInferBytes = std::size_t{64} << 20;

/// The header and each column's kind: declared (`types`, `list_columns`) or
/// inferred from the records in the first kCsvInferBytes of the file (the
/// same records at validation and at run time, so both agree).
struct Layout {
  std::vector<std::string> names;
  std::vector<Kind> kinds;
  std::size_t expected_rows = 0;
  bool sampled = false;  ///< inference stopped at the bound
};

Layout csv_layout(std::string_view data, const CsvConfig& cfg, StageContext* ctx) {
  Layout out;
  std::vector<csv::Field> f;
  std::vector<std::string> names;
  {
    csv::Reader r(data, cfg.delimiter);
    if (!r.next(f)) throw DataError("no header row (the file is empty)");
    std::unordered_set<std::string> seen;  // a header may have a million columns: no quadratic search
    for (std::size_t i = 0; i < f.size(); ++i) {
      std::string name(f[i].text);
      if (name.empty())
        throw DataError("line " + std::to_string(r.line()) + ": column " + std::to_string(i + 1) + " has no name");
      if (!seen.insert(name).second)
        throw DataError("line " + std::to_string(r.line()) + ": column \"" + name + "\" appears twice in the header");
      names.push_back(std::move(name));
    }
  }
  const std::size_t ncol = names.size();
  auto header_list = [&] {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  };

  std::vector<Kind> kinds(ncol, Kind::Infer);
  for (std::size_t c = 0; c < ncol; ++c) {
    auto t = cfg.types.find(names[c]);
    if (t != cfg.types.end()) kinds[c] = kind_of(t->second);
    for (const auto& l : cfg.list_columns)
      if (l == names[c]) kinds[c] = Kind::Multi;
  }
  for (const auto& [name, t] : cfg.types)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw DataError("parameter \"types\" names column \"" + name + "\", which is not in the header (columns: " +
                      header_list() + ")");
  if (!cfg.types.empty()) {
    // A declared schema: the output is exactly the declared columns (the
    // contract lists them), so list columns must be there and others are left out.
    for (const auto& l : cfg.list_columns)
      if (std::find(names.begin(), names.end(), l) == names.end())
        throw DataError("list column \"" + l + "\" is not in the header (columns: " + header_list() +
                        "); with types given, every column of list_columns must be there (set list_columns = [] "
                        "if the file has none)");
    std::string skipped;
    for (std::size_t c = 0; c < ncol; ++c)
      if (kinds[c] == Kind::Infer) {
        kinds[c] = Kind::Skip;
        skipped += (skipped.empty() ? "" : ", ") + names[c];
      }
    if (ctx && !skipped.empty())
      ctx->info("columns neither in types nor in list_columns are not read: " + skipped);
  }

  auto check_cancel = [&](std::size_t rec, const csv::Reader& r, double lo, double hi) {
    if (!ctx || (rec & 4095) != 0 || rec == 0) return;
    if (ctx->cancelled()) throw Interrupted("cancelled while reading a CSV file");
    if ((rec & 65535) == 0)
      ctx->progress(lo + (hi - lo) * static_cast<double>(r.offset()) / static_cast<double>(r.size()));
  };

  // Pass 1: infer the types of the undeclared columns from their values (in
  // the first kCsvInferBytes: a later value that does not fit the type is an
  // error of pass 2 that says so).
  std::vector<std::size_t> infer;
  for (std::size_t c = 0; c < ncol; ++c)
    if (kinds[c] == Kind::Infer) infer.push_back(c);
  std::size_t expected_rows = 0;
  const double pass2_from = infer.empty() ? 0.0 : 0.4;
  if (!infer.empty()) {
    std::vector<Inference> inf(ncol);
    csv::Reader r(data, cfg.delimiter);
    r.next(f);
    if (ncol == 1) r.set_skip_blank_lines(false);
    std::size_t rec = 0, open = infer.size();
    while (open > 0 && !out.sampled && r.next(f)) {
      check_cancel(++rec, r, 0.0, pass2_from);
      if (r.offset() > kCsvInferBytes) out.sampled = true;  // this record is the last one inferred from
      if (f.size() != ncol) throw DataError(fields_msg(r.line(), f.size(), ncol));
      for (auto c : infer) {
        Inference& x = inf[c];
        if (x.text) continue;
        const csv::Field& v = f[c];
        if (v.text.empty()) {
          x.empty_quoted = x.empty_quoted || v.quoted;
          continue;
        }
        if (v.quoted && cfg.quoted_is_text) {
          x.text = true;
          --open;
          continue;
        }
        std::int64_t i;
        double d;
        if (x.is_int && parse_int(v.text, i)) {
          ++x.numbers;
          continue;
        }
        x.is_int = false;
        if (parse_double(v.text, d)) {
          ++x.numbers;
          continue;
        }
        x.text = true;
        --open;
      }
    }
    if (!out.sampled && open > 0) expected_rows = rec;  // read to the end: the exact row count
    for (auto c : infer) {
      const Inference& x = inf[c];
      if (x.text) kinds[c] = Kind::Text;
      else if (x.numbers == 0) kinds[c] = x.empty_quoted ? Kind::Text : Kind::Float;  // no value at all
      else kinds[c] = x.is_int ? Kind::Int : Kind::Float;
    }
  }

  if (expected_rows == 0) {
    // No full inference pass: estimate the rows from the first records' length.
    csv::Reader r(data, cfg.delimiter);
    r.next(f);
    const std::size_t from = r.offset();
    std::size_t k = 0;
    while (k < 1000 && r.next(f)) ++k;
    if (k > 0 && r.offset() > from)
      expected_rows = static_cast<std::size_t>(1.05 * static_cast<double>(k) * static_cast<double>(data.size() - from) /
                                               static_cast<double>(r.offset() - from)) + 16;
  }
  out.names = std::move(names);
  out.kinds = std::move(kinds);
  out.expected_rows = expected_rows;
  return out;
}

}  // namespace

Schema CsvConfig::schema() const {
  // Learnt from the header and the records that decide the inferred types
  // (the first kCsvInferBytes, as the read does); a file that is not there
  // yet: the declared `types` (and list_columns), or known at run time.
  Schema out;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const auto size = static_cast<std::size_t>(fs::file_size(path, ec));
    const std::size_t want = std::min<std::size_t>(size, kCsvInferBytes + (std::size_t{1} << 20));
    std::string head(want, '\0');
    std::ifstream in(path, std::ios::binary);
    if (!ec && in.read(head.data(), static_cast<std::streamsize>(want))) {
      if (want < size) {
        const auto nl = head.rfind('\n');
        head.resize(nl == std::string::npos ? 0 : nl + 1);
      }
      try {
        Layout l = csv_layout(head, *this, nullptr);
        for (std::size_t c = 0; c < l.names.size(); ++c) {
          if (l.kinds[c] == Kind::Skip) continue;
          ColumnSchema cs;
          cs.name = l.names[c];
          cs.type = l.kinds[c] == Kind::Int     ? DType::Int64
                    : l.kinds[c] == Kind::Float ? DType::Float64
                    : l.kinds[c] == Kind::Multi ? DType::MultiCategorical
                                                : DType::Categorical;
          out.columns.push_back(std::move(cs));
        }
        return out;
      } catch (const std::exception&) {
        // Unusable data: the read reports it, with its line.
      }
    }
  }
  out.columns.clear();
  if (types.empty()) {
    out.known = false;
    return out;
  }
  auto column = [](const std::string& name, DType t) {
    ColumnSchema c;
    c.name = name;
    c.type = t;
    return c;
  };
  for (const auto& [name, t] : types) out.columns.push_back(column(name, t));
  for (const auto& l : list_columns)
    if (!types.count(l)) out.columns.push_back(column(l, DType::MultiCategorical));
  return out;
}

Table read_csv_buffer(std::string_view data, const CsvConfig& cfg, StageContext* ctx) {
  std::vector<csv::Field> f;
  Layout layout = csv_layout(data, cfg, ctx);
  std::vector<std::string>& names = layout.names;
  std::vector<Kind>& kinds = layout.kinds;
  const std::size_t ncol = names.size();
  std::size_t expected_rows = layout.expected_rows;
  const double pass2_from = 0.4;
  // A value past the inferred head that does not fit its column's type.
  const std::string hint = layout.sampled ? " (the column's type was inferred from the first 64 MiB of the file; "
                                            "declare it in `types`)"
                                          : "";
  auto check_cancel = [&](std::size_t rec, const csv::Reader& r, double lo, double hi) {
    if (!ctx || (rec & 4095) != 0 || rec == 0) return;
    if (ctx->cancelled()) throw Interrupted("cancelled while reading a CSV file");
    if ((rec & 65535) == 0)
      ctx->progress(lo + (hi - lo) * static_cast<double>(r.offset()) / static_cast<double>(r.size()));
  };

  // Pass 2: parse into the columns.
  std::vector<Builder> cols(ncol);
  for (std::size_t c = 0; c < ncol; ++c) {
    cols[c].name = names[c];
    cols[c].kind = kinds[c];
    if (expected_rows) cols[c].reserve(expected_rows);
    if (kinds[c] == Kind::Multi) cols[c].offsets.push_back(0);
  }
  csv::Reader r(data, cfg.delimiter);
  r.next(f);
  if (ncol == 1) r.set_skip_blank_lines(false);
  std::size_t rec = 0;
  const std::string_view sep = cfg.list_separator;
  while (r.next(f)) {
    check_cancel(++rec, r, pass2_from, 1.0);
    if (f.size() != ncol) throw DataError(fields_msg(r.line(), f.size(), ncol));
    for (std::size_t c = 0; c < ncol; ++c) {
      Builder& b = cols[c];
      if (b.kind == Kind::Skip) continue;
      const csv::Field& v = f[c];
      if (v.text.empty() && (!v.quoted || b.kind == Kind::Int || b.kind == Kind::Float)) {
        b.null();
        continue;
      }
      switch (b.kind) {
        case Kind::Int: {
          std::int64_t i;
          if (!parse_int(v.text, i)) {
            double d;
            const std::string pre = "column \"" + b.name + "\": ";
            if (!parse_double(v.text, d))
              throw DataError(pre + "text value " + shown(v.text) + " at line " + std::to_string(r.line()) + hint);
            if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
              i = static_cast<std::int64_t>(d);
            } else if (std::isfinite(d) && d == std::trunc(d)) {
              throw DataError(pre + "value " + shown(v.text) + " at line " + std::to_string(r.line()) +
                              " is out of the int64 range");
            } else {
              throw DataError(pre + "value " + shown(v.text) + " at line " + std::to_string(r.line()) +
                              " is not an integer" + hint);
            }
          }
          b.i64.push_back(i);
          break;
        }
        case Kind::Float: {
          double d;
          if (!parse_double(v.text, d))
            throw DataError("column \"" + b.name + "\": text value " + shown(v.text) + " at line " +
                            std::to_string(r.line()) + hint);
          b.f64.push_back(d);
          break;
        }
        case Kind::Text: b.codes.push_back(b.dict.intern(v.text)); break;
        case Kind::Multi:
          csv::for_each_item(v.text, sep, [&](std::string_view item) { b.codes.push_back(b.dict.intern(item)); });
          b.offsets.push_back(static_cast<std::int64_t>(b.codes.size()));
          break;
        case Kind::Infer:
      case Kind::Skip: break;
      }
      b.done_value();
    }
  }
  if (rec == 0) throw DataError("no data rows (only a header)");

  std::vector<ColumnPtr> out;
  out.reserve(ncol);
  for (auto& b : cols) {
    if (b.kind == Kind::Skip) continue;
    if (ctx && b.nulls > 0) ctx->count("nulls." + b.name, static_cast<std::int64_t>(b.nulls));
    out.push_back(std::make_shared<const Column>(b.finish()));
  }
  return Table(std::move(out));
}

CsvSource::CsvSource(const Options& o) : cfg_(CsvConfig::from(o)) {}

Table CsvSource::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  if (!inputs.empty()) throw Error("the csv source takes no inputs");
  const auto t0 = std::chrono::steady_clock::now();
  MappedFile file(cfg_.path);
  Table t = read_csv_buffer(file.view(), cfg_, &ctx);
  ctx.progress(1.0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.measure("seconds", secs);
  ctx.measure("rows_per_second", secs > 0 ? static_cast<double>(t.rows()) / secs : 0.0);
  ctx.info("read " + std::to_string(t.rows()) + " rows x " + std::to_string(t.num_columns()) + " columns from \"" +
           cfg_.path + "\"");
  return t;
}

}  // namespace pipectl::plugins
