// Parameters bound once: a plugin declares a struct of typed members, binds
// each parameter to one, and the host fills it from the validated values.
// In-process stages here (checked_spec, bind_options, create_stage), and the
// fixture plugins test_bound / test_bound_mismatch through the loader and
// the validator (paths resolved against the pipeline file's folder).
#include <doctest/doctest.h>

#include <pipectl/config.hpp>
#include <pipectl/error.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/pipeline.hpp>
#include <pipectl/plugin.hpp>
#include <pipectl/testing.hpp>

#include <memory>
#include <optional>

using namespace pipectl;
using V = std::vector<std::string>;

namespace {

struct Opts {
  bool flag = false;
  std::int64_t count = 0;
  int small = 0;
  double rate = 0;
  std::string name;
  std::filesystem::path file;
  std::vector<std::string> tags;
  std::vector<std::string> cols;
  json extra;
  std::optional<double> cap;
  std::optional<std::string> label;
};

class Bound : public Stage {
 public:
  using Options = Opts;
  explicit Bound(const Options& o) : o(o) {}
  Table run(StageContext&, const std::vector<TablePtr>&) override { return Table{}; }
  Options o;
};

PluginSpec bound_spec() {
  PluginSpec s;
  s.param("flag", &Opts::flag, "").def(true);
  s.param("count", &Opts::count, "").def(7).range(0, 100);
  s.param("small", &Opts::small, "").def(-3);
  s.param("rate", &Opts::rate, "").def(0.5).range_open_low(0, 1);
  s.param("name", &Opts::name, "").def("n");
  s.param("file", &Opts::file, "").def("");
  s.param("tags", &Opts::tags, "").def(json::array({"a"}));
  s.param("cols", &Opts::cols, ParamType::Columns, "").def(json::array({"x"}));
  s.param("extra", &Opts::extra, "");
  s.param("cap", &Opts::cap, "").above(0);
  s.param("label", &Opts::label, "");
  return s;
}
PluginSpec checked_bound_spec() { return checked_spec<Bound>(bound_spec()); }

std::unique_ptr<Bound> make(json values) {
  return std::unique_ptr<Bound>(static_cast<Bound*>(create_stage<Bound, &checked_bound_spec>(Params(std::move(values)))));
}

// The transition path: a stage constructed from `const Params&`.
class Legacy : public Stage {
 public:
  explicit Legacy(const Params& p) : k(p.integer("k")) {}
  Table run(StageContext&, const std::vector<TablePtr>&) override { return Table{}; }
  std::int64_t k;
};
PluginSpec legacy_spec() {
  PluginSpec s;
  s.param("k", ParamType::Int, "").def(5);
  return s;
}
PluginSpec checked_legacy_spec() { return checked_spec<Legacy>(legacy_spec()); }

std::string refusal(const std::function<PluginSpec()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("params: each member type receives its value") {
  auto s = make({{"flag", false}, {"count", 42}, {"small", -9}, {"rate", 1.0}, {"name", "m"}, {"file", "/d/f.csv"},
                 {"tags", V{"p", "q"}}, {"cols", V{"c1", "c2"}}, {"extra", {{"max_bin", 64}}}, {"cap", 2.5},
                 {"label", "y"}});
  CHECK(s->o.flag == false);
  CHECK(s->o.count == 42);
  CHECK(s->o.small == -9);
  CHECK(s->o.rate == 1.0);
  CHECK(s->o.name == "m");
  CHECK(s->o.file == std::filesystem::path("/d/f.csv"));
  CHECK(s->o.tags == V{"p", "q"});
  CHECK(s->o.cols == V{"c1", "c2"});
  CHECK(s->o.extra == json{{"max_bin", 64}});
  REQUIRE(s->o.cap.has_value());
  CHECK(*s->o.cap == 2.5);
  REQUIRE(s->o.label.has_value());
  CHECK(*s->o.label == "y");
}

TEST_CASE("params: the parameter type follows from the member type") {
  const auto s = bound_spec();
  CHECK(s.find("flag")->type == ParamType::Bool);
  CHECK(s.find("count")->type == ParamType::Int);
  CHECK(s.find("small")->type == ParamType::Int);
  CHECK(s.find("rate")->type == ParamType::Float);
  CHECK(s.find("name")->type == ParamType::String);
  CHECK(s.find("file")->type == ParamType::Path);
  CHECK(s.find("tags")->type == ParamType::StringList);
  CHECK(s.find("cols")->type == ParamType::Columns);
  CHECK(s.find("extra")->type == ParamType::Table);
  CHECK(s.find("cap")->type == ParamType::Float);
  CHECK(s.find("label")->type == ParamType::String);
  // The declaration still drives `plugins describe` and the JSON schema.
  CHECK(s.find("rate")->to_json() == json{{"name", "rate"}, {"type", "float"}, {"description", ""},
                                          {"required", false}, {"default", 0.5}, {"min", 0.0}, {"max", 1.0},
                                          {"min_open", true}});
}

TEST_CASE("params: defaults fill the members, a parameter without one leaves its optional empty") {
  auto s = make(testing::params_with_defaults(bound_spec()).all());
  CHECK(s->o.flag == true);
  CHECK(s->o.count == 7);
  CHECK(s->o.small == -3);
  CHECK(s->o.rate == 0.5);
  CHECK(s->o.name == "n");
  CHECK(s->o.tags == V{"a"});
  CHECK(s->o.cols == V{"x"});
  CHECK(s->o.extra.is_null());
  CHECK_FALSE(s->o.cap.has_value());
  CHECK_FALSE(s->o.label.has_value());
  // What the test helper builds is what the factory builds.
  const auto o = testing::options_with_defaults<Opts>(bound_spec(), {{"count", 9}});
  CHECK(o.count == 9);
  CHECK(o.rate == 0.5);
}

TEST_CASE("params: a value that does not fit its member is refused by the factory, naming it") {
  CHECK_THROWS_WITH_AS(make({{"count", "seven"}}), "parameter \"flag\": a bool member cannot hold no value", Error);
  auto all = testing::params_with_defaults(bound_spec()).all();
  all["small"] = 1LL << 40;
  CHECK_THROWS_WITH_AS(make(all), "parameter \"small\": a int member cannot hold 1099511627776", Error);
  all = testing::params_with_defaults(bound_spec()).all();
  all["tags"] = json::array({"a", 1});
  CHECK_THROWS_WITH_AS(make(all), "parameter \"tags\": a std::vector<std::string> member cannot hold [\"a\",1]",
                       Error);
}

TEST_CASE("params: a declaration that does not match its member is refused when the spec is read") {
  struct O {
    std::int64_t n = 0;
    std::string s;
    std::vector<std::string> l;
    double d = 0;
  };
  struct S : Stage {
    using Options = O;
    explicit S(const O&) {}
    Table run(StageContext&, const std::vector<TablePtr>&) override { return Table{}; }
  };
  CHECK(refusal([] {
          PluginSpec s;
          s.param("n", &O::n, ParamType::Path, "");
          return s;
        }) == "parameter \"n\" is declared path but bound to a std::int64_t member");
  CHECK(refusal([] {
          PluginSpec s;
          s.param("l", &O::l, ParamType::String, "");
          return s;
        }) == "parameter \"l\" is declared string but bound to a std::vector<std::string> member");
  // std::string takes a path; a list takes columns; nothing else is widened.
  CHECK(refusal([] {
          PluginSpec s;
          s.param("s", &O::s, ParamType::Path, "").def("");
          s.param("l", &O::l, ParamType::Columns, "").def(json::array());
          return checked_spec<S>(s);
        }) == "(accepted)");
  // A default of the wrong type or out of its own range.
  CHECK(refusal([] {
          PluginSpec s;
          s.param("n", &O::n, "").def("five");
          return checked_spec<S>(s);
        }) == "parameter \"n\": its default expects an integer, got string \"five\"");
  CHECK(refusal([] {
          PluginSpec s;
          s.param("d", &O::d, "").def(0).range_open_low(0, 1);
          return checked_spec<S>(s);
        }) == "parameter \"d\": its default must be in (0, 1], got 0");
  // No default, not required: the member must be able to hold "not given".
  CHECK(refusal([] {
          PluginSpec s;
          s.param("d", &O::d, "");
          return checked_spec<S>(s);
        }) == "parameter \"d\" has no default and is not required, but its double member cannot hold \"not given\" "
              "(make it std::optional)");
  CHECK(refusal([] {
          PluginSpec s;
          s.param("d", &O::d, "").required();
          return checked_spec<S>(s);
        }) == "(accepted)");
  // Every parameter of a stage with Options is bound, to that struct.
  CHECK(refusal([] {
          PluginSpec s;
          s.param("k", ParamType::Int, "").def(1);
          return checked_spec<S>(s);
        }) == "parameter \"k\" is bound to no member of the stage's options");
  CHECK(refusal([] {
          PluginSpec s;
          s.param("count", &Opts::count, "").def(1);
          return checked_spec<S>(s);
        }) == "parameter \"count\" is bound to a member of another struct than the stage's options");
  // A stage constructed from Params binds nothing.
  CHECK(refusal([] {
          PluginSpec s;
          s.param("count", &Opts::count, "").def(1);
          return checked_spec<Legacy>(s);
        }) == "parameter \"count\" is bound to a member, but the stage has no Options type to fill");
}

TEST_CASE("params: a stage without Options is still constructed from Params (transition path)") {
  CHECK(refusal(checked_legacy_spec) == "(accepted)");
  std::unique_ptr<Legacy> s(static_cast<Legacy*>(create_stage<Legacy, &checked_legacy_spec>(Params(json{{"k", 11}}))));
  CHECK(s->k == 11);
}

namespace {
const PluginRegistry& bound_registry() {
  static PluginRegistry r = [] {
    PluginRegistry reg;
    reg.set_allow_insecure(true);
    reg.load_dir(FIXTURES_BOUND);
    reg.load_dir(FIXTURES_BOUND_REFUSED);
    return reg;
  }();
  return r;
}
}  // namespace

TEST_CASE("params: through the loader and the validator, relative paths resolved against the pipeline's folder") {
  const auto& reg = bound_registry();
  ReadOptions ro;
  ro.expand_env = false;
  auto p = resolve_pipeline(read_pipeline_text("[[stage]]\nid = \"b\"\nplugin = \"test_bound\"\ncount = 12\n"
                                               "file_text = \"rel/x.txt\"\nmaybe_file = \"m.bin\"\n"
                                               "extra = { k = 1 }\n",
                                               "p.toml", "/nonexistent/base", ro),
                            reg);
  const auto& st = p.stages[p.index_of("b")];
  auto stage = reg.create(*st.plugin, "b", st.params);
  testing::TestContext ctx;
  stage->run(ctx, {});
  const json o = ctx.metrics["options"];
  CHECK(o["count"] == 12);
  CHECK(o["flag"] == true);
  CHECK(o["small"] == -3);
  CHECK(o["rate"] == 0.5);
  CHECK(o["name"] == "n");
  CHECK(o["file"] == "/nonexistent/base/data/in.csv");  // a default path, resolved too
  CHECK(o["file_text"] == "/nonexistent/base/rel/x.txt");
  CHECK(o["maybe_file"] == "/nonexistent/base/m.bin");
  CHECK(o["tags"] == json::array({"a", "b"}));
  CHECK(o["extra"] == json{{"k", 1}});
  CHECK(o["cap"].is_null());
  // The validator checks ranges against the same declaration: rate in (0, 1].
  try {
    resolve_pipeline(read_pipeline_text("[[stage]]\nid = \"b\"\nplugin = \"test_bound\"\nrate = 0\n", "p.toml",
                                        "/nonexistent/base", ro),
                     reg);
    FAIL("rate = 0 was accepted");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].str() ==
          "p.toml:4:8: parameter \"rate\" of stage \"b\" must be in (0, 1], got 0");
  }
}

TEST_CASE("params: the loader refuses a plugin whose declaration does not match its member") {
  const auto& reg = bound_registry();
  CHECK(reg.find("test_bound_mismatch") == nullptr);
  const auto* pr = reg.problem_for("test_bound_mismatch");
  REQUIRE(pr != nullptr);
  CHECK(pr->message.find("(\"test_bound_mismatch\") refused: its spec() threw: parameter \"count\" is declared "
                         "path but bound to a std::int64_t member") != std::string::npos);
}
