"""kerasx.regularizers against NumPy and Keras's L1 / L2."""

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

from kerasx.regularizers import L2, ElasticNet, GroupLasso


def np_elastic_net(w, alpha, l1_ratio):
    return alpha * (l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * (w**2).sum())


def np_group_lasso(w, strength):
    """Σ over input units (second-to-last axis) of the Euclidean norm of their weights."""
    if w.ndim == 1:
        return strength * np.abs(w).sum()
    groups = np.moveaxis(w, -2, 0).reshape(w.shape[-2], -1)
    return strength * np.sqrt((groups**2).sum(axis=1)).sum()


@pytest.fixture
def kernel(rng):
    return rng.standard_normal((6, 4)).astype("float32")


@pytest.mark.backend_agnostic
class TestL2:
    @pytest.mark.parametrize("shape", [(6, 4), (5,), (), (3, 3, 2, 4), (7, 1), (1, 9), (3, 0)])
    @pytest.mark.parametrize("l2", [0.0, 0.01, 1.5])
    def test_matches_numpy_and_keras_l2(self, shape, l2, rng):
        w = rng.standard_normal(shape).astype("float32")
        value = to_numpy(L2(l2)(w))
        assert value == pytest.approx(l2 * (w.astype("float64") ** 2).sum(), rel=1e-6, abs=1e-12)
        assert value == pytest.approx(to_numpy(keras.regularizers.L2(l2)(w)), rel=1e-6)

    def test_unknown_shape_inside_a_traced_function(self, rng):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("shapes are always known under JAX's jit")
        import tensorflow as tf

        w = rng.standard_normal((5, 4)).astype("float32")
        traced = tf.function(L2(0.3), input_signature=[tf.TensorSpec((None, None), tf.float32)])
        assert to_numpy(traced(w)) == pytest.approx(
            0.3 * (w.astype("float64") ** 2).sum(), rel=1e-6
        )

    def test_large_kernel_sums_accurately(self, rng):
        # A 3,000 x 300 kernel (900,000 squares): float32 sums drift first on long sums.
        w = rng.standard_normal((3000, 300)).astype("float32")
        expected = 1e-3 * (w.astype("float64") ** 2).sum()
        assert to_numpy(L2(1e-3)(w)) == pytest.approx(expected, rel=1e-5)

    @pytest.mark.parametrize("shape", [(6, 4), (5,), (3, 3, 2, 4)])
    def test_gradient_is_keras_l2_gradient(self, shape, rng):
        w = rng.standard_normal(shape).astype("float32")
        grad = gradient(lambda v: L2(0.3)(v), w)
        np.testing.assert_allclose(grad, 2 * 0.3 * w, rtol=1e-6)
        np.testing.assert_allclose(grad, gradient(lambda v: keras.regularizers.L2(0.3)(v), w))

    def test_gradient_matches_finite_differences(self, rng):
        w = rng.standard_normal((4, 3)).astype("float64")
        grad = gradient(lambda v: L2(0.5)(v), w)
        step = 1e-3
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            plus, minus = w.copy(), w.copy()
            plus[index] += step
            minus[index] -= step
            numeric[index] = 0.5 * ((plus**2).sum() - (minus**2).sum()) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4)

    def test_same_value_inside_a_compiled_function(self, rng):
        # The matrix-vector form exists for XLA: check it there, not only eagerly.
        w = rng.standard_normal((300, 40)).astype("float32")
        if keras.backend.backend() == "jax":
            import jax

            value = jax.jit(L2(0.2))(w)
        else:
            import tensorflow as tf

            value = tf.function(L2(0.2), jit_compile=True)(w)
        assert to_numpy(value) == pytest.approx(0.2 * (w.astype("float64") ** 2).sum(), rel=1e-6)

    @pytest.mark.parametrize("l2", [-0.1, float("nan"), float("inf"), "1", None])
    def test_invalid_l2(self, l2):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `l2`\. Expected a float >= 0"
        ):
            L2(l2)

    def test_config_roundtrip(self):
        restored = assert_config_roundtrip(L2(0.004))
        assert restored.get_config() == {"l2": 0.004}


