"""The loaders: a source's images as split arrays or a ``tf.data`` pipeline, or a whole folder.

Images are decoded and resized with TensorFlow in parallel (``tf.data``), rounded to 8 bits like
the originals and, unless ``dtype="uint8"`` keeps those 8 bits, scaled to [0, 1] as float32, the
last step in threads for large arrays. ``verbose`` shows the decoding's count, rate and ETA.
"""

import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from kerasx._validation import InvalidArgument, check_int, check_one_of, invalid_value
from kerasx.data.cache import _cache_path, _read_cache, _write_cache
from kerasx.data.sources import _folder_records, _records, _source_kind, patient_id
from kerasx.data.split import _SPLITS, _check_plan, _split_indices

__all__ = ["load_folder", "load_malaria", "malaria_dataset", "scale_images"]

#: The image types the loaders return: scaled floats (the default) or the decoded 8 bits.
_DTYPES = ("float32", "uint8")


def load_malaria(
    source="tfds",
    *,
    fraction=None,
    image_size=100,
    flatten=True,
    test_size=0.2,
    seed=0,
    split=None,
    data_dir=None,
    cache_dir=None,
    return_groups=False,
    dtype="float32",
    verbose=False,
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
        split: ``"patient"`` (folders only) puts every patient's cells (:func:`patient_id`) on
            one side, stratified as far as whole patients allow (scikit-learn's
            ``StratifiedGroupKFold``: ``m`` of ``k`` folds form the test set, with ``m / k`` the
            nearest fraction to ``test_size`` with ``k <= 20``, e.g. 1/5 for 0.2, so the test
            share is ``test_size`` only as closely as the patients' sizes allow); ``"cell"``
            splits the cells (stratified by label), so one patient's cells land on both sides.
            ``None`` (the default) is ``"patient"`` for a folder and ``"cell"`` for ``"tfds"``
            and ``"synthetic"``, which have no file names. The share ``fraction`` is drawn by
            cell before the split.
        data_dir: TFDS data directory (``"tfds"`` only; ``None`` is TFDS's default).
        cache_dir: folder for the decoded uint8 arrays (``.npy`` files in a subfolder), keyed by
            the source (file names, sizes, modification times), ``image_size``, ``fraction``,
            ``seed``, ``test_size`` and ``split``. ``None`` disables caching.
        return_groups: also return the group of every row, for scikit-learn's ``GroupKFold``
            or :func:`grouped_validation_split`: for a folder its patient (:func:`patient_id`,
            a string; every file name must name one); for ``"tfds"`` and ``"synthetic"``, which
            have no file names, each row is its own group (its row number, ``0 ...`` on the
            training side and continuing on the test side).
        dtype: ``"float32"`` (the default): pixels scaled to [0, 1]; ``"uint8"``: the decoded
            8-bit pixels 0-255, a quarter of the memory (20,734 NIH cells at 100x100: 0.6 GB
            instead of 2.5 GB). :func:`scale_images` turns them, or any batch of them, into
            exactly the float32 values of ``"float32"``.
        verbose: print the decoding's progress on standard output (count, rate and ETA: one
            line rewritten in place on a terminal, a line per quarter otherwise) and what the
            cache did. ``True`` starts each line with ``"[kerasx data]"``; a string starts them
            with that string instead. ``False`` (the default) prints nothing.

    Returns:
        ``(X_train, y_train), (X_test, y_test)``: ``X`` float32 in [0, 1] (uint8 in [0, 255]
        with ``dtype="uint8"``), ``y`` float32 with 1 = parasitized, 0 = uninfected, in
        shuffled order. With ``return_groups=True``,
        ``(X_train, y_train, groups_train), (X_test, y_test, groups_test)``, the groups in the
        rows' order.

    Raises:
        InvalidArgument: an invalid argument (``split="patient"`` with ``"tfds"`` or
            ``"synthetic"``, which have no file names; a patient split or ``return_groups``
            with a file name that names no patient).
        ValueError: a PNG that cannot be decoded (the file is named).
        FileNotFoundError: a missing or empty folder, or one without the class subfolders.
        DatasetUnavailableError: ``"tfds"`` when TFDS cannot provide the data (e.g. offline).

    >>> (X_train, y_train), _ = load_malaria("synthetic", fraction=0.02, image_size=4)
    >>> float(X_train.min()) >= 0.0 and float(X_train.max()) <= 1.0
    True
    >>> (_, _, groups), (X_test, _, groups_test) = load_malaria(
    ...     "synthetic", fraction=0.02, image_size=4, return_groups=True
    ... )
    >>> groups[:3], groups_test[:3], len(X_test)
    (array([0, 1, 2]), array([44, 45, 46]), 12)
    >>> (X8, _), _ = load_malaria("synthetic", fraction=0.02, image_size=4, dtype="uint8")
    >>> X8.dtype, bool((scale_images(X8) == X_train).all())
    (dtype('uint8'), True)
    """
    plan = _check_plan(source, fraction=fraction, test_size=test_size, seed=seed, split=split)
    image_size, flatten = _check_image(image_size, flatten)
    check_one_of("return_groups", return_groups, (True, False))
    dtype, prefix = _check_dtype(dtype), _prefix(verbose)
    cache_path = None
    if cache_dir is not None:
        cache_path = _cache_path(cache_dir, source, plan, data_dir=data_dir, image_size=image_size)
    arrays, rows = _split_arrays(plan, source, data_dir, image_size, cache_path, prefix)
    train, test = _finish(*arrays, flatten=flatten, dtype=dtype)
    if not return_groups:
        return train, test
    groups_train, groups_test = _groups(plan, source, rows, len(arrays[0]), len(arrays[2]))
    return (*train, groups_train), (*test, groups_test)


def _split_arrays(plan, source, data_dir, image_size, cache_path, prefix):
    """``(arrays, rows)``: the uint8 ``X_train, y_train, X_test, y_test`` read from the cache
    at ``cache_path``, or decoded (and then cached when ``cache_path`` is not ``None``).

    ``rows`` is ``(records, train_idx, test_idx)`` after decoding, ``None`` after a cache read.
    """
    if cache_path is not None and os.path.isdir(cache_path):
        start = time.monotonic()
        arrays = _read_cache(cache_path)
        seconds = time.monotonic() - start
        images = f"{len(arrays[0]) + len(arrays[2]):,} images"
        _say(prefix, f"read {images} from the cache {cache_path} in {_duration(seconds)}")
        return arrays, None
    records = _records(plan.kind, source, data_dir)
    rows = (records, *_split_indices(records, plan))
    arrays = _decode_split(*rows, image_size, prefix)
    if cache_path is not None:
        start = time.monotonic()
        _write_cache(cache_path, arrays)
        size = f"{(arrays[0].nbytes + arrays[2].nbytes) / 1e6:,.0f} MB"
        seconds = time.monotonic() - start
        _say(prefix, f"cached the decoded images in {cache_path} ({size}, {_duration(seconds)})")
    return arrays, rows


def _decode_split(records, train_idx, test_idx, image_size, prefix):
    """The uint8 images and labels of both sides: ``X_train, y_train, X_test, y_test``."""
    images = _decode(records, np.concatenate([train_idx, test_idx]), image_size, prefix)
    return (
        images[: len(train_idx)],
        records.labels[train_idx],
        images[len(train_idx) :],
        records.labels[test_idx],
    )


def _groups(plan, source, rows, n_train, n_test):
    """The group of every row of each side: the patient for a folder, else the row's number.

    ``rows`` is ``(records, train_idx, test_idx)`` of the split, or ``None`` after a cached
    load: the split is then drawn again from the file names alone (nothing is decoded).
    """
    if plan.kind != "folder":
        return np.arange(n_train), np.arange(n_train, n_train + n_test)
    if rows is None:
        records = _folder_records(os.fspath(source))
        rows = (records, *_split_indices(records, plan))
    records, train_idx, test_idx = rows
    return _patients(records.files, train_idx), _patients(records.files, test_idx)


def _patients(files, indices):
    try:
        return np.array([patient_id(files[i]) for i in indices], dtype=str)
    except InvalidArgument as err:
        raise InvalidArgument(
            f"Cannot return the groups (patients) of the rows: {err.message}",
            hint="Load with return_groups=False, or with file names in the NIH form.",
        ) from None


_SIDES = ("train", "test")


def malaria_dataset(
    source="tfds",
    *,
    subset="train",
    split=None,
    fraction=None,
    image_size=100,
    flatten=True,
    batch_size=32,
    shuffle=None,
    test_size=0.2,
    seed=0,
    data_dir=None,
    split_by=None,
):
    """A batched, prefetched ``tf.data.Dataset`` of ``(x, y)`` for data that do not fit in memory.

    It holds the same examples as the matching side of :func:`load_malaria` with the same
    arguments; images are decoded lazily while the model trains.

    Args:
        source, fraction, image_size, flatten, test_size, seed, data_dir: as for
            :func:`load_malaria`.
        subset: ``"train"`` or ``"test"``: which side of the split.
        split: how to split, as for :func:`load_malaria`: ``"patient"``, ``"cell"``, or
            ``None`` (by patient for a folder, by cell for ``"tfds"`` and ``"synthetic"``).
            Deprecated: ``"train"`` / ``"test"`` here still name the side (a
            ``DeprecationWarning``; use ``subset``).
        batch_size: examples per batch.
        shuffle: reshuffle each epoch; ``None`` means True for ``"train"``, False for ``"test"``.
            Unshuffled, the order is :func:`load_malaria`'s for a folder or ``"synthetic"`` and
            the TFDS record order for ``"tfds"``.
        split_by: deprecated name of ``split`` (a ``DeprecationWarning``).

    Returns:
        A ``tf.data.Dataset`` of float32 ``(x, y)`` batches, ``y`` of shape ``(batch,)``.

    Raises:
        The same errors as :func:`load_malaria`.

    >>> ds = malaria_dataset("synthetic", subset="test", fraction=0.02, image_size=4, batch_size=8)
    >>> [tuple(x.shape) for x, _ in ds]
    [(8, 48), (4, 48)]
    """
    subset, split, name = _dataset_words(subset, split, split_by)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    plan = _check_plan(
        source, fraction=fraction, test_size=test_size, seed=seed, split=split, name=name
    )
    image_size, flatten = _check_image(image_size, flatten)
    records = _records(plan.kind, source, data_dir)
    train_idx, test_idx = _split_indices(records, plan)
    indices = train_idx if subset == "train" else test_idx
    ds = records.dataset(indices, image_size)
    labels_of = tf.constant(records.labels)

    def to_example(index, image):
        x = tf.cast(image, tf.float32) / 255.0
        if flatten:
            x = tf.reshape(x, (-1,))
        return x, tf.gather(labels_of, index)

    if shuffle is None:
        shuffle = subset == "train"
    if shuffle:
        ds = ds.shuffle(min(len(indices), 4096), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _dataset_words(subset, split, split_by):
    """``(subset, split, the name to report split by)`` from :func:`malaria_dataset`'s
    arguments, mapping the deprecated ``split="train"/"test"`` and ``split_by`` (one release)."""
    name = "split"
    if split in _SIDES:
        _deprecated(f"split={split!r} names the side: use subset={split!r}")
        if subset not in ("train", split):
            raise invalid_value(
                "subset", f"{split!r}, as split={split!r} (deprecated) says", subset
            )
        subset, split = split, None
    elif split not in (None, *_SPLITS):
        raise invalid_value(
            "split",
            f"one of {(None, *_SPLITS)!r}",
            split,
            hint="The side of the split is `subset`: 'train' or 'test'.",
        )
    if split_by is not None:
        _deprecated(f"split_by={split_by!r} is now split={split_by!r}")
        if split is not None and split != split_by:
            raise invalid_value("split_by", f"None or split={split!r}", split_by)
        split, name = split_by, "split_by"
    return check_one_of("subset", subset, _SIDES), split, name


def _deprecated(what):
    warnings.warn(
        f"malaria_dataset: {what}. `subset` is 'train' or 'test' and `split` is 'cell' or "
        "'patient', as in load_malaria; the old spelling goes in the next release.",
        DeprecationWarning,
        stacklevel=4,
    )


def load_folder(
    path, *, image_size=100, flatten=True, return_groups=False, dtype="float32", verbose=False
):
    """Every image of a folder in the NIH layout, unsplit, with its file name.

    For an external test set (e.g. the cells of other patients): score a model trained on one
    folder on every image of another.

    Args:
        path: a folder with ``Parasitized/`` and ``Uninfected/`` subfolders of PNG images.
        image_size, flatten, dtype, verbose: as for :func:`load_malaria`.
        return_groups: also return the patient of every row (:func:`patient_id`; every file
            name must name one).

    Returns:
        ``(X, y, files)``: ``X`` float32 in [0, 1] (uint8 with ``dtype="uint8"``), ``y``
        float32 with 1 = parasitized, and the list of paths, row by row, in a fixed order:
        ``Parasitized/`` then ``Uninfected/``, each sorted by name. With
        ``return_groups=True``, ``(X, y, files, groups)``.

    Raises:
        InvalidArgument: an invalid argument, or with ``return_groups`` a file name that names
            no patient.
        ValueError: a PNG that cannot be decoded (the file is named).
        FileNotFoundError: a missing or empty folder, or one without the class subfolders.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("Parasitized", "Uninfected"):
    ...     os.makedirs(os.path.join(root, name))
    ...     png = tf.io.encode_png(np.zeros((9, 7, 3), np.uint8))
    ...     tf.io.write_file(os.path.join(root, name, f"C9P1_IMG_{name}.png"), png)
    >>> X, y, files, groups = load_folder(root, image_size=4, flatten=False, return_groups=True)
    >>> X.shape, y.tolist(), [os.path.basename(f) for f in files], groups.tolist()
    ((2, 4, 4, 3), [1.0, 0.0], ['C9P1_IMG_Parasitized.png', 'C9P1_IMG_Uninfected.png'], ['P1', 'P1'])
    """
    _source_kind(path)
    image_size, flatten = _check_image(image_size, flatten)
    check_one_of("return_groups", return_groups, (True, False))
    dtype, prefix = _check_dtype(dtype), _prefix(verbose)
    records = _folder_records(os.fspath(path))
    rows = np.arange(len(records.labels))
    groups = _patients(records.files, rows) if return_groups else None  # before decoding
    images = _decode(records, rows, image_size, prefix)
    X, y = _as_dtype(images, flatten, dtype), records.labels.copy()
    files = list(records.files)
    return (X, y, files) if groups is None else (X, y, files, groups)


#: Below this many pixels, scaling runs in the calling thread (threads cost more than they save).
_THREADED_SCALE_MIN = 1 << 22


def scale_images(images, *, flatten=False):
    """uint8 images as float32 in [0, 1]: ``images / 255``, the loaders' ``dtype="float32"``.

    The same bits as :func:`load_malaria` returns with ``dtype="float32"`` for the same images
    (each pixel ``k`` becomes the float32 nearest to ``k / 255``), so a model fed batches
    scaled here sees exactly the values of a float32 load.

    Args:
        images: a uint8 array ``(n, ...)``, e.g. from ``load_malaria(..., dtype="uint8")``.
        flatten: return ``(n, pixels)`` rows instead of the input's shape.

    Returns:
        A new float32 array.

    Raises:
        InvalidArgument: ``images`` is not a uint8 array with a first (row) axis.

    >>> scale_images(np.array([[0, 51, 255]], np.uint8)).tolist()
    [[0.0, 0.20000000298023224, 1.0]]
    """
    check_one_of("flatten", flatten, (True, False))
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim < 1:
        raise invalid_value(
            "images",
            "a uint8 NumPy array with one row per image",
            images,
            describe=lambda a: f"{type(a).__name__} of dtype {getattr(a, 'dtype', None)}",
        )
    return _scale(images, flatten)


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


def _check_dtype(dtype):
    """``"float32"`` or ``"uint8"``, also given as a NumPy dtype or type."""
    try:
        name = np.dtype(dtype).name if dtype is not None else None
    except (TypeError, ValueError):
        name = None
    if name not in _DTYPES:
        raise invalid_value("dtype", f"one of {_DTYPES!r}", dtype)
    return name


def _as_dtype(images, flatten, dtype):
    """The decoded uint8 ``images`` as the loaders return them: scaled, or reshaped only."""
    if dtype == "float32":
        return _scale(images, flatten)
    return images.reshape(len(images), -1) if flatten else images


def _finish(X_train, y_train, X_test, y_test, *, flatten, dtype):
    return (
        (_as_dtype(X_train, flatten, dtype), y_train.astype(np.float32)),
        (_as_dtype(X_test, flatten, dtype), y_test.astype(np.float32)),
    )


def _prefix(verbose):
    """The prefix of the progress lines ``verbose`` asks for, or ``None`` for none."""
    if not isinstance(verbose, (bool, str)) or verbose == "":
        raise invalid_value("verbose", "True, False or a line prefix (a non-empty string)", verbose)
    if verbose is False:
        return None
    return "[kerasx data]" if verbose is True else verbose


def _say(prefix, message):
    if prefix is not None:
        print(f"{prefix} {message}", flush=True)


def _decode(records, indices, image_size, prefix):
    """``records.decode``, showing a :class:`_ProgressLine` when ``prefix`` is not ``None``."""
    if prefix is None:
        return records.decode(indices, image_size)
    line = _ProgressLine(f"decoding {len(indices):,} images", len(indices), prefix, "images")
    images = records.decode(indices, image_size, progress=line.update)
    line.close()
    return images


def _duration(seconds):
    """A duration for people: ``"0.4 s"``, ``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``.

    >>> _duration(0.43), _duration(41.6), _duration(185), _duration(7620)
    ('0.4 s', '42 s', '3 min 05 s', '2 h 07 min')
    """
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _ProgressLine:
    """The count, rate and ETA of a long loop, printed for a person to watch.

    On a terminal one line is rewritten in place (at most every ``interval`` seconds);
    elsewhere (a log file, a pipe) a line is printed as each quarter of ``total`` is passed,
    so a log holds a few lines. :meth:`close` prints the total time and rate on a line of its
    own.

    Args:
        what: what is counted, e.g. ``"decoding 20,734 images"``.
        total: the count at the end (>= 0).
        prefix: the start of every line, e.g. ``"[kerasx data]"``.
        unit: the unit of the rate, e.g. ``"images"``.
        stream: where to print (default: ``sys.stdout`` at the time of printing).
        clock: the seconds clock (a test passes a fake one).
        interval: the least seconds between two rewrites on a terminal.

    >>> ticks = iter([0.0, 1.0, 2.0, 4.0, 8.0])
    >>> line = _ProgressLine("decoding 8 images", 8, "[x]", "images", clock=lambda: next(ticks))
    >>> line.update(1); line.update(4); line.update(8); line.close()
    [x] decoding 8 images: 4/8 (50%), 2.0 images/s, ETA 2.0 s
    [x] decoding 8 images: 8/8 in 8.0 s (1.0 images/s)
    """

    def __init__(
        self, what, total, prefix, unit, *, stream=None, clock=time.monotonic, interval=0.5
    ):
        self.what, self.total, self.prefix, self.unit = what, total, prefix, unit
        self._stream, self._clock, self._interval = stream, clock, interval
        self._start = clock()
        self._done, self._quarter, self._shown_at, self._width = 0, 0, None, 0

    @property
    def stream(self):
        return sys.stdout if self._stream is None else self._stream

    def _on_terminal(self):
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def update(self, done):
        """Records that ``done`` of ``total`` are done, and prints when it is time to."""
        self._done = done
        now = self._clock()
        elapsed = now - self._start
        if done <= 0 or elapsed <= 0 or done >= self.total:
            return
        rate = done / elapsed
        text = (
            f"{self.prefix} {self.what}: {done:,}/{self.total:,} ({100 * done // self.total}%), "
            f"{_rate(rate)} {self.unit}/s, ETA {_duration((self.total - done) / rate)}"
        )
        if self._on_terminal():
            if self._shown_at is None or now - self._shown_at >= self._interval:
                self._rewrite(text)
                self._shown_at = now
        elif 4 * done // self.total > self._quarter:
            self._quarter = 4 * done // self.total
            print(text, file=self.stream, flush=True)

    def _rewrite(self, text):
        padding = " " * max(self._width - len(text), 0)  # wipe a longer previous line
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._width = len(text)

    def close(self):
        """Prints the final line: the count, the total time and the mean rate."""
        elapsed = max(self._clock() - self._start, 1e-9)
        text = (
            f"{self.prefix} {self.what}: {self._done:,}/{self.total:,} in "
            f"{_duration(elapsed)} ({_rate(self._done / elapsed)} {self.unit}/s)"
        )
        if self._on_terminal() and self._shown_at is not None:
            self._rewrite(text)
            self.stream.write("\n")
            self.stream.flush()
        else:
            print(text, file=self.stream, flush=True)


def _rate(per_second):
    """A rate with the digits that matter: ``"0.25"``, ``"3.5"``, ``"1,234"``."""
    if per_second < 1:
        return f"{per_second:.2f}"
    return f"{per_second:,.1f}" if per_second < 10 else f"{per_second:,.0f}"
