#include "mlp.hpp"

PIPECTL_PLUGIN(mlp, "trainer", "1.0.0",
               "multi-layer perceptron (OpenCV ANN_MLP, RPROP or backprop) on standardised features, binary / multiclass",
               pipectl::mlp::mlp_spec, pipectl::mlp::MlpTrainer)
