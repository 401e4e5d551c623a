"""Leakage audit of a train/test split: shared patients, identical images, near-duplicates.

A split leaks when the test side holds what the model saw in training: cells of a training
patient, the same image file under another name, or the same picture re-encoded or resized (as
public copies of the NIH set often are). :func:`audit_split` looks for all three across the two
sides:

- **Patients on both sides**, from the NIH file names (:func:`~kerasx.data.patient_id`); arrays
  have no names, so they get no patient check.
- **Exact duplicates**: the same file bytes (BLAKE2b of the file); for arrays, the same pixel
  values (as float32 in [0, 1], so a uint8 image equals its ``/ 255`` float copy).
- **Near-duplicates**: a perceptual hash (pHash) of each image, and every pair across the sides
  whose hashes differ in at most ``near_distance`` bits. Pairs that are exact duplicates are not
  listed again.

**The pHash** is ``imagehash.phash(image, hash_size=16)``, bit for bit (tested): the grey image
resized to 64×64 (Lanczos), its 2-D DCT-II, the 16×16 lowest frequencies, and one bit per
coefficient: above their median or not. That is :data:`PHASH_BITS` = 256 bits. The usual 64-bit
pHash (``hash_size=8``) cannot tell cells apart: every cell is a round blob on black, and in
the 2,800 shared cells, distinct cells of different patients came within 4 bits of each other,
while a JPEG re-encoding (quality 75) of a cell moved its hash by up to 4 bits.

**The threshold**, :data:`NEAR_DISTANCE` = 16 of 256 bits, was measured on the NIH cells. Each
of 700 real cells was re-encoded (JPEG quality 90 to 30, a 64×64 or 32×32 copy, half size, one
pixel smaller, grey, 10 levels brighter): the largest distance from the original was 14 (JPEG
30, and a one-pixel nearest-neighbour shrink); a JPEG at quality 75 or a bilinear one-pixel
resize moved at most 6. Between distinct files of 20,734 NIH cells (140 patients, all pairs)
the smallest distance was 26, always two different plain uninfected cells of different
patients, and no pair came within 24. Crops and flips move the hash far more (a crop of one
pixel per side by 20 bits on median): pHash does not find them.

Images are decoded once each (PIL), in threads; the near-duplicate search compares packed 64-bit
words with XOR and popcount in NumPy blocks, with no Python loop over pairs.

>>> rng = np.random.default_rng(0)
>>> train = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
>>> result = audit_split(train, np.concatenate([train[1:2], 255 - train[:1]]))
>>> bool(result), result.exact_duplicates
(False, (DuplicatePair(train=1, test=0, distance=0),))
>>> print(result.summary())  # doctest: +NORMALIZE_WHITESPACE
Split audit: 4 train and 2 test images
  patients on both sides                          not checked (arrays have no file names)
  exact duplicates (identical pixels)             1
  near-duplicates (pHash distance <= 16 of 256)   0
  verdict: LEAKY (1 exact duplicate)
exact duplicates (1):
  train row 1  =  test row 0
"""

import concurrent.futures
import dataclasses
import hashlib
import io
import os

import numpy as np
import PIL.Image
import scipy.fft

from kerasx._validation import InvalidArgument, check_int, invalid_value
from kerasx.data.sources import patient_id

__all__ = [
    "NEAR_DISTANCE",
    "PHASH_BITS",
    "DuplicatePair",
    "PatientOverlap",
    "SplitAudit",
    "audit_split",
]

#: Side of the pHash's DCT block: ``hash_size`` of ``imagehash.phash``.
_HASH_SIZE = 16
#: Bits of the pHash (16 × 16 DCT coefficients).
PHASH_BITS = _HASH_SIZE * _HASH_SIZE
#: The default ``near_distance``: at most this many of the 256 bits differ (see the module).
NEAR_DISTANCE = 16
#: The largest ``near_distance`` accepted: at 64 bits, 257,534 pairs of the 20,734 NIH cells
#: already match (all distinct cells), and every matching pair is kept in memory.
_MAX_NEAR_DISTANCE = 64
_THUMBNAIL = _HASH_SIZE * 4  # imagehash's highfreq_factor = 4
_WORDS = PHASH_BITS // 64
_IMAGES_PER_BLOCK = 1024  # decoded and hashed together; bounds the memory of the thumbnails
_PAIRS_PER_BLOCK = 1 << 22  # hash pairs compared at once (4 M × 2 bytes of distances)
_BYTE_BITS = np.array([bin(byte).count("1") for byte in range(256)], np.uint8)


@dataclasses.dataclass(frozen=True)
class PatientOverlap:
    """A patient with images on both sides of a split.

    Attributes:
        patient: the patient (:func:`~kerasx.data.patient_id`).
        train: the patient's training files, as given.
        test: the patient's test files, as given.
    """

    patient: str
    train: tuple
    test: tuple


