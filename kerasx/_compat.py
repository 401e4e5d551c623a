"""Every use of a private Keras, TensorFlow, KerasTuner or scikeras name, in one place.

kerasx builds on public APIs. Where none exists, the private name is used here and nowhere else,
and ``tests/test_compat.py`` pins each assumption, so a library upgrade fails loudly in this one
module instead of silently elsewhere. Each entry says what it relies on and why no public API
serves.
"""

import contextlib
import json
import threading

import keras

from kerasx._validation import InvalidArgument

# --------------------------------------------------------------------------------------------
# Callbacks and metrics
# --------------------------------------------------------------------------------------------

_KERAS_HINTS = {"max": "up", "min": "down"}


def set_keras_direction_hint(metric_class):
    """Sets Keras's private ``_direction`` hint of a metric class from its public ``direction``.

    kerasx metrics declare ``direction = "max"`` or ``"min"`` (``None``: no order, e.g. a
    matrix), which kerasx callbacks read. Keras's own ``MonitorCallback`` (EarlyStopping,
    ModelCheckpoint, ReduceLROnPlateau with ``mode="auto"``) instead reads ``_direction``
    (``"up"`` / ``"down"``) on the compiled metric objects; Keras has no public way to declare
    it. Returns the class, so it also serves as a class decorator.

    >>> import keras
    >>> class Score(keras.metrics.Mean):
    ...     direction = "max"
    >>> set_keras_direction_hint(Score)._direction
    'up'
    """
    direction = getattr(metric_class, "direction", None)
    if direction is not None:
        metric_class._direction = _KERAS_HINTS[direction]
    return metric_class


def keras_direction_hint(metric):
    """``"max"``, ``"min"`` or ``None``: the direction Keras's private ``_direction`` declares.

    Keras's built-in metrics set ``_direction = "up"`` (accuracy, AUC, ...) or ``"down"``
    (errors, cross-entropies) in their constructors; see :func:`set_keras_direction_hint`.
    """
    hint = getattr(metric, "_direction", None)
    return {"up": "max", "down": "min"}.get(hint)


def compiled_metrics(model):
    """The flat list of a model's metric objects, as Keras's ``MonitorCallback`` gathers them.

    ``model.metrics`` holds the loss tracker and one private ``CompileMetrics`` container
    (``keras.src.trainers.compile_utils``) whose ``metrics`` attribute lists the compiled
    metrics once they are built (after the first train or test step). There is no public
    accessor for that flat list.
    """
    flat = []
    for metric in getattr(model, "metrics", None) or []:
        inner = getattr(metric, "metrics", None)  # CompileMetrics / MetricsList containers
        flat.extend(inner if isinstance(inner, list) else [metric])
    return flat


def loss_tracker_count(model):
    """The ``count`` variable of :func:`loss_tracker` (samples seen this epoch), or ``None``.

    The batch logs carry only the running mean of the loss; the tracker's ``count`` variable
    sums the batch sizes. Neither the variable nor its name is public API.
    """
    try:
        tracker = loss_tracker(model)
    except ValueError:  # not compiled
        return None
    return next((v for v in tracker.variables if v.name == "count"), None)


class ScheduledHyperparameter(keras.Variable):
    """A variable that stands in for an optimizer's float hyperparameter while it is scheduled.

    Keras 3 optimizers hold ``momentum`` / ``beta_1`` as Python floats traced into the compiled
    step as constants; Adam's docstring allows a callable, but its ``update_step`` casts the
    value without calling it (Keras 3.15), so no public route schedules them. Put in place with
    :func:`set_untracked_attribute`, this variable is read in the graph by ``ops.cast`` and
    ``1 - beta_1``. SGD tests ``if self.momentum != 0`` in Python while tracing: ``!=`` with a
    number answers from the value the variable was created with instead of failing on a
    symbolic tensor.
    """

    def __init__(self, value, **kwargs):
        super().__init__(value, **kwargs)
        self._initial_value = float(value)

    def __ne__(self, other):
        if isinstance(other, (int, float)):
            return self._initial_value != other
        return super().__ne__(other)


def set_untracked_attribute(optimizer, name, value):
    """Sets ``optimizer.<name>`` without Keras's variable tracking.

    A Keras optimizer's ``__setattr__`` adds every ``keras.Variable`` it is given to
    ``optimizer.variables`` (the checkpointed state) and has no public way to remove it again;
    ``object.__setattr__`` skips that, so a temporary attribute leaves checkpoints unchanged.
    """
    object.__setattr__(optimizer, name, value)


