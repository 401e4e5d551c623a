"""The malaria job at full scale, on small data: 8-bit images scaled per batch, the baseline
fitted in chunks, and the progress a user sees.

Each lean path is compared with the path it replaces: the float32 arrays a ``dtype="float32"``
load gives (bit for bit), scikit-learn's ``LogisticRegression`` (lbfgs) on the same pixels, and
NumPy's float64 mean and variance. Nothing here needs the NIH folder.
"""

import re
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from kerasx import recipes
from kerasx.callbacks import epoch_batches
from kerasx.data import load_malaria, scale_images
from kerasx.malaria import MalariaConfig
from kerasx.malaria import train as malaria_train
from kerasx.malaria.train import (
    PREFIX,
    Rows,
    baseline_scores,
    build_model,
    epoch_eta,
    fit_baseline,
    fit_network,
    forward_batches,
    load_split,
    predict_scores,
)


def _images(n, size=4, seed=0):
    """Random 8-bit images holding every value 0-255 (so every value's scaling is checked)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    images.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)
    return images


def _bits(array):
    return np.ascontiguousarray(array, np.float32).view(np.uint32)


class TestBatchesAreTheFloat32Values:
    def test_training_batches_equal_the_float32_load_bit_for_bit(self):
        x, y = _images(50), np.arange(50, dtype=np.float32) % 2
        rows = np.arange(3, 47)
        config = _config(batch_size=8, seed=1, epochs=2)
        batches, steps = malaria_train._training_batches(x, y, config, 0, 2, rows)
        served = list(batches.as_numpy_iterator())
        # epoch_batches on the images themselves serves the same rows in the same batches.
        direct, _ = epoch_batches(x, y, 8, seed=1, first_epoch=0, epochs=2, rows=rows)
        for (a, _), (b, _) in zip(served, direct.as_numpy_iterator(), strict=True):
            np.testing.assert_array_equal(_bits(a), _bits(scale_images(b)))
        assert len(served) == 2 * steps
        images = np.concatenate([b for b, _ in served])
        assert images.dtype == np.float32
        order = np.concatenate(
            [rows[np.random.default_rng((1, e)).permutation(44)] for e in (0, 1)]
        )
        np.testing.assert_array_equal(_bits(images), _bits(scale_images(x[order])))
        np.testing.assert_array_equal(np.concatenate([t for _, t in served]), y[order])

    def test_forward_batches_equal_the_float32_load_bit_for_bit(self):
        x, y = _images(600), np.ones(600, np.float32)
        served = list(forward_batches(x, y).as_numpy_iterator())
        assert [len(b) for b, _ in served] == [256, 256, 88]
        np.testing.assert_array_equal(
            _bits(np.concatenate([b for b, _ in served])), _bits(scale_images(x))
        )
        alone = np.concatenate(list(forward_batches(x).as_numpy_iterator()))
        np.testing.assert_array_equal(_bits(alone), _bits(scale_images(x)))

    def test_float_images_pass_unchanged(self):
        x = scale_images(_images(10))
        np.testing.assert_array_equal(
            np.concatenate(list(forward_batches(x).as_numpy_iterator())), x
        )

    def test_a_uint8_load_scaled_per_batch_is_the_float32_load(self):
        (x8, _), (t8, _) = load_malaria(
            "synthetic", fraction=0.05, image_size=10, flatten=False, dtype="uint8"
        )
        (x32, _), (t32, _) = load_malaria("synthetic", fraction=0.05, image_size=10, flatten=False)
        for images8, images32 in ((x8, x32), (t8, t32)):
            batches = np.concatenate(list(forward_batches(images8).as_numpy_iterator()))
            np.testing.assert_array_equal(_bits(batches), _bits(images32))


def _tiny_model(shape, seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model


def _config(**changes):
    settings = {"data": "synthetic", "epochs": 3, "patience": 5, "batch_size": 16, "seed": 0}
    return MalariaConfig(**{**settings, **changes})


class TestFitNetwork:
    def test_uint8_training_ends_on_the_weights_of_float32_training(self, tmp_path, capsys):
        """The whole fit_network on 8-bit images against the same fit on the float32 load:
        identical inputs every step give identical weights and validation losses."""
        x8 = _images(120, size=6)
        y = (x8[:, :3].mean(axis=(1, 2, 3)) > x8[:, 3:].mean(axis=(1, 2, 3))).astype(np.float32)
        rows = Rows(np.arange(90), np.arange(90, 120), by_patient=False)
        runs = []
        for name, x in (("u8", x8), ("f32", scale_images(x8))):
            model = _tiny_model(x8.shape[1:], seed=3)
            history, facts = fit_network("mlp", model, x, y, _config(), tmp_path / name, rows)
            runs.append((model.get_weights(), history["val_loss"].to_numpy(), facts))
        (w8, val8, facts8), (w32, val32, _) = runs
        for a, b in zip(w8, w32, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(val8, val32)
        assert facts8["epochs_run"] == 3 and facts8["n_validation"] == 30

    def test_prints_each_epochs_eta_after_keras_line(self, tmp_path, capsys):
        x8 = _images(64)
        y = np.arange(64, dtype=np.float32) % 2
        fit_network("cnn", _tiny_model(x8.shape[1:], 0), x8, y, _config(), tmp_path)
        lines = capsys.readouterr().out.splitlines()
        ours = [i for i, line in enumerate(lines) if line.startswith(f"{PREFIX} cnn epoch")]
        assert len(ours) == 3
        eta = re.compile(
            rf"^{re.escape(PREFIX)} cnn epoch (\d)/3: [\d.]+ s/epoch, ETA at most [\d.]+ s, or "
            r"[\d.]+ s if val_loss does not improve again$|"
            rf"^{re.escape(PREFIX)} cnn epoch (\d)/3: [\d.]+ s/epoch, ETA at most [\d.]+ s "
            r"\(early stopping may end it sooner\)$"
        )
        assert all(eta.match(lines[i]) for i in ours[:2]), lines
        assert lines[ours[2]].endswith("training ended")
        for k, i in enumerate(ours, start=1):  # after Keras's "Epoch k/3" and its metrics line
            assert lines[i - 2] == f"Epoch {k}/3" and "val_loss" in lines[i - 1]

    def test_predict_scores_equal_predict_on_the_float32_images(self):
        x8 = _images(300)
        model = _tiny_model(x8.shape[1:], 1)
        expected = model.predict(scale_images(x8), batch_size=256, verbose=0).ravel()
        np.testing.assert_array_equal(predict_scores(model, x8), expected)


class _Stopping:
    """What epoch_eta reads of an EarlyStopping: monitor, patience, wait, model.stop_training."""

    def __init__(self, patience, wait, stop=False):
        self.monitor, self.patience, self.wait = "val_loss", patience, wait
        self.model = type("Model", (), {"stop_training": stop})()


class TestEpochEta:
    @pytest.mark.parametrize(
        "stopping, remaining, expected",
        [
            (None, 10, (10, None)),
            (_Stopping(5, 2), 10, (10, 3)),
            (_Stopping(5, 0), 3, (3, None)),  # its patience ends after the run's last epoch
            (_Stopping(5, 5, stop=True), 10, (0, 0)),
        ],
    )
    def test_epochs_left(self, stopping, remaining, expected):
        assert malaria_train._epochs_left(stopping, remaining) == expected

    def test_the_per_epoch_time_leaves_out_the_first_epoch(self):
        line = malaria_train._eta_line("mlp", 3, 10, [30.0, 10.0, 12.0, 14.0], 6)
        assert line == "mlp epoch 4/10: 12 s/epoch, ETA at most 1 min 12 s " + (
            "(early stopping may end it sooner)"
        )

    def test_is_a_keras_callback(self):
        assert isinstance(epoch_eta("mlp"), keras.callbacks.Callback)


class TestStandardization:
    def test_the_mlp_gets_the_exact_channel_mean_and_variance(self):
        x8 = _images(200, size=10)
        model = build_model("mlp", x8, _config(data="synthetic"))
        mean, variance, _ = model.get_layer("standardize").get_weights()
        pixels = scale_images(x8).astype(np.float64).reshape(-1, 3)
        np.testing.assert_allclose(mean, pixels.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(variance, pixels.var(axis=0), rtol=1e-6)
        # The layer standardizes with them: the standardized pixels have mean 0, variance 1.
        standardize = keras.Model(model.inputs, model.get_layer("standardize").output)
        out = standardize.predict(scale_images(x8), verbose=0).reshape(-1, 3)
        np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-4)


_LOGISTIC_BASELINE = recipes.logistic_baseline  # the recipe, before a test replaces it


def _separable_images(n, size=5, seed=0):
    """Images whose label shifts a few pixels: learnable, and not separable (label noise)."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float32)
    noisy = np.where(rng.random(n) < 0.15, 1 - y, y)
    base = rng.normal(120, 40, (n, size, size, 3)) + 30 * noisy[:, None, None, None]
    return np.clip(base, 0, 255).astype(np.uint8), y


