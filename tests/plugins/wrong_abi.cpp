// Fixture: a descriptor built for another plugin ABI version and another
// compiler/standard library; the loader must refuse it without calling it.
#include <pipectl/plugin.hpp>

static pipectl::PluginSpec never_called_spec() { throw std::logic_error("spec() of a refused plugin was called"); }
static pipectl::Stage* never_called_create(const pipectl::Params&) {
  throw std::logic_error("create() of a refused plugin was called");
}

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    PIPECTL_PLUGIN_MAGIC, 999u, "gcc-4|libstdc++-4|cxx11abi-0|json-3.11|eigen-3.4", "wrong_abi", "transform", "1.0.0",
    "built for another ABI", &never_called_spec, &never_called_create};
