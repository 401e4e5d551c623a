"""The patient-level split of kerasx.data, on folders of NIH-named PNGs that the tests write.

Every image's colour encodes its patient and class (red = patient number, green = class), and
any resize keeps a constant colour, so the loaded arrays themselves say which patient each row
belongs to: the tests check the arrays, not only the file lists.
"""

import collections
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from kerasx.data import (
    load_folder,
    load_malaria,
    loaders,
    malaria_dataset,
    patient_id,
    split_files,
)

NIH_MANIFEST = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "nih", "manifest.json"
)

GREEN = {"Parasitized": 200, "Uninfected": 40}


def _write_png(path, rgb):
    image = np.broadcast_to(np.asarray(rgb, np.uint8), (6, 5, 3))
    tf.io.write_file(str(path), tf.io.encode_png(image))


def make_patients(root, cells):
    """Writes ``cells[p] = (n_parasitized, n_uninfected)`` cells of patient ``p`` (NIH names)."""
    for name in GREEN:
        os.makedirs(root / name, exist_ok=True)
    for p, counts in enumerate(cells):
        for name, n in zip(GREEN, counts, strict=True):
            for k in range(n):
                file = f"C{p + 10}P{p}ThinF_IMG_20150918_1443{p:02d}_cell_{k}.png"
                _write_png(root / name / file, (p + 1, GREEN[name], k))
    return root


def patients_of(X):
    """The patient number of each row, read from its red channel."""
    return np.rint(X.reshape(len(X), -1, 3)[:, 0, 0] * 255).astype(int) - 1


def mixed_cells(n_patients=24, seed=0):
    """Patients of unequal sizes and class mixes, some with one class only, like the NIH data."""
    rng = np.random.default_rng(seed)
    cells = []
    for p in range(n_patients):
        n_par = 0 if p % 3 == 0 else int(rng.integers(1, 9))
        cells.append((n_par, int(rng.integers(1, 9))))
    return cells


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_patients(tmp_path_factory.mktemp("cells"), mixed_cells())


def test_patient_id_is_the_p_number_else_the_c_prefix():
    assert patient_id("C100P61ThinF_IMG_20150918_144348_cell_138.png") == "P61"
    assert patient_id("/a/b/Uninfected/C1_thinF_IMG_20150604_cell_9.png") == "C1"
    assert patient_id("C12NThinF_IMG_20150614_124212_cell_164.png") == "C12"
    assert patient_id("C51AP12thinF_IMG_20150724_153313_cell_100.png") == "P12"
    assert patient_id("C173P134NThinF_IMG_20151130_1_cell_1.png") == "P134"
    # "C12" (a slide series of an uninfected-only patient) is never patient "P12".
    assert patient_id("C12NThinF_IMG_1.png") != patient_id("C60P12ThinF_IMG_1.png")
    for name in ("cell_001.png", "X3_IMG_1.png", "_IMG_1.png", "C_thinF_IMG_1.png"):
        with pytest.raises(ValueError, match="Invalid value for argument `filename`"):
            patient_id(name)


def test_one_patient_on_two_microscopes_is_one_patient():
    olympus = "C47P8thinOriginalOlympusCX21_IMG_20150717_172748_cell_158.png"
    motic = "C47P8thin_Original_Motic_IMG_20150714_093512_cell_169.png"
    assert patient_id(olympus) == patient_id(motic) == "P8"


def _count_patients(names):
    """``{patient: its prefixes before _IMG}`` of the names."""
    prefixes = collections.defaultdict(set)
    for name in names:
        prefixes[patient_id(name)].add(name.partition("_IMG")[0])
    return prefixes


def _check_nih_patients(names):
    """140 patients of 141 prefixes (105 with a P number, 35 uninfected-only): only patient 8
    has two prefixes, and no patient's slide series is another's."""
    prefixes = _count_patients(names)  # every name parses, or this raises
    assert sum(len(p) for p in prefixes.values()) == 141 and len(prefixes) == 140
    kinds = collections.Counter(patient[0] for patient in prefixes)
    assert kinds == {"P": 105, "C": 35}
    assert {p: v for p, v in prefixes.items() if len(v) > 1} == {
        "P8": {"C47P8thinOriginalOlympusCX21", "C47P8thin_Original_Motic"}
    }
    # One slide series C<n> per patient, no two patients on one: the C id of an uninfected-only
    # patient never names a P patient's cells.
    series = {p: {re.match(r"C(\d+)", prefix)[1] for prefix in v} for p, v in prefixes.items()}
    assert all(len(numbers) == 1 for numbers in series.values())
    owners = collections.Counter(number for numbers in series.values() for number in numbers)
    assert max(owners.values()) == 1


