// Fixture: an ordinary shared library with no pipectl descriptor.
extern "C" __attribute__((visibility("default"))) int not_a_plugin_answer() { return 42; }
