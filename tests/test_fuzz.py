"""Hypothesis fuzzing of every kerasx loss and metric (issue 13, "Fuzzing").

Random batches of 0 to 64 rows in every shape a component accepts, predictions in float16,
bfloat16, float32 and float64, exact 0 and 1, scores exactly at the threshold, tiny and
subnormal values, logits of ±1e4 (and ±100, where float32 probabilities underflow), sample
weights with zeros (all zero included), metrics fed in random splits. Properties:

* the only exception is a ``ValueError`` in kerasx's standard form (bad input);
* the result is finite wherever the float64 NumPy / scikit-learn reference on the same data
  is finite, and close to it within a tolerance set by the prediction's dtype;
* a metric fed the data in random batches equals the reference on all of it at once.

"The same data" is the data as the backend holds it: predictions are quantized to their dtype
first (under JAX, without x64, float64 arrays become float32), and the references read them
back. Three conventions of the platform are written into the references, not worked around:

* probabilities computed from logits (sigmoid, softmax) are the backend's own, in the
  prediction's dtype, as the metrics compute them;
* CPU backends (TensorFlow and XLA) flush float32/float64 subnormals to zero in comparisons,
  so a subnormal score is "positive" at ``threshold=0`` on one dtype and not on another: the
  check accepts either, for all such scores of a batch at once;
* calibration bins are computed in the metric's dtype (float32), as documented;
* −0 is stored as +0, and subnormal entries of multi-column scores as +0: TensorFlow's
  arg-max flushes them and breaks the resulting ties differently from NumPy.

The loss classes get half-precision predictions in their default float32 (see
``_class_dtype``); a class built with ``dtype="float16"`` is covered by a regression test.
``test_fuzz`` runs 25 derandomized examples per component (8 under JAX, which compiles every
op for every new shape); ``test_fuzz_slow`` (``-m slow``) 300 derandomized ones, or 300 new
random ones on every run with ``KERASX_FUZZ_RANDOM=1`` (how the bugs below were found; CI
stays repeatable).

Empty input (0 rows), decided here and checked: per-sample losses return an empty array,
like Keras's own (``keras.losses.BinaryCrossentropy()`` on ``(0, 1)`` arrays returns shape
``(0,)``, not NaN); the batch-level losses return a defined number (F-beta loss 1, kappa loss
``log(epsilon)``); a metric's state does not change (0 before any sample, as Keras's
built-in metrics).
"""

import os
import re

import keras
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import ops
from test_losses import EPS, np_reduce, np_sigmoid, np_soft_fbeta, np_weighted_kappa
from test_metrics import _ref_balanced, _ref_confusion, _ref_kappa, _ref_mcc, _ref_recall

from kerasx import losses as kl
from kerasx import metrics as km

