"""Tests for kerasx.data: the malaria loaders (TFDS mocked, shared folder, synthetic)."""

import io
import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerasx.data import (
    DatasetUnavailableError,
    describe_source,
    load_folder,
    load_malaria,
    loaders,
    make_synthetic_malaria,
    malaria_dataset,
    patient_id,
    scale_images,
    sources,
    split_files,
)

# Constant-colour images: after any resize every pixel keeps the colour, so the expected
# arrays are known without running the loader's own decoding.
PARASITIZED_RGB = (200, 40, 120)
UNINFECTED_RGB = (30, 160, 90)


def _write_png(path, rgb, size=(12, 9)):
    image = np.broadcast_to(np.asarray(rgb, np.uint8), (*size, 3))
    tf.io.write_file(str(path), tf.io.encode_png(image))


# The folders made here have no NIH names (``cell_000.png``): they are split by cell, and the
# default patient split refuses them.
def _make_folder(root, n_per_class=10, sizes=((12, 9), (30, 41), (7, 7))):
    for name, rgb in (("Parasitized", PARASITIZED_RGB), ("Uninfected", UNINFECTED_RGB)):
        os.makedirs(root / name)
        for i in range(n_per_class):
            _write_png(root / name / f"cell_{i:03d}.png", rgb, sizes[i % len(sizes)])
    return root


DISTINCT_SIZE = 6  # loaded at this size, the PNGs come back pixel for pixel


def _make_distinct_folder(root, n_per_class=12):
    """PNGs in the NIH layout whose pixels all differ (random, seeded): every loaded row can be
    traced to its file. Returns the folder and ``{pixel bytes: file name}``."""
    rng = np.random.default_rng(7)
    names = {}
    for name in ("Parasitized", "Uninfected"):
        os.makedirs(root / name)
        for i in range(n_per_class):
            image = rng.integers(0, 256, (DISTINCT_SIZE, DISTINCT_SIZE, 3), dtype=np.uint8)
            tf.io.write_file(str(root / name / f"cell_{i:03d}.png"), tf.io.encode_png(image))
            names[image.tobytes()] = f"{name}/cell_{i:03d}.png"
    assert len(names) == 2 * n_per_class
    return root, names


def _files(X, names):
    """The file each row of ``X`` (scaled to [0, 1], any shape) was loaded from, in order."""
    rows = np.round(np.asarray(X).reshape(len(X), -1) * 255).astype(np.uint8)
    return [names[row.tobytes()] for row in rows]


def _expected_pixels(labels, image_size):
    rgb = np.where(labels[:, None] == 1, PARASITIZED_RGB, UNINFECTED_RGB) / 255.0
    return np.repeat(rgb[:, None, :], image_size * image_size, axis=1).reshape(len(labels), -1)


