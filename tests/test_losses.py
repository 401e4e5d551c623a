"""kerasx.losses against NumPy references, Keras built-ins and scikit-learn."""

import re

import keras
import numpy as np
import pytest
from helpers import (
    assert_config_roundtrip,
    binary_data,
    gradient,
    model_with,
    save_and_reload,
    to_numpy,
)
from sklearn.metrics import cohen_kappa_score, fbeta_score

from kerasx import losses as kl

EPS = 1e-7  # keras.config.epsilon()
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"]


# ---------------------------------------------------------------- NumPy references (float64)
def np_reduce(per_sample, weights, reduction):
    w = np.ones_like(per_sample) if weights is None else weights
    values = per_sample * w
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return values.sum() / w.sum()
    return values.sum() / values.size


def np_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def np_bce(y, p, from_logits):
    """Element-wise Bernoulli NLL; from logits via log σ(z) = −log(1 + e^{−z})."""
    if from_logits:
        return y * np.logaddexp(0.0, -p) + (1 - y) * np.logaddexp(0.0, p)
    # Clip bounds as float32 holds them: 1 − 1e-7 rounds to 1 − 1.19e-7.
    p = np.clip(p, np.float32(EPS), np.float32(1 - EPS)).astype("float64")
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def np_poly1(y, p, epsilon, from_logits, mode):
    if mode == "binary":
        prob = np_sigmoid(p) if from_logits else p
        p_t = y * prob + (1 - y) * (1 - prob)
        return (np_bce(y, p, from_logits) + epsilon * (1 - p_t)).mean(axis=-1)
    if mode == "sparse_categorical":
        y = np.eye(p.shape[-1])[y.reshape(-1).astype(int)]
    if from_logits:
        log_p = p - np.logaddexp.reduce(p, axis=-1, keepdims=True)
        prob = np.exp(log_p)
    else:
        prob = p / p.sum(axis=-1, keepdims=True)
        log_p = np.log(np.clip(prob, np.float32(EPS), np.float32(1 - EPS)).astype("float64"))
    return -(y * log_p).sum(axis=-1) + epsilon * (1 - (y * prob).sum(axis=-1))


def np_soft_fbeta(y, p, beta, weights=None):
    y, p = y.reshape(len(y), -1), p.reshape(len(p), -1)
    w = np.ones((len(y), 1)) if weights is None else weights.reshape(-1, 1)
    tp = (w * y * p).sum(0)
    fp = (w * (1 - y) * p).sum(0)
    fn = (w * y * (1 - p)).sum(0)
    f = (1 + beta**2) * tp / ((1 + beta**2) * tp + beta**2 * fn + fp + EPS)
    return 1 - f.mean()


def np_weighted_kappa(labels, p, weights, epsilon, sample_weight=None):
    """log(1 − κ + ε) from the soft confusion matrix, labels as integers."""
    c = p.shape[1]
    w = np.ones(len(labels)) if sample_weight is None else sample_weight
    observed = np.zeros((c, c))
    for label, row, weight in zip(labels, p, w, strict=True):
        observed[int(label)] += weight * row
    expected = np.outer(observed.sum(1), observed.sum(0)) / w.sum()
    j, k = np.indices((c, c))
    disagreement = np.abs(j - k) if weights == "linear" else (j - k) ** 2
    ratio = (disagreement * observed).sum() / (disagreement * expected).sum()
    return np.log(ratio + epsilon)


# ---------------------------------------------------------------- data
def binary_batch(n=12, k=1, seed=0, logits=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (n, k)).astype("float32")
    p = rng.standard_normal((n, k)) * 3 if logits else rng.uniform(0, 1, (n, k))
    if not logits:
        p[0, 0], p[1, 0], p[2, 0] = 0.0, 1.0, 1.0  # exact 0 and 1, right and wrong
    weights = rng.uniform(0, 2, n).astype("float32")
    weights[0] = 0.0
    return y, p.astype("float32"), weights


