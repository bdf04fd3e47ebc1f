// Fixture: a descriptor whose spec() throws; the loader must refuse it.
#include <pipectl/plugin.hpp>

#include <stdexcept>

static pipectl::PluginSpec throwing_spec() { throw std::runtime_error("cannot describe myself"); }
static pipectl::Stage* never_created(const pipectl::Params&) { return nullptr; }

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, "spec_throws", "transform", "1.0.0",
    "test fixture: spec() throws", &throwing_spec, &never_created};
