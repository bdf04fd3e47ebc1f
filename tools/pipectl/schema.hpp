// JSON Schema of pipeline files, generated from the plugins' declarations.
#pragma once

#include <pipectl/loader.hpp>

namespace pipectl::cli {

json pipeline_schema(const PluginRegistry& reg);
/// `plugins describe NAME` text, gst-inspect style.
std::string describe_plugin(const LoadedPlugin& p);

}  // namespace pipectl::cli