class TestFolder:
    def test_labels_and_values_match_the_class_folders(self, tmp_path):
        root = _make_folder(tmp_path / "cells")
        (X_train, y_train), (X_test, y_test) = load_malaria(root, image_size=5, split="cell")
        assert X_train.shape == (16, 75) and X_test.shape == (4, 75)
        assert X_train.dtype == np.float32 and y_train.dtype == np.float32
        for X, y in ((X_train, y_train), (X_test, y_test)):
            np.testing.assert_allclose(X, _expected_pixels(y, 5), atol=1e-6)
        assert y_train.sum() == 8 and y_test.sum() == 2

    def test_flatten_false_keeps_image_shape(self, tmp_path):
        root = _make_folder(tmp_path / "cells")
        (X_train, _), (X_test, _) = load_malaria(root, image_size=6, flatten=False, split="cell")
        assert X_train.shape == (16, 6, 6, 3) and X_test.shape == (4, 6, 6, 3)

    def test_shared_images_small_fraction(self, malaria_dir):
        (X_train, y_train), (X_test, y_test) = load_malaria(
            malaria_dir, fraction=0.05, image_size=16, split="cell"
        )
        assert X_train.shape == (112, 768) and X_test.shape == (28, 768)
        assert y_train.sum() == 56 and y_test.sum() == 14
        assert 0.0 <= X_train.min() and X_train.max() <= 1.0
        # Real cells on a black background: dark corners, brighter centres.
        images = X_train.reshape(-1, 16, 16, 3)
        assert images[:, 0, 0].mean() < 0.1 < images[:, 8, 8].mean()

    def test_shared_images_full_folder_at_the_defaults(self, malaria_dir):
        """A folder is split by patient by default: 140 patients, 1 of 5 stratified folds."""
        (X_train, y_train, g_train), (X_test, y_test, g_test) = load_malaria(
            malaria_dir, image_size=20, return_groups=True
        )
        assert len(X_train) + len(X_test) == 2800 and 0.18 < len(X_test) / 2800 < 0.22
        assert abs(y_test.mean() - 0.5) < 0.03 and y_train.sum() + y_test.sum() == 1400
        assert not set(g_train) & set(g_test) and len(set(g_train) | set(g_test)) == 140
        test_files = split_files(malaria_dir)[1]
        assert [patient_id(f) for f in test_files] == g_test.tolist()

    @pytest.mark.parametrize("fraction", [1.0, 0.5])
    def test_same_seed_same_arrays_other_seed_other_split(self, tmp_path, fraction):
        """On images made here, each with its own pixels, so every row names its file.

        Catches a split that ignores ``seed`` (a fixed ``random_state``: seeds 3 and 4 then
        hold out the same files), one that is not reproducible (unseeded), and rows whose
        images and labels get out of step (each file's label is its folder).
        """
        root, names = _make_distinct_folder(tmp_path / "cells")
        kwargs = {"fraction": fraction, "image_size": DISTINCT_SIZE, "split": "cell"}
        first = load_malaria(root, seed=3, **kwargs)
        again = load_malaria(root, seed=3, **kwargs)
        other = load_malaria(root, seed=4, **kwargs)
        for (X, y), (X_again, y_again) in zip(first, again, strict=True):
            np.testing.assert_array_equal(X, X_again)
            np.testing.assert_array_equal(y, y_again)
        held_out = {
            seed: set(_files(arrays[1][0], names)) for seed, arrays in ((3, first), (4, other))
        }
        assert held_out[3] != held_out[4]
        for (X_train, y_train), (X_test, y_test) in (first, other):
            files = _files(np.concatenate([X_train, X_test]), names)
            assert len(set(files)) == len(files) == round(24 * fraction)
            labels = [float(f.startswith("Parasitized")) for f in files]
            assert labels == np.concatenate([y_train, y_test]).tolist()


class TestFolderErrors:
    def test_missing_folder(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"not found.*Parasitized/ and Uninfected/"):
            load_malaria(tmp_path / "nowhere")

    def test_empty_folder(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"is empty.*Parasitized/ and Uninfected/"):
            load_malaria(tmp_path)

    def test_folder_without_class_subfolders(self, tmp_path):
        os.makedirs(tmp_path / "Parasitized")
        _write_png(tmp_path / "Parasitized" / "a.png", PARASITIZED_RGB)
        with pytest.raises(FileNotFoundError, match=r"no class subfolder\(s\) \['Uninfected'\]"):
            load_malaria(tmp_path)

    def test_class_subfolder_without_png(self, tmp_path):
        _make_folder(tmp_path)
        for name in os.listdir(tmp_path / "Uninfected"):
            os.remove(tmp_path / "Uninfected" / name)
        with pytest.raises(FileNotFoundError, match=r"No PNG images in .*Uninfected"):
            load_malaria(tmp_path)

    @pytest.mark.parametrize(
        "content", [b"not an image at all", b"\x89PNG\r\n\x1a\n truncated"], ids=["text", "png"]
    )
    def test_corrupt_png_is_named(self, tmp_path, content):
        _make_folder(tmp_path)
        (tmp_path / "Uninfected" / "cell_bad.png").write_bytes(content)
        with pytest.raises(ValueError, match=r"Cannot decode .*cell_bad\.png"):
            load_malaria(tmp_path, image_size=4, split="cell")

    def test_default_patient_split_needs_nih_names(self, tmp_path):
        """The default split of a folder is by patient: names without one say what to do."""
        _make_folder(tmp_path)
        with pytest.raises(ValueError, match=r"Cannot split 20 images by patient.*cell_000\.png"):
            load_malaria(tmp_path, image_size=4)
        with pytest.raises(ValueError, match=r"can only be split by cell \(split='cell'\)"):
            malaria_dataset(tmp_path, image_size=4)


