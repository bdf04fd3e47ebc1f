"""A pipectl table (the parts _pipectl.table_parts hands over) as a pandas DataFrame.

float64 / int64 columns are the run's own buffers (read-only numpy views, no
copy) unless they hold NULLs: a float64 column with NULLs is copied with NaN
in their place, an int64 column with NULLs becomes a nullable Int64 column
(pd.NA) over the same values buffer. Categorical columns are
pandas.Categorical, multi-valued ones lists of labels (None for NULL), and
the row role (train / valid / test, once a splitter ran) the categorical
column ``role``.
"""

import numpy as np
import pandas as pd


def _column(c):
    t = c["type"]
    valid = c["valid"]
    null = None if valid is None else (valid == 0)
    if t == "float64":
        v = c["values"]
        if null is not None and null.any():
            v = v.copy()
            v[null] = np.nan
        return v
    if t == "int64":
        v = c["values"]
        if null is not None and null.any():
            return pd.arrays.IntegerArray(v, null)
        return v
    if t == "categorical":
        codes = c["codes"]
        if null is not None and null.any():
            codes = np.where(null, -1, codes)
        return pd.Categorical.from_codes(codes, categories=c["dictionary"])
    if t == "multi_categorical":
        offsets, codes, labels = c["offsets"], c["codes"], c["dictionary"]
        rows = len(offsets) - 1 if len(offsets) else 0
        out = [None] * rows
        for i in range(rows):
            if null is not None and null[i]:
                continue
            out[i] = [labels[k] for k in codes[offsets[i]:offsets[i + 1]]]
        return out
    raise TypeError(f"column {c['name']!r}: unknown type {t!r}")


def frame(parts):
    cols = {c["name"]: _column(c) for c in parts["columns"]}
    if parts["roles"] is not None and "role" not in cols:
        cols["role"] = pd.Categorical.from_codes(parts["roles"].astype(np.int8), categories=parts["role_names"])
    # copy=False: each numpy column stays a view of its buffer (no block consolidation).
    df = pd.DataFrame(cols, copy=False)
    if not cols:
        df = pd.DataFrame(index=pd.RangeIndex(parts["rows"]))
    df.attrs["meta"] = dict(parts["meta"])
    return df
