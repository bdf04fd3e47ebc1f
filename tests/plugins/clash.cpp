// Fixture: a second plugin named "test_gen" (its name clashes).
#include <pipectl/plugin.hpp>
using namespace pipectl;
namespace {
class Nothing : public Stage {
 public:
  explicit Nothing(const Params&) {}
  Table run(StageContext&, const std::vector<TablePtr>&) override { return Table(); }
};
PluginSpec nothing_spec() {
  PluginSpec s;
  s.min_inputs = s.max_inputs = 0;
  return s;
}
}  // namespace
PIPECTL_PLUGIN(test_gen, "source", "9.9.9", "test fixture: clashes with test_gen", nothing_spec, Nothing)
