"""Tests of `import pipectl`: every call, the same figures as the CLI, zero copy, errors, Ctrl-C.

Run by CTest through run_tests.py (one class per CTest test), with the
environment python/tests/CMakeLists.txt sets: PYTHONPATH (the build tree's
package), PIPECTL_BIN (the CLI, to compare with), PIPECTL_GEN
(netcollector-gen), PIPECTL_FIXTURES (the fixture plugins), PIPECTL_SOURCE_DIR.
"""
import gc
import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import numpy as np
import pandas as pd

import pipectl

SRC = pathlib.Path(os.environ["PIPECTL_SOURCE_DIR"])
BIN = os.environ["PIPECTL_BIN"]
GEN = os.environ["PIPECTL_GEN"]
FIXTURES = os.environ["PIPECTL_FIXTURES"]
IOT = SRC / "pipelines" / "iot.toml"
GOOD = SRC / "tests" / "pipelines" / "good"
BROKEN = SRC / "tests" / "pipelines" / "broken"


def cli(*args, check=True):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"pipectl {' '.join(map(str, args))}: exit {r.returncode}\n{r.stderr}")
    return r


class Sandbox(unittest.TestCase):
    """Each class works in a temporary folder of its own: runs/, the stage cache and the run history."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="pipectl-py-")
        cls.tmp = pathlib.Path(cls._tmp.name)
        cls._cwd = os.getcwd()
        os.chdir(cls.tmp)
        os.environ["PIPECTL_CACHE_DIR"] = str(cls.tmp / "cache")
        os.environ["PIPECTL_HISTORY"] = str(cls.tmp / "history.sqlite")
        os.environ["PIPECTL_PLUGIN_PATH"] = FIXTURES

    @classmethod
    def tearDownClass(cls):
        os.chdir(cls._cwd)
        cls._tmp.cleanup()

    @classmethod
    def make_db(cls, sessions=2500, seed=7):
        db = cls.tmp / f"sessions-{sessions}-{seed}.sqlite"
        if not db.exists():
            subprocess.run([GEN, "--sessions", str(sessions), "--seed", str(seed), "--out", str(db)], check=True,
                           capture_output=True)
        return db


class Api(Sandbox):
    """run, Run.metrics/stages/table, predict, validate, compare, plugins: the CLI's figures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = cls.make_db()
        cls.fitted = pipectl.run(IOT, set={"source.path": str(cls.db)}, out="py-run", cache=False)
        cli("run", IOT, "--set", f"source.path={cls.db}", "--out", "cli-run", "--no-cache", "--quiet")

    def test_run_gives_the_cli_metrics(self):
        r = self.fitted
        self.assertIsInstance(r, pipectl.Run)
        self.assertEqual(r.folder, pathlib.Path("py-run").absolute())
        expected = json.loads((self.tmp / "cli-run" / "metrics.json").read_text())
        self.assertEqual(r.metrics, expected)
        self.assertEqual(r.metrics, json.loads((r.folder / "metrics.json").read_text()))
        self.assertGreater(r.metrics["evaluate"]["roc_auc"], 0.5)
        # Run.stages is what run.json says.
        info = json.loads((r.folder / "run.json").read_text())
        self.assertEqual(r.stages, info["stages"])
        self.assertEqual(r.info, info)
        self.assertEqual([s["id"] for s in r.stages],
                         ["source", "clean", "split", "normalise", "categories", "dns", "train", "evaluate"])
        self.assertTrue(all(s["status"] == "ok" for s in r.stages))
        # Recorded in the run history, as the CLI's run is.
        with sqlite3.connect(os.environ["PIPECTL_HISTORY"]) as h:
            dirs = {row[0] for row in h.execute("select run_dir from runs")}
        self.assertIn(str(r.folder), dirs)

    def test_a_dataframe_for_every_stage(self):
        rows = {s["id"]: s["rows_out"] for s in self.fitted.stages}
        self.assertEqual(sorted(self.fitted.stage_ids), sorted(rows))
        for sid in self.fitted.stage_ids:
            df = self.fitted.table(sid)
            self.assertIsInstance(df, pd.DataFrame)
            self.assertEqual(len(df), rows[sid], sid)
        src = self.fitted.table("source")
        with sqlite3.connect(self.db) as c:
            ids = {row[0] for row in c.execute("select sessionid from sessions")}
        self.assertTrue(src["sessionid"].is_unique)
        self.assertTrue(set(src["sessionid"]) <= ids)
        self.assertEqual(src["sessionid"].dtype, np.int64)
        self.assertIsInstance(src["manufacturer"].dtype, pd.CategoricalDtype)
        self.assertIsInstance(src["dns"].iloc[0], list)
        self.assertNotIn("role", src.columns)  # no split yet
        split = self.fitted.table("split")
        self.assertIsInstance(split["role"].dtype, pd.CategoricalDtype)
        self.assertEqual(set(split["role"].unique()), {"train", "valid", "test"})
        # The evaluator scores the test rows: as many as the split made.
        self.assertEqual((split["role"] == "test").sum(), self.fitted.metrics["evaluate"]["rows"])
        train = self.fitted.table("train")
        self.assertIn("pred_label", train.columns)
        self.assertTrue(((train["pred_proba"] >= 0) & (train["pred_proba"] <= 1)).all())
        self.assertEqual(list(train["pred_label"].cat.categories), self.fitted.metrics["evaluate"]["classes"])
        self.assertEqual(train.attrs["meta"].get("label"), "is_iot")

    def read_cli_csv(self, path):
        return pd.read_csv(path, dtype={"sessionid": "Int64", "predicted": "string", "label": "string",
                                        "mac": "string", "manufacturer": "string", "hostname": "string",
                                        "verdict": "string", "device_type": "string"},
                           keep_default_na=False, na_values=[""])

    def test_predict_by_session_and_device_as_the_cli(self):
        new = self.make_db(sessions=800, seed=99)
        for by in ("session", "device"):
            with self.subTest(by=by):
                df = pipectl.predict(self.fitted, new, by=by)
                out = self.tmp / f"cli-{by}.csv"
                cli("predict", self.fitted.folder, "--input", new, "--by", by, "--out", out, "--quiet")
                with open(out) as f:
                    header = f.readline().strip().split(",")
                self.assertEqual(list(df.columns), header)
                pd.testing.assert_frame_equal(df, self.read_cli_csv(out))
                with sqlite3.connect(new) as c:
                    n = c.execute("select count(*) from sessions" if by == "session" else
                                  "select count(distinct deviceid) from sessions").fetchone()[0]
                self.assertEqual(len(df), n)
        # Options are the command's own: --aggregate vote, --threshold.
        vote = pipectl.predict(str(self.fitted.folder), new, by="device", aggregate="vote", threshold=0.9)
        out = self.tmp / "cli-vote.csv"
        cli("predict", self.fitted.folder, "--input", new, "--by", "device", "--aggregate", "vote", "--threshold", "0.9",
            "--out", out, "--quiet")
        pd.testing.assert_frame_equal(vote, self.read_cli_csv(out))

    def test_validate(self):
        self.assertEqual(pipectl.validate(IOT), [])
        self.assertEqual(pipectl.validate(GOOD / "fanout.toml", set={"left.ms": 5}), [])
        diags = pipectl.validate(BROKEN / "three_errors.toml")
        self.assertEqual(len(diags), 3)
        self.assertTrue(all(isinstance(d, pipectl.Diagnostic) for d in diags))
        r = cli("validate", BROKEN / "three_errors.toml", check=False)
        self.assertEqual(r.returncode, 3)
        self.assertEqual([str(d) for d in diags], r.stderr.splitlines()[:-1])
        d = diags[1]
        self.assertEqual((pathlib.Path(d.file).name, d.line, d.column), ("three_errors.toml", 12, 10))
        self.assertIn('unknown plugin "test_slep"', d.message)
        # A value set from Python is checked like --set.
        bad = pipectl.validate(GOOD / "fanout.toml", set={"left.ms": -5})
        self.assertEqual(len(bad), 1)
        self.assertEqual([str(x) for x in bad],
                         cli("validate", GOOD / "fanout.toml", "--set", "left.ms=-5", check=False).stderr.splitlines()[:-1])

    def test_compare(self):
        df = pipectl.compare(IOT, set={"source.path": str(self.db)}, out="cmp-run")
        self.assertEqual(list(df["model"]), ["train"])
        self.assertEqual(df.loc[0, "roc_auc"], self.fitted.metrics["evaluate"]["roc_auc"])
        for col in ("plugin", "roc_auc", "pr_auc", "f1", "accuracy", "log_loss", "train_seconds", "model_bytes"):
            self.assertIn(col, df.columns)
        report = pathlib.Path(df.attrs["report"])
        self.assertTrue((report / "compare.html").exists())
        # The CLI's report of the same run folder: the same table.
        cli("report", df.attrs["run_dir"])
        models = json.loads((report / "compare.json").read_text())["models"]
        pd.testing.assert_frame_equal(df, pd.DataFrame(models))

    def test_plugins(self):
        df = pipectl.plugins()
        self.assertEqual(list(df.columns), ["name", "kind", "version", "description", "file"])
        listed = json.loads(cli("plugins", "list", "--format", "json").stdout)["plugins"]
        self.assertEqual(df.to_dict("records"), listed)
        self.assertIn("xgboost", set(df["name"]))
        self.assertIn("test_sleep", set(df["name"]))

    def test_run_options(self):
        r = pipectl.run(GOOD / "fanout.toml", set={"left.ms": 0, "right.ms": 0, "gen.rows": 123, "bad.fail": "none",
                                                    "gen.file": pathlib.Path("x.dat")},
                        out="opts", jobs=1)
        self.assertEqual(len(r.table("gen")), 123)
        self.assertEqual(r.info["jobs"], 1)
        toml = (r.folder / "pipeline.toml").read_text()
        self.assertIn("rows = 123", toml)
        self.assertIn("x.dat", toml)
        self.assertFalse(any(s["cached"] for s in r.stages))
        again = pipectl.run(GOOD / "fanout.toml", set={"left.ms": 0, "right.ms": 0, "gen.rows": 123,
                                                       "bad.fail": "none", "gen.file": pathlib.Path("x.dat")})
        self.assertTrue(again.folder.name.startswith("fanout-"))
        self.assertEqual(again.folder.parent, pathlib.Path("runs").absolute())
        self.assertTrue(all(s["cached"] for s in again.stages))
        pd.testing.assert_frame_equal(again.table("bad"), r.table("bad"))
        forced = pipectl.run(GOOD / "fanout.toml", set={"left.ms": 0, "right.ms": 0, "gen.rows": 123,
                                                        "bad.fail": "none", "gen.file": pathlib.Path("x.dat")},
                             force=True)
        self.assertFalse(any(s["cached"] for s in forced.stages))
        nocache = pipectl.run(GOOD / "fanout.toml", set={"left.ms": 0, "right.ms": 0, "gen.rows": 7}, cache=False)
        self.assertFalse(any(s["cached"] for s in nocache.stages))
        # A string with commas is one value, not a sweep.
        with self.assertRaises(pipectl.ValidationError) as e:
            pipectl.run(GOOD / "fanout.toml", set={"bad.fail": "run,data"})
        self.assertIn("run,data", str(e.exception))


