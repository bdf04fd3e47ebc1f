// Must NOT compile: a parameter bound to a member of a type no parameter
// type maps to (float). The CTest test "params: a member of an unsupported
// type does not compile" passes when the compiler stops on the static_assert.
#include <pipectl/plugin.hpp>

struct Opts {
  float ratio = 0;
};

pipectl::PluginSpec spec() {
  pipectl::PluginSpec s;
  s.param("ratio", &Opts::ratio, "a float member");
  return s;
}
