"""How a search validates: on held-out patients (grouped) or on held-out rows (cell split).

With ``groups`` (one patient id per training row) every trial is judged on patients it never
trained on: KerasTuner's trials validate on whole patients taken out of the training rows
(:func:`kerasx.data.grouped_validation_split`), and the scikit-learn path's folds are
``StratifiedGroupKFold``'s. Without groups, KerasTuner validates on the last
``validation_split`` of the rows (Keras's ``validation_split``) and the folds are
``StratifiedKFold``'s: cells of one patient then sit on both sides.

Each way is recorded as a dict (:func:`holdout`, :func:`folds`) whose ``summary`` line goes
into ``trials.csv``, ``best.json`` and the printed output.

>>> import numpy as np
>>> y = np.array([0, 1] * 6)
>>> record = folds(2, y)[1]
>>> record["summary"]
'held-out rows (cell split), 2 folds (StratifiedKFold): 6 of 12 rows per fold'
"""

import math

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from kerasx._validation import invalid_value
from kerasx.data import grouped_validation_split

__all__ = [
    "BY_ROW",
    "GROUPED",
    "check_groups",
    "fold_splitter",
    "folds",
    "holdout",
    "resolve_split",
]

GROUPED = "held-out patients (grouped)"
BY_ROW = "held-out rows (cell split)"


def _shape(array):
    return f"array of shape {np.shape(array)}"


def resolve_split(split, groups):
    """The split a search runs: ``split``, or ``"patient"`` when there are groups, else ``"cell"``.

    Raises:
        ValueError: ``split="patient"`` without groups, or ``split="cell"`` with them.

    >>> resolve_split(None, None), resolve_split(None, [0, 0, 1])
    ('cell', 'patient')
    """
    if split is None:
        return "cell" if groups is None else "patient"
    if split == "patient" and groups is None:
        hint = "Pass groups (load_malaria(..., return_groups=True) gives them) or split='cell'."
        raise invalid_value(
            "groups", "one patient id per row with split='patient'", None, hint=hint
        )
    if split == "cell" and groups is not None:
        expected = "None with split='cell' (it validates on held-out rows, not patients)"
        raise invalid_value("groups", expected, groups, describe=_shape)
    return split


def check_groups(groups, y, *, n_splits=None):
    """``groups`` as a 1-D array of one id per label of ``y`` (text ids as ``str``, not object).

    Args:
        groups: one group (patient) id per row, or None.
        y: the labels.
        n_splits: when given, the number of folds, which needs at least as many groups.

    Raises:
        ValueError: not one id per row, or fewer groups than ``n_splits``.
    """
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != len(y):
        raise invalid_value("groups", f"one id per row of y ({len(y)})", groups, describe=_shape)
    if groups.dtype == object:  # saved to .npz for the chain of processes, without pickle
        groups = groups.astype(str)
    n_groups = len(np.unique(groups))
    if n_splits is not None and n_groups < n_splits:
        expected = f"at least as many groups as folds ({n_splits})"
        raise invalid_value("groups", expected, f"{n_groups} groups", describe=str)
    return groups


def _record(method, summary, **counts):
    return {"method": method, **counts, "summary": summary}


def holdout(X, y, groups, *, validation_split, seed):
    """The data and ``fit`` arguments of one hold-out, and the record of it.

    Returns:
        ``(X_fit, y_fit, fit_kwargs, record)``: with groups, the rows of the patients kept for
        fitting and ``validation_data`` of the others; without, all rows and
        ``validation_split`` (Keras validates on the last rows).
    """
    if groups is None:
        n_rows = len(y) - math.floor(len(y) * (1.0 - validation_split))  # as Keras cuts
        summary = f"{BY_ROW}: the last {n_rows} of {len(y)} rows"
        record = _record(BY_ROW, summary, folds=1, validation_rows=n_rows)
        return X, y, {"validation_split": validation_split}, record
    fit_rows, validation_rows = grouped_validation_split(
        y, groups, validation_split=validation_split, seed=seed
    )
    n_patients, n_total = len(np.unique(groups[validation_rows])), len(np.unique(groups))
    summary = f"{GROUPED}: {n_patients} of {n_total} patients, {len(validation_rows)} rows"
    record = _record(
        GROUPED, summary, folds=1, validation_patients=n_patients,
        validation_rows=len(validation_rows),
    )  # fmt: skip
    validation_data = (X[validation_rows], y[validation_rows])
    return X[fit_rows], y[fit_rows], {"validation_data": validation_data}, record


def _span(values):
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def fold_splitter(cv, groups=None):
    """``StratifiedGroupKFold(cv)`` with groups (no group on both sides of a fold), else
    ``StratifiedKFold(cv)``.

    >>> fold_splitter(3, groups=[0, 0, 1])
    StratifiedGroupKFold(n_splits=3, random_state=None, shuffle=False)
    """
    return StratifiedKFold(cv) if groups is None else StratifiedGroupKFold(cv)


def folds(cv, y, groups=None):
    """The splitter of ``cv`` folds (:func:`fold_splitter`), and the record of its folds.

    Returns:
        ``(splitter, record)``; the record lists each fold's validation rows (and patients),
        one number per fold.
    """
    splitter = fold_splitter(cv, groups)
    held_out = [rows for _, rows in splitter.split(np.zeros(len(y)), y, groups)]
    n_rows = [len(rows) for rows in held_out]
    scheme = f"{cv} folds ({type(splitter).__name__})"
    if groups is None:
        summary = f"{BY_ROW}, {scheme}: {_span(n_rows)} of {len(y)} rows per fold"
        return splitter, _record(BY_ROW, summary, folds=cv, validation_rows=n_rows)
    n_patients = [len(np.unique(groups[rows])) for rows in held_out]
    n_total = len(np.unique(groups))
    summary = (
        f"{GROUPED}, {scheme}: {_span(n_patients)} of {n_total} patients, {_span(n_rows)} rows "
        "per fold"
    )
    record = _record(
        GROUPED, summary, folds=cv, validation_patients=n_patients, validation_rows=n_rows
    )
    return splitter, record
