"""HistoryFrame: a live pandas DataFrame of the epoch logs, across several ``fit`` calls.

It uses NumPy and pandas only, so it runs under every Keras backend.
"""

import time

import keras
import numpy as np
import pandas as pd

from kerasx.callbacks._common import current_learning_rate

__all__ = ["HistoryFrame"]


class HistoryFrame(keras.callbacks.Callback):
    """A live pandas DataFrame of the epoch logs, continued across several ``fit`` calls.

    Each row is one epoch: the logs Keras passes to ``on_epoch_end`` (the same values as
    ``history.history``, including keys that later callbacks add), plus ``epoch`` (counted across
    ``fit`` calls: a second ``fit`` continues at the next number), ``learning_rate`` (read from
    the optimizer when the logs do not carry it) and ``epoch_time`` (seconds, validation
    included). Unlike the other kerasx callbacks it keeps its rows across ``fit`` calls, which is
    its purpose; :meth:`reset` empties it.

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

    def __init__(self):
        super().__init__()
        self._logs = []  # the dicts Keras passes, so keys added by later callbacks show up
        self._extra = []
        self._epoch_start = None

    def reset(self):
        """Forgets every recorded epoch."""
        self._logs, self._extra = [], []

    def on_train_begin(self, logs=None):
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
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

    @property
    def frame(self):
        """The recorded epochs as a new ``pandas.DataFrame`` (one row per epoch)."""
        rows = [{**logs, **extra} for logs, extra in zip(self._logs, self._extra, strict=True)]
        return pd.DataFrame(rows)

    def to_csv(self, path, **kwargs):
        """Writes :attr:`frame` to ``path`` (``kwargs`` go to ``DataFrame.to_csv``)."""
        self.frame.to_csv(path, index=False, **kwargs)

    def get_config(self):
        return {}
