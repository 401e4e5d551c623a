"""The loaders: a source's images as split arrays or a ``tf.data`` pipeline, or a whole folder.

Images are decoded and resized with TensorFlow in parallel (``tf.data``), rounded to 8 bits like
the originals and scaled to [0, 1] as float32, the last step in threads for large arrays.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from kerasx._validation import check_int, check_one_of
from kerasx.data.cache import _cache_path, _read_cache, _write_cache
from kerasx.data.sources import _folder_records, _records, _source_kind
from kerasx.data.split import _check_plan, _split_indices

__all__ = ["load_folder", "load_malaria", "malaria_dataset"]


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
    plan = _check_plan(source, fraction=fraction, test_size=test_size, seed=seed, split=split)
    image_size, flatten = _check_image(image_size, flatten)
    cache_path = None
    if cache_dir is not None:
        cache_path = _cache_path(cache_dir, source, plan, data_dir=data_dir, image_size=image_size)
        if os.path.isdir(cache_path):
            return _finish(*_read_cache(cache_path), flatten=flatten)
    records = _records(plan.kind, source, data_dir)
    train_idx, test_idx = _split_indices(records, plan)
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
    plan = _check_plan(
        source, fraction=fraction, test_size=test_size, seed=seed, split=split_by, name="split_by"
    )
    image_size, flatten = _check_image(image_size, flatten)
    records = _records(plan.kind, source, data_dir)
    train_idx, test_idx = _split_indices(records, plan)
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
    image_size, flatten = _check_image(image_size, flatten)
    records = _folder_records(os.fspath(path))
    images = records.decode(np.arange(len(records.labels)), image_size)
    return _scale(images, flatten), records.labels.copy(), list(records.files)


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


def _check_image(image_size, flatten):
    image_size = check_int("image_size", image_size, minimum=1)
    check_one_of("flatten", flatten, (True, False))
    return image_size, bool(flatten)


def _finish(X_train, y_train, X_test, y_test, *, flatten):
    return (
        (_scale(X_train, flatten), y_train.astype(np.float32)),
        (_scale(X_test, flatten), y_test.astype(np.float32)),
    )