agnostic = pytest.mark.backend_agnostic
# JAX compiles every op for every new shape (~5x slower here): fewer examples in its CI run.
FAST = settings(
    max_examples=25 if keras.backend.backend() == "tensorflow" else 8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(
    max_examples=300,
    deadline=None,
    # Repeatable in CI; KERASX_FUZZ_RANDOM=1 draws new examples on every run (bug hunting).
    derandomize=os.environ.get("KERASX_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = ["float16", "bfloat16", "float32", "float64"]
# Relative tolerance by the dtype the backend holds the predictions in. Losses of half
# precision are computed in float32 and rounded once (a few ulps after Keras's reduction).
RTOL = {"float16": 8e-3, "bfloat16": 6e-2, "float32": 2e-5, "float64": 1e-9}
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"]
MESSAGE = re.compile(r"^Invalid value for argument `[\w.]+`\. Expected .+\. Received: [\w.]+=")

SPECIAL_PROBABILITIES = [0.0, 1.0, 0.5, 0.25, 0.75, 1e-38, 1e-45, 5e-324, 1 - 1e-8, 1e-7]
SPECIAL_LOGITS = [0.0, 1e4, -1e4, 100.0, -100.0, 30.0, -30.0, 1e-38, -1e-38, 1e-45]


# ---------------------------------------------------------------- data as the backend holds it


def _tensor(values, dtype, *, flush=False):
    """``values`` quantized to ``dtype`` (bfloat16 through ml_dtypes), as a backend tensor.

    −0 becomes +0: TensorFlow's arg-max ranks −0 below +0, a tie NumPy breaks the other way.
    With ``flush``, subnormals become +0 too: TensorFlow's arg-max flushes them to zero (and
    breaks the resulting ties as it likes), NumPy does not.
    """
    numpy_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
    array = np.asarray(values, dtype="float64").astype(numpy_dtype)
    smallest = max(_tiny(dtype), _tiny("float32")) if flush else 0.0
    array = np.where(np.abs(array) <= smallest, np.zeros_like(array), array)
    return ops.convert_to_tensor(array)


def _held_dtype(tensor):
    return keras.backend.standardize_dtype(tensor.dtype)


def _f64(tensor):
    """A tensor as float64 NumPy (bfloat16 through float32: TensorFlow cannot hand a bfloat16
    scalar to NumPy)."""
    if _held_dtype(tensor) == "bfloat16":
        tensor = ops.cast(tensor, "float32")
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float64")


def _tiny(dtype):
    """The smallest normal number of ``dtype``."""
    return float(
        ml_dtypes.finfo(ml_dtypes.bfloat16).tiny if dtype == "bfloat16" else np.finfo(dtype).tiny
    )


def _assert_close(actual, expected, dtype, scale=1.0):
    """Finite where the reference is finite, and within the dtype's tolerance of it."""
    actual, expected = np.asarray(actual, "float64"), np.asarray(expected, "float64")
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    finite = np.isfinite(expected)
    assert np.all(np.isfinite(actual[finite])), (actual, expected)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=rtol * scale)
    infinite = np.isinf(expected)  # log(0) with epsilon=0: the same infinity
    np.testing.assert_array_equal(actual[infinite], expected[infinite])


# ---------------------------------------------------------------- strategies


def _column_of(values, n):
    return st.lists(values, min_size=n, max_size=n)


_weights_value = st.integers(0, 32).map(lambda k: k / 8)  # exact in every dtype, zeros included


def _weights(n):
    return st.one_of(
        st.none(),
        st.just(np.zeros(n)),  # all zero
        _column_of(_weights_value, n).map(np.array),
    )


def _probability():
    return st.one_of(st.sampled_from(SPECIAL_PROBABILITIES), st.floats(0, 1))


def _logit():
    return st.one_of(st.sampled_from(SPECIAL_LOGITS), st.floats(-30, 30))


def _matrix(data, n, k, values):
    return np.array(data.draw(_column_of(_column_of(values, k), n)), dtype="float64").reshape(n, k)


def _probability_rows(data, n, c):
    """Rows on the simplex: exact one-hot rows and normalized random rows with zeros."""
    raw = _matrix(data, n, c, st.sampled_from([0.0, 0.0, 1e-6, 0.1, 0.5, 1.0, 7.0]))
    raw[:, 0] += raw.sum(axis=1) == 0  # no all-zero row
    return raw / raw.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- float64 loss references


def _clip(p, compute_dtype):
    """Keras's clip to [ε, 1 − ε], with the bounds as the compute dtype holds them."""
    low, high = np.asarray(EPS, compute_dtype), np.asarray(1 - EPS, compute_dtype)
    return np.clip(p, float(low), float(high))


def _np_bce(y, p, from_logits, compute_dtype):
    if from_logits:
        return y * np.logaddexp(0.0, -p) + (1 - y) * np.logaddexp(0.0, p)
    p = _clip(p, compute_dtype)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _np_poly1(y, p, epsilon, from_logits, mode, compute_dtype):
    """Poly-1 per sample (``y`` one-hot for the categorical modes)."""
    if mode == "binary":
        prob = np_sigmoid(p) if from_logits else p
        p_t = y * prob + (1 - y) * (1 - prob)
        return (_np_bce(y, p, from_logits, compute_dtype) + epsilon * (1 - p_t)).mean(axis=-1)
    if from_logits:
        log_p = p - np.logaddexp.reduce(p, axis=-1, keepdims=True)
        prob = np.exp(log_p)
    else:
        prob = p / p.sum(axis=-1, keepdims=True)
        log_p = np.log(_clip(prob, compute_dtype))
    return -(y * log_p).sum(axis=-1) + epsilon * (1 - (y * prob).sum(axis=-1))


def _compute_dtype(held):
    """kerasx's losses compute in float64 for float64 input and in float32 otherwise."""
    return "float64" if held == "float64" else "float32"


def _class_dtype(held):
    """The loss classes run in their default float32 for half-precision predictions, as Keras
    runs losses under mixed precision. (With ``dtype="float16"`` Keras's own reduction sums in
    float16 and overflows past 65504: 19 samples of loss 3,500 give ``inf``, a Keras limit.)"""
    return held if held in ("float32", "float64") else None


def _check_loss_class(loss, y_in, pred, weights, per_sample, held, scale):
    """The class (reduction and weights by Keras) against ``np_reduce`` of the reference."""
    value = _f64(loss(y_in, pred, sample_weight=weights))
    if per_sample.size == 0:  # empty batch: Keras returns the empty per-sample array
        assert not np.isnan(np.asarray(value, "float64")).any()
        return
    with np.errstate(invalid="ignore"):  # all-zero weights: Keras's divide_no_nan gives 0
        expected = np_reduce(per_sample, weights, loss.reduction)
    _assert_close(value, expected, held, scale * max(1.0, np.abs(expected).max()))


# ---------------------------------------------------------------- loss checks


def _binary_case(data, *, allow_soft_labels):
    """``(y_in, y64, pred, p64, held, from_logits)``: a binary batch of a random shape."""
    n = data.draw(st.integers(0, 64), label="n")
    kind = data.draw(st.sampled_from(["(n,)", "(n,1)", "(n,k)"]), label="shape")
    k = data.draw(st.integers(2, 4)) if kind == "(n,k)" else 1
    from_logits = data.draw(st.booleans(), label="from_logits")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    labels = st.integers(0, 8).map(lambda v: v / 8) if allow_soft_labels else st.integers(0, 1)
    y = _matrix(data, n, k, labels)
    pred = _tensor(_matrix(data, n, k, _logit() if from_logits else _probability()), dtype)
    if kind != "(n,k)":  # (n,) or (n, 1) predictions, labels in either shape
        pred = ops.reshape(pred, (n,)) if kind == "(n,)" else pred
        y_in = y[:, 0] if data.draw(st.booleans(), label="rank-1 labels") else y
    else:
        y_in = y
    return y_in, y, pred, _f64(pred).reshape(n, k), _held_dtype(pred), from_logits


def _check_binary_nll(data):
    y_in, y, pred, p, held, from_logits = _binary_case(data, allow_soft_labels=True)
    per_sample = _np_bce(y, p, from_logits, _compute_dtype(held)).mean(axis=-1)
    scale = max(1.0, np.abs(p).max(initial=0.0))
    out = _f64(kl.binary_nll(y_in, pred, from_logits=from_logits))
    # (n,) labels with (n,) predictions: one mean over the batch, as Keras's functions.
    expected = per_sample.mean() if (len(pred.shape) == 1 and np.ndim(y_in) == 1) else per_sample
    if np.size(y) or np.ndim(expected):
        _assert_close(out, expected, held, scale)
    if len(pred.shape) == 2:
        weights = data.draw(_weights(len(y)), label="weights")
        reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
        loss = kl.BinaryNLL(from_logits=from_logits, reduction=reduction, dtype=_class_dtype(held))
        _check_loss_class(loss, y_in, pred, weights, per_sample, held, scale)


def _check_poly_loss(data):
    mode = data.draw(st.sampled_from(["binary", "categorical", "sparse_categorical"]), label="mode")
    epsilon = data.draw(st.sampled_from([-1.0, 0.0, 1.0, 2.5]), label="epsilon")
    if mode == "binary":
        y_in, y, pred, p, held, from_logits = _binary_case(data, allow_soft_labels=False)
    else:
        n, c = data.draw(st.integers(0, 64), label="n"), data.draw(st.integers(2, 5), label="C")
        from_logits = data.draw(st.booleans(), label="from_logits")
        dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
        values = _matrix(data, n, c, _logit()) if from_logits else _probability_rows(data, n, c)
        pred = _tensor(values, dtype)
        p, held = _f64(pred), _held_dtype(pred)
        labels = np.array(data.draw(_column_of(st.integers(0, c - 1), n)), dtype=int)
        y = np.eye(c)[labels]
        if mode == "categorical":
            y_in = y
        else:
            y_in = labels[:, None] if data.draw(st.booleans(), label="(n,1) labels") else labels
    per_sample = _np_poly1(y, p, epsilon, from_logits, mode, _compute_dtype(held))
    if mode == "binary" and len(pred.shape) == 1 and np.ndim(y_in) == 1:
        return  # (n,) with (n,): one mean over the batch, as in _check_binary_nll
    scale = max(1.0, np.abs(p).max(initial=0.0))
    kwargs = {"epsilon": epsilon, "from_logits": from_logits, "mode": mode}
    _assert_close(_f64(kl.poly1_crossentropy(y_in, pred, **kwargs)), per_sample, held, scale)
    weights = data.draw(_weights(len(y)), label="weights")
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
    loss = kl.PolyLoss(reduction=reduction, dtype=_class_dtype(held), **kwargs)
    _check_loss_class(loss, y_in, pred, weights, per_sample, held, scale)


def _check_soft_fbeta(data):
    y_in, y, pred, p, held, from_logits = _binary_case(data, allow_soft_labels=False)
    beta = data.draw(st.sampled_from([0.5, 1.0, 2.0]), label="beta")
    weights = data.draw(_weights(len(y)), label="weights")
    prob = np_sigmoid(p) if from_logits else p

    def reference(w):
        # No rows: no positives, F-beta 0/ε = 0, a loss of 1 (np_soft_fbeta cannot reshape).
        return np_soft_fbeta(y, prob, beta, w) if len(y) else 1.0

    out = kl.soft_fbeta(y_in, pred, beta=beta, from_logits=from_logits, sample_weight=weights)
    _assert_close(_f64(out), reference(weights), held)
    # The class: one value per batch, which a class-level sample_weight only rescales.
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
    loss = kl.SoftFBetaLoss(
        beta=beta, from_logits=from_logits, reduction=reduction, dtype=_class_dtype(held)
    )
    _assert_close(_f64(loss(y_in, pred)), reference(None), held)
    if len(y) and weights is not None:
        expected = np_reduce(reference(None), weights, reduction)
        _assert_close(_f64(loss(y_in, pred, sample_weight=weights)), expected, held)


def _np_kappa_loss(labels, p, weights, epsilon, sample_weight):
    """``np_weighted_kappa`` with its documented edge: a ratio 0/0 (no weight, no
    disagreement possible) counts as 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np_weighted_kappa(labels, p, weights, epsilon, sample_weight)
    if np.isnan(value):
        with np.errstate(divide="ignore"):
            value = np.log(0.0 + epsilon)
    return value


def _check_weighted_kappa(data):
    n, c = data.draw(st.integers(0, 64), label="n"), data.draw(st.integers(2, 5), label="C")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    pred = _tensor(_probability_rows(data, n, c), dtype)
    p, held = _f64(pred), _held_dtype(pred)
    labels = np.array(data.draw(_column_of(st.integers(0, c - 1), n)), dtype=int)
    shape = data.draw(st.sampled_from(["sparse", "column", "one-hot"]), label="labels")
    y_in = {"sparse": labels, "column": labels[:, None], "one-hot": np.eye(c)[labels]}[shape]
    weights_name = data.draw(st.sampled_from(["linear", "quadratic"]), label="weights")
    epsilon = data.draw(st.sampled_from([0.0, 1e-6, 1e-3]), label="epsilon")
    sample_weight = data.draw(_weights(n), label="sample_weight")
    kwargs = {"num_classes": c, "weights": weights_name, "epsilon": epsilon}
    w = np.ones(n) if sample_weight is None else sample_weight
    expected = _np_kappa_loss(labels, p, weights_name, epsilon, w)
    out = kl.weighted_kappa(y_in, pred, sample_weight=sample_weight, **kwargs)
    # log(ratio + ε): an absolute error of the ratio δ becomes δ / (ratio + ε); ratio ~ 1.
    scale = 1.0 / max(np.exp(expected), 1e-3) if np.isfinite(expected) else 1.0
    _assert_close(_f64(out), expected, held, scale)


# ---------------------------------------------------------------- metric references


def _backend_probabilities(pred, from_logits):
    """Probabilities as the metrics compute them: the backend's sigmoid / softmax, same dtype."""
    if not from_logits:
        return _f64(pred)
    if len(pred.shape) == 1 or pred.shape[1] == 1:
        return _f64(ops.sigmoid(pred))
    return _f64(ops.softmax(pred, axis=-1))


def _np_ece(y, probs, w, n_bins):
    """Σ_b |Σ accuracy − Σ confidence| / Σ w, bin index ``floor(conf · n_bins)`` in float32."""
    if probs.ndim == 1:
        confidence, accuracy = probs, y.astype(float)
    else:
        confidence, accuracy = probs.max(axis=1), (probs.argmax(axis=1) == y).astype(float)
    index = np.floor(confidence.astype("float32") * np.float32(n_bins)).astype(int)
    index = np.clip(index, 0, n_bins - 1)
    gaps = [abs(np.sum(w * (accuracy - confidence) * (index == b))) for b in range(n_bins)]
    return np.sum(gaps) / w.sum()


def _np_brier(y, probs, w):
    """scikit-learn's ``brier_score_loss`` written out (it rejects rows that float16 rounding
    leaves slightly off a sum of 1): mean squared error, halved for two columns."""
    if probs.ndim == 1:
        return np.average((probs - y) ** 2, weights=w)
    squared = ((probs - np.eye(probs.shape[1])[y]) ** 2).sum(axis=1)
    return np.average(squared / (2.0 if probs.shape[1] == 2 else 1.0), weights=w)


def _threshold_references(y, probs, w, c, threshold, held, reference):
    """The reference on hard predictions; two of them when subnormal scores meet
    ``threshold=0`` (flushed to zero or not, all of them alike)."""
    if probs.ndim == 2:
        return [reference(y, np.eye(c)[probs.argmax(axis=1)], w, c)]
    positive = probs > threshold
    flushed = positive & (threshold == 0) & (np.abs(probs) < _tiny(held))
    hard = [positive, positive & ~flushed] if flushed.any() else [positive]
    return [reference(y, np.eye(2)[h.astype(int)], w, c) for h in hard]


# name: (factory(num_classes, threshold, from_logits, extra), reference on hard predictions)
METRICS = {
    "confusion_matrix": (lambda c, t, fl, x: km.ConfusionMatrix(c, t, fl), _ref_confusion),
    "matthews": (lambda c, t, fl, x: km.MatthewsCorrelation(c, t, fl), _ref_mcc),
    "kappa": (
        lambda c, t, fl, x: km.CohenKappa(c, weights=x, threshold=t, from_logits=fl),
        None,
    ),
    "sensitivity": (lambda c, t, fl, x: km.Sensitivity(t, fl), _ref_recall(1)),
    "specificity": (lambda c, t, fl, x: km.Specificity(t, fl), _ref_recall(0)),
    "balanced_accuracy": (lambda c, t, fl, x: km.BalancedAccuracy(c, t, fl), _ref_balanced),
    "ece": (lambda c, t, fl, x: km.ExpectedCalibrationError(x, fl), None),
    "brier": (lambda c, t, fl, x: km.BrierScore(fl), None),
}
BINARY_ONLY = ("sensitivity", "specificity")


def _metric_case(data, name):
    """Labels, predictions and weights for the metric ``name``, in a random accepted shape."""
    n = data.draw(st.integers(0, 64), label="n")
    c = 2 if name in BINARY_ONLY else data.draw(st.integers(2, 4), label="C")
    binary_scores = c == 2 and data.draw(st.booleans(), label="one score column")
    from_logits = data.draw(st.booleans(), label="from_logits")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    labels = np.array(data.draw(_column_of(st.integers(0, c - 1), n)), dtype=int)
    if binary_scores:
        scores = _matrix(data, n, 1, _logit() if from_logits else _probability())
        scores = scores[:, 0] if data.draw(st.booleans(), label="(n,) scores") else scores
        y_in = labels if data.draw(st.booleans(), label="(n,) labels") else labels[:, None]
        y_in = y_in.astype(data.draw(st.sampled_from(["int32", "float32"]), label="label dtype"))
    else:
        scores = _matrix(data, n, c, _logit()) if from_logits else _probability_rows(data, n, c)
        y_in = data.draw(
            st.sampled_from([labels, labels[:, None], np.eye(c, dtype="float32")[labels]]),
            label="labels",
        )
    weights = data.draw(_weights(n), label="weights")
    pred = _tensor(scores, dtype, flush=not binary_scores)
    return labels, y_in, pred, weights, c, from_logits


def _update_in_splits(metric, data, y_in, pred, weights):
    """Feeds the data in up to four random batches (empty ones included)."""
    n = len(y_in)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3), label="splits"))
    for start, stop in zip([0, *cuts], [*cuts, n], strict=True):
        w = None if weights is None else weights[start:stop]
        metric.update_state(y_in[start:stop], pred[start:stop], sample_weight=w)
    return _f64(metric.result())