def categorical_batch(n=12, c=4, seed=0, logits=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    if logits:
        p = rng.standard_normal((n, c)) * 3
    else:
        p = rng.dirichlet(np.ones(c), n)
        p[0] = np.eye(c)[labels[0]]  # a perfect prediction with exact 0s and a 1
        p[1] = np.eye(c)[(labels[1] + 1) % c]  # a wrong one with p_t = 0
    weights = rng.uniform(0, 2, n)
    return labels, np.eye(c)[labels].astype("float32"), p.astype("float32"), weights


# ---------------------------------------------------------------- BinaryNLL
@pytest.mark.backend_agnostic
class TestBinaryNLL:
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("from_logits", [False, True])
    @pytest.mark.parametrize("weighted", [False, True])
    def test_matches_numpy(self, reduction, from_logits, weighted):
        y, p, w = binary_batch(logits=from_logits)
        weights = w if weighted else None
        loss = kl.BinaryNLL(from_logits=from_logits, reduction=reduction)
        expected = np_reduce(np_bce(y, p, from_logits).mean(-1), weights, reduction)
        np.testing.assert_allclose(to_numpy(loss(y, p, sample_weight=weights)), expected, rtol=1e-5)

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    @pytest.mark.parametrize("from_logits", [False, True])
    def test_equals_keras_binary_crossentropy(self, reduction, from_logits):
        y, p, w = binary_batch(n=20, k=3, seed=1, logits=from_logits)
        if not from_logits:
            p[0, :] = [0.0, 1.0, 1.0]
        ours = kl.BinaryNLL(from_logits=from_logits, reduction=reduction)
        keras_bce = keras.losses.BinaryCrossentropy(from_logits=from_logits, reduction=reduction)
        for weights in (None, w):
            np.testing.assert_allclose(
                to_numpy(ours(y, p, sample_weight=weights)),
                to_numpy(keras_bce(y, p, sample_weight=weights)),
                rtol=1e-5,
                atol=1e-7,
            )

    def test_extreme_logits_are_exact(self):
        z = np.array([1e4, -1e4, 100.0, -100.0, 30.0, 0.0], dtype="float32")
        y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], dtype="float32")
        values = to_numpy(kl.binary_nll(y[:, None], z[:, None], from_logits=True))
        np.testing.assert_allclose(
            values, np_bce(y, z.astype("float64"), True), rtol=1e-6, atol=1e-6
        )
        assert values[0] == 0.0 and values[2] == pytest.approx(100.0)

    def test_gradient_of_logits_is_sigmoid_minus_y_at_extremes(self):
        z = np.array([1e4, -1e4, 100.0, -100.0, 0.0, 3.0])
        y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0], dtype="float32")
        grad = gradient(lambda v: keras.ops.sum(kl.binary_nll(y, v, from_logits=True)), z)
        assert np.all(np.isfinite(grad))
        # For shape (n,) the NLL is averaged over the last axis, i.e. over the n entries.
        np.testing.assert_allclose(grad, (np_sigmoid(z) - y) / len(z), atol=1e-7)

    def test_probabilities_zero_and_one_give_finite_loss_and_gradient(self):
        p = np.array([[0.0], [1.0], [0.0], [1.0], [0.5]])
        y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]], dtype="float32")
        values = to_numpy(kl.binary_nll(y, p.astype("float32")))
        np.testing.assert_allclose(values, np_bce(y, p, False)[:, 0], rtol=1e-4, atol=1e-7)
        assert values[2] == pytest.approx(-np.log(EPS), rel=1e-4)
        grad = gradient(lambda v: keras.ops.sum(kl.binary_nll(y, v)), p)
        assert np.all(np.isfinite(grad))
        assert grad[4, 0] == pytest.approx(-2.0, rel=1e-5)  # d/dp of −log p at p = 0.5

    def test_rank_1_and_column_labels_agree(self):
        y, p, _ = binary_batch()
        column = to_numpy(kl.BinaryNLL()(y, p))
        assert to_numpy(kl.BinaryNLL()(y[:, 0], p)) == pytest.approx(column)
        assert to_numpy(kl.BinaryNLL()(y, p[:, 0])) == pytest.approx(column)

    def test_zero_weights_give_zero(self):
        y, p, _ = binary_batch()
        assert float(kl.BinaryNLL()(y, p, sample_weight=np.zeros(len(y)))) == 0.0

    def test_dtype(self):
        y, p, _ = binary_batch(logits=True)
        value = kl.BinaryNLL(from_logits=True, dtype="float16")(y, p)
        assert keras.backend.standardize_dtype(value.dtype) == "float16"
        assert float(value) == pytest.approx(float(kl.BinaryNLL(from_logits=True)(y, p)), rel=1e-2)

    def test_config_roundtrip(self):
        loss = kl.BinaryNLL(from_logits=True, reduction="sum", name="nll")
        restored = assert_config_roundtrip(loss)
        assert restored.from_logits and restored.reduction == "sum" and restored.name == "nll"

    def test_invalid_reduction(self):
        with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
            kl.BinaryNLL(reduction="average")


