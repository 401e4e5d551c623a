"""Tests of kerasx.backprop against independent references.

References: scikit-learn's unpenalized ``LogisticRegression`` (the MLE) and ``log_loss``,
SciPy's ``expit``, central finite differences, and TensorFlow's ``GradientTape`` on a Keras model.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from kerasx import backprop as bp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "01_logistic_by_hand.py")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
# Keras stores regularization factors as float32: use factors exact in float32 for the comparison.
L1, L2 = 2.0**-7, 2.0**-6
TEMPLATE = r"Invalid value for argument `{}`\. Expected .*\. Received: {}="


def _mle(X, y):
    """scikit-learn's unpenalized MLE (``C=np.inf``: ``penalty=None`` warns in sklearn 1.9)."""
    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
    return model.fit(X, y).coef_.ravel()


def _rel_err(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.fixture(scope="module")
def course_data():
    X, y = bp.simulate_logistic(1000, (1.0, 2.0), seed=0)
    return X, y, _mle(X, y)


def _mlp_case(activation, output, penalized, reduction="sum", seed=0):
    """A random 3 → 5 → 4 → out network with non-zero biases, data and labels."""
    rng = np.random.default_rng(seed)
    units = 1 if output == "sigmoid" else 3
    penalties = {"l1": L1, "l2": L2} if penalized else {}
    mlp = bp.MLP.initialize(
        [3, 5, 4, units], activation, output=output, reduction=reduction, seed=seed, **penalties
    )
    for b in mlp.biases:
        b[:] = 0.1 * rng.standard_normal(b.shape)
    X = rng.standard_normal((20, 3))
    labels = rng.integers(0, units if units > 1 else 2, 20)
    y = labels.astype(float) if output == "sigmoid" else np.eye(units)[labels]
    return mlp, X, y


# --------------------------------------------------------------------------- logistic regression


@pytest.mark.backend_agnostic
class TestSigmoid:
    @settings(max_examples=200, deadline=None)
    @given(st.floats(min_value=-1e308, max_value=1e308))
    def test_matches_scipy_expit(self, z):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            got = bp.sigmoid(z)
        np.testing.assert_allclose(got, expit(z), rtol=1e-15, atol=0)

    def test_array_and_symmetry(self, rng):
        z = rng.standard_normal(50) * 30
        np.testing.assert_allclose(bp.sigmoid(z), expit(z), rtol=1e-15)
        np.testing.assert_allclose(bp.sigmoid(-z), 1 - bp.sigmoid(z), atol=1e-15)


@pytest.mark.backend_agnostic
class TestLogisticSteps:
    def test_simulate_logistic_follows_the_model(self):
        X, y = bp.simulate_logistic(20_000, (1.0, 2.0), seed=3)
        assert X.shape == (20_000, 2) and y.shape == (20_000,)
        assert set(np.unique(y)) == {0.0, 1.0}
        np.testing.assert_allclose(X.mean(0), 0, atol=0.03)
        np.testing.assert_allclose(X.std(0), 1, atol=0.03)
        # calibration: the mean label in each bin of true p matches the bin's mean p
        p = expit(X @ np.array([1.0, 2.0]))
        bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8])
        for k in range(5):
            assert abs(y[bins == k].mean() - p[bins == k].mean()) < 0.03

    def test_simulate_logistic_is_seeded_and_takes_X(self, rng):
        a, b = bp.simulate_logistic(50, seed=1), bp.simulate_logistic(50, seed=1)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        X = rng.uniform(size=(30, 3))
        X_out, y = bp.simulate_logistic(beta=(0.5, -1.0, 2.0), X=X)
        np.testing.assert_array_equal(X_out, X)
        assert y.shape == (30,)

    def test_forward_matches_sklearn_log_loss(self, rng):
        X = rng.standard_normal((40, 3))
        y = rng.integers(0, 2, 40).astype(float)
        beta = rng.standard_normal(3)
        p_hat, nll = bp.forward(X, y, beta)
        np.testing.assert_allclose(p_hat, expit(X @ beta), rtol=1e-14)
        np.testing.assert_allclose(nll, log_loss(y, p_hat, normalize=False), rtol=1e-12)

    def test_forward_nll_is_finite_when_saturated(self):
        X, y = np.array([[1000.0], [-1000.0]]), np.array([0.0, 1.0])
        p_hat, nll = bp.forward(X, y, np.array([1.0]))
        np.testing.assert_array_equal(p_hat, [1.0, 0.0])
        assert nll == pytest.approx(2000.0)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_backward_matches_finite_differences(self, seed):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((30, 4))
        y = rng.integers(0, 2, 30).astype(float)
        beta = rng.standard_normal(4)
        p_hat, _ = bp.forward(X, y, beta)
        numeric = bp.numerical_gradient(lambda b: bp.forward(X, y, b)[1], beta, 1e-6)
        assert _rel_err(bp.backward(X, y, p_hat), numeric) < 1e-6

    @pytest.mark.parametrize("p_hat", [[1.0, 1.0], [0.0, 5e-324], [1e-310, 1 - 1e-16]])
    def test_backward_when_saturated_is_the_simplified_form(self, p_hat):
        X, y, p_hat = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0]), np.array(p_hat)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            grad = bp.backward(X, y, p_hat)
        np.testing.assert_allclose(grad, X.T @ (p_hat - y), rtol=1e-12)

    def test_optimize_is_one_step_of_the_gradient(self, rng):
        X = rng.standard_normal((25, 2))
        y = rng.integers(0, 2, 25).astype(float)
        beta = np.array([-2.5, -2.5])
        new_beta, nll = bp.optimize(X, y, beta, alpha=0.01)
        p = expit(X @ beta)
        np.testing.assert_allclose(new_beta, beta - 0.01 * X.T @ (p - y), rtol=1e-13)
        np.testing.assert_allclose(nll, log_loss(y, p, normalize=False), rtol=1e-12)
        np.testing.assert_allclose(
            bp.gradient_descent(0.5, np.array([1.0, 1.0]), np.array([2.0, -4.0])), [0.0, 3.0]
        )