class Tables(Sandbox):
    """Run.table: types, NULLs, roles, and numpy views of the run's buffers (no copy)."""

    CSV = textwrap.dedent("""\
        i,f,c,tags,big
        1,0.5,red,a|b,10
        ,1.5,,,20
        3,,blue,b,30
        4,4.5,red,c|a|b,40
        5,5.5,green,a,50
        6,6.5,blue,,60
        7,7.5,red,b,70
        8,8.5,green,a|c,80
        9,9.5,blue,c,90
        10,10.5,red,a,100
        """)
    PIPELINE = textwrap.dedent("""\
        [pipeline]
        name = "tables"
        seed = 3

        [[stage]]
        id = "source"
        plugin = "csv"
        path = "t.csv"
        list_columns = ["tags"]
        types = { i = "int64", f = "float64", c = "categorical", big = "int64" }

        [[stage]]
        id = "split"
        plugin = "splitter"
        inputs = ["source"]
        train = 0.6
        valid = 0.2
        test = 0.2
        stratify = ""
        """)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.tmp / "t.csv").write_text(cls.CSV)
        (cls.tmp / "t.toml").write_text(cls.PIPELINE)
        cls.fitted = pipectl.run(cls.tmp / "t.toml", out="tables-run")

    def test_types_and_nulls(self):
        df = self.fitted.table("source")
        self.assertEqual(list(df.columns), ["i", "f", "c", "tags", "big"])
        # int64 with a NULL: nullable Int64, pd.NA in its place.
        self.assertEqual(str(df["i"].dtype), "Int64")
        self.assertIs(df["i"][1], pd.NA)
        self.assertEqual(df["i"].dropna().tolist(), [1, 3, 4, 5, 6, 7, 8, 9, 10])
        # float64 with a NULL: NaN.
        self.assertEqual(df["f"].dtype, np.float64)
        self.assertTrue(np.isnan(df["f"][2]))
        self.assertEqual(df["f"][3], 4.5)
        # Dictionary column: pandas.Categorical, NULL as NaN.
        self.assertIsInstance(df["c"].dtype, pd.CategoricalDtype)
        self.assertEqual(sorted(df["c"].cat.categories), ["blue", "green", "red"])
        self.assertTrue(pd.isna(df["c"][1]))
        self.assertEqual(df["c"][0], "red")
        # Multi-valued: lists of labels.
        self.assertEqual(df["tags"][0], ["a", "b"])
        self.assertEqual(df["tags"][3], ["c", "a", "b"])
        self.assertIn(df["tags"][1], ([], None))
        # int64 without NULLs: plain int64.
        self.assertEqual(df["big"].dtype, np.int64)
        self.assertEqual(df["big"].tolist(), list(range(10, 101, 10)))

    def test_role_column(self):
        df = self.fitted.table("split")
        self.assertEqual(list(df.columns), ["i", "f", "c", "tags", "big", "role"])
        self.assertIsInstance(df["role"].dtype, pd.CategoricalDtype)
        self.assertEqual(list(df["role"].cat.categories), ["none", "train", "valid", "test"])
        counts = df["role"].value_counts()
        self.assertEqual((counts["train"], counts["valid"], counts["test"]), (6, 2, 2))

    def test_zero_copy(self):
        a = self.fitted.table("split")["big"].to_numpy()
        b = self.fitted.table("split")["big"].to_numpy()
        # Two DataFrames of the same table share the column's memory: neither copied it.
        self.assertTrue(np.shares_memory(a, b))
        self.assertEqual(a.__array_interface__["data"][0], b.__array_interface__["data"][0])
        # The splitter passes its input's columns on (the core shares them): so does the module.
        self.assertTrue(np.shares_memory(a, self.fitted.table("source")["big"].to_numpy()))
        # Read-only (tables are immutable), owned by a capsule holding the run's table.
        self.assertFalse(a.flags.writeable)
        with self.assertRaises(ValueError):
            a[0] = 1
        base = a
        while isinstance(base, np.ndarray) and base.base is not None:
            base = base.base
        self.assertEqual(type(base).__name__, "PyCapsule")
        # A nullable int64 column keeps the values buffer too.
        i1 = self.fitted.table("source")["i"].array
        i2 = self.fitted.table("source")["i"].array
        self.assertTrue(np.shares_memory(i1._data, i2._data))

    def test_arrays_outlive_the_run(self):
        r = pipectl.run(self.tmp / "t.toml", out="short-lived", cache=False)
        col = r.table("split")["big"].to_numpy()
        addr = col.__array_interface__["data"][0]
        del r
        gc.collect()
        junk = [np.arange(1000) for _ in range(100)]  # reuse freed memory, if any was freed
        self.assertEqual(col.tolist(), list(range(10, 101, 10)))
        self.assertEqual(col.__array_interface__["data"][0], addr)
        del junk

    def test_unknown_stage(self):
        with self.assertRaises(KeyError) as e:
            self.fitted.table("nope")
        self.assertIn('no stage "nope" in this run (stages: source, split)', str(e.exception))