def _metric_references(name, labels, probs, w, c, threshold, held, extra):
    if name == "ece":
        return [_np_ece(labels, probs, w, extra)]
    if name == "brier":
        return [_np_brier(labels, probs, w)]
    reference = _ref_kappa(extra) if name == "kappa" else METRICS[name][1]
    return _threshold_references(labels, probs, w, c, threshold, held, reference)


def _check_metric(data, name):
    factory = METRICS[name][0]
    labels, y_in, pred, weights, c, from_logits = _metric_case(data, name)
    threshold = data.draw(st.integers(0, 128), label="threshold") / 128  # exact in every dtype
    extra = {
        "kappa": data.draw(st.sampled_from(km.KAPPA_WEIGHTS), label="kappa weights"),
        "ece": data.draw(st.integers(1, 15), label="n_bins"),
    }.get(name)
    value = _update_in_splits(factory(c, threshold, from_logits, extra), data, y_in, pred, weights)
    assert np.all(np.isfinite(value)), value
    w = np.ones(len(labels)) if weights is None else weights
    if w.sum() == 0:  # nothing counted (no rows, or all weights zero): the state is untouched
        assert np.all(value == 0), value
        return
    one_column = len(pred.shape) == 1 or pred.shape[1] == 1
    if one_column or name in ("ece", "brier"):
        scores = _backend_probabilities(pred, from_logits).reshape(len(labels), -1)
        scores = scores[:, 0] if one_column else scores
    else:  # the arg-max of the scores themselves: a softmax can round two of them into a tie
        scores = _f64(pred)
    held = _held_dtype(pred)
    candidates = _metric_references(name, labels, scores, w, c, threshold, held, extra)
    # Several candidates only where the platform may flush subnormal scores (see the top).
    errors = []
    for expected in candidates:
        try:
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5)
            return
        except AssertionError as error:
            errors.append(error)
    raise errors[0]