def test_patients_of_the_nih_manifest():
    if not os.path.isfile(NIH_MANIFEST):
        pytest.skip(f"NIH manifest not found at {NIH_MANIFEST}")
    with open(NIH_MANIFEST, encoding="utf-8") as f:
        names = [entry["name"] for entry in json.load(f)["files"]]
    assert len(names) == 20_734
    _check_nih_patients(names)


def test_patients_of_the_shared_cells(malaria_dir):
    names = os.listdir(os.path.join(malaria_dir, "Parasitized"))
    names += os.listdir(os.path.join(malaria_dir, "Uninfected"))
    assert len(names) == 2800
    _check_nih_patients(names)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_patient_on_both_sides(folder, seed):
    """A cell split (the wrong implementation) puts almost every patient on both sides."""
    (X_train, _), (X_test, _) = load_malaria(folder, split="patient", seed=seed, image_size=3)
    train, test = set(patients_of(X_train)), set(patients_of(X_test))
    assert train and test and not train & test
    assert len(train | test) == 24
    (X_train, _), (X_test, _) = load_malaria(folder, split="cell", seed=seed, image_size=3)
    assert set(patients_of(X_train)) & set(patients_of(X_test))  # the test can fail


def test_stratified_as_far_as_groups_allow(folder):
    """A plain group split (GroupShuffleSplit) drifts from the class balance; this must not.

    Over 10 seeds the test share of parasitized cells stays within 0.1 of the folder's, and
    the test share of cells near ``test_size``.
    """
    labels = load_folder(folder, image_size=1)[1]
    overall = labels.mean()
    for seed in range(10):
        (_, y_train), (_, y_test) = load_malaria(folder, split="patient", seed=seed, image_size=1)
        assert abs(y_test.mean() - overall) < 0.1
        assert 0.1 < len(y_test) / len(labels) < 0.3
        assert len(y_train) + len(y_test) == len(labels)


def test_seeds_give_different_patient_splits(folder):
    tests = [
        frozenset(patient_id(f) for f in split_files(folder, split="patient", seed=s)[1])
        for s in range(4)
    ]
    assert len(set(tests)) > 1


def test_split_files_match_the_arrays_row_by_row(folder):
    (X_train, y_train), (X_test, y_test) = load_malaria(
        folder, split="patient", seed=3, image_size=2, flatten=False
    )
    train_files, test_files = split_files(folder, split="patient", seed=3)
    for X, y, files in ((X_train, y_train, train_files), (X_test, y_test, test_files)):
        numbers = [int(patient_id(f).removeprefix("P")) for f in files]
        np.testing.assert_array_equal(patients_of(X), numbers)
        np.testing.assert_array_equal(y, [f"{os.sep}Parasitized{os.sep}" in f for f in files])


