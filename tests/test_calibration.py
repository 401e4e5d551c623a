"""kerasx.calibration: temperature scaling recovers a known temperature, lowers held-out NLL,
keeps every decision, saves and reloads; the report against scikit-learn and NumPy; the PNG."""

import os

import keras
import matplotlib.image
import numpy as np
import pytest
from helpers import assert_config_roundtrip, save_and_reload
from sklearn.metrics import brier_score_loss, log_loss

from kerasx.calibration import (
    TemperatureScaling,
    calibrate,
    calibration_report,
    fit_temperature,
    reliability_diagram,
)

agnostic = pytest.mark.backend_agnostic
INVALID = "Invalid value for argument `{}`"


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _binary_truth(n, seed):
    """Logits ``z ~ N(0, 2²)`` and labels drawn from ``Bernoulli(sigmoid(z))``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n)
    return z, (rng.random(n) < _sigmoid(z)).astype(int)


def _multiclass_truth(n, seed, classes=3):
    """Logits ``(n, C) ~ N(0, 2²)`` and labels drawn from ``softmax(z)``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, classes))
    cumulative = np.cumsum(_softmax(z), axis=1)
    return z, (rng.random(n)[:, None] > cumulative).sum(axis=1)


# ------------------------------------------------------------------- the fitted temperature


@agnostic
@pytest.mark.parametrize("true_temperature", [0.5, 2.5])
def test_fit_temperature_recovers_a_known_temperature(true_temperature):
    """Labels from sigmoid(z), scores sigmoid(T z): the fit gives T within 0.15 (n = 10,000;
    over 20 seeds the estimate of 2.5 had sd 0.04). Catches: returning 1 / T, fitting on the
    probabilities instead of the logits, a fixed or grid-limited T."""
    z, y = _binary_truth(10_000, seed=1)
    scores = _sigmoid(true_temperature * z)
    assert fit_temperature(y, scores) == pytest.approx(true_temperature, abs=0.15)
    assert fit_temperature(y, true_temperature * z, from_logits=True) == pytest.approx(
        true_temperature, abs=0.15
    )
    assert fit_temperature(y[:, None], scores[:, None]) == pytest.approx(
        fit_temperature(y, scores), rel=1e-6
    )


@agnostic
def test_fit_temperature_recovers_a_known_temperature_multiclass():
    """Three classes, labels from softmax(z), scores softmax(2.5 z): T = 2.5 ± 0.15. Catches
    treating each column as its own binary problem."""
    z, y = _multiclass_truth(10_000, seed=2)
    assert fit_temperature(y, _softmax(2.5 * z)) == pytest.approx(2.5, abs=0.15)
    assert fit_temperature(y, 2.5 * z, from_logits=True) == pytest.approx(2.5, abs=0.15)


@agnostic
def test_fit_temperature_minimizes_the_nll():
    """The fitted T beats T ± 1 % on the NLL computed by scikit-learn. Catches minimizing
    another criterion (Brier, ECE) whose optimum is elsewhere."""
    z, y = _binary_truth(2_000, seed=3)
    t = fit_temperature(y, 3 * z, from_logits=True)
    best = log_loss(y, _sigmoid(3 * z / t))
    for other in (0.99 * t, 1.01 * t):
        assert best < log_loss(y, _sigmoid(3 * z / other))


@agnostic
def test_fit_temperature_on_separable_data_ends_at_the_bound():
    """Every row right with margin: no finite optimum; T stops at the documented 0.01."""
    assert fit_temperature([0, 1, 0, 1], [0.2, 0.8, 0.1, 0.9]) == pytest.approx(0.01, rel=1e-3)


# ----------------------------------------------------------------------- the Keras layer


def _fixed_model(weight, n_features=1):
    """Dense(1, sigmoid) with all kernel weights ``weight`` and no bias: sigmoid(weight·Σx)."""
    inputs = keras.Input((n_features,))
    dense = keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(weight)
    )
    return keras.Model(inputs, dense(inputs), name="fixed")


@agnostic
def test_layer_matches_numpy(rng):
    """sigmoid(logit(p) / T) and softmax(log p / T), with and without logits as inputs.
    Catches: scaling the probabilities instead of the logits, softmax over the wrong axis."""
    p = rng.uniform(0.01, 0.99, (7, 1))
    logit = np.log(p) - np.log1p(-p)
    np.testing.assert_allclose(
        TemperatureScaling(temperature=1.7)(p), _sigmoid(logit / 1.7), atol=1e-6
    )
    np.testing.assert_allclose(
        TemperatureScaling(temperature=1.7, from_logits=True)(logit),
        _sigmoid(logit / 1.7),
        atol=1e-6,
    )
    q = _softmax(rng.normal(size=(5, 4)))
    np.testing.assert_allclose(
        TemperatureScaling(temperature=0.6)(q), _softmax(np.log(q) / 0.6), atol=1e-6
    )
    layer = TemperatureScaling()
    assert layer.fit([0, 1, 1], [0.3, 0.4, 0.9]) is layer
    assert layer.temperature_ == pytest.approx(fit_temperature([0, 1, 1], [0.3, 0.4, 0.9]))


