"""Which images go to training and which to testing: a subset, then a cell or patient split.

- ``"cell"`` (the course's): a stratified split of the cells. The NIH data set has many cells of
  each patient, so cells of one patient land on both sides and the test score is optimistic.
- ``"patient"``: whole patients go to one side (scikit-learn's ``StratifiedGroupKFold``). The
  patient is read from the NIH file name (:func:`~kerasx.data.patient_id`), so only a folder
  source has it. The default for a folder; ``"cell"`` is the default for the other sources.

:func:`grouped_validation_split` holds out whole groups (patients) of the training side the same
way, for early stopping and other fits that must not see the training patients' cells.

The checked arguments of a split travel together as one ``_Plan``.
"""

import dataclasses
import fractions
import os
import warnings

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from kerasx._validation import (
    InvalidArgument,
    check_in_range,
    check_int,
    check_one_of,
    invalid_value,
)
from kerasx.data.sources import _LAYOUT, _folder_records, _source_kind, patient_id

__all__ = ["grouped_validation_split", "split_files"]

_DEFAULT_FRACTION = {"tfds": 0.1, "folder": 1.0, "synthetic": 1.0}
_SPLITS = ("cell", "patient")
# A group split holds out m of k folds, with m / k ≈ the share asked for and k at most this.
_MAX_FOLDS = 20


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The checked arguments of a split: the source's kind, the subset and how it is split."""

    kind: str  # "tfds", "synthetic" or "folder"
    fraction: float
    test_size: float
    seed: int
    split: str  # "cell" or "patient"


def _check_plan(source, *, fraction, test_size, seed, split, name="split"):
    """The :class:`_Plan` of these arguments (``fraction=None``: the source's default;
    ``split=None``: ``"patient"`` for a folder, ``"cell"`` otherwise), or the standard error;
    ``name`` is the split argument's name in the caller."""
    kind = _source_kind(source)
    check_one_of(name, split, (None, *_SPLITS))
    if split is None:
        split = "patient" if kind == "folder" else "cell"
    if split == "patient" and kind != "folder":
        why = {
            "tfds": "TFDS 'malaria' stores images without file names",
            "synthetic": "synthetic images belong to no patient",
        }[kind]
        raise invalid_value(
            name,
            f"'cell' for source={kind!r}: a patient split needs the NIH file names, whose prefix "
            f"before '_IMG' names the patient, and {why}",
            split,
        )
    if fraction is None:
        fraction = _DEFAULT_FRACTION[kind]
    check_in_range("fraction", fraction, 0, 1, low_open=True)
    check_in_range("test_size", test_size, 0, 1, low_open=True, high_open=True)
    check_int("seed", seed, minimum=0)
    return _Plan(kind, float(fraction), test_size, seed, split)


def split_files(source, *, fraction=None, test_size=0.2, seed=0, split=None):
    """The files on each side of :func:`load_malaria`'s split, in the order of its arrays.

    Nothing is decoded, so this is cheap. Row ``i`` of ``X_test`` from :func:`load_malaria`
    with the same arguments is the image ``test_files[i]``.

    Args:
        source: a folder in the NIH layout (only folders have file names).
        fraction, test_size, seed, split: as for :func:`load_malaria` (``split=None``: by
            patient).

    Returns:
        ``(train_files, test_files)``: two lists of paths.

    Raises:
        ValueError: an invalid argument, or ``"tfds"`` / ``"synthetic"`` as ``source``.
        FileNotFoundError: as for :func:`load_malaria`.

    >>> split_files("synthetic")
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `source`. Expected a folder in the NIH layout: ...
    """
    plan = _check_plan(source, fraction=fraction, test_size=test_size, seed=seed, split=split)
    if plan.kind != "folder":
        raise invalid_value("source", f"{_LAYOUT}; only a folder has file names", source)
    records = _folder_records(os.fspath(source))
    train_idx, test_idx = _split_indices(records, plan)
    return [records.files[i] for i in train_idx], [records.files[i] for i in test_idx]


def _split_indices(records, plan):
    """Stratified subset of ``plan.fraction``, then the train/test split (index arrays)."""
    labels = records.labels
    indices = np.arange(len(labels))
    by = "by patient" if plan.split == "patient" else "stratified"
    try:
        groups = None
        if plan.split == "patient":
            groups = _patient_ids(records.files)
        if plan.fraction < 1.0:
            indices, _ = train_test_split(
                indices, train_size=plan.fraction, stratify=labels, random_state=plan.seed
            )
        if groups is None:
            return train_test_split(
                indices, test_size=plan.test_size, stratify=labels[indices], random_state=plan.seed
            )
        train, test = _hold_out_groups(labels[indices], groups[indices], plan.test_size, plan.seed)
    except ValueError as err:  # an InvalidArgument of patient_id's keeps its hint apart
        raise InvalidArgument(
            f"Cannot split {len(labels)} images {by} with fraction={plan.fraction} and "
            f"test_size={plan.test_size}: {getattr(err, 'message', err)}",
            hint=getattr(err, "hint", None),
        ) from None
    rng = np.random.default_rng(plan.seed)  # shuffled order, like train_test_split's
    return indices[rng.permutation(train)], indices[rng.permutation(test)]