def test_arrays_are_shuffled(folder):
    """Sorted rows would make Keras's validation_split (the last rows) one class only."""
    (_, y_train), _ = load_malaria(folder, split="patient", image_size=1)
    assert 0 < y_train[-len(y_train) // 5 :].mean() < 1


def test_test_size_is_a_share_of_folds(tmp_path):
    """test_size=0.5 is 1 of 2 folds, 0.25 1 of 4, 0.3 3 of 10 (a fixed 5 folds would not)."""
    root = make_patients(tmp_path, [(2, 2)] * 40)
    for test_size in (0.5, 0.25, 0.3, 0.1):
        train, test = split_files(root, split="patient", test_size=test_size)
        assert len(test) / (len(train) + len(test)) == pytest.approx(test_size)


def test_dataset_gives_the_same_split(folder):
    _, (X_test, y_test) = load_malaria(folder, split="patient", seed=1, image_size=2)
    ds = malaria_dataset(folder, subset="test", split="patient", seed=1, image_size=2, batch_size=7)
    X = np.concatenate([x for x, _ in ds.as_numpy_iterator()])
    y = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    np.testing.assert_allclose(X, X_test, atol=1e-6)
    np.testing.assert_array_equal(y, y_test)
    train = malaria_dataset(folder, seed=1, image_size=2, batch_size=7)  # by patient: default
    seen = np.concatenate([patients_of(x) for x, _ in train.as_numpy_iterator()])
    assert not set(seen) & set(patients_of(X_test))


def test_cache_keeps_the_splits_apart(folder, tmp_path):
    """A cache keyed without ``split`` would return the cell split for split="patient"."""
    kwargs = {"image_size": 2, "cache_dir": tmp_path}
    load_malaria(folder, split="cell", **kwargs)  # cached first
    (X_patient, _), (X_test, _) = load_malaria(folder, split="patient", **kwargs)
    (X_again, _), _ = load_malaria(folder, split="patient", **kwargs)
    np.testing.assert_array_equal(X_again, X_patient)
    assert not set(patients_of(X_patient)) & set(patients_of(X_test))


@pytest.mark.parametrize("source, why", [("synthetic", "no patient"), ("tfds", "file names")])
def test_patient_split_needs_file_names(source, why):
    """Raised before any loading: TFDS is never asked (offline it would retry for minutes)."""
    with pytest.raises(ValueError, match=f"Invalid value for argument `split`.*{why}"):
        load_malaria(source, split="patient")
    with pytest.raises(ValueError, match=f"Invalid value for argument `split`.*{why}"):
        malaria_dataset(source, split="patient")
    with (
        pytest.warns(DeprecationWarning, match="split_by"),
        pytest.raises(ValueError, match=f"Invalid value for argument `split_by`.*{why}"),
    ):
        malaria_dataset(source, split_by="patient")
    with pytest.raises(ValueError, match="Invalid value for argument `source`"):
        split_files(source)


def test_invalid_split_and_names(tmp_path):
    with pytest.raises(ValueError, match="Invalid value for argument `split`"):
        load_malaria("synthetic", split="image")
    os.makedirs(tmp_path / "Parasitized")
    os.makedirs(tmp_path / "Uninfected")
    for name in GREEN:
        for k in range(4):
            _write_png(tmp_path / name / f"cell_{k}.png", (1, GREEN[name], k))
    with pytest.raises(ValueError, match=r"Cannot split 8 images by patient.*cell_0\.png"):
        load_malaria(tmp_path, split="patient")
    load_malaria(tmp_path, split="cell", image_size=2, test_size=0.5)  # fine by cell


def test_one_patient_cannot_be_split(tmp_path):
    make_patients(tmp_path, [(5, 5)])
    with pytest.raises(ValueError, match="Cannot split 10 images by patient"):
        load_malaria(tmp_path, split="patient")


def test_load_folder_returns_every_image_with_its_file(folder):
    X, y, files = load_folder(folder, image_size=3)
    names = sorted(os.listdir(folder / "Parasitized")) + sorted(os.listdir(folder / "Uninfected"))
    assert [os.path.basename(f) for f in files] == names
    np.testing.assert_array_equal(y, [f"{os.sep}Parasitized{os.sep}" in f for f in files])
    numbers = [int(patient_id(f).removeprefix("P")) for f in files]
    np.testing.assert_array_equal(patients_of(X), numbers)
    assert X.shape == (len(files), 27) and X.dtype == np.float32
    with pytest.raises(ValueError, match="Invalid value for argument `image_size`"):
        load_folder(folder, image_size=0)
    with pytest.raises(FileNotFoundError):
        load_folder(folder / "missing")


def test_default_split_is_by_patient_for_a_folder_and_by_cell_otherwise(folder):
    for default, explicit in (
        (
            load_malaria(folder, seed=2, image_size=2),
            load_malaria(folder, split="patient", seed=2, image_size=2),
        ),
        (
            load_malaria("synthetic", fraction=0.02, image_size=2),
            load_malaria("synthetic", fraction=0.02, image_size=2, split="cell"),
        ),
    ):
        for (X, y), (X_explicit, y_explicit) in zip(default, explicit, strict=True):
            np.testing.assert_array_equal(X, X_explicit)
            np.testing.assert_array_equal(y, y_explicit)
    assert split_files(folder, seed=2) == split_files(folder, split="patient", seed=2)


@pytest.mark.parametrize("split", ["patient", "cell"])
def test_groups_are_the_patients_of_the_rows(folder, split):
    """The colour of every row says its patient: the groups must say the same, row by row."""
    (X_train, y_train, g_train), (X_test, _, g_test) = load_malaria(
        folder, split=split, seed=4, image_size=2, return_groups=True
    )
    (X_plain, y_plain), _ = load_malaria(folder, split=split, seed=4, image_size=2)
    np.testing.assert_array_equal(X_train, X_plain)
    np.testing.assert_array_equal(y_train, y_plain)
    for X, groups in ((X_train, g_train), (X_test, g_test)):
        assert groups.shape == (len(X),)
        assert groups.tolist() == [f"P{p}" for p in patients_of(X)]
    if split == "patient":
        assert not set(g_train) & set(g_test)


def test_cached_groups_equal_uncached(folder, tmp_path, monkeypatch):
    """A cached load has no records at hand: its groups are drawn again from the file names."""
    kwargs = {"seed": 5, "image_size": 2, "cache_dir": tmp_path, "return_groups": True}
    first = load_malaria(folder, **kwargs)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(loaders, "_records", no_decoding)
    cached = load_malaria(folder, **kwargs)
    for side, side_cached in zip(first, cached, strict=True):
        for array, array_cached in zip(side, side_cached, strict=True):
            np.testing.assert_array_equal(array, array_cached)
    assert cached[1][2].tolist() == [f"P{p}" for p in patients_of(cached[1][0])]
    synthetic = {"fraction": 0.02, "image_size": 2, "cache_dir": tmp_path, "return_groups": True}
    monkeypatch.undo()
    uncached = load_malaria("synthetic", **synthetic)
    monkeypatch.setattr(loaders, "_records", no_decoding)
    for side, side_cached in zip(uncached, load_malaria("synthetic", **synthetic), strict=True):
        np.testing.assert_array_equal(side[2], side_cached[2])


def test_without_file_names_each_row_is_its_own_group():
    (X_train, _, g_train), (X_test, _, g_test) = load_malaria(
        "synthetic", fraction=0.05, image_size=2, return_groups=True
    )
    groups = np.concatenate([g_train, g_test])
    np.testing.assert_array_equal(groups, np.arange(len(X_train) + len(X_test)))


def test_groups_need_names_in_the_nih_form(tmp_path):
    make_patients(tmp_path, [(2, 2)] * 3)
    os.rename(
        tmp_path / "Uninfected" / "C10P0ThinF_IMG_20150918_144300_cell_0.png",
        tmp_path / "Uninfected" / "cell_0.png",
    )
    load_malaria(tmp_path, split="cell", image_size=2)  # fine without groups
    with pytest.raises(ValueError, match=r"Cannot return the groups.*cell_0\.png"):
        load_malaria(tmp_path, split="cell", image_size=2, return_groups=True)
    with pytest.raises(ValueError, match=r"Cannot return the groups.*cell_0\.png"):
        load_folder(tmp_path, image_size=2, return_groups=True)


def test_load_folder_returns_groups_row_by_row(folder):
    X, y, files, groups = load_folder(folder, image_size=1, return_groups=True)
    np.testing.assert_array_equal(y, [f"{os.sep}Parasitized{os.sep}" in f for f in files])
    assert groups.tolist() == [patient_id(f) for f in files]
    assert groups.tolist() == [f"P{p}" for p in patients_of(X)]
    X_plain, y_plain, files_plain = load_folder(folder, image_size=1)
    np.testing.assert_array_equal(X, X_plain)
    np.testing.assert_array_equal(y, y_plain)
    assert files == files_plain


class TestDeprecatedDatasetWords:
    """``malaria_dataset(split="train"|"test")`` and ``split_by=`` still work for one release."""

    def _epoch(self, ds):
        return np.concatenate([y for _, y in ds.as_numpy_iterator()])

    def test_split_as_the_side_maps_to_subset(self, folder):
        kwargs = {"seed": 1, "image_size": 1, "shuffle": False}
        with pytest.warns(DeprecationWarning, match="split='test' names the side: use subset"):
            old = malaria_dataset(folder, split="test", **kwargs)
        new = malaria_dataset(folder, subset="test", **kwargs)
        np.testing.assert_array_equal(self._epoch(old), self._epoch(new))

    def test_split_by_maps_to_split(self, folder):
        kwargs = {"seed": 1, "image_size": 1, "shuffle": False}
        with pytest.warns(DeprecationWarning) as warned:
            old = malaria_dataset(folder, split="test", split_by="cell", **kwargs)
        assert [str(w.message).split(".")[0] for w in warned] == [
            "malaria_dataset: split='test' names the side: use subset='test'",
            "malaria_dataset: split_by='cell' is now split='cell'",
        ]
        new = malaria_dataset(folder, subset="test", split="cell", **kwargs)
        np.testing.assert_array_equal(self._epoch(old), self._epoch(new))

    def test_contradictions_are_refused(self, folder):
        with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="`subset`"):
            malaria_dataset(folder, split="train", subset="test")
        with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="`split_by`"):
            malaria_dataset(folder, split="cell", split_by="patient")
