"""Tests of kerasx.callbacks.lr (LRFinder, OneCycle), each against an independent reference."""

import keras
import numpy as np
import pytest
from callback_helpers import assert_png, numpy_one_cycle, small_model, tf_dataset
from helpers import binary_data

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic

# --------------------------------------------------------------------------- LRFinder


def course_logistic_data(seed=0, n=1000):
    """The course's simulation: q = 2, no intercept, β = (1, 2)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)).astype("float32")
    p = 1 / (1 + np.exp(-X @ np.array([1.0, 2.0])))
    return X, (rng.random(n) < p).astype("float32")


def course_logistic_model(optimizer):
    """One sigmoid unit without bias, started at the course's β̂ = (−2.5, −2.5)."""
    init = keras.initializers.Constant(-2.5)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, activation="sigmoid", use_bias=False, kernel_initializer=init),
        ]
    )
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def state_of(model):
    weights = [np.array(w) for w in model.get_weights()]
    optimizer = [keras.ops.convert_to_numpy(keras.ops.copy(v)) for v in model.optimizer.variables]
    return weights, optimizer


def assert_same_state(a, b):
    for left, right in zip(a[0] + a[1], b[0] + b[1], strict=True):
        np.testing.assert_array_equal(left, right)


class LossOnlyModel:
    """The little of a model LRFinder touches: an optimizer, no weights, no loss tracker."""

    def __init__(self):
        self.optimizer = keras.optimizers.SGD()
        self.weights, self.trainable_variables, self.metrics = [], [], []
        self.stop_training = False

    def set_weights(self, weights):
        assert weights == []


def feed_losses(finder, losses):
    """Runs ``finder`` on batches whose own losses are ``losses`` (one epoch, equal batches).

    Keras's batch logs carry the running mean, so that is what is fed.
    """
    model = LossOnlyModel()
    finder.set_model(model)
    finder.on_train_begin()
    finder.on_epoch_begin(0)
    for batch in range(len(losses)):
        finder.on_train_batch_begin(batch)
        finder.on_train_batch_end(batch, {"loss": float(np.mean(losses[: batch + 1]))})
        if model.stop_training:
            break
    finder.on_train_end()