@pytest.mark.backend_agnostic
class TestLrNn:
    def test_full_batch_converges_to_the_sklearn_mle(self, course_data):
        X, y, mle = course_data
        beta_hat, history = bp.lr_nn(X, y, epochs=300, alpha=0.002)
        assert np.max(np.abs(beta_hat - mle)) < 1e-3
        assert history.shape == (300,)
        np.testing.assert_allclose(
            history[-1], log_loss(y, expit(X @ beta_hat), normalize=False), rtol=1e-10
        )

    def test_full_batch_history_is_non_increasing(self, course_data):
        X, y, _ = course_data
        _, history = bp.lr_nn(X, y, epochs=300, alpha=0.001)
        assert history[0] > history[-1]
        # allow rounding noise once converged (NLL ~ 400, float64 eps ~ 1e-16)
        assert np.all(np.diff(history) <= 1e-9)

    def test_mini_batch_sgd_lands_near_the_mle(self, course_data):
        X, y, mle = course_data
        beta_hat, history = bp.lr_nn(X, y, epochs=30, alpha=0.003, batch_size=32, seed=0)
        assert np.max(np.abs(beta_hat - mle)) < 0.05
        assert history.shape == (30,)

    def test_mini_batch_shuffles_by_seed(self, course_data):
        X, y, _ = course_data
        a = bp.lr_nn(X[:200], y[:200], epochs=2, alpha=0.01, batch_size=16, seed=1)[0]
        b = bp.lr_nn(X[:200], y[:200], epochs=2, alpha=0.01, batch_size=16, seed=1)[0]
        c = bp.lr_nn(X[:200], y[:200], epochs=2, alpha=0.01, batch_size=16, seed=2)[0]
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)

    def test_mini_batch_reshuffles_every_epoch(self, monkeypatch):
        X, y = bp.simulate_logistic(10, seed=0)
        drawn = []
        make_rng = np.random.default_rng

        class SpyGenerator:
            def __init__(self, seed):
                self._rng = make_rng(seed)

            def permutation(self, n):
                order = self._rng.permutation(n)
                drawn.append(order)
                return order

        monkeypatch.setattr(np.random, "default_rng", SpyGenerator)
        bp.lr_nn(X, y, epochs=3, alpha=0.1, batch_size=4)
        assert len(drawn) == 3
        assert all(sorted(d) == list(range(10)) for d in drawn)
        assert not all(np.array_equal(drawn[0], d) for d in drawn[1:])

    def test_one_batch_of_everything_is_full_batch(self, course_data):
        X, y, _ = course_data
        full = bp.lr_nn(X, y, epochs=5, alpha=0.001)
        one_batch = bp.lr_nn(X, y, epochs=5, alpha=0.001, batch_size=len(y))
        np.testing.assert_allclose(one_batch[0], full[0], rtol=1e-12)
        np.testing.assert_allclose(one_batch[1], full[1], rtol=1e-12)

    def test_init_vector(self, course_data):
        X, y, _ = course_data
        beta, _ = bp.lr_nn(X, y, epochs=1, alpha=1e-12, init=[0.5, -0.5])
        np.testing.assert_allclose(beta, [0.5, -0.5], atol=1e-8)


