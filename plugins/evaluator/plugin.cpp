#include "evaluator.hpp"

PIPECTL_PLUGIN(evaluator, "evaluator", "1.3.0",
               "classification metrics (accuracy, precision, recall, f1, ROC AUC, average precision, log loss, "
               "confusion matrix) of one or more models on the test rows",
               pipectl::eval::evaluator_spec, pipectl::eval::Evaluator)
