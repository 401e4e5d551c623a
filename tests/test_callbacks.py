"""Tests of kerasx.callbacks, each against an independent reference.

Tests of callbacks that need no TensorFlow are marked ``backend_agnostic`` (CI runs them again
with ``KERAS_BACKEND=jax``); the others may import TensorFlow inside the test.
"""

import os
import time
import warnings

import keras
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from helpers import binary_data
from sklearn.metrics import confusion_matrix

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def small_model(n_features=4, units=1, lr=0.05, optimizer="adam", metrics=("accuracy",), seed=0):
    """A tiny compiled classifier (binary when ``units == 1``, softmax otherwise)."""
    keras.utils.set_random_seed(seed)
    activation = "sigmoid" if units == 1 else "softmax"
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(3, activation="tanh"),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    loss = "binary_crossentropy" if units == 1 else "categorical_crossentropy"
    opt = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": lr}})
    model.compile(optimizer=opt, loss=loss, metrics=list(metrics))
    return model


def tf_dataset(X, y, batch_size=16):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size)


def assert_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    return matplotlib.image.imread(path)


# --------------------------------------------------------------------------- HistoryFrame


@agnostic
class TestHistoryFrame:
    def test_equals_history_across_two_fits(self, tmp_path):
        X, y = binary_data(n=64)
        model = small_model()
        frame = cb.HistoryFrame()
        fits = [
            model.fit(
                X,
                y,
                epochs=epochs,
                batch_size=16,
                validation_data=(X, y),
                verbose=0,
                callbacks=[frame],
            )
            for epochs in (3, 2)
        ]
        result = frame.frame
        assert len(result) == 5
        assert result["epoch"].tolist() == [0, 1, 2, 3, 4]
        for rows, history in ((slice(0, 3), fits[0]), (slice(3, 5), fits[1])):
            expected = pd.DataFrame(history.history)
            got = result.iloc[rows][list(expected.columns)].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        np.testing.assert_allclose(result["learning_rate"], 0.05, rtol=1e-6)
        assert (result["epoch_time"] > 0).all()
        frame.to_csv(tmp_path / "h.csv")
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "h.csv"), result, check_dtype=False)
        frame.reset()
        assert frame.frame.empty

    def test_sees_keys_added_by_later_callbacks(self):
        X, y = binary_data(n=32)
        model = small_model()
        frame = cb.HistoryFrame()
        logger = cb.ConfusionMatrixLogger((X, y))
        history = model.fit(X, y, epochs=2, verbose=0, callbacks=[frame, logger])
        expected = pd.DataFrame(history.history)
        assert "val_tp" in expected
        got = frame.frame[list(expected.columns)]
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    def test_tf_data(self):
        X, y = binary_data(n=48)
        model = small_model()
        frame = cb.HistoryFrame()
        history = model.fit(tf_dataset(X, y), epochs=2, shuffle=False, verbose=0, callbacks=[frame])
        expected = pd.DataFrame(history.history)
        pd.testing.assert_frame_equal(frame.frame[list(expected.columns)], expected)

    test_tf_data = pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="tf.data input"
    )(test_tf_data)


# --------------------------------------------------------------------------- LearningCurves


@agnostic
class TestLearningCurves:
    def test_writes_png_with_one_panel_per_metric(self, tmp_path):
        X, y = binary_data(n=64)
        model = small_model(metrics=("accuracy", "mae"))
        path = tmp_path / "sub" / "curves.png"
        curves = cb.LearningCurves(path, panel_size=(3, 2), dpi=50)
        history = model.fit(
            X, y, epochs=3, batch_size=16, validation_data=(X, y), verbose=0, callbacks=[curves]
        )
        names = sorted({key.removeprefix("val_") for key in history.history})
        assert sorted(curves.panels) == names == ["accuracy", "loss", "mae"]
        image = assert_png(path)
        # Each panel is 3 x 2 inches at 50 dpi, side by side.
        assert image.shape[:2] == (2 * 50, 3 * 50 * len(names))
        best = int(np.argmin(history.history["val_loss"])) + 1
        assert curves.best_epoch()[:2] == (best, "val_loss")

    def test_matrix_metrics_are_left_out(self, tmp_path):
        from kerasx.metrics import ConfusionMatrix

        X, y = binary_data(n=32)
        model = small_model(metrics=("accuracy", ConfusionMatrix()))
        curves = cb.LearningCurves(tmp_path / "curves.png")
        model.fit(X, y, epochs=2, validation_data=(X, y), verbose=0, callbacks=[curves])
        assert sorted(curves.panels) == ["accuracy", "loss"]
        assert assert_png(tmp_path / "curves.png").shape[1] == 2 * 4 * 80

    def test_missing_monitor_warns_and_still_draws(self, tmp_path):
        X, y = binary_data(n=32)
        model = small_model(metrics=())
        path = tmp_path / "curves.png"
        curves = cb.LearningCurves(path)  # val_loss is missing: no validation data
        with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
            model.fit(X, y, epochs=2, verbose=0, callbacks=[curves])
        assert curves.best_epoch() is None
        assert assert_png(path).shape[1] == 4 * 80  # one panel: loss

    def test_state_reset_on_train_begin(self, tmp_path):
        X, y = binary_data(n=32)
        model = small_model(metrics=())
        curves = cb.LearningCurves(tmp_path / "c.png", monitor="loss", mode="min")
        model.fit(X, y, epochs=3, verbose=0, callbacks=[curves])
        model.fit(X, y, epochs=1, verbose=0, callbacks=[curves])
        assert curves.best_epoch()[0] == 1


