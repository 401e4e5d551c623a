"""The patient-level split of kerasx.data, on folders of NIH-named PNGs that the tests write.

Every image's colour encodes its patient and class (red = patient number, green = class), and
any resize keeps a constant colour, so the loaded arrays themselves say which patient each row
belongs to: the tests check the arrays, not only the file lists.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from kerasx.data import (
    load_folder,
    load_malaria,
    malaria_dataset,
    patient_id,
    split_files,
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


def test_patient_id_is_the_prefix_before_img():
    assert patient_id("C100P61ThinF_IMG_20150918_144348_cell_138.png") == "C100P61ThinF"
    assert patient_id("/a/b/Uninfected/C1_thinF_IMG_20150604_cell_9.png") == "C1_thinF"
    with pytest.raises(ValueError, match="Invalid value for argument `filename`"):
        patient_id("cell_001.png")


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
        numbers = [int(patient_id(f).split("P")[-1].removesuffix("ThinF")) for f in files]
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
    ds = malaria_dataset(
        folder, split="test", split_by="patient", seed=1, image_size=2, batch_size=7
    )
    X = np.concatenate([x for x, _ in ds.as_numpy_iterator()])
    y = np.concatenate([y for _, y in ds.as_numpy_iterator()])
    np.testing.assert_allclose(X, X_test, atol=1e-6)
    np.testing.assert_array_equal(y, y_test)
    train = malaria_dataset(folder, split_by="patient", seed=1, image_size=2, batch_size=7)
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
    with pytest.raises(ValueError, match=f"Invalid value for argument `split_by`.*{why}"):
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
    numbers = [int(patient_id(f).split("P")[-1].removesuffix("ThinF")) for f in files]
    np.testing.assert_array_equal(patients_of(X), numbers)
    assert X.shape == (len(files), 27) and X.dtype == np.float32
    with pytest.raises(ValueError, match="Invalid value for argument `image_size`"):
        load_folder(folder, image_size=0)
    with pytest.raises(FileNotFoundError):
        load_folder(folder / "missing")
