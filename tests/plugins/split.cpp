// Fixture: a splitter (rows i%3 = 0/1/2 -> train/valid/test).
#include <pipectl/plugin.hpp>

#include <algorithm>

using namespace pipectl;

namespace {
class Split : public Stage {
 public:
  explicit Split(const Params&) {}
  Table run(StageContext&, const std::vector<TablePtr>& in) override {
    const Table& t = *in.at(0);
    auto roles = std::make_shared<std::vector<Role>>(t.rows());
    for (std::size_t i = 0; i < t.rows(); ++i) (*roles)[i] = i % 3 == 0 ? Role::Train : i % 3 == 1 ? Role::Valid : Role::Test;
    return t.with_roles(roles);
  }
};
PluginSpec split_spec() {
  PluginSpec s;
  s.schema = [](SchemaContext& c) {
    Schema out = c.input();
    out.split = true;
    return out;
  };
  return s;
}

}  // namespace

PIPECTL_PLUGIN(test_split, "splitter", "1.0.0", "test fixture: every third row train/valid/test", split_spec, Split)
