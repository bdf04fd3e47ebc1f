#include "splitter.hpp"

PIPECTL_PLUGIN(splitter, "splitter", "1.2.0",
               "assign train/valid/test roles, stratified by the label, optionally keeping groups together",
               pipectl::plugins::splitter_spec, pipectl::plugins::Splitter)
