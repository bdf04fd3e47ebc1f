#!/usr/bin/python3
"""The iot pipeline (pipelines/iot.toml) written with the analysis's own
Python stack -- apsw, pandas, scikit-learn, scipy.sparse, xgboost -- as the
reference pipectl is benchmarked against (bench/run).

    /usr/bin/python3 bench/reference.py DB.sqlite [--mode matched|notebook] [--pipeline pipelines/iot.toml]
                                       [--seed 42] [--nthread N] [--out result.json]

Same data and the same steps as the pipeline's stages, each with the stack's
usual tool and no per-row Python loop (a competent implementation, not a
strawman):

  read       the sqlite source's default query with device_column = "mac"
             (sessions joined to their device's MAC) and list query (plugins/
             sqlite_source/spec.cpp) through apsw into pandas; DNS names
             matched to the labelled sessions, each name once per session
  clean      duration = |endtime - starttime|; rows with NULL srcport, dstport,
             bytes, packets, duration or device_type, negative bytes/packets or
             ports outside 0-65535 dropped; is_iot = device_type != 'Other'
  split      70/15/15 BY DEVICE (whole MACs), stratified by is_iot as closely
             as whole devices allow: the splitter's method "groups" (plugins/
             splitter/splitter.cpp run_groups) in pandas/numpy -- each device's
             majority class is its stratum, devices in the order of a hash of
             their MAC and the stage seed, each to the split furthest below its
             share -- so every contender has the very same test devices (on
             the bench databases' 27 devices a different draw of 4 test devices
             moves the test ROC AUC by far more than any model difference)
  normalise  MinMaxScaler(clip=True) fitted on the train rows: bytes, packets, duration
  encode     srcport, dstport -> top 20 training values + other (ties:
             smaller value first); DNS names -> the 100 names in most training
             sessions (ties by name) + other (once per row) + none (rows
             without names); all features in one scipy CSR matrix, in the
             trainer's column order, minmax values stored explicitly (zeros
             too). The manufacturer is not a feature (iot.toml excludes it).
  train      xgboost.train, binary:logistic, logloss, tree_method hist,
             nthread = cores, early stopping on the valid rows; then the test
             rows are predicted with the best iteration.
               --mode matched (default): the pipeline's own booster settings,
                 read from its train stage (--pipeline): eta, max_depth,
                 max_bin, num_round, early_stopping_rounds (iot.toml: 0.3, 8,
                 1024, 300, 10); min_child_weight 1, subsample 1,
                 colsample_bytree 1, lambda 1, alpha 0 (the plugin's defaults)
               --mode notebook: the analysis's own choices (issue 15): eta 0.3,
                 at most 100 rounds, early stopping 10, every other parameter
                 XGBoost 1.7's default (max_depth 6, max_bin 256)
  evaluate   sklearn metrics on the test rows: accuracy, precision, recall, f1,
             roc_auc, average precision (pr_auc), log_loss, confusion matrix
             (pipectl's evaluator also computes a bootstrap interval over the
             devices and per-device verdicts: more work than this)

Prints one JSON object: per-stage wall and CPU seconds, the peak RSS
(high-water mark, KiB) at the end of each stage, the metrics and the versions.
"""

import argparse
import json
import os
import resource
import sys
import time
import tomllib

import apsw
import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import sklearn
import xgboost as xgb
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score, log_loss,
                             precision_score, recall_score, roc_auc_score)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

# plugins/sqlite_source/spec.cpp: kSqliteDefaultQuery, kSqliteDefaultListQuery
QUERY = ("select s.sessionid, s.srcport, s.dstport, s.lensum as bytes, s.pktcount as packets, s.starttime, "
         "s.endtime, d.manufacturer, d.device_type, dv.mac as \"mac\" "
         "from sessions s inner join v_session_mnf_devicetype d on s.sessionid = d.sessionid "
         "inner join devices dv on dv.deviceid = s.deviceid "
         "where d.device_type is not null order by s.sessionid")
LIST_QUERY = "select q.sessionid, q.qname from dns_queries q order by q.sessionid"

NUMERIC = ["bytes", "packets", "duration"]           # normaliser columns
CATEGORIES = ["srcport", "dstport"]                  # category_map columns (manufacturer: not a feature)
TOP_K = 20
DNS_TOP_K = 100
OTHER, NONE = "other", "none"


def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Stages:
    def __init__(self):
        self.wall = {}
        self.cpu = {}
        self.rss = {}
        self._t = self._c = None

    def start(self):
        self._t, self._c = time.perf_counter(), time.process_time()

    def end(self, name):
        self.wall[name] = time.perf_counter() - self._t
        self.cpu[name] = time.process_time() - self._c  # every thread of the process
        self.rss[name] = peak_rss_kib()


