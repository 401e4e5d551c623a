"""Helpers shared by the callback tests (``tests/test_callbacks_*.py``).

Import them with ``from callback_helpers import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

import keras
import matplotlib.image
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small_model(n_features=4, units=1, lr=0.05, optimizer="adam", metrics=("accuracy",), seed=0):
    """A tiny compiled classifier (binary when ``units == 1``, softmax otherwise)."""
    keras.utils.set_random_seed(seed)
    activation = "sigmoid" if units == 1 else "softmax"
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(3, activation="tanh"),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    loss = "binary_crossentropy" if units == 1 else "categorical_crossentropy"
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": lr}})
    model.compile(optimizer=opt, loss=loss, metrics=list(metrics))
    return model


def tf_dataset(X, y, batch_size=16):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size)


def assert_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    return matplotlib.image.imread(path)


def numpy_one_cycle(total, max_lr, pct_start=0.3, div=25.0, final_div=1e4, lo=0.85, hi=0.95):
    """Smith's one-cycle policy written independently, as PyTorch's OneCycleLR defines it."""
    steps = np.arange(total, dtype=float)
    peak = pct_start * total - 1
    start_lr, end_lr = max_lr / div, max_lr / div / final_div
    up = steps <= peak
    t = np.where(up, steps / peak, (steps - peak) / (total - 1 - peak))
    cos = (1 + np.cos(np.pi * t)) / 2
    lr = np.where(up, max_lr + (start_lr - max_lr) * cos, end_lr + (max_lr - end_lr) * cos)
    momentum = np.where(up, lo + (hi - lo) * cos, hi + (lo - hi) * cos)
    return lr, momentum


class EpochWeights(keras.callbacks.Callback):
    """Records the logs and the weights at each epoch end."""

    def __init__(self):
        super().__init__()
        self.logs, self.weights = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.weights.append([np.array(w) for w in self.model.get_weights()])


class BatchWeights(keras.callbacks.Callback):
    """Records the weights before each batch."""

    def __init__(self):
        super().__init__()
        self.before = []

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append([np.array(w) for w in self.model.get_weights()])