# ---------------------------------------------------------------- PolyLoss
@pytest.mark.backend_agnostic
class TestPolyLoss:
    @pytest.mark.parametrize("mode", ["binary", "categorical", "sparse_categorical"])
    @pytest.mark.parametrize("from_logits", [False, True])
    @pytest.mark.parametrize("epsilon", [-1.0, 1.0, 2.5])
    @pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
    def test_matches_numpy(self, mode, from_logits, epsilon, reduction):
        if mode == "binary":
            y, p, w = binary_batch(k=2, logits=from_logits)
            y_ref, y_in = y, y
        else:
            labels, y, p, w = categorical_batch(logits=from_logits)
            y_ref = y_in = labels if mode == "sparse_categorical" else y
        loss = kl.PolyLoss(epsilon=epsilon, from_logits=from_logits, mode=mode, reduction=reduction)
        per_sample = np_poly1(y_ref, p.astype("float64"), epsilon, from_logits, mode)
        for weights in (None, w):
            np.testing.assert_allclose(
                to_numpy(loss(y_in, p, sample_weight=weights)),
                np_reduce(per_sample, weights, reduction),
                rtol=1e-5,
                atol=1e-6,
            )

    @pytest.mark.parametrize("from_logits", [False, True])
    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_epsilon_zero_is_keras_cross_entropy(self, from_logits, reduction):
        labels, onehot, p, w = categorical_batch(seed=2, logits=from_logits)
        yb, pb, wb = binary_batch(seed=2, logits=from_logits)
        pairs = [
            ("binary", keras.losses.BinaryCrossentropy, yb, pb, wb),
            ("categorical", keras.losses.CategoricalCrossentropy, onehot, p, w),
            ("sparse_categorical", keras.losses.SparseCategoricalCrossentropy, labels, p, w),
        ]
        for mode, keras_class, y, pred, weights in pairs:
            ours = kl.PolyLoss(0.0, from_logits=from_logits, mode=mode, reduction=reduction)
            reference = keras_class(from_logits=from_logits, reduction=reduction)
            np.testing.assert_allclose(
                to_numpy(ours(y, pred, sample_weight=weights)),
                to_numpy(reference(y, pred, sample_weight=weights)),
                rtol=1e-5,
                atol=1e-6,
                err_msg=mode,
            )

    def test_sparse_labels_of_shape_n_1(self):
        labels, onehot, p, _ = categorical_batch()
        sparse = kl.poly1_crossentropy(labels[:, None], p, mode="sparse_categorical")
        np.testing.assert_allclose(to_numpy(sparse), to_numpy(kl.poly1_crossentropy(onehot, p)))

    @pytest.mark.parametrize("mode", ["binary", "categorical"])
    def test_gradients_finite_at_extremes(self, mode):
        c = 3
        y = np.eye(c, dtype="float32")[[0, 1, 2, 0]]
        logits = np.array([[1e4, -1e4, 0], [-1e4, 1e4, 5], [100, -100, 0], [-1e4, 0, 1e4]])
        probs = np.eye(c)[[0, 2, 2, 1]]  # exact 0s and 1s, right and wrong
        for from_logits, pred in ((True, logits), (False, probs)):
            value = kl.poly1_crossentropy(
                y, pred.astype("float32"), from_logits=from_logits, mode=mode
            )
            assert np.all(np.isfinite(to_numpy(value)))
            grad = gradient(
                lambda v, fl=from_logits: keras.ops.sum(
                    kl.poly1_crossentropy(y, v, from_logits=fl, mode=mode)
                ),
                pred,
            )
            assert np.all(np.isfinite(grad)), (from_logits, grad)

    @pytest.mark.parametrize("epsilon", [-1.5, float("nan"), "1", None])
    def test_invalid_epsilon(self, epsilon):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `epsilon`\. Expected a float in \[-1, inf\)",
        ):
            kl.PolyLoss(epsilon=epsilon)

    def test_invalid_mode(self):
        message = r"Invalid value for argument `mode`\. Expected one of \('binary', 'categorical'"
        with pytest.raises(ValueError, match=message):
            kl.PolyLoss(mode="multiclass")
        with pytest.raises(ValueError, match=message):
            kl.poly1_crossentropy([[1.0]], [[0.5]], mode="multiclass")

    def test_config_roundtrip(self):
        loss = kl.PolyLoss(
            epsilon=-0.5, from_logits=True, mode="sparse_categorical", dtype="float64"
        )
        restored = assert_config_roundtrip(loss)
        assert (restored.epsilon, restored.mode, restored.dtype) == (
            -0.5,
            "sparse_categorical",
            "float64",
        )


