#include "multi_hot.hpp"

PIPECTL_PLUGIN(multi_hot, "transform", "1.0.0",
               "multi-hot vocabulary of the most frequent training names (DNS), plus \"other\" and \"none\"",
               pipectl::plugins::multi_hot_spec, pipectl::plugins::MultiHot)