def read(path, mmap_mb):
    con = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    con.execute(f"pragma mmap_size={mmap_mb * 1024 * 1024}")  # what pipectl's sqlite source sets
    cur = con.cursor()
    cur.execute("begin")  # one snapshot for both queries, as the source
    it = cur.execute(QUERY)
    names = [d[0] for d in cur.getdescription()]
    df = pd.DataFrame.from_records(it, columns=names, coerce_float=False)
    cur2 = con.cursor()
    dns = pd.DataFrame.from_records(cur2.execute(LIST_QUERY), columns=["sessionid", "qname"])
    cur.execute("commit")
    con.close()
    # The names of the labelled sessions only, each once per session (list_distinct).
    sid = df["sessionid"].to_numpy()
    pos = np.searchsorted(sid, dns["sessionid"].to_numpy())
    pos_c = np.minimum(pos, len(sid) - 1)
    matched = (pos < len(sid)) & (sid[pos_c] == dns["sessionid"].to_numpy())
    dns = dns.loc[matched].drop_duplicates(ignore_index=True)
    return df, dns


def clean(df):
    df["duration"] = (df["endtime"] - df["starttime"]).abs()
    required = ["srcport", "dstport", "bytes", "packets", "duration", "device_type"]
    keep = df[required].notna().all(axis=1)
    keep &= (df["bytes"] >= 0) & (df["packets"] >= 0)
    keep &= df["srcport"].between(0, 65535) & df["dstport"].between(0, 65535)
    if not keep.all():
        df = df.loc[keep].reset_index(drop=True)
    df["is_iot"] = (df["device_type"] != "Other").astype(np.int64)
    return df.drop(columns=["starttime", "endtime", "device_type", "manufacturer"])


MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def value_hash(label):
    """splitter.cpp split_value_hash(string)."""
    b = label.encode()
    h = mix64(len(b) ^ 0xBB67AE8584CAA73B)
    for p in range(0, len(b), 8):
        w = int.from_bytes(b[p:p + 8].ljust(8, b"\0"), "little")
        h = mix64(((h + GOLDEN) & MASK) ^ mix64((w + GOLDEN) & MASK))
    return h


def stage_seed(pipeline_seed, stage_id):
    """core/src/pipeline.cpp stage_seed."""
    h = 1469598103934665603
    for c in stage_id.encode():
        h = ((h ^ c) * 1099511628211) & MASK
    return mix64(h ^ ((pipeline_seed + GOLDEN) & MASK))


def split_unit(seed, h):
    x = mix64(seed ^ 0xA54FF53A5F1D36F1)
    x = mix64(((x + GOLDEN) & MASK) ^ h)
    return (x >> 11) * 2.0 ** -53


def split(mac, y, seed, fractions=(0.70, 0.15, 0.15)):
    """The splitter's method "groups" (group mac, stratify is_iot): role 0/1/2 per row."""
    codes, macs = pd.factorize(mac, sort=False)
    if (codes < 0).any():
        raise SystemExit("reference: a session without a device MAC")
    k = len(macs)
    pos = np.bincount(codes, weights=y, minlength=k)
    size = np.bincount(codes, minlength=k)
    majority = (pos > size - pos).astype(int)  # ties: class 0 (the smaller key)
    s_seed = stage_seed(seed, "split")
    split_of = np.zeros(k, dtype=np.int8)
    for stratum in (0, 1):
        members = np.flatnonzero(majority == stratum)
        hashes = [value_hash(str(macs[g])) for g in members]
        order = sorted((split_unit(s_seed, h), h, g) for h, g in zip(hashes, members))
        total = float(size[members].sum())
        deficit = [f * total for f in fractions]
        taken, empty, positive = [0, 0, 0], 3, 3
        for j, (_, _, g) in enumerate(order):
            left = len(order) - j
            must_fill = len(order) >= positive and left <= empty
            best = -1
            for sp in range(3):
                if must_fill and taken[sp] > 0:
                    continue
                if best < 0 or deficit[sp] > deficit[best]:
                    best = sp
            if best < 0:
                best = 0
            if taken[best] == 0:
                empty -= 1
            taken[best] += 1
            deficit[best] -= float(size[g])
            split_of[g] = best
    return split_of[codes]


def normalise(df, train):
    scaler = MinMaxScaler(clip=True).fit(df.loc[train, NUMERIC])
    df[NUMERIC] = scaler.transform(df[NUMERIC])
    return df


