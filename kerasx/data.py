"""Malaria cell images for the course: from TFDS, from a folder, or a synthetic stand-in.

Three sources give the same arrays, with **label 1 = parasitized** everywhere:

- ``"tfds"``: ``tfds.load("malaria")`` (27,558 images; TFDS's own label 0 is *parasitized*, so
  it is flipped here). Downloads when the network allows; without it a
  :class:`DatasetUnavailableError` names the offline choices.
- a folder in the NIH layout: ``Parasitized/`` and ``Uninfected/`` subfolders of PNG files.
- ``"synthetic"``: **not real data**. A procedural stand-in (round pink "cells"; parasitized ones
  carry dark purple rings and chromatin dots) for offline demos and tests. It is learnable but not
  trivially; numbers measured on it say nothing about malaria. :func:`describe_source` returns a
  line that says so, for every output to print.

``fraction=None`` means the source's course default: 0.1 for ``"tfds"`` (the course's 10%),
1.0 for a folder and for ``"synthetic"`` (a fixed population of 2,800 images, 1,400 per class).
The subset and the train/test split are both stratified and depend only on ``seed``.

Two ways to split (``split=``):

- ``"cell"`` (the course's): a stratified split of the cells. The NIH data set has many cells of
  each patient, so cells of one patient land on both sides and the test score is optimistic.
- ``"patient"``: whole patients go to one side. The patient is the prefix of the NIH file name
  before ``_IMG`` (``C100P61ThinF_IMG_20150918_144348_cell_138.png`` belongs to ``C100P61ThinF``;
  see :func:`patient_id`). This needs file names, so only a folder source has it.

:func:`split_files` says which files went to each side, and :func:`load_folder` loads every image
of a folder (an external test set) with its file name.

Images are decoded and resized with TensorFlow in parallel (``tf.data``), rounded to 8 bits like
the originals and scaled to [0, 1] as float32. ``cache_dir`` keeps the decoded 8-bit arrays as
``.npy`` files so a second load skips decoding.

>>> (X_train, y_train), (X_test, y_test) = load_malaria("synthetic", fraction=0.02, image_size=8)
>>> X_train.shape, X_test.shape, X_train.dtype
((44, 192), (12, 192), dtype('float32'))
>>> int(y_train.sum()), int(y_test.sum())
(22, 6)
"""

import fractions
import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import socket
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value

__all__ = [
    "CLASS_NAMES",
    "DatasetUnavailableError",
    "describe_source",
    "load_folder",
    "load_malaria",
    "make_synthetic_malaria",
    "malaria_dataset",
    "patient_id",
    "split_files",
]

#: Class names indexed by label: ``CLASS_NAMES[1] == "parasitized"``.
CLASS_NAMES = ("uninfected", "parasitized")

_CLASS_DIRS = (("Parasitized", 1), ("Uninfected", 0))
_DEFAULT_FRACTION = {"tfds": 0.1, "folder": 1.0, "synthetic": 1.0}
_SYNTHETIC_SIZE = 2800
_SYNTHETIC_SEED = 20150918
_CACHE_VERSION = 2
_SPLITS = ("cell", "patient")
# A patient split puts m of k folds in the test set, with m / k ≈ test_size and k at most this.
_MAX_FOLDS = 20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LAYOUT = (
    "a folder in the NIH layout: Parasitized/ and Uninfected/ subfolders of PNG images "
    "(e.g. the NIH 'cell_images' folder)"
)


class DatasetUnavailableError(RuntimeError):
    """The requested data set cannot be obtained here (e.g. TFDS without network).

    The message names the offline choices: a folder path or ``"synthetic"``.

    >>> issubclass(DatasetUnavailableError, RuntimeError)
    True
    """


