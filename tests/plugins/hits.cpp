// Fixture: an out-of-tree evaluator with figures of its own: hit_rate (the
// share of rows whose pred_label is the label, declared as its headline) and
// misses (declared, lower is better); `rows` is recorded but not declared.
#include <pipectl/plugin.hpp>

using namespace pipectl;

namespace {
class Hits : public Stage {
 public:
  explicit Hits(const Params& p) : label_(p.str("label")) {}
  Table run(StageContext& ctx, const std::vector<TablePtr>& in) override {
    const Table& t = *in.at(0);
    const Column& y = t.at(label_);
    const Column& pl = t.at("pred_label");
    std::int64_t n = 0, hits = 0;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      if (y.is_null(i) || pl.codes[i] < 0) continue;
      ++n;
      hits += pl.label(i) == std::to_string(y.i64[i]);
    }
    ctx.metric("hit_rate", n ? static_cast<double>(hits) / static_cast<double>(n) : 0.0);
    ctx.metric("misses", n - hits);
    ctx.metric("rows", n);
    return t;
  }

 private:
  std::string label_;
};
PluginSpec hits_spec() {
  PluginSpec s;
  s.param("label", ParamType::String, "label column (int64)").required();
  s.metric("hit_rate", "share of rows whose pred_label is the label", true, true);
  s.metric("misses", "rows whose pred_label is not the label", false);
  s.schema = [](SchemaContext& c) {
    c.need("label", c.params().str("label"), {DType::Int64});
    c.need("", "pred_label", {DType::Categorical});
    return c.input();
  };
  return s;
}
}  // namespace

PIPECTL_PLUGIN(test_hits, "evaluator", "1.0.0", "test fixture: an evaluator with its own figures", hits_spec, Hits)
