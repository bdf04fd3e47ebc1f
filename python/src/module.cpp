// pipectl._pipectl: the C++ half of `import pipectl`.
//
// Nothing here reimplements a command: run() calls cli::run_request (what
// `pipectl run` calls), validate() cli::load_pipeline (what `pipectl validate`
// calls), predict() cli::cmd_predict itself, compare() the run then
// report::build_compare / write_compare (what `pipectl compare` does), and
// plugins() the PluginRegistry `pipectl plugins list` reads. Tables are
// handed to Python as numpy views of the run's own column buffers, kept
// alive by a capsule that owns a reference to the table.
#include "commands.hpp"
#include "compare_report.hpp"

#include <pipectl/error.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/runner.hpp>
#include <pipectl/table.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace py = pybind11;
namespace cli = pipectl::cli;
using namespace pipectl;

namespace {

// --- errors ----------------------------------------------------------------

py::object err_class(const char* name) { return py::module_::import("pipectl.errors").attr(name); }

py::object diagnostic(const Diagnostic& d) {
  return err_class("Diagnostic")(d.where.file, d.where.line, d.where.column, d.message);
}

void set_error(py::object instance) { PyErr_SetObject(instance.get_type().ptr(), instance.ptr()); }

// C++ exceptions of the library -> the Python classes of pipectl/errors.py,
// with the message the CLI prints.
void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const ConfigError& e) {
    py::list diags;
    for (const auto& d : e.diagnostics()) diags.append(diagnostic(d));
    set_error(err_class("ValidationError")(e.what(), diags));
  } catch (const StageError& e) {
    // A stage that failed on its data is both (pipectl.DataError and pipectl.StageError).
    set_error(err_class(e.code() == ExitCode::DataError ? "StageDataError" : "StageError")(
        e.what(), e.stage(), e.plugin(), e.cause(), static_cast<int>(e.code())));
  } catch (const DataError& e) {
    set_error(err_class("DataError")(e.what()));
  } catch (const PluginLoadError& e) {
    set_error(err_class("PluginLoadError")(e.what()));
  } catch (const Interrupted& e) {
    PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
  } catch (const Error& e) {
    const int rc = static_cast<int>(e.code());
    set_error(err_class(rc == static_cast<int>(ExitCode::Usage) ? "UsageError" : "Error")(e.what(), rc));
  }
}

// --- running C++ without the GIL, Ctrl-C cancelling it -----------------------

// Runs `f` on a thread of its own while the calling thread waits without the
// GIL, looking at Python's pending signals every 50 ms. A KeyboardInterrupt
// (Ctrl-C: Python's SIGINT handler) sets `cancel`, which the run watches as
// the CLI's run watches its SIGINT flag; once `f` has returned (the run folder
// renamed ".failed") the KeyboardInterrupt is raised.
template <class F>
auto interruptible(F f, std::atomic<bool>& cancel) -> decltype(f()) {
  using R = decltype(f());
  std::optional<R> result;
  std::exception_ptr failure;
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  std::thread worker([&] {
    try {
      result.emplace(f());
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> g(m);
    finished = true;
    cv.notify_all();
  });
  std::optional<py::error_already_set> pending;
  while (true) {
    bool done;
    {
      py::gil_scoped_release nogil;
      std::unique_lock<std::mutex> lk(m);
      done = cv.wait_for(lk, std::chrono::milliseconds(50), [&] { return finished; });
    }
    if (done) break;
    if (!pending && PyErr_CheckSignals() != 0) {
      pending.emplace();  // fetches the KeyboardInterrupt (or what a Python handler raised)
      cancel.store(true);
    }
  }
  worker.join();
  if (pending) throw std::move(*pending);
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

// --- tables ------------------------------------------------------------------

template <class T>
py::array view(const std::vector<T>& v, const py::capsule& owner) {
  py::array a(py::dtype::of<T>(), {static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(T))},
              v.data(), owner);
  a.attr("setflags")(py::arg("write") = false);  // tables are immutable
  return a;
}

py::dict table_parts(const TablePtr& t) {
  // The capsule owns a reference to the table: every array below points into
  // its columns and keeps it alive.
  py::capsule owner(new TablePtr(t), [](void* p) { delete static_cast<TablePtr*>(p); });
  py::list cols;
  for (const auto& c : t->columns()) {
    py::dict d;
    d["name"] = c->name;
    d["type"] = dtype_name(c->type);
    d["valid"] = c->valid.empty() ? py::object(py::none()) : py::object(view(c->valid, owner));
    switch (c->type) {
      case DType::Float64: d["values"] = view(c->f64, owner); break;
      case DType::Int64: d["values"] = view(c->i64, owner); break;
      case DType::MultiCategorical: d["offsets"] = view(c->offsets, owner); [[fallthrough]];
      case DType::Categorical: {
        d["codes"] = view(c->codes, owner);
        py::list dict;
        if (c->dictionary)
          for (const auto& s : *c->dictionary) dict.append(py::str(s));
        d["dictionary"] = dict;
        break;
      }
    }
    cols.append(d);
  }
  py::dict out;
  out["columns"] = cols;
  out["rows"] = t->rows();
  if (t->has_roles()) {
    const auto& r = t->roles();
    static_assert(sizeof(Role) == 1);
    py::array a(py::dtype::of<std::uint8_t>(), {static_cast<py::ssize_t>(r.size())}, {py::ssize_t{1}}, r.data(),
                owner);
    a.attr("setflags")(py::arg("write") = false);
    out["roles"] = a;
    py::list names;
    for (auto k : {Role::None, Role::Train, Role::Valid, Role::Test}) names.append(role_name(k));
    out["role_names"] = names;
  } else {
    out["roles"] = py::none();
  }
  py::dict meta;
  for (const auto& [k, v] : t->meta()) meta[py::str(k)] = v;
  out["meta"] = meta;
  return out;
}

// --- runs --------------------------------------------------------------------

struct PyRun {
  RunResult res;
};

cli::Common common_of(const std::vector<std::string>& sets, bool allow_insecure) {
  cli::Common c;
  c.sets = sets;
  c.allow_insecure = allow_insecure;
  return c;
}

cli::RunRequest request_of(const std::string& path, const std::vector<std::string>& sets, const std::string& out,
                           const std::string& runs_dir, int jobs, bool cache, bool force, bool quiet, bool verbose,
                           bool allow_insecure) {
  cli::RunRequest rq;
  rq.file = path;
  rq.common = common_of(sets, allow_insecure);
  rq.out = out;
  rq.runs_dir = runs_dir;
  rq.jobs = jobs;
  rq.no_cache = !cache;
  rq.force = force;
  rq.quiet = quiet;
  rq.verbose = verbose;
  rq.keep_outputs = true;      // Run.table() of any stage
  rq.print_reports = !quiet;   // the figures come back as Run.metrics
  return rq;
}

std::vector<std::shared_ptr<PyRun>> run(const std::string& path, const std::vector<std::string>& sets,
                                        const std::string& out, const std::string& runs_dir, int jobs, bool cache,
                                        bool force, bool quiet, bool verbose, bool allow_insecure) {
  if (jobs < 0) throw Error("jobs must be at least 1", ExitCode::Usage);
  auto rq = request_of(path, sets, out, runs_dir, jobs, cache, force, quiet, verbose, allow_insecure);
  std::atomic<bool> cancel{false};
  rq.interrupt = &cancel;
  auto done = interruptible([&] { return cli::run_request(rq); }, cancel);
  std::vector<std::shared_ptr<PyRun>> runs;
  for (auto& r : done.runs) runs.push_back(std::make_shared<PyRun>(PyRun{std::move(r)}));
  return runs;
}

std::vector<Diagnostic> validate(const std::string& path, const std::vector<std::string>& sets, bool allow_insecure) {
  try {
    py::gil_scoped_release nogil;
    cli::load_pipeline(path, common_of(sets, allow_insecure));
    return {};
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
}

// The comparison of each run of `pipectl compare`: build_compare, then the
// report files (compare.md/.json/.html), returned as compare.json's document.
std::vector<std::string> compare(const std::string& path, const std::vector<std::string>& sets, const std::string& out,
                                 const std::string& runs_dir, int jobs, bool cache, bool force, bool quiet,
                                 bool verbose, bool allow_insecure) {
  auto rq = request_of(path, sets, out, runs_dir, jobs, cache, force, quiet, verbose, allow_insecure);
  rq.keep_outputs = false;
  std::atomic<bool> cancel{false};
  rq.interrupt = &cancel;
  return interruptible(
      [&] {
        std::vector<std::filesystem::path> dirs;
        cli::run_request(rq, &dirs);
        std::vector<std::string> docs;
        for (const auto& d : dirs) {
          auto rep = report::build_compare(d);
          report::write_compare(rep, d / "report");
          docs.push_back(report::to_json(rep).dump());
        }
        return docs;
      },
      cancel);
}

// `pipectl predict ARGS`, the command itself (cli::cmd_predict): its errors
// come back as exceptions (t_rethrow_errors), and what it writes on stderr is
// captured, passed on to sys.stderr, and used as the message when it fails
// without an exception (a usage error). Returns the exit code.
int predict(const std::vector<std::string>& args) {
  std::fflush(stderr);
  std::FILE* capture = std::tmpfile();
  if (!capture) throw Error("cannot create a temporary file for predict's messages");
  const int saved = ::dup(2);
  ::dup2(::fileno(capture), 2);
  std::exception_ptr failure;
  int rc = 0;
  try {
    rc = interruptible(
        [&] {
          cli::t_rethrow_errors = true;
          return cli::cmd_predict(args);
        },
        cli::g_interrupt);
  } catch (...) {
    failure = std::current_exception();
  }
  cli::g_interrupt.store(false);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text;
  std::rewind(capture);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, capture)) > 0;) text.append(buf, n);
  std::fclose(capture);
  // The last line of a failure without an exception (a usage error) is the
  // command's message, "pipectl: …" or "error: …": it becomes the
  // exception's; what came before (warnings) goes on to sys.stderr.
  std::string line;
  if (rc != 0 && !failure) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto nl = text.rfind('\n');
    line = text.substr(nl == std::string::npos ? 0 : nl + 1);
    text.resize(nl == std::string::npos ? 0 : nl + 1);
  }
  if (!text.empty()) py::module_::import("sys").attr("stderr").attr("write")(text);
  if (failure) std::rethrow_exception(failure);
  if (rc != 0) {
    for (const char* prefix : {"pipectl: ", "error: "})
      if (line.rfind(prefix, 0) == 0) line = line.substr(std::char_traits<char>::length(prefix));
    if (line.empty()) line = "pipectl predict failed (exit code " + std::to_string(rc) + ")";
    if (rc == static_cast<int>(ExitCode::DataError)) throw DataError(line);
    throw Error(line, static_cast<ExitCode>(rc));
  }
  return rc;
}

py::tuple plugins(bool allow_insecure) {
  PluginRegistry reg;
  reg.set_allow_insecure(allow_insecure);
  {
    py::gil_scoped_release nogil;
    reg.load_default();
  }
  py::list rows;
  for (const auto& [n, p] : reg.plugins()) {
    py::dict r;
    r["name"] = n;
    r["kind"] = kind_name(p.kind);
    r["version"] = p.version;
    r["description"] = p.description;
    r["file"] = p.file.string();
    rows.append(r);
  }
  py::list refused;
  for (const auto& pr : reg.problems()) refused.append(py::make_tuple(pr.file.string(), pr.message));
  return py::make_tuple(rows, refused);
}

}  // namespace

PYBIND11_MODULE(_pipectl, m) {
  m.doc() = "pipectl's C++ core, as the pipectl package uses it (see pipectl/__init__.py)";
  // The module, not pipectl's own handlers, decides what a signal does: a
  // KeyboardInterrupt cancels the run in progress (see interruptible()).
  cli::g_embedded.store(true);
  // As bin/pipectl does (main.cpp): stages share the cores, so OpenMP threads
  // (XGBoost) must not spin while waiting. Set before any plugin loads
  // libgomp; a user's setting wins.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  py::register_exception_translator(translate);

  py::class_<PyRun, std::shared_ptr<PyRun>>(m, "_Run")
      .def_property_readonly("folder", [](const PyRun& r) { return r.res.dir.string(); })
      .def_property_readonly("metrics_json", [](const PyRun& r) { return r.res.metrics.dump(); })
      .def_property_readonly("info_json", [](const PyRun& r) { return r.res.info.dump(); })
      .def_property_readonly("stage_ids",
                             [](const PyRun& r) {
                               std::vector<std::string> ids;
                               for (const auto& [id, t] : r.res.outputs) ids.push_back(id);
                               return ids;
                             })
      .def("table_parts", [](const PyRun& r, const std::string& id) {
        auto it = r.res.outputs.find(id);
        if (it == r.res.outputs.end() || !it->second) {
          std::string ids;
          for (const auto& [k, t] : r.res.outputs) ids += (ids.empty() ? "" : ", ") + k;
          throw py::key_error("no stage \"" + id + "\" in this run (stages: " + ids + ")");
        }
        return table_parts(it->second);
      });

  m.def("run", &run, py::arg("path"), py::arg("sets"), py::arg("out"), py::arg("runs_dir"), py::arg("jobs"),
        py::arg("cache"), py::arg("force"), py::arg("quiet"), py::arg("verbose"), py::arg("allow_insecure"));
  m.def("compare", &compare, py::arg("path"), py::arg("sets"), py::arg("out"), py::arg("runs_dir"), py::arg("jobs"),
        py::arg("cache"), py::arg("force"), py::arg("quiet"), py::arg("verbose"), py::arg("allow_insecure"));
  m.def(
      "validate",
      [](const std::string& path, const std::vector<std::string>& sets, bool allow_insecure) {
        py::list out;
        for (const auto& d : validate(path, sets, allow_insecure)) out.append(diagnostic(d));
        return out;
      },
      py::arg("path"), py::arg("sets"), py::arg("allow_insecure"));
  m.def("predict", &predict, py::arg("args"));
  m.def("plugins", &plugins, py::arg("allow_insecure"));
  m.attr("__version__") = PIPECTL_VERSION;
}
