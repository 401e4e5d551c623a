"""The logistic-regression baseline and the hand count of a model's parameters."""

import math

import keras
import numpy as np

from kerasx._validation import check_int, check_positive, invalid_value

__all__ = ["logistic_baseline", "parameter_breakdown"]


def _flatten_rows(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def logistic_baseline(*, C=1.0, max_iter=1000, random_state=0):
    """The course's baseline: scikit-learn's ``LogisticRegression`` on the flattened pixels.

    A two-step pipeline that flattens each image to one row of pixels and fits an L2-penalized
    logistic regression with lbfgs. ``C=1.0`` (scikit-learn's default, what the course ran) is
    kept on purpose: with 30,000 pixels and ~2,000 images the classes are linearly separable, so
    the unpenalized maximum-likelihood estimate (``C=np.inf``) does not exist and lbfgs would only
    stop at ``max_iter``.

    Args:
        C: the inverse of the L2 penalty strength.
        max_iter: the most lbfgs iterations (the course's 1,000).
        random_state: passed to ``LogisticRegression``.

    Returns:
        An unfitted scikit-learn ``Pipeline``; it accepts images or already-flat rows.

    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((40, 4, 4, 3))
    >>> labels = (images[:, 0, 0, 0] > 0.5).astype(int)
    >>> logistic_baseline().fit(images, labels).predict_proba(images).shape
    (40, 2)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    if C != np.inf:  # np.inf: no penalty at all
        check_positive("C", C)
    return make_pipeline(
        FunctionTransformer(_flatten_rows),
        LogisticRegression(
            C=C, max_iter=check_int("max_iter", max_iter, minimum=1), random_state=random_state
        ),
    )


def _n_features(shape):
    """The number of features per sample of a layer's input or output shape."""
    return math.prod(d for d in shape[1:] if d is not None)


def _times(*factors):
    return " × ".join(str(f) for f in factors)


def _weights_formula(layer):
    """The count of a layer's weights as a product, e.g. ``4 × 64`` for a batch normalization."""
    sizes = [math.prod(w.shape) for w in layer.weights]
    if not sizes:
        return ""
    if len(set(sizes)) == 1 and len(sizes) > 1:
        return _times(len(sizes), sizes[0])
    return " + ".join(str(size) for size in sizes)


def _layer_row(layer):
    """One row: what one unit of the layer sees, how many units, and the count as a formula.

    A convolution's unit is a filter: it sees kernel height × width × input channels values
    (the same at every position), so ``inputs`` is that and ``units`` the number of filters.
    """
    bias = getattr(layer, "use_bias", False)
    if isinstance(layer, keras.layers.Dense):
        inputs, units = int(layer.kernel.shape[0]), int(layer.units)
        formula = f"({inputs} + 1) × {units}" if bias else _times(inputs, units)
    elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)):
        kernel = [int(d) for d in layer.kernel.shape[:-1]]  # (*window, input channels)
        inputs, units = math.prod(kernel), int(layer.filters)
        seen = "×".join(str(d) for d in kernel)
        formula = f"({seen} + 1) × {units}" if bias else f"{seen} × {units}"
    else:
        inputs, units = _n_features(layer.input.shape), _n_features(layer.output.shape)
        formula = _weights_formula(layer)
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    return {
        "layer": layer.name,
        "type": type(layer).__name__,
        "inputs": inputs,
        "units": units,
        "params": int(layer.count_params()),
        "trainable": int(trainable),
        "formula": formula,
    }


def parameter_breakdown(model):
    """The course's hand count of a model's parameters, one row per layer.

    For a ``Dense`` layer ``inputs`` is the length of its input vector and ``units`` its number
    of neurons, and ``params`` is (inputs + 1) × units with a bias, inputs × units without. For
    a convolution (``Conv1D``, ``Conv2D``, ``Conv3D``) a unit is a filter: ``inputs`` is what one
    filter sees, kernel height × width × input channels (the same window slides over every
    position, so the image size does not count), and ``units`` the number of filters; the same
    formula gives ``params``. Other layers get their input and output features per sample.
    ``formula`` writes each count out, e.g. ``(3×3×32 + 1) × 64`` for a 3×3 convolution from 32
    to 64 channels, ``4 × 64`` for a batch normalization (γ, β, moving mean and variance).
    ``params`` counts every weight, including non-trainable ones such as a ``Normalization``
    layer's statistics, so the column sums to ``model.count_params()``; ``trainable`` counts the
    trainable ones only. Layers without weights (``Flatten``, ``Dropout``) get a row with 0.

    Args:
        model: a built ``keras.Model``.

    Returns:
        A pandas ``DataFrame`` with columns ``layer``, ``type``, ``inputs``, ``units``,
        ``params``, ``trainable`` and ``formula``.

    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(3)])
    >>> table = parameter_breakdown(model)
    >>> table[["inputs", "units", "params"]].values.tolist()
    [[2, 4, 12], [4, 3, 15]]
    >>> int(table["params"].sum()) == model.count_params()
    True
    >>> conv = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Conv2D(8, 3)])
    >>> parameter_breakdown(conv)[["inputs", "units", "params", "formula"]].values.tolist()
    [[27, 8, 224, '(3×3×3 + 1) × 8']]
    """
    import pandas as pd

    if not isinstance(model, keras.Model) or not model.built:
        raise invalid_value("model", "a built keras.Model", model)
    rows = [
        _layer_row(layer)
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    columns = ["layer", "type", "inputs", "units", "params", "trainable", "formula"]
    return pd.DataFrame(rows, columns=columns)
