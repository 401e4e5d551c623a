"""Callbacks that draw training to PNG files: LearningCurves and ConfusionMatrixLogger.

Both use ``keras.ops`` and NumPy only, so they run under every Keras backend; the PNGs are drawn
headless on one background thread, so training does not wait for them.
"""

import json
import os
import textwrap
import time

import keras
import numpy as np
from matplotlib.ticker import MaxNLocator

from kerasx import _io
from kerasx._validation import (
    check_in_range,
    check_int,
    check_one_of,
    check_positive,
    invalid_value,
)
from kerasx.callbacks import _render as render
from kerasx.callbacks._common import check_monitor, check_path, warn_missing
from kerasx.callbacks._direction import MODES, best_index, resolve_mode

__all__ = ["ConfusionMatrixLogger", "LearningCurves"]


def curves_state_path(path):
    """Where LearningCurves keeps the numbers it draws to ``path``: ``path + ".json"``."""
    return f"{path}.json"


def read_curves(path):
    """``(epochs, series)`` kept beside the LearningCurves PNG ``path``, or ``None``.

    ``epochs`` are 1-based; ``series`` maps each logged key to one value per epoch (NaN where
    the key was not logged).
    """
    state = curves_state_path(os.fspath(path))
    if not os.path.exists(state):
        return None
    with open(state, encoding="utf-8") as file:
        data = json.load(file)
    return data["epochs"], data["series"]


