"""What a search reads from and writes to its surroundings: files, memory, environment.

Private helpers shared by the KerasTuner and scikit-learn paths.
"""

import json
import math
import os

import numpy as np
import pandas as pd

from kerasx import _io
from kerasx._validation import invalid_value

try:  # Unix only: on Windows ``peak_rss_mb`` reports NaN.
    import resource
except ImportError:
    resource = None

__all__ = [
    "checked_data",
    "is_distributed",
    "is_worker",
    "peak_rss_mb",
    "progress",
    "read_json",
    "read_trials",
    "save_model",
    "write_csv",
    "write_json",
]


def read_json(path):
    """The JSON object in ``path``, or ``{}`` when there is no such file."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def write_json(path, data):
    """Writes ``data`` to ``path`` whole (``kerasx._io``), so a killed process never tears it."""
    _io.write_json(path, data)


def write_csv(table, path):
    """Writes a ``pandas.DataFrame`` to ``path`` whole (``kerasx._io``)."""
    _io.write_csv(path, table)


def save_model(model, path):
    """``model.save(path)`` whole: a killed process leaves the previous file or none."""
    with _io.atomic_path(path) as temporary:
        model.save(temporary)


def read_trials(path):
    """The trials table in ``path`` (trial ids kept as text: ``"000"``), or None."""
    if not os.path.exists(path):
        return None
    return pd.read_csv(path, dtype={"trial_id": str})


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB; NaN where ``resource`` is missing.

    >>> peak_rss_mb() > 0
    True
    """
    if resource is None:
        return math.nan
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def progress(enabled, message):
    """Prints ``[kerasx tune] message`` when ``enabled``."""
    if enabled:
        print(f"[kerasx tune] {message}", flush=True)


def is_distributed():
    """True when KerasTuner's distributed mode is on (``KERASTUNER_ORACLE_IP`` is set)."""
    return "KERASTUNER_ORACLE_IP" in os.environ


def is_worker():
    """True in a distributed search's worker (its oracle lives in the chief)."""
    return is_distributed() and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def _shape(array):
    return f"array of shape {np.shape(array)}"


def _all_finite(array):
    # One float64 sum first (no temporary as large as the data); an exact pass only if it fails.
    return math.isfinite(float(np.sum(array, dtype=np.float64))) or bool(np.isfinite(array).all())


def checked_data(X, y, x_name, y_name):
    """``X`` and ``y`` as arrays, or the standard error for data no search can use: empty,
    not numeric, not finite (NaN or inf), or of different lengths."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or len(X) == 0:
        expected = "a non-empty array of samples, shape (n_samples, n_features, ...)"
        raise invalid_value(x_name, expected, X, describe=_shape)
    for name, array in ((x_name, X), (y_name, y)):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise invalid_value(name, "numbers", array.dtype, describe=str)
        if not _all_finite(array):
            raise invalid_value(name, "finite values (no NaN or inf)", array, describe=_shape)
    if y.shape[:1] != X.shape[:1]:
        expected = f"one label per sample of {x_name} ({len(X)})"
        raise invalid_value(y_name, expected, y, describe=_shape)
    return X, y