def _patient_ids(files):
    """The :func:`patient_id` of every file, as an array; a name without one says what to do."""
    try:
        return np.array([patient_id(f) for f in files])
    except InvalidArgument as err:
        raise InvalidArgument(
            err.message,
            hint="A folder whose file names do not name NIH patients can only be split by cell "
            "(split='cell'), and then cells of one patient may land on both sides.",
        ) from None


def grouped_validation_split(y, groups, *, validation_split=0.1, seed=0):
    """Rows to fit on and rows to validate on, with every group (patient) on one side only.

    Use it instead of Keras's ``validation_split`` (the last rows, any patient) when early
    stopping, a learning-rate or a temperature fit must be judged on patients the model does not
    train on. Whole groups are held out, stratified by class as far as groups allow: the groups
    are dealt into ``k`` folds by scikit-learn's ``StratifiedGroupKFold(n_splits=k,
    shuffle=True, random_state=seed)`` and ``m`` folds form the validation side, ``m / k`` being
    the fraction nearest to ``validation_split`` with ``k <= min(20, number of groups)`` (1 of 10
    for 0.1, 1 of 5 for 0.2, 3 of 20 for 0.15). The share of rows is therefore
    ``validation_split`` only as closely as the groups' sizes allow. Of the ``k`` choices of
    ``m`` consecutive folds, the first that leaves every class on both sides is taken (the first
    of all if none does), so both classes are validated on whenever the groups allow.

    Args:
        y: class labels, one per row (shape ``(n,)`` or ``(n, 1)``), e.g. 0/1.
        groups: the group of each row, e.g. :func:`~kerasx.data.patient_id` of its file, or
            the groups :func:`~kerasx.data.load_malaria` returns with ``return_groups=True``.
        validation_split: the share of rows to hold out, in (0, 1).
        seed: seed of the folds; the same arguments give the same rows.

    Returns:
        ``(fit_rows, validation_rows)``: two sorted int64 arrays of row indices that together
        hold every row once.

    Raises:
        InvalidArgument: ``y`` and ``groups`` differ in length, fewer than 2 groups, a
            ``validation_split`` outside (0, 1), or groups that cannot fill both sides.

    >>> y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 0])
    >>> groups = np.array(["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4", "C5", "C6"])
    >>> fit_rows, validation_rows = grouped_validation_split(y, groups, validation_split=0.25)
    >>> validation_rows, sorted(set(groups[fit_rows]) & set(groups[validation_rows]))
    (array([4, 5, 8]), [])
    """
    y, groups = _check_grouped(y, groups)
    check_in_range("validation_split", validation_split, 0, 1, low_open=True, high_open=True)
    check_int("seed", seed, minimum=0)
    try:
        fit_rows, validation_rows = _hold_out_groups(y, groups, validation_split, seed)
    except ValueError as err:
        raise InvalidArgument(
            f"Cannot hold out {validation_split} of {len(y)} rows by group: {err}"
        ) from None
    return np.sort(fit_rows), np.sort(validation_rows)


def _check_grouped(y, groups):
    """``y`` and ``groups`` as 1-D arrays of one length and at least 2 groups, else raises."""
    y, groups = np.asarray(y), np.asarray(groups)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise invalid_value("y", "one class label per row, shape (n,)", y, describe=_shape)
    if groups.shape != y.shape:
        raise invalid_value(
            "groups", f"one group per row of `y` (shape {y.shape})", groups, describe=_shape
        )
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise invalid_value(
            "groups",
            "at least 2 distinct groups",
            groups,
            describe=lambda _: f"{n_groups} distinct group" + "s" * (n_groups != 1),
        )
    return y, groups


def _shape(array):
    return f"an array of shape {np.shape(array)}"


def _hold_out_groups(labels, groups, share, seed):
    """Whole groups on each side: ``m`` of ``k`` stratified group folds are held out.

    Returns ``(rest, held)``, positions into ``labels``; raises ``ValueError`` when the groups
    cannot fill both sides (e.g. a single group).
    """
    n_groups = len(np.unique(groups))
    most = max(min(_MAX_FOLDS, n_groups), 2)
    share = fractions.Fraction(share).limit_denominator(most)
    share = min(max(share, fractions.Fraction(1, most)), 1 - fractions.Fraction(1, most))
    k, m = share.denominator, share.numerator
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
        warnings.simplefilter("ignore", UserWarning)
        folds = [test for _, test in splitter.split(labels, labels, groups)]
    classes = np.unique(labels)
    choices = [np.concatenate([folds[(j + i) % k] for i in range(m)]) for j in range(k)]
    choices = [(np.setdiff1d(np.arange(len(labels)), held), held) for held in choices]
    for rest, held in choices:
        if all(np.array_equal(np.unique(labels[side]), classes) for side in (rest, held)):
            return rest, held
    rest, held = choices[0]
    if len(held) == 0 or len(rest) == 0:
        raise ValueError(f"{n_groups} groups cannot fill both sides")
    return rest, held
