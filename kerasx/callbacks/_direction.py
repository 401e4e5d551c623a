"""Which way is better for a monitored key: the one rule every kerasx callback follows.

An explicit ``mode`` (``"min"`` or ``"max"``) wins. With ``"auto"``, as Keras's own
``EarlyStopping`` does, the key (without ``val_``) is looked up in this order:

1. among the model's compiled metric objects, by name: a kerasx metric's public ``direction``,
   else Keras's own hint (``_direction``, read through :mod:`kerasx._compat`);
2. among kerasx's metric classes, by default name (``"matthews_correlation"`` → ``"max"``), for a
   model not compiled (or not yet built) with that metric;
3. by the name: ``loss``, errors, cross-entropies → ``"min"``; accuracy, AUC, precision,
   recall, F-scores, kappa, correlations → ``"max"``. A name that fits neither warns and gives
   ``"min"`` (where Keras raises).

>>> resolve_mode("val_matthews_correlation", "auto")
'max'
>>> resolve_mode("val_brier_score", "auto"), resolve_mode("val_loss", "max")
('min', 'max')
"""

import functools
import inspect
import re
import warnings

import numpy as np

from kerasx import _compat

MODES = ("auto", "min", "max")

_MAX_NAMES = (
    "acc",
    "accuracy",
    "auc",
    "prc",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
    "f1",
    "f1_score",
    "fbeta_score",
    "r2",
    "r2_score",
    "iou",
    "kappa",
    "correlation",
    "pearson_correlation",
    "concordance_correlation",
)
_MIN_NAMES = (
    "loss",
    "error",
    "crossentropy",
    "divergence",
    "hinge",
    "logcosh",
    "poisson",
    "mae",
    "mape",
    "mse",
    "msle",
    "rmse",
    "brier_score",
)


def resolve_mode(monitor, mode="auto", model=None, *, caller="kerasx"):
    """``"min"`` or ``"max"``: which way is better for the logged key ``monitor``.

    Args:
        monitor: a logged key such as ``"val_matthews_correlation"``.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        model: the model being trained, or ``None``; its compiled metrics are consulted first.
        caller: the name shown in the warning for a name that fits no rule.

    Returns:
        ``"min"`` or ``"max"``.
    """
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    found = _from_compiled(name, model) or declared_directions().get(name)
    if found is None:
        found = _from_name(name)
    if found is None:
        warnings.warn(
            f"{caller}: cannot tell whether a higher or a lower {monitor!r} is better; "
            "assuming lower. Pass mode='max' or mode='min'.",
            stacklevel=3,
        )
        found = "min"
    return found


def best_index(values, mode):
    """The index of the best finite value (the first of ties), or ``None`` when there is none."""
    values = np.asarray(values, dtype=float)
    if values.size == 0 or np.all(np.isnan(values)):
        return None
    return int(np.nanargmax(values) if mode == "max" else np.nanargmin(values))


def is_better(value, best, mode):
    """Whether ``value`` improves on ``best`` (``None``: nothing yet) in direction ``mode``."""
    if best is None:
        return True
    return value > best if mode == "max" else value < best


def _from_compiled(name, model):
    for metric in _compat.compiled_metrics(model):
        if metric.name == name:
            return getattr(metric, "direction", None) or _compat.keras_direction_hint(metric)
    return None


@functools.cache
def declared_directions():
    """``{default name: direction}`` of every kerasx metric class that declares one."""
    from kerasx import metrics  # here: metrics must not import callbacks at import time

    table = {}
    for class_name in metrics.__all__:
        cls = getattr(metrics, class_name)
        name = inspect.signature(cls).parameters.get("name")
        direction = getattr(cls, "direction", None)
        if direction is not None and name is not None and isinstance(name.default, str):
            table[name.default] = direction
    return table


def _from_name(name):
    name = re.sub(r"_\d+$", "", name)  # "auc_1": Keras's suffix for a second metric of a kind
    for direction, words in (("max", _MAX_NAMES), ("min", _MIN_NAMES)):
        if any(name == word or name.endswith("_" + word) for word in words):
            return direction
    return None