class TestArguments:
    @pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan"), "all"])
    def test_fraction_outside_0_1(self, fraction):
        with pytest.raises(ValueError, match=r"Invalid value for argument `fraction`\. Expected"):
            load_malaria("synthetic", fraction=fraction)
        with pytest.raises(ValueError, match=r"Invalid value for argument `fraction`"):
            malaria_dataset("synthetic", fraction=fraction)

    @pytest.mark.parametrize(
        "kwargs, name",
        [
            ({"test_size": 1.0}, "test_size"),
            ({"test_size": 0}, "test_size"),
            ({"image_size": 0}, "image_size"),
            ({"seed": -1}, "seed"),
            ({"flatten": "yes"}, "flatten"),
        ],
    )
    def test_invalid_arguments(self, kwargs, name):
        with pytest.raises(ValueError, match=f"Invalid value for argument `{name}`"):
            load_malaria("synthetic", **kwargs)

    def test_invalid_source_type(self):
        with pytest.raises(ValueError, match="Invalid value for argument `source`"):
            load_malaria(3)

    def test_invalid_split_and_subset(self):
        with pytest.raises(
            ValueError, match=r"argument `split`.*The side of the split is `subset`"
        ):
            malaria_dataset("synthetic", split="validation")
        with pytest.raises(
            ValueError, match=r"argument `subset`. Expected one of \('train', 'test'\)"
        ):
            malaria_dataset("synthetic", subset="validation")
        with pytest.raises(ValueError, match="Invalid value for argument `return_groups`"):
            load_malaria("synthetic", return_groups="yes")

    def test_too_few_images_for_a_stratified_split(self):
        with pytest.raises(ValueError, match="Cannot split 2800 images stratified"):
            load_malaria("synthetic", fraction=0.0005, image_size=2)


class TestSynthetic:
    def test_default_is_the_whole_population(self):
        (X_train, y_train), (X_test, y_test) = load_malaria("synthetic", image_size=2)
        assert (len(X_train), len(X_test)) == (2240, 560)
        assert y_train.mean() == 0.5 and y_test.mean() == 0.5

    def test_deterministic_per_seed_and_image_index(self):
        a, labels = make_synthetic_malaria(6, image_size=24)
        b, _ = make_synthetic_malaria(6, image_size=24)
        c, _ = make_synthetic_malaria(6, image_size=24, seed=1)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        assert labels.tolist() == [0, 0, 0, 1, 1, 1]
        # Image i depends on (seed, i, label): images 0 and 1 are uninfected for n=4 and n=6.
        np.testing.assert_array_equal(make_synthetic_malaria(4, image_size=24)[0][:2], a[:2])

    def test_learnable_but_not_trivially(self):
        from sklearn.linear_model import LogisticRegression

        (X_train, y_train), (X_test, y_test) = load_malaria("synthetic", image_size=12)
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
        accuracy = model.score(X_test, y_test)
        assert 0.6 < accuracy < 0.97

    def test_cells_on_a_black_background(self):
        images, labels = make_synthetic_malaria(40, image_size=16)
        corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]].astype(float)
        assert corners.mean() < 20 and images[:, 8, 8].mean() > 80
        assert labels.sum() == 20

    def test_described_as_synthetic(self):
        text = describe_source("synthetic")
        assert "SYNTHETIC" in text and "NOT real data" in text
        assert "folder" in describe_source("/some/where")


