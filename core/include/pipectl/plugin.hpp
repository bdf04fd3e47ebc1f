// The plugin boundary.
//
// A plugin is a shared library exporting one C symbol, `pipectl_plugin`, a
// constant PluginDescriptor. The host reads `magic`, `abi_version` and
// `abi_stamp` (fixed at the head of the struct forever) before it calls any
// plugin code, refuses the library when they differ, and keeps every loaded
// library resident for the life of the process.
//
// Writing a plugin: its parameters are bound once, to the members of a
// plain struct (as dmlc's DMLC_DECLARE_FIELD binds them); the host fills the
// struct from the validated values and the stage's constructor receives it.
//
//   struct MyOptions { std::int64_t k; std::filesystem::path out; std::optional<double> cap; };
//   class MyStage : public pipectl::Stage {
//    public:
//     using Options = MyOptions;
//     explicit MyStage(const Options& o);
//     ...
//   };
//   static pipectl::PluginSpec my_spec() {
//     pipectl::PluginSpec s;
//     s.param("k", &MyOptions::k, "what k is").def(5).range(1, 100);  // Int: from std::int64_t
//     s.param("out", &MyOptions::out, "where it goes").required();     // Path: from std::filesystem::path
//     s.param("cap", &MyOptions::cap, "an upper bound, if any").above(0);  // no default: optional
//     s.schema = [](pipectl::SchemaContext& c) { pipectl::Schema out = c.input(); ...; return out; };
//     return s;
//   }
//   PIPECTL_PLUGIN(my_plugin, "transform", "1.0.0", "one line", my_spec, MyStage)
//
// The parameter type follows from the member type (see param_member.hpp);
// where the C++ type fits several it is given: s.param("cols", &O::cols,
// ParamType::Columns, "…"). A declaration whose member cannot hold its
// type is refused when the spec is read, before any stage exists: the
// loader reports the plugin refused. Ranges, choices and cross-parameter
// rules are the validator's (the ParamSpec and the schema rule); the
// constructor re-checks nothing.
//
// Transition: a stage class without an `Options` type is constructed from
// `const Params&` (values read by name), its parameters declared with
// s.param(name, ParamType, description) as before.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/collective.hpp>
#include <pipectl/explanation.hpp>
#include <pipectl/export.hpp>
#include <pipectl/param.hpp>
#include <pipectl/param_member.hpp>
#include <pipectl/schema.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
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

  /// An unbound parameter (a stage constructed from `const Params&`).
  ParamSpec& param(std::string name, ParamType type, std::string description);
  /// A parameter bound to `member` of the options struct C, its type that
  /// of the member (see param_member.hpp).
  template <class C, class T>
  ParamSpec& param(std::string name, T C::*member, std::string description) {
    static_assert(param_member::Traits<T>::supported,
                  "pipectl: a parameter binds to a member of type bool, int, std::int64_t, double, std::string, "
                  "std::filesystem::path, std::vector<std::string>, pipectl::json or std::optional of one of them");
    return param(std::move(name), member, param_member::Traits<T>::deduced, std::move(description));
  }
  /// A parameter bound to `member`, of the type given (Path for a
  /// std::string, Columns for a std::vector<std::string>, any for json).
  /// A member that cannot hold `type` throws Error: the spec is refused.
  template <class C, class T>
  ParamSpec& param(std::string name, T C::*member, ParamType type, std::string description);
  const ParamSpec* find(std::string_view name) const;
};

/// Binds the declared parameter `p` to `member` of the options struct C
/// (what PluginSpec::param(name, &C::member, …) does; for helpers that
/// declare a parameter first, e.g. declare_trainer_params). Throws Error
/// when the member cannot hold p's type.
template <class C, class T>
ParamSpec& bind_member(ParamSpec& p, T C::*member) {
  using Tr = param_member::Traits<T>;
  static_assert(Tr::supported,
                "pipectl: a parameter binds to a member of type bool, int, std::int64_t, double, std::string, "
                "std::filesystem::path, std::vector<std::string>, pipectl::json or std::optional of one of them");
  if (!Tr::accepts(p.type))
    throw Error("parameter \"" + p.name + "\" is declared " + param_type_name(p.type) + " but bound to a " + Tr::name +
                " member");
  p.store = [member](void* options, const json& v) { return Tr::store(static_cast<C*>(options)->*member, v); };
  p.bound_to = &typeid(C);
  p.member_type = Tr::name;
  p.member_optional = Tr::optional;
  return p;
}

