// pipectl predict --explain K|all and --report devices.html.
//
// The model stage is created once more beside the run (its state loaded
// from the bundle) and asked, chunk by chunk, for the contributions of every
// feature to each session's score (Stage::explain). They are shown as:
//   --explain K    reason_1..reason_K: the K largest |contributions|, as
//                  "feature (+0.123)" with names a person reads;
//   --explain all  contrib.<feature> per model feature plus contrib.bias
//                  (multiclass: contrib.<class>.<feature>), adding up to the
//                  row's log-odds (binary) or class margin.
// A reason's name comes from where the feature comes from (FeatureOrigin:
// the column's type and dictionary), not from its name: a numeric column is
// its name (`bytes`); a categorical column's indicators are summed into one
// reason named by the session's own value (`dstport=8009`); a multi-valued
// column's present values are each a reason (`dns=_googlecast._tcp.local`)
// and its absent ones are summed into `dns (names absent)`.
// With --by device a device's contributions are the mean over its sessions
// (so they add up to the mean log-odds, the device's mean_logodds score).
#pragma once

#include <pipectl/explanation.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/pipeline.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pipectl::cli {

/// A double written so it reads back exactly (%.17g).
std::string fmt17(double v);
/// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);

using Reasons = std::vector<std::pair<std::string, double>>;

/// "feature (+0.123)".
std::string reason_text(const std::string& name, double value);

class PredictExplainer {
 public:
  /// `what` is "K" (1..1000) or "all". Refuses (Error, exit 2) a model whose
  /// plugin does not declare `explains`, before any data is read.
  PredictExplainer(const std::string& what, const PluginRegistry& reg, const ResolvedStage& model,
                   const std::filesystem::path& run);
  bool all() const { return k_ == 0; }
  int k() const { return k_; }

  /// The model's input table of one chunk and each row's predicted class
  /// index (pred_label's code) and device key (-1 = none, or no --by device).
  void chunk(const Table& input, const std::vector<std::int32_t>& pred, const std::vector<std::int64_t>& device);
  /// ",reason_1,…" or ",contrib.…" for the session CSV header (after chunk()
  /// was called once; the feature names come from the model).
  std::string session_header() const;
  /// The CSV suffix (leading comma) of row `row` of the last chunk.
  const std::string& session_suffix(std::size_t row) const { return suffix_.at(row); }

  /// Device level: the same header, and a device's suffix for the group
  /// (class index; binary: ignored) from its sessions' mean contributions.
  std::string device_header() const { return session_header(); }
  std::string device_suffix(std::int64_t device, std::size_t group) const;
  /// A device's reasons, largest |mean contribution| first.
  Reasons device_reasons(std::int64_t device, std::size_t group) const;

 private:
  std::size_t group_of(std::int32_t pred) const;
  Reasons row_reasons(const Explanation& e, const Table& input, std::size_t row, std::uint32_t table_row,
                      std::size_t group) const;
  std::string format_all(const std::vector<double>& v, std::size_t groups) const;

  int k_ = 0;  // 0 = all
  std::unique_ptr<Stage> stage_;
  std::vector<std::string> features_, groups_;
  std::vector<std::string> suffix_;
  struct Dev {
    std::int64_t sessions = 0;
    std::vector<std::map<std::string, double>> reasons;  // per group
    std::vector<double> all;                             // groups x (features + 1), --explain all
  };
  std::map<std::int64_t, Dev> devs_;
};

/// One device of `pipectl predict --by device --report`.
struct DeviceLine {
  std::vector<std::string> desc;  ///< what describes the device (the first: its key), in the header's order
  std::string verdict;
  std::int64_t sessions = 0;
  double probability = 0;
  Reasons reasons;  ///< top reasons (empty when the model cannot explain)
};

/// The self-contained devices page (no script, no network): one row per
/// device in the given order (by probability), with its top reasons as bars.
std::string devices_html(const std::string& run, const std::string& model, const std::string& input,
                         const std::vector<std::string>& header, const std::vector<DeviceLine>& lines, bool binary,
                         const std::string& note);

}  // namespace pipectl::cli