def describe_source(source):
    """Returns a one-line description of a data source, for printing next to any result.

    Args:
        source: ``"tfds"``, ``"synthetic"`` or a folder path, as for :func:`load_malaria`.

    Returns:
        A string; for ``"synthetic"`` it starts with ``"SYNTHETIC"`` and says the data are not
        real.

    >>> describe_source("synthetic").startswith("SYNTHETIC")
    True
    >>> describe_source("tfds")
    'TFDS malaria (NIH thin blood smear cell images, 27,558 images; course default: 10%)'
    """
    kind = _source_kind(source)
    if kind == "synthetic":
        return (
            "SYNTHETIC malaria-like cells (procedural stand-in, NOT real data; "
            f"{_SYNTHETIC_SIZE:,} images; results say nothing about malaria)"
        )
    if kind == "tfds":
        return "TFDS malaria (NIH thin blood smear cell images, 27,558 images; course default: 10%)"
    return f"NIH malaria cell images from folder {os.fspath(source)!r}"


def load_malaria(
    source="tfds",
    *,
    fraction=None,
    image_size=100,
    flatten=True,
    test_size=0.2,
    seed=0,
    split="cell",
    data_dir=None,
    cache_dir=None,
):
    """Loads malaria cell images as scaled arrays with a stratified train/test split.

    Args:
        source: ``"tfds"``, ``"synthetic"`` (procedural, not real data) or a path to a folder
            with ``Parasitized/`` and ``Uninfected/`` subfolders of PNG images.
        fraction: share of the source to use, in (0, 1], taken stratified. ``None`` means the
            source's course default: 0.1 for ``"tfds"``, 1.0 for a folder or ``"synthetic"``.
        image_size: images are resized (bilinear, antialiased) to ``image_size × image_size``.
        flatten: if True, ``X`` has shape ``(n, image_size * image_size * 3)``, else
            ``(n, image_size, image_size, 3)``.
        test_size: share of the (sub)set held out for testing, in (0, 1).
        seed: seed of the subset and of the split; the same seed gives the same arrays.
        split: ``"cell"`` splits the cells (stratified by label); ``"patient"`` (folders only)
            puts every patient's cells on one side, stratified as far as whole patients allow
            (scikit-learn's ``StratifiedGroupKFold``: ``m`` of ``k`` folds form the test set,
            with ``m / k`` the nearest fraction to ``test_size`` with ``k <= 20``, e.g. 1/5 for
            0.2, so the test share is ``test_size`` only as closely as the patients' sizes
            allow). The subset of ``fraction`` is drawn by cell before the split.
        data_dir: TFDS data directory (``"tfds"`` only; ``None`` is TFDS's default).
        cache_dir: folder for the decoded uint8 arrays (``.npy`` files in a subfolder), keyed by
            the source (file names, sizes, modification times), ``image_size``, ``fraction``,
            ``seed``, ``test_size`` and ``split``. ``None`` disables caching.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``: ``X`` float32 in [0, 1], ``y`` float32 with
        1 = parasitized, 0 = uninfected, in shuffled order.

    Raises:
        ValueError: an invalid argument (``split="patient"`` with ``"tfds"`` or
            ``"synthetic"``, which have no file names, or a file name without ``_IMG``), or a
            PNG that cannot be decoded (the file is named).
        FileNotFoundError: a missing or empty folder, or one without the class subfolders.
        DatasetUnavailableError: ``"tfds"`` when TFDS cannot provide the data (e.g. offline).

    >>> (X_train, y_train), _ = load_malaria("synthetic", fraction=0.02, image_size=4)
    >>> float(X_train.min()) >= 0.0 and float(X_train.max()) <= 1.0
    True
    """
    kind, fraction, image_size, flatten = _check_args(
        source, fraction, image_size, flatten, test_size, seed, split
    )
    cache_path = None
    if cache_dir is not None:
        key = _cache_key(kind, source, data_dir, image_size, fraction, seed, test_size, split)
        cache_path = os.path.join(os.fspath(cache_dir), f"malaria-{kind}-{key}")
        if os.path.isdir(cache_path):
            return _finish(*_read_cache(cache_path), flatten=flatten)
    records = _records(kind, source, data_dir)
    train_idx, test_idx = _split_indices(records, fraction, test_size, seed, split)
    images = records.decode(np.concatenate([train_idx, test_idx]), image_size)
    arrays = (
        images[: len(train_idx)],
        records.labels[train_idx],
        images[len(train_idx) :],
        records.labels[test_idx],
    )
    if cache_path is not None:
        _write_cache(cache_path, arrays)
    return _finish(*arrays, flatten=flatten)


