#include <pipectl/error.hpp>
#include <pipectl/table_io.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace pipectl {

namespace {

constexpr char kMagic[8] = {'P', 'I', 'P', 'E', 'T', 'B', 'L', '1'};

struct Out {
  std::FILE* f;
  void raw(const void* p, std::size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) throw Error("write failed");
  }
  template <class T>
  void pod(T v) { raw(&v, sizeof v); }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    raw(s.data(), s.size());
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<std::uint64_t>(v.size());
    raw(v.data(), v.size() * sizeof(T));
  }
};

struct In {
  std::FILE* f;
  std::string file;
  std::uint64_t size = 0;  ///< of the file: no length read from it may exceed what is left
  std::uint64_t left() const {
    const long at = std::ftell(f);
    return at < 0 || static_cast<std::uint64_t>(at) > size ? 0 : size - static_cast<std::uint64_t>(at);
  }
  void raw(void* p, std::size_t n) {
    if (n && std::fread(p, 1, n, f) != n) throw Error("table file \"" + file + "\" is truncated");
  }
  template <class T>
  T pod() {
    T v;
    raw(&v, sizeof v);
    return v;
  }
  std::uint64_t count(std::size_t elem) {
    auto n = pod<std::uint64_t>();
    if (elem && n > left() / elem) throw Error("table file \"" + file + "\" is corrupt or truncated");
    return n;
  }
  std::string str() {
    auto n = count(1);
    std::string s(n, '\0');
    raw(s.data(), n);
    return s;
  }
  template <class T>
  std::vector<T> vec() {
    auto n = count(sizeof(T));
    std::vector<T> v(n);
    raw(v.data(), n * sizeof(T));
    return v;
  }
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

void write_table(const Table& t, const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  auto tmp = file;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
    if (!f) throw Error("cannot write \"" + tmp.string() + "\"");
    Out o{f.get()};
    o.raw(kMagic, sizeof kMagic);
    o.pod<std::uint64_t>(t.rows());
    o.pod<std::uint32_t>(static_cast<std::uint32_t>(t.num_columns()));
    o.pod<std::uint8_t>(t.has_roles() ? 1 : 0);
    if (t.has_roles()) o.raw(t.roles().data(), t.rows());
    o.pod<std::uint32_t>(static_cast<std::uint32_t>(t.meta().size()));
    for (const auto& [k, v] : t.meta()) {
      o.str(k);
      o.str(v);
    }
    for (const auto& c : t.columns()) {
      o.str(c->name);
      o.pod<std::uint8_t>(static_cast<std::uint8_t>(c->type));
      o.vec(c->valid);
      o.vec(c->f64);
      o.vec(c->i64);
      o.vec(c->codes);
      o.vec(c->offsets);
      const auto n = c->dictionary ? c->dictionary->size() : 0;
      o.pod<std::uint32_t>(static_cast<std::uint32_t>(n));
      for (std::size_t i = 0; i < n; ++i) o.str((*c->dictionary)[i]);
    }
    if (std::fflush(f.get()) != 0) throw Error("cannot write \"" + tmp.string() + "\"");
  }
  std::filesystem::rename(tmp, file);
}

Table read_table(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) throw Error("cannot read table file \"" + file.string() + "\"");
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  In in{f.get(), file.string(), ec ? 0 : static_cast<std::uint64_t>(size)};
  char magic[8];
  in.raw(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw Error("\"" + file.string() + "\" is not a pipectl table file");
  const auto rows = in.pod<std::uint64_t>();
  const auto ncols = in.pod<std::uint32_t>();
  const bool has_roles = in.pod<std::uint8_t>() != 0;
  std::shared_ptr<std::vector<Role>> roles;
  if (has_roles) {
    if (rows > in.left()) throw Error("table file \"" + file.string() + "\" is corrupt or truncated");
    roles = std::make_shared<std::vector<Role>>(rows);
    in.raw(roles->data(), rows);
  }
  std::map<std::string, std::string> meta;
  const auto nmeta = in.pod<std::uint32_t>();
  for (std::uint32_t i = 0; i < nmeta; ++i) {
    auto k = in.str();
    meta[k] = in.str();
  }
  std::vector<ColumnPtr> cols;
  for (std::uint32_t i = 0; i < ncols; ++i) {
    auto c = std::make_shared<Column>();
    c->name = in.str();
    auto type = in.pod<std::uint8_t>();
    if (type > static_cast<std::uint8_t>(DType::MultiCategorical))
      throw Error("table file \"" + file.string() + "\" is corrupt");
    c->type = static_cast<DType>(type);
    c->valid = in.vec<std::uint8_t>();
    c->f64 = in.vec<double>();
    c->i64 = in.vec<std::int64_t>();
    c->codes = in.vec<std::int32_t>();
    c->offsets = in.vec<std::int64_t>();
    const auto nd = in.pod<std::uint32_t>();
    if (nd || c->type == DType::Categorical || c->type == DType::MultiCategorical) {
      auto d = std::make_shared<Dictionary>();
      if (nd > in.left() / sizeof(std::uint64_t)) throw Error("table file \"" + file.string() + "\" is corrupt or truncated");
      d->reserve(nd);
      for (std::uint32_t k = 0; k < nd; ++k) d->push_back(in.str());
      c->dictionary = d;
    }
    cols.push_back(c);
  }
  Table t(std::move(cols));
  if (t.rows() != rows && ncols > 0) throw Error("table file \"" + file.string() + "\" is corrupt (row count)");
  if (roles) t = t.with_roles(roles);
  for (const auto& [k, v] : meta) t = t.with_meta(k, v);
  t.check();
  return t;
}

}  // namespace pipectl
