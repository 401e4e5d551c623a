"""Learning-rate callbacks: the range test (LRFinder) and the one-cycle schedule (OneCycle)."""

import math
import warnings

import keras
import numpy as np
import pandas as pd

from kerasx import _compat
from kerasx._validation import (
    check_in_range,
    check_int,
    check_one_of,
    check_positive,
    invalid_value,
)
from kerasx.callbacks import _render as render
from kerasx.callbacks._common import to_float

__all__ = ["LRFinder", "OneCycle", "one_cycle_schedule"]


def _snapshot(variables):
    return [keras.ops.convert_to_numpy(keras.ops.copy(v)) for v in variables]


class LRFinder(keras.callbacks.Callback):
    """The learning-rate range test: ramps the rate up over batches and records each batch's loss.

    Use it as ``model.fit(X, y, epochs=..., callbacks=[finder])`` with enough epochs for
    ``num_steps`` batches. Before batch ``i`` the learning rate is set to
    ``min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))``. The finder ends the fit itself
    (``model.stop_training = True``) when the ramp ends or the smoothed loss diverges (exceeds
    ``diverge`` times its best, or is not finite), and in ``on_train_end`` restores the weights
    and the optimizer's state (iterations, learning rate, moments) as they were before the fit,
    so the model can then be trained normally with the suggested rate.

    The loss of each batch itself is recovered from Keras's batch logs, which carry the running
    mean over the epoch so far, not the batch's loss. Keras's loss tracker is a mean weighted by
    batch size: after batch ``b``, ``m_b = Σ_{j≤b} n_j ℓ_j / S_b`` with ``S_b = Σ_{j≤b} n_j``
    (the tracker's ``count`` variable). Hence::

        ℓ_b = (S_b m_b − S_{b−1} m_{b−1}) / (S_b − S_{b−1})

    exact for any batch sizes, including a short last batch (if the tracker is not found,
    ``S_b = b + 1``, exact for equal batches). The curve is smoothed by a bias-corrected
    exponential moving average with factor ``beta``.

    Args:
        min_lr: the first learning rate.
        max_lr: the last learning rate (> ``min_lr``).
        num_steps: the number of batches of the ramp (>= 2).
        beta: the smoothing factor in [0, 1).
        diverge: stop when the smoothed loss exceeds ``diverge`` times its minimum (> 1).

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> finder = LRFinder(min_lr=1e-4, max_lr=1.0, num_steps=20)
    >>> _ = model.fit(np.ones((64, 2)), np.ones(64), batch_size=8, epochs=5, verbose=0,
    ...               callbacks=[finder])
    >>> list(finder.history.columns)
    ['lr', 'loss', 'smoothed_loss']
    >>> 1e-4 <= finder.suggestion() <= 1.0
    True
    """

    def __init__(self, min_lr=1e-6, max_lr=1.0, num_steps=100, beta=0.98, diverge=4.0):
        super().__init__()
        self.min_lr = float(check_positive("min_lr", min_lr))
        self.max_lr = float(check_positive("max_lr", max_lr))
        if self.max_lr <= self.min_lr:
            raise invalid_value("max_lr", f"a float > min_lr={self.min_lr}", max_lr)
        self.num_steps = check_int("num_steps", num_steps, minimum=2)
        self.beta = float(check_in_range("beta", beta, 0, 1, high_open=True))
        self.diverge = float(check_in_range("diverge", diverge, 1, math.inf, low_open=True))
        self._records = []
        self.stop_reason = None

    def learning_rate_at(self, step):
        """The learning rate of batch ``step`` (0-based) of the ramp."""
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.num_steps - 1))

    def on_train_begin(self, logs=None):
        model = self.model
        optimizer = model.optimizer
        if not optimizer.built:  # build now so the restore covers the moments (zeros) too
            optimizer.build(model.trainable_variables)
        self._weights = _snapshot(model.weights)
        self._optimizer_state = _snapshot(optimizer.variables)
        self._count = _compat.loss_tracker_count(model)
        self._records, self._step, self._average, self._best = [], 0, 0.0, math.inf
        self.stop_reason = None

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._mean = 0.0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._lr = self.learning_rate_at(self._step)
        self.model.optimizer.learning_rate = self._lr

    def on_train_batch_end(self, batch, logs=None):
        if not logs or "loss" not in logs:
            warnings.warn("LRFinder: no 'loss' in the batch logs; stopping.", stacklevel=2)
            self._stop("no loss")
            return
        mean = float(logs["loss"])
        self.model  # noqa: B018 -- under JAX, reading `model` syncs the tracker's variables
        seen = batch + 1.0 if self._count is None else to_float(self._count)
        loss = (seen * mean - self._seen * self._mean) / (seen - self._seen)
        self._seen, self._mean = seen, mean
        self._step += 1
        self._average = self.beta * self._average + (1 - self.beta) * loss
        smoothed = self._average / (1 - self.beta**self._step)
        self._records.append((self._lr, loss, smoothed))
        if not math.isfinite(smoothed) or smoothed > self.diverge * self._best:
            self._stop("diverged")
        elif self._step >= self.num_steps:
            self._stop("done")
        self._best = min(self._best, smoothed)

    def _stop(self, reason):
        self.stop_reason = reason
        self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.model.set_weights(self._weights)
        for variable, value in zip(
            self.model.optimizer.variables, self._optimizer_state, strict=True
        ):
            variable.assign(value)
        if self.stop_reason is None:
            warnings.warn(
                f"LRFinder: the fit ended after {self._step} of {self.num_steps} steps; "
                "pass more epochs to cover the whole ramp.",
                stacklevel=2,
            )

    @property
    def history(self):
        """A DataFrame with one row per batch: ``lr``, ``loss`` (the batch's own), ``smoothed_loss``."""
        return pd.DataFrame(self._records, columns=["lr", "loss", "smoothed_loss"])

    def suggestion(self, method="valley"):
        """A learning rate read off the smoothed curve.

        Args:
            method: ``"valley"`` (fastai's rule: the longest stretch where the smoothed loss keeps
                falling, then a point about half-way down it) or ``"steepest"`` (where the
                smoothed loss falls fastest against ``log(lr)``, before its minimum and after
                the first tenth of the steps).

        Returns:
            A float learning rate.
        """
        check_one_of("method", method, ("valley", "steepest"))
        history = self.history
        if len(history) < 3:
            raise RuntimeError("LRFinder: fewer than 3 recorded steps; run fit with it first.")
        lrs = history["lr"].to_numpy()
        losses = history["smoothed_loss"].to_numpy()
        finite = np.isfinite(losses)
        lrs, losses = lrs[finite], losses[finite]
        if method == "steepest":
            # The first tenth is skipped: there the average has seen few, noisy batches.
            start = len(losses) // 10
            end = max(int(np.argmin(losses)) + 1, start + 3)
            slopes = np.gradient(losses[start:end], np.log(lrs[start:end]))
            return float(lrs[start + int(np.argmin(slopes))])
        return float(lrs[_valley_index(losses)])

    def plot(self, path):
        """Writes the loss against the learning rate (log scale) to a PNG, suggestions marked."""
        history = self.history
        marks = {m: self.suggestion(m) for m in ("valley", "steepest")} if len(history) > 2 else {}
        render.save_png(str(path), _draw_finder, (history, marks), (6.0, 4.0), 100)

    def get_config(self):
        return {
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "num_steps": self.num_steps,
            "beta": self.beta,
            "diverge": self.diverge,
        }


