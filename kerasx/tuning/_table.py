"""``trials.csv``: the trials table on disk, its list columns (fold scores, curves) as JSON text.

A trial's ``fold_scores`` (one score per cross-validation fold) and its learning curves
(``curve_<metric>``, one value per epoch) are lists; in the CSV each is one cell of JSON text
(``[0.71, 0.69]``, ``null`` for a missing value), read back as lists.

>>> import pandas as pd
>>> encode(pd.DataFrame({"trial_id": ["0"], "fold_scores": [[0.5, float("nan")]]}))
  trial_id   fold_scores
0        0  [0.5, null]
"""

import json
import math

from kerasx import _io

__all__ = ["decode", "encode", "is_list_column", "read_trials", "write_trials"]


def is_list_column(name):
    """True for the columns that hold one list per trial.

    >>> is_list_column("curve_val_loss"), is_list_column("score")
    (True, False)
    """
    return name == "fold_scores" or name.startswith("curve_")


def _to_json(value):
    if not isinstance(value, (list, tuple)):
        return value  # a trial without the list (e.g. written before it existed): NaN
    return json.dumps([None if v is None or not math.isfinite(v) else float(v) for v in value])


def _from_json(value):
    if not isinstance(value, str):
        return value
    return [math.nan if v is None else v for v in json.loads(value)]


def encode(table):
    """``table`` with each list column as JSON text."""
    columns = [name for name in table.columns if is_list_column(name)]
    return table.assign(**{name: table[name].map(_to_json) for name in columns})


def decode(table):
    """``table`` with each list column read back from JSON text."""
    columns = [name for name in table.columns if is_list_column(name)]
    return table.assign(**{name: table[name].map(_from_json) for name in columns})


def write_trials(path, table):
    """Writes the trials table to ``path`` whole."""
    _io.write_csv(path, encode(table))


def read_trials(path, default=None):
    """The trials table in ``path`` (trial ids as text: ``"000"``), or ``default``."""
    table = _io.read_csv(path, dtype={"trial_id": str})
    return default if table is None else decode(table)
