#include "ratio.hpp"

using ratio_example::Ratio;
using ratio_example::ratio_spec;

PIPECTL_PLUGIN(ratio, "transform", "1.0.0", "example: ratio of two numeric columns (e.g. bytes per packet)",
               ratio_spec, Ratio)
