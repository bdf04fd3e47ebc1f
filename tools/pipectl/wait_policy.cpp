// OMP_WAIT_POLICY=PASSIVE before any OpenMP runtime starts.
//
// Stages share the cores: OpenMP threads (XGBoost's) that spin while they
// wait starve the stages running beside them, and other processes. libgomp
// reads its environment once, in its own ELF constructor, and it is loaded
// with libxgboost, which the core library links (for the collective): by the
// time main() runs, setenv() is too late. (Setting it from the executable's
// .preinit_array, which runs before every library's constructor, does not
// work either: libc's own initialisation then resets `environ` to the
// process's original environment.) So when the variable is unset, pipectl
// sets it and executes itself again, once: the new image starts with it in
// its environment, finds it set and goes on. A user's own OMP_WAIT_POLICY
// (e.g. ACTIVE) is left as it is and costs no second start.
#include "commands.hpp"

#include <cstdlib>
#include <unistd.h>

namespace pipectl::cli {

void ensure_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's, or set before the exec below
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // No /proc (or exec refused): go on with libgomp's default policy, which
  // spins a while before sleeping; the variable set above reaches the
  // processes this one starts (distributed workers).
}

}  // namespace pipectl::cli
