// Fixture: a "model" needing a label column (required parameter) and a split;
// fits a threshold on x over the training rows and saves it as state.
#include <pipectl/features.hpp>
#include <pipectl/plugin.hpp>

#include <algorithm>

using namespace pipectl;

namespace {
class Model : public Stage {
 public:
  explicit Model(const Params& p) : label_(p.str("label")) {}
  Table run(StageContext& ctx, const std::vector<TablePtr>& in) override {
    const Table& t = *in.at(0);
    const Column& x = t.at("x");
    if (ctx.mode() == Mode::Fit) {
      const Column& y = t.at(label_);
      double lo = 1e300, hi = -1e300;
      for (auto r : t.rows_with(Role::Train)) {
        if (y.i64[r] == 1) lo = std::min(lo, x.f64[r]);
        else hi = std::max(hi, x.f64[r]);
      }
      threshold_ = (lo + hi) / 2;
    }
    std::vector<float> p(t.rows());
    for (std::size_t i = 0; i < t.rows(); ++i) p[i] = x.f64[i] > threshold_ ? 0.9f : 0.1f;
    ctx.metric("threshold", threshold_);
    return with_predictions(t, {"0", "1"}, p, ctx.stage_id());
  }
  json save_state(const std::filesystem::path&) const override { return {{"threshold", threshold_}}; }
  void load_state(const json& s, const std::filesystem::path&) override { threshold_ = s.at("threshold").get<double>(); }

 private:
  std::string label_;
  double threshold_ = 0;
};
PluginSpec model_spec() {
  PluginSpec s;
  s.learns = true;
  s.param("label", ParamType::String, "label column").required();
  s.param("depth", ParamType::Int, "unused knob").def(3).range(1, 10);
  s.param("rate", ParamType::Float, "unused knob").def(0.5).range(0, 1);
  s.schema_doc = "needs `label` (int64), x (float64) and a split; gives its input plus pred_proba and pred_label";
  s.schema = [](SchemaContext& c) {
    c.need("label", c.params().str("label"), {DType::Int64});
    c.need("", "x", {DType::Float64});
    c.need_split();
    Schema out = c.input();
    ColumnSchema pp{"pred_proba", DType::Float64, true, ColumnRole::Prediction};
    ColumnSchema pl{"pred_label", DType::Categorical, false, ColumnRole::Prediction};
    out.set(pp);
    out.set(pl);
    return out;
  };
  return s;
}
}  // namespace

PIPECTL_PLUGIN(test_model, "trainer", "1.0.0", "test fixture: threshold on x fitted on train rows", model_spec, Model)
