// The plugin boundary.
//
// A plugin is a shared library exporting one C symbol, `pipectl_plugin`, a
// constant PluginDescriptor. The host reads `magic`, `abi_version` and
// `abi_stamp` (fixed at the head of the struct forever) before it calls any
// plugin code, refuses the library when they differ, and keeps every loaded
// library resident for the life of the process.
//
// Writing a plugin:
//
//   class MyStage : public pipectl::Stage { ... };
//   static pipectl::PluginSpec my_spec() {
//     pipectl::PluginSpec s;
//     s.param("k", pipectl::ParamType::Int, "what k is").def(5).range(1, 100);
//     s.schema = [](pipectl::SchemaContext& c) { pipectl::Schema out = c.input(); ...; return out; };
//     return s;
//   }
//   PIPECTL_PLUGIN(my_plugin, "transform", "1.0.0", "one line", my_spec, MyStage)
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/collective.hpp>
#include <pipectl/explanation.hpp>
#include <pipectl/export.hpp>
#include <pipectl/param.hpp>
#include <pipectl/schema.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#define PIPECTL_PLUGIN_MAGIC 0x50495045u  // "PIPE"
#define PIPECTL_PLUGIN_ABI_VERSION 4u

#define PIPECTL_STR2_(x) #x
#define PIPECTL_STR_(x) PIPECTL_STR2_(x)

