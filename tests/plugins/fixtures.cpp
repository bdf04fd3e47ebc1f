// Test fixture plugins (not installed): a deterministic row generator, a
// stage that sleeps and records when it ran, and a stage that misbehaves on
// request. Built into <build>/tests/plugins and found via PIPECTL_PLUGIN_PATH.
#include <pipectl/plugin.hpp>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

using namespace pipectl;

namespace {

// --- gen: a source of `rows` rows: x (float64), k (int64), y (int64 0/1) ---
class Gen : public Stage {
 public:
  explicit Gen(const Params& p) : rows_(p.integer("rows")) {}
  Table run(StageContext& ctx, const std::vector<TablePtr>&) override {
    std::uint64_t s = ctx.seed();
    std::vector<double> x(rows_);
    std::vector<std::int64_t> k(rows_), y(rows_);
    for (std::int64_t i = 0; i < rows_; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      x[i] = static_cast<double>(s >> 11) / 9007199254740992.0;
      k[i] = i % 7;
      y[i] = x[i] > 0.5 ? 1 : 0;
    }
    Table t;
    t = t.with(Column::make_f64("x", std::move(x)));
    t = t.with(Column::make_i64("k", std::move(k)));
    t = t.with(Column::make_i64("y", std::move(y)));
    ctx.metric("rows", rows_);
    return t;
  }

 private:
  std::int64_t rows_;
};

PluginSpec gen_spec() {
  PluginSpec s;
  s.min_inputs = s.max_inputs = 0;
  s.param("rows", ParamType::Int, "rows to generate").def(100).range(0, 1e9);
  s.param("note", ParamType::String, "free text, unused").def("");
  s.param("file", ParamType::Path, "a path, unused (tests path resolution)").def("");
  s.schema = [](SchemaContext&) {
    Schema out;
    out.columns = {{"x", DType::Float64, false}, {"k", DType::Int64, false}, {"y", DType::Int64, false}};
    return out;
  };
  return s;
}

}  // namespace

PIPECTL_PLUGIN(test_gen, "source", "1.0.0", "test fixture: deterministic rows x, k, y", gen_spec, Gen)
