"""Callbacks that guard training: TimeLimit (a time budget) and NaNGuard (non-finite values)."""

import math
import time
import warnings

import keras

from kerasx import _compat
from kerasx._validation import check_int, check_one_of, check_positive
from kerasx.callbacks._common import check_monitor, warn_missing, warn_once
from kerasx.callbacks._direction import MODES, is_better, resolve_mode

__all__ = ["NaNGuard", "TimeLimit"]


def _all_finite(variables):
    # A sum is NaN or ±inf iff some entry is (or it overflows): one read, no boolean copy.
    sums = [keras.ops.cast(keras.ops.sum(v), "float32") for v in variables]
    return not sums or bool(keras.ops.isfinite(keras.ops.sum(keras.ops.stack(sums))))


def _finite_check(model):
    """A function of no arguments: :func:`_all_finite` of ``model.weights``.

    Under TensorFlow (without a distribution strategy) the check is one ``tf.function`` call,
    traced at its first use, instead of ~2 eager ops per variable: each op releases the GIL,
    which a busy thread (e.g. a PNG being drawn) may then hold for up to 5 ms. Elsewhere the
    weights are read through ``model`` each time (under JAX that syncs the trainer's state).
    """
    if keras.backend.backend() != "tensorflow":
        return lambda: _all_finite(model.weights)
    import tensorflow as tf

    if tf.distribute.has_strategy():
        return lambda: _all_finite(model.weights)
    variables = list(model.weights)
    check = tf.function(lambda: _all_finite_tensor(variables), autograph=False)
    return lambda: bool(check())


def _all_finite_tensor(variables):
    sums = [keras.ops.cast(keras.ops.sum(v), "float32") for v in variables]
    return keras.ops.isfinite(keras.ops.sum(keras.ops.stack(sums))) if sums else True


class TimeLimit(keras.callbacks.Callback):
    """Stops training once ``seconds`` of wall-clock time have passed since ``fit`` began.

    The clock is read after every batch, so the fit ends at the end of the first batch that
    finishes past the limit: it overruns by less than one batch (plus the epoch's validation,
    which Keras still runs). With ``restore_best_weights`` the weights of the best completed
    epoch by ``monitor`` are put back when the limit stops the fit (each improvement costs one
    copy of the weights).

    Inside a ``fit`` resumed by ``keras.callbacks.BackupAndRestore`` the budget counts from the
    resumed ``fit``'s start (the killed process's clock is gone), ``stopped_at`` and
    ``best_epoch`` carry Keras's epoch numbers (those of the whole run), and the candidates for
    ``restore_best_weights`` are the epochs run since the resume (the backup holds only the
    latest weights).

    With ``verbose=1`` (the default) it prints one line when it stops the fit, e.g.
    ``TimeLimit: stopped training at the 60 s limit, in epoch 4 (counted from 1) after its
    batch 12; 3 whole epochs done``; like Keras's ``EarlyStopping`` message, it counts epochs
    from 1. Nothing is printed when the fit ends within the limit.

    Args:
        seconds: the time budget.
        restore_best_weights: whether to restore the best epoch's weights on a timed stop.
        monitor: the logged key that defines the best epoch.
        mode: ``"min"``, ``"max"`` or ``"auto"``: the direction a compiled metric declares
            (kerasx's metrics and Keras's built-ins do), else one read from the name: ``loss``,
            errors and cross-entropies are better lower; accuracy, AUC, precision, recall,
            F-scores, kappa and correlations higher; any other name warns and takes ``"min"``.
        verbose: ``1`` prints a line when the limit stops the fit, ``0`` prints nothing.

    Attributes:
        stopped_at: ``(epoch, batch)`` where the limit stopped the fit, else ``None``.
        best_epoch: the best completed epoch (0-based, as Keras's ``EarlyStopping``) with
            ``restore_best_weights``, else ``None``.
        best: its value of ``monitor``.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> limit = TimeLimit(seconds=1e-9)
    >>> history = model.fit(np.ones((32, 2)), np.ones(32), batch_size=8, epochs=5, verbose=0,
    ...                     callbacks=[limit])
    TimeLimit: stopped training at the 1e-09 s limit, in epoch 1 (counted from 1) after its batch 1; 0 whole epochs done
    >>> limit.stopped_at, len(history.history["loss"])
    ((0, 0), 1)
    """

    def __init__(
        self, seconds, restore_best_weights=False, monitor="val_loss", mode="auto", verbose=1
    ):
        super().__init__()
        self.seconds = float(check_positive("seconds", seconds))
        self.restore_best_weights = bool(restore_best_weights)
        self.monitor = check_monitor(monitor)
        self.mode = check_one_of("mode", mode, MODES)
        self.verbose = check_one_of("verbose", verbose, (0, 1))
        self.stopped_at = None
        self.best_epoch, self.best = None, None

    def on_train_begin(self, logs=None):
        self.start_time = time.perf_counter()
        self.stopped_at = None
        self._epoch = 0
        self._epochs_done, self._cut_short = 0, False
        self.best_epoch, self.best, self._best_weights = None, None, None
        self._resolved_mode = None
        self._warned = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_at is None and time.perf_counter() - self.start_time >= self.seconds:
            self.stopped_at = (self._epoch, batch)
            self._cut_short = batch + 1 != (self.params or {}).get("steps")
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_at is None or not self._cut_short:
            self._epochs_done += 1
        if not self.restore_best_weights or self.stopped_at is not None:
            return  # a partial epoch cut by the limit is not a candidate
        logs = logs or {}
        if self.monitor not in logs:
            warn_missing(self, self.monitor, logs)
            return
        if self._resolved_mode is None:  # once per fit, when the compiled metrics are built
            self._resolved_mode = resolve_mode(
                self.monitor, self.mode, self.model, caller=type(self).__name__
            )
        value = float(logs[self.monitor])
        if is_better(value, self.best, self._resolved_mode):
            self.best_epoch, self.best = epoch, value
            self._best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.stopped_at is None:
            return
        restored = self._best_weights is not None
        if restored:
            self.model.set_weights(self._best_weights)
        if self.verbose:
            epoch, batch = self.stopped_at
            done = (
                "1 whole epoch" if self._epochs_done == 1 else f"{self._epochs_done} whole epochs"
            )
            message = (
                f"TimeLimit: stopped training at the {self.seconds:g} s limit, in epoch "
                f"{epoch + 1} (counted from 1) after its batch {batch + 1}; {done} done"
            )
            if restored:
                message += (
                    f"; restored the weights of epoch {self.best_epoch + 1}, the best by "
                    f"{self.monitor} ({self.best:.4g})"
                )
            print(message)

    def get_config(self):
        return {
            "seconds": self.seconds,
            "restore_best_weights": self.restore_best_weights,
            "monitor": self.monitor,
            "mode": self.mode,
            "verbose": self.verbose,
        }


