"""kerasx.functional: the NumPy ECE, Brier score and log loss against independent references.

References: the Keras metrics (``ExpectedCalibrationError``, ``BrierScore``) accumulated over
random batches, scikit-learn (``brier_score_loss``, ``log_loss``) and a slow row-by-row Python
loop for the ECE; then edge cases and bad input.
"""

import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

import kerasx
from kerasx.calibration import calibration_report
from kerasx.functional import brier_score, expected_calibration_error, log_loss
from kerasx.metrics import BrierScore, ExpectedCalibrationError

agnostic = pytest.mark.backend_agnostic

# binary (n,), binary (n, 1), two score columns, four classes
KINDS = ["binary", "column", "two_columns", "four_classes"]
CLIP = 1e-7


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _data(rng, n, kind, weighted=False):
    """Labels, probabilities and weights (``None`` unless ``weighted``; a tenth of them 0)."""
    if kind in ("binary", "column"):
        scores = rng.uniform(0, 1, n)
        labels = (rng.random(n) < scores).astype(int)  # roughly calibrated
        if kind == "column":
            scores, labels = scores[:, None], labels[:, None]
    else:
        classes = 2 if kind == "two_columns" else 4
        scores = _softmax(rng.normal(0, 1.5, (n, classes)))
        labels = rng.integers(0, classes, n)
    weight = None
    if weighted:
        weight = rng.uniform(0, 2, n) * (rng.random(n) > 0.1)
    return labels, scores, weight


def _batches(rng, n, count=4):
    """``count`` random, unequal slices covering ``range(n)``."""
    cuts = np.sort(rng.choice(np.arange(1, n), count - 1, replace=False))
    return [slice(a, b) for a, b in zip([0, *cuts], [*cuts, n], strict=True)]


def _take(array, rows):
    return None if array is None else array[rows]


def _loop_ece(y, p, n_bins, w=None):
    """ECE row by row: each row's bin found by comparing its confidence with the edges."""
    y, p = np.asarray(y).reshape(len(y)), np.asarray(p, dtype=float)
    p = p[:, 0] if p.ndim == 2 and p.shape[1] == 1 else p
    total, confidence, hit = [0.0] * n_bins, [0.0] * n_bins, [0.0] * n_bins
    for i in range(len(y)):
        weight = 1.0 if w is None else float(w[i])
        if p.ndim == 1:
            c, h = float(p[i]), float(y[i])
        else:
            row = [float(v) for v in p[i]]
            top = row.index(max(row))
            c, h = row[top], float(top == y[i])
        b = 0
        while b < n_bins - 1 and c >= (b + 1) / n_bins:  # [b/n, (b+1)/n), 1.0 in the last
            b += 1
        total[b] += weight
        confidence[b] += weight * c
        hit[b] += weight * h
    if sum(total) == 0:
        return 0.0
    return sum(abs(h - c) for h, c in zip(hit, confidence, strict=True)) / sum(total)


def _sklearn_labels(scores):
    return None if scores.ndim == 1 or scores.shape[1] == 1 else np.arange(scores.shape[1])


def _flat(scores):
    return scores[:, 0] if scores.ndim == 2 and scores.shape[1] == 1 else scores


# ------------------------------------------------------- against the Keras metrics, in batches


def _ece7(y, p, *, sample_weight=None):
    return expected_calibration_error(y, p, n_bins=7, sample_weight=sample_weight)


PAIRS = [
    ("ece", lambda: ExpectedCalibrationError(n_bins=7), _ece7),
    ("brier", lambda: BrierScore(), brier_score),
]


def _metric_value(metric, batches):
    metric.reset_state()
    for y, p, w in batches:
        metric.update_state(y, p, sample_weight=w)
    return float(metric.result())


@agnostic
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pair", PAIRS, ids=[pair[0] for pair in PAIRS])
def test_function_equals_the_keras_metric_accumulated_over_batches(pair, kind, weighted, rng):
    """Each batch alone, and the metric accumulated over 4 batches against the function on all
    rows (the metric keeps float32 sums). Catches a binning, weighting or halving that differs
    from the compiled metric's."""
    _, factory, function = pair
    y, p, w = _data(rng, 600, kind, weighted)
    metric = factory()
    batches = [(y[s], p[s], _take(w, s)) for s in _batches(rng, len(y))]
    for batch in batches:
        expected = function(batch[0], batch[1], sample_weight=batch[2])
        assert _metric_value(metric, [batch]) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    expected = function(y, p, sample_weight=w)
    assert _metric_value(metric, batches) == pytest.approx(expected, rel=1e-5, abs=1e-6)


# --------------------------------------------------------------------------- scikit-learn


@agnostic
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_brier_score_matches_sklearn(kind, weighted, rng):
    """``brier_score_loss`` (which halves two columns, ``scale_by_half="auto"``)."""
    y, p, w = _data(rng, 400, kind, weighted)
    expected = brier_score_loss(y.ravel(), _flat(p), sample_weight=w, labels=_sklearn_labels(p))
    assert brier_score(y, p, sample_weight=w) == pytest.approx(expected, rel=1e-12)


