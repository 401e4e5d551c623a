"""Which way is better: every kerasx callback with a best epoch follows each metric's direction.

The expected directions below are written by hand from each metric's definition, not read from
the code. Logs are fed to the callbacks directly (no training), so each case is exact and fast.
"""

import time
import warnings

import keras
import numpy as np
import pytest
from helpers import binary_data

from kerasx import callbacks as cb
from kerasx import metrics
from kerasx.callbacks._direction import resolve_mode

agnostic = pytest.mark.backend_agnostic

EXPECTED = {  # higher is better for agreement and rates; lower for calibration errors
    "BalancedAccuracy": "max",
    "BrierScore": "min",
    "CohenKappa": "max",
    "ConfusionMatrix": None,  # a matrix: never monitored
    "ExpectedCalibrationError": "min",
    "MatthewsCorrelation": "max",
    "Sensitivity": "max",
    "Specificity": "max",
}
SCALAR = sorted(name for name, direction in EXPECTED.items() if direction is not None)
SEQUENCE = (0.3, 0.5, 0.1)  # the best epoch is 1 when higher is better, 2 when lower is
BEST = {"max": 1, "min": 2}


def default_name(class_name):
    return getattr(metrics, class_name)().name


def plain_model():
    """A compiled model with a loss only: the monitored key is known by its name alone."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


@pytest.fixture(scope="module")
def compiled_model():
    """A model compiled with every scalar kerasx metric twice: default name and ``custom_i``.

    The custom names say nothing about the direction, so only the compiled metric objects can
    resolve them. One ``evaluate`` builds the compiled metrics, as the first epoch does.
    """
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    compiled = [getattr(metrics, name)() for name in SCALAR]
    compiled += [getattr(metrics, name)(name=f"custom_{i}") for i, name in enumerate(SCALAR)]
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=compiled)
    X, y = binary_data(n=16)
    model.evaluate(X, y, verbose=0)
    return model


def learning_curves_best(model, key, tmp_path):
    """The 0-based best epoch LearningCurves marks after ``SEQUENCE`` is fed as ``key``."""
    curves = cb.LearningCurves(tmp_path / "curves.png", monitor=key, dpi=10)
    curves.set_model(model)
    curves.on_train_begin()
    for epoch, value in enumerate(SEQUENCE):
        curves.on_epoch_begin(epoch)
        curves.on_epoch_end(epoch, {"loss": 1.0, key: value})
    curves.on_train_end()
    return curves.best_epoch()[0] - 1


def time_limit_best(model, key, monkeypatch):
    """The epoch whose weights TimeLimit restores after ``SEQUENCE`` is fed as ``key``.

    Before each epoch end the weights are set to the epoch's number; a fake clock passes the
    limit in the epoch after the last, which ends the fit and triggers the restore.
    """
    now = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    limit = cb.TimeLimit(seconds=10, restore_best_weights=True, monitor=key)
    limit.set_model(model)
    limit.on_train_begin()
    for epoch, value in enumerate([*SEQUENCE, np.nan]):
        limit.on_epoch_begin(epoch)
        model.set_weights([np.full(w.shape, epoch, w.dtype) for w in model.get_weights()])
        if epoch == len(SEQUENCE):
            now[0] += 11  # past the limit: this epoch is cut and is not a candidate
        limit.on_train_batch_end(0)
        limit.on_epoch_end(epoch, {"loss": 1.0, key: value})
    limit.on_train_end()
    restored = int(model.get_weights()[0].flat[0])
    assert limit.best_epoch == restored
    return restored


@agnostic
def test_every_metric_declares_its_direction():
    """A metric without ``direction`` (or with the wrong one) would leave callbacks guessing."""
    assert sorted(metrics.__all__) == sorted(EXPECTED)
    for name, direction in EXPECTED.items():
        assert getattr(metrics, name).direction == direction, name


@agnostic
@pytest.mark.parametrize("prefix", ["", "val_"])
@pytest.mark.parametrize("class_name", SCALAR)
class TestBestEpoch:
    """LearningCurves and TimeLimit pick the best epoch the metric's direction says.

    Catches the old rule, a list of "higher is better" names without kerasx's metrics
    (``val_matthews_correlation``, ``sensitivity``, ``specificity``, ``cohen_kappa`` got the
    worst epoch), a rule that forgets to strip ``val_``, and, in the ``custom_i`` cases, one that
    does not look at the compiled metric objects (the name alone cannot tell).
    """

    def test_by_name_only(self, class_name, prefix, tmp_path, monkeypatch):
        key = prefix + default_name(class_name)
        best = BEST[EXPECTED[class_name]]
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a name kerasx knows is never ambiguous
            assert learning_curves_best(plain_model(), key, tmp_path) == best
            assert time_limit_best(plain_model(), key, monkeypatch) == best

    @pytest.mark.parametrize("naming", ["default", "custom"])
    def test_through_the_compiled_metric(
        self, class_name, prefix, naming, compiled_model, tmp_path, monkeypatch
    ):
        name = (
            default_name(class_name)
            if naming == "default"
            else f"custom_{SCALAR.index(class_name)}"
        )
        key = prefix + name
        best = BEST[EXPECTED[class_name]]
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            assert learning_curves_best(compiled_model, key, tmp_path) == best
            assert time_limit_best(compiled_model, key, monkeypatch) == best


@agnostic
def test_resolution_order():
    """Explicit mode wins; Keras's own hint serves Keras metrics; an unknown name warns.

    Catches a resolver that lets "auto" override an explicit mode, one that ignores Keras's
    hint on a built-in metric under an uninformative name, and one that guesses silently.
    """
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="sgd",
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="area"), keras.metrics.MeanSquaredError(name="spread")],
    )
    X, y = binary_data(n=16)
    model.evaluate(X, y, verbose=0)
    assert resolve_mode("val_area", "auto", model) == "max"
    assert resolve_mode("val_spread", "auto", model) == "min"
    assert resolve_mode("val_matthews_correlation", "min", model) == "min"
    assert resolve_mode("val_loss", "auto") == "min"
    assert resolve_mode("val_auc_1", "auto") == "max"
    with pytest.warns(UserWarning, match="cannot tell whether a higher or a lower 'val_area'"):
        assert resolve_mode("val_area", "auto") == "min"  # no model: the name alone


class FeedSequence(keras.callbacks.Callback):
    """Overwrites the monitored keys of the epoch logs with ``SEQUENCE`` (first in the list)."""

    def __init__(self, keys):
        super().__init__()
        self.keys = keys

    def on_epoch_end(self, epoch, logs=None):
        for key in self.keys:
            logs[key] = SEQUENCE[epoch]


@agnostic
def test_keras_early_stopping_and_kerasx_agree_in_one_fit(tmp_path):
    """Keras's EarlyStopping(mode="auto") and kerasx's callbacks pick the same best epoch.

    Catches kerasx and Keras reading two different sources of direction (before, Keras read
    ``_direction`` while kerasx read a list of names, and they disagreed on MCC, kappa,
    sensitivity and specificity), and a hint that is not set from ``direction``.
    """
    X, y = binary_data(n=32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="sgd",
        loss="binary_crossentropy",
        metrics=[getattr(metrics, name)() for name in SCALAR],
    )
    keys = ["val_" + default_name(name) for name in SCALAR]
    stops = [keras.callbacks.EarlyStopping(monitor=key, patience=10) for key in keys]
    curves = [cb.LearningCurves(tmp_path / f"{key}.png", monitor=key, dpi=10) for key in keys]
    limits = [cb.TimeLimit(1e9, restore_best_weights=True, monitor=key) for key in keys]
    model.fit(
        X,
        y,
        epochs=len(SEQUENCE),
        validation_data=(X, y),
        verbose=0,
        callbacks=[FeedSequence(keys), *stops, *curves, *limits],
    )
    for name, stop, curve, limit in zip(SCALAR, stops, curves, limits, strict=True):
        expected = BEST[EXPECTED[name]]
        assert (stop.best_epoch, curve.best_epoch()[0] - 1, limit.best_epoch) == (expected,) * 3