# ---------------------------------------------------------------- bad input


def _bad_loss_call(data):
    """A loss call with a shape that does not fit, or an invalid argument."""
    n = data.draw(st.integers(1, 16))
    k = data.draw(st.integers(2, 4))
    good = np.full((n, k), 0.5, "float32")
    wrong_k = np.full((n, k + 1), 0.5, "float32")
    wrong_n = np.full((n + 1, k), 0.5, "float32")
    labels = np.zeros(n, dtype=int)
    cases = [
        lambda: kl.binary_nll(wrong_k, good),
        lambda: kl.binary_nll(wrong_n[:, 0], good[:, 0]),
        lambda: kl.BinaryNLL()(good[:, :1, None], good),
        lambda: kl.poly1_crossentropy(wrong_k, good),
        lambda: kl.poly1_crossentropy(np.zeros(n + 1), good, mode="sparse_categorical"),
        lambda: kl.poly1_crossentropy(np.zeros((n, 2)), good, mode="sparse_categorical"),
        lambda: kl.PolyLoss(epsilon=-1.5),
        lambda: kl.PolyLoss(mode="hinge"),
        lambda: kl.soft_fbeta(wrong_n, good),
        lambda: kl.soft_fbeta(good, good, sample_weight=np.ones(n + 1)),
        lambda: kl.soft_fbeta(good, good, beta=0),
        lambda: kl.weighted_kappa(labels, wrong_k, num_classes=k),
        lambda: kl.weighted_kappa(np.zeros(n + 1), good, num_classes=k),
        lambda: kl.weighted_kappa(labels, good, num_classes=k, sample_weight=np.ones(n + 1)),
        lambda: kl.weighted_kappa(labels, good[:, :, None], num_classes=k),
        lambda: kl.WeightedKappaLoss(num_classes=1),
    ]
    return data.draw(st.sampled_from(cases))