@agnostic
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_log_loss_matches_sklearn(kind, weighted, rng):
    """Probabilities away from 0 and 1, where the clipping does nothing."""
    y, p, w = _data(rng, 400, kind, weighted)
    p = np.clip(p, 0.001, 0.999) if p.shape[-1] == 1 or p.ndim == 1 else p
    expected = sklearn_log_loss(y.ravel(), _flat(p), sample_weight=w, labels=_sklearn_labels(p))
    assert log_loss(y, p, sample_weight=w) == pytest.approx(expected, rel=1e-10)


@agnostic
def test_log_loss_clips_scores_of_exactly_0_and_1():
    """Binary: ``sklearn.metrics.log_loss`` of the scores clipped to [1e-7, 1 − 1e-7];
    multiclass: of the scores clipped to [1e-7, 1] and renormalized. Catches an infinite loss
    or float32's clipping (``eps = 1.2e-7``)."""
    y, p = np.array([0, 1, 1, 0, 1]), np.array([0.0, 1.0, 0.0, 1.0, 0.3])
    expected = sklearn_log_loss(y, np.clip(p, CLIP, 1 - CLIP))
    assert log_loss(y, p) == pytest.approx(expected, rel=1e-10)
    assert log_loss([1], [0.0]) == pytest.approx(-np.log(CLIP), rel=1e-6)
    y3, p3 = np.array([0, 1, 2]), np.array([[1.0, 0, 0], [1.0, 0, 0], [0.2, 0.3, 0.5]])
    clipped = np.clip(p3, CLIP, 1.0)
    expected = sklearn_log_loss(y3, clipped / clipped.sum(axis=1, keepdims=True))
    assert log_loss(y3, p3) == pytest.approx(expected, rel=1e-10)


# ----------------------------------------------------------------------- the ECE, by a loop


@agnostic
@pytest.mark.parametrize("n_bins", [1, 7, 15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_ece_matches_a_python_loop(kind, weighted, n_bins, rng):
    y, p, w = _data(rng, 300, kind, weighted)
    expected = _loop_ece(y, p, n_bins, w)
    actual = expected_calibration_error(y, p, n_bins=n_bins, sample_weight=w)
    assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------------------- edge cases


@agnostic
def test_ece_empty_bins_add_nothing():
    """Two of ten bins hold rows: (|0 − 0.05| + |2 − 1.87|) / 3."""
    y, p = [0, 1, 1], [0.05, 0.95, 0.92]
    assert expected_calibration_error(y, p) == pytest.approx(0.06)
    assert expected_calibration_error(y, p) == pytest.approx(_loop_ece(y, p, 10))


@agnostic
@pytest.mark.parametrize("n_bins", [1, 2, 10, 49])
def test_ece_puts_one_in_the_last_bin(n_bins):
    """1.0 joins the last bin (``floor(1.0 · n)`` is bin ``n``, which does not exist)."""
    assert expected_calibration_error([0], [1.0], n_bins=n_bins) == 1.0
    assert expected_calibration_error([1], [1.0], n_bins=n_bins) == 0.0
    y, p = [1, 0], [1.0, 1 - 0.5 / n_bins]  # both in the last bin: |1 − (2 − 0.5 / n)| / 2
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(0.5 - 0.25 / n_bins)
    ece = ExpectedCalibrationError(n_bins=n_bins)
    ece.update_state(np.array(y), np.array(p, dtype="float32"))
    assert float(ece.result()) == pytest.approx(0.5 - 0.25 / n_bins, abs=1e-6)


@agnostic
@pytest.mark.parametrize("n_bins", [2, 4, 10])
def test_ece_bins_are_closed_on_the_left(n_bins):
    """A score on every edge ``k / n`` (and 0, 1) goes up, to the bin it opens: as the loop
    and the Keras metric. Catches right-closed bins (``ceil(p · n) − 1``)."""
    p = np.arange(n_bins + 1) / n_bins
    y = np.arange(n_bins + 1) % 2
    expected = _loop_ece(y, p, n_bins)
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(expected, rel=1e-12)
    ece = ExpectedCalibrationError(n_bins=n_bins)
    ece.update_state(y, p.astype("float32"))
    assert float(ece.result()) == pytest.approx(expected, abs=1e-6)
    right_closed = np.clip(np.ceil(p * n_bins) - 1, 0, n_bins - 1).astype(int)
    gaps = [abs(y[right_closed == b].sum() - p[right_closed == b].sum()) for b in range(n_bins)]
    assert sum(gaps) / len(y) != pytest.approx(expected)  # the data tells the two apart


@agnostic
def test_scores_of_exactly_0_and_1():
    """All wrong at full confidence, half the rows: ECE 0.5 (bins 0 and 9 each off by one
    row), Brier 0.5; all right: 0 and 0."""
    y, p = [0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0]
    assert expected_calibration_error(y, p) == pytest.approx(0.5)
    assert expected_calibration_error(y, p) == pytest.approx(_loop_ece(y, p, 10))
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p))
    assert brier_score(y, p) == 0.5
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0
    assert brier_score([0, 1], [0.0, 1.0]) == 0.0
    assert log_loss([0, 1], [0.0, 1.0]) == pytest.approx(-np.log1p(-CLIP), rel=1e-6)


