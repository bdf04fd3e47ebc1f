// Symbol visibility for the core library. Plugins are built with
// -fvisibility=hidden; every type that crosses the plugin boundary (its
// vtable, typeinfo, exceptions) is declared PIPECTL_API so that host and
// plugins agree on one definition.
#pragma once

#if defined(_WIN32)
#define PIPECTL_API __declspec(dllexport)
#define PIPECTL_PLUGIN_EXPORT __declspec(dllexport)
#else
#define PIPECTL_API __attribute__((visibility("default")))
#define PIPECTL_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif
