"""pipectl from Python: run pipelines, get the results as pandas DataFrames.

    import pipectl
    run = pipectl.run("pipelines/iot.toml", set={"source.path": "data/demo.sqlite"})
    run.metrics["evaluate"]["roc_auc"]
    df = run.table("split")                      # any stage's output table
    pipectl.predict(run, "new.sqlite", by="device")

Every call goes through the same C++ code as the ``pipectl`` command
(``_pipectl`` links the CLI's own library): the same validation, runs, run
folders, run history, stage cache, predictions and comparison report. Errors
are the exceptions of :mod:`pipectl.errors`, with the CLI's messages.
"""

import json as _json
import math as _math
import os as _os
import pathlib as _pathlib
import tempfile as _tempfile
import warnings as _warnings

import pandas as _pd

from . import _pipectl
from ._frames import frame as _frame
from .errors import (DataError, Diagnostic, Error, PluginLoadError, StageDataError, StageError, UsageError,  # noqa: F401
                     ValidationError)

__version__ = _pipectl.__version__
__all__ = ["run", "Run", "predict", "validate", "compare", "plugins", "Diagnostic", "Error", "UsageError",
           "ValidationError", "PluginLoadError", "StageError", "DataError", "StageDataError"]


def _toml(v):
    """A Python value as the TOML text of a --set value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if _math.isnan(v):
            return "nan"
        if _math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (str, _os.PathLike)):
        return _json.dumps(_os.fspath(v))  # a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_json.dumps(str(k))} = {_toml(x)}" for k, x in v.items()) + "}"
    raise UsageError(f"set: cannot pass a {type(v).__name__} as a parameter value")


def _sets(overrides):
    """{"stage.key": value} -> ["stage.key=<TOML>"]: each value is literal (no sweep)."""
    if not overrides:
        return []
    if not isinstance(overrides, dict):
        raise UsageError('set must be a dict {"stage.key": value}')
    return [f"{k}={_toml(v)}" for k, v in overrides.items()]


class Run:
    """A finished run: its folder, figures, and every stage's output table (kept in memory)."""

    def __init__(self, handle):
        self._h = handle
        self.folder = _pathlib.Path(handle.folder)
        #: metrics.json as a dict: each stage's figures under its id
        self.metrics = _json.loads(handle.metrics_json)
        #: run.json as a dict (status, timings, plugins, stages…)
        self.info = _json.loads(handle.info_json)

    @property
    def stages(self):
        """What run.json says about each stage (status, rows in/out, seconds, counters, cached…)."""
        return self.info.get("stages", [])

    @property
    def stage_ids(self):
        return list(self._h.stage_ids)

    def table(self, stage_id):
        """The output of stage ``stage_id`` as a pandas DataFrame (see pipectl._frames for the types).

        float64 / int64 columns without NULLs are read-only numpy views of the run's
        buffers: no copy, and the buffers live as long as any array does."""
        return _frame(self._h.table_parts(stage_id))

    def __repr__(self):
        return f"<pipectl.Run {self.folder} ({self.info.get('status', '?')}, {len(self.stage_ids)} stages)>"


def _run_args(path, set=None, out=None, jobs=None, cache=True, quiet=True, runs_dir="runs", force=False,
              verbose=False, allow_insecure_plugins=False):
    return dict(path=_os.fspath(path), sets=_sets(set), out="" if out is None else _os.fspath(out),
                runs_dir=_os.fspath(runs_dir), jobs=0 if jobs is None else int(jobs), cache=bool(cache),
                force=bool(force), quiet=bool(quiet), verbose=bool(verbose),
                allow_insecure=bool(allow_insecure_plugins))


def run(path, set=None, out=None, jobs=None, cache=True, quiet=True, *, runs_dir="runs", force=False,
        verbose=False, allow_insecure_plugins=False):
    """Run a pipeline file, as ``pipectl run`` does; returns a :class:`Run`.

    set: {"stage.key": value} overrides (--set); out: the run folder (--out; default
    runs_dir/<name>-<UTC time>); jobs: stages run concurrently (default: the cores);
    cache=False: neither read nor write the stage cache (--no-cache); force: re-run
    every stage (--force); quiet=False: the log and the stages' reports on the terminal.
    The GIL is released while the pipeline runs; Ctrl-C (KeyboardInterrupt) cancels
    it as SIGINT cancels the CLI's run, leaving the same "<run>.failed" folder."""
    if jobs is not None and int(jobs) < 1:
        raise UsageError("jobs must be at least 1")
    runs = _pipectl.run(**_run_args(path, set, out, jobs, cache, quiet, runs_dir, force, verbose,
                                    allow_insecure_plugins))
    return Run(runs[0])


def validate(path, set=None, *, allow_insecure_plugins=False):
    """Check a pipeline file without running it (``pipectl validate``): its list of
    :class:`Diagnostic` (file, line, column, message), empty when it is valid."""
    return list(_pipectl.validate(_os.fspath(path), _sets(set), bool(allow_insecure_plugins)))


def _flag(k):
    return "--" + k.replace("_", "-")


def predict(run_folder, input, by="session", **options):
    """Apply a fitted run to new sessions (``pipectl predict``): the CLI's CSV as a DataFrame.

    run_folder: a finished run folder (or a :class:`Run`); input: a file for the run's
    source plugin (or a PostgreSQL connection string); by: "session" or "device".
    options are the command's own, with "_" for "-": model="train",
    aggregate="vote", threshold=0.7, chunk_rows=100000, source_param={"table": "x"},
    quiet=False…; True is a bare flag, a list or dict repeats the option."""
    folder = run_folder.folder if isinstance(run_folder, Run) else run_folder
    options.setdefault("quiet", True)
    with _tempfile.TemporaryDirectory(prefix="pipectl-predict-") as tmp:
        csv = _os.path.join(tmp, "predictions.csv")
        args = [_os.fspath(folder), "--input", _os.fspath(input), "--by", str(by), "--out", csv]
        for k, v in options.items():
            if v is None or v is False:
                continue
            if v is True:
                args.append(_flag(k))
            elif isinstance(v, dict):
                for kk, vv in v.items():
                    args += [_flag(k), f"{kk}={vv}"]
            elif isinstance(v, (list, tuple)):
                for vv in v:
                    args += [_flag(k), str(vv)]
            else:
                args += [_flag(k), str(v)]
        _pipectl.predict(args)
        text = {"sessionid": "Int64", "predicted": "string", "label": "string", "mac": "string",
                "manufacturer": "string", "hostname": "string", "verdict": "string", "device_type": "string"}
        return _pd.read_csv(csv, dtype=text, keep_default_na=False, na_values=[""])


def compare(path, **run_options):
    """Run a pipeline and compare every model its evaluators scored (``pipectl compare``).

    run_options are run()'s (set, out, jobs, cache, quiet…). Returns the comparison table,
    one row per model (ROC AUC, PR AUC, F1, accuracy, log loss, training time,
    throughput, model size…); the report files are written as by the CLI, their
    folder in ``df.attrs["report"]``, the run folder in ``df.attrs["run_dir"]``."""
    docs = _pipectl.compare(**_run_args(path, **run_options))
    doc = _json.loads(docs[0])
    df = _pd.DataFrame(doc["models"])
    df.attrs.update({"run_dir": doc.get("run_dir"), "run_id": doc.get("run_id"), "pipeline": doc.get("pipeline"),
                     "report": str(_pathlib.Path(doc.get("run_dir", "")) / "report"), "best": doc.get("best"),
                     "columns": doc.get("columns")})
    return df


def plugins(*, allow_insecure_plugins=False):
    """The plugins found (``pipectl plugins list``): name, kind, version, description, file.
    Libraries that were refused are warnings (and ``df.attrs["refused"]``)."""
    rows, refused = _pipectl.plugins(bool(allow_insecure_plugins))
    for _, message in refused:
        _warnings.warn(message, stacklevel=2)
    df = _pd.DataFrame(rows, columns=["name", "kind", "version", "description", "file"])
    df.attrs["refused"] = [{"file": f, "message": m} for f, m in refused]
    return df
