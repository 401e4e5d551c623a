"""Callbacks that watch training: TimeLimit, NaNGuard, GradientNorm."""

import math
import time
import warnings

import keras
import numpy as np

from kerasx._callbacks_logging import resolve_mode, to_float
from kerasx._validation import check_int, check_one_of, check_positive, invalid_value

__all__ = ["GradientNorm", "NaNGuard", "TimeLimit"]


def _warn_once(callback, message):
    if not getattr(callback, "_warned", False):
        callback._warned = True
        warnings.warn(f"{type(callback).__name__}: {message}", stacklevel=3)


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

    Args:
        seconds: the time budget.
        restore_best_weights: whether to restore the best epoch's weights on a timed stop.
        monitor: the logged key that defines the best epoch.
        mode: ``"min"``, ``"max"`` or ``"auto"``.

    Attributes:
        stopped_at: ``(epoch, batch)`` where the limit stopped the fit, else ``None``.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> limit = TimeLimit(seconds=1e-9)
    >>> history = model.fit(np.ones((32, 2)), np.ones(32), batch_size=8, epochs=5, verbose=0,
    ...                     callbacks=[limit])
    >>> limit.stopped_at, len(history.history["loss"])
    ((0, 0), 1)
    """

    def __init__(self, seconds, restore_best_weights=False, monitor="val_loss", mode="auto"):
        super().__init__()
        self.seconds = float(check_positive("seconds", seconds))
        self.restore_best_weights = bool(restore_best_weights)
        if not isinstance(monitor, str):
            raise invalid_value("monitor", "a str", monitor)
        self.monitor = monitor
        self.mode = check_one_of("mode", mode, ("auto", "min", "max"))
        self.stopped_at = None

    def on_train_begin(self, logs=None):
        self.start_time = time.perf_counter()
        self.stopped_at = None
        self._epoch = 0
        self._best, self._best_weights = None, None
        self._warned = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_at is None and time.perf_counter() - self.start_time >= self.seconds:
            self.stopped_at = (self._epoch, batch)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if not self.restore_best_weights or self.stopped_at is not None:
            return  # a partial epoch cut by the limit is not a candidate
        logs = logs or {}
        if self.monitor not in logs:
            _warn_once(
                self, f"the monitored key {self.monitor!r} is not in the logs {sorted(logs)}."
            )
            return
        value = float(logs[self.monitor])
        better = np.less if resolve_mode(self.monitor, self.mode) == "min" else np.greater
        if self._best is None or better(value, self._best):
            self._best, self._best_weights = value, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.stopped_at is not None and self._best_weights is not None:
            self.model.set_weights(self._best_weights)

    def get_config(self):
        return {
            "seconds": self.seconds,
            "restore_best_weights": self.restore_best_weights,
            "monitor": self.monitor,
            "mode": self.mode,
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
                _warn_once(self, "method='skip' needs the TensorFlow backend; using 'snapshot'.")
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
        flag, step = self._skipped, optimizer.apply

        def guarded_apply(grads, trainable_variables=None):
            # One sum per gradient: NaN or ±inf iff some entry is (or the sum overflows,
            # i.e. gradients ~1e38, which the step would turn into infinite weights anyway).
            # Read-only, so cheaper than Keras's all(isfinite(g)) with its boolean copies.
            sums = [keras.ops.cast(keras.ops.sum(g), "float32") for g in grads if g is not None]
            finite = keras.ops.isfinite(keras.ops.sum(keras.ops.stack(sums)))
            flag.assign(keras.ops.where(finite, 0.0, 1.0))
            keras.ops.cond(finite, lambda: step(grads, trainable_variables), lambda: None)

        object.__setattr__(optimizer, "apply", guarded_apply)  # untracked, removed at the end
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
            _warn_once(self, "no 'loss' in the batch logs; only weights are checked.")
        elif not math.isfinite(logs["loss"]):
            self._trip(batch, "loss")

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_batch is None and not self._weights_finite():
            self._trip(None, "weights")

    def on_train_end(self, logs=None):
        if self.bad_batch is None and not self._weights_finite():
            self._trip(None, "weights")
        if self.method_ == "skip":
            vars(self.model.optimizer).pop("apply", None)
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


class GradientNorm(keras.callbacks.Callback):
    """Logs the global L2 norm of the gradient, ``sqrt(Σ_w ‖∂loss/∂w‖²)``, per epoch.

    Two ways, chosen in ``on_train_begin``:

    - **TapeModel** (any model with a ``log_gradient_norm`` property, see
      :class:`kerasx.training.TapeModel`): the training step itself reports each batch's norm,
      almost for free. The epoch's value is the **mean of its batch norms**. The callback turns
      the property on and rebuilds the training function (Keras builds it before callbacks
      start), and puts both back at the end.
    - **Any model**, given ``probe_data``: the epoch's value is the norm of the gradient of the
      compiled loss (plus regularization losses) on that fixed probe batch at the end of the
      epoch, with an inference-mode forward pass (no dropout, no batch-norm updates). It costs
      one forward and backward pass on the probe batch per epoch, and needs TensorFlow
      (``tf.GradientTape``), imported only then.

    The value is added to the epoch logs as ``name`` (so it shows in ``history.history``) and
    kept in :attr:`epoch_norms`; with ``per_batch`` each batch's value is kept in
    :attr:`batch_norms` too (in probe mode that is a probe pass per batch).

    Args:
        probe_data: ``(x, y)`` or ``(x, y, sample_weight)`` arrays, or a ``tf.data.Dataset``
            whose first batch is used; needed unless the model is a TapeModel.
        per_batch: also record every batch's norm.
        name: the logged key.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> X, y = np.ones((8, 2), "float32"), np.zeros(8, "float32")
    >>> history = model.fit(X, y, epochs=2, verbose=0, callbacks=[GradientNorm((X, y))])
    >>> len(history.history["gradient_norm"])
    2
    """

    def __init__(self, probe_data=None, per_batch=False, name="gradient_norm"):
        super().__init__()
        if probe_data is not None and not hasattr(probe_data, "__iter__"):
            raise invalid_value(
                "probe_data", "an (x, y) pair, a tf.data.Dataset or None", probe_data
            )
        if isinstance(probe_data, (tuple, list)) and len(probe_data) not in (2, 3):
            raise invalid_value(
                "probe_data", "an (x, y) or (x, y, sample_weight) tuple", probe_data
            )
        self.probe_data = probe_data
        self.per_batch = bool(per_batch)
        if not isinstance(name, str) or not name:
            raise invalid_value("name", "a non-empty str", name)
        self.name = name
        self.epoch_norms, self.batch_norms = [], []
        self._mode = None

    def on_train_begin(self, logs=None):
        model = self.model
        self.epoch_norms, self.batch_norms, self._warned = [], [], False
        self._probe_fn = None
        if hasattr(model, "log_gradient_norm"):
            self._mode, self._previous = "tape", model.log_gradient_norm
            if not self._previous:
                model.log_gradient_norm = True
                model.make_train_function(force=True)
        elif self.probe_data is not None:
            self._mode = "probe"
        else:
            self._mode = None
            _warn_once(
                self,
                "the model has no `log_gradient_norm` and no probe_data was given; "
                "nothing is logged.",
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._batch_values = []

    def on_train_batch_end(self, batch, logs=None):
        if self._mode == "tape":
            if logs is None or "gradient_norm" not in logs:
                _warn_once(self, "no 'gradient_norm' in the batch logs of the TapeModel.")
                return
            value = float(logs["gradient_norm"])
        elif self._mode == "probe" and self.per_batch:
            value = self.probe_norm()
        else:
            return
        self._batch_values.append(value)
        if self.per_batch:
            self.batch_norms.append(value)

    def on_epoch_end(self, epoch, logs=None):
        if self._mode == "tape":
            value = float(np.mean(self._batch_values)) if self._batch_values else math.nan
        elif self._mode == "probe":
            value = self.probe_norm()
        else:
            return
        self.epoch_norms.append(value)
        if logs is not None:
            logs[self.name] = value

    def on_train_end(self, logs=None):
        if self._mode == "tape" and not self._previous:
            self.model.log_gradient_norm = False
            self.model.make_train_function(force=True)

    def probe_norm(self):
        """The global gradient norm on the probe batch at the current weights (TensorFlow)."""
        if self._probe_fn is None:
            self._probe_fn = _make_probe(self.model, self.probe_data)
        return to_float(self._probe_fn())

    def get_config(self):
        return {"per_batch": self.per_batch, "name": self.name}


def _make_probe(model, probe_data):
    """A compiled function of no arguments returning the probe batch's gradient norm."""
    import tensorflow as tf  # TensorFlow only here, so the module imports under any backend

    if isinstance(probe_data, (tuple, list)):
        batch = tuple(probe_data)
    else:  # a dataset: its first batch
        batch = tuple(next(iter(probe_data)))
    x, y = tf.convert_to_tensor(batch[0]), tf.convert_to_tensor(batch[1])
    weight = tf.convert_to_tensor(batch[2]) if len(batch) > 2 else None

    @tf.function(autograph=False)  # plain Python, no tensor-dependent control flow
    def norm():
        with tf.GradientTape() as tape:
            y_pred = model(x, training=False)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight, training=False)
        gradients = tape.gradient(loss, model.trainable_variables)
        return tf.linalg.global_norm([g for g in gradients if g is not None])

    return norm