@agnostic
def test_calibration_lowers_held_out_nll_of_an_over_confident_model():
    """A model that says sigmoid(4 x) where the truth is sigmoid(x): calibrated on 2,000
    validation rows, its NLL and ECE on 5,000 other rows drop, T is about 4. Catches a
    temperature applied the wrong way round (it would sharpen, raising the NLL)."""
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1.5, (7_000, 1)).astype("float32")
    y = (rng.random(7_000) < _sigmoid(x[:, 0])).astype(int)
    model = _fixed_model(4.0)
    calibrated = calibrate(model, x[:2_000], y[:2_000])
    assert calibrated.layers[-1].temperature_ == pytest.approx(4.0, abs=0.4)
    before = np.asarray(model.predict(x[2_000:], verbose=0))
    after = np.asarray(calibrated.predict(x[2_000:], verbose=0))
    report = calibration_report(y[2_000:], before, after)
    assert report["after"]["nll"] < report["before"]["nll"] - 0.1
    assert report["after"]["ece"] < report["before"]["ece"] / 2
    assert report["after"]["brier"] < report["before"]["brier"]


@agnostic
@pytest.mark.parametrize("temperature", [0.3, 1.0, 4.0])
def test_calibration_keeps_every_decision(temperature, rng):
    """Decisions (p > 0.5, arg-max) and hence the accuracy are unchanged for T below and above
    1. Catches: Platt scaling with an intercept, or a power of the probabilities renormalized
    wrongly, which move the decision boundary."""
    p = rng.uniform(0.02, 0.98, (500, 1)).astype("float32")
    p = p[np.abs(p[:, 0] - 0.5) > 1e-3]  # one float32 step from 0.5 may round onto it
    after = np.asarray(TemperatureScaling(temperature=temperature)(p))
    np.testing.assert_array_equal(after > 0.5, p > 0.5)
    q = _softmax(rng.normal(size=(500, 4))).astype("float32")
    after = np.asarray(TemperatureScaling(temperature=temperature)(q))
    np.testing.assert_array_equal(after.argmax(axis=1), q.argmax(axis=1))
    y = rng.integers(0, 2, len(p))
    report = calibration_report(y, p, TemperatureScaling(temperature=temperature)(p))
    assert report["after"]["accuracy"] == report["before"]["accuracy"]


