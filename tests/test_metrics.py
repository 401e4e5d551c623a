"""kerasx.metrics against scikit-learn (and a plain NumPy ECE): per batch, accumulated, reset,
weighted, property-based, invalid input, and saving round trips."""

import inspect
import re
import warnings

import keras
import numpy as np
import pytest
from helpers import assert_config_roundtrip, binary_data, model_with, save_and_reload
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops
from sklearn.metrics import (
    balanced_accuracy_score,
    brier_score_loss,
    cohen_kappa_score,
    confusion_matrix,
    matthews_corrcoef,
    recall_score,
)

import kerasx.metrics
from kerasx.metrics import (
    BalancedAccuracy,
    BrierScore,
    CohenKappa,
    ConfusionMatrix,
    ExpectedCalibrationError,
    MatthewsCorrelation,
    Sensitivity,
    Specificity,
)

agnostic = pytest.mark.backend_agnostic


# ---------------------------------------------------------------- references (independent)


def _predicted(p, threshold=0.5):
    return (p > threshold).astype(int) if p.ndim == 1 else p.argmax(axis=1)


def _quiet(function):
    """Calls a scikit-learn metric with its undefined-value warnings silenced."""

    def wrapped(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(*args, **kwargs)

    return wrapped


def _ref_confusion(y, p, w, c):
    return confusion_matrix(y, _predicted(p), labels=np.arange(c), sample_weight=w)


def _ref_mcc(y, p, w, c):
    return _quiet(matthews_corrcoef)(y, _predicted(p), sample_weight=w)


def _ref_kappa(weights):
    def reference(y, p, w, c):
        return _quiet(cohen_kappa_score)(
            y,
            _predicted(p),
            labels=np.arange(c),
            weights=weights,
            sample_weight=w,
            replace_undefined_by=0.0,
        )

    return reference


def _ref_recall(cls):
    def reference(y, p, w, c):
        recalls = _quiet(recall_score)(
            y, _predicted(p), labels=[0, 1], average=None, sample_weight=w, zero_division=0
        )
        return recalls[cls]

    return reference


def _ref_balanced(y, p, w, c):
    return _quiet(balanced_accuracy_score)(y, _predicted(p), sample_weight=w)


def _ref_brier(y, p, w, c):
    labels = None if p.ndim == 1 else np.arange(c)
    return brier_score_loss(y, p, sample_weight=w, labels=labels)


def _ref_ece(n_bins):
    """Plain NumPy ECE: Σ_b (W_b / W) |mean accuracy_b − mean confidence_b|, bins [b/n, (b+1)/n)."""

    def reference(y, p, w, c):
        w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
        if p.ndim == 1:
            confidence, accuracy = p.astype(float), y.astype(float)
        else:
            confidence = p.max(axis=1).astype(float)
            accuracy = (p.argmax(axis=1) == y).astype(float)
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        ece = 0.0
        for b in range(n_bins):
            upper = confidence <= edges[b + 1] if b == n_bins - 1 else confidence < edges[b + 1]
            in_bin = (confidence >= edges[b]) & upper
            weight = w[in_bin].sum()
            if weight > 0:
                gap = np.average(accuracy[in_bin], weights=w[in_bin]) - np.average(
                    confidence[in_bin], weights=w[in_bin]
                )
                ece += weight / w.sum() * abs(gap)
        return ece

    return reference


# (id, factory, number of classes, reference(y, p, w, c))
SPECS = [
    ("confusion_binary", lambda: ConfusionMatrix(), 2, _ref_confusion),
    ("confusion_3", lambda: ConfusionMatrix(num_classes=3), 3, _ref_confusion),
    ("mcc_binary", lambda: MatthewsCorrelation(), 2, _ref_mcc),
    ("mcc_4", lambda: MatthewsCorrelation(num_classes=4), 4, _ref_mcc),
    ("kappa_binary", lambda: CohenKappa(), 2, _ref_kappa(None)),
    ("kappa_3_linear", lambda: CohenKappa(3, weights="linear"), 3, _ref_kappa("linear")),
    ("kappa_4_quadratic", lambda: CohenKappa(4, weights="quadratic"), 4, _ref_kappa("quadratic")),
    ("sensitivity", lambda: Sensitivity(), 2, _ref_recall(1)),
    ("specificity", lambda: Specificity(), 2, _ref_recall(0)),
    ("balanced_binary", lambda: BalancedAccuracy(), 2, _ref_balanced),
    ("balanced_3", lambda: BalancedAccuracy(num_classes=3), 3, _ref_balanced),
    ("ece_binary", lambda: ExpectedCalibrationError(), 2, _ref_ece(10)),
    ("ece_3", lambda: ExpectedCalibrationError(n_bins=7), 3, _ref_ece(7)),
    ("brier_binary", lambda: BrierScore(), 2, _ref_brier),
    ("brier_3", lambda: BrierScore(), 3, _ref_brier),
]
SPEC_IDS = [spec[0] for spec in SPECS]


def _data(rng, n, num_classes):
    """Labels and float32 probabilities: ``(n,)`` for two classes, ``(n, C)`` otherwise."""
    y = rng.integers(0, num_classes, n)
    if num_classes == 2:
        # probabilities that lean toward the label, so the metrics are far from their edge cases
        p = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1).astype("float32")
    else:
        logits = rng.standard_normal((n, num_classes)) + 1.5 * np.eye(num_classes)[y]
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        p = p.astype("float32")
    return y, p