@agnostic
@pytest.mark.parametrize("kind", ["binary", "four_classes"])
@pytest.mark.parametrize("label", [0, 1])
def test_all_one_class(kind, label, rng):
    """Every label the same class: against the Keras metrics, scikit-learn and the loop."""
    _, p, _ = _data(rng, 50, kind)
    y = np.full(len(p), label)
    labels = np.arange(p.shape[1]) if p.ndim == 2 else [0, 1]
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p, labels=labels), rel=1e-12)
    assert log_loss(y, p) == pytest.approx(sklearn_log_loss(y, p, labels=labels), rel=1e-10)
    assert expected_calibration_error(y, p) == pytest.approx(_loop_ece(y, p, 10), rel=1e-12)
    pairs = [(ExpectedCalibrationError(), expected_calibration_error), (BrierScore(), brier_score)]
    for metric, function in pairs:
        metric.update_state(y, p)
        assert float(metric.result()) == pytest.approx(function(y, p), rel=1e-5, abs=1e-6)


@agnostic
@pytest.mark.parametrize("function", [expected_calibration_error, brier_score, log_loss])
def test_zero_weights_drop_rows_and_no_weight_gives_0(function, rng):
    y, p, w = _data(rng, 200, "four_classes", weighted=True)
    kept = w > 0
    assert function(y, p, sample_weight=w) == pytest.approx(
        function(y[kept], p[kept], sample_weight=w[kept]), rel=1e-12
    )
    assert function(y, p, sample_weight=np.ones(len(y))) == pytest.approx(function(y, p))
    assert function(y, p, sample_weight=np.zeros(len(y))) == 0.0


@agnostic
@pytest.mark.parametrize("function", [expected_calibration_error, brier_score, log_loss])
def test_column_shapes_give_the_same_value(function, rng):
    y, p, w = _data(rng, 100, "binary", weighted=True)
    flat = function(y, p, sample_weight=w)
    assert function(y[:, None], p[:, None], sample_weight=w[:, None]) == flat
    assert function(list(y), list(p), sample_weight=list(w)) == flat


@agnostic
def test_calibration_report_computes_with_these_functions(rng):
    y, p, _ = _data(rng, 300, "four_classes")
    before = calibration_report(y, p, n_bins=5)["before"]
    assert before["ece"] == expected_calibration_error(y, p, n_bins=5)
    assert before["brier"] == brier_score(y, p)
    assert before["nll"] == log_loss(y, p)


@agnostic
def test_the_module_imports_no_keras():
    """NumPy only: summarizing predictions must not pull in Keras or TensorFlow."""
    code = "import sys, kerasx.functional; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- bad input


def _message(name, expected, received):
    text = f"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={received}"
    return "^" + re.escape(text) + "$"


BAD_INPUTS = [
    ({"y_true": [0, 2]}, _message("y_true", "class labels (integers) in [0, 2)", 2)),
    ({"y_true": [0, 0.5]}, _message("y_true", "class labels (integers) in [0, 2)", 0.5)),
    ({"y_true": [0, 1, 1]}, _message("y_true.shape", "(2,) to match scores", (3,))),
    ({"scores": [0.1, 1.2]}, _message("scores", "probabilities in [0, 1]", 1.2)),
    ({"scores": [0.1, -0.0001]}, _message("scores", "probabilities in [0, 1]", -0.0001)),
    ({"scores": [0.1, np.nan]}, _message("scores", "probabilities in [0, 1]", "nan")),
    (
        {"scores": np.full((2, 2, 2), 0.5)},
        _message("scores.shape", "(n,), (n, 1) or (n, C) with n >= 1", (2, 2, 2)),
    ),
    (
        {"y_true": [], "scores": []},
        _message("scores.shape", "(n,), (n, 1) or (n, C) with n >= 1", (0,)),
    ),
    ({"sample_weight": [1, -1]}, _message("sample_weight", "finite weights >= 0", -1.0)),
    ({"sample_weight": [1, np.inf]}, _message("sample_weight", "finite weights >= 0", "inf")),
    ({"sample_weight": [1, 1, 1]}, _message("sample_weight.shape", "(2,) to match scores", (3,))),
    ({"sample_weight": 1.0}, _message("sample_weight.shape", "(2,) to match scores", ())),
]


@agnostic
@pytest.mark.parametrize("function", [expected_calibration_error, brier_score, log_loss])
@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_bad_input_raises_the_standard_message(function, change, message):
    arguments = {"y_true": [0, 1], "scores": [0.1, 0.9], **change}
    y_true, scores = arguments.pop("y_true"), arguments.pop("scores")
    with pytest.raises(kerasx.InvalidArgument, match=message):
        function(y_true, scores, **arguments)


@agnostic
@pytest.mark.parametrize("n_bins", [0, 2.5, True, None])
def test_bad_n_bins(n_bins):
    with pytest.raises(kerasx.InvalidArgument, match=_message("n_bins", "an integer >= 1", n_bins)):
        expected_calibration_error([0, 1], [0.1, 0.9], n_bins=n_bins)
