"""Which images go to training and which to testing: a subset, then a cell or patient split.

- ``"cell"`` (the course's): a stratified split of the cells. The NIH data set has many cells of
  each patient, so cells of one patient land on both sides and the test score is optimistic.
- ``"patient"``: whole patients go to one side (scikit-learn's ``StratifiedGroupKFold``). The
  patient is read from the NIH file name (:func:`~kerasx.data.patient_id`), so only a folder
  source has it.

The checked arguments of a split travel together as one ``_Plan``.
"""

import dataclasses
import fractions
import itertools
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

__all__ = ["split_files"]

_DEFAULT_FRACTION = {"tfds": 0.1, "folder": 1.0, "synthetic": 1.0}
_SPLITS = ("cell", "patient")
# A patient split puts m of k folds in the test set, with m / k ≈ test_size and k at most this.
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
    """The :class:`_Plan` of these arguments (``fraction=None``: the source's default), or the
    standard error; ``name`` is the split argument's name in the caller."""
    kind = _source_kind(source)
    check_one_of(name, split, _SPLITS)
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


def split_files(source, *, fraction=None, test_size=0.2, seed=0, split="cell"):
    """The files on each side of :func:`load_malaria`'s split, in the order of its arrays.

    Nothing is decoded, so this is cheap. Row ``i`` of ``X_test`` from :func:`load_malaria`
    with the same arguments is the image ``test_files[i]``.

    Args:
        source: a folder in the NIH layout (only folders have file names).
        fraction, test_size, seed, split: as for :func:`load_malaria`.

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
    try:
        groups = None
        if plan.split == "patient":
            groups = np.array([patient_id(f) for f in records.files])
        if plan.fraction < 1.0:
            indices, _ = train_test_split(
                indices, train_size=plan.fraction, stratify=labels, random_state=plan.seed
            )
        if groups is None:
            return train_test_split(
                indices, test_size=plan.test_size, stratify=labels[indices], random_state=plan.seed
            )
        return _patient_split(indices, labels[indices], groups[indices], plan)
    except ValueError as err:
        by = "by patient" if plan.split == "patient" else "stratified"
        raise InvalidArgument(
            f"Cannot split {len(labels)} images {by} with fraction={plan.fraction} and "
            f"test_size={plan.test_size}: {err}"
        ) from None


def _patient_split(indices, labels, groups, plan):
    """Whole groups to each side: ``m`` of ``k`` stratified group folds form the test set."""
    n_groups = len(np.unique(groups))
    share = fractions.Fraction(plan.test_size).limit_denominator(min(_MAX_FOLDS, n_groups))
    k = max(share.denominator, 2)
    m = min(max(share.numerator, 1), k - 1)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=plan.seed)
    with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
        warnings.simplefilter("ignore", UserWarning)
        folds = list(itertools.islice(splitter.split(indices, labels, groups), m))
    test = np.concatenate([fold_test for _, fold_test in folds])
    if len(test) == 0 or len(test) == len(indices):
        raise ValueError(f"{n_groups} patients cannot fill both sides")
    train = np.setdiff1d(np.arange(len(indices)), test)
    rng = np.random.default_rng(plan.seed)  # shuffled order, like train_test_split's
    return indices[rng.permutation(train)], indices[rng.permutation(test)]