def malaria_dataset(
    source="tfds",
    *,
    split="train",
    fraction=None,
    image_size=100,
    flatten=True,
    batch_size=32,
    shuffle=None,
    test_size=0.2,
    seed=0,
    split_by="cell",
    data_dir=None,
):
    """A batched, prefetched ``tf.data.Dataset`` of ``(x, y)`` for data that do not fit in memory.

    It holds the same examples as the matching split of :func:`load_malaria` with the same
    arguments; images are decoded lazily while the model trains.

    Args:
        source, fraction, image_size, flatten, test_size, seed, data_dir: as for
            :func:`load_malaria`.
        split: ``"train"`` or ``"test"``: which side of the split.
        split_by: how to split, :func:`load_malaria`'s ``split``: ``"cell"`` or ``"patient"``.
            (It has another name here because ``split`` names the side, as in TFDS.)
        batch_size: examples per batch.
        shuffle: reshuffle each epoch; ``None`` means True for ``"train"``, False for ``"test"``.
            Unshuffled, the order is :func:`load_malaria`'s for a folder or ``"synthetic"`` and
            the TFDS record order for ``"tfds"``.

    Returns:
        A ``tf.data.Dataset`` of float32 ``(x, y)`` batches, ``y`` of shape ``(batch,)``.

    Raises:
        The same errors as :func:`load_malaria`.

    >>> ds = malaria_dataset("synthetic", split="test", fraction=0.02, image_size=4, batch_size=8)
    >>> [tuple(x.shape) for x, _ in ds]
    [(8, 48), (4, 48)]
    """
    check_one_of("split", split, ("train", "test"))
    batch_size = check_int("batch_size", batch_size, minimum=1)
    kind, fraction, image_size, flatten = _check_args(
        source, fraction, image_size, flatten, test_size, seed, split_by, name="split_by"
    )
    records = _records(kind, source, data_dir)
    train_idx, test_idx = _split_indices(records, fraction, test_size, seed, split_by)
    indices = train_idx if split == "train" else test_idx
    ds = records.dataset(indices, image_size)
    labels_of = tf.constant(records.labels)

    def to_example(index, image):
        x = tf.cast(image, tf.float32) / 255.0
        if flatten:
            x = tf.reshape(x, (-1,))
        return x, tf.gather(labels_of, index)

    if shuffle is None:
        shuffle = split == "train"
    if shuffle:
        ds = ds.shuffle(min(len(indices), 4096), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def patient_id(filename):
    """The patient of an NIH cell image: its file name's prefix before ``_IMG``.

    NIH names each cell ``<patient>_IMG_<date>_<time>_cell_<n>.png``; the 27,558 images come
    from about 200 patients, and the shared 2,800 from 141.

    Args:
        filename: a file name or path.

    Returns:
        The patient's prefix, e.g. ``"C100P61ThinF"``.

    Raises:
        ValueError: the name has no prefix before ``_IMG``.

    >>> patient_id("cells/Parasitized/C100P61ThinF_IMG_20150918_144348_cell_138.png")
    'C100P61ThinF'
    """
    name = os.path.basename(os.fspath(filename))
    prefix, marker, _ = name.partition("_IMG")
    if not (prefix and marker):
        raise invalid_value(
            "filename",
            "an NIH cell image name with the patient before '_IMG' "
            "(e.g. 'C100P61ThinF_IMG_20150918_144348_cell_138.png')",
            name,
        )
    return prefix


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
    ValueError: Invalid value for argument `source`. Expected a folder in the NIH layout: ...
    """
    kind, fraction, _, _ = _check_args(source, fraction, 1, True, test_size, seed, split)
    if kind != "folder":
        raise invalid_value("source", f"{_LAYOUT}; only a folder has file names", source)
    records = _folder_records(os.fspath(source))
    train_idx, test_idx = _split_indices(records, fraction, test_size, seed, split)
    return [records.files[i] for i in train_idx], [records.files[i] for i in test_idx]


def load_folder(path, *, image_size=100, flatten=True):
    """Every image of a folder in the NIH layout, unsplit, with its file name.

    For an external test set (e.g. the cells of other patients): score a model trained on one
    folder on every image of another.

    Args:
        path: a folder with ``Parasitized/`` and ``Uninfected/`` subfolders of PNG images.
        image_size, flatten: as for :func:`load_malaria`.

    Returns:
        ``(X, y, files)``: ``X`` float32 in [0, 1], ``y`` float32 with 1 = parasitized, and the
        list of paths, row by row, in a fixed order: ``Parasitized/`` then ``Uninfected/``,
        each sorted by name.

    Raises:
        ValueError: an invalid argument, or a PNG that cannot be decoded (the file is named).
        FileNotFoundError: a missing or empty folder, or one without the class subfolders.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("Parasitized", "Uninfected"):
    ...     os.makedirs(os.path.join(root, name))
    ...     png = tf.io.encode_png(np.zeros((9, 7, 3), np.uint8))
    ...     tf.io.write_file(os.path.join(root, name, f"P1_IMG_{name}.png"), png)
    >>> X, y, files = load_folder(root, image_size=4, flatten=False)
    >>> X.shape, y.tolist(), [os.path.basename(f) for f in files]
    ((2, 4, 4, 3), [1.0, 0.0], ['P1_IMG_Parasitized.png', 'P1_IMG_Uninfected.png'])
    """
    _source_kind(path)
    image_size = check_int("image_size", image_size, minimum=1)
    check_one_of("flatten", flatten, (True, False))
    records = _folder_records(os.fspath(path))
    images = records.decode(np.arange(len(records.labels)), image_size)
    return _scale(images, flatten), records.labels.copy(), list(records.files)


def make_synthetic_malaria(n=_SYNTHETIC_SIZE, *, image_size=100, seed=_SYNTHETIC_SEED):
    """Draws procedural malaria-like cell images (**synthetic, not real data**).

    Each image is a round pink cell with a soft edge, a darker membrane, low-frequency texture,
    brightness and hue jitter and pixel noise on a black background, as in the NIH images. Both
    classes may carry faint stain artifacts; parasitized cells (label 1) also carry one to three
    dark purple ring forms or chromatin dots of random size, position and contrast. Image ``i``
    depends only on ``(seed, i)``, and its geometry not on ``image_size``.

    Args:
        n: number of images; the first ``n // 2`` are uninfected (label 0), the rest
            parasitized (label 1).
        image_size: side length in pixels.
        seed: seed of the population.

    Returns:
        ``(images, labels)``: uint8 ``(n, image_size, image_size, 3)`` and float32 ``(n,)``.

    >>> images, labels = make_synthetic_malaria(4, image_size=16)
    >>> images.shape, images.dtype, labels.tolist()
    ((4, 16, 16, 3), dtype('uint8'), [0.0, 0.0, 1.0, 1.0])
    """
    n = check_int("n", n, minimum=1)
    image_size = check_int("image_size", image_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    labels = _synthetic_labels(n)
    return _synthetic_images(np.arange(n), labels, image_size, seed), labels


# --- synthetic cells -------------------------------------------------------------------------


def _synthetic_labels(n):
    return (np.arange(n) >= n // 2).astype(np.float32)


def _synthetic_images(indices, labels, image_size, seed):
    grid = (np.arange(image_size) + 0.5) / image_size * 2.0 - 1.0
    v, u = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((len(indices), image_size, image_size, 3), np.uint8)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, int(i)])
        images[row] = _synthetic_cell(rng, u, v, parasitized=bool(labels[i]))
    return images


def _blob(u, v, cx, cy, radius, ring):
    """A soft spot (``ring=False``) or annulus (``ring=True``) of peak 1 at (cx, cy)."""
    r = np.hypot(u - cx, v - cy) / radius
    if ring:
        return np.exp(-(((r - 0.75) / 0.3) ** 2))
    return np.exp(-(r**2) * 1.5)


def _synthetic_cell(rng, u, v, *, parasitized):
    # The cell: a rotated ellipse with a soft edge and a darker rim (the membrane).
    cx, cy = rng.normal(0.0, 0.06, size=2)
    a, b = rng.uniform(0.6, 0.88, size=2)
    theta = rng.uniform(0, np.pi)
    du, dv = u - cx, v - cy
    x = (du * np.cos(theta) + dv * np.sin(theta)) / a
    y = (-du * np.sin(theta) + dv * np.cos(theta)) / b
    r = np.hypot(x, y)
    inside = 1.0 / (1.0 + np.exp((r - 1.0) / 0.04))
    base = np.array([215.0, 150.0, 165.0]) * rng.uniform(0.8, 1.1) + rng.normal(0, 12, 3)
    texture = sum(
        rng.uniform(3, 9) * np.cos(rng.uniform(1, 5) * (u * np.cos(t) + v * np.sin(t)) + p)
        for t, p in rng.uniform(0, 2 * np.pi, size=(3, 2))
    )
    cell = base - 40.0 * np.exp(-(((r - 0.95) / 0.08) ** 2))[..., None] + texture[..., None]
    stain = np.zeros_like(u)
    # Artifacts (both classes): faint, larger, fuzzy smudges.
    for _ in range(rng.integers(0, 3)):
        px, py = rng.uniform(-0.6, 0.6, size=2)
        stain += rng.uniform(0.15, 0.4) * _blob(u, v, px, py, rng.uniform(0.1, 0.25), False)
    if parasitized:
        for _ in range(rng.integers(1, 4)):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.65)
            px, py = cx + dist * a * np.cos(angle), cy + dist * b * np.sin(angle)
            radius = rng.uniform(0.05, 0.14)
            stain += rng.uniform(0.35, 0.9) * _blob(u, v, px, py, radius, rng.random() < 0.5)
    stain = np.clip(stain, 0.0, 1.0)[..., None] * inside[..., None]
    purple = np.array([95.0, 45.0, 135.0])
    cell = cell * (1.0 - stain) + purple * stain
    image = cell * inside[..., None] + rng.normal(0, 5, size=cell.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


# --- sources ---------------------------------------------------------------------------------


class _Records:
    """All examples of a source: labels (1 = parasitized) and how to decode any of them."""

    def __init__(self, labels, dataset_fn, files=None):
        self.labels = labels
        self.files = files  # one path per example, for a folder; None otherwise
        self._dataset_fn = dataset_fn

    def dataset(self, indices, image_size):
        """A ``tf.data.Dataset`` of ``(index, uint8 image)`` for the given indices."""
        return self._dataset_fn(np.asarray(indices, np.int64), image_size)

    def decode(self, indices, image_size):
        """The uint8 images of ``indices``, in that order."""
        out = np.empty((len(indices), image_size, image_size, 3), np.uint8)
        row_of = np.full(len(self.labels), -1, np.int64)
        row_of[indices] = np.arange(len(indices))
        for index, batch in self.dataset(indices, image_size).batch(256).as_numpy_iterator():
            out[row_of[index]] = batch
        return out


def _source_kind(source):
    if isinstance(source, str) and source in ("tfds", "synthetic"):
        return source
    if isinstance(source, (str, os.PathLike)):
        return "folder"
    raise invalid_value("source", f"'tfds', 'synthetic' or {_LAYOUT}", source)


def _check_args(source, fraction, image_size, flatten, test_size, seed, split, name="split"):
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
    image_size = check_int("image_size", image_size, minimum=1)
    check_int("seed", seed, minimum=0)
    check_one_of("flatten", flatten, (True, False))
    return kind, float(fraction), image_size, bool(flatten)


def _records(kind, source, data_dir):
    if kind == "synthetic":
        return _synthetic_records()
    if kind == "tfds":
        return _tfds_records(data_dir)
    return _folder_records(os.fspath(source))


def _synthetic_records():
    labels = _synthetic_labels(_SYNTHETIC_SIZE)

    def dataset_fn(indices, image_size):
        images = _synthetic_images(indices, labels, image_size, _SYNTHETIC_SEED)
        return tf.data.Dataset.from_tensor_slices((indices, images))

    return _Records(labels, dataset_fn)


def _list_folder(path):
    expected = f"Expected {_LAYOUT}, or source='tfds' or 'synthetic'."
    if not os.path.isdir(path):
        raise FileNotFoundError(f"Malaria image folder not found: {path!r}. {expected}")
    if not os.listdir(path):
        raise FileNotFoundError(f"Malaria image folder {path!r} is empty. {expected}")
    missing = [name for name, _ in _CLASS_DIRS if not os.path.isdir(os.path.join(path, name))]
    if missing:
        raise FileNotFoundError(
            f"Malaria image folder {path!r} has no class subfolder(s) {missing}. {expected}"
        )
    files, labels = [], []
    for name, label in _CLASS_DIRS:
        folder = os.path.join(path, name)
        pngs = sorted(f for f in os.listdir(folder) if f.lower().endswith(".png"))
        if not pngs:
            raise FileNotFoundError(f"No PNG images in {folder!r}. {expected}")
        files += [os.path.join(folder, f) for f in pngs]
        labels += [label] * len(pngs)
    return files, np.asarray(labels, np.float32)


def _folder_records(path):
    files, labels = _list_folder(path)

    def dataset_fn(indices, image_size):
        paths = tf.constant([files[i] for i in indices])

        def read(index, file):
            return index, _decode_resize(tf.io.read_file(file), image_size, file)

        ds = tf.data.Dataset.from_tensor_slices((indices, paths))
        return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)

    records = _Records(labels, dataset_fn, files)
    records.decode = _naming_corrupt_file(records.decode, files)
    return records


def _naming_corrupt_file(decode, files):
    """Wraps ``decode`` so that a PNG TensorFlow cannot decode is named in a ``ValueError``."""

    def wrapped(indices, image_size):
        try:
            return decode(indices, image_size)
        except tf.errors.InvalidArgumentError as err:
            for i in indices:
                try:
                    tf.io.decode_png(tf.io.read_file(files[i]), channels=3)
                except tf.errors.InvalidArgumentError as file_err:
                    raise ValueError(
                        f"Cannot decode {files[i]!r} as a PNG image "
                        f"({_tf_reason(file_err.message)}). Remove or replace the file."
                    ) from None
            raise err

    return wrapped


def _tf_reason(message):
    """TensorFlow's error message without its op and device decorations.

    >>> _tf_reason("{{function_node __wrapped__DecodePng_device_/job:localhost}} Invalid PNG. "
    ...            "[Op:DecodePng] name:")
    'Invalid PNG.'
    """
    message = re.sub(r"\{\{function_node [^}]*\}\}", "", message)
    return re.sub(r"\[Op:[^\]]*\].*$", "", message, flags=re.DOTALL).strip()


# Where TFDS downloads "malaria" from: probed first, because offline TFDS retries for minutes.
_TFDS_DOWNLOAD_HOST = ("data.lhncbc.nlm.nih.gov", 443)


def _download_host_reachable(timeout=5.0):
    try:
        socket.create_connection(_TFDS_DOWNLOAD_HOST, timeout=timeout).close()
    except OSError:
        return False
    return True


def _tfds_records(data_dir):
    try:
        import tensorflow_datasets as tfds

        load = functools.partial(
            tfds.load,
            "malaria",
            split="train",
            data_dir=data_dir,
            as_supervised=True,
            decoders={"image": tfds.decode.SkipDecoding()},
        )
        try:
            ds = load(download=False)  # already prepared: no network needed
        except Exception as not_prepared:
            if not _download_host_reachable():
                raise ConnectionError(
                    f"the data set is not prepared in data_dir={data_dir!r} and its download "
                    f"host {_TFDS_DOWNLOAD_HOST[0]} cannot be reached"
                ) from not_prepared
            ds = load(download=True)
    except Exception as err:
        raise DatasetUnavailableError(
            f"TFDS could not provide the 'malaria' data set ({type(err).__name__}: {err}). "
            "Offline, use source=<folder> with Parasitized/ and Uninfected/ subfolders of PNG "
            "images (e.g. the NIH cell_images folder), or source='synthetic' (not real data)."
        ) from err
    # TFDS: 0 = parasitized, 1 = uninfected; kerasx: 1 = parasitized.
    tfds_labels = np.fromiter(ds.map(lambda image, label: label).as_numpy_iterator(), np.int64)
    labels = (tfds_labels == 0).astype(np.float32)

    def dataset_fn(indices, image_size):
        keep = np.zeros(len(labels), bool)
        keep[indices] = True
        keep = tf.constant(keep)
        chosen = ds.enumerate().filter(lambda i, example: tf.gather(keep, i))
        return chosen.map(
            lambda i, example: (i, _resize(_decode_any(example[0]), image_size)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    return _Records(labels, dataset_fn)


def _decode_any(encoded):
    # TFDS stores PNG; decode_image would also take JPEG should a TFDS version switch.
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape((None, None, 3))
    return image


def _decode_resize(encoded, image_size, name):
    """Decodes the PNG ``encoded`` (read from file ``name``) and resizes it, as uint8."""
    is_png = tf.equal(tf.strings.substr(encoded, 0, 8), _PNG_SIGNATURE)
    with tf.control_dependencies([tf.debugging.Assert(is_png, ["Not a PNG file:", name])]):
        image = tf.io.decode_png(encoded, channels=3)
    return _resize(image, image_size)


def _resize(image, image_size):
    """Resizes (antialiased bilinear) and rounds back to uint8, like the 8-bit originals."""
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


# --- split, cache, output --------------------------------------------------------------------


def _split_indices(records, fraction, test_size, seed, split):
    """Stratified subset of ``fraction``, then the train/test split (index arrays)."""
    labels = records.labels
    indices = np.arange(len(labels))
    try:
        groups = None
        if split == "patient":
            groups = np.array([patient_id(f) for f in records.files])
        if fraction < 1.0:
            indices, _ = train_test_split(
                indices, train_size=fraction, stratify=labels, random_state=seed
            )
        if groups is None:
            return train_test_split(
                indices, test_size=test_size, stratify=labels[indices], random_state=seed
            )
        return _patient_split(indices, labels[indices], groups[indices], test_size, seed)
    except ValueError as err:
        by = "by patient" if split == "patient" else "stratified"
        raise ValueError(
            f"Cannot split {len(labels)} images {by} with fraction={fraction} and "
            f"test_size={test_size}: {err}"
        ) from None


def _patient_split(indices, labels, groups, test_size, seed):
    """Whole groups to each side: ``m`` of ``k`` stratified group folds form the test set."""
    n_groups = len(np.unique(groups))
    share = fractions.Fraction(test_size).limit_denominator(min(_MAX_FOLDS, n_groups))
    k = max(share.denominator, 2)
    m = min(max(share.numerator, 1), k - 1)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
        warnings.simplefilter("ignore", UserWarning)
        folds = list(itertools.islice(splitter.split(indices, labels, groups), m))
    test = np.concatenate([fold_test for _, fold_test in folds])
    if len(test) == 0 or len(test) == len(indices):
        raise ValueError(f"{n_groups} patients cannot fill both sides")
    train = np.setdiff1d(np.arange(len(indices)), test)
    rng = np.random.default_rng(seed)  # shuffled order, like train_test_split's
    return indices[rng.permutation(train)], indices[rng.permutation(test)]


def _fingerprint(path, files):
    # The files are ``os.path.join(path, ...)`` (``_list_folder``): their names below the folder
    # are a slice, as ``os.path.relpath`` gives them, without its two ``abspath`` calls per file
    # (a third of a cached load's time).
    prefix = len(os.path.join(path, ""))
    stats = [(f[prefix:], *_size_and_mtime(f)) for f in files]
    return hashlib.sha256(json.dumps([os.path.abspath(path), stats]).encode()).hexdigest()


def _size_and_mtime(file):
    stat = os.stat(file)
    return stat.st_size, stat.st_mtime_ns


def _cache_key(kind, source, data_dir, image_size, fraction, seed, test_size, split):
    if kind == "folder":
        origin = _fingerprint(os.fspath(source), _list_folder(os.fspath(source))[0])
    elif kind == "tfds":
        origin = os.path.abspath(data_dir) if data_dir is not None else None
    else:
        origin = [_SYNTHETIC_SEED, _SYNTHETIC_SIZE]
    fields = [_CACHE_VERSION, kind, origin, image_size, fraction, seed, test_size, split]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:20]


_CACHE_NAMES = ("X_train", "y_train", "X_test", "y_test")


def _read_cache(path):
    return [np.load(os.path.join(path, f"{name}.npy")) for name in _CACHE_NAMES]


def _write_cache(path, arrays):
    """Writes uint8 images and labels as ``.npy`` files (fast to read) in a folder, atomically."""
    partial = f"{path}.{os.getpid()}.partial"
    os.makedirs(partial, exist_ok=True)
    try:
        for name, array in zip(_CACHE_NAMES, arrays, strict=True):
            np.save(os.path.join(partial, f"{name}.npy"), array)
    except BaseException:  # e.g. a full disk: no half-written cache is left behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:
        os.replace(partial, path)
    except OSError:  # another process wrote the same cache first
        shutil.rmtree(partial, ignore_errors=True)


#: Below this many pixels, scaling runs in the calling thread (threads cost more than they save).
_THREADED_SCALE_MIN = 1 << 22


def _scale(images, flatten):
    """uint8 images as float32 in [0, 1], in one pass (no uint8 -> float32 copy, then a division).

    Large arrays are divided in row chunks on one thread per CPU (NumPy releases the GIL in
    ufuncs): the same bits as a single ``np.divide``, about 2x faster on 2 cores for the 2,800
    shared cells at 100x100 (68 -> 31 ms), most of it the page faults of the new array.
    """
    out = np.empty(images.shape, np.float32)
    workers = min(os.cpu_count() or 1, 8, len(images))
    if images.size < _THREADED_SCALE_MIN or workers < 2:
        np.divide(images, np.float32(255.0), out=out, dtype=np.float32)
    else:

        def divide(source, target):  # views of the same rows of ``images`` and ``out``
            np.divide(source, np.float32(255.0), out=target, dtype=np.float32)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(divide, np.array_split(images, workers), np.array_split(out, workers)))
    return out.reshape(len(out), int(np.prod(out.shape[1:]))) if flatten else out


def _finish(X_train, y_train, X_test, y_test, *, flatten):
    return (
        (_scale(X_train, flatten), y_train.astype(np.float32)),
        (_scale(X_test, flatten), y_test.astype(np.float32)),
    )
