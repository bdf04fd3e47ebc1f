#include "liblinear.hpp"

PIPECTL_PLUGIN(liblinear, "trainer", "1.0.0",
               "liblinear L2-regularised logistic regression or linear SVM (binary / multiclass), sparse features",
               pipectl::lin::liblinear_spec, pipectl::lin::LiblinearTrainer)