class TestCache:
    def test_second_call_reads_the_cache_and_is_equal(self, tmp_path, monkeypatch):
        root = _make_folder(tmp_path / "cells")
        cache = tmp_path / "cache"
        first = load_malaria(root, image_size=4, cache_dir=cache, split="cell")
        assert len(os.listdir(cache)) == 1

        def no_decoding(*args, **kwargs):
            raise AssertionError("the cache was not used")

        monkeypatch.setattr(loaders, "_records", no_decoding)
        second = load_malaria(root, image_size=4, cache_dir=cache, split="cell")
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
        with pytest.raises(AssertionError, match="cache was not used"):
            load_malaria(root, image_size=4, seed=1, cache_dir=cache, split="cell")

    def test_changed_folder_invalidates_the_cache(self, tmp_path):
        root = _make_folder(tmp_path / "cells")
        cache = tmp_path / "cache"
        load_malaria(root, image_size=4, cache_dir=cache, split="cell")
        _write_png(root / "Parasitized" / "cell_new.png", PARASITIZED_RGB)
        _write_png(root / "Uninfected" / "cell_new.png", UNINFECTED_RGB)
        (X_train, _), (X_test, _) = load_malaria(root, image_size=4, cache_dir=cache, split="cell")
        assert len(X_train) + len(X_test) == 22
        assert len(os.listdir(cache)) == 2