def _bad_metric_call(data):
    """A metric update with labels, scores, weights or shapes that do not fit."""
    name = data.draw(st.sampled_from(sorted(METRICS)))
    factory = METRICS[name][0]
    n = data.draw(st.integers(1, 16))
    c = 2 if name in BINARY_ONLY else data.draw(st.integers(2, 4))
    metric = factory(c, 0.5, False, {"kappa": None, "ece": 10}.get(name))
    scores = np.full((n, c), 1.0 / c, "float32")
    labels = np.zeros(n, dtype=int)
    bad_label = data.draw(st.sampled_from([c, -1, 0.5, np.nan]))
    bad_prob = data.draw(st.sampled_from([-0.1, 1.5, np.nan, np.inf]))
    cases = [
        (np.where(np.arange(n) == 0, bad_label, labels), scores),
        (np.zeros(n + 1, dtype=int), scores),
        (labels, np.full((n, c + 1, 1), 0.5, "float32")),
        (np.zeros((n, c + 1)), scores),
        (labels, scores, np.ones(n + 1)),
        (labels, scores, np.ones((n, 2))),
    ]
    if name in ("ece", "brier"):
        cases.append((labels, np.where(np.arange(n)[:, None] == 0, bad_prob, scores)))
    args = data.draw(st.sampled_from(cases))
    return lambda: metric.update_state(*args[:2], sample_weight=args[2] if len(args) > 2 else None)


