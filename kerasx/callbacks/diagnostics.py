"""GradientNorm: logs the global gradient norm, from a TapeModel's step or a probe batch."""

import math

import keras
import numpy as np

from kerasx._validation import check_one_of, invalid_value
from kerasx.callbacks._common import to_float, warn_once

__all__ = ["GradientNorm"]


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
    kept in ``epoch_norms``; with ``per_batch`` each batch's value is kept in
    ``batch_norms`` too (in probe mode that is a probe pass per batch).

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
        self.per_batch = check_one_of("per_batch", per_batch, (False, True))
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
            warn_once(
                self,
                "the model has no `log_gradient_norm` and no probe_data was given; "
                "nothing is logged.",
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._batch_values = []

    def on_train_batch_end(self, batch, logs=None):
        if self._mode == "tape":
            if logs is None or "gradient_norm" not in logs:
                warn_once(self, "no 'gradient_norm' in the batch logs of the TapeModel.")
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
