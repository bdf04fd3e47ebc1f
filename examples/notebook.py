# %% [markdown]
# # The seed analysis from Python
#
# pipectl's pipelines from a notebook (cells: `# %%`, as Jupyter/VS Code read
# them) or as a script:
#
#     PYTHONPATH=build/python python3 examples/notebook.py
#
# The database is data/demo.sqlite (`./setup demo` makes it) unless
# PIPECTL_DB names another one. Runs go to ./runs, as the CLI's do.

# %%
import os
import pathlib

import pandas as pd

import pipectl

ROOT = pathlib.Path(__file__).resolve().parent.parent if "__file__" in globals() else pathlib.Path.cwd()
DB = os.environ.get("PIPECTL_DB") or str(ROOT / "data" / "demo.sqlite")

# %% Run the seed pipeline: is_iot from the sessions, XGBoost, scored on the test rows.
run = pipectl.run(ROOT / "pipelines" / "iot.toml", set={"source.path": DB})
print(run.folder)
print(run.metrics["evaluate"])

# %% Any stage's output is a DataFrame: the cleaned sessions, with their train/valid/test role.
sessions = run.table("split")
print(sessions.groupby(["role", "is_iot"], observed=True).size().unstack())
print(sessions.groupby("is_iot")[["bytes", "packets", "duration"]].median())

# %% The profile: describe(), outlier label rates, features ranked by what they tell about is_iot.
profile = pipectl.run(ROOT / "pipelines" / "iot-profile.toml", set={"source.path": DB})
print((profile.folder / "stages" / "profile" / "profile.md").read_text()[:2000])

# %% Five models on the same split, side by side (report: <run>/report/compare.html).
models = pipectl.compare(ROOT / "pipelines" / "iot-compare.toml", set={"source.path": DB})
print(models[["name", "plugin", "roc_auc", "pr_auc", "f1", "train_seconds", "model_bytes"]]
      .sort_values("roc_auc", ascending=False).to_string(index=False))

# %% Predict by device with the fitted seed run: the likely IoT devices first.
devices = pipectl.predict(run, DB, by="device")
print(devices.head(10).to_string(index=False))
print(pd.crosstab(devices["device_type"], devices["verdict"]))