# ------------------------------------------------------------------ ConfusionMatrixLogger


@agnostic
class TestConfusionMatrixLogger:
    def test_binary_matches_sklearn_and_logs_counts(self, tmp_path):
        X, y = binary_data(n=80)
        model = small_model()
        path = tmp_path / "cm.png"
        logger = cb.ConfusionMatrixLogger((X, y), path=path, batch_size=32, class_names=["a", "b"])
        history = model.fit(X, y, epochs=2, verbose=0, callbacks=[logger])
        predicted = (model.predict(X, verbose=0).reshape(-1) > 0.5).astype(int)
        expected = confusion_matrix(y.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        (tn, fp), (fn, tp) = expected
        last = {key: values[-1] for key, values in history.history.items()}
        assert (last["val_tn"], last["val_fp"], last["val_fn"], last["val_tp"]) == (tn, fp, fn, tp)
        assert len(logger.matrices) == 2
        assert_png(path)

    def test_multiclass_one_hot(self, rng):
        X = rng.standard_normal((60, 4)).astype("float32")
        labels = rng.integers(0, 3, 60)
        y = keras.utils.to_categorical(labels, 3)
        model = small_model(units=3)
        logger = cb.ConfusionMatrixLogger((X, y), batch_size=7)
        history = model.fit(X, y, epochs=1, verbose=0, callbacks=[logger])
        expected = confusion_matrix(
            labels, model.predict(X, verbose=0).argmax(-1), labels=[0, 1, 2]
        )
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert "val_tp" not in history.history

    def test_tf_data_and_threshold(self):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("tf.data input")
        X, y = binary_data(n=50)
        model = small_model()
        logger = cb.ConfusionMatrixLogger(tf_dataset(X, y, 16), threshold=0.3, prefix="cm_")
        history = model.fit(
            tf_dataset(X, y), epochs=1, shuffle=False, verbose=0, callbacks=[logger]
        )
        predicted = (model.predict(X, verbose=0).reshape(-1) > 0.3).astype(int)
        expected = confusion_matrix(y.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert history.history["cm_tp"] == [expected[1, 1]]

    def test_from_logs_matches_sklearn_on_the_validation_data(self, tmp_path):
        from kerasx.metrics import ConfusionMatrix

        X, y = binary_data(n=80)
        Xv, yv = binary_data(n=37, seed=1)
        model = small_model(metrics=(ConfusionMatrix(),))
        path = tmp_path / "cm.png"
        logger = cb.ConfusionMatrixLogger(path=path, from_logs="val_confusion_matrix")
        history = model.fit(X, y, epochs=2, validation_data=(Xv, yv), verbose=0, callbacks=[logger])
        predicted = (model.predict(Xv, verbose=0).reshape(-1) > 0.5).astype(int)
        expected = confusion_matrix(yv.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert logger.matrices[-1].dtype == np.int64 and len(logger.matrices) == 2
        (tn, fp), (fn, tp) = expected
        last = {key: values[-1] for key, values in history.history.items()}
        assert (last["val_tn"], last["val_fp"], last["val_fn"], last["val_tp"]) == (tn, fp, fn, tp)
        assert_png(path)

    def test_from_logs_missing_key_warns_once(self):
        X, y = binary_data(n=40)
        logger = cb.ConfusionMatrixLogger(from_logs="val_confusion_matrix")
        with pytest.warns(UserWarning, match="'val_confusion_matrix' is not in the logs") as caught:
            history = small_model().fit(X, y, epochs=2, verbose=0, callbacks=[logger])
        assert len([w for w in caught if "val_confusion_matrix" in str(w.message)]) == 1
        assert logger.matrices == [] and "val_tp" not in history.history


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
    (lambda: cb.TimeLimit(0), "seconds", "a float > 0"),
    (lambda: cb.TimeLimit(1, mode="best"), "mode", "one of"),
    (lambda: cb.NaNGuard(snapshot_every=0), "snapshot_every", "an integer >= 1"),
    (lambda: cb.NaNGuard(method="restore"), "method", "one of"),
    (lambda: cb.GradientNorm(probe_data=3), "probe_data", "an \\(x, y\\) pair"),
    (lambda: cb.GradientNorm(probe_data=(1,)), "probe_data", "an \\(x, y\\) or"),
    (lambda: cb.GradientNorm(name=""), "name", "a non-empty str"),
    (lambda: cb.LearningCurves(3), "path", "a file path"),
    (lambda: cb.LearningCurves("a.png", mode="up"), "mode", "one of"),
    (lambda: cb.LearningCurves("a.png", dpi=0), "dpi", "an integer >= 1"),
    (lambda: cb.LearningCurves("a.png", panel_size=(4, -1)), "panel_size", "a float > 0"),
    (lambda: cb.ConfusionMatrixLogger(5), "validation_data", "an \\(x, y\\) pair"),
    (lambda: cb.ConfusionMatrixLogger(([1], [1]), threshold=0), "threshold", "a float > 0"),
    (lambda: cb.ConfusionMatrixLogger(([1], [1]), batch_size=0), "batch_size", "an integer"),
    (lambda: cb.ConfusionMatrixLogger(from_logs=""), "from_logs", "a non-empty str or None"),
    (
        lambda: cb.ConfusionMatrixLogger(([1], [1]), from_logs="val_confusion_matrix"),
        "validation_data",
        "None when from_logs",
    ),
]


@agnostic
@pytest.mark.parametrize(("make", "name", "expected"), INVALID)
def test_invalid_arguments(make, name, expected):
    with pytest.raises(
        ValueError, match=f"Invalid value for argument `{name}`. Expected {expected}"
    ):
        make()


@agnostic
def test_config_holds_the_arguments(tmp_path):
    curves = cb.LearningCurves(tmp_path / "a.png", monitor="loss", dpi=60)
    assert cb.LearningCurves(**curves.get_config()).get_config() == curves.get_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cb.HistoryFrame().get_config() == {}
    assert os.fspath(tmp_path / "a.png") == curves.get_config()["path"]


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
        assert 1e-4 <= finder.suggestion("steepest") <= 30.0

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


def numpy_one_cycle(total, max_lr, pct_start=0.3, div=25.0, final_div=1e4, lo=0.85, hi=0.95):
    """Smith's one-cycle policy written independently, as PyTorch's OneCycleLR defines it."""
    steps = np.arange(total, dtype=float)
    peak = pct_start * total - 1
    start_lr, end_lr = max_lr / div, max_lr / div / final_div
    up = steps <= peak
    t = np.where(up, steps / peak, (steps - peak) / (total - 1 - peak))
    cos = (1 + np.cos(np.pi * t)) / 2
    lr = np.where(up, max_lr + (start_lr - max_lr) * cos, end_lr + (max_lr - end_lr) * cos)
    momentum = np.where(up, lo + (hi - lo) * cos, hi + (lo - hi) * cos)
    return lr, momentum


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


# --------------------------------------------------------------------------- TimeLimit


class Clock(keras.callbacks.Callback):
    """Sleeps ``pause`` seconds in each batch; records the time at each batch end."""

    def __init__(self, pause):
        super().__init__()
        self.pause = pause
        self.ends = []

    def on_train_batch_begin(self, batch, logs=None):
        time.sleep(self.pause)

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


class EpochWeights(keras.callbacks.Callback):
    """Records the logs and the weights at each epoch end."""

    def __init__(self):
        super().__init__()
        self.logs, self.weights = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.weights.append([np.array(w) for w in self.model.get_weights()])


@agnostic
class TestTimeLimit:
    def test_stops_within_one_batch_of_the_limit(self, monkeypatch):
        X, y = binary_data(n=64)
        model = small_model()
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)  # trace the step before timing
        # A fake clock that only batches advance (20 ms each): the test and TimeLimit read the
        # same time, however busy the machine is.
        now = [1000.0]

        class FakeClock(Clock):
            def on_train_batch_begin(self, batch, logs=None):
                now[0] += self.pause

        monkeypatch.setattr(time, "perf_counter", lambda: now[0])
        clock, limit = FakeClock(0.02), cb.TimeLimit(seconds=0.25)
        model.fit(X, y, batch_size=4, epochs=20, verbose=0, callbacks=[clock, limit])
        elapsed = np.asarray(clock.ends) - limit.start_time
        assert elapsed[-1] >= 0.25 > elapsed[-2]  # the first batch past the limit is the last
        assert len(elapsed) < 20 * 16
        epoch, batch = limit.stopped_at
        assert epoch * 16 + batch + 1 == len(elapsed)

    def test_restores_best_weights_of_completed_epochs(self):
        X, y = binary_data(n=32)
        model = small_model(lr=0.5)
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)  # trace the step before timing
        clock, record = Clock(0.01), EpochWeights()
        limit = cb.TimeLimit(seconds=0.3, restore_best_weights=True, monitor="loss")
        model.fit(X, y, batch_size=4, epochs=50, verbose=0, callbacks=[clock, record, limit])
        assert limit.stopped_at is not None
        complete = record.logs[:-1]  # the last epoch was cut by the limit
        best = int(np.argmin([logs["loss"] for logs in complete]))
        for got, expected in zip(model.get_weights(), record.weights[best], strict=True):
            np.testing.assert_array_equal(got, expected)

    def test_missing_monitor_warns(self):
        X, y = binary_data(n=16)
        model = small_model()
        limit = cb.TimeLimit(seconds=100, restore_best_weights=True)
        with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
            model.fit(X, y, epochs=1, verbose=0, callbacks=[limit])
        assert limit.stopped_at is None