def wrap_optimizer_apply(optimizer, wrapper):
    """Routes the training step's optimizer update through ``wrapper(apply)`` until unwrapped.

    Keras's TensorFlow train step calls ``optimizer.apply_gradients``, which calls
    ``self.apply(grads, trainable_variables)``: an attribute set on the instance is what the
    next traced step calls. Keras has no public hook around the update (a
    ``LossScaleOptimizer`` skips non-finite steps but replaces the optimizer and its state).
    Retrace the step afterwards (``model.make_train_function(force=True)``).
    """
    set_untracked_attribute(optimizer, "apply", wrapper(optimizer.apply))


def unwrap_optimizer_apply(optimizer):
    """Undoes :func:`wrap_optimizer_apply` (the class's ``apply`` is used again)."""
    vars(optimizer).pop("apply", None)


# ----------------------------------------------------------------------------------------------
# KerasTuner (kerasx.tuning)


class KerasTunerWithoutTensorBoard:
    """Mixin for a KerasTuner tuner: no ``tensorboard`` import unless a TensorBoard callback runs.

    Relies on: ``keras_tuner.Tuner.run_trial`` calling the private
    ``self._configure_tensorboard_dir(callbacks, trial, execution)`` once per execution, and
    that method importing ``tensorboard.plugins.hparams`` under the TensorFlow backend even when
    no ``TensorBoard`` callback is given (KerasTuner 1.4). TensorFlow 2.21 no longer installs
    ``tensorboard``, so without this every trial fails with an ``ImportError``. No public hook
    runs at that point: overriding the public ``run_trial`` would mean copying its checkpointing,
    which uses more private KerasTuner names. Pinned by ``tests/test_compat.py``.
    """

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


_KT_JSON_LOCK = threading.Lock()
_KT_JSON_DEPTH = 0
_KT_ORIGINAL_SAVE_JSON = None


def _whole_save_json(path, obj):
    """KerasTuner's ``save_json``, writing a local file whole (temporary name + ``os.replace``)."""
    from kerasx import _io

    text = json.dumps(obj)
    if "://" in str(path):  # a remote file system (gs://...): TensorFlow's gfile, as KerasTuner
        return _KT_ORIGINAL_SAVE_JSON(path, obj)
    _io.write_text(path, text)
    return text


@contextlib.contextmanager
def keras_tuner_whole_json_files():
    """While active, KerasTuner writes its JSON state files whole.

    KerasTuner 1.4 writes ``oracle.json``, each ``trial.json``, ``tuner0.json`` and the build
    configs in place (``open(path, "w")``), so a crash or a reader can meet half a file, and a
    half-written ``oracle.json`` cannot be resumed. Relies on: every one of those writes going
    through the private ``keras_tuner.src.utils.save_json(path, obj)``, looked up on that module
    at call time (``Stateful.save``, ``Tuner._build_and_fit_model``); no public hook exists.
    The replacement writes through :mod:`kerasx._io` (same JSON text, same return value). It is
    process-wide while any search of kerasx runs (re-entrant, counted), since the chief's oracle
    server saves from its own threads. Pinned by ``tests/test_compat.py``.
    """
    global _KT_JSON_DEPTH, _KT_ORIGINAL_SAVE_JSON
    from keras_tuner.src import utils

    with _KT_JSON_LOCK:
        if _KT_JSON_DEPTH == 0:
            _KT_ORIGINAL_SAVE_JSON = utils.save_json
            utils.save_json = _whole_save_json
        _KT_JSON_DEPTH += 1
    try:
        yield
    finally:
        with _KT_JSON_LOCK:
            _KT_JSON_DEPTH -= 1
            if _KT_JSON_DEPTH == 0:
                utils.save_json = _KT_ORIGINAL_SAVE_JSON


# ----------------------------------------------------------------------------------------------
# EarlyStopping's counters (kerasx.callbacks.ResumableEarlyStopping)

#: The attributes of ``keras.callbacks.EarlyStopping`` that hold its progress (Keras 3.15): the
#: best monitored value, the epochs since it improved and the epoch it was reached. None of them
#: is documented; ``tests/test_compat.py`` pins that they drive the stopping decision.
_EARLY_STOPPING_COUNTERS = ("best", "wait", "best_epoch")


def early_stopping_state(callback):
    """``{"best", "wait", "best_epoch"}`` of a ``keras.callbacks.EarlyStopping``, JSON-ready.

    >>> stopping = keras.callbacks.EarlyStopping()
    >>> stopping.on_train_begin()
    >>> early_stopping_state(stopping)
    {'best': None, 'wait': 0, 'best_epoch': 0}
    """
    best, wait, best_epoch = (getattr(callback, name) for name in _EARLY_STOPPING_COUNTERS)
    return {
        "best": None if best is None else float(best),
        "wait": int(wait),
        "best_epoch": int(best_epoch),
    }


def early_stopping_best_weights(callback):
    """The weights an ``EarlyStopping`` with ``restore_best_weights`` kept (``best_weights``)."""
    return getattr(callback, "best_weights", None)


