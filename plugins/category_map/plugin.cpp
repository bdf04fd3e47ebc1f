#include "category_map.hpp"

PIPECTL_PLUGIN(category_map, "transform", "1.0.0",
               "map ports / manufacturers onto their most frequent training values plus \"other\"",
               pipectl::plugins::category_map_spec, pipectl::plugins::CategoryMap)
