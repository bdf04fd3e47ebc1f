// Pipeline files: TOML in, declarations with source positions out.
//
//   [pipeline]
//   name = "iot"            # default: the file's stem
//   description = "…"
//   seed = 42
//   plugin_path = ["plugins"]   # optional extra plugin folders
//
//   [[stage]]
//   id = "source"
//   plugin = "sqlite"
//   inputs = []             # owned by the framework, not the plugin
//   path = "${PIPECTL_DB:-../data/demo.sqlite}"   # the plugin's parameters
//
// String values expand ${VAR} and ${VAR:-default} ("$$" is a literal "$").
// Parsing never stops at the first problem: every finding is collected as a
// Diagnostic with file:line:column and reported together by validation.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/export.hpp>
#include <pipectl/param.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pipectl {

struct PIPECTL_API ParamDecl {
  std::string key;
  json value;
  SourcePos key_pos;    ///< where the key is written
  SourcePos value_pos;  ///< where the value is written
  bool from_override = false;  ///< given with --set (paths then resolve against the working directory)
};

struct PIPECTL_API StageDecl {
  std::string id;
  SourcePos pos;  ///< the [[stage]] header
  SourcePos id_pos;
  std::string plugin;
  SourcePos plugin_pos;
  bool has_plugin = false;
  std::vector<std::string> inputs;
  std::vector<SourcePos> input_pos;
  SourcePos inputs_pos;
  bool inputs_invalid = false;  ///< `inputs` was not a list (already reported)
  std::vector<ParamDecl> params;  ///< in file order; --set overrides replace or append
  const ParamDecl* find_param(const std::string& key) const;
};

struct PIPECTL_API PipelineDecl {
  std::string display_file;          ///< as given on the command line
  std::filesystem::path base_dir;    ///< relative paths resolve against it
  std::string name;
  SourcePos name_pos;
  std::string description;
  std::int64_t seed = 0;
  std::vector<std::filesystem::path> plugin_path;
  std::vector<StageDecl> stages;
  std::vector<Diagnostic> diagnostics;  ///< problems found while reading
  bool syntax_ok = true;
};

/// `--set stage.key=value` (value parsed as a TOML value when it is one,
/// otherwise taken as a string). `pipeline.seed=7` etc. set pipeline keys.
struct PIPECTL_API Override {
  std::string stage;
  std::string key;
  std::string text;
  static Override parse(const std::string& arg);  ///< throws Error(Usage) when malformed
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
PIPECTL_API EnvLookup process_env();

struct PIPECTL_API ReadOptions {
  std::vector<Override> overrides;
  EnvLookup env = process_env();
  bool expand_env = true;  ///< off when re-reading a resolved pipeline
};

PIPECTL_API PipelineDecl read_pipeline_file(const std::filesystem::path& file, const ReadOptions& opt = {});
PIPECTL_API PipelineDecl read_pipeline_text(const std::string& text, const std::string& display_file,
                                            const std::filesystem::path& base_dir, const ReadOptions& opt = {});

/// Expand ${VAR} / ${VAR:-default} / $$; on an unset variable returns
/// nullopt and sets `error` to `environment variable "VAR" is not set`.
PIPECTL_API std::optional<std::string> expand_env(const std::string& s, const EnvLookup& env, std::string& error);

/// How deeply a TOML text nests tables and arrays: the levels of its table
/// headers' and keys' dotted parts plus its arrays and inline tables. `line`
/// and `column` (1-based; 0 for an empty text) are where it first goes deeper
/// than `limit`, or where it is deepest when it never does. toml++ limits
/// nested values but not dotted keys, and walks the tree recursively: a text
/// nested deeper than kMaxTomlDepth is refused before it is parsed.
struct TomlDepth {
  std::size_t depth = 0;
  int line = 0;
  int column = 0;
};
inline constexpr std::size_t kMaxTomlDepth = 256;
PIPECTL_API TomlDepth toml_nesting_depth(std::string_view text, std::size_t limit = kMaxTomlDepth);

/// Closest candidates by edit distance (for "did you mean …?").
PIPECTL_API std::vector<std::string> closest(const std::string& word, const std::vector<std::string>& candidates,
                                             std::size_t max = 3);

}  // namespace pipectl