# ---------------------------------------------------------------- SoftFBetaLoss
@pytest.mark.backend_agnostic
class TestSoftFBeta:
    @pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
    @pytest.mark.parametrize("shape", [(30,), (30, 1), (30, 3)])
    def test_matches_numpy(self, beta, shape, rng):
        y = rng.integers(0, 2, shape).astype("float32")
        p = rng.uniform(0, 1, shape).astype("float32")
        w = rng.uniform(0, 2, shape[0]).astype("float32")
        for weights in (None, w):
            np.testing.assert_allclose(
                to_numpy(kl.soft_fbeta(y, p, beta=beta, sample_weight=weights)),
                np_soft_fbeta(y.astype("float64"), p.astype("float64"), beta, weights),
                rtol=1e-5,
            )

    @pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
    def test_hard_predictions_match_sklearn(self, beta, rng):
        y = rng.integers(0, 2, (50, 3))
        pred = rng.integers(0, 2, (50, 3))
        w = rng.uniform(0, 2, 50)
        for weights in (None, w):
            ours = 1 - to_numpy(
                kl.soft_fbeta(y, pred.astype("float32"), beta=beta, sample_weight=weights)
            )
            reference = fbeta_score(y, pred, beta=beta, average="macro", sample_weight=weights)
            assert ours == pytest.approx(reference, abs=1e-5)
        binary = 1 - to_numpy(kl.soft_fbeta(y[:, 0], pred[:, :1].astype("float32"), beta=beta))
        assert binary == pytest.approx(fbeta_score(y[:, 0], pred[:, 0], beta=beta), abs=1e-5)

    def test_from_logits(self, rng):
        y = rng.integers(0, 2, (20, 1)).astype("float32")
        z = rng.standard_normal((20, 1)).astype("float32") * 3
        np.testing.assert_allclose(
            to_numpy(kl.soft_fbeta(y, z, from_logits=True)),
            np_soft_fbeta(y, np_sigmoid(z.astype("float64")), 1.0),
            rtol=1e-5,
        )

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_batch_level_under_every_reduction(self, reduction, rng):
        # The documented behaviour: one scalar per batch; a class-level sample_weight rescales it.
        y = rng.integers(0, 2, (16, 1)).astype("float32")
        p = rng.uniform(0, 1, (16, 1)).astype("float32")
        w = rng.uniform(0, 2, 16)
        batch_loss = np_soft_fbeta(y, p.astype("float64"), 2.0)
        loss = kl.SoftFBetaLoss(beta=2.0, reduction=reduction)
        assert to_numpy(loss(y, p)) == pytest.approx(batch_loss, rel=1e-5)
        np.testing.assert_allclose(
            to_numpy(loss(y, p, sample_weight=w)), np_reduce(batch_loss, w, reduction), rtol=1e-5
        )

    def test_gradients_finite_at_extremes(self):
        y = np.array([[1.0], [0.0], [1.0], [0.0]], dtype="float32")
        for pred, from_logits in (([1.0, 0.0, 0.0, 1.0], False), ([1e4, -1e4, -1e4, 1e4], True)):
            pred = np.array(pred)[:, None]
            grad = gradient(lambda v, fl=from_logits: kl.soft_fbeta(y, v, from_logits=fl), pred)
            assert np.all(np.isfinite(grad))
        # No positives and no predicted positives: F = 0/ε, loss 1, finite gradient.
        zeros = np.zeros((4, 1), dtype="float32")
        assert float(kl.soft_fbeta(zeros, zeros)) == pytest.approx(1.0)
        assert np.all(np.isfinite(gradient(lambda v: kl.soft_fbeta(zeros, v), zeros)))

    @pytest.mark.parametrize("beta", [0, -1.0, float("inf"), "2"])
    def test_invalid_beta(self, beta):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `beta`\. Expected a float > 0"
        ):
            kl.SoftFBetaLoss(beta=beta)
        with pytest.raises(ValueError, match=r"argument `beta`"):
            kl.soft_fbeta([1.0], [0.5], beta=beta)

    def test_config_roundtrip(self):
        restored = assert_config_roundtrip(kl.SoftFBetaLoss(beta=0.5, from_logits=True, name="f"))
        assert (restored.beta, restored.from_logits, restored.name) == (0.5, True, "f")