def _value(metric):
    return np.asarray(ops.convert_to_numpy(metric.result()), dtype=float)


def _assert_close(actual, expected):
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=float), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- against the references


@agnostic
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("spec_id", "factory", "num_classes", "reference"), SPECS, ids=SPEC_IDS)
def test_batches_accumulate_and_reset(spec_id, factory, num_classes, reference, weighted, rng):
    sizes = [17, 40, 23]
    batches = []
    for n in sizes:
        y, p = _data(rng, n, num_classes)
        w = rng.uniform(0, 3, n).astype("float32") if weighted else None
        batches.append((y, p, w))
    metric = factory()

    for y, p, w in batches:  # each batch alone
        metric.reset_state()
        metric.update_state(y, p, sample_weight=w)
        _assert_close(_value(metric), reference(y, p, w, num_classes))

    metric.reset_state()
    for y, p, w in batches:  # accumulated = reference on the concatenated data
        metric.update_state(y, p, sample_weight=w)
    y_all = np.concatenate([b[0] for b in batches])
    p_all = np.concatenate([b[1] for b in batches])
    w_all = np.concatenate([b[2] for b in batches]) if weighted else None
    _assert_close(_value(metric), reference(y_all, p_all, w_all, num_classes))

    metric.reset_state()
    assert np.all(_value(metric) == 0)


@agnostic
@pytest.mark.parametrize(("spec_id", "factory", "num_classes", "reference"), SPECS, ids=SPEC_IDS)
def test_zero_weights_ignore_samples(spec_id, factory, num_classes, reference, rng):
    y, p = _data(rng, 30, num_classes)
    w = np.ones(30, dtype="float32")
    w[::3] = 0
    weighted, subset = factory(), factory()
    weighted.update_state(y, p, sample_weight=w)
    subset.update_state(y[w > 0], p[w > 0])
    _assert_close(_value(weighted), _value(subset))
    _assert_close(_value(weighted), reference(y[w > 0], p[w > 0], None, num_classes))


@agnostic
@pytest.mark.parametrize(("spec_id", "factory", "num_classes", "reference"), SPECS, ids=SPEC_IDS)
def test_column_shapes_and_one_hot_labels(spec_id, factory, num_classes, reference, rng):
    y, p = _data(rng, 25, num_classes)
    expected = reference(y, p, None, num_classes)
    if num_classes == 2:
        variants = [(y[:, None], p[:, None]), (y.astype("float32")[:, None], p)]
    else:
        variants = [(y[:, None], p), (np.eye(num_classes, dtype="float32")[y], p)]
    for y_variant, p_variant in variants:
        metric = factory()
        metric.update_state(y_variant, p_variant, sample_weight=np.ones((25, 1)))
        _assert_close(_value(metric), expected)