@agnostic
class TestLRFinder:
    def test_records_each_batch_own_loss(self):
        # Reference: replay the same batches by hand with train_on_batch, computing each batch's
        # loss at the weights it is trained from. 100 rows in batches of 32: the last has 4.
        X, y = course_logistic_data(n=100)
        model = course_logistic_model(keras.optimizers.SGD())
        finder = cb.LRFinder(min_lr=1e-2, max_lr=3.0, num_steps=8)
        model.fit(X, y, batch_size=32, epochs=5, shuffle=False, verbose=0, callbacks=[finder])
        history = finder.history
        assert len(history) == 8 and finder.stop_reason == "done"
        np.testing.assert_allclose(history["lr"], np.geomspace(1e-2, 3.0, 8), rtol=1e-6)

        replay = course_logistic_model(keras.optimizers.SGD())
        expected = []
        for step, lr in enumerate(history["lr"]):
            start = (step % 4) * 32
            xb, yb = X[start : start + 32], y[start : start + 32]
            p = keras.ops.convert_to_numpy(replay(xb)).reshape(-1).astype("float64")
            expected.append(-np.mean(yb * np.log(p) + (1 - yb) * np.log(1 - p)))
            replay.optimizer.learning_rate = lr
            replay.train_on_batch(xb, yb)
        np.testing.assert_allclose(history["loss"], expected, rtol=2e-5)
        # The smoothed curve is the bias-corrected moving average of those losses.
        average, smoothed = 0.0, []
        for step, loss in enumerate(expected, start=1):
            average = 0.98 * average + 0.02 * loss
            smoothed.append(average / (1 - 0.98**step))
        np.testing.assert_allclose(history["smoothed_loss"], smoothed, rtol=2e-5)

    def test_suggests_inside_the_good_range_measured_by_a_grid(self):
        X, y = course_logistic_data()
        grid = np.logspace(-3, 1.5, 10)
        final = []
        for lr in grid:
            model = course_logistic_model(keras.optimizers.SGD(lr))
            model.fit(X, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
            final.append(model.evaluate(X, y, verbose=0))
        good = grid[np.asarray(final) <= 1.25 * min(final)]
        model = course_logistic_model(keras.optimizers.SGD())
        finder = cb.LRFinder(min_lr=1e-4, max_lr=30.0, num_steps=100)
        model.fit(X, y, batch_size=32, epochs=10, shuffle=False, verbose=0, callbacks=[finder])
        assert good.min() <= finder.suggestion("valley") <= good.max()
        # "steepest" is checked against a hand computation below; here only: before the minimum.
        lowest = finder.history["lr"][int(np.argmin(finder.history["smoothed_loss"]))]
        assert finder.suggestion("steepest") <= lowest

    def test_steepest_is_the_hand_computed_steepest_descent(self):
        """The "steepest" suggestion on a fed curve whose steepest point is known by hand.

        With ``beta=0`` the smoothed curve is the fed curve. It falls as ``-tanh((s − 40)/8)``
        (steepest at step 40; symmetric, so the central difference peaks there too) and rises
        again after step 70; the steps are evenly spaced in ``log(lr)``. Catches: the minimum of
        the loss instead (step ~70), the slope against ``lr`` instead of ``log(lr)`` (step ~31),
        the steepest rise (step > 70), and an index that forgets the skipped first tenth
        (step 30).
        """
        steps = np.arange(101)
        losses = 2 - np.tanh((steps - 40) / 8) + 0.002 * np.maximum(steps - 70, 0) ** 2
        finder = cb.LRFinder(min_lr=1e-5, max_lr=10.0, num_steps=101, beta=0.0)
        feed_losses(finder, losses)
        assert finder.stop_reason == "done"
        np.testing.assert_allclose(finder.history["smoothed_loss"], losses, rtol=1e-6)
        assert finder.suggestion("steepest") == pytest.approx(1e-5 * 1e6**0.4, rel=1e-9)

    def test_restores_weights_and_optimizer_state_and_stops_the_fit(self, tmp_path):
        X, y = binary_data(n=64)
        model = small_model(optimizer="adam")
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)  # non-trivial Adam moments
        before = state_of(model)
        finder = cb.LRFinder(min_lr=1e-3, max_lr=1e3, num_steps=50)
        history = model.fit(X, y, epochs=100, batch_size=16, verbose=0, callbacks=[finder])
        assert len(history.history["loss"]) < 100  # the finder ended the fit
        assert_same_state(before, state_of(model))
        finder.plot(tmp_path / "finder.png")
        assert_png(tmp_path / "finder.png")

    def test_unbuilt_optimizer_and_warning_when_data_runs_out(self):
        X, y = binary_data(n=32)
        model = small_model(optimizer="adam")
        before_weights = [np.array(w) for w in model.get_weights()]
        finder = cb.LRFinder(num_steps=50)
        with pytest.warns(UserWarning, match="ended after 4 of 50 steps"):
            model.fit(X, y, epochs=2, batch_size=16, verbose=0, callbacks=[finder])
        for left, right in zip(before_weights, model.get_weights(), strict=True):
            np.testing.assert_array_equal(left, right)
        assert int(keras.ops.convert_to_numpy(keras.ops.copy(model.optimizer.iterations))) == 0

    def test_tf_data(self):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("tf.data input")
        X, y = course_logistic_data(n=100)
        model = course_logistic_model(keras.optimizers.SGD())
        finder = cb.LRFinder(min_lr=1e-2, max_lr=1.0, num_steps=6)
        model.fit(tf_dataset(X, y, 32), epochs=3, shuffle=False, verbose=0, callbacks=[finder])
        assert len(finder.history) == 6 and np.isfinite(finder.history["loss"]).all()


# --------------------------------------------------------------------------- OneCycle


class Recorder(keras.callbacks.Callback):
    """Records the optimizer's learning rate (and a momentum attribute) before each batch."""

    def __init__(self, momentum=None):
        super().__init__()
        self.momentum = momentum
        self.lrs, self.momenta = [], []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.lrs.append(float(keras.ops.convert_to_numpy(keras.ops.copy(optimizer.learning_rate))))
        if self.momentum:
            value = getattr(optimizer, self.momentum)
            if isinstance(value, keras.Variable):
                value = keras.ops.convert_to_numpy(keras.ops.copy(value))
            self.momenta.append(float(value))