class TestLrNnMatchesKeras:
    def test_alpha_is_keras_learning_rate_over_batch_size(self, course_data):
        """The documented conversion: Keras SGD(lr) on mean BCE == lr_nn with alpha = lr / b."""
        import keras

        X, y, _ = course_data
        X = X.astype(np.float32).astype(np.float64)  # fit() casts the inputs to floatx (float32)
        model = keras.Sequential(
            [
                keras.Input((2,), dtype="float64"),
                keras.layers.Dense(1, "sigmoid", use_bias=False, dtype="float64"),
            ]
        )
        model.layers[0].set_weights([np.full((2, 1), -2.5)])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.5),
            loss=keras.losses.BinaryCrossentropy(dtype="float64"),
        )
        model.fit(X, y, batch_size=len(y), epochs=3, shuffle=False, verbose=0)
        beta_hat, _ = bp.lr_nn(X, y, epochs=3, alpha=0.5 / len(y))
        np.testing.assert_allclose(model.layers[0].get_weights()[0].ravel(), beta_hat, rtol=1e-10)


# --------------------------------------------------------------------------- MLP reference


@pytest.mark.backend_agnostic
class TestMLP:
    @pytest.mark.parametrize("penalized", [False, True])
    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    @pytest.mark.parametrize("activation", ACTIVATIONS)
    def test_backward_matches_finite_differences(self, activation, output, penalized):
        mlp, X, y = _mlp_case(activation, output, penalized)
        grad_weights, grad_biases = mlp.backward(X, y)
        for params, grads in ((mlp.weights, grad_weights), (mlp.biases, grad_biases)):
            for i, original in enumerate(params):

                def loss_at(value, params=params, i=i, original=original):
                    params[i] = value
                    try:
                        return mlp.loss(X, y)
                    finally:
                        params[i] = original

                numeric = bp.numerical_gradient(loss_at, original, 1e-6)
                assert _rel_err(grads[i], numeric) < 1e-6, (i, activation, output)

    def test_mixed_activations_and_mean_reduction(self):
        mlp, X, y = _mlp_case("tanh", "softmax", True, reduction="mean")
        mlp.activations = ["relu", "sigmoid"]
        grad_weights, _ = mlp.backward(X, y)

        def loss_at(w):
            original, mlp.weights[0] = mlp.weights[0], w
            try:
                return mlp.loss(X, y)
            finally:
                mlp.weights[0] = original

        assert _rel_err(grad_weights[0], bp.numerical_gradient(loss_at, mlp.weights[0])) < 1e-6

    def test_mean_is_sum_over_n_without_penalty(self):
        mlp_sum, X, y = _mlp_case("relu", "sigmoid", False)
        mlp_mean = bp.MLP(mlp_sum.weights, mlp_sum.biases, "relu", reduction="mean")
        np.testing.assert_allclose(mlp_mean.loss(X, y) * len(X), mlp_sum.loss(X, y), rtol=1e-13)
        for g_mean, g_sum in zip(
            mlp_mean.backward(X, y)[0], mlp_sum.backward(X, y)[0], strict=True
        ):
            np.testing.assert_allclose(g_mean * len(X), g_sum, rtol=1e-13)

    def test_loss_matches_sklearn_log_loss(self):
        for output in ("sigmoid", "softmax"):
            mlp, X, y = _mlp_case("tanh", output, False, reduction="mean")
            p = mlp.predict(X)
            p = np.column_stack([1 - p, p]) if output == "sigmoid" else p
            labels = y if output == "sigmoid" else y.argmax(1)
            expected = log_loss(labels, p, labels=list(range(p.shape[1])))
            np.testing.assert_allclose(mlp.loss(X, y), expected, rtol=1e-10)

    def test_penalty_is_keras_l1l2_on_weights_only(self):
        mlp, _, _ = _mlp_case("tanh", "sigmoid", True)
        expected = sum(L1 * np.abs(w).sum() + L2 * (w**2).sum() for w in mlp.weights)
        assert mlp.penalty() == pytest.approx(expected, rel=1e-13)

    def test_one_layer_sigmoid_is_the_logistic_backward(self, rng):
        X = rng.standard_normal((30, 2))
        y = rng.integers(0, 2, 30).astype(float)
        beta = rng.standard_normal(2)
        mlp = bp.MLP([beta[:, None]], [np.zeros(1)])
        p_hat, nll = bp.forward(X, y, beta)
        assert mlp.loss(X, y) == pytest.approx(nll, rel=1e-13)
        np.testing.assert_allclose(mlp.backward(X, y)[0][0].ravel(), bp.backward(X, y, p_hat))

    @pytest.mark.parametrize("output", ["sigmoid", "softmax"])
    def test_linear_hidden_layers_collapse_to_one_linear_map(self, output, rng):
        """The course's homework: linear activations keep the whole network one linear map."""
        units = 1 if output == "sigmoid" else 3
        weights = [rng.standard_normal(s) for s in [(4, 6), (6, 5), (5, 3), (3, units)]]
        biases = [rng.standard_normal(w.shape[1]) for w in weights]
        mlp = bp.MLP(weights, biases, "linear", output=output)
        W, b = weights[0], biases[0]
        for w_next, b_next in zip(weights[1:], biases[1:], strict=True):
            W, b = W @ w_next, b @ w_next + b_next  # (XW + b)W' + b' = X(WW') + (bW' + b')
        X = rng.standard_normal((50, 4))
        np.testing.assert_allclose(mlp.logits(X), X @ W + b, rtol=1e-10, atol=1e-10)
        collapsed = bp.MLP([W], [b], output=output)
        np.testing.assert_allclose(mlp.predict(X), collapsed.predict(X), rtol=1e-10, atol=1e-12)
        assert np.linalg.matrix_rank(W) <= min(W.shape)

    def test_initialize_is_glorot_uniform(self):
        mlp = bp.MLP.initialize([200, 300, 1], seed=0)
        limit = np.sqrt(6 / 500)
        w = mlp.weights[0]
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
        np.testing.assert_allclose(w.var(), limit**2 / 3, rtol=0.02)  # variance of U(-a, a)
        assert not mlp.biases[0].any()


