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

:class:`GradientNorm`'s probe mode and :class:`NaNGuard`'s in-graph step guard need TensorFlow
(imported only when used; NaNGuard falls back to weight snapshots elsewhere), and
:class:`OneCycle` cycles momentum only on TensorFlow; everything else runs under every Keras
backend.
"""

from kerasx._callbacks_guard import GradientNorm, NaNGuard, TimeLimit
from kerasx._callbacks_logging import ConfusionMatrixLogger, HistoryFrame, LearningCurves
from kerasx._callbacks_lr import LRFinder, OneCycle, one_cycle_schedule

__all__ = [
    "ConfusionMatrixLogger",
    "GradientNorm",
    "HistoryFrame",
    "LRFinder",
    "LearningCurves",
    "NaNGuard",
    "OneCycle",
    "TimeLimit",
    "one_cycle_schedule",
]
