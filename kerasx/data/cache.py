"""The on-disk cache of decoded images: ``.npy`` files in one folder per load, written whole.

The folder's name is a hash of everything the arrays depend on: the source (for a folder, its
files' names, sizes and modification times), ``image_size`` and the split's plan. A changed
folder or argument gives a new name, so a stale cache is never read.
"""

import hashlib
import json
import os
import shutil

import numpy as np

from kerasx.data.sources import _list_folder
from kerasx.data.synthetic import _SYNTHETIC_SEED, _SYNTHETIC_SIZE

__all__ = []

_CACHE_VERSION = 2
_CACHE_NAMES = ("X_train", "y_train", "X_test", "y_test")


def _cache_path(cache_dir, source, plan, *, data_dir, image_size):
    """The cache folder of ``source`` loaded with ``plan`` at ``image_size``, in ``cache_dir``."""
    if plan.kind == "folder":
        origin = _fingerprint(os.fspath(source), _list_folder(os.fspath(source))[0])
    elif plan.kind == "tfds":
        origin = os.path.abspath(data_dir) if data_dir is not None else None
    else:
        origin = [_SYNTHETIC_SEED, _SYNTHETIC_SIZE]
    fields = [_CACHE_VERSION, plan.kind, origin, image_size]
    fields += [plan.fraction, plan.seed, plan.test_size, plan.split]
    key = hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:20]
    return os.path.join(os.fspath(cache_dir), f"malaria-{plan.kind}-{key}")


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
