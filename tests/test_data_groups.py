"""kerasx.data.grouped_validation_split: whole groups (patients) held out for validation.

Checked on generated groups of unequal sizes and class mixes (like the NIH patients: some have
one class only) and on the real shared cells, against scikit-learn's ``StratifiedGroupKFold``
(the reference it builds on) and an unstratified ``GroupShuffleSplit``.
"""

import os

import numpy as np
import pytest
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from kerasx import InvalidArgument
from kerasx.data import grouped_validation_split, patient_id, split_files


def make_groups(n_groups=120, seed=0):
    """Labels and group ids: groups of 1-40 rows; a third hold class 0 only (uninfected-only
    patients), the others a random mix. Group ids are NIH-like strings."""
    rng = np.random.default_rng(seed)
    y, groups = [], []
    for g in range(n_groups):
        size = int(rng.integers(1, 41))
        share = 0.0 if g % 3 == 0 else rng.uniform(0.3, 0.9)
        y += (rng.random(size) < share).astype(int).tolist()
        groups += [f"P{g}" if g % 3 else f"C{g}"] * size
    return np.array(y), np.array(groups)


@pytest.fixture(scope="module")
def generated():
    return make_groups()


def _check_partition(fit_rows, validation_rows, groups):
    n = len(groups)
    assert fit_rows.dtype == validation_rows.dtype == np.int64
    assert np.all(np.diff(fit_rows) > 0) and np.all(np.diff(validation_rows) > 0)  # sorted
    np.testing.assert_array_equal(np.sort(np.concatenate([fit_rows, validation_rows])), range(n))
    assert not set(groups[fit_rows]) & set(groups[validation_rows])


@pytest.mark.parametrize("validation_split", [0.1, 0.15, 0.2, 0.25, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_whole_groups_near_the_share_on_generated_groups(generated, validation_split, seed):
    y, groups = generated
    fit_rows, validation_rows = grouped_validation_split(
        y, groups, validation_split=validation_split, seed=seed
    )
    _check_partition(fit_rows, validation_rows, groups)
    assert abs(len(validation_rows) / len(y) - validation_split) < 0.03
    assert set(y[validation_rows]) == set(y[fit_rows]) == {0, 1}


@pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")
def test_the_first_fold_of_stratified_group_k_fold():
    """For 0.1 the validation rows are fold 1 of scikit-learn's 10 stratified group folds."""
    for seed in range(5):
        y, groups = make_groups(seed=seed)
        splitter = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
        _, reference = next(splitter.split(y, y, groups))
        _, validation_rows = grouped_validation_split(y, groups, seed=seed)
        np.testing.assert_array_equal(validation_rows, np.sort(reference))


def test_class_balance_beats_an_unstratified_group_split(generated):
    """Over 20 seeds the validation side's class share stays closer to the whole's than that of
    ``GroupShuffleSplit`` (whole groups too, not stratified), and always within 0.05."""
    y, groups = generated
    overall = y.mean()
    ours, reference = [], []
    for seed in range(20):
        _, validation_rows = grouped_validation_split(y, groups, validation_split=0.2, seed=seed)
        splitter = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
        _, reference_rows = next(splitter.split(y, y, groups))
        ours.append(abs(y[validation_rows].mean() - overall))
        reference.append(abs(y[reference_rows].mean() - overall))
    assert max(ours) < 0.05
    assert np.mean(ours) < np.mean(reference) / 2


def test_same_seed_same_rows_other_seed_other_groups(generated):
    y, groups = generated
    first = grouped_validation_split(y, groups, seed=3)
    again = grouped_validation_split(list(y), list(groups), seed=3)  # lists work too
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    held = {frozenset(groups[grouped_validation_split(y, groups, seed=s)[1]]) for s in range(5)}
    assert len(held) == 5


@pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")
def test_both_classes_validated_on_when_the_groups_allow():
    """Ten groups, two of them mixed: every fold is one group, and most folds hold class 0
    only. The first fold that leaves both classes on both sides is taken."""
    y = np.array([0] * 8 * 5 + [0, 1, 1, 0, 1] * 2)
    groups = np.repeat(np.arange(10), 5)
    first_fold_one_class = 0
    for seed in range(10):
        fit_rows, validation_rows = grouped_validation_split(y, groups, seed=seed)
        _check_partition(fit_rows, validation_rows, groups)
        assert set(y[validation_rows]) == set(y[fit_rows]) == {0, 1}
        splitter = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
        _, reference = next(splitter.split(y, y, groups))
        first_fold_one_class += len(set(y[reference])) == 1
    assert first_fold_one_class > 0  # the test can fail: the plain first fold lacks a class


def test_two_groups_and_labels_as_a_column():
    y = np.array([[0], [1], [1], [0], [1]], np.float32)
    groups = np.array([7, 7, 7, 8, 8])
    fit_rows, validation_rows = grouped_validation_split(y, groups, validation_split=0.3)
    _check_partition(fit_rows, validation_rows, groups)
    assert len(validation_rows) in (2, 3)


def test_held_out_patients_of_the_shared_cells(malaria_dir):
    """On the real cells: the training side of the default patient split, then 10% of its
    patients for validation, stratified: 0.1 of the rows within 0.02, and the training side's
    share of parasitized cells within 0.05 (9 to 12 patients, about 225 rows)."""
    train_files, test_files = split_files(malaria_dir)
    groups = np.array([patient_id(f) for f in train_files])
    y = np.array([f"{os.sep}Parasitized{os.sep}" in f for f in train_files], np.float32)
    for seed in range(3):
        fit_rows, validation_rows = grouped_validation_split(y, groups, seed=seed)
        _check_partition(fit_rows, validation_rows, groups)
        assert abs(len(validation_rows) / len(y) - 0.1) < 0.02
        assert abs(y[validation_rows].mean() - y.mean()) < 0.05
        test_patients = {patient_id(f) for f in test_files}
        assert not test_patients & set(groups[validation_rows])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": ["a"] * 5}, r"argument `groups`. Expected at least 2 distinct groups"),
        ({"groups": ["a", "b"]}, r"argument `groups`. Expected one group per row of `y`"),
        ({"y": np.zeros((5, 2))}, r"argument `y`. Expected one class label per row"),
        ({"validation_split": 0}, r"argument `validation_split`. Expected a float in \(0, 1\)"),
        ({"validation_split": 1.0}, r"argument `validation_split`"),
        ({"validation_split": float("nan")}, r"argument `validation_split`"),
        ({"seed": -1}, r"argument `seed`. Expected an integer >= 0"),
    ],
)
def test_invalid_arguments(kwargs, message):
    arguments = {"y": [0, 1, 0, 1, 1], "groups": ["a", "a", "b", "b", "c"], **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        grouped_validation_split(arguments.pop("y"), arguments.pop("groups"), **arguments)
