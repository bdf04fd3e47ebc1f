// Fixture: a parameter declared `path` but bound to an int64 member. The
// loader must refuse the plugin when it reads the spec: no stage is made.
#include <pipectl/plugin.hpp>

using namespace pipectl;

namespace {

struct MismatchOptions {
  std::int64_t count = 0;
};

class Mismatch : public Stage {
 public:
  using Options = MismatchOptions;
  explicit Mismatch(const Options&) {}
  Table run(StageContext&, const std::vector<TablePtr>&) override { return Table{}; }
};

PluginSpec mismatch_spec() {
  PluginSpec s;
  s.min_inputs = s.max_inputs = 0;
  s.param("count", &MismatchOptions::count, ParamType::Path, "declared a path, held as an int64").def("x");
  return s;
}

}  // namespace

PIPECTL_PLUGIN(test_bound_mismatch, "source", "1.0.0", "test fixture: a parameter bound to the wrong type",
               mismatch_spec, Mismatch)