@dataclasses.dataclass(frozen=True)
class DuplicatePair:
    """A training image and a test image that are the same picture.

    Attributes:
        train: the training image: its file (as given) or, for arrays, its row.
        test: the test image, likewise.
        distance: how many of the 256 pHash bits differ (0 for an exact duplicate).
    """

    train: str | int
    test: str | int
    distance: int


@dataclasses.dataclass(frozen=True)
class SplitAudit:
    """What :func:`audit_split` found. ``bool(audit)`` is :attr:`clean`.

    Attributes:
        n_train, n_test: images on each side.
        near_distance: the pHash threshold used (bits of :data:`PHASH_BITS`).
        shared_patients: the patients on both sides, or ``None`` when not checked (arrays).
        exact_duplicates: pairs with identical bytes (arrays: identical pixels).
        near_duplicates: other pairs within ``near_distance``, closest first.
        files_without_patient: files whose names name no patient (left out of the patient
            check).
        source: ``"files"`` or ``"arrays"``.
    """

    n_train: int
    n_test: int
    near_distance: int
    shared_patients: tuple | None
    exact_duplicates: tuple
    near_duplicates: tuple
    files_without_patient: int = 0
    source: str = "files"

    @property
    def clean(self):
        """No patient on both sides and no exact duplicate (near-duplicates are reported only:
        a threshold cannot prove they are the same cell)."""
        return not self.shared_patients and not self.exact_duplicates

    def __bool__(self):
        return self.clean

    def summary(self, max_pairs=5):
        """A short text table: the counts, the verdict, and the first ``max_pairs`` findings of
        each kind with both names."""
        check_int("max_pairs", max_pairs, minimum=0)
        exact_what = "identical bytes" if self.source == "files" else "identical pixels"
        counts = [
            ("patients on both sides", self._patient_count()),
            (f"exact duplicates ({exact_what})", str(len(self.exact_duplicates))),
            (
                f"near-duplicates (pHash distance <= {self.near_distance} of {PHASH_BITS})",
                str(len(self.near_duplicates)),
            ),
        ]
        width = max(len(label) for label, _ in counts) + 3
        lines = [
            f"Split audit: {self.n_train:,} train and {self.n_test:,} test images",
            *(f"  {label:<{width}}{value}" for label, value in counts),
            f"  verdict: {self._verdict()}",
        ]
        lines += _listing(
            "shared patients",
            self.shared_patients or (),
            max_pairs,
            lambda p: (
                f"  {p.patient}: {len(p.train)} train, {len(p.test)} test "
                f"(e.g. train {_name(p.train[0])}  test {_name(p.test[0])})"
            ),
        )
        lines += _listing(
            "exact duplicates",
            self.exact_duplicates,
            max_pairs,
            lambda pair: f"  train {_name(pair.train)}  =  test {_name(pair.test)}",
        )
        lines += _listing(
            "near-duplicates",
            self.near_duplicates,
            max_pairs,
            lambda pair: (
                f"  distance {pair.distance:>2}: train {_name(pair.train)}  ~  "
                f"test {_name(pair.test)}"
            ),
        )
        return "\n".join(lines)

    def _patient_count(self):
        if self.shared_patients is None:
            return "not checked (arrays have no file names)"
        count = str(len(self.shared_patients))
        if self.files_without_patient:
            unnamed = _plural(self.files_without_patient, "file")
            count += f" ({unnamed} without a patient name, not checked)"
        return count

    def _verdict(self):
        if self.clean:
            checked = "no shared patient, " if self.shared_patients is not None else ""
            return f"clean ({checked}no exact duplicate)"
        found = []
        if self.shared_patients:
            found.append(_plural(len(self.shared_patients), "shared patient"))
        if self.exact_duplicates:
            found.append(_plural(len(self.exact_duplicates), "exact duplicate"))
        return f"LEAKY ({', '.join(found)})"


def _plural(count, noun):
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _name(item):
    return f"row {item}" if isinstance(item, int) else os.path.basename(item)


def _listing(title, findings, max_pairs, line):
    if not findings or max_pairs == 0:
        return []
    shown = (
        f"first {max_pairs} of {len(findings):,}" if len(findings) > max_pairs else len(findings)
    )
    return [f"{title} ({shown}):", *(line(finding) for finding in findings[:max_pairs])]


