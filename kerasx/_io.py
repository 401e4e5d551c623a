"""Whole files only: every file kerasx writes goes to a temporary name, then ``os.replace``.

A reader (or a crash) never meets half a file: the target either keeps its old content or has
the whole new one. ``os.replace`` is atomic on one file system, so the temporary file is made in
the target's own folder, with the target's suffix (Keras picks the format from it).

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
import os
import tempfile

__all__ = ["atomic_path", "write_bytes", "write_csv", "write_json", "write_text"]


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
