"""HistoryFrame: a live pandas DataFrame of the epoch logs, across several ``fit`` calls.

It uses NumPy and pandas only, so it runs under every Keras backend.
"""

import math
import os
import time

import keras
import numpy as np
import pandas as pd

from kerasx import _io
from kerasx.callbacks._common import check_path, current_learning_rate

__all__ = ["HistoryFrame"]


class HistoryFrame(keras.callbacks.Callback):
    """A live pandas DataFrame of the epoch logs, continued across several ``fit`` calls.

    Each row is one epoch: the logs Keras passes to ``on_epoch_end`` (the same values as
    ``history.history``, including keys that later callbacks add), plus ``epoch`` (counted across
    ``fit`` calls: a second ``fit`` continues at the next number), ``learning_rate`` (read from
    the optimizer when the logs do not carry it) and ``epoch_time`` (seconds, validation
    included). Unlike the other kerasx callbacks it keeps its rows across ``fit`` calls, which is
    its purpose; :meth:`reset` empties it.

    **Crash-safe.** With ``path`` the frame is written whole (``kerasx._io``) to that CSV after
    every epoch, and a new ``HistoryFrame`` whose ``path`` already holds a CSV starts from its
    rows. Inside a ``fit`` resumed by ``keras.callbacks.BackupAndRestore`` (a rerun of the same
    script after a crash) the first epoch Keras runs is the first one not backed up, ``k``: the
    rows read from the file with ``epoch >= k`` (epochs the crash interrupted after the frame
    was written, which Keras runs again) are dropped, so every epoch appears exactly once. A
    run that starts again at epoch 0 (its backup is gone, e.g. it had finished) starts a fresh
    frame. This assumes one ``fit`` per run, as ``BackupAndRestore`` does (its ``epoch``
    column then equals Keras's epoch).

    Args:
        path: optional CSV file to keep the frame in (and resume from).

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> frame = HistoryFrame()
    >>> X, y = np.ones((8, 2)), np.ones(8)
    >>> _ = model.fit(X, y, epochs=2, verbose=0, callbacks=[frame])
    >>> _ = model.fit(X, y, epochs=1, verbose=0, callbacks=[frame])
    >>> frame.frame["epoch"].tolist()
    [0, 1, 2]
    >>> list(frame.frame.columns)
    ['loss', 'epoch', 'learning_rate', 'epoch_time']
    """

    def __init__(self, path=None):
        super().__init__()
        self.path = None if path is None else check_path("path", path)
        self._logs = []  # the dicts Keras passes, so keys added by later callbacks show up
        self._extra = []
        self._epoch_start = None
        self._from_file = False  # rows read from `path`, not yet matched with a fit's epochs
        if self.path is not None and os.path.exists(self.path):
            self._read(self.path)

    def _read(self, path):
        for row in pd.read_csv(path).to_dict("records"):
            row = {key: value for key, value in row.items() if not _is_nan(value)}
            self._logs.append(row)
            self._extra.append({})
        self._from_file = bool(self._logs)

    def reset(self):
        """Forgets every recorded epoch."""
        self._logs, self._extra = [], []
        self._from_file = False

    def on_train_begin(self, logs=None):
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._from_file:  # the first epoch of the run's fit: keep the rows before it
            kept = [i for i, row in enumerate(self._logs) if row.get("epoch", math.inf) < epoch]
            self._logs = [self._logs[i] for i in kept]
            self._extra = [self._extra[i] for i in kept]
            self._from_file = False
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        elapsed = np.nan if self._epoch_start is None else time.perf_counter() - self._epoch_start
        extra = {"epoch": len(self._logs)}
        if "learning_rate" not in logs:
            extra["learning_rate"] = current_learning_rate(self.model)
        extra["epoch_time"] = elapsed
        self._logs.append(logs)
        self._extra.append(extra)
        if self.path is not None:
            _io.write_csv(self.path, self.frame)

    @property
    def frame(self):
        """The recorded epochs as a new ``pandas.DataFrame`` (one row per epoch)."""
        rows = [{**logs, **extra} for logs, extra in zip(self._logs, self._extra, strict=True)]
        return pd.DataFrame(rows)

    def to_csv(self, path, **kwargs):
        """Writes :attr:`frame` to ``path`` whole (``kwargs`` go to ``DataFrame.to_csv``)."""
        _io.write_csv(path, self.frame, **kwargs)

    def get_config(self):
        return {"path": self.path}


def _is_nan(value):
    return isinstance(value, float) and math.isnan(value)
