#include <pipectl/error.hpp>
#include <pipectl/table_io.hpp>

#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace pipectl {

namespace {

// Format 2: format 1 followed by the XXH3-64 checksum of every byte before it.
constexpr char kMagic[8] = {'P', 'I', 'P', 'E', 'T', 'B', 'L', '2'};

std::string os_reason() { return std::strerror(errno); }

struct Out {
  std::FILE* f;
  std::string file;
  XXH3_state_t* h;
  void raw(const void* p, std::size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) throw Error("cannot write \"" + file + "\": " + os_reason());
    if (n) XXH3_64bits_update(h, p, n);
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
  std::uint64_t size = 0;  ///< of the file less the checksum: no length read from it may exceed what is left
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

struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

}  // namespace

std::uint64_t file_checksum(const std::filesystem::path& file, std::uint64_t limit) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) throw Error("cannot read \"" + file.string() + "\": " + os_reason());
  std::unique_ptr<XXH3_state_t, StateFree> h(XXH3_createState());
  XXH3_64bits_reset(h.get());
  std::vector<char> buf(1 << 20);
  std::uint64_t left = limit;
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    const std::size_t got = std::fread(buf.data(), 1, want, f.get());
    if (got) XXH3_64bits_update(h.get(), buf.data(), got);
    left -= got;
    if (got < want) {
      if (std::ferror(f.get())) throw Error("cannot read \"" + file.string() + "\": " + os_reason());
      break;
    }
  }
  return XXH3_64bits_digest(h.get());
}

std::string checksum_hex(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

void write_table(const Table& t, const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  auto tmp = file;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
    if (!f) throw Error("cannot write \"" + tmp.string() + "\": " + os_reason());
    std::unique_ptr<XXH3_state_t, StateFree> h(XXH3_createState());
    XXH3_64bits_reset(h.get());
    Out o{f.get(), tmp.string(), h.get()};
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
    const std::uint64_t sum = XXH3_64bits_digest(h.get());
    if (std::fwrite(&sum, 1, sizeof sum, f.get()) != sizeof sum || std::fflush(f.get()) != 0) {
      const std::string why = os_reason();
      f.reset();
      std::remove(tmp.c_str());
      throw Error("cannot write \"" + tmp.string() + "\": " + why);
    }
    if (std::fclose(f.release()) != 0) {
      const std::string why = os_reason();
      std::remove(tmp.c_str());
      throw Error("cannot write \"" + tmp.string() + "\": " + why);
    }
  }
  std::filesystem::rename(tmp, file);
}

Table read_table(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
  if (!f) throw Error("cannot read table file \"" + file.string() + "\": " + os_reason());
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw Error("cannot read table file \"" + file.string() + "\": " + ec.message());
  In in{f.get(), file.string(), static_cast<std::uint64_t>(size)};
  char magic[8];
  in.raw(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw Error("\"" + file.string() + "\" is not a pipectl table file (format 2)");
  // Every byte is checked before any is believed: a flipped bit in a value
  // would otherwise load as a valid table with other data.
  if (size < sizeof kMagic + sizeof(std::uint64_t)) throw Error("table file \"" + file.string() + "\" is truncated");
  {
    const std::uint64_t body = static_cast<std::uint64_t>(size) - sizeof(std::uint64_t);
    const std::uint64_t want = file_checksum(file, body);
    std::uint64_t have = 0;
    if (std::fseek(f.get(), static_cast<long>(body), SEEK_SET) != 0 || std::fread(&have, 1, sizeof have, f.get()) != sizeof have)
      throw Error("table file \"" + file.string() + "\" is truncated");
    if (have != want)
      throw Error("table file \"" + file.string() + "\" is damaged: its XXH3 checksum is " + checksum_hex(want) +
                  ", the file says " + checksum_hex(have));
    in.size = body;
    std::fseek(f.get(), sizeof kMagic, SEEK_SET);
  }
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