# ---------------------------------------------------------------- WeightedKappaLoss
@pytest.mark.backend_agnostic
class TestWeightedKappa:
    @pytest.mark.parametrize("weights", ["linear", "quadratic"])
    @pytest.mark.parametrize("sparse", [False, True])
    def test_matches_numpy(self, weights, sparse):
        labels, onehot, p, w = categorical_batch(n=40, c=5, seed=3)
        y = labels if sparse else onehot
        for sample_weight in (None, w):
            np.testing.assert_allclose(
                to_numpy(
                    kl.weighted_kappa(
                        y, p, num_classes=5, weights=weights, sample_weight=sample_weight
                    )
                ),
                np_weighted_kappa(labels, p.astype("float64"), weights, 1e-6, sample_weight),
                rtol=1e-5,
            )

    @pytest.mark.parametrize("weights", ["linear", "quadratic"])
    def test_hard_predictions_match_sklearn_kappa(self, weights, rng):
        labels = rng.integers(0, 4, 60)
        predicted = np.where(rng.random(60) < 0.6, labels, rng.integers(0, 4, 60))
        w = rng.uniform(0, 2, 60)
        for sample_weight in (None, w):
            loss = kl.weighted_kappa(
                labels[:, None],
                np.eye(4, dtype="float32")[predicted],
                num_classes=4,
                weights=weights,
                epsilon=0.0,
                sample_weight=sample_weight,
            )
            reference = cohen_kappa_score(
                labels, predicted, weights=weights, sample_weight=sample_weight
            )
            assert 1 - np.exp(to_numpy(loss)) == pytest.approx(reference, abs=1e-5)

    @pytest.mark.parametrize("reduction", REDUCTIONS)
    def test_batch_level_under_every_reduction(self, reduction):
        labels, _, p, w = categorical_batch(n=20, c=3, seed=4)
        batch_loss = np_weighted_kappa(labels, p.astype("float64"), "quadratic", 1e-6)
        loss = kl.WeightedKappaLoss(num_classes=3, reduction=reduction)
        assert to_numpy(loss(labels, p)) == pytest.approx(batch_loss, rel=1e-5)
        np.testing.assert_allclose(
            to_numpy(loss(labels, p, sample_weight=w)),
            np_reduce(batch_loss, w, reduction),
            rtol=1e-5,
        )

    def test_degenerate_batch_and_gradient_finite(self):
        # All labels and predictions in class 0: the ratio is 0/0, counted as 0 → log(epsilon).
        y = np.zeros(5)
        p = np.tile(np.array([1.0, 0.0, 0.0], dtype="float32"), (5, 1))
        value = kl.weighted_kappa(y, p, num_classes=3)
        assert float(value) == pytest.approx(np.log(1e-6), rel=1e-4)
        grad = gradient(lambda v: kl.weighted_kappa(y, v, num_classes=3), p)
        assert np.all(np.isfinite(grad))
        labels, _, probs, _ = categorical_batch(n=10, c=3)
        grad = gradient(lambda v: kl.weighted_kappa(labels, v, num_classes=3), probs)
        assert np.all(np.isfinite(grad)) and np.any(grad != 0)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"num_classes": 1}, r"argument `num_classes`\. Expected an integer >= 2"),
            ({"num_classes": 2.0}, r"argument `num_classes`\. Expected an integer >= 2"),
            ({"num_classes": 3, "weights": "cubic"}, r"argument `weights`\. Expected one of"),
            ({"num_classes": 3, "weights": None}, r"argument `weights`\. Expected one of"),
            ({"num_classes": 3, "epsilon": -1e-3}, r"argument `epsilon`\. Expected a float >= 0"),
        ],
    )
    def test_invalid_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            kl.WeightedKappaLoss(**kwargs)

    def test_mismatched_columns(self):
        message = (
            "Invalid value for argument `y_pred.shape`. Expected (batch, 3), one column per "
            "class (num_classes=3). Received: y_pred.shape=(2, 4)"
        )
        with pytest.raises(ValueError, match=re.escape(message)):
            kl.weighted_kappa(np.array([0, 1]), np.full((2, 4), 0.25), num_classes=3)

    def test_config_roundtrip(self):
        loss = kl.WeightedKappaLoss(num_classes=4, weights="linear", epsilon=1e-3, reduction="sum")
        restored = assert_config_roundtrip(loss)
        assert (restored.num_classes, restored.weights, restored.epsilon) == (4, "linear", 1e-3)


