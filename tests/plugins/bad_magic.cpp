// Fixture: a "pipectl_plugin" symbol that is not a pipectl descriptor (wrong magic).
#include <pipectl/plugin.hpp>

extern "C" PIPECTL_PLUGIN_EXPORT const pipectl_plugin_descriptor pipectl_plugin = {
    0xdeadbeefu, PIPECTL_PLUGIN_ABI_VERSION, PIPECTL_ABI_STAMP, "bad_magic", "transform", "1.0.0",
    "test fixture: wrong magic", nullptr, nullptr};
