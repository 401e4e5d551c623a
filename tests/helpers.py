"""Shared test helpers: saving round trips and reference data.

Import them in test modules with ``from helpers import ...`` (pytest puts ``tests/`` on
``sys.path``).
"""

import os

import keras
import numpy as np

SAVE_FORMATS = ("keras", "h5")


def save_and_reload(model, directory, formats=SAVE_FORMATS, compile=True):
    """Saves ``model`` in each format and loads it back **without** ``custom_objects``.

    Args:
        model: a built ``keras.Model``.
        directory: a folder to write to (e.g. pytest's ``tmp_path``).
        formats: any of ``"keras"`` and ``"h5"`` (legacy HDF5).
        compile: passed to ``keras.models.load_model``.

    Returns:
        A dict ``{format: reloaded_model}``.
    """
    reloaded = {}
    for fmt in formats:
        path = os.path.join(str(directory), f"roundtrip_{model.name}.{fmt}")
        model.save(path)
        reloaded[fmt] = keras.models.load_model(path, compile=compile)
    return reloaded


def assert_config_roundtrip(obj):
    """Checks ``from_config(get_config())`` and Keras (de)serialization give the same config."""
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(obj)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(obj)
    assert restored.get_config() == config
    return restored


def model_with(
    *, loss="binary_crossentropy", metrics=(), kernel_regularizer=None, n_features=4, seed=0
):
    """A small compiled binary classifier that uses the given components (for round trips)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_features,))
    hidden = keras.layers.Dense(3, activation="tanh", kernel_regularizer=kernel_regularizer)(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def binary_data(n=64, n_features=4, seed=0):
    """Returns ``(X, y)``: float32 features and 0/1 labels from a logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype("float32")
    logits = X @ rng.standard_normal(n_features)
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype("float32")
    return X, y


def to_numpy(x):
    """A backend tensor (or array-like) as a float64 NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def gradient(fn, x):
    """d fn(x) / dx for a scalar-valued ``fn``, under the active backend."""
    x = keras.ops.convert_to_tensor(np.asarray(x, dtype="float32"))
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tape.gradient(value, x).numpy()


def folder_snapshot(folder, *, mtimes=False):
    """Every file under ``folder`` with its bytes, and its modification time with ``mtimes``
    (empty folders do not count): two equal snapshots mean nothing was written."""
    files = {}
    for where, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(where, name)
            with open(path, "rb") as f:
                content = f.read()
            key = os.path.relpath(path, folder)
            files[key] = (content, os.stat(path).st_mtime_ns) if mtimes else content
    return files