def top_values(s):
    """The TOP_K most frequent values of a training column (ties: smaller value first)."""
    vc = s.value_counts(dropna=True)
    vc = vc[vc.index.astype(str) != OTHER]
    order = pd.DataFrame({"v": vc.index, "n": vc.to_numpy()}).sort_values(["n", "v"], ascending=[False, True],
                                                                         kind="stable")
    return list(order["v"][:TOP_K])


def encode(df, dns, train):
    """Category codes, the DNS multi-hot and the feature matrix (CSR)."""
    n = len(df)
    # category_map: top-k + other, one-hot.
    codes, sizes = {}, {}
    for c in CATEGORIES:
        top = top_values(df.loc[train, c])
        k = np.asarray(pd.Categorical(df[c], categories=top).codes, dtype=np.int32)
        k[k < 0] = len(top)  # other (also NULL)
        codes[c], sizes[c] = k, len(top) + 1
    # multi_hot: vocabulary by document frequency over the training rows.
    rows = np.searchsorted(df["sessionid"].to_numpy(), dns["sessionid"].to_numpy())
    rows_c = np.minimum(rows, n - 1)
    ok = (rows < n) & (df["sessionid"].to_numpy()[rows_c] == dns["sessionid"].to_numpy())
    rows, names = rows[ok], dns["qname"].to_numpy()[ok]
    in_train = train[rows]
    df_counts = pd.Series(names[in_train]).value_counts()
    df_counts = df_counts[~df_counts.index.isin([OTHER, NONE])]
    order = pd.DataFrame({"v": df_counts.index, "n": df_counts.to_numpy()}).sort_values(
        ["n", "v"], ascending=[False, True], kind="stable")
    vocab = list(order["v"][:DNS_TOP_K])
    other_code, none_code = len(vocab), len(vocab) + 1
    dcode = np.asarray(pd.Categorical(names, categories=vocab).codes, dtype=np.int64)
    dcode[dcode < 0] = other_code
    pairs = np.unique(rows.astype(np.int64) * (none_code + 1) + dcode)  # distinct, by row then code
    prow, pcode = pairs // (none_code + 1), pairs % (none_code + 1)
    per_row = np.bincount(prow, minlength=n)
    empty = np.flatnonzero(per_row == 0)
    prow = np.concatenate([prow, empty])
    pcode = np.concatenate([pcode, np.full(len(empty), none_code)])
    o = np.argsort(prow, kind="stable")
    prow, pcode = prow[o], pcode[o]
    per_row[empty] = 1
    dns_size = len(vocab) + 2

    # The trainer's columns, in the table's order: srcport, dstport, bytes,
    # packets, dns, duration (categoricals one-hot).
    base, col = {}, 0
    for name, size in [("srcport", sizes["srcport"]), ("dstport", sizes["dstport"]), ("bytes", 1),
                       ("packets", 1), ("dns", dns_size), ("duration", 1)]:
        base[name] = col
        col += size
    ncols = col
    row_nnz = 5 + per_row
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_nnz, out=indptr[1:])
    start = indptr[:-1]
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float32)
    for off, c in [(0, "srcport"), (1, "dstport")]:
        indices[start + off] = base[c] + codes[c]
        data[start + off] = 1.0
    for off, c in [(2, "bytes"), (3, "packets")]:
        indices[start + off] = base[c]
        data[start + off] = df[c].to_numpy(dtype=np.float32)
    indices[indptr[1:] - 1] = base["duration"]
    data[indptr[1:] - 1] = df["duration"].to_numpy(dtype=np.float32)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_row, out=first[1:])
    rank = np.arange(len(prow)) - first[prow]
    at = start[prow] + 4 + rank
    indices[at] = base["dns"] + pcode
    data[at] = 1.0
    # NaN (NULL numerics) stays in the matrix: XGBoost's missing=NaN leaves it out, as pipectl does.
    return sp.csr_matrix((data, indices, indptr), shape=(n, ncols))


def booster_settings(mode, pipeline):
    """(params, num_round, early_stopping_rounds) of --mode."""
    if mode == "notebook":
        return {"eta": 0.3}, 100, 10
    with open(pipeline, "rb") as f:
        doc = tomllib.load(f)
    st = next(s for s in doc["stage"] if s.get("plugin") == "xgboost")
    params = {"eta": st.get("eta", 0.3), "max_depth": st.get("max_depth", 6), "min_child_weight": 1.0,
              "subsample": 1.0, "colsample_bytree": 1.0, "lambda": 1.0, "alpha": 0.0,
              "max_bin": st.get("max_bin", 256)}
    return params, st.get("num_round", 300), st.get("early_stopping_rounds", 20)


