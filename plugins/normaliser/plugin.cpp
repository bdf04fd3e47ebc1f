#include "normaliser.hpp"

PIPECTL_PLUGIN(normaliser, "transform", "1.1.0",
               "min-max or z-score scaling of numeric columns, fitted on training rows",
               pipectl::plugins::normaliser_spec, pipectl::plugins::Normaliser)