@pytest.mark.backend_agnostic
class TestElasticNet:
    @pytest.mark.parametrize("alpha", [0.0, 0.01, 1.5])
    @pytest.mark.parametrize("l1_ratio", [0.0, 0.3, 1.0])
    def test_matches_numpy(self, alpha, l1_ratio, kernel):
        value = ElasticNet(alpha=alpha, l1_ratio=l1_ratio)(kernel)
        expected = np_elastic_net(kernel.astype("float64"), alpha, l1_ratio)
        assert to_numpy(value) == pytest.approx(expected, rel=1e-6, abs=1e-12)

    def test_l1_ratio_one_is_keras_l1(self, kernel):
        value = ElasticNet(alpha=0.3, l1_ratio=1.0)(kernel)
        assert to_numpy(value) == pytest.approx(to_numpy(keras.regularizers.L1(0.3)(kernel)))

    def test_l1_ratio_zero_is_keras_l2_with_half_the_factor(self, kernel):
        value = ElasticNet(alpha=0.3, l1_ratio=0.0)(kernel)
        assert to_numpy(value) == pytest.approx(to_numpy(keras.regularizers.L2(0.15)(kernel)))

    def test_in_between_is_keras_l1l2_with_matching_factors(self, kernel):
        value = ElasticNet(alpha=0.2, l1_ratio=0.25)(kernel)
        reference = keras.regularizers.L1L2(l1=0.2 * 0.25, l2=0.5 * 0.2 * 0.75)(kernel)
        assert to_numpy(value) == pytest.approx(to_numpy(reference))

    @pytest.mark.parametrize("alpha", [-0.1, float("nan"), "1", None])
    def test_invalid_alpha(self, alpha):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `alpha`\. Expected a float >= 0"
        ):
            ElasticNet(alpha=alpha)

    @pytest.mark.parametrize("l1_ratio", [-0.01, 1.5, float("nan"), True])
    def test_invalid_l1_ratio(self, l1_ratio):
        with pytest.raises(
            ValueError,
            match=r"Invalid value for argument `l1_ratio`\. Expected a float in \[0, 1\]",
        ):
            ElasticNet(alpha=0.1, l1_ratio=l1_ratio)

    def test_config_roundtrip(self):
        restored = assert_config_roundtrip(ElasticNet(alpha=0.02, l1_ratio=0.7))
        assert restored.get_config() == {"alpha": 0.02, "l1_ratio": 0.7}


@pytest.mark.backend_agnostic
class TestGroupLasso:
    @pytest.mark.parametrize("shape", [(6, 4), (5,), (3, 3, 2, 4), (7, 1)])
    def test_matches_numpy(self, shape, rng):
        w = rng.standard_normal(shape).astype("float32")
        expected = np_group_lasso(w.astype("float64"), 0.05)
        assert to_numpy(GroupLasso(0.05)(w)) == pytest.approx(expected, rel=1e-6)

    def test_one_output_column_is_the_lasso(self, rng):
        # With one unit every row holds one weight: Σ‖W_row‖₂ = ‖W‖₁ (keras's L1).
        w = rng.standard_normal((8, 1)).astype("float32")
        assert to_numpy(GroupLasso(0.2)(w)) == pytest.approx(
            to_numpy(keras.regularizers.L1(0.2)(w)), rel=1e-6
        )

    def test_no_group_size_scaling(self):
        w = np.ones((2, 9), dtype="float32")  # each row has norm 3
        assert to_numpy(GroupLasso(1.0)(w)) == pytest.approx(6.0)

    def test_gradient_at_zero_rows_is_finite_and_zero(self, kernel):
        w = kernel.copy()
        w[[1, 4]] = 0.0
        grad = gradient(lambda v: GroupLasso(0.5)(v), w)
        assert np.all(np.isfinite(grad))
        np.testing.assert_array_equal(grad[[1, 4]], 0.0)
        rows = [0, 2, 3, 5]
        expected = 0.5 * w[rows] / np.linalg.norm(w[rows], axis=1, keepdims=True)
        np.testing.assert_allclose(grad[rows], expected, rtol=1e-5)
        zero_grad = gradient(lambda v: GroupLasso(0.5)(v), np.zeros((3, 2)))
        np.testing.assert_array_equal(zero_grad, 0.0)

    @pytest.mark.parametrize("strength", [-1.0, float("inf"), "0.1", None])
    def test_invalid_strength(self, strength):
        with pytest.raises(
            ValueError, match=r"Invalid value for argument `strength`\. Expected a float >= 0"
        ):
            GroupLasso(strength=strength)

    def test_config_roundtrip(self):
        restored = assert_config_roundtrip(GroupLasso(strength=0.3))
        assert restored.get_config() == {"strength": 0.3}