@agnostic
@pytest.mark.parametrize(
    "factory",
    [Sensitivity, Specificity, MatthewsCorrelation, BalancedAccuracy, CohenKappa, ConfusionMatrix],
)
def test_binary_from_logits_and_threshold(factory, rng):
    y, p = _data(rng, 50, 2)
    logits = np.log(p / (1 - p)).astype("float32")
    on_probs, on_logits = factory(), factory(from_logits=True)
    on_probs.update_state(y, p)
    on_logits.update_state(y, logits)
    _assert_close(_value(on_logits), _value(on_probs))

    threshold = 0.7
    metric = factory(threshold=threshold)
    metric.update_state(y, p)
    both = (y, (p > threshold).astype(int))
    if factory is ConfusionMatrix:
        expected = confusion_matrix(*both, labels=[0, 1])
    elif factory is Sensitivity:
        expected = recall_score(*both)
    elif factory is Specificity:
        expected = recall_score(*both, pos_label=0)
    elif factory is MatthewsCorrelation:
        expected = matthews_corrcoef(*both)
    elif factory is BalancedAccuracy:
        expected = balanced_accuracy_score(*both)
    else:
        expected = cohen_kappa_score(*both)
    _assert_close(_value(metric), expected)


@agnostic
def test_two_score_columns_use_argmax(rng):
    y, p = _data(rng, 40, 2)
    two_columns = np.stack([1 - p, p], axis=1)
    metric = MatthewsCorrelation()
    metric.update_state(np.eye(2)[y], two_columns)
    _assert_close(_value(metric), matthews_corrcoef(y, two_columns.argmax(axis=1)))


@agnostic
@pytest.mark.parametrize("factory", [ExpectedCalibrationError, BrierScore])
def test_probability_metrics_from_logits(factory, rng):
    y, p = _data(rng, 40, 2)
    metric = factory(from_logits=True)
    metric.update_state(y, np.log(p / (1 - p)))
    _assert_close(_value(metric), _value_of(factory(), y, p))

    y3, p3 = _data(rng, 40, 3)
    metric = factory(from_logits=True)
    metric.update_state(y3, np.log(p3) + 2.0)  # softmax is shift-invariant
    _assert_close(_value(metric), _value_of(factory(), y3, p3))


def _value_of(metric, y, p, w=None):
    metric.update_state(y, p, sample_weight=w)
    return _value(metric)


# ---------------------------------------------------------------- edge cases


@agnostic
@pytest.mark.parametrize(("spec_id", "factory", "num_classes", "reference"), SPECS, ids=SPEC_IDS)
def test_empty_state_is_zero_not_nan(spec_id, factory, num_classes, reference):
    assert np.all(_value(factory()) == 0)


@agnostic
@pytest.mark.parametrize(
    ("y", "p"),
    [
        ([1, 1, 1], [0.93, 0.82, 0.71]),  # one true class, one predicted class, the same
        ([1, 1, 1], [0.13, 0.82, 0.71]),  # one true class
        ([0, 1, 1], [0.93, 0.82, 0.71]),  # one predicted class
        ([0, 0, 0], [0.13, 0.22, 0.31]),
    ],
)
def test_degenerate_inputs_match_sklearn(y, p):
    y, p = np.array(y), np.array(p, dtype="float32")
    for spec_id, factory, num_classes, reference in SPECS:
        if num_classes == 2:
            metric = factory()
            metric.update_state(y, p)
            value = _value(metric)
            assert not np.isnan(value).any(), spec_id
            _assert_close(value, reference(y, p, None, 2))


@agnostic
def test_calibration_bin_edges():
    # bins [0, .5) and [.5, 1]: 0.0 falls in the first, 0.5 and 1.0 in the last
    metric = ExpectedCalibrationError(n_bins=2)
    metric.update_state([0, 1, 1], [0.0, 0.5, 1.0])
    _assert_close(_value(metric), (2 - 1.5) / 3)
    reference = _ref_ece(2)(np.array([0, 1, 1]), np.array([0.0, 0.5, 1.0]), None, 2)
    _assert_close(_value(metric), reference)


