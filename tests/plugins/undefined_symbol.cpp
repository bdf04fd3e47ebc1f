// Fixture: a plugin built against a function no library provides: dlopen
// (RTLD_NOW) fails with "undefined symbol", as for a plugin built against
// another version of a dependency.
#include <pipectl/plugin.hpp>

using namespace pipectl;

extern "C" int pipectl_test_function_nobody_defines(int);

namespace {
class Missing : public Stage {
 public:
  explicit Missing(const Params&) {}
  Table run(StageContext&, const std::vector<TablePtr>& in) override {
    if (pipectl_test_function_nobody_defines(1) == 2) return Table();
    return *in.at(0);
  }
};
PluginSpec missing_spec() { return PluginSpec{}; }
}  // namespace

PIPECTL_PLUGIN(undefined_symbol, "transform", "1.0.0", "test fixture: needs a symbol nobody defines", missing_spec, Missing)