def audit_split(train, test, *, near_distance=NEAR_DISTANCE):
    """Checks a train/test split for leakage: shared patients, exact and near-duplicates.

    Every image is decoded once; the near-duplicate search is vectorized (seconds for the
    27,558 NIH cells; decoding dominates). See the module for the pHash and the threshold.

    Args:
        train, test: the two sides: two lists of image files (any format PIL reads; NIH names
            give the patient check), or two arrays of images ``(N, H, W, 3)``, uint8 or float
            in [0, 1] (no patient check; findings name rows).
        near_distance: the most pHash bits (of 256) in which two images may differ to count as
            near-duplicates; the default, 16, is measured on the NIH cells (see the module).

    Returns:
        A :class:`SplitAudit`; ``bool(audit)`` is true when no patient is on both sides and no
        image is on both sides byte for byte.

    Raises:
        ValueError: sides that are not both file lists or both image arrays, an empty side, an
            array that is not ``(N, H, W, 3)`` in range, a file that is not an image (named),
            or ``near_distance`` outside 0..64.
        FileNotFoundError: a listed file is missing.
    """
    _check_near_distance(near_distance)
    source, train, test = _check_sides(train, test)
    fingerprint = _file_fingerprints if source == "files" else _array_fingerprints
    (train_digests, train_hashes), (test_digests, test_hashes) = map(fingerprint, (train, test))
    names = (train, test) if source == "files" else (range(len(train)), range(len(test)))
    exact = _exact_pairs(train_digests, test_digests)
    same = {(i, j) for i, j in exact}
    near = [
        (i, j, d)
        for i, j, d in _near_pairs(train_hashes, test_hashes, near_distance)
        if (i, j) not in same
    ]
    shared, unnamed = _shared_patients(train, test) if source == "files" else (None, 0)
    return SplitAudit(
        n_train=len(train),
        n_test=len(test),
        near_distance=near_distance,
        shared_patients=shared,
        exact_duplicates=tuple(DuplicatePair(names[0][i], names[1][j], 0) for i, j in exact),
        near_duplicates=tuple(DuplicatePair(names[0][i], names[1][j], d) for i, j, d in near),
        files_without_patient=unnamed,
        source=source,
    )


def _check_near_distance(near_distance):
    """Returns ``near_distance`` if it is an integer in [0, 64], else raises."""
    check_int("near_distance", near_distance, minimum=0)
    if near_distance > _MAX_NEAR_DISTANCE:
        raise invalid_value(
            "near_distance",
            f"an integer in [0, {_MAX_NEAR_DISTANCE}] (bits of the {PHASH_BITS}-bit pHash; "
            "distinct NIH cells start at 26)",
            near_distance,
        )
    return near_distance


def _check_sides(train, test):
    """``(source, train, test)``: ``"files"`` with two lists of paths, or ``"arrays"``."""
    kinds = [_side_kind(name, side) for name, side in (("train", train), ("test", test))]
    if kinds[0] != kinds[1]:
        raise invalid_value(
            "test",
            f"the same kind of input as train ({kinds[0]})",
            f"{kinds[1]}",
            describe=str,
        )
    if kinds[0] == "arrays":
        return "arrays", _check_images("train", train), _check_images("test", test)
    return "files", [os.fspath(f) for f in train], [os.fspath(f) for f in test]


_EXPECTED_SIDE = "a non-empty list of image files or an array of images (N, H, W, 3)"


def _side_kind(name, side):
    if isinstance(side, np.ndarray):
        return "arrays"
    if isinstance(side, (str, bytes, os.PathLike)) or not hasattr(side, "__len__"):
        raise invalid_value(name, _EXPECTED_SIDE, side, describe=_describe)
    if len(side) == 0 or not all(isinstance(f, (str, os.PathLike)) for f in side):
        raise invalid_value(name, _EXPECTED_SIDE, side, describe=_describe)
    return "files"


def _describe(value):
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)} items" + (
            f", first {value[0]!r}" if value else ""
        )
    return repr(value)


def _check_images(name, images):
    def shape(array):
        return f"array of shape {array.shape} and dtype {array.dtype}"

    ok = images.ndim == 4 and images.shape[-1] == 3 and len(images) > 0
    ok = ok and (images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating))
    if not ok:
        hint = None
        if images.ndim == 2:
            hint = "load_malaria returns flat rows: pass X.reshape(-1, image_size, image_size, 3)."
        raise invalid_value(
            name, _EXPECTED_SIDE + ", uint8 or float", images, describe=shape, hint=hint
        )
    if images.dtype != np.uint8 and not (
        np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
    ):
        raise invalid_value(name, "float pixel values in [0, 1]", images, describe=shape)
    return images


def _file_fingerprints(files):
    """The digests (BLAKE2b of the bytes) and pHashes ``(n, 4)`` uint64 of image files."""
    workers = min(8, os.cpu_count() or 1)
    digests, hashes = [], []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # PIL decodes without the GIL
        for start in range(0, len(files), _IMAGES_PER_BLOCK):
            block = list(pool.map(_read_file, files[start : start + _IMAGES_PER_BLOCK]))
            digests += [digest for digest, _ in block]
            hashes.append(_phash(np.stack([thumbnail for _, thumbnail in block])))
    return digests, np.concatenate(hashes)