def _ece_digitize(y, p, n_bins, *, right):
    """ECE with NumPy's ``digitize`` on the inner edges: bins ``[a, b)`` or, with ``right``,
    ``(a, b]`` (the first and last bins take 0 and 1 either way)."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    index = np.digitize(p, np.linspace(0, 1, n_bins + 1)[1:-1], right=right)
    gaps = [abs(y[index == b].sum() - p[index == b].sum()) for b in range(n_bins)]
    return sum(gaps) / len(y)


@agnostic
def test_calibration_bins_are_closed_on_the_left():
    """0.5 with n_bins=2 belongs to [0.5, 1], as the docstring says.

    Catches a right-closed binning (``ceil(p * n) - 1``, or ``searchsorted(edges, p)``): it puts
    0.5 in [0, 0.5] and gives (0.5 + 0.1) / 2 = 0.3 instead of |1 − 1.4| / 2 = 0.2.
    """
    y, p = [0, 1], [0.5, 0.9]
    assert _ece_digitize(y, p, 2, right=False) == pytest.approx(0.2)
    assert _ece_digitize(y, p, 2, right=True) == pytest.approx(0.3)  # the wrong convention
    _assert_close(_value_of(ExpectedCalibrationError(n_bins=2), np.array(y), np.array(p)), 0.2)


@agnostic
def test_calibration_every_inner_edge_goes_up():
    """Probabilities on every inner edge of 4 bins (exact in float32), plus 0 and 1.

    Catches right-closed bins and a last bin that drops 1.0 (``floor(p * n)`` without a
    clip gives index n, which a one-hot silently turns into no bin at all).
    """
    y = np.array([0, 1, 1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.3, 0.6, 0.9], dtype="float32")
    expected = _ece_digitize(y, p, 4, right=False)
    assert expected != pytest.approx(_ece_digitize(y, p, 4, right=True))
    _assert_close(_value_of(ExpectedCalibrationError(n_bins=4), y, p), expected)


# ---------------------------------------------------------------- probabilities at the threshold


def _threshold_metric_classes():
    """Every kerasx metric with a ``threshold`` argument (so a new one is picked up here)."""
    classes = [getattr(kerasx.metrics, name) for name in kerasx.metrics.__all__]
    return [c for c in classes if "threshold" in inspect.signature(c).parameters]


# sklearn on hard labels, one per thresholded metric class name
THRESHOLD_REFERENCES = {
    "ConfusionMatrix": lambda y, hard: confusion_matrix(y, hard, labels=[0, 1]),
    "MatthewsCorrelation": matthews_corrcoef,
    "CohenKappa": cohen_kappa_score,
    "Sensitivity": recall_score,
    "Specificity": lambda y, hard: recall_score(y, hard, pos_label=0),
    "BalancedAccuracy": balanced_accuracy_score,
}
THRESHOLD_CLASSES = _threshold_metric_classes()


def test_every_thresholded_metric_has_a_reference():
    """A binary metric added later without a reference would escape the threshold test."""
    assert THRESHOLD_CLASSES
    assert sorted(c.__name__ for c in THRESHOLD_CLASSES) == sorted(THRESHOLD_REFERENCES)


def _at_threshold_batch(threshold):
    """Labels and float32 scores, three of them exactly at ``threshold`` (both labels)."""
    low, high = threshold / 2, (1 + threshold) / 2
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 1])
    p = np.array([threshold, threshold, threshold, high, high, low, low, low, low, high])
    assert np.all(p.astype("float32") == p)  # exact in float32: no rounding across the threshold
    return y, p.astype("float32")


@agnostic
@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("factory", THRESHOLD_CLASSES, ids=lambda c: c.__name__)
def test_probability_at_the_threshold_is_negative(factory, threshold):
    """A score equal to the threshold is predicted negative (``p > threshold``), as documented
    and as Keras's ``BinaryAccuracy`` does.

    Catches ``p >= threshold`` (and ``round(p)`` at 0.5): the three scores at the threshold
    then count as positives, which changes every metric here (checked below, so the test
    cannot pass both ways).
    """
    y, p = _at_threshold_batch(threshold)
    reference = THRESHOLD_REFERENCES[factory.__name__]
    expected = reference(y, (p > threshold).astype(int))
    wrong = reference(y, (p >= threshold).astype(int))
    assert not np.allclose(expected, wrong), "the batch does not tell > from >="
    _assert_close(_value_of(factory(threshold=threshold), y, p), expected)


@agnostic
@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
def test_threshold_convention_is_keras_binary_accuracy(threshold):
    """The accuracy read off kerasx's confusion matrix equals Keras's own ``BinaryAccuracy``
    at the same threshold, with scores exactly at the threshold (an independent check of
    the ``>`` convention against the framework's built-in)."""
    y, p = _at_threshold_batch(threshold)
    confusion = _value_of(ConfusionMatrix(threshold=threshold), y, p)
    keras_accuracy = keras.metrics.BinaryAccuracy(threshold=threshold)
    keras_accuracy.update_state(y.astype("float32"), p)
    _assert_close(np.trace(confusion) / confusion.sum(), _value(keras_accuracy))


@agnostic
@pytest.mark.parametrize("factory", THRESHOLD_CLASSES, ids=lambda c: c.__name__)
def test_logit_zero_is_negative_from_logits(factory):
    """``from_logits=True``: a logit of 0 is a probability of exactly 0.5, hence negative.

    Catches a logits path that compares ``z >= 0`` (or ``sigmoid(z) >= threshold``).
    """
    y, p = _at_threshold_batch(0.5)
    logits = np.log(p / (1 - p))  # exactly 0 where p is 0.5
    reference = THRESHOLD_REFERENCES[factory.__name__]
    expected = reference(y, (logits > 0).astype(int))
    assert not np.allclose(expected, reference(y, (logits >= 0).astype(int)))
    _assert_close(_value_of(factory(from_logits=True), y, logits), expected)


# ---------------------------------------------------------------- property-based


_binary_batch = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n),
        st.one_of(st.none(), st.lists(st.integers(0, 4), min_size=n, max_size=n)),
    )
)


