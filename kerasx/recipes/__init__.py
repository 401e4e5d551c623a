"""The course's models, ready to train: builders, the baseline and the parameter count.

>>> from kerasx.recipes import malaria_mlp, parameter_breakdown
>>> model = malaria_mlp(metrics=["accuracy"])
>>> model.count_params()
9035501
>>> parameter_breakdown(model)[["layer", "params"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['flatten', 0], ['my_dense_layer', 9000300], ['dense_2', 30100], ['dense_3', 5050],
 ['output', 51]]
"""

from kerasx.recipes._analysis import logistic_baseline, parameter_breakdown
from kerasx.recipes._models import (
    DEFAULT_METRICS,
    logistic_regression,
    malaria_mlp,
    mlp,
    softmax_regression,
)
from kerasx.recipes._saving import load_trained_model

__all__ = [
    "DEFAULT_METRICS",
    "load_trained_model",
    "logistic_baseline",
    "logistic_regression",
    "malaria_mlp",
    "mlp",
    "parameter_breakdown",
    "softmax_regression",
]