class TestMLPMatchesGradientTape:
    @pytest.mark.parametrize(
        ("activations", "output", "penalized"),
        [
            (["sigmoid", "tanh"], "sigmoid", False),
            (["relu", "linear"], "sigmoid", True),
            (["tanh", "relu"], "softmax", False),
            (["linear", "sigmoid"], "softmax", True),
        ],
    )
    def test_gradients_equal_tapes(self, activations, output, penalized):
        import keras
        import tensorflow as tf

        mlp, X, y = _mlp_case("tanh", output, penalized, reduction="mean", seed=4)
        mlp.activations = activations
        layers = [keras.Input((3,), dtype="float64")]
        for w, act in zip(mlp.weights, [*activations, output], strict=True):
            regularizer = keras.regularizers.L1L2(L1, L2) if penalized else None
            layers.append(
                keras.layers.Dense(w.shape[1], act, kernel_regularizer=regularizer, dtype="float64")
            )
        model = keras.Sequential(layers)
        for layer, w, b in zip(model.layers, mlp.weights, mlp.biases, strict=True):
            layer.set_weights([w, b])
        loss_fn = (
            keras.losses.BinaryCrossentropy(dtype="float64")
            if output == "sigmoid"
            else keras.losses.CategoricalCrossentropy(dtype="float64")
        )
        y_keras = y.reshape(-1, 1) if output == "sigmoid" else y
        with tf.GradientTape() as tape:
            loss = loss_fn(y_keras, model(X, training=True)) + tf.add_n(
                [tf.constant(0.0, tf.float64), *model.losses]
            )
        tape_grads = tape.gradient(loss, model.trainable_weights)
        assert float(loss) == pytest.approx(mlp.loss(X, y), rel=1e-10)
        grad_weights, grad_biases = mlp.backward(X, y)
        ours = [g for pair in zip(grad_weights, grad_biases, strict=True) for g in pair]
        for theirs, mine in zip(tape_grads, ours, strict=True):
            np.testing.assert_allclose(theirs.numpy(), mine, rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------- numerical_gradient


@pytest.mark.backend_agnostic
class TestNumericalGradient:
    def test_matches_analytic_gradient_and_leaves_w_alone(self, rng):
        w = rng.standard_normal((3, 4))
        w_before = w.copy()
        numeric = bp.numerical_gradient(lambda v: np.sum(np.sin(v) * v), w, 1e-6)
        np.testing.assert_allclose(numeric, np.cos(w) * w + np.sin(w), rtol=1e-8, atol=1e-9)
        np.testing.assert_array_equal(w, w_before)

    def test_error_is_order_eps_squared(self):
        # f = w³: the central difference is exactly 3w² + eps²
        got = bp.numerical_gradient(lambda v: float(v[0] ** 3), np.array([1.0]), 1e-2)
        assert got[0] == pytest.approx(3.0 + 1e-4, rel=1e-10)


# --------------------------------------------------------------------------- bad input


def _xy(n=5, q=2):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, q)), rng.integers(0, 2, n).astype(float)


