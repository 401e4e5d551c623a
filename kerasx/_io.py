"""What kerasx reads from and writes to its surroundings: whole files, progress lines, memory.

Whole files only: every file kerasx writes goes to a temporary name, then ``os.replace``. A
reader (or a crash) never meets half a file: the target either keeps its old content or has the
whole new one. ``os.replace`` is atomic on one file system, so the temporary file is made in the
target's own folder, with the target's suffix (Keras picks the format from it). Every writer
takes ``(path, data)``; a reader of a file that may not exist yet returns ``default``.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> write_text(os.path.join(folder, "a.json"), '{"ok": true}')
>>> open(os.path.join(folder, "a.json")).read()
'{"ok": true}'
>>> with atomic_path(os.path.join(folder, "b.txt")) as tmp:
...     with open(tmp, "w") as f:
...         _ = f.write("whole")
>>> sorted(os.listdir(folder))
['a.json', 'b.txt']
"""

import contextlib
import json
import math
import os
import tempfile

try:  # Unix only: on Windows ``peak_rss_mb`` reports NaN.
    import resource
except ImportError:
    resource = None

__all__ = [
    "atomic_path",
    "peak_rss_mb",
    "progress",
    "read_csv",
    "read_json",
    "save_model",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside ``path``; on success it replaces ``path`` whole.

    Use it around any library call that writes to a path (``model.save``, ``fig.savefig``,
    ``DataFrame.to_csv``). On an exception the temporary file is removed and ``path`` is left as
    it was.

    Args:
        path: the file to write.

    Yields:
        A path in the same folder, with the same suffix, that does not exist yet.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    suffix = "".join(os.path.splitext(name)[1:]) or ""
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=f".tmp{suffix}")
    os.close(handle)
    os.remove(temporary)  # libraries that refuse to overwrite get a fresh name
    try:
        yield temporary
        if not os.path.exists(temporary):
            raise FileNotFoundError(f"Nothing was written to the temporary file for {path!r}.")
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would differ from a plain open()
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_bytes(path, data):
    """Writes ``data`` (bytes) to ``path`` whole."""
    with atomic_path(path) as temporary, open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text(path, text):
    """Writes ``text`` (UTF-8) to ``path`` whole."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, data, **kwargs):
    """Writes ``data`` as indented JSON to ``path`` whole."""
    write_text(path, json.dumps(data, indent=2, **kwargs) + "\n")


def write_csv(path, table, **kwargs):
    """Writes a ``pandas.DataFrame`` to ``path`` whole, without its index (``kwargs`` go to
    ``DataFrame.to_csv``)."""
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, **kwargs)


def save_model(path, model):
    """Saves a Keras ``model`` to ``path`` whole (the format follows the suffix)."""
    with atomic_path(path) as temporary:
        model.save(temporary)


def read_json(path, *, default=None):
    """The JSON value in ``path``, or ``default`` when there is no such file."""
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def read_csv(path, *, default=None, **kwargs):
    """The ``pandas.DataFrame`` in ``path`` (``kwargs`` go to ``pandas.read_csv``), or
    ``default`` when there is no such file."""
    if not os.path.exists(path):
        return default
    import pandas as pd  # here: most callers of this module never read a table

    return pd.read_csv(path, **kwargs)


def progress(command, message, *, enabled=True):
    """Prints ``[kerasx COMMAND] MESSAGE``, flushed at once, when ``enabled``.

    >>> progress("tune", "trial 000 COMPLETED")
    [kerasx tune] trial 000 COMPLETED
    """
    if enabled:
        print(f"[kerasx {command}] {message}", flush=True)


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB; NaN where ``resource`` is missing.

    >>> peak_rss_mb() > 0
    True
    """
    if resource is None:
        return math.nan
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