@agnostic
def test_calibrated_model_saves_and_reloads_without_custom_objects(tmp_path):
    """The calibrated model reloads from .keras and .h5 with the same temperature and the same
    predictions. Catches a get_config that forgets the temperature (reloads with T = 1)."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1.5, (1_000, 2)).astype("float32")
    y = (rng.random(1_000) < _sigmoid(x.sum(axis=1))).astype(int)
    calibrated = calibrate(_fixed_model(3.0, n_features=2), x, y)
    expected = calibrated.predict(x, verbose=0)
    for fmt, reloaded in save_and_reload(calibrated, tmp_path, compile=False).items():
        assert reloaded.layers[-1].temperature_ == calibrated.layers[-1].temperature_, fmt
        np.testing.assert_array_equal(reloaded.predict(x, verbose=0), expected, err_msg=fmt)
    assert_config_roundtrip(TemperatureScaling(temperature=2.5, from_logits=True))


@agnostic
def test_calibrate_a_sequential_logit_model():
    """A Sequential model that outputs logits: ``from_logits=True`` gives probabilities out."""
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (2_000, 1)).astype("float32")
    y = (rng.random(2_000) < _sigmoid(x[:, 0])).astype(int)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(2.0)),
        ]
    )
    calibrated = calibrate(model, x, y, from_logits=True)
    assert calibrated.layers[-1].temperature_ == pytest.approx(2.0, abs=0.25)
    np.testing.assert_allclose(
        calibrated.predict(x[:5], verbose=0)[:, 0],
        _sigmoid(2.0 * x[:5, 0] / calibrated.layers[-1].temperature_),
        atol=1e-6,
    )


@agnostic
def test_bad_arguments_raise_the_standard_message():
    """Non-positive temperatures, non-boolean flags, labels or scores out of range, shapes that
    do not match and non-models all name the argument."""
    cases = [
        (lambda: TemperatureScaling(temperature=0), "temperature"),
        (lambda: TemperatureScaling(from_logits="yes"), "from_logits"),
        (lambda: fit_temperature([0, 2], [0.1, 0.9]), "y_true"),
        (lambda: fit_temperature([0, 1], [0.1, 1.2]), "scores"),
        (lambda: fit_temperature([0, 1, 1], [0.1, 0.9]), "y_true.shape"),
        (lambda: fit_temperature([0, 1], [0.0, np.inf], from_logits=True), "scores"),
        (lambda: calibrate("model", np.zeros((2, 1)), [0, 1]), "model"),
        (lambda: calibration_report([0, 1], [0.1, 0.9], n_bins=0), "n_bins"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=INVALID.format(name)):
            call()


# ------------------------------------------------------------------ measuring calibration


def _numpy_ece(y, p, n_bins):
    """ECE by a loop over equal-width bins closed on the left (1.0 in the last)."""
    total = 0.0
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        inside = (p >= low) & ((p < high) | ((b == n_bins - 1) & (p <= 1)))
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return total / len(p)


@agnostic
def test_calibration_report_against_references(rng):
    """ECE against a NumPy loop, Brier and NLL against scikit-learn, before and after."""
    y = rng.integers(0, 2, 300)
    before = rng.uniform(0, 1, 300)
    after = np.clip(before + rng.normal(0, 0.05, 300), 0, 1)
    report = calibration_report(y, before, after, n_bins=7)
    for key, p in (("before", before), ("after", after)):
        assert report[key]["ece"] == pytest.approx(_numpy_ece(y, p, 7), abs=1e-5)
        assert report[key]["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-6)
        clipped = np.clip(p, 1e-7, 1 - 1e-7)
        assert report[key]["nll"] == pytest.approx(log_loss(y, clipped), rel=1e-6)
        assert report[key]["accuracy"] == pytest.approx(np.mean((p > 0.5) == y))
    assert set(calibration_report(y, before)) == {"before"}


@agnostic
def test_reliability_diagram_writes_a_png(tmp_path, rng):
    """Binary with and without "after", and multiclass scores; only the PNGs are left."""
    y = rng.integers(0, 2, 200)
    p = rng.uniform(0, 1, 200)
    for name, after in (("both.png", np.sqrt(p)), ("one.png", None)):
        path = reliability_diagram(tmp_path / name, y, p, after, n_bins=5)
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100
    q = _softmax(rng.normal(size=(200, 3)))
    reliability_diagram(tmp_path / "multi.png", rng.integers(0, 3, 200), q)
    assert sorted(os.listdir(tmp_path)) == ["both.png", "multi.png", "one.png"]


# ------------------------------------------------- what the reliability diagram draws


def _curves(figure):
    """``{legend name: (x, y)}`` of the top axes' lines, the diagonal left out."""
    top = figure.axes[0]
    return {
        line.get_label().split(" (ECE")[0]: (np.asarray(line.get_xdata()), line.get_ydata())
        for line in top.lines
        if line.get_label() != "perfect calibration"
    }


def _bar_heights(figure):
    """``{legend name: (left x of each bar, its height)}`` of the bottom axes."""
    return {
        bars.get_label(): (
            np.array([patch.get_x() for patch in bars.patches]),
            np.array([patch.get_height() for patch in bars.patches]),
        )
        for bars in figure.axes[1].containers
    }


@agnostic
def test_reliability_diagram_plots_the_observed_frequency_of_class_1(tmp_path, drawn):
    """A hand-made example: labels 0, 0 in the bin [0, 0.5) and 1, 1, 0 in [0.5, 1]. The curve
    goes through (0.15, 0) and (0.8, 2/3), and the bars count 2 and 3 rows. Catches: plotting
    the frequency of ``1 - label`` (gives 1 and 1/3), axes swapped (x = frequency), and the
    bars of the wrong bins."""
    y = [0, 0, 1, 1, 0]
    p = [0.1, 0.2, 0.7, 0.9, 0.8]
    reliability_diagram(tmp_path / "hand.png", y, p, n_bins=2)
    (figure,) = drawn
    x, frequency = _curves(figure)["before"]
    np.testing.assert_allclose(x, [0.15, 0.8], atol=1e-12)
    np.testing.assert_allclose(frequency, [0.0, 2 / 3], atol=1e-12)
    left, heights = _bar_heights(figure)["before"]
    np.testing.assert_array_equal(heights, [2, 3])
    assert 0 <= left[0] < 0.5 <= left[1] < 1
    assert figure.axes[0].get_ylabel() == "observed frequency of class 1"


