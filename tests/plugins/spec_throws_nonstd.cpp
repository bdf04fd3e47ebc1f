// Fixture: a descriptor whose spec() throws something that is no std::exception.
#include <pipectl/plugin.hpp>

static pipectl::PluginSpec throwing_spec() { throw 42; }
static pipectl::Stage* never_created(const pipectl::Params&) { return nullptr; }

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    PIPECTL_PLUGIN_MAGIC, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, "spec_throws_nonstd", "transform", "1.0.0",
    "test fixture: spec() throws an int", &throwing_spec, &never_created};
