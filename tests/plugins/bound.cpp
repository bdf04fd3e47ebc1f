// Fixture: a source whose parameters are bound to an options struct of
// every supported member type. Its run() reports, as the metric "options",
// the values its constructor received (tests/core/test_params.cpp).
#include <pipectl/plugin.hpp>

#include <optional>

using namespace pipectl;

namespace {

struct BoundOptions {
  bool flag = false;
  std::int64_t count = 0;
  int small = 0;
  double rate = 0;
  std::string name;
  std::filesystem::path file;
  std::string file_text;
  std::vector<std::string> tags;
  json extra;
  std::optional<double> cap;
  std::optional<std::filesystem::path> maybe_file;
};

template <class T>
json opt(const std::optional<T>& o) {
  if (!o) return nullptr;
  if constexpr (std::is_same_v<T, std::filesystem::path>) return o->string();
  else return *o;
}

class Bound : public Stage {
 public:
  using Options = BoundOptions;
  explicit Bound(const Options& o) : o_(o) {}
  Table run(StageContext& ctx, const std::vector<TablePtr>&) override {
    ctx.metric("options", {{"flag", o_.flag}, {"count", o_.count}, {"small", o_.small}, {"rate", o_.rate},
                           {"name", o_.name}, {"file", o_.file.string()}, {"file_text", o_.file_text},
                           {"tags", o_.tags}, {"extra", o_.extra}, {"cap", opt(o_.cap)},
                           {"maybe_file", opt(o_.maybe_file)}});
    Table t;
    return t.with(Column::make_i64("x", {o_.count}));
  }

 private:
  Options o_;
};

PluginSpec bound_spec() {
  PluginSpec s;
  s.min_inputs = s.max_inputs = 0;
  s.param("flag", &BoundOptions::flag, "a bool").def(true);
  s.param("count", &BoundOptions::count, "an int64").def(7).range(0, 100);
  s.param("small", &BoundOptions::small, "an int").def(-3);
  s.param("rate", &BoundOptions::rate, "a double").def(0.5).range_open_low(0, 1);
  s.param("name", &BoundOptions::name, "a string").def("n").one_of({"n", "m"});
  s.param("file", &BoundOptions::file, "a path").def("data/in.csv");
  s.param("file_text", &BoundOptions::file_text, ParamType::Path, "a path held as a string").def("");
  s.param("tags", &BoundOptions::tags, "a string list").def(json::array({"a", "b"}));
  s.param("extra", &BoundOptions::extra, "a table, no default");
  s.param("cap", &BoundOptions::cap, "an optional double").above(0);
  s.param("maybe_file", &BoundOptions::maybe_file, "an optional path");
  s.schema = [](SchemaContext&) {
    Schema out;
    out.columns = {{"x", DType::Int64, false}};
    return out;
  };
  return s;
}

}  // namespace

PIPECTL_PLUGIN(test_bound, "source", "1.0.0", "test fixture: parameters bound to a struct of every type", bound_spec,
               Bound)