X5, Y5 = _xy()
BETA = np.zeros(2)

BAD_CALLS = {
    "lengths_forward": ("y", lambda: bp.forward(X5, Y5[:4], BETA)),
    "lengths_lr_nn": ("y", lambda: bp.lr_nn(X5, Y5[:4], 1, alpha=0.1)),
    "lengths_backward": ("p_hat", lambda: bp.backward(X5, Y5, np.full(4, 0.5))),
    "y_not_binary": ("y", lambda: bp.forward(X5, Y5 + 0.5, BETA)),
    "y_not_binary_lr_nn": ("y", lambda: bp.lr_nn(X5, 2 * Y5 - 1, 1, alpha=0.1)),
    "X_nan": ("X", lambda: bp.forward(np.where(X5 > 0, np.nan, X5), Y5, BETA)),
    "X_inf": ("X", lambda: bp.lr_nn(np.where(X5 > 0, np.inf, X5), Y5, 1, alpha=0.1)),
    "y_nan": ("y", lambda: bp.forward(X5, np.where(Y5 > 0, np.nan, Y5), BETA)),
    "beta_nan": ("beta", lambda: bp.forward(X5, Y5, np.array([np.nan, 0.0]))),
    "X_1d": ("X", lambda: bp.forward(X5[:, 0], Y5, BETA)),
    "p_hat_range": ("p_hat", lambda: bp.backward(X5, Y5, np.full(5, 1.5))),
    "epochs_0": ("epochs", lambda: bp.lr_nn(X5, Y5, 0, alpha=0.1)),
    "epochs_float": ("epochs", lambda: bp.lr_nn(X5, Y5, 2.0, alpha=0.1)),
    "batch_size_0": ("batch_size", lambda: bp.lr_nn(X5, Y5, 1, alpha=0.1, batch_size=0)),
    "alpha_0": ("alpha", lambda: bp.lr_nn(X5, Y5, 1, alpha=0.0)),
    "alpha_negative": ("alpha", lambda: bp.optimize(X5, Y5, BETA, alpha=-1.0)),
    "alpha_gd": ("alpha", lambda: bp.gradient_descent(0, BETA, BETA)),
    "beta_length": ("beta", lambda: bp.forward(X5, Y5, np.zeros(3))),
    "beta_length_optimize": ("beta", lambda: bp.optimize(X5, Y5, np.zeros(1), alpha=0.1)),
    "init_length": ("init", lambda: bp.lr_nn(X5, Y5, 1, alpha=0.1, init=[1.0, 2.0, 3.0])),
    "grad_length": ("grad", lambda: bp.gradient_descent(0.1, BETA, np.zeros(3))),
    "eps_0": ("eps", lambda: bp.numerical_gradient(np.sum, BETA, 0.0)),
    "n_0": ("n", lambda: bp.simulate_logistic(0)),
    "sim_X_columns": ("beta", lambda: bp.simulate_logistic(beta=(1.0, 2.0), X=np.ones((4, 3)))),
    "mlp_y_not_one_hot": (
        "y",
        lambda: bp.MLP.initialize([2, 3], output="softmax").loss(X5, np.full((5, 3), 1 / 3)),
    ),
    "mlp_y_wrong_classes": (
        "y",
        lambda: bp.MLP.initialize([2, 3], output="softmax").backward(
            X5, np.eye(2)[[0, 1, 0, 1, 0]]
        ),
    ),
    "mlp_y_not_binary": ("y", lambda: bp.MLP.initialize([2, 1]).loss(X5, Y5 + 2)),
    "mlp_lengths": ("y", lambda: bp.MLP.initialize([2, 1]).backward(X5, Y5[:3])),
    "mlp_X_nan": ("X", lambda: bp.MLP.initialize([2, 1]).loss(X5 * np.nan, Y5)),
    "mlp_X_columns": ("X", lambda: bp.MLP.initialize([3, 1]).predict(X5)),
    "mlp_activation": ("activations", lambda: bp.MLP.initialize([2, 3, 1], "swish")),
    "mlp_activations_count": ("activations", lambda: bp.MLP.initialize([2, 3, 1], ["relu"] * 2)),
    "mlp_output": ("output", lambda: bp.MLP.initialize([2, 1], output="linear")),
    "mlp_sigmoid_units": ("weights[0]", lambda: bp.MLP.initialize([2, 2])),
    "mlp_softmax_units": ("weights[0]", lambda: bp.MLP.initialize([2, 1], output="softmax")),
    "mlp_chain": (
        "weights[1]",
        lambda: bp.MLP([np.ones((2, 3)), np.ones((4, 1))], [np.ones(3), np.ones(1)]),
    ),
    "mlp_bias_shape": ("biases[0]", lambda: bp.MLP([np.ones((2, 1))], [np.ones(2)])),
    "mlp_l2": ("l2", lambda: bp.MLP.initialize([2, 1], l2=-0.1)),
    "mlp_l1_count": ("l1", lambda: bp.MLP.initialize([2, 3, 1], l1=[0.1])),
    "mlp_reduction": ("reduction", lambda: bp.MLP.initialize([2, 1], reduction="none")),
}


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises_the_standard_error(case):
    name, call = BAD_CALLS[case]
    with pytest.raises(ValueError, match=TEMPLATE.format(re.escape(name), re.escape(name))):
        call()


# --------------------------------------------------------------------------- the recipe


@pytest.mark.backend_agnostic
def test_recipe_quick_prints_beta_hat_near_the_mle(course_data):
    _, _, mle = course_data
    result = subprocess.run(
        [sys.executable, RECIPE, "--quick"], capture_output=True, text=True, timeout=120, check=True
    )
    row = re.search(r"^beta_hat\s+(\S+)\s+(\S+)", result.stdout, flags=re.MULTILINE)
    assert row, result.stdout
    beta_hat = np.array([float(row.group(1)), float(row.group(2))])
    assert np.max(np.abs(beta_hat - mle)) < 1e-3, result.stdout
    assert re.search(r"final NLL", result.stdout)


@pytest.mark.backend_agnostic
def test_recipe_rejects_bad_arguments_with_the_standard_message():
    """The course step is top-level code (a notebook too): run it as the script it is."""
    result = subprocess.run(
        [sys.executable, RECIPE, "--quick", "--alpha", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Invalid value for argument `alpha`" in result.stderr
    assert "beta_hat" not in result.stdout  # nothing ran