class Errors(Sandbox):
    """The CLI's messages as exceptions: ValidationError, StageError, DataError, UsageError."""

    def cli_error(self, *args):
        r = cli(*args, check=False)
        self.assertNotEqual(r.returncode, 0)
        line = r.stderr.strip().splitlines()[-1]
        for prefix in ("error: ", "pipectl: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
        return r.returncode, line

    def test_validation_error(self):
        with self.assertRaises(pipectl.ValidationError) as e:
            pipectl.run(BROKEN / "three_errors.toml")
        self.assertEqual(len(e.exception.diagnostics), 3)
        self.assertEqual(e.exception.exit_code, 3)
        self.assertEqual(str(e.exception), "\n".join(str(d) for d in e.exception.diagnostics))
        self.assertFalse(pathlib.Path("runs").exists())  # nothing was run

    def test_stage_error_names_stage_and_plugin(self):
        sets = {"left.ms": 0, "right.ms": 0, "bad.fail": "run"}
        with self.assertRaises(pipectl.StageError) as e:
            pipectl.run(GOOD / "fanout.toml", set=sets, out="fails")
        ex = e.exception
        self.assertEqual((ex.stage, ex.plugin, ex.cause, ex.exit_code),
                         ("bad", "test_misbehave", "boom in the middle of the run", 5))
        self.assertNotIsInstance(ex, pipectl.DataError)
        rc, message = self.cli_error("run", GOOD / "fanout.toml", "--quiet", "--set", "left.ms=0", "--set",
                                     "right.ms=0", "--set", "bad.fail=run", "--out", "cli-fails")
        self.assertEqual((rc, str(ex)), (5, message))
        self.assertFalse(pathlib.Path("fails").exists())
        info = json.loads(pathlib.Path("fails.failed/run.json").read_text())
        self.assertEqual(info["status"], "failed")

    def test_data_error(self):
        with self.assertRaises(pipectl.DataError) as e:
            pipectl.run(GOOD / "fanout.toml", set={"left.ms": 0, "right.ms": 0, "bad.fail": "data"}, out="data")
        self.assertIsInstance(e.exception, pipectl.StageError)
        self.assertEqual(e.exception.exit_code, 6)
        rc, message = self.cli_error("run", GOOD / "fanout.toml", "--quiet", "--set", "left.ms=0", "--set",
                                     "right.ms=0", "--set", "bad.fail=data", "--out", "cli-data")
        self.assertEqual((rc, str(e.exception)), (6, message))

    def test_usage_and_other_errors(self):
        rc, message = self.cli_error("predict", self.tmp, "--input", "x.sqlite")
        with self.assertRaises(pipectl.UsageError) as e:
            pipectl.predict(self.tmp, "x.sqlite")
        self.assertEqual((e.exception.exit_code, str(e.exception)), (rc, message))
        self.assertIsInstance(e.exception, ValueError)
        rc, message = self.cli_error("predict", self.tmp, "--input", "x.sqlite", "--by", "week")
        with self.assertRaises(pipectl.UsageError) as e:
            pipectl.predict(self.tmp, "x.sqlite", by="week")
        self.assertEqual((rc, str(e.exception)), (2, message))
        self.assertEqual(message, "--by must be session or device")
        with self.assertRaises(pipectl.UsageError):
            pipectl.run(GOOD / "fanout.toml", jobs=0)
        rc, message = self.cli_error("run", "missing.toml")
        with self.assertRaises(pipectl.Error) as e:
            pipectl.run("missing.toml")
        self.assertEqual(str(e.exception), message if rc != 3 else str(e.exception))
        self.assertEqual(e.exception.exit_code, rc)
        with self.assertRaises(pipectl.UsageError):
            pipectl.run(GOOD / "fanout.toml", set={"left.ms": object()})


CHILD = """
import os, signal, sys, pipectl
# Python's own Ctrl-C handler, even when this process was started with SIGINT ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
os.chdir(sys.argv[1])
print("running", flush=True)
try:
    pipectl.run(sys.argv[2], set={"left.ms": 60000, "right.ms": 60000}, out="run")
    print("finished")
except KeyboardInterrupt as e:
    print("KeyboardInterrupt", e, flush=True)
    sys.exit(42)
"""


class Interrupt(Sandbox):
    """Ctrl-C cancels a run as SIGINT does the CLI's; the GIL is released while a run works."""

    def interrupt(self, argv, env=None, cwd=None, marker=None):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
        if marker:
            self.assertEqual(p.stdout.readline().strip(), marker)
        partial = self.tmp / "py" / ".run.partial" if marker else self.tmp / "cli" / ".run.partial"
        deadline = time.monotonic() + 60
        while not partial.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(partial.exists(), "the run never started")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=50)
        return p.returncode, out, err, time.monotonic() - t0

    def test_sigint_cancels_the_run_like_the_cli(self):
        for d in ("py", "cli"):
            (self.tmp / d).mkdir()
        rc, out, err, secs = self.interrupt([sys.executable, "-c", CHILD, str(self.tmp / "py"),
                                             str(GOOD / "fanout.toml")], marker="running")
        self.assertEqual(rc, 42, err)
        self.assertIn("KeyboardInterrupt", out)
        self.assertLess(secs, 50)  # cancelled: the stages would sleep 60 s
        crc, _, cerr, _ = self.interrupt([BIN, "run", str(GOOD / "fanout.toml"), "--quiet", "--set", "left.ms=60000",
                                          "--set", "right.ms=60000", "--out", "run"], cwd=self.tmp / "cli")
        self.assertEqual(crc, 130, cerr)
        for d in ("py", "cli"):
            self.assertFalse((self.tmp / d / "run").exists())
            self.assertTrue((self.tmp / d / "run.failed").exists())
        py = json.loads((self.tmp / "py" / "run.failed" / "run.json").read_text())
        c = json.loads((self.tmp / "cli" / "run.failed" / "run.json").read_text())
        self.assertEqual(py["status"], "failed")
        self.assertEqual([(s["id"], s["status"]) for s in py["stages"]], [(s["id"], s["status"]) for s in c["stages"]])
        self.assertEqual(sorted(os.listdir(self.tmp / "py" / "run.failed")),
                         sorted(os.listdir(self.tmp / "cli" / "run.failed")))

    def test_the_gil_is_released_while_a_run_works(self):
        done = {}

        def work():
            done["run"] = pipectl.run(GOOD / "fanout.toml", set={"left.ms": 1500, "right.ms": 10, "gen.rows": 10},
                                      out="gil", cache=False)

        t = threading.Thread(target=work)
        t.start()
        ticks = 0
        while t.is_alive():
            ticks += 1
            time.sleep(0.01)
        t.join()
        self.assertIn("run", done)
        # Held for the whole run, the GIL would have let this loop turn once or twice.
        self.assertGreater(ticks, 20)


