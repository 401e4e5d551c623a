"""Argument checks shared by :func:`bootstrap_ci`, :func:`compare` and the paired tests.

Each raises :class:`kerasx.InvalidArgument` in the standard form, naming the argument.
"""

import math
import numbers

import numpy as np

from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value

__all__ = [
    "check_classes",
    "check_groups",
    "check_labels",
    "check_level",
    "check_method",
    "check_n_resamples",
    "check_rng",
    "check_scores",
    "check_threshold",
    "describe_array",
]

METHODS = ("percentile", "bca")


def describe_array(array):
    return f"array of shape {np.shape(array)}"


def _vector(name, values):
    """A 1-D array (a ``(n, 1)`` column is flattened); raises for an empty or 2-D one."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) == 0:
        raise invalid_value(name, "a non-empty 1-D array", array, describe=describe_array)
    return array


def check_labels(y_true, name="y_true"):
    """0/1 labels as an int64 vector (bools and 0.0/1.0 floats are accepted)."""
    array = _vector(name, y_true)
    ok = array.dtype == bool or np.issubdtype(array.dtype, np.number)
    if not ok or not np.isin(array, (0, 1)).all():

        def values(a):
            return f"array with values {np.unique(a)[:5].tolist()}" if ok else str(a.dtype)

        raise invalid_value(name, "0/1 labels", array, describe=values)
    return array.astype(np.int64)


def check_scores(name, scores, n, *, probabilities=False, against="y_true"):
    """Finite float scores, one per row of ``against`` (``n`` rows)."""
    array = _vector(name, scores)
    if len(array) != n:
        expected = f"one score per row of {against} ({n})"
        raise invalid_value(name, expected, array, describe=describe_array)
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise invalid_value(name, "numbers", array.dtype, describe=str)
    array = array.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int((~finite).sum())

        def count(a):
            return f"{describe_array(a)} with {bad} NaN or inf"

        raise invalid_value(name, "finite values (no NaN or inf)", array, describe=count)
    if probabilities and ((array < 0) | (array > 1)).any():
        expected = "probabilities in [0, 1] for this metric"
        raise invalid_value(name, expected, array, describe=_value_range)
    return array


def _value_range(array):
    return f"values in [{array.min():g}, {array.max():g}]"


def check_classes(y, needs, purpose):
    """Raises unless ``y`` holds every class in ``needs`` (e.g. ``(0, 1)`` for an AUC)."""
    missing = [c for c in needs if not (y == c).any()]
    if missing:
        wanted = "both classes (0 and 1)" if len(needs) == 2 else f"rows of class {needs[0]}"

        def counts(a):
            return f"{len(a)} labels, {int(a.sum())} of class 1"

        raise invalid_value("y_true", f"{wanted} for {purpose}", y, describe=counts)


def check_groups(groups, n):
    """``(codes, n_groups)``: one integer code per row, for any hashable labels."""
    if groups is None:
        return None, None
    array = np.asarray(groups)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n:
        expected = f"one group label per row of y_true ({n})"
        raise invalid_value("groups", expected, array, describe=describe_array)
    try:
        _, codes = np.unique(array, return_inverse=True)
    except TypeError:  # labels of mixed types: number them in order of appearance
        index = {}
        codes = np.array([index.setdefault(g, len(index)) for g in array.tolist()])
    codes = codes.astype(np.int64).ravel()
    n_groups = int(codes.max()) + 1
    if n_groups < 2:

        def one(a):
            return f"{len(a)} rows in 1 group"

        raise invalid_value("groups", "at least 2 distinct groups", array, describe=one)
    return codes, n_groups


def check_level(level):
    return check_in_range("level", level, 0, 1, low_open=True, high_open=True)


def check_n_resamples(n_resamples, level):
    """At least one resample in each tail of the interval: ``n_resamples >= 2 / (1 − level)``."""
    n_resamples = check_int("n_resamples", n_resamples, minimum=1)
    minimum = math.ceil(2 / (1 - level) - 1e-9)
    if n_resamples < minimum:
        expected = f"an integer >= {minimum} (2 / (1 - level): a resample in each tail)"
        raise invalid_value("n_resamples", expected, n_resamples)
    return n_resamples


def check_method(method):
    return check_one_of("method", method, METHODS)


def check_threshold(threshold):
    ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not ok or not math.isfinite(threshold):
        raise invalid_value("threshold", "a finite float", threshold)
    return float(threshold)


def check_rng(seed):
    """A NumPy ``Generator`` from ``None``, an integer >= 0 or a ``Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise invalid_value("seed", "None, an integer >= 0 or a numpy.random.Generator", seed)
    return np.random.default_rng(seed)