def _constant_tfds(n):
    """A mocked TFDS ``as_dataset``: constant images, TFDS labels alternating 0, 1, 1, 0, ..."""
    tfds_labels = np.array([(i // 2 + i) % 2 for i in range(n)], np.int64)

    def as_dataset(self, *args, decoders=None, **kwargs):
        def example(label, size):
            rgb = tf.where(label == 0, PARASITIZED_RGB, UNINFECTED_RGB)
            image = tf.broadcast_to(tf.cast(rgb, tf.uint8), (size, size + 3, 3))
            if decoders is not None:
                image = tf.io.encode_png(image)
            return {"image": image, "label": label}

        sizes = np.arange(n) % 5 + 6
        return tf.data.Dataset.from_tensor_slices((tfds_labels, sizes)).map(example)

    return as_dataset, tfds_labels


class TestTFDS:
    def test_label_mapping_and_values(self):
        as_dataset, tfds_labels = _constant_tfds(40)
        with tfds.testing.mock_data(as_dataset_fn=as_dataset):
            (X_train, y_train), (X_test, y_test) = load_malaria("tfds", fraction=1.0, image_size=3)
        for X, y in ((X_train, y_train), (X_test, y_test)):
            np.testing.assert_allclose(X, _expected_pixels(y, 3), atol=1e-6)
        # TFDS's label 0 is parasitized; kerasx's label 1 is.
        assert y_train.sum() + y_test.sum() == np.sum(tfds_labels == 0)

    def test_random_mock_shapes_range_and_stratification(self):
        with tfds.testing.mock_data(num_examples=60):
            raw = tfds.load("malaria", split="train", as_supervised=True)
            n_parasitized = sum(int(label == 0) for _, label in raw)
            (X_train, y_train), (X_test, y_test) = load_malaria("tfds", fraction=1.0, image_size=8)
        assert X_train.shape == (48, 192) and X_test.shape == (12, 192)
        assert 0.0 <= X_train.min() and X_train.max() <= 1.0 and X_train.std() > 0
        assert y_train.sum() + y_test.sum() == n_parasitized
        share = n_parasitized / 60
        assert abs(y_train.mean() - share) < 1 / 48 + 1e-9
        assert abs(y_test.mean() - share) < 1 / 12 + 1e-9

    def test_default_fraction_is_ten_percent(self):
        with tfds.testing.mock_data(num_examples=100):
            (X_train, _), (X_test, _) = load_malaria("tfds", image_size=4)
        assert (len(X_train), len(X_test)) == (8, 2)

    def test_dataset_variant_holds_the_same_examples(self):
        as_dataset, _ = _constant_tfds(30)
        with tfds.testing.mock_data(as_dataset_fn=as_dataset):
            _, (_, y_test) = load_malaria("tfds", fraction=1.0, image_size=3)
            ds = malaria_dataset("tfds", subset="test", fraction=1.0, image_size=3, batch_size=4)
            batches = list(ds.as_numpy_iterator())
        y = np.concatenate([b[1] for b in batches])
        assert sorted(y.tolist()) == sorted(y_test.tolist())

    def test_offline_names_the_offline_choices(self, monkeypatch):
        def offline(*args, **kwargs):
            raise ConnectionError("Failed to resolve 'storage.googleapis.com'")

        monkeypatch.setattr(tfds, "load", offline)
        monkeypatch.setattr(sources, "_download_host_reachable", lambda: True)  # the download fails
        with pytest.raises(DatasetUnavailableError, match="synthetic") as info:
            load_malaria("tfds")
        assert isinstance(info.value, RuntimeError)
        assert "folder" in str(info.value) and "storage.googleapis.com" in str(info.value)
        assert isinstance(info.value.__cause__, ConnectionError)


def _epoch(ds):
    """One pass over a dataset of ``(x, y)`` batches, concatenated."""
    batches = list(ds.as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


class TestDataset:
    @pytest.mark.parametrize("fraction", [1.0, 0.5])
    def test_test_split_equals_load_malaria(self, tmp_path, fraction):
        """Element by element, on images that all differ.

        Catches a test split that is shuffled, drawn with another seed or from another subset:
        with constant-colour images (or a comparison of sorted labels) any such split passed.
        """
        root, names = _make_distinct_folder(tmp_path / "cells")
        kwargs = {"fraction": fraction, "image_size": DISTINCT_SIZE, "seed": 2, "split": "cell"}
        _, (X_test, y_test) = load_malaria(root, **kwargs)
        X, y = _epoch(malaria_dataset(root, subset="test", batch_size=3, **kwargs))
        assert len(set(_files(X_test, names))) == len(X_test) > 1
        np.testing.assert_array_equal(X, X_test)
        np.testing.assert_array_equal(y, y_test)

    def test_unshuffled_train_split_equals_load_malaria(self, tmp_path):
        """The documented order without shuffling; catches train and test swapped."""
        root, _ = _make_distinct_folder(tmp_path / "cells")
        kwargs = {"image_size": DISTINCT_SIZE, "seed": 1, "split": "cell"}
        (X_train, y_train), _ = load_malaria(root, **kwargs)
        ds = malaria_dataset(root, shuffle=False, batch_size=4, **kwargs)
        X, y = _epoch(ds)
        np.testing.assert_array_equal(X, X_train)
        np.testing.assert_array_equal(y, y_train)

    def test_train_order_differs_between_epochs_with_the_same_examples(self, tmp_path):
        """Catches ``reshuffle_each_iteration=False`` (one fixed order for every epoch), no
        shuffling at all, and a shuffle that loses or repeats examples."""
        root, names = _make_distinct_folder(tmp_path / "cells")
        (X_train, _), _ = load_malaria(root, image_size=DISTINCT_SIZE, split="cell")
        ds = malaria_dataset(
            root, image_size=DISTINCT_SIZE, flatten=False, batch_size=5, split="cell"
        )
        assert tuple(next(iter(ds))[0].shape) == (5, DISTINCT_SIZE, DISTINCT_SIZE, 3)
        orders = []
        for _ in range(3):
            X, y = _epoch(ds)
            files = _files(X, names)
            assert sorted(files) == sorted(_files(X_train, names))
            assert [float(f.startswith("Parasitized")) for f in files] == y.tolist()
            orders.append(files)
        assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
        assert orders[0] != _files(X_train, names)

    def test_corrupt_file_is_named_while_streaming(self, tmp_path):
        _make_folder(tmp_path)
        (tmp_path / "Parasitized" / "cell_bad.png").write_bytes(b"not an image")

        def read_both_splits():
            for subset in ("train", "test"):
                ds = malaria_dataset(tmp_path, subset=subset, split="cell", image_size=4)
                list(ds.as_numpy_iterator())

        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Not a PNG file.*cell_bad\.png"):
            read_both_splits()


def test_offline_tfds_fails_fast_without_downloading(monkeypatch, tmp_path):
    """Offline, TFDS would retry its download for minutes: kerasx probes the host first."""

    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    def must_not_download(*args, download=True, **kwargs):
        if download:
            raise AssertionError("a download was attempted although the host is unreachable")
        raise AssertionError("Dataset malaria: could not find data in " + str(tmp_path))

    monkeypatch.setattr(sources.socket, "create_connection", refuse)
    monkeypatch.setattr(tfds, "load", must_not_download)
    with pytest.raises(DatasetUnavailableError, match="cannot be reached") as info:
        load_malaria("tfds", data_dir=str(tmp_path))
    assert "synthetic" in str(info.value)


@pytest.mark.parametrize("shape", [(0, 4, 4, 3), (3, 4, 4, 3), (700, 64, 64, 3)])
@pytest.mark.parametrize("flatten", [False, True])
def test_scale_is_numpys_division_bit_for_bit(shape, flatten):
    """The threaded uint8 -> float32 scaling of cached loads gives the bits of one np.divide."""
    from kerasx.data.loaders import _THREADED_SCALE_MIN, _scale

    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    if shape[0] == 700:
        assert images.size >= _THREADED_SCALE_MIN  # the threaded path runs
    expected = images.astype(np.float64) / 255.0
    out = _scale(images, flatten)
    assert out.dtype == np.float32
    assert out.shape == ((shape[0], int(np.prod(shape[1:]))) if flatten else shape)
    reference = np.divide(images, np.float32(255.0), dtype=np.float32).reshape(out.shape)
    np.testing.assert_array_equal(out, reference)
    np.testing.assert_allclose(out, expected.reshape(out.shape), rtol=1e-7)


class TestUint8:
    """``dtype="uint8"``: the decoded 8 bits, which scale_images turns into the float32 load."""

    @pytest.mark.parametrize("flatten", [True, False])
    def test_scaled_uint8_load_is_the_float32_load_bit_for_bit(self, tmp_path, flatten):
        root, _ = _make_distinct_folder(tmp_path / "cells")
        kwargs = {"image_size": 5, "flatten": flatten, "split": "cell", "fraction": 0.75}
        eight = load_malaria(root, dtype="uint8", **kwargs)
        floats = load_malaria(root, **kwargs)
        for (X8, y8), (X32, y32) in zip(eight, floats, strict=True):
            assert X8.dtype == np.uint8 and X8.shape == X32.shape
            np.testing.assert_array_equal(
                scale_images(X8, flatten=False).view(np.uint32), X32.view(np.uint32)
            )
            np.testing.assert_array_equal(y8, y32)

    def test_load_folder_uint8(self, tmp_path):
        root, names = _make_distinct_folder(tmp_path / "cells")
        X8, y8, files8 = load_folder(root, image_size=DISTINCT_SIZE, dtype=np.uint8)
        X32, y32, files32 = load_folder(root, image_size=DISTINCT_SIZE)
        assert X8.dtype == np.uint8 and files8 == files32
        np.testing.assert_array_equal(scale_images(X8), X32)
        np.testing.assert_array_equal(y8, y32)
        # The 8 bits are the PNGs' own pixels (loaded at their size).
        assert [names[row.tobytes()] for row in X8] == [os.path.relpath(f, root) for f in files8]

    def test_cache_stores_uint8_and_reads_the_same(self, tmp_path, monkeypatch):
        root = _make_folder(tmp_path / "cells")
        cache = tmp_path / "cache"
        decoded = load_malaria(root, image_size=4, cache_dir=cache, split="cell", dtype="uint8")
        (folder,) = os.listdir(cache)
        stored = {name: np.load(cache / folder / f"{name}.npy") for name in ("X_train", "X_test")}
        assert {array.dtype for array in stored.values()} == {np.dtype(np.uint8)}
        monkeypatch.setattr(loaders, "_records", lambda *a, **k: pytest.fail("decoded again"))
        cached8 = load_malaria(root, image_size=4, cache_dir=cache, split="cell", dtype="uint8")
        cached32 = load_malaria(root, image_size=4, cache_dir=cache, split="cell")
        for (X, y), (X8, y8), (X32, y32) in zip(decoded, cached8, cached32, strict=True):
            np.testing.assert_array_equal(X8, X)
            np.testing.assert_array_equal(X32, scale_images(X, flatten=True))
            np.testing.assert_array_equal(y8, y)
            np.testing.assert_array_equal(y32, y)

    @pytest.mark.parametrize("dtype", ["float64", "int", None, "eight bits", 3])
    def test_other_dtypes_are_refused(self, dtype):
        with pytest.raises(
            ValueError, match=r"argument `dtype`. Expected one of \('float32', 'uint8'\)"
        ):
            load_malaria("synthetic", fraction=0.02, image_size=2, dtype=dtype)
        with pytest.raises(ValueError, match="argument `dtype`"):
            load_folder("somewhere", dtype=dtype)

    def test_scale_images_refuses_anything_but_uint8(self):
        with pytest.raises(ValueError, match=r"argument `images`\. Expected a uint8 NumPy array"):
            scale_images(np.zeros((2, 3), np.float32))
        with pytest.raises(ValueError, match="argument `images`"):
            scale_images([[0, 255]])
        np.testing.assert_array_equal(
            scale_images(np.arange(256, dtype=np.uint8)[None]),
            np.divide(np.arange(256, dtype=np.uint8), np.float32(255), dtype=np.float32)[None],
        )


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Clock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


PROGRESS = re.compile(
    r"^\[p\] decoding 1,000 images: (?P<done>[\d,]+)/1,000 \((?P<pct>\d+)%\), "
    r"(?P<rate>[\d,.]+) images/s, ETA (?P<eta>[\d.]+ s|\d+ min \d\d s)$"
)
FINAL = re.compile(r"^\[p\] decoding 1,000 images: 1,000/1,000 in [\d.]+ s \([\d,.]+ images/s\)$")


class TestProgress:
    def _run(self, stream):
        line = loaders._ProgressLine(
            "decoding 1,000 images", 1000, "[p]", "images", stream=stream, clock=_Clock(0.01)
        )
        for done in range(10, 1001, 10):
            line.update(done)
        line.close()
        return stream.getvalue()

    def test_a_log_gets_a_line_per_quarter_and_the_total(self):
        lines = self._run(io.StringIO()).splitlines()
        matches = [PROGRESS.match(line) for line in lines[:-1]]
        assert all(matches) and FINAL.match(lines[-1]), lines
        assert [m["done"] for m in matches] == ["250", "500", "750"]
        # One tick of 0.01 s per update and one at the start: rate and ETA follow from them.
        assert matches[1]["rate"] == "1,000" and matches[1]["eta"] == "0.5 s"

    def test_a_terminal_gets_one_line_rewritten_in_place(self):
        text = self._run(_Terminal())
        assert text.count("\n") == 1 and text.endswith("\n")
        shown = [part.rstrip() for part in text.rstrip("\n").split("\r") if part]
        assert len(shown) >= 3 and FINAL.match(shown[-1])
        assert all(PROGRESS.match(part) for part in shown[:-1]), shown

    def test_verbose_load_prints_the_decoding_and_the_cache(self, tmp_path, capsys):
        root = _make_folder(tmp_path / "cells")
        kwargs = {"image_size": 4, "split": "cell", "cache_dir": tmp_path / "cache"}
        load_malaria(root, verbose=True, **kwargs)
        first = capsys.readouterr().out.splitlines()
        assert re.match(r"^\[kerasx data\] decoding 20 images: 20/20 in [\d.]+ s", first[-2])
        assert first[-1].startswith("[kerasx data] cached the decoded images in ")
        load_malaria(root, verbose="[my job]", **kwargs)
        (again,) = capsys.readouterr().out.splitlines()
        assert re.match(r"^\[my job\] read 20 images from the cache .+ in [\d.]+ s$", again)

    def test_quiet_by_default(self, tmp_path, capsys):
        load_folder(_make_folder(tmp_path / "cells"), image_size=3)
        load_malaria("synthetic", fraction=0.02, image_size=2)
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize("verbose", [1, "", None, b"yes"])
    def test_invalid_verbose(self, verbose):
        with pytest.raises(
            ValueError, match=r"argument `verbose`\. Expected True, False or a line"
        ):
            load_malaria("synthetic", fraction=0.02, image_size=2, verbose=verbose)