class Notebook(Sandbox):
    """examples/notebook.py runs as a script."""

    def test_notebook_runs(self):
        db = self.make_db(sessions=2000, seed=5)
        env = dict(os.environ, PIPECTL_DB=str(db))
        r = subprocess.run([sys.executable, str(SRC / "examples" / "notebook.py")], capture_output=True, text=True,
                           env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        runs = sorted(p.name.split("-2")[0] for p in (self.tmp / "runs").iterdir())
        self.assertEqual(runs, ["iot", "iot-compare", "iot-profile"])
        for model in ("xgb_trees", "xgb_forest", "logreg", "svm", "mlp"):
            self.assertIn(model, r.stdout)
        self.assertIn("roc_auc", r.stdout)


class Install(Sandbox):
    """cmake --install puts the package into the prefix's site-packages, and it works from there."""

    def test_install_into_a_prefix(self):
        prefix = self.tmp / "prefix"
        r = subprocess.run(["cmake", "--install", os.environ["PIPECTL_BUILD_DIR"], "--prefix", str(prefix)],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        site = prefix / os.environ["PIPECTL_PY_INSTALL_DIR"]
        self.assertTrue((site / "pipectl" / "__init__.py").exists())
        (self.tmp / "t.csv").write_text("a,b\n1,x\n2,y\n")
        (self.tmp / "t.toml").write_text('[pipeline]\nname = "t"\n\n[[stage]]\nid = "src"\nplugin = "csv"\n'
                                         'path = "t.csv"\n')
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIPECTL_PLUGIN_PATH")}
        env["PYTHONPATH"] = str(site)
        code = ("import pipectl, sys; assert pipectl.__file__.startswith(sys.argv[1]), pipectl.__file__; "
                "p = pipectl.plugins(); print(sorted(set(p['file'].map(lambda f: f.startswith(sys.argv[1]))))); "
                "r = pipectl.run('t.toml', out='inst'); print(r.table('src')['a'].tolist())")
        r = subprocess.run([os.environ["PIPECTL_PYTHON"], "-c", code, str(prefix)], capture_output=True, text=True,
                           env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["[True]", "[1, 2]"])


if __name__ == "__main__":
    unittest.main()