def set_early_stopping_state(callback, state, best_weights):
    """Puts counters of :func:`early_stopping_state` and best weights back into ``callback``.

    Call it after ``EarlyStopping.on_train_begin`` (which resets them).
    """
    for name in _EARLY_STOPPING_COUNTERS:
        setattr(callback, name, state[name])
    callback.best_weights = best_weights


# ----------------------------------------------------------------------------------------------
# TapeModel (kerasx.training) and reloading legacy .h5 files (kerasx.recipes.load_trained_model)


def functional_model_class():
    """Keras's class of functional models (private ``keras.src.models.functional.Functional``).

    Found with public calls only: it is the type of what ``keras.Model(inputs, outputs)``
    returns (a throwaway one-input model with explicit names, so no automatic layer names are
    used up). :class:`kerasx.training.TapeModel` mixes it into a subclass of its own, because
    ``keras.Model(inputs, outputs)`` on a subclass rewrites that class's bases for good. That
    relies on Keras building functional models as instances of this one class (Keras 3.15).

    >>> functional_model_class().__name__
    'Functional'
    """
    global _FUNCTIONAL_CLASS
    if _FUNCTIONAL_CLASS is None:
        probe = keras.Input((1,), name="kerasx_compat_probe")
        _FUNCTIONAL_CLASS = type(keras.Model(probe, probe, name="kerasx_compat_probe"))
    return _FUNCTIONAL_CLASS


_FUNCTIONAL_CLASS = None


def loss_tracker(model):
    """The ``Mean`` metric behind a compiled model's ``"loss"`` log (Keras's ``_loss_tracker``).

    A custom ``train_step`` that keeps the compiled loss and metrics must update it, as Keras's
    own step does; Keras lists it in the public ``model.metrics`` under the name ``"loss"`` but
    has no public accessor for it.

    Raises:
        ValueError: the model is not compiled (it has no loss tracker).
    """
    for metric in getattr(model, "metrics", None) or []:
        if metric.name == "loss" and isinstance(metric, keras.metrics.Mean):
            return metric
    raise InvalidArgument(
        "Invalid value for argument `model`. Expected a compiled keras.Model (with a loss "
        f"tracker). Received: model={model!r}"
    )


def h5_optimizer_weights(path):
    """The optimizer's saved variables of a legacy ``.h5`` file, in order, or ``None``.

    Reads Keras's legacy HDF5 layout: a root group ``optimizer_weights`` whose attribute
    ``weight_names`` lists its datasets in the order of ``optimizer.variables``. Keras has no
    public reader for it (its legacy loader builds the optimizer on no variables in 3.15, so
    ``fit`` after ``load_model`` fails; see :func:`kerasx.recipes.load_trained_model`).
    """
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        if "optimizer_weights" not in f:
            return None
        group = f["optimizer_weights"]
        names = [
            n.decode("utf8") if isinstance(n, bytes) else n for n in group.attrs["weight_names"]
        ]
        return [np.asarray(group[name]) for name in names]


# ----------------------------------------------------------------------------------------------
# Image augmentation layers under JAX (kerasx.recipes.malaria_cnn)


def allow_jit_on_jax(layer):
    """Lets Keras compile ``layer`` with XLA on the JAX backend, where it can be; returns it.

    Keras 3.15's ``RandomRotation`` and ``RandomZoom`` set the undocumented ``Layer`` attribute
    ``supports_jit = False`` on every backend (TensorFlow's image-transform op has no XLA
    kernel), and ``fit`` then turns ``jit_compile`` off for the whole model with a warning. On
    the JAX backend their transform is ``jax.numpy`` code that compiles, and un-jitted JAX
    trains a small CNN many times slower (test_recipes_cnn's 20×20 problem: 115 s against a
    few). No public switch exists. Other backends are left as they are. The flag is not
    saved: a model reloaded on JAX predicts and trains without XLA (Keras warns). Pinned by
    ``tests/test_compat.py``.
    """
    if keras.backend.backend() == "jax":
        layer.supports_jit = True
    return layer


# ----------------------------------------------------------------------------------------------
# Safe loading (kerasx.recipes.load_trained_model)


def forced_safe_mode():
    """A context in which Keras deserializes in safe mode, whatever its global flag says.

    In Keras 3.15 ``deserialize_keras_object`` lets the global flag (turned off by the
    ``keras.config`` switch for unsafe deserialization) override an explicit
    ``load_model(..., safe_mode=True)``, and the public API has no way back. Keras's own
    ``SafeModeScope(True)`` sets the flag for the duration and restores it. Pinned by
    ``tests/test_compat.py``.
    """
    from keras.src.saving.serialization_lib import SafeModeScope

    return SafeModeScope(True)
