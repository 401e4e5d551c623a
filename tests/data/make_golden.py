"""Regenerates the golden model files under ``tests/data/`` (``tests/test_golden.py``).

Run it ONLY when a change of the saved format is intended (a renamed config key, a new
argument with another default...): the point of the golden files is that models saved by an
earlier kerasx keep loading with the same predictions and metric values, and regenerating
them hides exactly that break. Commit the regenerated files with a CHANGELOG line that says
why old files no longer load the same.

    TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python tests/data/make_golden.py

Writes ``golden.keras``, ``golden.h5`` and ``golden.json`` (the fixed input, and the
predictions and ``evaluate`` values of the model that was saved).
"""

import json
import os
import sys

import keras
import numpy as np

from kerasx import __version__, losses, metrics
from kerasx.calibration import TemperatureScaling
from kerasx.regularizers import L2, ElasticNet, GroupLasso

HERE = os.path.dirname(os.path.abspath(__file__))
NUM_CLASSES = 3
N_FEATURES = 4

BINARY_LOSSES = {
    "nll": lambda: losses.BinaryNLL(),
    "poly": lambda: losses.PolyLoss(epsilon=2.0, mode="binary"),
    "fbeta": lambda: losses.SoftFBetaLoss(beta=2.0),
}
MULTICLASS_LOSSES = {
    "poly_sparse": lambda: losses.PolyLoss(mode="sparse_categorical"),
    "kappa": lambda: losses.WeightedKappaLoss(NUM_CLASSES, weights="quadratic"),
}


def binary_metrics():
    return [
        metrics.ConfusionMatrix(),
        metrics.MatthewsCorrelation(),
        metrics.CohenKappa(),
        metrics.Sensitivity(threshold=0.4),
        metrics.Specificity(),
        metrics.BalancedAccuracy(),
        metrics.ExpectedCalibrationError(n_bins=5),
        metrics.BrierScore(),
    ]


def multiclass_metrics():
    return [
        metrics.ConfusionMatrix(num_classes=NUM_CLASSES),
        metrics.MatthewsCorrelation(num_classes=NUM_CLASSES),
        metrics.CohenKappa(num_classes=NUM_CLASSES, weights="linear"),
        metrics.BalancedAccuracy(num_classes=NUM_CLASSES),
        metrics.ExpectedCalibrationError(n_bins=4),
        metrics.BrierScore(),
    ]


def golden_data(n=24, seed=0):
    """The fixed input and labels: ``x`` (n, 4), ``y`` per output (0/1, or 0..2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32") * 3.0 + 1.0
    binary = (x[:, 0] + x[:, 1] > 2.0).astype("float32")
    multiclass = np.digitize(x[:, 2], [0.0, 2.0]).astype("int64")
    y = {name: binary for name in BINARY_LOSSES}
    y.update({name: multiclass for name in MULTICLASS_LOSSES})
    return x, y


def build(x):
    """A small model with every kerasx loss, metric, regularizer and layer, briefly trained."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((N_FEATURES,))
    normalization = keras.layers.Normalization(name="standardize")  # as in malaria_mlp
    normalization.adapt(x)
    hidden = normalization(inputs)
    hidden = keras.layers.Dense(6, "tanh", kernel_regularizer=ElasticNet(0.01, 0.3))(hidden)
    hidden = keras.layers.Dense(5, "tanh", kernel_regularizer=GroupLasso(0.01))(hidden)
    hidden = keras.layers.Dense(5, "tanh", kernel_regularizer=L2(0.01))(hidden)
    outputs = {}
    for name in BINARY_LOSSES:
        logit = keras.layers.Dense(1, name=f"{name}_logit")(hidden)
        outputs[name] = TemperatureScaling(1.5, from_logits=True, name=name)(logit)
    for name in MULTICLASS_LOSSES:
        scores = keras.layers.Dense(NUM_CLASSES, activation="softmax")(hidden)
        outputs[name] = TemperatureScaling(0.8, name=name)(scores)
    model = keras.Model(inputs, outputs, name="golden")
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={name: make() for name, make in {**BINARY_LOSSES, **MULTICLASS_LOSSES}.items()},
        metrics={
            **{name: binary_metrics() for name in BINARY_LOSSES},
            **{name: multiclass_metrics() for name in MULTICLASS_LOSSES},
        },
    )
    return model


def observe(model, x, y):
    """Predictions and ``evaluate`` values, as JSON-ready lists and floats."""
    predictions = model.predict(x, verbose=0)
    values = model.evaluate(x, y, verbose=0, return_dict=True)
    return (
        {name: np.asarray(p).tolist() for name, p in sorted(predictions.items())},
        {name: np.asarray(v).tolist() for name, v in sorted(values.items())},
    )


def main(folder=HERE):
    x, y = golden_data()
    model = build(x)
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    predictions, values = observe(model, x, y)
    model.save(os.path.join(folder, "golden.keras"))  # before .h5 (keras-team/keras#23475)
    model.save(os.path.join(folder, "golden.h5"))
    record = {
        "written_by": f"kerasx {__version__}, keras {keras.__version__}",
        "x": x.tolist(),
        "y": {name: labels.tolist() for name, labels in y.items()},
        "predictions": predictions,
        "evaluate": values,
    }
    with open(os.path.join(folder, "golden.json"), "w", encoding="utf-8") as file:
        json.dump(record, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