def train_model(X, y, role, nthread, seed, settings):
    tr, va, te = (np.flatnonzero(role == k) for k in range(3))
    booster, rounds, early = settings
    dtrain = xgb.DMatrix(X[tr], label=y[tr].astype(np.float32), nthread=nthread)
    dvalid = xgb.DMatrix(X[va], label=y[va].astype(np.float32), nthread=nthread)
    params = {"booster": "gbtree", "objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
              "nthread": nthread, "seed": seed, **booster}
    t0 = time.perf_counter()
    bst = xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dvalid, "valid")],
                    early_stopping_rounds=early, verbose_eval=False)
    boost_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dtest = xgb.DMatrix(X[te], nthread=nthread)
    proba = bst.predict(dtest, iteration_range=(0, bst.best_iteration + 1))
    predict_s = time.perf_counter() - t0
    info = {"best_iteration": int(bst.best_iteration), "boosted_rounds": int(bst.num_boosted_rounds()),
            "train_rows": int(len(tr)), "valid_rows": int(len(va)), "test_rows": int(len(te)),
            "num_features": int(X.shape[1]), "valid_logloss": float(bst.best_score),
            "params": params, "num_round": rounds, "early_stopping_rounds": early,
            "boost_s": boost_s, "predict_test_s": predict_s}
    return proba, te, info


def evaluate(y, proba):
    pred = (proba >= 0.5).astype(np.int64)
    return {"rows": int(len(y)), "accuracy": accuracy_score(y, pred),
            "precision": precision_score(y, pred, zero_division=0), "recall": recall_score(y, pred),
            "f1": f1_score(y, pred), "roc_auc": roc_auc_score(y, proba), "pr_auc": average_precision_score(y, proba),
            "log_loss": log_loss(y, proba.astype(np.float64), labels=[0, 1]),
            "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db")
    ap.add_argument("--seed", type=int, default=42, help="the pipeline's seed (the split's stage seed derives from it)")
    ap.add_argument("--mode", choices=["matched", "notebook"], default="matched",
                    help="matched: the pipeline's booster settings; notebook: the analysis's own (eta 0.3, <= 100 "
                         "rounds, early stopping 10, XGBoost's defaults otherwise)")
    ap.add_argument("--pipeline", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       "pipelines", "iot.toml"),
                    help="the pipeline whose train stage gives --mode matched its settings")
    ap.add_argument("--nthread", type=int, default=os.cpu_count() or 1,
                    help="XGBoost threads (default: the cores, as the xgboost plugin's nthread = 0)")
    ap.add_argument("--mmap-mb", type=int, default=256, help="PRAGMA mmap_size in MiB (the sqlite source's default)")
    ap.add_argument("--out", help="also write the JSON here")
    a = ap.parse_args()

    st = Stages()
    t_all = time.perf_counter()
    st.start()
    df, dns = read(a.db, a.mmap_mb)
    rows_read = len(df)
    st.end("read")
    st.start()
    df = clean(df)
    st.end("clean")
    st.start()
    y = df["is_iot"].to_numpy()
    role = split(df["mac"].to_numpy(), y, a.seed)
    train = role == 0
    st.end("split")
    st.start()
    df = normalise(df, train)
    st.end("normalise")
    st.start()
    X = encode(df, dns, train)
    st.end("encode")
    st.start()
    proba, te, info = train_model(X, y, role, a.nthread, a.seed, booster_settings(a.mode, a.pipeline))
    st.end("train")
    st.start()
    metrics = evaluate(y[te], proba)
    st.end("evaluate")
    total = time.perf_counter() - t_all

    out = {
        "impl": "python-reference",
        "mode": a.mode,
        "db": a.db,
        "rows": rows_read,
        "rows_clean": int(len(df)),
        "dns_pairs": int(len(dns)),
        "stages": st.wall,
        "stage_cpu_s": st.cpu,
        "stage_peak_rss_kib": st.rss,
        "preprocess_s": sum(st.wall[k] for k in ["read", "clean", "split", "normalise", "encode"]),
        "total_s": total,
        "peak_rss_kib": peak_rss_kib(),
        "roc_auc": metrics["roc_auc"],
        "metrics": metrics,
        "train": info,
        "versions": {"python": sys.version.split()[0], "apsw": apsw.apswversion(), "sqlite": apsw.sqlitelibversion(),
                     "pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "sklearn": sklearn.__version__, "xgboost": xgb.__version__},
    }
    text = json.dumps(out, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
