"""The objective of a KerasTuner search: a metric the model logs, and which way is better.

Any metric the model compiles can be the objective, plain (on the training rows) or ``val_``
(on the validation rows): Keras's (``val_auc``), kerasx's (``val_matthews_correlation``) or the
loss. The name is checked against what the model logs before any trial trains: for the MLP
(:class:`~kerasx.tuning.MLPHyperModel`) against the metrics it declares, for a model of one's
own by building it once with the default hyperparameters and evaluating it on a few training
rows. Whether higher or lower is better is read from the metric itself, by the rule kerasx's
callbacks follow with ``mode="auto"``: a compiled metric's declared direction (kerasx's
``direction``, Keras's own hint), then kerasx's metric classes by name, then the name
(``loss``, errors → lower; accuracy, AUC, correlations → higher). A name that fits no rule is
refused: pass ``keras_tuner.Objective(name, "max")`` (or ``"min"``) instead.

>>> objective = objective_for("val_matthews_correlation", names=("loss", "val_matthews_correlation"))
>>> objective.name, objective.direction
('val_matthews_correlation', 'max')
>>> objective_for("val_loss").direction
'min'
>>> objective_for("val_mcc", names=("loss", "val_loss"))
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `objective`. Expected one of ('loss', 'val_loss'). Received: objective='val_mcc'
"""

import warnings

import keras_tuner
import numpy as np

from kerasx._validation import check_one_of, invalid_value
from kerasx.callbacks._direction import resolve_mode
from kerasx.tuning.config import objective_name, objective_names

__all__ = ["logged_names", "objective_for"]

#: Rows a model of one's own is evaluated on to learn what it logs (nothing is trained).
_PROBE_ROWS = 32


def logged_names(hypermodel, X=None, y=None):
    """The objectives ``hypermodel``'s models log, and a model built to learn them (or None).

    Args:
        hypermodel: a ``keras_tuner.HyperModel`` or a build function ``build(hp)``.
        X: training inputs, to evaluate a model of one's own on its first rows; None to use
            only what the hypermodel declares (``metric_names``).
        y: training labels.

    Returns:
        ``(names, model)``: the loss and every compiled metric, plain and ``val_``, sorted
        (None when they cannot be known without data), and the model built to learn them.
    """
    declared = getattr(hypermodel, "metric_names", None)
    if declared is not None or X is None:
        return (None if declared is None else tuple(declared)), None
    build = hypermodel.build if isinstance(hypermodel, keras_tuner.HyperModel) else hypermodel
    model = build(keras_tuner.HyperParameters())
    rows = slice(0, min(len(X), _PROBE_ROWS))
    logs = model.evaluate(np.asarray(X)[rows], np.asarray(y)[rows], verbose=0, return_dict=True)
    return objective_names(tuple(logs)), model


def objective_for(objective, names=None, model=None):
    """The ``keras_tuner.Objective`` of ``objective``, with the direction the metric declares.

    Args:
        objective: a metric name (``"val_auc"``) or a ``keras_tuner.Objective``, whose direction
            is then kept as given.
        names: the objectives the model logs (:func:`logged_names`), or None not to check.
        model: a compiled model that logs the metric, to read its declared direction.

    Returns:
        A ``keras_tuner.Objective``.

    Raises:
        ValueError: a name not among ``names``, or one whose direction cannot be told.
    """
    name = objective_name(objective)
    if not isinstance(name, str) or not name:
        raise invalid_value("objective", "a metric name or a keras_tuner.Objective", objective)
    if names is not None:
        check_one_of("objective", name, tuple(names))
    if isinstance(objective, keras_tuner.Objective):
        return objective
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        direction = resolve_mode(name, "auto", model, caller="kerasx.tuning")
    if caught:  # no rule knows the metric: the resolver guessed
        expected = (
            f"a metric whose direction is known, or keras_tuner.Objective({name!r}, 'max') "
            "(or 'min')"
        )
        raise invalid_value("objective", expected, objective)
    return keras_tuner.Objective(name, direction)
