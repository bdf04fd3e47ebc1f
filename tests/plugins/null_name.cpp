// Fixture: a descriptor of the right ABI with no name; the loader must refuse it.
#include <pipectl/plugin.hpp>

#include <stdexcept>

static pipectl::PluginSpec never_called_spec() { throw std::logic_error("spec() of a refused plugin was called"); }
static pipectl::Stage* never_called_create(const pipectl::Params&) {
  throw std::logic_error("create() of a refused plugin was called");
}

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, nullptr, "transform", "1.0.0",
    "test fixture: no name", &never_called_spec, &never_called_create};
