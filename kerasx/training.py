"""A ``keras.Model`` whose training step is written with ``tf.GradientTape`` in the course's words.

The course trains logistic regression by hand in three named steps (see :mod:`kerasx.backprop`)::

    forward:           p̂ = σ(Xβ),  loss = NLL(β)
    backward:          ∇loss = Xᵀ(p̂ − y)            (the chain rule)
    gradient descent:  β ← β − α ∇loss

:class:`TapeModel` is a drop-in replacement for ``keras.Model`` whose ``train_step`` is written in
the same three steps, as overridable methods :meth:`TapeModel.forward`,
:meth:`TapeModel.backward` and :meth:`TapeModel.gradient_descent`. Everything else is Keras's own
``fit`` machinery, so nothing is lost against the built-in step: compiled loss and metrics, the
loss tracker, sample weights and ``class_weight``, layer regularization losses, callbacks,
validation, ``jit_compile``, ``steps_per_execution``, ``mixed_float16`` loss scaling,
``tf.distribute`` strategies and saving to ``.keras`` and ``.h5``.

This is the one TensorFlow-only module of kerasx: under another Keras backend importing it raises
an ``ImportError`` that says so.

>>> import numpy as np
>>> inputs = keras.Input((2,))
>>> outputs = keras.layers.Dense(1, activation="sigmoid", use_bias=False)(inputs)
>>> model = TapeModel(inputs, outputs)
>>> model.compile(optimizer="sgd", loss="binary_crossentropy")
>>> X, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
>>> sorted(model.fit(X, y, epochs=2, verbose=0).history)
['loss']
"""

import inspect

import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "kerasx.training (TapeModel) needs the TensorFlow backend of Keras, because its training "
        "step is written with tf.GradientTape. Received: KERAS_BACKEND="
        f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow before importing Keras to "
        "use it; the rest of kerasx works with any backend."
    )

import tensorflow as tf

from kerasx import _compat
from kerasx._validation import InvalidArgument

__all__ = ["TapeModel"]


_FUNCTIONAL_VARIANTS = {}


def _is_functional_call(args, kwargs):
    # The same test as keras.Model: `Model(inputs, outputs)` builds a functional model.
    return (
        len(args) == 2
        or (len(args) == 1 and "outputs" in kwargs)
        or ("inputs" in kwargs and "outputs" in kwargs)
    )


def _functional_variant(cls):
    """Returns ``cls`` with Keras's functional class mixed in, made once per class.

    ``keras.Model(inputs, outputs)`` makes a functional model by rewriting the *class*'s bases
    for good (``Model`` → ``Functional``), which breaks every later subclass that does not pass
    ``inputs`` and ``outputs``. Mixing ``Functional`` into a separate subclass instead keeps
    ``TapeModel`` usable both ways in one process.
    """
    if cls not in _FUNCTIONAL_VARIANTS:
        # Same name (Keras's saved "class_name"); a qualified name that pickle can look up.
        namespace = {
            "__module__": cls.__module__,
            "__qualname__": f"{cls.__qualname__}._functional_class",
            "__doc__": f"A functional {cls.__name__}, made by `{cls.__name__}(inputs, outputs)`.",
        }
        variant = type(cls.__name__, (cls, _compat.functional_model_class()), namespace)
        cls._functional_class = variant
        # Save under the same registered name as `cls` (e.g. "kerasx>TapeModel"), but load as
        # `cls`, whose constructor makes functional or subclassed models as the config asks.
        package, _, name = keras.saving.get_registered_name(cls).rpartition(">")
        if package:
            keras.saving.register_keras_serializable(package, name)(variant)
            keras.saving.register_keras_serializable(package, name)(cls)
        _FUNCTIONAL_VARIANTS[cls] = variant
    return _FUNCTIONAL_VARIANTS[cls]


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _batch_size(x):
    first = next(t for t in tf.nest.flatten(x) if t is not None)
    return tf.shape(first)[0]


