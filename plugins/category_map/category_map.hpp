// category_map: maps int64 / categorical columns onto a small dictionary
// fitted on the training rows.
//
// Per column, the Train rows' non-NULL values are counted (int64 values as
// their decimal string); the top_k most frequent with count >= min_frequency
// are kept, most frequent first, ties broken by value (int64: numerically,
// labels: bytewise). The dictionary is [kept..., other]. Applied to every
// row: a kept value keeps its category; unseen, infrequent and NULL values
// (and a value equal to `other`) become `other`. Output columns are
// categorical with the same names, without NULLs.
//
// Several workers (each a shard of the rows): each counts its training rows
// by value, the (value, count) pairs of every worker are gathered and
// merged, and every worker selects from the merged counts with the same
// order-free rule, so the dictionary (and so the codes) is the same on every
// worker and the same as one process fitting all training rows.
//
// State: {"columns": {"<name>": ["443", "80", ..., "other"], ...}, "other": "other"}
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec category_map_spec();

/// Reads the little-endian words another worker wrote.
struct CountReader {
  const std::string& s;
  std::size_t p = 0;
  std::uint64_t u64() {
    if (s.size() - p < 8) throw Error("category_map: malformed counts from another worker");
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[p + b])) << (8 * b);
    p += 8;
    return v;
  }
  std::string bytes(std::uint64_t n) {
    if (s.size() - p < n) throw Error("category_map: malformed counts from another worker");
    std::string v = s.substr(p, n);
    p += n;
    return v;
  }
  bool done() const { return p == s.size(); }
};

/// Training-row counts of one column's values, by value (a label for a
/// categorical column, never its code; the integer for an int64 column).
struct ValueCounts {
  bool is_int = false;
  std::map<std::string, std::int64_t> labels;
  std::map<std::int64_t, std::int64_t> ints;
  /// Append as little-endian words: kind, entries, then (value, count) pairs.
  void write(std::string& out) const;
  /// Add the counts another worker wrote (throws if the kinds differ).
  void merge(CountReader& in, const std::string& column);
};

ValueCounts count_values(const Column& c, const std::vector<std::uint32_t>& rows);

/// The kept values (most frequent first, ties by value ascending), at most
/// top_k, with count >= min_frequency, never `other`.
std::vector<std::string> select_top(const ValueCounts& v, std::size_t top_k, std::int64_t min_frequency,
                                    const std::string& other);

/// The kept values of `c` over `rows` (most frequent first, ties by value),
/// without the `other` entry. Throws DataError unless c is int64 or categorical.
std::vector<std::string> top_categories(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                        std::int64_t min_frequency, const std::string& other);

/// category_map's parameters (bound in category_map_spec, filled by the host).
struct CategoryMapOptions {
  std::vector<std::string> columns;  ///< resolved names
  std::int64_t top_k = 20;
  std::int64_t min_frequency = 1;
  std::string other;
  bool native = false;
};

class CategoryMap : public Stage {
 public:
  using Options = CategoryMapOptions;
  explicit CategoryMap(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

 private:
  std::vector<std::string> columns_;
  std::size_t top_k_ = 20;
  std::int64_t min_frequency_ = 1;
  std::string other_;
  bool native_ = false;  ///< mark the mapped columns as native categorical features
  bool fitted_ = false;
  std::map<std::string, DictionaryPtr> dicts_;  ///< per column: [kept..., other]
};

}  // namespace pipectl::plugins