def _check_bad_input(data):
    call = (_bad_loss_call if data.draw(st.booleans(), label="loss") else _bad_metric_call)(data)
    with pytest.raises(ValueError) as raised:
        call()
    assert MESSAGE.match(str(raised.value)), str(raised.value)


# ---------------------------------------------------------------- the tests

CHECKS = {
    "binary_nll": _check_binary_nll,
    "poly_loss": _check_poly_loss,
    "soft_fbeta": _check_soft_fbeta,
    "weighted_kappa": _check_weighted_kappa,
    **{f"metric_{name}": (lambda data, name=name: _check_metric(data, name)) for name in METRICS},
    "bad_input": _check_bad_input,
}


@agnostic
@pytest.mark.parametrize("check", list(CHECKS), ids=list(CHECKS))
@FAST
@given(data=st.data())
def test_fuzz(check, data):
    CHECKS[check](data)


@pytest.mark.slow
@agnostic
@pytest.mark.parametrize("check", list(CHECKS), ids=list(CHECKS))
@SLOW
@given(data=st.data())
def test_fuzz_slow(check, data):
    CHECKS[check](data)


# ---------------------------------------------------------------- bugs the fuzzing found


@agnostic
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_probabilities_of_0_and_1_give_a_finite_loss(dtype):
    """Bug: in float16/bfloat16 the clip bound ``1 − ε`` rounds to 1, so a probability of
    exactly 1 gave ``log(0)``: an infinite ``binary_nll``, NaN where the label is 1 (0 · ∞),
    and NaN from ``BinaryNLL(dtype="float16")``. The losses now compute in float32."""
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    pred = _tensor([[0.0], [1.0], [1.0], [0.0]], dtype)
    expected = _np_bce(y, _f64(pred), False, "float32")[:, 0]
    _assert_close(_f64(kl.binary_nll(y, pred)), expected, dtype, scale=20.0)
    poly = kl.poly1_crossentropy(y, pred, epsilon=1.0, mode="binary")
    _assert_close(
        _f64(poly), _np_poly1(y, _f64(pred), 1.0, False, "binary", "float32"), dtype, 20.0
    )
    assert keras.backend.standardize_dtype(kl.binary_nll(y, pred).dtype) == dtype
    value = _f64(kl.BinaryNLL(dtype=dtype)(y, _f64(pred).astype("float32")))
    _assert_close(value, expected.mean(), dtype, scale=20.0)