def _read_file(path):
    """The digest of a file's bytes and its pHash thumbnail; the file is read once."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            thumbnail = _thumbnail(image)
    except PIL.UnidentifiedImageError:  # its message names the BytesIO object, not the file
        reason = "not an image format that PIL reads"
    except (OSError, SyntaxError, ValueError) as error:  # a truncated or broken image
        reason = str(error)
    else:
        return hashlib.blake2b(data, digest_size=16).digest(), thumbnail
    raise InvalidArgument(
        f"Cannot decode {path!r} as an image ({reason}). Remove or replace the file."
    )


def _array_fingerprints(images):
    """The digests (of the pixels as float32 in [0, 1]) and pHashes of an image array."""
    digests, hashes = [], []
    for start in range(0, len(images), _IMAGES_PER_BLOCK):
        block = images[start : start + _IMAGES_PER_BLOCK]
        if block.dtype == np.uint8:
            pixels, as_uint8 = np.divide(block, 255, dtype=np.float32), block
        else:
            pixels = block.astype(np.float32)
            as_uint8 = np.rint(block * 255.0).astype(np.uint8)
        header = str(block.shape[1:]).encode()
        digests += [
            hashlib.blake2b(header + row.tobytes(), digest_size=16).digest() for row in pixels
        ]
        thumbnails = [_thumbnail(PIL.Image.fromarray(row)) for row in as_uint8]
        hashes.append(_phash(np.stack(thumbnails)))
    return digests, np.concatenate(hashes)


def _thumbnail(image):
    """The grey 64×64 Lanczos thumbnail that ``imagehash.phash(hash_size=16)`` starts from."""
    grey = image.convert("L").resize((_THUMBNAIL, _THUMBNAIL), PIL.Image.Resampling.LANCZOS)
    return np.asarray(grey)


def _phash(thumbnails):
    """The pHashes of ``(n, 64, 64)`` grey thumbnails, packed as ``(n, 4)`` uint64.

    As ``imagehash.phash``: a 2-D DCT-II (unnormalized) in float64, the 16×16 lowest
    frequencies, bit = coefficient above their median. Row-major bits, the first bit the
    highest of the first word.
    """
    dct = scipy.fft.dct(scipy.fft.dct(thumbnails.astype(np.float64), axis=1), axis=2)
    low = dct[:, :_HASH_SIZE, :_HASH_SIZE].reshape(len(thumbnails), PHASH_BITS)
    bits = low > np.median(low, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


def _popcount(words):
    """Set bits of each uint64 (NumPy >= 2's ``bitwise_count``, else a byte table)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    return _BYTE_BITS[words.view(np.uint8)].reshape(*words.shape, 8).sum(-1, dtype=np.uint8)


def _near_pairs(train_hashes, test_hashes, max_distance):
    """Every ``(i, j, distance)`` with ``distance(train[i], test[j]) <= max_distance``, closest
    first (then by ``i``, ``j``): blocks of test rows against all training rows at once."""
    rows = max(1, _PAIRS_PER_BLOCK // len(train_hashes))
    found = []
    for start in range(0, len(test_hashes), rows):
        block = test_hashes[start : start + rows]
        distance = np.zeros((len(block), len(train_hashes)), np.uint16)
        for word in range(_WORDS):
            distance += _popcount(block[:, word, None] ^ train_hashes[None, :, word])
        j, i = np.nonzero(distance <= max_distance)
        found.append(np.stack([i, j + start, distance[j, i]], axis=1))
    pairs = np.concatenate(found)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0], pairs[:, 2]))]
    return [tuple(int(v) for v in pair) for pair in pairs]


def _exact_pairs(train_digests, test_digests):
    """Every ``(i, j)`` with identical digests, in order of ``i`` then ``j``."""
    rows_of = {}
    for i, digest in enumerate(train_digests):
        rows_of.setdefault(digest, []).append(i)
    pairs = [(i, j) for j, digest in enumerate(test_digests) for i in rows_of.get(digest, ())]
    return sorted(pairs)


def _shared_patients(train, test):
    """The :class:`PatientOverlap` of every patient on both sides, and how many files name no
    patient."""
    sides, unnamed = ({}, {}), 0
    for files, patients in zip((train, test), sides, strict=True):
        for file in files:
            try:
                patient = patient_id(file)
            except ValueError:  # not an NIH name: no patient to compare
                unnamed += 1
                continue
            patients.setdefault(patient, []).append(file)
    shared = sorted(set(sides[0]) & set(sides[1]))
    overlaps = tuple(PatientOverlap(p, tuple(sides[0][p]), tuple(sides[1][p])) for p in shared)
    return overlaps, unnamed
