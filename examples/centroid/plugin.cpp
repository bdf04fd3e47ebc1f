#include "centroid.hpp"

using centroid_example::Centroid;
using centroid_example::centroid_spec;

PIPECTL_PLUGIN(centroid, "trainer", "1.0.0", "example: nearest-centroid classifier (a softmax over distances)",
               centroid_spec, Centroid)
