"""One model with every kerasx loss (one at a time), metric and regularizer: save, reload, train on.

Each model is saved to ``.keras`` and legacy ``.h5`` and loaded back without
``custom_objects``; the reloaded model must give the same predictions and the same ``evaluate``
values (loss, every metric, the regularization penalties), and must continue training exactly
as the original does.
"""

import os

import keras
import numpy as np
import pytest
from helpers import binary_data, save_and_reload

from kerasx import losses, metrics
from kerasx.recipes import load_trained_model
from kerasx.regularizers import ElasticNet, GroupLasso

NUM_CLASSES = 3


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
    # Sensitivity and Specificity are binary-only; they are in the binary models.
    return [
        metrics.ConfusionMatrix(num_classes=NUM_CLASSES),
        metrics.MatthewsCorrelation(num_classes=NUM_CLASSES),
        metrics.CohenKappa(num_classes=NUM_CLASSES, weights="quadratic"),
        metrics.BalancedAccuracy(num_classes=NUM_CLASSES),
        metrics.ExpectedCalibrationError(),
        metrics.BrierScore(),
    ]


CASES = {
    "binary_nll": (lambda: losses.BinaryNLL(), "binary"),
    "poly_binary": (lambda: losses.PolyLoss(epsilon=2.0, mode="binary"), "binary"),
    "soft_fbeta": (lambda: losses.SoftFBetaLoss(beta=2.0), "binary"),
    "poly_sparse": (lambda: losses.PolyLoss(mode="sparse_categorical"), "multiclass"),
    "weighted_kappa": (
        lambda: losses.WeightedKappaLoss(NUM_CLASSES, weights="linear"),
        "multiclass",
    ),
}


def build(loss, kind, n_features=6, seed=0):
    keras.utils.set_random_seed(seed)
    binary = kind == "binary"
    inputs = keras.Input((n_features,))
    hidden = keras.layers.Dense(5, "tanh", kernel_regularizer=ElasticNet(0.01, 0.3))(inputs)
    hidden = keras.layers.Dense(4, "tanh", kernel_regularizer=GroupLasso(0.01))(hidden)
    outputs = keras.layers.Dense(
        1 if binary else NUM_CLASSES, activation="sigmoid" if binary else "softmax"
    )(hidden)
    model = keras.Model(inputs, outputs, name=f"all_{kind}")
    model.compile(
        optimizer="adam",
        loss=loss,
        metrics=binary_metrics() if binary else multiclass_metrics(),
    )
    return model


def data(kind, n=96, n_features=6):
    if kind == "binary":
        return binary_data(n=n, n_features=n_features)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, n_features)).astype("float32")
    labels = np.argmax(X[:, :NUM_CLASSES] + 0.7 * rng.standard_normal((n, NUM_CLASSES)), axis=1)
    return X, labels


def assert_same_results(actual, expected, where):
    assert set(actual) == set(expected), where
    for key, value in expected.items():
        np.testing.assert_allclose(
            np.asarray(actual[key]),
            np.asarray(value),
            rtol=1e-5,
            atol=1e-7,
            err_msg=f"{where}: {key}",
        )


@pytest.mark.parametrize("case", list(CASES))
def test_every_component_saves_reloads_and_trains_on(case, tmp_path):
    make_loss, kind = CASES[case]
    X, y = data(kind)
    model = build(make_loss(), kind)
    model.fit(X, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    expected = model.evaluate(X, y, batch_size=48, verbose=0, return_dict=True)
    predictions = model.predict(X, verbose=0)
    assert expected["confusion_matrix"].shape in ((2, 2), (NUM_CLASSES, NUM_CLASSES))
    assert np.sum(expected["confusion_matrix"]) == pytest.approx(len(y))

    reloaded_models = save_and_reload(model, tmp_path)
    for fmt, reloaded in reloaded_models.items():
        assert type(reloaded.loss) is type(model.loss), fmt
        assert reloaded.loss.get_config() == model.loss.get_config(), fmt
        regularizers = [layer.kernel_regularizer for layer in reloaded.layers[1:3]]
        assert [type(r) for r in regularizers] == [ElasticNet, GroupLasso], fmt
        np.testing.assert_allclose(reloaded.predict(X, verbose=0), predictions, rtol=1e-6)
        results = reloaded.evaluate(X, y, batch_size=48, verbose=0, return_dict=True)
        assert_same_results(results, expected, fmt)

    # Training goes on as if the model had never been saved (optimizer state included).
    # kerasx.recipes.load_trained_model works around Keras 3.15's legacy .h5 optimizer bug.
    continued = {
        fmt: load_trained_model(os.path.join(tmp_path, f"roundtrip_{model.name}.{fmt}"))
        for fmt in reloaded_models
    }
    model.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for fmt, reloaded in continued.items():
        history = reloaded.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        assert np.isfinite(history.history["loss"][0]), fmt
        for ours, theirs in zip(reloaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=fmt)
