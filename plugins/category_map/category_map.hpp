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
// State: {"columns": {"<name>": ["443", "80", ..., "other"], ...}, "other": "other"}
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec category_map_spec();

/// The kept values of `c` over `rows` (most frequent first, ties by value),
/// without the `other` entry. Throws DataError unless c is int64 or categorical.
std::vector<std::string> top_categories(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                        std::int64_t min_frequency, const std::string& other);

class CategoryMap : public Stage {
 public:
  explicit CategoryMap(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

 private:
  std::vector<std::string> columns_;
  std::size_t top_k_ = 20;
  std::int64_t min_frequency_ = 1;
  std::string other_;
  bool fitted_ = false;
  std::map<std::string, DictionaryPtr> dicts_;  ///< per column: [kept..., other]
};

}  // namespace pipectl::plugins
