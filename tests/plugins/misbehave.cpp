// Fixture: a plugin that fails in the way its `fail` parameter says.
#include <pipectl/plugin.hpp>

#include <stdexcept>

using namespace pipectl;

namespace {
class Misbehave : public Stage {
 public:
  explicit Misbehave(const Params& p) : how_(p.str("fail")) {
    if (how_ == "factory") throw std::runtime_error("refusing to be created");
  }
  Table run(StageContext&, const std::vector<TablePtr>& in) override {
    const Table& t = *in.at(0);
    if (how_ == "run") throw std::runtime_error("boom in the middle of the run");
    if (how_ == "data") throw DataError("column \"x\": negative value -1 at row 3");
    if (how_ == "lengths") {
      auto c = std::make_shared<Column>(Column::make_f64("short", std::vector<double>(t.rows() / 2 + 1)));
      // Bypass Table::with's check the way a careless plugin could.
      std::vector<ColumnPtr> cols = t.columns();
      cols.push_back(c);
      return Table(cols);
    }
    if (how_ == "undeclared") return t.with(Column::make_f64("surprise", std::vector<double>(t.rows())));
    if (how_ == "missing") return t.without("x");
    if (how_ == "nonstd") throw 42;
    return t;
  }

 private:
  std::string how_;
};

PluginSpec misbehave_spec() {
  PluginSpec s;
  s.param("fail", ParamType::String, "how to fail")
      .def("none")
      .one_of({"none", "factory", "run", "data", "lengths", "undeclared", "missing", "nonstd"});
  s.schema = [](SchemaContext& c) {
    c.need("", "x");
    return c.input();
  };
  return s;
}
}  // namespace

PIPECTL_PLUGIN(test_misbehave, "transform", "1.0.0", "test fixture: fails on request", misbehave_spec, Misbehave)