@agnostic
def test_calibration_picks_the_top_class_before_rounding_to_float32():
    """Bug (``-m slow`` fuzzing, 51 rows of float64 logits): the ECE rounded the scores to
    its float32 state before the arg-max, so two classes 1e-12 apart tied and the first one
    was taken as the prediction; the top class is now chosen in the scores' own dtype."""
    probs = np.array([[0.3, 0.3 + 1e-12, 0.2, 0.2 - 1e-12]] * 3 + [[0.7, 0.1, 0.1, 0.1]])
    labels = np.array([0, 0, 1, 0])
    pred = _tensor(probs, "float64")  # float32 under JAX without x64: then the tie is real
    held = _f64(pred)
    metric = km.ExpectedCalibrationError(n_bins=5)
    metric.update_state(labels, pred)
    expected = _np_ece(labels, held, np.ones(4), 5)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    if _held_dtype(pred) == "float64":  # class 1 is the top class of the first three rows
        assert expected == pytest.approx((abs(1 - 0.9) + abs(1 - 0.7)) / 4)  # not 0.35


@agnostic
@pytest.mark.parametrize("n", [0, 5])
def test_weighted_kappa_with_no_weight_is_log_epsilon_not_nan(n):
    """Bug: all-zero sample weights (or an empty batch) made the chance matrix 0/0, and the
    loss NaN; the documented 0/0 ratio (no disagreement possible) gives ``log(epsilon)``."""
    pred = np.full((n, 3), 1 / 3, "float32")
    value = kl.weighted_kappa(np.zeros(n, int), pred, num_classes=3, sample_weight=np.zeros(n))
    assert float(value) == pytest.approx(np.log(1e-6), rel=1e-4)
    if n == 0:
        assert float(kl.WeightedKappaLoss(num_classes=3)(np.zeros(0), pred)) == pytest.approx(
            np.log(1e-6), rel=1e-4
        )


