// multi_hot: maps a multi-valued column (the DNS names of a session) onto a
// vocabulary fitted on the training rows.
//
// Fit: the document frequency of each name over the Train rows (a name
// counts once per row) ranks the names; the top_k are kept, most frequent
// first, ties by name (bytewise). Names equal to `other` or `none` are never
// kept. Vocabulary = [kept..., other, none] (none left out when "").
// Apply: each row holds the codes of its kept names, plus `other` once if it
// has any name that is not kept, or just `none` when it has no name at all
// (an empty or NULL row); codes are sorted and unique within a row. The
// output is a multi_categorical column of the same name, without NULLs.
//
// State: {"column": "dns", "vocabulary": [...], "other": "other", "none": "none"}
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec multi_hot_spec();

/// Names of a multi_categorical column ranked by document frequency over
/// `rows` (ties by name), at most top_k, skipping the names in `reserved`.
std::vector<std::string> top_names(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                   const std::vector<std::string>& reserved);

class MultiHot : public Stage {
 public:
  explicit MultiHot(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;
  json save_state(const std::filesystem::path& dir) const override;
  void load_state(const json& state, const std::filesystem::path& dir) override;

 private:
  std::string column_;
  std::size_t top_k_ = 100;
  std::string other_;
  std::string none_;
  bool fitted_ = false;
  DictionaryPtr vocab_;  ///< [kept..., other, none?]
  std::size_t kept_ = 0;
};

}  // namespace pipectl::plugins
