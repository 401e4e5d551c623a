"""Small helpers shared by the kerasx callbacks: numbers, paths and one-time warnings."""

import os
import warnings

import keras

from kerasx._validation import invalid_value


def to_float(value):
    """A Python float from a Keras variable, a backend tensor or a number."""
    if isinstance(value, keras.Variable):
        value = keras.ops.copy(value)  # np.asarray(variable) warns under NumPy 2
    return float(keras.ops.convert_to_numpy(value))


def current_learning_rate(model):
    """The optimizer's current learning rate as a float, or ``None`` when there is none."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        return to_float(optimizer.learning_rate)
    except (TypeError, ValueError, AttributeError):
        return None


def check_path(name, path):
    """``path`` as a ``str``; a non-empty ``str`` or ``os.PathLike`` is required."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise invalid_value(name, "a file path (str or os.PathLike)", path)
    return os.fspath(path)


def check_monitor(monitor):
    """``monitor`` itself; a ``str`` is required."""
    if not isinstance(monitor, str):
        raise invalid_value("monitor", "a str", monitor)
    return monitor


def warn_once(callback, message):
    """Warns ``"<Callback>: message"`` the first time per ``fit`` (reset ``_warned`` to re-arm)."""
    if not getattr(callback, "_warned", False):
        callback._warned = True
        warnings.warn(f"{type(callback).__name__}: {message}", stacklevel=3)


def warn_missing(callback, key, logs):
    """Warns once per ``fit`` that the monitored ``key`` is not in ``logs``."""
    warn_once(
        callback,
        f"the monitored key {key!r} is not in the logs (available: {sorted(logs)}); it is ignored.",
    )