# --------------------------------------------------------------------------- NaNGuard


class BatchWeights(keras.callbacks.Callback):
    """Records the weights before each batch."""

    def __init__(self):
        super().__init__()
        self.before = []

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append([np.array(w) for w in self.model.get_weights()])


def assert_weights_equal(model, expected):
    got = model.get_weights()
    assert all(np.isfinite(w).all() for w in got)
    for left, right in zip(got, expected, strict=True):
        np.testing.assert_array_equal(left, right)


METHODS = [
    pytest.param("snapshot", marks=agnostic),
    pytest.param("skip"),  # the in-graph guard: TensorFlow only
]


class TestNaNGuard:
    @pytest.mark.parametrize("method", METHODS)
    def test_nan_loss_batch_leaves_the_weights_before_it(self, method):
        X, y = binary_data(n=64)
        X[40] = np.inf  # batch 5 of 8 rows gives a NaN loss (and NaN gradients)
        model = small_model(optimizer="adam")
        record, guard = BatchWeights(), cb.NaNGuard(method=method)
        history = model.fit(
            X, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[record, guard]
        )
        assert guard.method_ == method
        assert guard.bad_batch["epoch"] == 0 and guard.bad_batch["batch"] == 5
        assert guard.restored_step == 5 and len(record.before) == 6
        assert len(history.history["loss"]) == 1
        assert_weights_equal(model, record.before[5])
        assert all(
            np.isfinite(keras.ops.convert_to_numpy(keras.ops.copy(v))).all()
            for v in model.optimizer.variables
        )

    @pytest.mark.parametrize("method", METHODS)
    def test_nan_gradient_with_finite_loss(self, method):
        # sqrt(|Wx|) at Wx = 0 has a finite value but an infinite derivative: the row of zeros
        # in batch 2 gives a finite loss and NaN gradients. The snapshot method sees it one
        # batch later (batch 3's loss is NaN) and goes back two buffers; the in-graph guard
        # skips batch 2's step itself.
        X, y = binary_data(n=48)
        X[20] = 0.0
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(3, use_bias=False),
                keras.layers.Lambda(lambda t: keras.ops.sqrt(keras.ops.abs(t))),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        record, guard = BatchWeights(), cb.NaNGuard(method=method)
        model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[record, guard])
        if method == "snapshot":
            assert not all(np.isfinite(w).all() for w in record.before[3])  # NaN after batch 2
            assert guard.bad_batch["batch"] == 3
        else:
            assert guard.bad_batch == {"epoch": 0, "batch": 2, "reason": "gradient"}
        assert guard.restored_step == 2
        assert_weights_equal(model, record.before[2])

    @agnostic
    def test_snapshot_every_and_clean_run(self):
        X, y = binary_data(n=64)
        X[50] = np.nan  # batch 6
        model = small_model()
        record, guard = BatchWeights(), cb.NaNGuard(method="snapshot", snapshot_every=4)
        model.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[record, guard])
        assert guard.restored_step == 4
        assert_weights_equal(model, record.before[4])
        X[50] = 0.0
        model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[guard])
        assert guard.bad_batch is None and guard.restored_step is None

    def test_skip_restores_batch_norm_statistics_and_the_optimizer(self):
        # The forward pass of a NaN batch poisons batch-norm's moving statistics (not trained
        # by the optimizer): the guard copies those per batch and puts them back.
        X, y = binary_data(n=32)
        X[17] = np.nan
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(3),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy")
        record, guard = BatchWeights(), cb.NaNGuard()
        model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[record, guard])
        assert guard.method_ == "skip" and guard.bad_batch["batch"] == 2
        assert_weights_equal(model, record.before[2])
        assert int(keras.ops.convert_to_numpy(keras.ops.copy(model.optimizer.iterations))) == 2
        assert "apply" not in vars(model.optimizer)  # the optimizer is itself again
        model.fit(X[:16], y[:16], epochs=1, verbose=0)  # and trains normally

    def test_tf_data(self):
        X, y = binary_data(n=32)
        X[17] = np.nan
        model = small_model()
        record, guard = BatchWeights(), cb.NaNGuard()
        model.fit(
            tf_dataset(X, y, 8), epochs=2, shuffle=False, verbose=0, callbacks=[record, guard]
        )
        assert guard.bad_batch["batch"] == 2
        assert_weights_equal(model, record.before[2])