# ---------------------------------------------------------------- gradients vs finite differences
def central_differences(fn, x, h=1e-6):
    """∂fn/∂x by central differences in float64, entry by entry."""
    x = np.asarray(x, dtype="float64")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (fn(x + step) - fn(x - step)) / (2 * h)
    return grad


def autodiff_dtype():
    """float64, except under JAX without x64 (which would truncate to float32 with a warning)."""
    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


def assert_gradient_matches(loss_fn, reference_fn, x):
    """Autodiff of the kerasx loss (in :func:`autodiff_dtype`) against central differences of
    the independent NumPy reference (float64)."""
    tensor = keras.ops.convert_to_tensor(np.asarray(x, dtype=autodiff_dtype()))
    if keras.backend.backend() == "jax":
        import jax

        autodiff = np.asarray(jax.grad(loss_fn)(tensor), dtype="float64")
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(tensor)
            value = loss_fn(tensor)
        autodiff = tape.gradient(value, tensor).numpy()
    numeric = central_differences(reference_fn, x)
    exact = autodiff_dtype() == "float64"
    rtol, atol = (1e-6, 1e-8) if exact else (2e-3, 2e-5)
    assert np.abs(numeric).max() > 1e-3, "a flat point tests nothing"
    np.testing.assert_allclose(autodiff, numeric, rtol=rtol, atol=atol)