@agnostic
class TestOneCycle:
    def test_learning_rate_follows_numpy_schedule(self):
        X, y = binary_data(n=50)
        model = small_model(optimizer="sgd")
        recorder = Recorder()
        cycle = cb.OneCycle(max_lr=0.5, cycle_momentum=False)
        model.fit(X, y, batch_size=8, epochs=3, verbose=0, callbacks=[cycle, recorder])
        expected, _ = numpy_one_cycle(3 * 7, 0.5)
        np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-6)

    def test_linear_anneal_and_explicit_total(self):
        lrs = [
            cb.one_cycle_schedule(s, 10, 1.0, pct_start=0.5, anneal="linear")[0] for s in range(12)
        ]
        np.testing.assert_allclose(lrs[:5], np.linspace(0.04, 1.0, 5))
        np.testing.assert_allclose(lrs[4:10], np.linspace(1.0, 4e-6, 6))
        assert lrs[10] == lrs[11] == lrs[9]

    def test_momentum_cycles_in_the_compiled_step(self, rng):
        # Reference: SGD with momentum in NumPy (Keras's rule: v = μv − αg, w = w + v) on linear
        # least squares, driven by the NumPy schedule. Equal weights mean the compiled step
        # really used the cycled rate and momentum.
        if keras.backend.backend() != "tensorflow":
            pytest.skip("momentum cycling needs TensorFlow")
        X = rng.standard_normal((24, 3)).astype("float32")
        y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1).reshape(-1, 1).astype("float32")
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
        )
        model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
        recorder = Recorder(momentum="momentum")
        cycle = cb.OneCycle(max_lr=0.1, pct_start=0.5)
        model.fit(
            X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[cycle, recorder]
        )
        lrs, momenta = numpy_one_cycle(6, 0.1, pct_start=0.5)
        np.testing.assert_allclose(recorder.lrs, lrs, rtol=1e-6)
        np.testing.assert_allclose(recorder.momenta, momenta, rtol=1e-6)
        w, velocity = np.zeros((3, 1)), np.zeros((3, 1))
        for step in range(6):
            xb, yb = X[(step % 3) * 8 :][:8], y[(step % 3) * 8 :][:8]
            gradient = 2 / len(xb) * xb.T @ (xb @ w - yb)
            velocity = momenta[step] * velocity - lrs[step] * gradient
            w = w + velocity
        np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
        assert model.optimizer.momentum == 0.9  # the float is back after fit

    def test_adam_beta_1_is_cycled_and_restored(self):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("momentum cycling needs TensorFlow")
        X, y = binary_data(n=40)
        model = small_model(optimizer="adam")
        recorder = Recorder(momentum="beta_1")
        cycle = cb.OneCycle(max_lr=0.01, total_steps=10)
        model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[cycle, recorder])
        _, momenta = numpy_one_cycle(10, 0.01)
        np.testing.assert_allclose(recorder.momenta, momenta, rtol=1e-6)
        assert model.optimizer.beta_1 == 0.9
        assert len(model.optimizer.variables) == 2 + 2 * len(model.trainable_variables)

    @pytest.mark.filterwarnings("ignore:Your input ran out of data")
    def test_needs_a_known_length(self):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("tf.data input")
        import tensorflow as tf

        X, y = binary_data(n=32)
        # filter() hides the cardinality: Keras does not know the number of steps.
        data = tf.data.Dataset.from_tensor_slices((X, y)).batch(8).filter(lambda x, y: True)
        model = small_model(optimizer="sgd")
        with pytest.raises(ValueError, match="Invalid value for argument `total_steps`"):
            model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=[cb.OneCycle(0.1)])
        recorder = Recorder()
        cycle = cb.OneCycle(0.1, total_steps=4, cycle_momentum=False)
        model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=[cycle, recorder])
        # Keras begins a 5th batch before it finds the end of data of unknown length.
        np.testing.assert_allclose(recorder.lrs[:4], numpy_one_cycle(4, 0.1)[0], rtol=1e-6)


# --------------------------------------------------------------------------- arguments


INVALID = [
    (lambda: cb.LRFinder(min_lr=0), "min_lr", "a float > 0"),
    (lambda: cb.LRFinder(min_lr=1.0, max_lr=0.5), "max_lr", "a float > min_lr=1.0"),
    (lambda: cb.LRFinder(num_steps=1), "num_steps", "an integer >= 2"),
    (lambda: cb.LRFinder(beta=1.0), "beta", "a float in \\[0, 1\\)"),
    (lambda: cb.LRFinder(diverge=1.0), "diverge", "a float in \\(1, inf\\]"),
    (lambda: cb.OneCycle(max_lr=-1), "max_lr", "a float > 0"),
    (lambda: cb.OneCycle(0.1, pct_start=1.0), "pct_start", "a float in \\(0, 1\\)"),
    (lambda: cb.OneCycle(0.1, anneal="exp"), "anneal", "one of"),
    (lambda: cb.OneCycle(0.1, total_steps=1), "total_steps", "an integer >= 2"),
    (lambda: cb.OneCycle(0.1, max_momentum=0.5), "max_momentum", "a float >= base_momentum"),
]


@agnostic
@pytest.mark.parametrize(("make", "name", "expected"), INVALID)
def test_invalid_arguments(make, name, expected):
    with pytest.raises(
        ValueError, match=f"Invalid value for argument `{name}`. Expected {expected}"
    ):
        make()
