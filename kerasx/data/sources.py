"""The three sources of malaria cell images, and what they share: labels, decoding, resizing.

- ``"tfds"``: ``tfds.load("malaria")``, probed offline first; :class:`DatasetUnavailableError`
  when TFDS cannot provide it.
- a folder in the NIH layout: ``Parasitized/`` and ``Uninfected/`` subfolders of PNG files, whose
  names carry the patient (:func:`patient_id`).
- ``"synthetic"``: the fixed population of ``synthetic.py`` (not real data).

Each source is a ``_Records``: the labels of all its examples (1 = parasitized) and a
``tf.data`` pipeline that decodes and resizes any of them to uint8.
"""

import functools
import os
import re
import socket

import numpy as np
import tensorflow as tf

from kerasx._validation import InvalidArgument, invalid_value
from kerasx.data.synthetic import (
    _SYNTHETIC_SEED,
    _SYNTHETIC_SIZE,
    _synthetic_images,
    _synthetic_labels,
)

__all__ = ["CLASS_NAMES", "DatasetUnavailableError", "describe_source", "patient_id"]

#: Class names indexed by label: ``CLASS_NAMES[1] == "parasitized"``.
CLASS_NAMES = ("uninfected", "parasitized")

_CLASS_DIRS = (("Parasitized", 1), ("Uninfected", 0))
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LAYOUT = (
    "a folder in the NIH layout: Parasitized/ and Uninfected/ subfolders of PNG images "
    "(e.g. the NIH 'cell_images' folder)"
)


class DatasetUnavailableError(RuntimeError):
    """The requested data set cannot be obtained here (e.g. TFDS without network).

    Args:
        message: what could not be had, and why.
        hint: what to do instead (the offline choices: a folder path or ``"synthetic"``),
            shown after the message.

    >>> error = DatasetUnavailableError("No network.", hint="Use a folder.")
    >>> str(error), error.hint, isinstance(error, RuntimeError)
    ('No network. Use a folder.', 'Use a folder.', True)
    """

    def __init__(self, message, *, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self):
        return self.message if self.hint is None else f"{self.message} {self.hint}"

    def __reduce__(self):
        return _rebuild_unavailable, (self.message, self.hint)


DatasetUnavailableError.__module__ = "kerasx.data"  # its public name, as before the split


def _rebuild_unavailable(message, hint):
    return DatasetUnavailableError(message, hint=hint)


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


# The NIH prefix before ``_IMG``: a slide series ``C<n>``, then for infected patients ``P<n>``
# (``C100P61ThinF``, once ``C51AP12thinF``), for the uninfected-only ones none (``C12NThinF``).
_PATIENT_NUMBER = re.compile(r"P(\d+)")
_SLIDE_SERIES = re.compile(r"C(\d+)(?!\d)")


def patient_id(filename):
    """The patient of an NIH cell image, read from its file name.

    NIH names each cell ``<prefix>_IMG_<date>_<time>_cell_<n>.png``. The prefix is a slide series
    ``C<n>`` followed, for the 150 patients with a ``P`` number, by ``P<n>``
    (``C100P61ThinF``), and for the 50 uninfected-only patients by no number (``C1_thinF``,
    ``C12NThinF``). The patient is the ``P<number>`` where the prefix has one, otherwise the
    ``C<number>``. Two prefixes can name one patient: patient 8 was imaged on two microscopes,
    ``C47P8thinOriginalOlympusCX21`` and ``C47P8thin_Original_Motic``, and both are ``"P8"``.
    A ``C`` id never equals a ``P`` id, and no slide series of an uninfected-only patient is
    one of a ``P`` patient's. On the 20,734 cells of 140 patients of the NIH set (and
    a 2,800-cell subset of the same patients): 141 prefixes, 140 patients (105 ``P``,
    35 ``C``), every name parsed.

    Args:
        filename: a file name or path.

    Returns:
        The patient, e.g. ``"P61"`` or ``"C12"`` (numbers without leading zeros).

    Raises:
        InvalidArgument: the name has no ``_IMG``, or neither a ``P<n>`` nor a leading ``C<n>``
            before it.

    >>> patient_id("cells/Parasitized/C100P61ThinF_IMG_20150918_144348_cell_138.png")
    'P61'
    >>> patient_id("C47P8thinOriginalOlympusCX21_IMG_20150717_172748_cell_158.png")
    'P8'
    >>> patient_id("C47P8thin_Original_Motic_IMG_20150714_093512_cell_169.png")
    'P8'
    >>> patient_id("C201ThinF_IMG_20150930_142848_cell_106.png")
    'C201'
    """
    name = os.path.basename(os.fspath(filename))
    prefix, marker, _ = name.partition("_IMG")
    number = _PATIENT_NUMBER.search(prefix) if marker else None
    if number:
        return f"P{int(number[1])}"
    series = _SLIDE_SERIES.match(prefix) if marker else None
    if series:
        return f"C{int(series[1])}"
    raise invalid_value(
        "filename",
        "an NIH cell image name with the patient before '_IMG': a 'P<n>', or a leading 'C<n>' "
        "for an uninfected-only patient (e.g. 'C100P61ThinF_IMG_20150918_144348_cell_138.png')",
        name,
    )


class _Records:
    """All examples of a source: labels (1 = parasitized) and how to decode any of them."""

    def __init__(self, labels, dataset_fn, files=None):
        self.labels = labels
        self.files = files  # one path per example, for a folder; None otherwise
        self._dataset_fn = dataset_fn

    def dataset(self, indices, image_size):
        """A ``tf.data.Dataset`` of ``(index, uint8 image)`` for the given indices."""
        return self._dataset_fn(np.asarray(indices, np.int64), image_size)

    def decode(self, indices, image_size, progress=None):
        """The uint8 images of ``indices``, in that order.

        ``progress``, if given, is called with the number of images decoded so far after each
        batch of 256.
        """
        out = np.empty((len(indices), image_size, image_size, 3), np.uint8)
        row_of = np.full(len(self.labels), -1, np.int64)
        row_of[indices] = np.arange(len(indices))
        done = 0
        for index, batch in self.dataset(indices, image_size).batch(256).as_numpy_iterator():
            out[row_of[index]] = batch
            done += len(index)
            if progress is not None:
                progress(done)
        return out


def _source_kind(source):
    if isinstance(source, str) and source in ("tfds", "synthetic"):
        return source
    if isinstance(source, (str, os.PathLike)):
        return "folder"
    raise invalid_value("source", f"'tfds', 'synthetic' or {_LAYOUT}", source)


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

    def wrapped(indices, image_size, progress=None):
        try:
            return decode(indices, image_size, progress)
        except tf.errors.InvalidArgumentError as err:
            for i in indices:
                try:
                    tf.io.decode_png(tf.io.read_file(files[i]), channels=3)
                except tf.errors.InvalidArgumentError as file_err:
                    raise InvalidArgument(
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
            f"TFDS could not provide the 'malaria' data set ({type(err).__name__}: {err}).",
            hint="Offline, use a folder with Parasitized/ and Uninfected/ subfolders of PNG "
            "images (e.g. the NIH cell_images folder), or 'synthetic' (a procedural stand-in, "
            "not real data): `--data DIR` or `--data synthetic` on the command line.",
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
