"""Data, search spaces and fixtures shared by the ``test_tuning_*`` and ``test_cli_tune`` modules.

Import them with ``from tuning_helpers import ...`` (pytest puts ``tests/`` on the path).
"""

import keras
import keras_tuner
import numpy as np
import pytest

from kerasx.tuning import MLPHyperModel


def separable_data(n=240, n_features=4, seed=0):
    """A learnable problem: y = 1 when x0 + x1 > 0 (chance accuracy: 50%)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("int64")
    return X, y


def small_space(**overrides):
    """A small MLPHyperModel over 4 features that trains in a second."""
    ranges = dict(
        n_hidden=(1, 2),
        n_neurons=(8, 32),
        learning_rate=(1e-2, 5e-2),
        dropout=(0.0, 0.1),
        l2=(0.0, 1e-4),
        activations=("relu", "tanh"),
    )
    ranges.update(overrides)
    return MLPHyperModel((4,), **ranges)


@pytest.fixture
def no_training(monkeypatch):
    """Makes any ``fit`` fail the test: for checks that must happen before training."""

    def fit(*args, **kwargs):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(keras.Model, "fit", fit)


def declared_space(hypermodel):
    """The ``keras_tuner.HyperParameters`` that ``hypermodel`` declares."""
    hp = keras_tuner.HyperParameters()
    hypermodel.draw(hp)
    return hp


def random_draws(hypermodel, n):
    """``n`` value sets drawn by KerasTuner's own samplers over the declared space."""
    hp = declared_space(hypermodel)
    draws = []
    for seed in range(n):
        values = {p.name: p.random_sample(seed * 7919 + i) for i, p in enumerate(hp.space)}
        draws.append(values)
    return hp, draws


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def holdout_accuracy(model, seed=99):
    X, y = separable_data(400, seed=seed)
    pred = (model.predict(X, verbose=0)[:, 0] > 0.5).astype(int)
    return float(np.mean(pred == y))


def grouped_data(n_rows=240, n_patients=24):
    """Separable rows of ``n_patients`` "patients", their rows interleaved: ``(X, y, groups)``."""
    X, y = separable_data(n_rows)
    groups = np.array([f"P{i % n_patients}" for i in range(n_rows)])
    return X, y, groups