# --------------------------------------------------------------------------- GradientNorm


def tape_norm(model, x, y):
    """The global gradient norm of the mean binary cross-entropy, with tf.GradientTape."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        p = model(x, training=False)
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(tf.reshape(y, (-1, 1)), p))
    gradients = tape.gradient(loss, model.trainable_variables)
    return float(np.sqrt(sum(np.sum(np.square(g.numpy())) for g in gradients)))


class TestGradientNorm:
    def test_probe_norm_equals_gradient_tape(self):
        X, y = binary_data(n=64)
        probe = (X[:16], y[:16])
        model = small_model()
        norms = cb.GradientNorm(probe_data=probe)
        record = EpochWeights()
        history = model.fit(X, y, batch_size=16, epochs=3, verbose=0, callbacks=[norms, record])
        assert history.history["gradient_norm"] == norms.epoch_norms
        for epoch, weights in enumerate(record.weights):
            model.set_weights(weights)
            expected = tape_norm(model, *probe)
            np.testing.assert_allclose(norms.epoch_norms[epoch], expected, rtol=1e-5)

    def test_probe_from_tf_data_per_batch(self):
        X, y = binary_data(n=32)
        model = small_model(lr=0.0)  # weights stay put: every probe sees the same gradient
        norms = cb.GradientNorm(probe_data=tf_dataset(X, y, 8), per_batch=True)
        model.fit(tf_dataset(X, y, 8), epochs=1, shuffle=False, verbose=0, callbacks=[norms])
        expected = tape_norm(model, X[:8], y[:8])
        np.testing.assert_allclose(norms.batch_norms, [expected] * 4, rtol=1e-5)

    def test_tape_model_mean_of_batch_norms(self):
        from kerasx.training import TapeModel

        X, y = binary_data(n=32)
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(3, activation="tanh")(inputs)
        model = TapeModel(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
        model.fit(X, y, batch_size=8, epochs=1, verbose=0)  # train function built without norms
        norms = cb.GradientNorm(per_batch=True)
        history = model.fit(
            X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[norms]
        )
        batches = [tape_norm(model, X[i : i + 8], y[i : i + 8]) for i in range(0, 32, 8)]
        np.testing.assert_allclose(norms.batch_norms, batches * 2, rtol=1e-5)
        np.testing.assert_allclose(
            history.history["gradient_norm"], [np.mean(batches)] * 2, rtol=1e-5
        )
        assert model.log_gradient_norm is False
        assert "gradient_norm" not in model.fit(X, y, epochs=1, verbose=0).history

    def test_without_probe_or_tape_model_warns(self):
        X, y = binary_data(n=16)
        model = small_model()
        with pytest.warns(UserWarning, match="no probe_data"):
            history = model.fit(X, y, epochs=1, verbose=0, callbacks=[cb.GradientNorm()])
        assert "gradient_norm" not in history.history