@agnostic
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: kl.binary_nll(np.zeros((4, 2)), np.full((4, 3), 0.5)), "y_true.shape"),
        (lambda: kl.BinaryNLL()(np.zeros(4), np.full(5, 0.5)), "y_true.shape"),
        (lambda: kl.poly1_crossentropy(np.zeros((5, 3)), np.full((4, 3), 0.5)), "y_true.shape"),
        (
            lambda: kl.poly1_crossentropy(
                np.zeros((4, 2)), np.full((4, 3), 0.5), mode="sparse_categorical"
            ),
            "y_true.shape",
        ),
        (lambda: kl.soft_fbeta(np.zeros((4, 1)), np.full((4, 3), 0.5)), "y_true.shape"),
        (
            lambda: kl.soft_fbeta(np.zeros(4), np.full(4, 0.5), sample_weight=np.ones(5)),
            "sample_weight.shape",
        ),
        (
            lambda: kl.weighted_kappa(np.zeros(5), np.full((4, 3), 0.5), num_classes=3),
            "y_true.shape",
        ),
    ],
)
def test_losses_reject_shapes_that_do_not_fit_with_a_value_error(call, name):
    """Bug: shapes that do not fit reached a backend op and raised TensorFlow's
    ``InvalidArgumentError`` ("Incompatible shapes"), or silently broadcast (``(n, 1)``
    labels against ``(n, 3)`` predictions). Keras's own losses raise a ``ValueError``."""
    with pytest.raises(ValueError, match=re.escape(f"Invalid value for argument `{name}`.")):
        call()


@agnostic
@pytest.mark.parametrize("factory", [kl.BinaryNLL, lambda: kl.PolyLoss(0.0, mode="binary")])
@pytest.mark.parametrize("shapes", [((4,), (4, 1)), ((4, 1), (4,))])
def test_rank_1_next_to_column_is_one_loss_per_sample(factory, shapes):
    """Bug: ``(n,)`` labels with ``(n, 1)`` predictions (a sigmoid model's output) were
    squeezed to ``(n,)`` and averaged into one number for the batch, so sample weights (and
    ``class_weight`` in ``fit``) only rescaled the batch mean instead of weighing samples.
    The value must equal Keras's ``BinaryCrossentropy``, which aligns them to ``(n, 1)``."""
    y = np.array([1.0, 0.0, 1.0, 0.0], "float32")
    p = np.array([0.9, 0.2, 0.3, 0.6], "float32")
    w = np.array([1.0, 0.0, 3.0, 0.5], "float32")
    y_in, p_in = y.reshape(shapes[0]), p.reshape(shapes[1])
    expected = keras.losses.BinaryCrossentropy()(y_in, p_in, sample_weight=w)
    _assert_close(_f64(factory()(y_in, p_in, sample_weight=w)), _f64(expected), "float32")


@agnostic
@pytest.mark.parametrize("factory", [km.MatthewsCorrelation, km.Sensitivity, km.ConfusionMatrix])
def test_integer_hard_predictions_are_accepted(factory):
    """Bug: integer 0/1 predictions raised ``TypeError: Cannot convert 0.5 to EagerTensor of
    dtype int64`` in the threshold comparison; the losses raised the same for integer
    ``y_pred``. They are now cast to float."""
    y, hard = np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1])
    as_int, as_float = factory(), factory()
    as_int.update_state(y, hard)
    as_float.update_state(y, hard.astype("float32"))
    np.testing.assert_array_equal(_f64(as_int.result()), _f64(as_float.result()))
    assert float(kl.binary_nll(y, hard)) == pytest.approx(float(kl.binary_nll(y, hard * 1.0)))


@agnostic
def test_calibration_error_accepts_an_empty_multiclass_batch():
    """Bug: ``ExpectedCalibrationError.update_state`` on a ``(0, C)`` batch raised
    TensorFlow's ``InvalidArgumentError`` ("Cannot compute the max of an empty tensor": Keras's
    ``ops.max`` refuses empty tensors even along an axis). An empty batch changes nothing."""
    metric = km.ExpectedCalibrationError(n_bins=5)
    metric.update_state(np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    before = _f64(metric.result())
    metric.update_state(np.zeros(0, int), np.zeros((0, 3), "float32"))
    assert _f64(metric.result()) == pytest.approx(before)


@agnostic
def test_fuzz_strategies_reach_the_edges():
    """The strategies can draw what the fuzzing promises: the special values survive the
    quantization, and a tensor keeps its dtype (a helper that promoted bfloat16 to float32
    once made every bfloat16 case a float32 one)."""
    for dtype in DTYPES:
        held = _held_dtype(_tensor([0.0, 1.0, 1e4], dtype))
        assert held == dtype or (keras.backend.backend() == "jax" and dtype == "float64")
    assert np.signbit(_f64(_tensor([-0.0], "float32"))).sum() == 0
    assert 0.0 in SPECIAL_PROBABILITIES and 1.0 in SPECIAL_PROBABILITIES
    assert 1e4 in SPECIAL_LOGITS and -1e4 in SPECIAL_LOGITS