@agnostic
@settings(max_examples=25, deadline=None)
@given(batch=_binary_batch)
def test_binary_threshold_metrics_property(batch):
    y, p, w = batch
    y, p = np.array(y), np.array(p, dtype="float32")
    w = None if w is None else np.array(w, dtype="float32") / 2
    total = len(y) if w is None else w.sum()
    for spec_id, factory, num_classes, reference in SPECS:
        if num_classes != 2 or spec_id.startswith("ece"):
            continue
        value = _value_of(factory(), y, p, w)
        assert not np.isnan(value).any()
        if total == 0:
            assert np.all(value == 0), spec_id
        else:
            _assert_close(value, reference(y, p, w, 2))


def _away_from_edges(n_bins):
    # ECE bin edges in float32 and float64 may disagree by one ulp: keep clear of them
    return st.floats(0, 1, width=32).filter(
        lambda q: abs(q * n_bins - round(q * n_bins)) > 1e-4 or q in (0.0, 1.0)
    )


@agnostic
@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 30),
    n_bins=st.integers(1, 15),
)
def test_calibration_error_property(data, n, n_bins):
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    p = np.array(
        data.draw(st.lists(_away_from_edges(n_bins), min_size=n, max_size=n)), dtype="float32"
    )
    w = np.array(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype="float32")
    value = _value_of(ExpectedCalibrationError(n_bins=n_bins), y, p, w)
    _assert_close(value, _ref_ece(n_bins)(y, p, w, 2))
    assert 0 <= value <= 1 + 1e-6


@agnostic
@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(1, 30), num_classes=st.integers(2, 5))
def test_multiclass_metrics_property(data, n, num_classes):
    y = np.array(data.draw(st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n)))
    scores = data.draw(
        st.lists(
            st.lists(st.integers(0, 1000), min_size=num_classes, max_size=num_classes),
            min_size=n,
            max_size=n,
        )
    )
    scores = np.array(scores, dtype="float64") + np.arange(num_classes) * 1e-3  # no argmax ties
    p = (scores / scores.sum(axis=1, keepdims=True)).astype("float32")
    cases = [
        (ConfusionMatrix(num_classes), _ref_confusion),
        (MatthewsCorrelation(num_classes), _ref_mcc),
        (CohenKappa(num_classes, weights="quadratic"), _ref_kappa("quadratic")),
        (BalancedAccuracy(num_classes), _ref_balanced),
        (BrierScore(), _ref_brier),
    ]
    for metric, reference in cases:
        _assert_close(_value_of(metric, y, p), reference(y, p, None, num_classes))


# ---------------------------------------------------------------- invalid input


