#include "mlp.hpp"

#include <pipectl/trainer.hpp>

namespace pipectl::mlp {

PluginSpec mlp_spec() {
  PluginSpec s;
  s.min_inputs = 1;
  s.max_inputs = 1;
  s.learns = true;
  s.distributed = PluginSpec::Distributed::No;  // fits on one process's rows (no combined fit over shards)
  declare_trainer_params<MlpOptions>(s);
  s.param("hidden", &MlpOptions::hidden,
          "hidden layer sizes, comma-separated, each in [2, 4096] (\"\" = no hidden layer); the input layer has "
          "one neuron per feature, the output layer one per class")
      .def("32,16");
  s.param("activation", &MlpOptions::activation,
          "activation of every layer, the output layer included (OpenCV applies it there too): \"sigmoid_sym\" "
          "(1.7159 tanh(2x/3), targets -1/+1), \"relu\" or \"leakyrelu\" (slope 0.01; targets 0/1)")
      .def("sigmoid_sym")
      .one_of({"sigmoid_sym", "relu", "leakyrelu"});
  s.param("train_method", &MlpOptions::train_method,
          "\"rprop\": full-batch resilient propagation; \"backprop\": per-sample gradient descent with momentum "
          "0.1 and step `learning_rate`")
      .def("rprop")
      .one_of({"rprop", "backprop"});
  s.param("max_iter", &MlpOptions::max_iter, "training epochs at most").def(300).range(1, 1000000);
  s.param("epsilon", &MlpOptions::epsilon,
          "stop when the mean squared error changes by less than this between epochs")
      .def(1e-4)
      .at_least(0);
  s.param("learning_rate", &MlpOptions::learning_rate, "step size of backprop (ignored by rprop), > 0").def(0.001).above(0);
  s.param("seed", &MlpOptions::seed,
          "seed of the weight initialisation and of the training-row order; -1 = the stage seed")
      .def(-1)
      .range(-1, 9007199254740991.0);
  s.param("balance", &MlpOptions::balance,
          "balance the classes of the training rows by repeating each row of class k round(n_max / n_k) times "
          "(OpenCV 4.6's ANN_MLP misapplies per-sample weights, so they are not used)")
      .def(true);
  s.schema = [](SchemaContext& c) {
    try {
      parse_hidden(c.params().str("hidden"));
    } catch (const Error& e) {
      const std::string m = e.what(), head = "parameter \"hidden\" ";
      c.error("hidden", m.rfind(head, 0) == 0 ? m.substr(head.size()) : m);
    }
    return partial_trainer_schema(c);  // in a fit only the rows its consumers read are predicted
  };
  s.schema_doc = kPartialTrainerSchemaDoc;
  return s;
}

}  // namespace pipectl::mlp