def _valley_index(losses):
    """fastai's valley rule: the longest decreasing subsequence, ~half-way (index 1/2 of 2/3)."""
    n = len(losses)
    lengths = np.ones(n, dtype=int)
    best_start, best_end = 0, 0
    for i in range(1, n):
        earlier = np.flatnonzero(losses[:i] > losses[i])
        if earlier.size:
            lengths[i] = lengths[earlier].max() + 1
        if lengths[i] > lengths[best_end]:
            best_end = i
            best_start = best_end - lengths[best_end]
    sections = (best_end - best_start) / 3
    return max(best_start + int(sections) + int(sections / 2), 0)


def _draw_finder(figure, history, marks):
    ax = figure.subplots()
    ax.plot(history["lr"], history["loss"], alpha=0.4, label="batch loss")
    ax.plot(history["lr"], history["smoothed_loss"], label="smoothed")
    for (method, lr), color in zip(marks.items(), ("C2", "C3"), strict=False):
        ax.axvline(lr, color=color, linestyle="--", label=f"{method}: {lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    smoothed = history["smoothed_loss"][np.isfinite(history["smoothed_loss"])]
    losses = history["loss"][np.isfinite(history["loss"])]
    if len(smoothed):  # zoom in on the useful part: not the divergence at the end
        low = min(smoothed.min(), losses.min())
        high = max(smoothed.iloc[0], losses.iloc[: max(len(losses) // 10, 1)].max())
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low) + 1e-12)
    ax.legend()
    figure.tight_layout()


def one_cycle_schedule(
    step,
    total_steps,
    max_lr,
    *,
    pct_start=0.3,
    div_factor=25.0,
    final_div_factor=1e4,
    anneal="cos",
    base_momentum=0.85,
    max_momentum=0.95,
):
    """The learning rate and momentum of the one-cycle policy (Smith 2018) at ``step``.

    Two phases, as in Smith's paper and PyTorch's ``OneCycleLR``: over the first
    ``pct_start * total_steps - 1`` steps the rate rises from ``max_lr / div_factor`` to
    ``max_lr`` while the momentum falls from ``max_momentum`` to ``base_momentum``; over the rest
    the rate falls to ``max_lr / div_factor / final_div_factor`` and the momentum rises back.
    Each move is a half cosine, ``end + (start − end)(1 + cos(π t)) / 2``, or linear, with
    ``t ∈ [0, 1]`` the fraction of the phase done. Steps past the end keep the final values.

    Returns:
        ``(learning_rate, momentum)`` as floats.

    >>> one_cycle_schedule(0, 100, 0.1)
    (0.004, 0.95)
    >>> one_cycle_schedule(29, 100, 0.1)
    (0.1, 0.85)
    """
    step = check_int("step", step, minimum=0)
    total_steps = check_int("total_steps", total_steps, minimum=1)
    check_positive("max_lr", max_lr)
    initial = max_lr / div_factor
    final = initial / final_div_factor
    peak = float(pct_start * total_steps) - 1
    step = min(step, total_steps - 1)
    if step <= peak:
        t = step / peak if peak > 0 else 1.0
        lr_from, lr_to, m_from, m_to = initial, max_lr, max_momentum, base_momentum
    else:
        t = (step - peak) / (total_steps - 1 - peak)
        lr_from, lr_to, m_from, m_to = max_lr, final, base_momentum, max_momentum
    if anneal == "cos":
        weight = (1 + math.cos(math.pi * t)) / 2
    else:
        weight = 1 - t
    return lr_to + (lr_from - lr_to) * weight, m_to + (m_from - m_to) * weight


class OneCycle(keras.callbacks.Callback):
    """The one-cycle learning-rate (and momentum) schedule of Smith (2018), set before each batch.

    See :func:`one_cycle_schedule` for the formula. ``total_steps`` defaults to
    ``epochs × steps per epoch`` of the ``fit`` call (pass it when the data has no length).

    **Resuming.** A ``fit`` that starts at epoch 0 starts a new cycle. A ``fit`` that starts at
    a later epoch (``keras.callbacks.BackupAndRestore`` restored it after a crash, or
    ``initial_epoch``) continues the cycle where the optimizer is: at its step count
    ``optimizer.iterations``, which the backup restores (so the cycle is taken to have begun
    with the optimizer's first step). The learning rate and momentum of a resumed run are then
    those of an uninterrupted one.

    Momentum is cycled on optimizers that have one (``beta_1`` of the Adam family, ``momentum``
    of SGD when > 0). Keras 3 optimizers hold it as a Python float that is traced into the
    compiled training step, so for the duration of ``fit`` the callback puts a ``keras.Variable``
    in its place (outside the optimizer's tracked state, so checkpoints are unchanged), rebuilds
    the training function, and puts the float back at the end. This needs the TensorFlow
    backend (other backends compile the float as a constant): elsewhere only the learning rate
    is cycled, with a warning.

    Args:
        max_lr: the peak learning rate.
        total_steps: the length of the cycle in batches, or ``None`` (from ``fit``).
        pct_start: the fraction of the cycle spent rising, in (0, 1).
        div_factor: the first rate is ``max_lr / div_factor``.
        final_div_factor: the last rate is the first divided by this.
        anneal: ``"cos"`` or ``"linear"``.
        cycle_momentum: whether to cycle the momentum as well.
        base_momentum: the momentum at the peak rate.
        max_momentum: the momentum at both ends.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> cycle = OneCycle(max_lr=0.1)
    >>> _ = model.fit(np.ones((40, 2)), np.ones(40), batch_size=4, epochs=2, verbose=0,
    ...               callbacks=[cycle])
    >>> round(float(model.optimizer.learning_rate), 8)  # the last step's rate
    4e-07
    """

    def __init__(
        self,
        max_lr,
        total_steps=None,
        pct_start=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        anneal="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
    ):
        super().__init__()
        self.max_lr = float(check_positive("max_lr", max_lr))
        self.total_steps = (
            None if total_steps is None else check_int("total_steps", total_steps, minimum=2)
        )
        self.pct_start = float(
            check_in_range("pct_start", pct_start, 0, 1, low_open=True, high_open=True)
        )
        self.div_factor = float(check_positive("div_factor", div_factor))
        self.final_div_factor = float(check_positive("final_div_factor", final_div_factor))
        self.anneal = check_one_of("anneal", anneal, ("cos", "linear"))
        self.cycle_momentum = bool(cycle_momentum)
        self.base_momentum = float(check_in_range("base_momentum", base_momentum, 0, 1))
        self.max_momentum = float(check_in_range("max_momentum", max_momentum, 0, 1))
        if self.max_momentum < self.base_momentum:
            raise invalid_value(
                "max_momentum", f"a float >= base_momentum={self.base_momentum}", max_momentum
            )
        self._momentum = None

    def schedule(self, step):
        """``(learning_rate, momentum)`` at ``step`` of this cycle."""
        return one_cycle_schedule(
            step,
            self._total,
            self.max_lr,
            pct_start=self.pct_start,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
            anneal=self.anneal,
            base_momentum=self.base_momentum,
            max_momentum=self.max_momentum,
        )

    def on_train_begin(self, logs=None):
        self._step = None  # set by the first epoch, once every callback has restored its state
        self._total = self.total_steps
        if self._total is None:
            params = self.params or {}
            if not params.get("steps") or not params.get("epochs"):
                raise invalid_value(
                    "total_steps", "an integer >= 2 (the data has no known length)", None
                )
            self._total = max(int(params["epochs"]) * int(params["steps"]), 2)
        self._momentum = None
        if self.cycle_momentum:
            self._attach_momentum()

    def _attach_momentum(self):
        optimizer = self.model.optimizer
        name = "beta_1" if hasattr(optimizer, "beta_1") else "momentum"
        original = getattr(optimizer, name, None)
        if not isinstance(original, (int, float)) or (name == "momentum" and original == 0):
            return
        if keras.backend.backend() != "tensorflow":
            warnings.warn(
                f"OneCycle: momentum cycling needs the TensorFlow backend; only the learning "
                f"rate is cycled under {keras.backend.backend()!r}.",
                stacklevel=3,
            )
            return
        if not optimizer.built:  # building reads the float (SGD creates slots only if > 0)
            optimizer.build(self.model.trainable_variables)
        variable = _compat.ScheduledHyperparameter(
            self.max_momentum, dtype="float32", trainable=False, name="one_cycle_momentum"
        )
        _compat.set_untracked_attribute(optimizer, name, variable)  # checkpoints unchanged
        self._momentum = (name, original, variable)
        self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        if self._step is None:
            resumed = epoch > 0  # the optimizer's restored (or kept) steps are the position
            self._step = int(to_float(self.model.optimizer.iterations)) if resumed else 0

    def on_train_batch_begin(self, batch, logs=None):
        lr, momentum = self.schedule(self._step)
        self.model.optimizer.learning_rate = lr
        if self._momentum is not None:
            self._momentum[2].assign(momentum)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1

    def on_train_end(self, logs=None):
        if self._momentum is not None:
            name, original, _ = self._momentum
            _compat.set_untracked_attribute(self.model.optimizer, name, original)
            self._momentum = None
            self.model.make_train_function(force=True)

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
            "cycle_momentum": self.cycle_momentum,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
        }