@agnostic
@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (
            Sensitivity,
            {"threshold": 1.5},
            "`threshold`. Expected a float in [0, 1]. Received: threshold=1.5",
        ),
        (
            Specificity,
            {"threshold": -0.1},
            "`threshold`. Expected a float in [0, 1]. Received: threshold=-0.1",
        ),
        (
            MatthewsCorrelation,
            {"num_classes": 1},
            "`num_classes`. Expected an integer >= 2. Received: num_classes=1",
        ),
        (
            ConfusionMatrix,
            {"num_classes": 2.5},
            "`num_classes`. Expected an integer >= 2. Received: num_classes=2.5",
        ),
        (
            CohenKappa,
            {"weights": "cubic"},
            "`weights`. Expected one of (None, 'linear', 'quadratic'). Received: weights='cubic'",
        ),
        (
            ExpectedCalibrationError,
            {"n_bins": 0},
            "`n_bins`. Expected an integer >= 1. Received: n_bins=0",
        ),
        (
            BrierScore,
            {"from_logits": "yes"},
            "`from_logits`. Expected one of (False, True). Received: from_logits='yes'",
        ),
    ],
)
def test_invalid_arguments(factory, kwargs, message):
    with pytest.raises(ValueError, match=re.escape("Invalid value for argument " + message)):
        factory(**kwargs)


@agnostic
@pytest.mark.parametrize(
    ("metric", "y_true", "y_pred", "sample_weight", "message"),
    [
        (
            Sensitivity(),
            [0, 2, 1],
            [0.1, 0.2, 0.3],
            None,
            "`y_true`. Expected class labels (integers) in [0, 2). Received: y_true=2",
        ),
        (MatthewsCorrelation(), [0, 0.5, 1], [0.1, 0.2, 0.3], None, "Received: y_true=0.5"),
        (
            ConfusionMatrix(3),
            [0, 3, 1],
            np.eye(3)[[0, 1, 2]],
            None,
            "in [0, 3). Received: y_true=3",
        ),
        (CohenKappa(3), [0, -1, 1], np.eye(3)[[0, 1, 2]], None, "Received: y_true=-1"),
        (
            ConfusionMatrix(3),
            [0, 1],
            np.ones((2, 4)),
            None,
            "`y_pred.shape`. Expected (batch, 3). Received: y_pred.shape=(2, 4)",
        ),
        (
            Specificity(),
            [0, 1, 1],
            [0.1, 0.2],
            None,
            "`y_true.shape`. Expected a batch size of 2. Received: y_true.shape=(3,)",
        ),
        (
            Sensitivity(),
            [0],
            [[0.1, 0.2, 0.7]],
            None,
            "`y_pred.shape`. Expected (batch,), (batch, 1) or (batch, 2)",
        ),
        (
            BalancedAccuracy(),
            [0, 1],
            [0.1, 0.2],
            [1.0, 1.0, 1.0],
            "`sample_weight.shape`. Expected a batch size of 2",
        ),
        (
            BalancedAccuracy(),
            [0, 1],
            [0.1, 0.2],
            np.ones((2, 2)),
            "`sample_weight.shape`. Expected (batch,) or (batch, 1)",
        ),
        (
            BrierScore(),
            [0, 1],
            [0.1, 1.2],
            None,
            "`y_pred`. Expected probabilities in [0, 1] (or pass from_logits=True). Received: y_pred=1.2",
        ),
        (
            ExpectedCalibrationError(),
            [0, 2],
            np.eye(3)[[0, 1]] * 1.5,
            None,
            "Expected probabilities in [0, 1]",
        ),
        (ExpectedCalibrationError(), [0, 2], [0.1, 0.2], None, "Received: y_true=2"),
        (BrierScore(), [0, 3], np.eye(3)[[0, 1]], None, "in [0, 3). Received: y_true=3"),
    ],
)
def test_invalid_data(metric, y_true, y_pred, sample_weight, message):
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        metric.update_state(np.array(y_true), np.array(y_pred, dtype="float32"), sample_weight)
    assert str(raised.value).startswith("Invalid value for argument `")


# ---------------------------------------------------------------- Keras integration


ALL_METRICS = [
    Sensitivity,
    Specificity,
    MatthewsCorrelation,
    BalancedAccuracy,
    CohenKappa,
    ConfusionMatrix,
    ExpectedCalibrationError,
    BrierScore,
]


