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

#include <string>
#include <vector>

namespace pipectl::plugins {

PluginSpec cleaner_spec();

struct CleanerConfig {
  std::vector<std::string> duration_from;  ///< {start, end}, or empty = no duration
  std::string duration;
  std::string label;
  std::string label_from;
  bool multiclass = false;
  std::string negative;
  bool keep_unlabelled = false;
  std::vector<std::string> required;
  std::vector<std::string> non_negative;
  std::vector<std::string> ports;
  std::vector<std::string> drop;

  /// Throws pipectl::Error on an inconsistent configuration.
  static CleanerConfig from(const Params& p);
  /// needs / makes / drops of the stage.
  Contract contract() const;
};

class Cleaner : public Stage {
 public:
  explicit Cleaner(const Params& p);
  Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) override;

 private:
  CleanerConfig cfg_;
};

}  // namespace pipectl::plugins