@keras.saving.register_keras_serializable(package="kerasx")
class TapeModel(keras.Model):
    """A ``keras.Model`` trained by an explicit ``tf.GradientTape`` step: forward, backward, descent.

    Build it like a functional model (``TapeModel(inputs, outputs)``), wrap an existing model with
    :meth:`from_model`, or subclass it like ``keras.Model`` (define ``call``). Then ``compile`` and
    ``fit`` as usual. One training step is::

        with tf.GradientTape() as tape:
            y_pred, loss = self.forward(x, y, sample_weight)   # loss + regularization
            scaled_loss = self.optimizer.scale_loss(loss)      # mixed_float16 only
        gradients = self.backward(tape, scaled_loss)           # ∂loss/∂w for every weight
        self.gradient_descent(gradients)                       # w ← w − lr·∇ (or Adam, ...)

    which is, operation for operation, Keras's own TensorFlow ``train_step``; override any of the
    three methods to change one step.

    Args:
        *args: as ``keras.Model``: ``(inputs, outputs)`` for a functional model.
        log_gradient_norm: if ``True``, every training step adds ``"gradient_norm"`` to its logs:
            the global L2 norm of that step's gradients (before the optimizer; unscaled under
            ``mixed_float16``; summed over replicas under a distribution strategy). With ``False``
            (the default) the step computes nothing extra.
        **kwargs: as ``keras.Model`` (``name``, ``trainable``, ...).

    Raises:
        ValueError: at the first training step, when the model has no trainable weights or when a
            trainable weight gets no gradient (the message names it).

    >>> import numpy as np
    >>> inputs = keras.Input((3,))
    >>> model = TapeModel(inputs, keras.layers.Dense(1)(inputs), log_gradient_norm=True)
    >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    >>> logs = model.fit(np.ones((4, 3)), np.zeros((4, 1)), verbose=0).history
    >>> sorted(logs)
    ['gradient_norm', 'loss', 'mae']
    """

    def __new__(cls, *args, **kwargs):
        if _is_functional_call(args, kwargs) and not issubclass(
            cls, _compat.functional_model_class()
        ):
            cls = _functional_variant(cls)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, log_gradient_norm=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._log_gradient_norm = bool(log_gradient_norm)

    @property
    def log_gradient_norm(self):
        """Whether each training step adds ``"gradient_norm"`` to its logs (a bool).

        Setting it drops the compiled training function, so that the next
        ``make_train_function()`` rebuilds it. Keras's ``fit`` builds that function *before* it
        calls the callbacks' ``on_train_begin``: a callback that switches this on there must also
        call ``model.make_train_function(force=True)``.

        >>> inputs = keras.Input((2,))
        >>> model = TapeModel(inputs, keras.layers.Dense(1)(inputs))
        >>> model.log_gradient_norm = True
        >>> model.get_config()["log_gradient_norm"]
        True
        """
        return self._log_gradient_norm

    @log_gradient_norm.setter
    def log_gradient_norm(self, value):
        self._log_gradient_norm = bool(value)
        self.train_function = None

    @classmethod
    def from_model(cls, model, **kwargs):
        """Wraps a built Sequential or functional model; the two share layers and weights.

        The compile state is not copied: compile the returned model.

        Args:
            model: a ``keras.Model`` with known ``inputs`` and ``outputs`` (a functional model,
                or a Sequential model that starts with ``keras.Input`` or has been built).
            **kwargs: passed to the constructor (``name``, ``log_gradient_norm``, ...).

        Returns:
            A new model of class ``cls``.

        Raises:
            ValueError: when ``model`` has no symbolic inputs and outputs (e.g. an unbuilt
                Sequential model or a subclassed model).

        >>> base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> model = TapeModel.from_model(base)
        >>> model.layers[-1] is base.layers[-1]
        True
        """
        try:
            inputs, outputs = model.inputs, model.outputs
        except (AttributeError, ValueError):
            inputs = outputs = None
        if not inputs or not outputs:
            raise InvalidArgument(
                "Invalid value for argument `model`. Expected a functional or built Sequential "
                "model with symbolic `inputs` and `outputs` (start a Sequential model with "
                f"`keras.Input(shape)`). Received: model={model!r}"
            )
        kwargs.setdefault("name", f"tape_{model.name}")
        return cls(inputs, outputs, **kwargs)

    def forward(self, x, y, sample_weight=None, training=True):
        """Forward propagation: the predictions and the loss to minimize.

        The loss is the compiled loss (weighted by ``sample_weight``) plus the layers'
        regularization losses (``self.losses``), exactly as ``keras.Model.compute_loss``.

        Args:
            x: a batch of inputs.
            y: a batch of targets.
            sample_weight: optional per-sample weights.
            training: whether the layers run in training mode (dropout, batch statistics).

        Returns:
            ``(y_pred, loss)``: the model's outputs and the scalar loss.

        >>> import numpy as np
        >>> inputs = keras.Input((1,))
        >>> dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
        >>> model = TapeModel(inputs, dense(inputs))
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> y_pred, loss = model.forward(np.array([[1.0], [2.0]]), np.zeros((2, 1)))
        >>> float(loss)  # (1² + 2²) / 2
        2.5
        """
        y_pred = self(x, training=training)
        if "training" in inspect.signature(self.compute_loss).parameters:
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=training)
        else:  # an override written before Keras 3.3 added `training`
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        return y_pred, loss

    def backward(self, tape, loss):
        """Backward propagation: the gradient of ``loss`` for every trainable weight.

        Args:
            tape: the ``tf.GradientTape`` that recorded the forward pass.
            loss: the scalar loss recorded on ``tape``.

        Returns:
            A list of gradients, in the order of ``self.trainable_weights``.

        Raises:
            ValueError: when a trainable weight gets no gradient (the loss does not depend on
                it); the message names the weights.

        >>> import numpy as np
        >>> inputs = keras.Input((1,))
        >>> model = TapeModel(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tf.GradientTape() as tape:
        ...     y_pred, loss = model.forward(np.array([[3.0]]), np.zeros((1, 1)))
        >>> [float(tf.reshape(g, [])) for g in model.backward(tape, loss)]  # 2·(w·x + b − y)·(x, 1)
        [18.0, 6.0]
        """
        weights = self.trainable_weights
        if not weights:
            raise InvalidArgument(
                f"Model {self.name!r} has no trainable weights, so a training step has nothing "
                "to update. Build the model, and set `trainable=True` on the layers to train."
            )
        gradients = tape.gradient(loss, weights)
        missing = [w.path for w, g in zip(weights, gradients, strict=True) if g is None]
        if missing:
            raise InvalidArgument(
                f"No gradient for the trainable weight(s) {missing} of model {self.name!r}: the "
                "loss does not depend on them. Use them in `call`, or set `trainable=False` on "
                "their layer."
            )
        return gradients

    def gradient_descent(self, gradients):
        """One optimizer step: applies ``gradients`` to ``self.trainable_weights``.

        With ``SGD(learning_rate=lr)`` this is ``w ← w − lr · gradient``; any compiled optimizer
        (Adam, a ``LossScaleOptimizer`` under ``mixed_float16``, ...) works.

        Args:
            gradients: a list of gradients, in the order of ``self.trainable_weights``.

        >>> inputs = keras.Input((1,))
        >>> model = TapeModel(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
        >>> model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        >>> model.gradient_descent([tf.ones((1, 1)), tf.ones((1,))])
        >>> float(model.trainable_weights[0][0, 0])  # 1 − 0.5·1
        0.5
        """
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))

    def train_step(self, data):
        """One training step on a batch: forward, backward, gradient descent, metrics.

        Args:
            data: a batch, ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.

        Returns:
            The logs: a dict of metric results (``"loss"`` and the compiled metrics), plus
            ``"gradient_norm"`` when :attr:`log_gradient_norm` is on.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred, loss = self.forward(x, y, sample_weight, training=True)
            scaled_loss = self.optimizer.scale_loss(loss)
        self._track_loss(x, loss)
        gradients = self.backward(tape, scaled_loss)
        if self._log_gradient_norm:
            gradient_norm = self._global_gradient_norm(gradients)
        self.gradient_descent(gradients)
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        if self._log_gradient_norm:
            logs["gradient_norm"] = gradient_norm
        return logs

    def test_step(self, data):
        """One evaluation step on a batch: forward in inference mode, then metrics.

        Args:
            data: a batch, ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.

        Returns:
            The logs: a dict of metric results.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred, loss = self.forward(x, y, sample_weight, training=False)
        self._track_loss(x, loss)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """One prediction step on a batch: the model's outputs in inference mode.

        Args:
            data: a batch, ``x`` or a tuple whose first element is ``x``.

        Returns:
            The predictions.
        """
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _track_loss(self, x, loss):
        # Keras's loss tracker (the "loss" log): a running mean weighted by batch size. Under a
        # distribution strategy the compiled loss is divided by the number of replicas; undo it.
        replicas = _num_replicas()
        if replicas > 1:
            loss = loss * tf.cast(replicas, loss.dtype)
        _compat.loss_tracker(self).update_state(loss, sample_weight=_batch_size(x))

    def _global_gradient_norm(self, gradients):
        if _num_replicas() > 1:  # each replica holds part of the gradient; sum them
            gradients = tf.distribute.get_replica_context().all_reduce("sum", gradients)
        norm = tf.linalg.global_norm(gradients)
        optimizer = self.optimizer
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            # The factor `scale_loss` used; read before `apply_gradients` updates it.
            scale = optimizer.dynamic_scale if optimizer.built else optimizer.initial_scale
            norm = norm / tf.cast(scale, norm.dtype)
        return norm

    def get_config(self):
        """Returns the model's config: Keras's, plus ``log_gradient_norm``."""
        config = super().get_config()
        config["log_gradient_norm"] = self._log_gradient_norm
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuilds a model from :meth:`get_config`'s output, leaving ``config`` unchanged."""
        # Keras's functional revival pops keys from the dict it is given.
        return super().from_config(dict(config), custom_objects=custom_objects)


# Legacy .h5 files store the bare class name, "TapeModel", not "kerasx>TapeModel".
keras.saving.get_custom_objects()["TapeModel"] = TapeModel
