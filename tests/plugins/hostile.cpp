// Fixture: a plugin that breaks its contract with the host in the way its
// `how` parameter says — at validation (its contract throws), at creation
// (its factory returns no stage), in the table it returns, or by ignoring
// cancellation.
#include <pipectl/plugin.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

using namespace pipectl;

namespace {
class Hostile : public Stage {
 public:
  explicit Hostile(const Params& p) : how_(p.str("how")) {}
  Table run(StageContext&, const std::vector<TablePtr>& in) override {
    const Table& t = *in.at(0);
    if (how_ == "bad_codes") {
      // A categorical column whose codes point outside its dictionary.
      std::vector<std::int32_t> codes(t.rows(), 7);
      auto dict = std::make_shared<const Dictionary>(Dictionary{"only"});
      Column c;
      c.name = "cat";
      c.type = DType::Categorical;
      c.codes = std::move(codes);
      c.dictionary = dict;
      std::vector<ColumnPtr> cols = t.columns();
      cols.push_back(std::make_shared<const Column>(std::move(c)));
      return Table(cols);
    }
    if (how_ == "duplicate") {
      std::vector<ColumnPtr> cols = t.columns();
      cols.push_back(cols.front());  // the same column twice
      return Table(cols);
    }
    if (how_ == "null_column") {
      std::vector<ColumnPtr> cols = t.columns();
      cols.push_back(nullptr);  // a column that is not there
      return Table(cols);
    }
    if (how_ == "spin") {  // ignores cancellation for 30 s
      std::this_thread::sleep_for(std::chrono::seconds(30));
      return t;
    }
    if (how_ == "long_message") throw std::runtime_error(std::string(1 << 20, 'z'));
    return t;
  }

 private:
  std::string how_;
};

PluginSpec hostile_spec() {
  PluginSpec s;
  s.param("how", ParamType::String, "how to misbehave")
      .def("none")
      .one_of({"none", "contract", "contract_nonstd", "null_factory", "bad_codes", "duplicate", "null_column",
               "long_message", "spin"});
  s.schema = [](SchemaContext& c) {
    const auto how = c.params().str("how");
    if (how == "contract") throw std::runtime_error("the contract cannot be computed");
    if (how == "contract_nonstd") throw 42;
    Schema out = c.input();
    if (how == "bad_codes") out.set(ColumnSchema{"cat", DType::Categorical});
    return out;
  };
  return s;
}

Stage* create_hostile(const Params& p) {
  if (p.str("how") == "null_factory") return nullptr;
  return new Hostile(p);
}
}  // namespace

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, "test_hostile", "transform", "1.0.0",
    "test fixture: breaks its contract with the host on request", &hostile_spec, &create_hostile};
