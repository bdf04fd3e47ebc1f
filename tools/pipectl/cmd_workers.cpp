// Distributed runs: `pipectl worker` (one worker: joins XGBoost's Rabit
// tracker, reads its shard, runs the pipeline with the collective),
// `pipectl tracker` (the tracker for workers on several machines) and
// `pipectl run --workers N` (tracker + N workers on this machine, watched:
// when one dies, every other one is stopped and the run fails naming it).
#include "commands.hpp"

#include <pipectl/collective.hpp>
#include <pipectl/run_folder.hpp>

#include <boost/program_options.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace po = boost::program_options;

namespace pipectl::cli {

namespace {

// The tracker is XGBoost's own (Debian's python3-xgboost): RabitTracker,
// sorting workers by task id so that the worker started as rank R gets rank
// R (join_rabit passes the zero-padded rank as its task id).
const char* kTrackerScript = R"PY(
import os, sys
from xgboost.tracker import RabitTracker
n, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t = RabitTracker(host_ip=host, n_workers=n, port=port, sortby="task")
print("PIPECTL_TRACKER %s %d" % (host, t.port), flush=True)
os.dup2(2, 1)  # what workers print through the tracker goes to stderr
t.start(n)
t.join()
)PY";

std::string python() {
  // /usr/bin/python3 is the interpreter Debian's python3-xgboost installs for.
  if (const char* p = std::getenv("PIPECTL_PYTHON"); p && *p) return p;
  return "/usr/bin/python3";
}

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the pipectl executable (/proc/self/exe): " + ec.message());
  return p.string();
}

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd = -1) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("cannot start a process: ") + std::strerror(errno));
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (stdout_fd >= 0) ::dup2(stdout_fd, 1);
    ::execv(a[0], a.data());
    std::fprintf(stderr, "error: cannot run %s: %s\n", a[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// Start the tracker; return its pid and the port it listens on.
std::pair<pid_t, int> start_tracker(int workers, const std::string& host, int port) {
  int fds[2];
  if (::pipe(fds) != 0) throw Error(std::string("cannot make a pipe: ") + std::strerror(errno));
  const pid_t pid = spawn({python(), "-c", kTrackerScript, std::to_string(workers), host, std::to_string(port)}, fds[1]);
  ::close(fds[1]);
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(fds[0]);
  char h[256];
  int p = 0;
  if (std::sscanf(line.c_str(), "PIPECTL_TRACKER %255s %d", h, &p) != 2) {
    int status = 0;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    throw Error("the XGBoost tracker did not start (" + python() +
                " with Debian's python3-xgboost; set PIPECTL_PYTHON for another interpreter)");
  }
  return {pid, p};
}

}  // namespace

int launch_workers(const LaunchSpec& spec) {
  if (spec.workers < 1) {
    std::fprintf(stderr, "pipectl: --workers must be at least 1\n");
    return code(ExitCode::Usage);
  }
  try {
    for (const auto& s : spec.common.sets)
      if (sweep_values(s).size() > 1) {
        std::fprintf(stderr, "pipectl: --workers runs one pipeline; a sweep (--set %s) needs separate runs\n",
                     s.c_str());
        return code(ExitCode::Usage);
      }
    // Validate here, once, with every error, before any process starts.
    auto l = load_pipeline(spec.file, spec.common, true);
    check_distributed(l->pipeline, spec.workers);
  } catch (const std::exception& e) {
    return report_error(e);
  }
  install_signal_handlers();
  pid_t tracker = -1;
  int port = 0;
  try {
    std::tie(tracker, port) = start_tracker(spec.workers, spec.tracker_host, 0);
  } catch (const std::exception& e) {
    return report_error(e);
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = std::max(1, static_cast<int>(cores) / spec.workers);
  std::map<pid_t, int> rank_of;
  const std::string exe = self_exe();
  for (int r = 0; r < spec.workers; ++r) {
    std::vector<std::string> a = {exe,        "worker",           spec.file,
                                  "--tracker", spec.tracker_host + ":" + std::to_string(port),
                                  "--rank",   std::to_string(r), "--world",
                                  std::to_string(spec.workers),    "--threads",
                                  std::to_string(threads),         "--runs-dir",
                                  spec.runs_dir,                   "--log-format",
                                  spec.log_format};
    if (r == 0 && !spec.out.empty()) a.insert(a.end(), {"--out", spec.out});
    if (spec.quiet) a.push_back("--quiet");
    if (spec.verbose) a.push_back("--verbose");
    if (spec.common.allow_insecure) a.push_back("--allow-insecure-plugins");
    for (const auto& s : spec.common.sets) a.insert(a.end(), {"--set", s});
    try {
      rank_of[spawn(a)] = r;
    } catch (const std::exception& e) {
      for (auto& [pid, rank] : rank_of) ::kill(pid, SIGTERM);
      ::kill(tracker, SIGTERM);
      return report_error(e);
    }
  }

  // Watch. The first worker to fail is the cause; the others normally fail
  // within a second (their next collective call breaks). Whoever is still
  // running after a grace period is stopped.
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> failed_at;
  std::string cause;
  int cause_rank = -1, exit_code = 0, cause_priority = -1;
  bool forwarded = false, terminated = false;
  std::map<int, std::string> outcomes;
  while (!rank_of.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (pid == tracker) {
        tracker = -1;
        if (!failed_at && !rank_of.empty()) {
          failed_at = Clock::now();
          cause = "the tracker " + describe_status(status);
          exit_code = code(ExitCode::WorkerLost);
        }
        continue;
      }
      auto it = rank_of.find(pid);
      if (it == rank_of.end()) continue;
      const int r = it->second;
      rank_of.erase(it);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) continue;
      outcomes[r] = describe_status(status);
      // Priority of causes: killed by a signal > failed on its own > lost a peer (7).
      const int prio = WIFSIGNALED(status) ? 3 : WEXITSTATUS(status) != code(ExitCode::WorkerLost) ? 2 : 1;
      if (!failed_at) failed_at = Clock::now();
      if (prio > cause_priority && !(forwarded && WIFSIGNALED(status))) {
        cause_priority = prio;
        cause_rank = r;
        cause = "worker " + std::to_string(r) + " (pid " + std::to_string(pid) + ") " + describe_status(status);
        exit_code = WIFSIGNALED(status) ? code(ExitCode::WorkerLost) : WEXITSTATUS(status);
      }
      continue;
    }
    if (g_interrupt.load() && !forwarded) {
      forwarded = true;
      for (auto& [p, r] : rank_of) ::kill(p, SIGTERM);
    }
    if (failed_at && !terminated && Clock::now() - *failed_at > std::chrono::seconds(10)) {
      terminated = true;
      for (auto& [p, r] : rank_of) {
        std::fprintf(stderr, "pipectl: stopping worker %d (pid %d): it is still running 10 s after the failure\n", r,
                     static_cast<int>(p));
        ::kill(p, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (tracker > 0) {
    ::kill(tracker, SIGTERM);
    int status = 0;
    ::waitpid(tracker, &status, 0);
  }
  if (forwarded && cause_priority < 2) {
    std::fprintf(stderr, "error: interrupted by a signal; every worker was stopped\n");
    return code(ExitCode::Interrupted);
  }
  if (!failed_at) return 0;
  std::string others;
  for (const auto& [r, what] : outcomes)
    if (r != cause_rank) others += (others.empty() ? "" : ", ") + std::to_string(r);
  std::fprintf(stderr, "error: %s; the distributed run of %d workers failed%s\n", cause.c_str(), spec.workers,
               others.empty() ? "" : (" (then workers " + others + " stopped)").c_str());
  return exit_code ? exit_code : code(ExitCode::Failure);
}

int cmd_worker(const Args& args) {
  Common c;
  std::string file, out, log_format = "text", runs_dir = "runs", tracker;
  int rank = -1, world = 0, threads = 0, connect_retry = 10;
  bool quiet = false, verbose = false;
  po::options_description d("worker options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file")(
      "tracker", po::value<std::string>(&tracker), "the tracker's HOST:PORT (pipectl tracker prints it)")(
      "rank", po::value<int>(&rank), "this worker's rank, 0 .. world-1 (rank 0 writes the run folder)")(
      "world", po::value<int>(&world), "number of workers")(
      "threads", po::value<int>(&threads), "threads each stage may use (default: the machine's cores)")(
      "connect-retry", po::value<int>(&connect_retry), "attempts to reach the tracker (default 10)")(
      "out", po::value<std::string>(&out), "run folder of rank 0 (default: runs/<name>-<UTC time>)")(
      "runs-dir", po::value<std::string>(&runs_dir), "where run folders go (default: runs)")(
      "quiet,q", po::bool_switch(&quiet), "only warnings, errors and results")(
      "verbose,v", po::bool_switch(&verbose), "debug output")(
      "log-format", po::value<std::string>(&log_format), "text or json");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  const std::string usage =
      "usage: pipectl worker PIPELINE --tracker HOST:PORT --rank R --world N [--set STAGE.KEY=VALUE]... [--out DIR]";
  if (!parse(args, d, vm, usage, "pipeline", 1, &rc)) return rc;
  const auto colon = tracker.rfind(':');
  int port = 0;
  if (tracker.empty() || colon == std::string::npos || colon == 0 ||
      std::sscanf(tracker.c_str() + colon + 1, "%d", &port) != 1 || port <= 0 || port > 65535) {
    std::fprintf(stderr, "pipectl: --tracker must be HOST:PORT\n%s\n", usage.c_str());
    return code(ExitCode::Usage);
  }
  if (world < 1 || rank < 0 || rank >= world) {
    std::fprintf(stderr, "pipectl: --world N (at least 1) and --rank R (0 .. N-1) are required\n%s\n", usage.c_str());
    return code(ExitCode::Usage);
  }
  if (log_format != "text" && log_format != "json") {
    std::fprintf(stderr, "pipectl: --log-format must be text or json\n");
    return code(ExitCode::Usage);
  }
  Logger log(level_from(quiet, verbose), log_format == "json" ? LogFormat::Json : LogFormat::Text);
  log.set_prefix("worker " + std::to_string(rank) + "/" + std::to_string(world) + ": ",
                 json{{"worker", rank}, {"workers", world}});
  try {
    auto l = load_pipeline(file, c, rank == 0);
    check_distributed(l->pipeline, world);
    install_signal_handlers();
    RabitOptions ro;
    ro.tracker_host = tracker.substr(0, colon);
    ro.tracker_port = port;
    ro.world = world;
    ro.rank = rank;
    ro.connect_retry = connect_retry;
    auto coll = join_rabit(ro);
    RunOptions opt;
    opt.collective = coll.get();
    opt.stage_threads = threads;
    opt.interrupt = &g_interrupt;
    opt.use_cache = false;
    opt.print_reports = rank == 0;
    if (rank == 0) {
      opt.runs_root = runs_dir;
      if (!out.empty()) opt.out = std::filesystem::path(out);
    } else {
      // The other workers' folders hold their logs and (identical) states;
      // kept only when the run fails.
      opt.out = std::filesystem::path(runs_dir) / ".workers" /
                (safe_file_name(l->pipeline.name) + "-rank" + std::to_string(rank));
    }
    History history(History::default_path(), [&](const std::string& m) { log.log(LogLevel::Warn, "", m); });
    if (rank == 0) opt.on_publish = history_recorder(history, *l, file, "", log);
    auto res = run_pipeline(l->pipeline, l->registry, opt, log);
    if (rank != 0) {
      std::error_code ec;
      std::filesystem::remove_all(res.dir, ec);
      if (ec)
        log.log(LogLevel::Warn, "", "could not remove this worker's run folder \"" + res.dir.string() + "\": " +
                                        ec.message());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "worker %d/%d: ", rank, world);
    return report_error(e);
  }
}

int cmd_tracker(const Args& args) {
  int workers = 0, port = 0;
  std::string host = "0.0.0.0";
  po::options_description d("tracker options");
  d.add_options()("workers", po::value<int>(&workers), "number of workers that will join")(
      "host", po::value<std::string>(&host), "address to listen on (default 0.0.0.0: every interface)")(
      "port", po::value<int>(&port), "port to listen on (default: a free one, printed)");
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl tracker --workers N [--host ADDR] [--port P]", nullptr, 0, &rc)) return rc;
  if (workers < 1 || port < 0 || port > 65535) {
    std::fprintf(stderr, "pipectl: --workers N (at least 1) is required; --port is 0..65535\n");
    return code(ExitCode::Usage);
  }
  install_signal_handlers();
  pid_t pid = -1;
  int actual = 0;
  try {
    std::tie(pid, actual) = start_tracker(workers, host, port);
  } catch (const std::exception& e) {
    return report_error(e);
  }
  std::printf("tracker listening on %s:%d for %d workers; on each machine run\n"
              "  pipectl worker PIPELINE --tracker THIS_HOST:%d --rank R --world %d\n"
              "with R = 0 .. %d (rank 0 writes the run folder)\n",
              host.c_str(), actual, workers, actual, workers, workers - 1);
  std::fflush(stdout);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (g_interrupt.load()) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, &status, 0);
      return code(ExitCode::Interrupted);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    std::printf("every worker has finished\n");
    return 0;
  }
  std::fprintf(stderr, "error: the tracker %s\n", describe_status(status).c_str());
  return code(ExitCode::Failure);
}

}  // namespace pipectl::cli
