"""The course's models, ready to train: builders, the baseline and the parameter count.

Names are imported on first use, so ``kerasx --help`` does not load Keras.

>>> from kerasx.recipes import malaria_mlp, parameter_breakdown
>>> model = malaria_mlp(metrics=["accuracy"])
>>> model.count_params()
9035501
>>> parameter_breakdown(model)[["layer", "params"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['flatten', 0], ['my_dense_layer', 9000300], ['dense_2', 30100], ['dense_3', 5050],
 ['output', 51]]
"""

import importlib

_EXPORTS = {
    "load_trained_model": "_saving",
    "logistic_baseline": "_analysis",
    "logistic_regression": "_models",
    "malaria_cnn": "_cnn",
    "malaria_mlp": "_models",
    "mlp": "_models",
    "parameter_breakdown": "_analysis",
    "softmax_regression": "_models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"kerasx.recipes.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kerasx.recipes' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