template <class C, class T>
ParamSpec& PluginSpec::param(std::string name, T C::*member, ParamType type, std::string description) {
  static_assert(param_member::Traits<T>::supported,
                "pipectl: a parameter binds to a member of type bool, int, std::int64_t, double, std::string, "
                "std::filesystem::path, std::vector<std::string>, pipectl::json or std::optional of one of them");
  if (!param_member::Traits<T>::accepts(type))
    throw Error("parameter \"" + name + "\" is declared " + param_type_name(type) + " but bound to a " +
                param_member::Traits<T>::name + " member");
  ParamSpec& p = param(std::move(name), type, std::move(description));
  return bind_member(p, member);
}

/// The options struct O filled from validated `params` (every parameter of
/// `spec` bound to a member of O; an absent value is null). Throws Error
/// when a value does not fit its member (the validator lets none through).
template <class O>
O bind_options(const PluginSpec& spec, const Params& params) {
  O o{};
  for (const auto& p : spec.params) {
    if (!p.store || !p.bound_to || *p.bound_to != typeid(O))
      throw Error("parameter \"" + p.name + "\" is not bound to a member of the stage's options");
    auto it = params.all().find(p.name);
    auto e = p.store(&o, it == params.all().end() ? json() : *it);
    if (!e.empty()) throw Error("parameter \"" + p.name + "\": " + e);
  }
  return o;
}

namespace plugin_detail {
template <class S, class = void>
struct HasOptions : std::false_type {};
template <class S>
struct HasOptions<S, std::void_t<typename S::Options>> : std::true_type {};
}  // namespace plugin_detail

/// The spec a plugin gives the host (PIPECTL_PLUGIN calls it for the
/// descriptor): `spec`, checked against the stage class S. With S::Options,
/// every parameter must be bound to a member of it, one without a default
/// that is not required to a member that holds "no value" (std::optional or
/// json), and each default must pass its own check and fit its member.
/// Without, no parameter may be bound. Throws Error naming the parameter:
/// the loader refuses the plugin before any stage is created.
template <class S>
PluginSpec checked_spec(PluginSpec spec) {
  if constexpr (plugin_detail::HasOptions<S>::value) {
    using O = typename S::Options;
    static_assert(std::is_default_constructible_v<O>, "pipectl: a stage's Options must be default-constructible");
    static_assert(std::is_constructible_v<S, const O&>, "pipectl: a stage with Options needs a constructor S(const Options&)");
    O scratch{};
    for (const auto& p : spec.params) {
      const std::string who = "parameter \"" + p.name + "\"";
      if (!p.store || !p.bound_to) throw Error(who + " is bound to no member of the stage's options");
      if (*p.bound_to != typeid(O)) throw Error(who + " is bound to a member of another struct than the stage's options");
      if (p.default_value.is_null()) {
        if (!p.is_required && !p.member_optional)
          throw Error(who + " has no default and is not required, but its " + p.member_type +
                      " member cannot hold \"not given\" (make it std::optional)");
        continue;
      }
      auto e = p.check(p.default_value);
      if (!e.empty()) throw Error(who + ": its default " + e);
      e = p.store(&scratch, p.default_value);
      if (!e.empty()) throw Error(who + ": its default does not fit: " + e);
    }
  } else {
    static_assert(std::is_constructible_v<S, const Params&>,
                  "pipectl: a stage class needs an `Options` type and a constructor S(const Options&), "
                  "or a constructor S(const Params&)");
    for (const auto& p : spec.params)
      if (p.store)
        throw Error("parameter \"" + p.name + "\" is bound to a member, but the stage has no Options type to fill");
  }
  return spec;
}


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

/// The stage S for `params`: S(bind_options<S::Options>(spec, params)), or
/// S(params) for a stage without Options. SPEC is the checked spec function.
template <class S, PluginSpec (*SPEC)()>
Stage* create_stage(const Params& params) {
  if constexpr (plugin_detail::HasOptions<S>::value) {
    static const PluginSpec spec = SPEC();
    return new S(bind_options<typename S::Options>(spec, params));
  } else {
    return new S(params);
  }
}

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

/// Define the plugin's descriptor. NAME is an identifier (the plugin name);
/// SPEC_FN returns the PluginSpec, checked against STAGE_CLASS (checked_spec)
/// when the host reads it; the factory fills STAGE_CLASS::Options from the
/// validated parameters (or passes them as Params to a stage without one).
#define PIPECTL_PLUGIN(NAME, KIND, VERSION, DESCRIPTION, SPEC_FN, STAGE_CLASS)                        \
  static pipectl::PluginSpec pipectl_spec_##NAME() { return pipectl::checked_spec<STAGE_CLASS>(SPEC_FN()); } \
  static pipectl::Stage* pipectl_create_##NAME(const pipectl::Params& p) {                            \
    return pipectl::create_stage<STAGE_CLASS, &pipectl_spec_##NAME>(p);                               \
  }                                                                                                    \
  extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {                 \
      PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, #NAME, KIND,                \
      VERSION, DESCRIPTION, &pipectl_spec_##NAME, &pipectl_create_##NAME};