def grid_shape(n_panels, max_columns):
    """``(rows, columns)`` of the panel grid: at most ``max_columns`` panels a row.

    >>> grid_shape(7, 3), grid_shape(2, 3)
    ((3, 3), (1, 2))
    """
    columns = min(n_panels, max_columns)
    return -(-n_panels // columns), columns


def best_epoch_title(best):
    """The figure's title for ``best = (epoch, monitor, value)``, ``epoch`` counted from 1.

    >>> best_epoch_title((7, "val_loss", 0.123456))
    'best epoch 7 (epochs counted from 1, as Keras prints them): val_loss = 0.1235'
    """
    epoch, monitor, value = best
    return (
        f"best epoch {epoch} (epochs counted from 1, as Keras prints them): {monitor} = {value:.4g}"
    )


def _draw_curves(figure, epochs, series, panels, best, max_columns):
    rows, columns = grid_shape(len(panels), max_columns)
    axes = figure.subplots(rows, columns, squeeze=False).reshape(-1)
    for ax, name in zip(axes, panels, strict=False):
        for key, label in ((name, "train"), ("val_" + name, "validation")):
            if key in series:
                ax.plot(epochs, series[key], marker=".", label=label)
        if best is not None:
            ax.axvline(best[0], color="grey", linestyle="--", linewidth=1)
        ax.set_title(name)
        ax.set_xlabel("epoch (from 1)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    if best is not None:
        # ~12 characters of the medium font per inch: a narrow figure gets the title in lines.
        width = int(12 * figure.get_figwidth())
        figure.suptitle(textwrap.fill(best_epoch_title(best), width), fontsize="medium")
    figure.tight_layout()


def metric_panels(keys):
    """The panel names for logged keys: each metric once, ``val_x`` drawn next to ``x``."""
    panels = []
    for key in keys:
        name = key.removeprefix("val_")
        if name not in panels:
            panels.append(name)
    return panels


class LearningCurves(keras.callbacks.Callback):
    """Draws every logged metric, train next to validation, to a PNG file after each epoch.

    One panel per metric (``loss``, ``accuracy``, ... with ``val_loss`` etc. in the same panel),
    each ``panel_size`` inches, at most ``max_columns`` in a row (7 metrics with the default 3:
    a 3 × 3 grid, 960 × 720 pixels at the default size and dpi); a dashed line marks the best
    epoch by ``monitor``, and the title names it. Epochs are counted from 1 on the plot and in
    :meth:`best_epoch`, as Keras prints them (``Epoch 7/20``), while ``history.history`` lists
    and Keras's callbacks (``EarlyStopping``, ``on_epoch_end(epoch)``) count from 0: the plot's
    epoch 7 is ``history.history["val_loss"][6]``.
    The figure is drawn headless (matplotlib's Agg canvas, no ``pyplot``) on a background thread
    so training does not wait for it; the file is complete when ``fit`` returns, and it is
    always written whole (a reader or a crash meets the previous PNG or the new one).

    **Cost.** Drawing takes ~0.06-0.15 s of CPU a figure, which on a 2-core machine competes
    with training (6-12 % of an epoch of the malaria MLP when drawn every epoch, measured by
    ``benchmarks/bench_command.py`` on the Intel and AMD 2-core machines). So an epoch's redraw
    is skipped while the CPU time spent drawing this file in this ``fit`` exceeds
    ``render_budget`` times the training time so far, or while the previous drawing is still
    under way: the first epoch is drawn, then redraws come as the training time allows, and the
    last epoch is always drawn (at ``on_train_end``).

    **Crash-safe.** The numbers drawn are written whole, synchronously, to ``path + ".json"``
    after every epoch, a few bytes per metric: ``{"epochs": [1, 2, ...], "series": {key:
    [one value per epoch, NaN where the key was not logged]}}``. The PNG is drawn later on the
    background thread, so a crash can cut it off before the last epochs. When a ``fit``
    starts at epoch ``k > 0`` (``keras.callbacks.BackupAndRestore`` restored it after a crash, or
    ``initial_epoch=k``), the curves of epochs ``1..k`` are read back from that file and the new
    epochs are drawn after them: each epoch appears once. A ``fit`` that starts at epoch 0
    starts new curves.

    Args:
        path: the PNG file to (re)write.
        monitor: the logged key that defines the best epoch; a missing key is warned about once.
        mode: ``"min"``, ``"max"``, or ``"auto"``: the direction a compiled metric declares
            (kerasx's metrics and Keras's built-ins do), else one read from the name: ``loss``,
            errors and cross-entropies are better lower; accuracy, AUC, precision, recall,
            F-scores, kappa and correlations higher; any other name warns and takes ``"min"``.
        panel_size: ``(width, height)`` of each panel in inches.
        max_columns: the most panels in one row; more metrics wrap to further rows.
        dpi: resolution of the PNG.
        render_budget: the largest share of the training time spent drawing, in ``(0, 1]``,
            or ``None`` to redraw after every epoch.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> curves = LearningCurves(path, monitor="loss")
    >>> _ = model.fit(np.ones((8, 2)), np.ones(8), epochs=2, verbose=0, callbacks=[curves])
    >>> curves.panels, os.path.exists(path)
    (['loss', 'mae'], True)
    """

    def __init__(
        self,
        path,
        monitor="val_loss",
        mode="auto",
        panel_size=(4.0, 3.0),
        dpi=80,
        render_budget=0.02,
        max_columns=3,
    ):
        super().__init__()
        self.path = check_path("path", path)
        self.monitor = check_monitor(monitor)
        self.mode = check_one_of("mode", mode, MODES)
        if not (isinstance(panel_size, (tuple, list)) and len(panel_size) == 2):
            raise invalid_value("panel_size", "a (width, height) pair of floats > 0", panel_size)
        for size in panel_size:
            check_positive("panel_size", size)
        self.panel_size = tuple(float(size) for size in panel_size)
        self.dpi = check_int("dpi", dpi, minimum=1)
        self.max_columns = check_int("max_columns", max_columns, minimum=1)
        if render_budget is not None:
            render_budget = float(
                check_in_range("render_budget", render_budget, 0, 1, low_open=True)
            )
        self.render_budget = render_budget
        self.panels = []
        self._epochs, self._series = [], {}
        self._resolved_mode = None

    def on_train_begin(self, logs=None):
        self.panels, self._epochs, self._series = [], [], {}
        self._warned = False
        self._resolved_mode = None
        self._first_epoch = True
        self._pending = None  # the latest epoch's drawing, when it was not submitted
        self._start = time.perf_counter()
        self._spent_before = render.spent(self.path)

    def _within_budget(self):
        if self.render_budget is None:
            return True
        if render.busy(self.path):  # the last drawing is not done (nor counted) yet: skip
            return False
        spent = render.spent(self.path) - self._spent_before
        return spent <= self.render_budget * (time.perf_counter() - self._start)

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first_epoch:
            return
        self._first_epoch = False
        if epoch == 0:
            return
        stored = read_curves(self.path)
        if stored is None:
            return
        epochs, series = stored
        keep = sum(1 for e in epochs if e <= epoch)  # 1-based epochs 1..k were finished
        self._epochs = list(epochs[:keep])
        self._series = {key: [float(v) for v in values[:keep]] for key, values in series.items()}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._epochs.append(epoch + 1)
        for key, value in logs.items():
            if np.ndim(value) != 0:  # e.g. a ConfusionMatrix metric's matrix: no curve
                continue
            values = self._series.setdefault(key, [np.nan] * (len(self._epochs) - 1))
            values.append(float(value))
        for values in self._series.values():
            values.extend([np.nan] * (len(self._epochs) - len(values)))
        self.panels = metric_panels(self._series)
        if self.monitor not in logs:
            warn_missing(self, self.monitor, logs)
        if not self.panels:
            return
        series = {key: list(values) for key, values in self._series.items()}
        rows, columns = grid_shape(len(self.panels), self.max_columns)
        figsize = (self.panel_size[0] * columns, self.panel_size[1] * rows)
        _io.write_json(curves_state_path(self.path), {"epochs": self._epochs, "series": series})
        self._pending = (
            self.path,
            _draw_curves,
            (list(self._epochs), series, list(self.panels), self.best_epoch(), self.max_columns),
            figsize,
            self.dpi,
        )
        if self._within_budget():
            render.submit(*self._pending)
            self._pending = None

    def best_epoch(self):
        """``(epoch, monitor, value)`` of the best epoch so far, or ``None``.

        ``epoch`` is counted from 1, as Keras prints epochs and as the plot shows them:
        ``history.history[monitor][epoch - 1]`` is ``value``.
        """
        values = self._series.get(self.monitor, [])
        if np.all(np.isnan(values)):  # none yet (np.all of an empty list is True)
            return None
        if self._resolved_mode is None:  # once per fit, when the compiled metrics are built
            self._resolved_mode = resolve_mode(
                self.monitor, self.mode, self.model, caller=type(self).__name__
            )
        index = best_index(values, self._resolved_mode)
        return self._epochs[index], self.monitor, float(values[index])

    def on_train_end(self, logs=None):
        if self._pending is not None:  # the last epoch is always drawn
            render.submit(*self._pending)
            self._pending = None
        render.flush()

    def get_config(self):
        return {
            "path": self.path,
            "monitor": self.monitor,
            "mode": self.mode,
            "panel_size": self.panel_size,
            "dpi": self.dpi,
            "render_budget": self.render_budget,
            "max_columns": self.max_columns,
        }


def confusion_matrix(y_true, y_pred, num_classes):
    """The ``num_classes × num_classes`` count matrix, rows = true class, columns = predicted."""
    index = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    counts = np.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _labels(y_true, scores, threshold):
    """Integer true and predicted labels, and the number of classes."""
    scores = np.asarray(scores)
    y_true = np.asarray(y_true)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        predicted = (scores.reshape(-1) > threshold).astype(np.int64)
        return y_true.reshape(-1).astype(np.int64), predicted, 2
    num_classes = scores.shape[-1]
    if y_true.ndim > 1 and y_true.shape[-1] == num_classes:
        y_true = y_true.argmax(axis=-1)
    return y_true.reshape(-1).astype(np.int64), scores.argmax(axis=-1), num_classes


def _draw_matrix(figure, matrix, class_names, title):
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=class_names)
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > threshold else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=color)
    figure.tight_layout()


