// cleaner: derives `duration` and the label, drops unusable rows (each
// counted under exactly one reason) and removes raw columns.
//
// Drop reasons, checked in this order; a row is counted under the first
// that applies (`dropped.<reason>.<column>`):
//   1. null.<c>         NULL in a `required` column (in list order), then in
//                       `label_from` (always required unless keep_unlabelled)
//   2. non_finite.<duration>  |end - start| is NaN or infinite
//   3. negative.<c>     a negative value in a `non_negative` column (list order)
//   4. port_range.<c>   a value outside [0, 65535] in a `ports` column (list order)
// In Mode::Apply (pipectl predict) the stage also writes
// stages/<id>/dropped_rows.tsv: `<row index in its input>\t<reason>` per
// dropped row, so predict can give every session its reason.
#pragma once

#include <pipectl/plugin.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace pipectl::plugins {

/// The cleaner's parameters (bound in cleaner_spec, filled by the host).
struct CleanerOptions {
  std::vector<std::string> duration_from;
  std::string duration;
  std::string label;
  std::string label_from;
  std::string label_kind;  ///< "binary" or "multiclass"
  std::string negative;
  std::string positive;
  bool keep_unlabelled = false;
  std::vector<std::string> required;
  std::vector<std::string> non_negative;
  std::vector<std::string> ports;
  std::vector<std::string> drop;
};

PluginSpec cleaner_spec();

struct CleanerConfig {
  std::vector<std::string> duration_from;  ///< {start, end}, or empty = no duration
  std::string duration;
  std::string label;
  std::string label_from;
  bool multiclass = false;
  std::string negative;
  std::string positive;  ///< binary: the label_from value that is class 1 ("" = every value but negative)
  bool keep_unlabelled = false;
  std::vector<std::string> required;
  std::vector<std::string> non_negative;
  std::vector<std::string> ports;
  std::vector<std::string> drop;
  /// Parameters left at their (NetCollector) defaults: the columns they name
  /// apply only where the data has them (see adapted()).
  std::set<std::string> defaulted;

  static CleanerConfig from(const CleanerOptions& o);
  /// What is inconsistent across parameters, as {parameter, message}; the
  /// schema rule reports each (file:line:column) before any stage exists.
  std::vector<std::pair<std::string, std::string>> problems() const;
  /// The configuration for data whose columns `has` tells: the columns that
  /// parameters left at their defaults name are dropped where absent (no
  /// duration without both start and end); columns given explicitly stay
  /// (and are reported missing).
  CleanerConfig adapted(const std::function<bool(const std::string&)>& has) const;
  /// The class names of a binary label: "no,yes", or "not P,P" with `positive`.
  std::string binary_names() const;
  /// The output schema: the input less `drop` and label_from, plus the
  /// duration and the label (each column a parameter names must reach it).
  Schema schema(SchemaContext& ctx) const;
};

class Cleaner : public Stage {
 public:
  using Options = CleanerOptions;
  explicit Cleaner(const Options& o);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  CleanerConfig cfg_;
};

}  // namespace pipectl::plugins
