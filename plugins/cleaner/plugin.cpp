#include "cleaner.hpp"

PIPECTL_PLUGIN(cleaner, "transform", "1.0.0",
               "derive duration and the label, drop rows with NULL or invalid values, remove raw columns",
               pipectl::plugins::cleaner_spec, pipectl::plugins::Cleaner)