class NaNGuard(keras.callbacks.Callback):
    """Stops training on a non-finite loss, gradient or weight; never leaves weights non-finite.

    Two methods; ``"auto"`` takes ``"skip"`` on TensorFlow without a distribution strategy and
    ``"snapshot"`` otherwise:

    - ``"skip"``: for the duration of ``fit`` the optimizer's step is wrapped in the compiled
      training function so that a batch whose gradients are not all finite (a NaN loss gives
      NaN gradients) changes nothing: no weight, no moment, not ``iterations``. The callback
      reads a flag set in the graph and the loss in the logs after each batch, and stops; the
      weights are then exactly those before the bad batch, with no copy of them ever made. The
      cost is one read of the gradients per step (a sum per gradient; ~2.6 ms, 2-3% of a step,
      for the course's 9M-parameter MLP on a busy 2-core CPU, where the step is memory-bound),
      plus a copy per batch of the non-trainable weights (e.g. batch-norm statistics, which the
      forward pass itself updates; none in a plain MLP). The optimizer and training function
      are put back at the end. Weights made infinite by a step with finite gradients (an
      overflow) are only detected, after the epoch, not undone.
    - ``"snapshot"``: before every ``snapshot_every``-th batch the weights are copied into one of
      two buffers of ``keras.Variable`` s, and on a non-finite loss (checked after each batch;
      Keras's running mean becomes NaN with the first NaN batch) or non-finite weights (checked
      after each epoch) the newest all-finite buffer is restored: with ``snapshot_every=1`` the
      weights before the bad batch, or before the one before it when that batch's gradient (not
      its loss) was non-finite. Non-finite optimizer state is set to 0. A copy of all weights per
      batch costs ~5-10% of a step for the course's 9M-parameter MLP on a 2-core CPU, which is
      why it is not the default there; a larger ``snapshot_every`` makes it cheaper and restores
      weights up to ``2 × snapshot_every`` batches old.

    Inside a ``fit`` resumed by ``keras.callbacks.BackupAndRestore`` (in any order in the
    callback list) it guards the restored weights: snapshots are taken from the first batch on,
    after the restore, and the step guard wraps the optimizer whose variables the restore only
    assigns; ``bad_batch["epoch"]`` is Keras's epoch of the whole run, and
    ``restored_step`` counts the steps of the resumed ``fit``.

    Args:
        method: ``"auto"``, ``"skip"`` or ``"snapshot"``.
        snapshot_every: for ``"snapshot"``, copy the weights before every n-th batch (>= 1).

    Attributes:
        bad_batch: ``{"epoch", "batch", "reason"}`` of the first non-finite value, or ``None``;
            ``reason`` is ``"loss"``, ``"gradient"`` or ``"weights"``.
        restored_step: the training step (counted from the start of ``fit``) whose starting
            weights the model holds after the stop, or ``None``.
        method_: the method in use.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> X = np.ones((32, 2)); X[20] = np.nan  # the third batch of 8 makes the loss NaN
    >>> guard = NaNGuard()
    >>> _ = model.fit(X, np.ones(32), batch_size=8, epochs=3, shuffle=False, verbose=0,
    ...               callbacks=[guard])
    >>> guard.bad_batch["batch"], guard.restored_step
    (2, 2)
    >>> all(np.isfinite(w).all() for w in model.get_weights())
    True
    """

    def __init__(self, method="auto", snapshot_every=1):
        super().__init__()
        self.method = check_one_of("method", method, ("auto", "skip", "snapshot"))
        self.snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1)
        self.bad_batch = None
        self.restored_step = None
        self.method_ = None
        self._buffers_for = None

    def _resolve_method(self):
        if self.method == "snapshot":
            return self.method
        if keras.backend.backend() != "tensorflow":
            if self.method == "skip":
                warn_once(self, "method='skip' needs the TensorFlow backend; using 'snapshot'.")
            return "snapshot"
        import tensorflow as tf

        return "snapshot" if tf.distribute.has_strategy() and self.method == "auto" else "skip"

    def on_train_begin(self, logs=None):
        model = self.model
        self.bad_batch, self.restored_step = None, None
        self._step, self._epoch, self._warned = 0, 0, False
        self.method_ = self._resolve_method()
        if self.method_ == "skip":
            self._install_guard(model)
            self._watched = list(model.non_trainable_weights)
        else:
            self._watched = list(model.weights)
        key = (id(model), self.method_)
        if self._buffers_for != key:  # two buffers, made once per model and method
            self._buffers = [
                [
                    keras.Variable(keras.ops.zeros(w.shape, w.dtype), trainable=False)
                    for w in self._watched
                ]
                for _ in range(2)
            ]
            self._buffers_for = key
        self._steps = [None, None]  # the step before which each buffer was filled
        self._next = 0
        self._weights_finite = _finite_check(model)

    def _install_guard(self, model):
        optimizer = model.optimizer
        if not optimizer.built:  # variables cannot be created inside the guard's cond
            optimizer.build(model.trainable_variables)
        self._skipped = keras.Variable(
            0.0, dtype="float32", trainable=False, name="nan_guard_skipped"
        )
        flag = self._skipped

        def guard(step):
            def guarded_apply(grads, trainable_variables=None):
                # One sum per gradient: NaN or ±inf iff some entry is (or the sum overflows,
                # i.e. gradients ~1e38, which the step would turn into infinite weights anyway).
                # Read-only, so cheaper than Keras's all(isfinite(g)) with its boolean copies.
                sums = [keras.ops.cast(keras.ops.sum(g), "float32") for g in grads if g is not None]
                finite = keras.ops.isfinite(keras.ops.sum(keras.ops.stack(sums)))
                flag.assign(keras.ops.where(finite, 0.0, 1.0))
                keras.ops.cond(finite, lambda: step(grads, trainable_variables), lambda: None)

            return guarded_apply

        _compat.wrap_optimizer_apply(optimizer, guard)  # removed in on_train_end
        model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self._watched and self._step % self.snapshot_every == 0:
            self.model  # noqa: B018 -- under JAX, reading `model` puts the weights back in place
            # TensorFlow's assign copies the buffer; JAX's train step donates (deletes) the
            # weights' arrays, so there the copy must be explicit.
            explicit = keras.backend.backend() != "tensorflow"
            for copy, weight in zip(self._buffers[self._next], self._watched, strict=True):
                copy.assign(keras.ops.copy(weight) if explicit else weight)
            self._steps[self._next] = self._step
            self._next = 1 - self._next

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.bad_batch is not None:
            return
        if self.method_ == "skip" and float(self._skipped):  # TensorFlow only: ~10 µs
            self._trip(batch, "gradient")
        elif not logs or "loss" not in logs:
            warn_once(self, "no 'loss' in the batch logs; only weights are checked.")
        elif not math.isfinite(logs["loss"]):
            self._trip(batch, "loss")

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_batch is None and not self._weights_finite():
            self._trip(None, "weights")

    def on_train_end(self, logs=None):
        if self.bad_batch is None and not self._weights_finite():
            self._trip(None, "weights")
        if self.method_ == "skip":
            _compat.unwrap_optimizer_apply(self.model.optimizer)
            self.model.make_train_function(force=True)

    def _trip(self, batch, reason):
        model = self.model
        model.stop_training = True
        self.bad_batch = {"epoch": self._epoch, "batch": batch, "reason": reason}
        if self.method_ == "skip" and batch is not None:
            self.restored_step = self._step - 1  # the skipped step changed no trainable weight
        newest_first = sorted(
            (i for i in range(2) if self._steps[i] is not None), key=lambda i: -self._steps[i]
        )
        if self._watched and (self.method_ == "snapshot" or not _all_finite(self._watched)):
            for index in newest_first:
                if _all_finite(self._buffers[index]):
                    for weight, copy in zip(self._watched, self._buffers[index], strict=True):
                        weight.assign(copy)
                    self.restored_step = self._steps[index]
                    break
            else:
                warnings.warn(
                    "NaNGuard: no finite snapshot of the weights to restore.", stacklevel=3
                )
        for variable in model.optimizer.variables if model.optimizer is not None else []:
            value = keras.ops.copy(variable)
            finite = keras.ops.isfinite(value)
            if not bool(keras.ops.all(finite)):
                variable.assign(keras.ops.where(finite, value, keras.ops.zeros_like(value)))

    def get_config(self):
        return {"method": self.method, "snapshot_every": self.snapshot_every}