@pytest.mark.backend_agnostic
class TestGradientsAgainstFiniteDifferences:
    """Value tests cannot see a wrong gradient: a ``stop_gradient`` (or a hard 0/1 prediction)
    in the wrong place leaves every loss value unchanged, and the gradients stay finite."""

    @pytest.mark.parametrize("mode", ["binary", "categorical", "sparse_categorical"])
    @pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
    def test_poly_loss(self, mode, from_logits, rng):
        """Catches a polynomial term whose ``p_t`` is held constant (``stop_gradient``, or
        ``p_t`` read off the clipped or renormalized copy of the prediction that the
        cross-entropy uses): the gradient is then the plain cross-entropy's, off by
        ``epsilon · ∂p_t``. Also a sign error in ``epsilon · (1 − p_t)``."""
        n, c, epsilon = 6, 3, 2.0
        if mode == "binary":
            labels = rng.integers(0, 2, (n, c)).astype("float64")
            y = labels
            x = rng.standard_normal((n, c)) if from_logits else rng.uniform(0.05, 0.95, (n, c))
        else:
            labels = rng.integers(0, c, n)
            y = labels[:, None] if mode == "sparse_categorical" else np.eye(c)[labels]
            x = 2 * rng.standard_normal((n, c)) if from_logits else rng.dirichlet(np.ones(c), n)
        v = rng.uniform(0.5, 2.0, n)  # a different weight per sample: every row is checked
        loss = kl.PolyLoss(
            epsilon=epsilon,
            from_logits=from_logits,
            mode=mode,
            reduction="sum",
            dtype=autodiff_dtype(),
        )
        reference_labels = labels if mode != "categorical" else np.eye(c)[labels]
        assert_gradient_matches(
            lambda t: loss(y, t, sample_weight=v),
            lambda a: (v * np_poly1(reference_labels, a, epsilon, from_logits, mode)).sum(),
            x,
        )

    @pytest.mark.parametrize("beta", [0.5, 2.0])
    @pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
    def test_soft_fbeta(self, beta, from_logits, rng):
        """Catches hard predictions inside the soft counts (``p > 0.5``: zero gradient, still
        finite) and a denominator held constant (``stop_gradient``), which gives false
        positives a gradient of the wrong size; checked with sample weights in the counts."""
        y = rng.integers(0, 2, (12, 3)).astype("float64")
        x = rng.standard_normal((12, 3)) if from_logits else rng.uniform(0.05, 0.95, (12, 3))
        w = rng.uniform(0.5, 2.0, 12)

        def reference(a):
            return np_soft_fbeta(y, np_sigmoid(a) if from_logits else a, beta, w)

        assert_gradient_matches(
            lambda t: kl.soft_fbeta(y, t, beta=beta, from_logits=from_logits, sample_weight=w),
            reference,
            x,
        )
        loss = kl.SoftFBetaLoss(beta=beta, from_logits=from_logits, dtype=autodiff_dtype())
        assert_gradient_matches(
            lambda t: loss(y, t),
            lambda a: np_soft_fbeta(y, np_sigmoid(a) if from_logits else a, beta),
            x,
        )

    @pytest.mark.parametrize("weights", ["linear", "quadratic"])
    def test_weighted_kappa(self, weights, rng):
        """Catches a chance matrix ``E`` held constant (``stop_gradient`` on the expected
        agreement, as if it were a fixed normalizer): the values agree, the gradient does
        not. Also a sum of weights that ignores ``sample_weight`` in ``E``.

        Differentiated through a softmax, as the loss is used: off the simplex, ``E``'s row
        margins are the label counts (as in TensorFlow Addons), not ``O``'s row sums, so the
        derivative along ``(1, …, 1)`` of a row is a matter of definition, not of correctness.
        """
        labels = rng.integers(0, 4, 16)
        logits = 2 * rng.standard_normal((16, 4))
        w = rng.uniform(0.5, 2.0, 16)

        def np_softmax(z):
            return np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))

        assert_gradient_matches(
            lambda t: kl.weighted_kappa(
                labels, keras.ops.softmax(t), num_classes=4, weights=weights, sample_weight=w
            ),
            lambda z: np_weighted_kappa(labels, np_softmax(z), weights, 1e-6, w),
            logits,
        )
        loss = kl.WeightedKappaLoss(num_classes=4, weights=weights, dtype=autodiff_dtype())
        assert_gradient_matches(
            lambda t: loss(labels, keras.ops.softmax(t)),
            lambda z: np_weighted_kappa(labels, np_softmax(z), weights, 1e-6),
            logits,
        )