def _logistic_objective(coef, X, y, C):
    """scikit-learn's lbfgs objective, written out in float64: mean log-loss + ||w||²/(2Cn)."""
    w, b = coef[:-1], coef[-1]
    z = X @ w + b
    return np.mean(np.logaddexp(0, z) - y * z) + w @ w / (2 * C * len(y))


class TestBaseline:
    def test_converged_fit_equals_scikit_learns_lbfgs(self, monkeypatch):
        """Both run to a tight tolerance on a well-conditioned problem (C = 0.01): the same
        coefficients to 1e-5. (At C = 1 the penalty's curvature, 1 / (C n), is weak and the
        float32 products of both the job's old float32 fit and this one move the optimum by
        about 1e-4: the next test compares the objective there.)"""
        x8, y = _separable_images(300)

        def tight():
            baseline = _LOGISTIC_BASELINE(C=0.01, max_iter=5000)
            return baseline.set_params(logisticregression__tol=1e-9)

        monkeypatch.setattr(recipes, "logistic_baseline", tight)
        ours, _ = fit_baseline(x8, y)
        X = scale_images(x8, flatten=True).astype(np.float64)
        reference = LogisticRegression(C=0.01, tol=1e-9, max_iter=5000).fit(X, y.astype(int))
        np.testing.assert_allclose(ours[-1].coef_, reference.coef_, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours[-1].intercept_, reference.intercept_, rtol=1e-5)
        np.testing.assert_allclose(
            baseline_scores(ours, x8), reference.predict_proba(X)[:, 1], atol=1e-6
        )

    def test_default_fit_reaches_scikit_learns_objective_and_predictions(self):
        """At the defaults (tol 1e-4) both stop near the optimum: the same objective to 1e-6
        and the same predicted classes on held-out images."""
        x8, y = _separable_images(400)
        test8, _ = _separable_images(200, seed=1)
        ours, seconds = fit_baseline(x8, y)
        assert seconds > 0
        X = scale_images(x8, flatten=True)  # float32, as the job used to fit it
        reference = recipes.logistic_baseline().fit(X, y.astype(int))
        X64 = X.astype(np.float64)
        objective = [
            _logistic_objective(np.r_[m[-1].coef_.ravel(), m[-1].intercept_], X64, y, 1.0)
            for m in (ours, reference)
        ]
        assert abs(objective[0] - objective[1]) < 1e-6 * abs(objective[1])
        ours_test = baseline_scores(ours, test8)
        reference_test = reference.predict_proba(scale_images(test8))[:, 1]
        np.testing.assert_array_equal(ours_test > 0.5, reference_test > 0.5)
        np.testing.assert_allclose(ours_test, reference_test, atol=0.02)

    def test_objective_and_gradient_match_numpy_in_float64(self):
        x8, y = _separable_images(130)
        rows = x8.reshape(len(x8), -1)
        objective = malaria_train._LogisticObjective(rows, y.astype(np.float64), 1 / 130)
        coef = np.random.default_rng(2).normal(0, 0.05, rows.shape[1] + 1)
        loss, gradient = objective(coef)
        X = scale_images(rows).astype(np.float64)
        assert loss == pytest.approx(_logistic_objective(coef, X, y, 1.0), rel=1e-6)
        w, b = coef[:-1], coef[-1]
        residual = 1 / (1 + np.exp(-(X @ w + b))) - y
        expected = np.r_[X.T @ residual / 130 + w / 130, residual.mean()]
        np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-8)

    def test_stopping_at_max_iter_warns_as_scikit_learn_does(self, monkeypatch):
        monkeypatch.setattr(recipes, "logistic_baseline", lambda: _LOGISTIC_BASELINE(max_iter=2))
        x8, y = _separable_images(100)
        with pytest.warns(ConvergenceWarning, match="did not converge after 2 iterations"):
            baseline, _ = fit_baseline(x8, y)
        assert baseline[-1].n_iter_.tolist() == [2]

    def test_one_class_is_refused(self):
        with pytest.raises(ValueError, match="needs labels 0 and 1"):
            fit_baseline(_images(10), np.ones(10))


class TestProgress:
    def test_load_split_shows_the_decoding_with_the_jobs_prefix(self, capsys):
        split = load_split(_config(fraction=0.1, image_size=8), 8, verbose=True)
        assert split.x_train.dtype == np.uint8 and split.x_test.dtype == np.uint8
        lines = capsys.readouterr().out.splitlines()
        assert re.match(
            rf"^{re.escape(PREFIX)} decoding 280 images: 280/280 in [\d.]+ s \([\d,.]+ images/s\)$",
            lines[-1],
        ), lines

    def test_load_split_is_quiet_by_default(self, capsys):
        load_split(_config(fraction=0.05, image_size=8), 8)
        assert capsys.readouterr().out == ""


def test_no_warning_from_a_converged_fit():
    x8, y = _separable_images(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_baseline(x8, y)
