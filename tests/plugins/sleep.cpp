// Fixture: passes its input through after sleeping `ms`, and records its
// start and end times (steady clock, ns) in stages/<id>/times.json.
#include <pipectl/plugin.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace pipectl;

namespace {
class Sleep : public Stage {
 public:
  explicit Sleep(const Params& p) : ms_(p.integer("ms")) {}
  Table run(StageContext& ctx, const std::vector<TablePtr>& in) override {
    auto now = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    auto t0 = now();
    for (std::int64_t waited = 0; waited < ms_; waited += 10) {
      if (ctx.cancelled()) throw Interrupted("sleep cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto t1 = now();
    std::ofstream(ctx.artifact_dir() / "times.json") << json({{"start", t0}, {"end", t1}}).dump();
    return *in.at(0);
  }

 private:
  std::int64_t ms_;
};

PluginSpec sleep_spec() {
  PluginSpec s;
  s.param("ms", ParamType::Int, "milliseconds to sleep").def(200).range(0, 600000);
  s.schema_doc = "its input, unchanged";
  return s;
}
}  // namespace

PIPECTL_PLUGIN(test_sleep, "transform", "1.0.0", "test fixture: sleeps, then passes rows through", sleep_spec, Sleep)
