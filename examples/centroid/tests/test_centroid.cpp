#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <pipectl/testing.hpp>

#include "../centroid.hpp"

using namespace pipectl;

TEST_CASE("centroid fits class means on training rows and predicts the nearest") {
  Table t;
  t = t.with(Column::make_f64("x", {0.0, 0.2, 5.0, 5.2, 0.1, 5.1}));
  t = t.with(Column::make_i64("y", {0, 0, 1, 1, 0, 1}));
  auto roles = std::make_shared<const std::vector<Role>>(
      std::vector<Role>{Role::Train, Role::Train, Role::Train, Role::Train, Role::Test, Role::Test});
  auto in = std::make_shared<const Table>(t.with_roles(roles));
  auto spec = centroid_example::centroid_spec();
  testing::TestContext ctx;
  centroid_example::Centroid c(testing::options_with_defaults<centroid_example::CentroidOptions>(spec, {{"label", "y"}}));
  auto out = c.run(ctx, {in});
  CHECK(out.at("pred_proba").f64[4] < 0.01);
  CHECK(out.at("pred_proba").f64[5] > 0.99);
  CHECK(out.at("pred_label").label(5) == "1");
  // Its schema is a trainer's: a label, a split, prediction columns.
  auto o = testing::schema_of(spec, testing::params_with_defaults(spec, {{"label", "y"}}),
                              {testing::schema_with({{"x", DType::Float64}, {"y", DType::Int64}}, true)});
  CHECK(o.ok());
  CHECK(o.schema.find("pred_label")->role == ColumnRole::Prediction);
}