# ---------------------------------------------------------------- in models (TensorFlow run)
def _multiclass_model(loss, n_features=4, num_classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_features,))
    hidden = keras.layers.Dense(5, activation="tanh")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss)
    return model


def _multiclass_data(n=64, n_features=4, num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype("float32")
    labels = np.argmax(X[:, :num_classes] + 0.5 * rng.standard_normal((n, num_classes)), axis=1)
    return X, labels


BINARY_LOSSES = {
    "binary_nll": lambda: kl.BinaryNLL(),
    "poly_binary": lambda: kl.PolyLoss(epsilon=2.0, mode="binary"),
    "soft_fbeta": lambda: kl.SoftFBetaLoss(beta=2.0),
}
MULTICLASS_LOSSES = {
    "poly_sparse": lambda: kl.PolyLoss(epsilon=1.0, mode="sparse_categorical"),
    "weighted_kappa": lambda: kl.WeightedKappaLoss(num_classes=3, weights="quadratic"),
}


@pytest.mark.parametrize("name", [*BINARY_LOSSES, *MULTICLASS_LOSSES])
def test_model_trains_saves_and_reloads_without_custom_objects(name, tmp_path):
    if name in BINARY_LOSSES:
        X, y = binary_data()
        model = model_with(loss=BINARY_LOSSES[name]())
    else:
        X, y = _multiclass_data()
        model = _multiclass_model(MULTICLASS_LOSSES[name]())
    history = model.fit(X, y, batch_size=32, epochs=2, sample_weight=np.ones(len(y)), verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    expected_loss = model.evaluate(X, y, batch_size=64, verbose=0)
    expected_pred = model.predict(X, verbose=0)
    for fmt, reloaded in save_and_reload(model, tmp_path).items():
        assert type(reloaded.loss) is type(model.loss), fmt
        assert reloaded.loss.get_config() == model.loss.get_config(), fmt
        np.testing.assert_allclose(reloaded.predict(X, verbose=0), expected_pred, rtol=1e-6)
        assert reloaded.evaluate(X, y, batch_size=64, verbose=0) == pytest.approx(
            expected_loss, rel=1e-5
        )


def test_kappa_loss_training_improves_kappa():
    X, labels = _multiclass_data(n=256, seed=1)
    model = _multiclass_model(kl.WeightedKappaLoss(num_classes=3))
    before = cohen_kappa_score(labels, model.predict(X, verbose=0).argmax(1), weights="quadratic")
    model.fit(X, labels, batch_size=128, epochs=30, verbose=0)
    after = cohen_kappa_score(labels, model.predict(X, verbose=0).argmax(1), weights="quadratic")
    assert after > max(before, 0.0) + 0.2, (before, after)