@agnostic
@pytest.mark.parametrize(
    "metric",
    [
        Sensitivity(threshold=0.3, from_logits=True, name="sens"),
        Specificity(threshold=0.6),
        MatthewsCorrelation(num_classes=3),
        CohenKappa(num_classes=4, weights="linear", dtype="float64"),
        ConfusionMatrix(num_classes=5),
        BalancedAccuracy(num_classes=3),
        ExpectedCalibrationError(n_bins=4, from_logits=True),
        BrierScore(from_logits=True),
    ],
    ids=lambda metric: type(metric).__name__,
)
def test_config_roundtrip(metric):
    restored = assert_config_roundtrip(metric)
    assert restored.name == metric.name


@agnostic
def test_default_names_are_snake_case():
    names = [factory().name for factory in ALL_METRICS]
    assert names == [
        "sensitivity",
        "specificity",
        "matthews_correlation",
        "balanced_accuracy",
        "cohen_kappa",
        "confusion_matrix",
        "expected_calibration_error",
        "brier_score",
    ]


@agnostic
@pytest.mark.parametrize("jit_compile", ["auto", True])
def test_compiled_evaluate_matches_sklearn_on_predictions(jit_compile):
    """In ``evaluate`` the metrics run traced (tf.function / XLA / jax.jit), over several batches."""
    X, y = binary_data(n=96)
    model = model_with()
    metrics = [factory() for factory in ALL_METRICS]
    model.compile(loss="binary_crossentropy", metrics=metrics, jit_compile=jit_compile)
    results = model.evaluate(X, y, batch_size=32, return_dict=True, verbose=0)
    p = model.predict(X, batch_size=96, verbose=0)[:, 0]
    y = y.astype(int)
    _assert_close(results["sensitivity"], _ref_recall(1)(y, p, None, 2))
    _assert_close(results["specificity"], _ref_recall(0)(y, p, None, 2))
    _assert_close(results["matthews_correlation"], _ref_mcc(y, p, None, 2))
    _assert_close(results["balanced_accuracy"], _ref_balanced(y, p, None, 2))
    _assert_close(results["cohen_kappa"], _ref_kappa(None)(y, p, None, 2))
    _assert_close(results["confusion_matrix"], _ref_confusion(y, p, None, 2))
    _assert_close(results["expected_calibration_error"], _ref_ece(10)(y, p, None, 2))
    _assert_close(results["brier_score"], _ref_brier(y, p, None, 2))


def test_saved_model_reloads_without_custom_objects(tmp_path):
    X, y = binary_data()
    model = model_with(metrics=["accuracy", *(factory() for factory in ALL_METRICS)])
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    expected = model.evaluate(X, y, batch_size=16, return_dict=True, verbose=0)
    predictions = model.predict(X, verbose=0)
    for fmt, reloaded in save_and_reload(model, tmp_path).items():
        np.testing.assert_allclose(reloaded.predict(X, verbose=0), predictions, rtol=1e-6)
        results = reloaded.evaluate(X, y, batch_size=16, return_dict=True, verbose=0)
        assert results.keys() == expected.keys(), fmt
        for key, value in expected.items():
            np.testing.assert_allclose(results[key], value, rtol=1e-5, atol=1e-6, err_msg=fmt)


def test_metrics_work_in_fit_history_and_early_stopping():
    X, y = binary_data()
    model = model_with(metrics=[Sensitivity(), Specificity(), MatthewsCorrelation(), BrierScore()])
    maximize = keras.callbacks.EarlyStopping(monitor="val_matthews_correlation", patience=5)
    minimize = keras.callbacks.EarlyStopping(monitor="val_brier_score", patience=5)
    history = model.fit(
        X,
        y,
        epochs=2,
        batch_size=16,
        validation_split=0.25,
        verbose=0,
        callbacks=[maximize, minimize],
    )
    for key in ("sensitivity", "val_specificity", "matthews_correlation", "val_brier_score"):
        assert len(history.history[key]) == 2
        assert all(np.isfinite(history.history[key]))
    # mode="auto" finds the direction of each metric
    assert bool(maximize.monitor_op(1.0, 0.0)) and not bool(maximize.monitor_op(0.0, 1.0))
    assert bool(minimize.monitor_op(0.0, 1.0)) and not bool(minimize.monitor_op(1.0, 0.0))
    assert isinstance(keras.metrics.get(keras.metrics.serialize(Sensitivity())), Sensitivity)