@pytest.mark.parametrize(
    "regularizer",
    [L2(0.01), ElasticNet(alpha=0.01, l1_ratio=0.3), GroupLasso(0.02)],
    ids=lambda r: type(r).__name__,
)
def test_model_saves_and_reloads_without_custom_objects(regularizer, tmp_path):
    X, y = binary_data()
    model = model_with(kernel_regularizer=regularizer)
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    expected_loss = model.evaluate(X, y, verbose=0)
    expected_penalty = to_numpy(model.losses[0])
    for fmt, reloaded in save_and_reload(model, tmp_path).items():
        restored = reloaded.layers[1].kernel_regularizer
        assert type(restored) is type(regularizer), fmt
        assert restored.get_config() == regularizer.get_config(), fmt
        assert to_numpy(reloaded.losses[0]) == pytest.approx(expected_penalty, rel=1e-6), fmt
        np.testing.assert_allclose(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))
        assert reloaded.evaluate(X, y, verbose=0) == pytest.approx(expected_loss, rel=1e-6)


def _fit_row_norms(strength, seed):
    """Trains a small MLP on 10 features of which only the first 3 matter; returns row norms."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((256, 10)).astype("float32")
    y = (X[:, :3] @ np.array([1.5, -2.0, 1.0]) + 0.1 * rng.standard_normal(256)).astype("float32")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(4, activation="tanh", kernel_regularizer=GroupLasso(strength)),
            keras.layers.Dense(1),
        ]
    )
    # A decaying step size lets Adam settle: at a constant 0.05 the switched-off rows keep
    # oscillating at about the step size (measured: up to 16% of the smallest relevant row).
    schedule = keras.optimizers.schedules.CosineDecay(0.05, decay_steps=160, alpha=0.02)
    model.compile(keras.optimizers.Adam(schedule), "mse", steps_per_execution=40)
    # One epoch over 40 copies of the data: 160 Adam steps without per-epoch overhead.
    model.fit(np.tile(X, (40, 1)), np.tile(y, 40), batch_size=64, epochs=1, verbose=0)
    return np.linalg.norm(keras.ops.convert_to_numpy(model.layers[0].kernel), axis=1)


@pytest.mark.parametrize(
    "seed", [0, *(pytest.param(s, marks=pytest.mark.slow) for s in (1, 2, 3, 4))]
)
def test_group_lasso_switches_off_irrelevant_features(seed):
    penalized = _fit_row_norms(0.05, seed)
    plain = _fit_row_norms(0.0, seed)
    # Without the penalty the irrelevant rows stay at the relevant rows' scale ...
    assert plain[3:].max() / plain[:3].min() > 0.3, plain
    # ... with it, every irrelevant row shrinks to under 10% of the smallest relevant one
    # (measured 1–5% over seeds 0–4), while the relevant features stay in use: Adam gives
    # "near zero", not the exact zeros of a proximal method.
    assert penalized[3:].max() < 0.1 * penalized[:3].min(), penalized
    assert penalized[:3].min() > 0.3, penalized
