// Validation: a PipelineDecl plus the plugin registry become a
// ResolvedPipeline — or every problem at once, each with file:line:column.
//
// Checked: TOML syntax; stage ids (present, unique, [A-Za-z0-9_-]); plugins
// (known, with the closest names); inputs (a list, known ids, arity); each
// parameter against its declaration (unknown key with the allowed ones,
// type, range, choices, required); cycles (printed as their path); and the
// schemas along the graph: each plugin's schema rule is called, from the
// sources down, with its inputs' schemas (missing columns, wrong types, empty
// column selections, a missing split), its column selectors are resolved and
// the resolved names replace them in the stage's parameters.
#pragma once

#include <pipectl/config.hpp>
#include <pipectl/export.hpp>
#include <pipectl/graph.hpp>
#include <pipectl/loader.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pipectl {

struct PIPECTL_API ResolvedStage {
  std::string id;
  const LoadedPlugin* plugin = nullptr;
  std::vector<std::size_t> inputs;  ///< indices into ResolvedPipeline::stages
  Params params;                    ///< every declared parameter, defaults filled, paths absolute
  Schema schema;                    ///< the output schema its rule declared (known = false: learnt at run time)
  /// An input's schema was not known at validation: the runner calls the
  /// rule again with what the inputs actually gave, before the stage runs.
  bool deferred = false;
  std::map<std::string, SourcePos> param_pos;  ///< where each given parameter's value is written
  SourcePos pos;                    ///< the [[stage]] header
  std::uint64_t seed = 0;           ///< derived from the pipeline seed and the stage id
  SourcePos plugin_pos;             ///< where `plugin = ...` is (or the [[stage]] header)
};

struct PIPECTL_API ResolvedPipeline {
  std::string name;
  std::string description;
  std::int64_t seed = 0;
  std::string display_file;
  std::filesystem::path base_dir;
  std::vector<ResolvedStage> stages;  ///< declaration order
  std::vector<std::size_t> order;     ///< topological order
  StageGraph graph{{}};

  std::size_t index_of(const std::string& id) const;  ///< throws if absent
  /// The resolved pipeline as JSON (what ran: env expanded, --set applied, defaults filled).
  json to_json() const;
  /// The same, as a TOML document that `pipectl run` accepts.
  std::string to_toml() const;
  /// SHA-1 (hex) of the canonical JSON.
  std::string hash() const;
};

/// Validate; throws ConfigError with every diagnostic (sorted by position)
/// or PluginLoadError when a needed plugin's library was refused.
PIPECTL_API ResolvedPipeline resolve_pipeline(const PipelineDecl& decl, const PluginRegistry& registry);

/// Call stage `s`'s schema rule with `inputs`: its output schema, and its
/// parameters with every column selector resolved. Problems become
/// diagnostics at the parameter's position (or the stage's).
struct PIPECTL_API SchemaResult {
  Schema schema;
  Params params;
  std::vector<Diagnostic> diagnostics;
};
PIPECTL_API SchemaResult apply_schema_rule(const ResolvedStage& s, const std::vector<Schema>& inputs);

/// Can every stage run on `world` workers, each with a shard of the rows?
/// Throws ConfigError naming every stage that cannot (see
/// PluginSpec::distributed); does nothing when world is 1.
PIPECTL_API void check_distributed(const ResolvedPipeline& p, int world);

/// Deterministic per-stage seed.
PIPECTL_API std::uint64_t stage_seed(std::int64_t pipeline_seed, const std::string& stage_id);

/// Hex SHA-1 of bytes.
PIPECTL_API std::string sha1_hex(const std::string& bytes);

}  // namespace pipectl
