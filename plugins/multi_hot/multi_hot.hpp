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
// Several workers (each a shard of the rows): each counts the document
// frequencies of its training rows by name, the (name, count) pairs of every
// worker are gathered and merged, and every worker ranks the merged counts
// with the same order-free rule, so the vocabulary (and so the codes) is the
// same on every worker and the same as one process fitting all training rows.
//
// State: {"column": "dns", "vocabulary": [...], "other": "other", "none": "none"}
#pragma once

#include <pipectl/plugin.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec multi_hot_spec();

/// Document frequency of each name over `rows` (a name counts once per row),
/// by name (never by a worker's dictionary code).
std::map<std::string, std::int64_t> document_frequency(const Column& c, const std::vector<std::uint32_t>& rows);
/// Names ranked by frequency (descending), ties by name (ascending,
/// bytewise), at most top_k, skipping the names in `reserved`.
std::vector<std::string> select_names(const std::map<std::string, std::int64_t>& df, std::size_t top_k,
                                      const std::vector<std::string>& reserved);
/// (name, count) pairs as little-endian words for the collective, and back
/// (adding into `into`).
std::string write_counts(const std::map<std::string, std::int64_t>& df);
void merge_counts(const std::string& bytes, std::map<std::string, std::int64_t>& into);

/// Names of a multi_categorical column ranked by document frequency over
/// `rows` (ties by name), at most top_k, skipping the names in `reserved`.
std::vector<std::string> top_names(const Column& c, const std::vector<std::uint32_t>& rows, std::size_t top_k,
                                   const std::vector<std::string>& reserved);

/// multi_hot's parameters (bound in multi_hot_spec, filled by the host).
struct MultiHotOptions {
  std::string column;
  std::int64_t top_k = 100;
  std::string other, none;
};

class MultiHot : public Stage {
 public:
  using Options = MultiHotOptions;
  explicit MultiHot(const Options& o);
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