class ConfusionMatrixLogger(keras.callbacks.Callback):
    """Computes the confusion matrix on validation data after each epoch; logs and draws it.

    For one output (sigmoid) the prediction is ``score > threshold`` and the counts are added to
    the epoch logs as ``{prefix}tp``, ``{prefix}fp``, ``{prefix}tn``, ``{prefix}fn`` (so they
    appear in ``history.history`` and in a :class:`HistoryFrame`); for ``C`` outputs (softmax)
    the prediction is the arg max and the ``C × C`` matrix is kept. Every matrix (rows = true
    class, columns = predicted, like ``sklearn.metrics.confusion_matrix``) is in
    ``matrices``. With ``path`` the latest matrix is drawn to a PNG each epoch.

    Cost: one inference pass over ``validation_data`` per epoch (Keras's own validation pass is
    not reachable from a callback). To avoid it, compile a
    :class:`kerasx.metrics.ConfusionMatrix` metric, fit with ``validation_data`` and pass
    ``from_logs="val_confusion_matrix"``: the matrix Keras's validation pass already computed
    is then read from the epoch logs, at no cost (the metric's own ``threshold`` applies, and
    weighted counts stay floats).

    Args:
        validation_data: ``(x, y)`` arrays, or an iterable of ``(x, y)`` or ``(x, y, w)``
            batches such as a ``tf.data.Dataset`` (iterated once per epoch); ``None`` (and only
            then) with ``from_logs``.
        path: optional PNG file for the latest matrix.
        threshold: the cut-off for one-output models.
        class_names: optional labels for the PNG axes.
        batch_size: the batch size for array inputs.
        prefix: prefix of the logged keys.
        from_logs: ``None``, or the key of the epoch logs that holds the matrix (e.g.
            ``"val_confusion_matrix"``); a missing key, or one that holds no square matrix, warns
            once and that epoch is skipped.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="sgd", loss="binary_crossentropy")
    >>> X, y = np.ones((8, 2)), np.array([0, 1] * 4)
    >>> logger = ConfusionMatrixLogger((X, y))
    >>> history = model.fit(X, y, epochs=1, verbose=0, callbacks=[logger])
    >>> int(logger.matrices[-1].sum()), sorted(k for k in history.history if k != "loss")
    (8, ['val_fn', 'val_fp', 'val_tn', 'val_tp'])
    """

    def __init__(
        self,
        validation_data=None,
        path=None,
        threshold=0.5,
        class_names=None,
        batch_size=256,
        prefix="val_",
        from_logs=None,
    ):
        super().__init__()
        if from_logs is not None:
            if not isinstance(from_logs, str) or not from_logs:
                raise invalid_value("from_logs", "a non-empty str or None", from_logs)
            if validation_data is not None:
                raise invalid_value(
                    "validation_data", "None when from_logs is given", validation_data
                )
        else:
            is_pair = isinstance(validation_data, (tuple, list)) and len(validation_data) == 2
            if not is_pair and not hasattr(validation_data, "__iter__"):
                raise invalid_value(
                    "validation_data", "an (x, y) pair or an iterable of batches", validation_data
                )
        self.from_logs = from_logs
        self.validation_data = validation_data
        self.path = None if path is None else check_path("path", path)
        self.threshold = float(check_in_range("threshold", threshold, 0, 1))
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        if not isinstance(prefix, str):
            raise invalid_value("prefix", "a str", prefix)
        self.prefix = prefix
        self.matrices = []

    def on_train_begin(self, logs=None):
        self.matrices = []
        self._warned = False

    def _batches(self):
        data = self.validation_data
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
            for start in range(0, len(y), self.batch_size):
                yield x[start : start + self.batch_size], y[start : start + self.batch_size]
        else:
            for batch in data:
                yield batch[0], batch[1]

    def compute(self):
        """The confusion matrix of the model on ``validation_data`` now."""
        truths, scores = [], []
        for x, y in self._batches():
            scores.append(np.asarray(self.model.predict_on_batch(x)))
            truths.append(keras.ops.convert_to_numpy(y))
        y_true, y_pred, num_classes = _labels(
            np.concatenate(truths), np.concatenate(scores), self.threshold
        )
        return confusion_matrix(y_true, y_pred, num_classes)

    def _logged_matrix(self, logs):
        """The square matrix under ``from_logs`` in ``logs`` (ints when whole), else ``None``."""
        value = (logs or {}).get(self.from_logs)
        matrix = None if value is None else np.asarray(keras.ops.convert_to_numpy(value))
        if matrix is None or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            warn_missing(self, self.from_logs, logs or {})
            return None
        if np.array_equal(matrix, np.round(matrix)):
            matrix = matrix.astype(np.int64)
        return matrix

    def on_epoch_end(self, epoch, logs=None):
        if self.from_logs is None:
            matrix = self.compute()
        else:
            matrix = self._logged_matrix(logs)
            if matrix is None:
                return
        self.matrices.append(matrix)
        if logs is not None and matrix.shape == (2, 2):
            (tn, fp), (fn, tp) = matrix.tolist()
            for key, value in (("tp", tp), ("fp", fp), ("tn", tn), ("fn", fn)):
                logs[self.prefix + key] = value
        if self.path is not None:
            names = self.class_names or [str(i) for i in range(matrix.shape[0])]
            size = 1.2 + 0.6 * matrix.shape[0]
            render.submit(
                self.path,
                _draw_matrix,
                (matrix, names, f"epoch {epoch + 1}"),
                (size + 1.5, size),
                80,
            )

    def on_train_end(self, logs=None):
        render.flush()

    def get_config(self):
        return {
            "path": self.path,
            "threshold": self.threshold,
            "class_names": self.class_names,
            "batch_size": self.batch_size,
            "prefix": self.prefix,
            "from_logs": self.from_logs,
        }