@agnostic
def test_reliability_diagram_names_the_positive_class(tmp_path, drawn):
    """``class_names`` puts the positive class's name where the default says "class 1"."""
    y, p = [0, 0, 1, 1, 0], [0.1, 0.2, 0.7, 0.9, 0.8]
    names = ("uninfected", "parasitized")
    reliability_diagram(tmp_path / "named.png", y, p, n_bins=2, class_names=names)
    reliability_diagram(tmp_path / "numbered.png", y, p, n_bins=2)
    named, numbered = drawn
    assert named.axes[0].get_ylabel() == "observed frequency of parasitized"
    assert named.axes[1].get_xlabel() == "predicted probability of parasitized"
    assert named.axes[0].get_title() == "Reliability diagram: parasitized"
    assert numbered.axes[1].get_xlabel() == "predicted probability of class 1"
    with pytest.raises(ValueError, match=INVALID.format("class_names") + ". Expected 2 names"):
        reliability_diagram(tmp_path / "x.png", y, p, class_names=("parasitized",))
    with pytest.raises(ValueError, match=INVALID.format("class_names")):
        reliability_diagram(tmp_path / "x.png", y, p, class_names="parasitized")
    assert not (tmp_path / "x.png").exists()


@agnostic
def test_reliability_diagram_curves_match_sklearn_calibration_curve(tmp_path, rng, drawn):
    """Labels drawn from Bernoulli(p): per bin, both curves ("before" and "after") are
    scikit-learn's ``calibration_curve`` (uniform bins, empty bins dropped), the bars are
    NumPy's histogram counts, and the legend's ECE and Brier are those of
    ``calibration_report``. Catches: the frequency of ``1 - label`` (about 1 - p instead of
    p), the "after" curve drawn from the "before" scores, mean confidence replaced by the bin
    centre, and counts of the wrong set of scores."""
    from sklearn.calibration import calibration_curve

    n_bins = 8
    p = rng.uniform(0, 0.6, 2_000)  # bins above 0.6 are empty: they must not be drawn
    y = (rng.random(2_000) < p).astype(int)
    after = np.sqrt(p)
    reliability_diagram(tmp_path / "d.png", y, p, after, n_bins=n_bins, names=("raw", "cal"))
    (figure,) = drawn
    curves, bars = _curves(figure), _bar_heights(figure)
    assert set(curves) == set(bars) == {"raw", "cal"}
    report = calibration_report(y, p, after, n_bins=n_bins)
    labels = {line.get_label() for line in figure.axes[0].lines}
    for name, key, scores in (("raw", "before", p), ("cal", "after", after)):
        frequency, mean_predicted = calibration_curve(y, scores, n_bins=n_bins)
        np.testing.assert_allclose(curves[name][0], mean_predicted, rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(curves[name][1], frequency, rtol=1e-9, err_msg=name)
        counts, edges = np.histogram(scores, bins=n_bins, range=(0, 1))
        np.testing.assert_array_equal(bars[name][1], counts, err_msg=name)
        assert np.all((edges[:-1] <= bars[name][0]) & (bars[name][0] < edges[1:])), name
        summary = report[key]
        assert f"{name} (ECE {summary['ece']:.3f}, Brier {summary['brier']:.3f})" in labels
    assert len(curves["raw"][0]) < n_bins, "the example should have empty bins"


@agnostic
def test_reliability_diagram_multiclass_plots_top_class_accuracy(tmp_path, rng, drawn):
    """Three classes: per bin of the top-class confidence, its mean (x) and the share of rows
    whose arg-max is the label (y), computed here with a NumPy loop. Catches: the frequency of
    class 1 (or of a flipped hit) instead of the accuracy, and the confidence of column 0
    instead of the top class."""
    q = _softmax(rng.normal(0, 1.5, (1_500, 3)))
    cumulative = np.cumsum(q, axis=1)
    y = (rng.random(1_500)[:, None] > cumulative).sum(axis=1)
    reliability_diagram(tmp_path / "multi.png", y, q, n_bins=5)
    (figure,) = drawn
    confidence, hit = q.max(axis=1), q.argmax(axis=1) == y
    xs, ys = [], []
    for b in range(5):
        inside = (confidence >= b / 5) & ((confidence < (b + 1) / 5) | (b == 4))
        if inside.any():
            xs.append(confidence[inside].mean())
            ys.append(hit[inside].mean())
    x, accuracy = _curves(figure)["before"]
    np.testing.assert_allclose(x, xs, rtol=1e-9)
    np.testing.assert_allclose(accuracy, ys, rtol=1e-9)
    assert figure.axes[0].get_ylabel() == "accuracy"