#if defined(__clang__)
#define PIPECTL_COMPILER_STAMP_ "clang-" PIPECTL_STR_(__clang_major__)
#elif defined(__GNUC__)
#define PIPECTL_COMPILER_STAMP_ "gcc-" PIPECTL_STR_(__GNUC__)
#else
#define PIPECTL_COMPILER_STAMP_ "cc-unknown"
#endif
#if defined(_GLIBCXX_RELEASE)
#define PIPECTL_STDLIB_STAMP_ \
  "libstdc++-" PIPECTL_STR_(_GLIBCXX_RELEASE) "|cxx11abi-" PIPECTL_STR_(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define PIPECTL_STDLIB_STAMP_ "libc++-" PIPECTL_STR_(_LIBCPP_VERSION) "|cxx11abi-na"
#else
#define PIPECTL_STDLIB_STAMP_ "stdlib-unknown|cxx11abi-na"
#endif

/// Compiler / standard library / interface-library stamp. A plugin and the
/// host must agree on every field: C++ objects (std::string, json, Table)
/// cross the boundary.
#define PIPECTL_ABI_STAMP                                                                      \
  PIPECTL_COMPILER_STAMP_ "|" PIPECTL_STDLIB_STAMP_ "|json-" PIPECTL_STR_(                     \
      NLOHMANN_JSON_VERSION_MAJOR) "." PIPECTL_STR_(NLOHMANN_JSON_VERSION_MINOR) "|eigen-" \
      PIPECTL_STR_(EIGEN_WORLD_VERSION) "." PIPECTL_STR_(EIGEN_MAJOR_VERSION)

namespace pipectl {

enum class StageKind { Source, Transform, Splitter, Trainer, Evaluator, Report, Sink };
PIPECTL_API const char* kind_name(StageKind k);
PIPECTL_API bool parse_kind(std::string_view s, StageKind& out);

/// One figure a stage records (StageContext::metric), declared so the tools
/// (`pipectl runs`, `pipectl compare`) name it without knowing the plugin.
/// Recorded in run.json beside the stage's kind.
struct MetricSpec {
  std::string name;         ///< the key under the stage (and under each model, for several models)
  std::string description;  ///< one line
  bool higher_is_better = true;
  bool headline = false;    ///< the stage's main figure (at most one)
};

/// Everything a plugin declares about itself.
struct PIPECTL_API PluginSpec {
  std::vector<ParamSpec> params;
  int min_inputs = 1;
  int max_inputs = 1;  ///< -1 = unbounded
  /// Learns state on training rows (normaliser, encoder, model): the runner
  /// saves it after a fit and loads it back to apply the run to new data.
  bool learns = false;
  /// How the stage behaves on several workers (`pipectl run --workers N`),
  /// each holding a shard of the rows. PerShard: it works row by row and
  /// needs nothing from other shards (a cleaner). Combined: it reads only its
  /// own shard (a source) or combines its statistics over all shards through
  /// StageContext::collective() so every worker holds the state one process
  /// would fit on all rows (a learning stage, an evaluator). No: it cannot
  /// run on several workers. Sources, learning stages, evaluators, reports
  /// and sinks must say Combined to be allowed on more than one worker.
  enum class Distributed { PerShard, Combined, No };
  Distributed distributed = Distributed::PerShard;
  /// How the output schema follows from the parameters and the input
  /// schemas (see schema.hpp): report problems through SchemaContext::error
  /// (or need / select / need_split), return the columns given downstream.
  /// Without a rule the stage passes its (merged) input through unchanged.
  SchemaRule schema;
  /// Sources: the parameter naming the data (`pipectl predict --input`
  /// replaces it: a path parameter takes a file, another one a string such
  /// as a connection string). "" = the source cannot read new input.
  std::string input_param;
  /// Sources that read key ranges (`key_min` / `key_max`): the data of
  /// `params` split into ranges of about `rows` rows each, in key order,
  /// for `pipectl predict`'s chunks (empty = one chunk). Null = no chunks.
  std::function<std::vector<std::pair<std::int64_t, std::int64_t>>(const Params& params, std::int64_t rows)>
      key_ranges;
  /// Sources that know each row's group beyond the columns they give (a
  /// NetCollector database: each session's device, with the device's mac,
  /// manufacturer, hostname and type), for `pipectl predict --by device`:
  /// for the data of `params`, a table of one row per row key — the key
  /// (int64, the key_min/key_max key), the group (int64), then the columns
  /// describing the group (categorical), in the order they are shown. A
  /// table without columns, or null: the data does not say, and predict
  /// groups the rows by their column of role `group` instead.
  std::function<Table(const Params& params)> group_details;
  /// The rule in words, for `pipectl plugins describe` (e.g. "input, with
  /// `columns` scaled to float64; needs a split").
  std::string schema_doc;
  /// The stage implements Stage::explain(): per-row feature contributions
  /// (see explanation.hpp). Read by the host before any data is.
  bool explains = false;
  /// The row roles ("train", "valid", "test") this stage reads of its
  /// inputs in a fit; empty = every row. The runner tells each stage, through
  /// StageContext::consumer_roles(), which roles its consumers read, so that
  /// a trainer predicts only those rows (an evaluator: {"valid", "test"}).
  std::vector<std::string> reads_roles;
  /// The figures worth a column in `pipectl runs list` and compare (an
  /// evaluator's roc_auc, f1, …); others it records are still in metrics.json.
  std::vector<MetricSpec> metrics;
  MetricSpec& metric(std::string name, std::string description, bool higher_is_better = true, bool headline = false);

  ParamSpec& param(std::string name, ParamType type, std::string description);
  const ParamSpec* find(std::string_view name) const;
};

enum class Mode {
  Fit,    ///< a normal run: learning stages fit on training rows
  Apply,  ///< re-applying a fitted run to new data: no fitting, state is loaded
};

/// The runner's services to a running stage (implemented by the host).
class PIPECTL_API StageContext {
 public:
  virtual ~StageContext();
  virtual const std::string& stage_id() const = 0;
  virtual Mode mode() const = 0;
  /// Deterministic per-stage seed derived from the pipeline seed and stage id.
  virtual std::uint64_t seed() const = 0;
  /// This stage's folder in the run (created on first call): artifacts and state.
  virtual std::filesystem::path artifact_dir() = 0;
  /// Add n to the named counter (reported in run.json and the log).
  virtual void count(const std::string& key, std::int64_t n) = 0;
  /// Record a metric: it appears in metrics.json under this stage's id.
  virtual void metric(const std::string& key, const json& value) = 0;
  /// Record a non-deterministic measurement (timings, throughput): run.json only.
  virtual void measure(const std::string& key, const json& value) = 0;
  virtual void info(const std::string& msg) = 0;
  virtual void warn(const std::string& msg) = 0;
  /// Fraction done in [0, 1], for the progress bar.
  virtual void progress(double fraction) = 0;
  /// True once the run is being cancelled (signal, or another stage failed):
  /// long loops should check it and throw pipectl::Interrupted.
  virtual bool cancelled() const = 0;
  /// Threads this stage may use.
  virtual int threads() const = 0;
  /// Text printed to the terminal at the end of the run (e.g. a metrics table).
  virtual void report(const std::string& text) = 0;
  /// The workers of this run (rank 0 of 1 unless the run is distributed).
  virtual Collective& collective();
  /// The row roles the stages that read this stage's output read (the union
  /// of their PluginSpec::reads_roles), sorted; empty = every row (a consumer
  /// reads them all, nothing reads the output, or Mode::Apply). A stage may
  /// leave the other rows' new values NULL, and must say so.
  virtual std::vector<Role> consumer_roles() const;
};

/// One stage instance, created by the plugin's factory with resolved params.
class PIPECTL_API Stage {
 public:
  virtual ~Stage();
  /// Produce this stage's output from its inputs (in `inputs` order). In
  /// Mode::Fit a learning stage fits on the rows whose role is Train, then
  /// applies itself to every row; in Mode::Apply it only applies its loaded
  /// state. Must not modify the inputs.
  virtual Table run(StageContext& ctx, const std::vector<TablePtr>& inputs) = 0;
  /// Fitted state (learning stages), called after run() in Mode::Fit. It may
  /// also write files into `dir` (e.g. a model) and name them in the json.
  virtual json save_state(const std::filesystem::path& dir) const;
  /// Called before run() in Mode::Apply with what save_state returned.
  virtual void load_state(const json& state, const std::filesystem::path& dir);
  /// Stages whose spec says `explains`: the contributions of every feature
  /// to the score of `rows` of `input` (the table run() receives), after a
  /// fit or load_state. The default throws Error.
  virtual Explanation explain(const Table& input, const std::vector<std::uint32_t>& rows, int threads) const;
};

}  // namespace pipectl

extern "C" {
/// The one symbol a plugin exports. The first four fields never move, so a
/// host can read and refuse a descriptor of any ABI version.
struct pipectl_plugin_descriptor {
  std::uint32_t magic;        ///< PIPECTL_PLUGIN_MAGIC
  std::uint32_t abi_version;  ///< PIPECTL_PLUGIN_ABI_VERSION
  const char* abi_stamp;      ///< PIPECTL_ABI_STAMP
  const char* name;
  const char* kind;           ///< "source", "transform", "splitter", "trainer", …
  const char* version;        ///< the plugin's own semantic version
  const char* description;    ///< one line
  pipectl::PluginSpec (*spec)();
  pipectl::Stage* (*create)(const pipectl::Params& params);
};
}

/// Define the plugin's descriptor. NAME is an identifier (the plugin name).
#define PIPECTL_PLUGIN(NAME, KIND, VERSION, DESCRIPTION, SPEC_FN, STAGE_CLASS)           \
  static pipectl::Stage* pipectl_create_##NAME(const pipectl::Params& p) {               \
    return new STAGE_CLASS(p);                                                            \
  }                                                                                       \
  extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {    \
      PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, #NAME, KIND,   \
      VERSION, DESCRIPTION, &SPEC_FN, &pipectl_create_##NAME};
