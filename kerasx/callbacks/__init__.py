"""Callbacks that plug into any ``model.fit``: records, plots, learning-rate tools and guards.

Add them to ``callbacks=[...]`` in existing code. Each resets its state in ``on_train_begin`` (so
one instance serves several ``fit`` calls; :class:`HistoryFrame` deliberately keeps counting
epochs), works with NumPy arrays and ``tf.data``, warns instead of failing on a missing monitored
key, and checks its arguments with the standard message. Plots are drawn headless.

- :class:`HistoryFrame`: a live pandas DataFrame of the epoch logs.
- :class:`LearningCurves`: a PNG of every logged metric, train next to validation.
- :class:`ConfusionMatrixLogger`: TP/FP/TN/FN (or the C×C matrix) on validation data, and a PNG.
- :class:`LRFinder`: the learning-rate range test; restores the model afterwards.
- :class:`OneCycle`: the one-cycle learning-rate and momentum schedule.
- :class:`TimeLimit`: stops training after a wall-clock budget.
- :class:`NaNGuard`: stops on a non-finite loss, gradient or weight; weights stay finite.
- :class:`GradientNorm`: logs the global gradient norm.
- :class:`BackupAndResume`, :class:`ResumableEarlyStopping`, :func:`epoch_batches`: crash-safe
  training that running the same code again resumes, ending on the weights of an
  uninterrupted run (``backup.py``).

One file per family: ``history.py``, ``plots.py`` (with the headless renderer ``_render.py``),
``lr.py``, ``guards.py``, ``diagnostics.py`` and ``backup.py``. Callbacks with a best epoch
(:class:`LearningCurves`, :class:`TimeLimit`) decide which way is better in one place,
``_direction.py``: an explicit ``mode`` wins; with ``mode="auto"`` the monitored key is looked up
among the model's compiled metrics (a kerasx metric's ``direction``, else Keras's own hint),
then among kerasx's metric names, then guessed from the name, with a warning when it cannot be.

:class:`GradientNorm`'s probe mode and :class:`NaNGuard`'s in-graph step guard need TensorFlow
(imported only when used; NaNGuard falls back to weight snapshots elsewhere), and
:class:`OneCycle` cycles momentum only on TensorFlow; everything else runs under every Keras
backend.

>>> from kerasx.callbacks import HistoryFrame, TimeLimit
>>> TimeLimit(seconds=60, monitor="val_matthews_correlation").mode
'auto'
"""

from kerasx.callbacks.backup import (
    BackupAndResume,
    ResumableEarlyStopping,
    epoch_batches,
    epoch_order,
    read_backup_state,
)
from kerasx.callbacks.diagnostics import GradientNorm
from kerasx.callbacks.guards import NaNGuard, TimeLimit
from kerasx.callbacks.history import HistoryFrame
from kerasx.callbacks.lr import LRFinder, OneCycle, one_cycle_schedule
from kerasx.callbacks.plots import ConfusionMatrixLogger, LearningCurves

__all__ = [
    "BackupAndResume",
    "ConfusionMatrixLogger",
    "GradientNorm",
    "HistoryFrame",
    "LRFinder",
    "LearningCurves",
    "NaNGuard",
    "OneCycle",
    "ResumableEarlyStopping",
    "TimeLimit",
    "epoch_batches",
    "epoch_order",
    "one_cycle_schedule",
    "read_backup_state",
]
