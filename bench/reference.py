#!/usr/bin/python3
"""The iot pipeline (pipelines/iot.toml) written with the analysis's own
Python stack -- apsw, pandas, scikit-learn, scipy.sparse, xgboost -- as the
reference pipectl is benchmarked against (bench/run).

    /usr/bin/python3 bench/reference.py DB.sqlite [--seed 42] [--nthread N] [--out result.json]

Same data and the same steps as the pipeline's stages, each with the stack's
usual tool and no per-row Python loop (a competent implementation, not a
strawman):

  read       the sqlite source's default query and list query (plugins/
             sqlite_source/spec.cpp) through apsw into pandas; DNS names matched
             to the labelled sessions, each name once per session
  clean      duration = |endtime - starttime|; rows with NULL srcport, dstport,
             bytes, packets, duration or device_type, negative bytes/packets or
             ports outside 0-65535 dropped; is_iot = device_type != 'Other'
  split      70/15/15 stratified by is_iot (sklearn train_test_split, twice)
  normalise  MinMaxScaler(clip=True) fitted on the train rows: bytes, packets, duration
  encode     srcport, dstport, manufacturer -> top 20 training values + other
             (ties: smaller value / label first); DNS names -> the 100 names in
             most training sessions (ties by name) + other (once per row) + none
             (rows without names); all features in one scipy CSR matrix, in the
             trainer's column order, minmax values stored explicitly (zeros too)
  train      xgboost.train: binary:logistic, logloss, hist, eta 0.1, max_depth 6,
             min_child_weight 1, subsample 1, colsample_bytree 1, lambda 1,
             alpha 0, max_bin 256, nthread = cores, 300 rounds, early stopping
             20 on the valid rows; then the test rows are predicted with the
             best iteration (pipectl's trainer predicts in its stage too)
  evaluate   sklearn metrics on the test rows: accuracy, precision, recall, f1,
             roc_auc, average precision (pr_auc), log_loss, confusion matrix

Prints one JSON object: per-stage wall and CPU seconds, the peak RSS
(high-water mark, KiB) at the end of each stage, the metrics and the versions.
"""

import argparse
import json
import os
import resource
import sys
import time

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
         "s.endtime, d.manufacturer, d.device_type "
         "from sessions s inner join v_session_mnf_devicetype d on s.sessionid = d.sessionid "
         "where d.device_type is not null order by s.sessionid")
LIST_QUERY = "select q.sessionid, q.qname from dns_queries q order by q.sessionid"

NUMERIC = ["bytes", "packets", "duration"]           # normaliser columns
CATEGORIES = ["srcport", "dstport", "manufacturer"]  # category_map columns
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
    return df.drop(columns=["starttime", "endtime", "device_type"])


def split(y, seed):
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, train_size=0.70, stratify=y, random_state=seed)
    valid, test = train_test_split(rest, train_size=0.50, stratify=y[rest], random_state=seed)
    role = np.empty(len(y), dtype=np.int8)
    role[train], role[valid], role[test] = 0, 1, 2
    return role


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
    # packets, manufacturer, dns, duration (categoricals one-hot).
    base, col = {}, 0
    for name, size in [("srcport", sizes["srcport"]), ("dstport", sizes["dstport"]), ("bytes", 1),
                       ("packets", 1), ("manufacturer", sizes["manufacturer"]), ("dns", dns_size),
                       ("duration", 1)]:
        base[name] = col
        col += size
    ncols = col
    row_nnz = 6 + per_row
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_nnz, out=indptr[1:])
    start = indptr[:-1]
    nnz = int(indptr[-1])
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float32)
    for off, c in [(0, "srcport"), (1, "dstport"), (4, "manufacturer")]:
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
    at = start[prow] + 5 + rank
    indices[at] = base["dns"] + pcode
    data[at] = 1.0
    # NaN (NULL numerics) stays in the matrix: XGBoost's missing=NaN leaves it out, as pipectl does.
    return sp.csr_matrix((data, indices, indptr), shape=(n, ncols))


def train_model(X, y, role, nthread, seed):
    tr, va, te = (np.flatnonzero(role == k) for k in range(3))
    dtrain = xgb.DMatrix(X[tr], label=y[tr].astype(np.float32), nthread=nthread)
    dvalid = xgb.DMatrix(X[va], label=y[va].astype(np.float32), nthread=nthread)
    params = {"booster": "gbtree", "objective": "binary:logistic", "eval_metric": "logloss", "eta": 0.1,
              "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0,
              "lambda": 1.0, "alpha": 0.0, "tree_method": "hist", "max_bin": 256, "nthread": nthread,
              "seed": seed}
    t0 = time.perf_counter()
    bst = xgb.train(params, dtrain, num_boost_round=300, evals=[(dvalid, "valid")], early_stopping_rounds=20,
                    verbose_eval=False)
    boost_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dtest = xgb.DMatrix(X[te], nthread=nthread)
    proba = bst.predict(dtest, iteration_range=(0, bst.best_iteration + 1))
    predict_s = time.perf_counter() - t0
    info = {"best_iteration": int(bst.best_iteration), "boosted_rounds": int(bst.num_boosted_rounds()),
            "train_rows": int(len(tr)), "num_features": int(X.shape[1]), "valid_logloss": float(bst.best_score),
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
    ap.add_argument("--seed", type=int, default=42)
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
    role = split(y, a.seed)
    train = role == 0
    st.end("split")
    st.start()
    df = normalise(df, train)
    st.end("normalise")
    st.start()
    X = encode(df, dns, train)
    st.end("encode")
    st.start()
    proba, te, info = train_model(X, y, role, a.nthread, a.seed)
    st.end("train")
    st.start()
    metrics = evaluate(y[te], proba)
    st.end("evaluate")
    total = time.perf_counter() - t_all

    out = {
        "impl": "python-reference",
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
