#include "ratio.hpp"

#include <cmath>

namespace ratio_example {

using namespace pipectl;

PluginSpec ratio_spec() {
  PluginSpec s;
  s.param("numerator", &RatioOptions::numerator, "numeric column on top").def("bytes");
  s.param("denominator", &RatioOptions::denominator, "numeric column below").def("packets");
  s.param("output", &RatioOptions::output, "name of the new float64 column").def("bytes_per_packet");
  s.param("log1p", &RatioOptions::log1p, "store log(1 + ratio) instead of the ratio").def(false);
  s.schema_doc = "needs the numerator and denominator (numeric); gives its input plus `output` (float64)";
  s.schema = [](SchemaContext& c) {
    const auto& p = c.params();
    c.need("numerator", p.str("numerator"), {DType::Float64, DType::Int64});
    c.need("denominator", p.str("denominator"), {DType::Float64, DType::Int64});
    Schema out = c.input();
    out.set(ColumnSchema{p.str("output"), DType::Float64});
    return out;
  };
  return s;
}

Ratio::Ratio(const Options& o) : num_(o.numerator), den_(o.denominator), out_(o.output), log1p_(o.log1p) {}

Table Ratio::run(StageContext& ctx, const std::vector<TablePtr>& inputs) {
  const Table& t = *inputs.at(0);
  const Column& a = t.at(num_);
  const Column& b = t.at(den_);
  if (!a.is_numeric() || !b.is_numeric())
    throw DataError("ratio needs numeric columns, \"" + num_ + "\" is " + dtype_name(a.type) + " and \"" + den_ +
                    "\" is " + dtype_name(b.type));
  const std::size_t n = t.rows();
  std::vector<double> v(n);
  std::vector<std::uint8_t> valid(n, 1);
  std::int64_t nulls = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a.number(i), y = b.number(i);
    if (std::isnan(x) || std::isnan(y) || y == 0) {
      valid[i] = 0;
      ++nulls;
      continue;
    }
    const double r = x / y;
    v[i] = log1p_ ? std::log1p(std::fabs(r)) * (r < 0 ? -1 : 1) : r;
  }
  ctx.count("null.undefined_ratio", nulls);
  if (nulls == 0) valid.clear();
  return t.with(Column::make_f64(out_, std::move(v), std::move(valid)));
}

}  // namespace ratio_example
