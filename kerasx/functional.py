"""NumPy summaries of predicted probabilities: expected calibration error, Brier score, log loss.

The functional layer, as in torchmetrics: plain functions of labels and scores that return one
float, for summarizing a model's predictions after training (:mod:`kerasx.calibration` reports
with them). The streaming ``keras.ops`` versions, for ``compile(metrics=[...])``, are
:class:`kerasx.metrics.ExpectedCalibrationError` and :class:`kerasx.metrics.BrierScore`; the
two are written separately (a compiled metric cannot call NumPy) and tested against each other.

This module imports NumPy only (plus kerasx's argument checks), so it is cheap to import and
works whatever the Keras backend. Everything is computed in float64.

Inputs, for every function:

* ``y_true``: class labels ``(n,)`` or ``(n, 1)``: 0/1 for binary scores, integers in
  ``[0, C)`` for ``C`` score columns.
* ``scores``: probabilities in ``[0, 1]``: of the positive class, ``(n,)`` or ``(n, 1)``, or
  of each class, ``(n, C)`` with ``C >= 2``.
* ``sample_weight``: ``None``, or finite weights ``>= 0`` of shape ``(n,)`` or ``(n, 1)``. A
  total weight of 0 gives 0, as the Keras metrics give before any sample.

Bad input raises :class:`kerasx.InvalidArgument` in the standard form, naming the argument.

>>> y, p = [1, 0, 1, 1], [0.9, 0.2, 0.7, 0.4]
>>> [round(f(y, p), 4) for f in (expected_calibration_error, brier_score, log_loss)]
[0.3, 0.125, 0.4004]
"""

import numpy as np

from kerasx._plotting import labels_and_scores
from kerasx._validation import check_int, invalid_value

__all__ = ["brier_score", "expected_calibration_error", "log_loss"]

# Probabilities are clipped to [EPSILON, 1 - EPSILON] before taking logs, so a float32 score of
# exactly 0 or 1 gives a finite logit (about ±16) and a finite loss.
EPSILON = 1e-7


# --------------------------------------------------------------------------- shared steps


def _format(y_true, scores, sample_weight):
    """Checked ``(labels, scores, weight)``: int64 ``(n,)``, float64 ``(n,)`` or ``(n, C)``,
    and float64 ``(n,)`` weights or ``None``."""
    labels, scores = labels_and_scores(y_true, scores)
    if sample_weight is None:
        return labels, scores, None
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.ndim == 2 and weight.shape[1] == 1:
        weight = weight[:, 0]
    if weight.shape != labels.shape:
        expected = f"({len(labels)},) to match scores"
        raise invalid_value("sample_weight.shape", expected, weight.shape)
    bad = ~(np.isfinite(weight) & (weight >= 0))
    if bad.any():
        raise invalid_value("sample_weight", "finite weights >= 0", float(weight[bad][0]))
    return labels, scores, weight


def _weighted_mean(values, weight):
    """``Σ w v / Σ w``, 0 when the weights sum to 0; the plain mean when ``weight`` is None."""
    if weight is None:
        return float(np.mean(values))
    total = weight.sum()
    return float(np.dot(weight, values) / total) if total > 0 else 0.0


def _calibration_bins(labels, scores, n_bins, weight=None):
    """Per equal-width bin: ``(weight, Σ weight · confidence, Σ weight · hit)``, ``(n_bins,)`` each.

    Binary: confidence is ``p`` and a hit the label (so the bin's hit rate is the observed
    frequency of class 1); multiclass: the top-class probability, and whether that class is the
    label. Bin ``b`` holds confidences in ``[b / n_bins, (b + 1) / n_bins)``, 1.0 goes in the
    last: the binning of :class:`kerasx.metrics.ExpectedCalibrationError`.
    """
    if scores.ndim == 1:
        confidence, hit = scores, labels.astype(np.float64)
    else:
        top = scores.argmax(axis=1)
        confidence = scores[np.arange(len(scores)), top]
        hit = (top == labels).astype(np.float64)
    index = np.clip(np.floor(confidence * n_bins).astype(np.int64), 0, n_bins - 1)
    if weight is None:
        weight = np.ones_like(confidence)
    return (
        np.bincount(index, weight, minlength=n_bins),
        np.bincount(index, weight * confidence, minlength=n_bins),
        np.bincount(index, weight * hit, minlength=n_bins),
    )


def _logits_from_probabilities(scores):
    """Binary ``(n,)``: ``log p − log(1 − p)``; ``(n, C)``: ``log p`` (softmax ignores shifts).

    ``p`` is clipped to ``[EPSILON, 1 − EPSILON]`` (binary) or ``[EPSILON, 1]`` (multiclass).
    """
    if scores.ndim == 1:
        p = np.clip(scores, EPSILON, 1 - EPSILON)
        return np.log(p) - np.log1p(-p)
    return np.log(np.clip(scores, EPSILON, 1.0))


def _nll_per_row(logits, labels):
    """Each row's negative log-likelihood of its label under ``sigmoid`` / ``softmax(logits)``."""
    if logits.ndim == 1:
        # log(1 + e^z) − y z, without overflow for large |z|
        return np.logaddexp(0.0, logits) - labels * logits
    top = logits.max(axis=1)
    log_normalizer = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    return log_normalizer - logits[np.arange(len(logits)), labels]


# ------------------------------------------------------------------------------- summaries


def expected_calibration_error(y_true, scores, *, n_bins=10, sample_weight=None):
    """Expected calibration error with equal-width bins closed on the left.

    ::

        ECE = Σ_b (W_b / W) · |hit rate_b − mean confidence_b|
            = Σ_b |Σ_{i in b} w_i (hit_i − confidence_i)| / Σ_i w_i

    Binary scores: confidence is the probability ``p`` of class 1 and a hit the label (as
    torchmetrics' ``BinaryCalibrationError``). Multiclass scores ``(n, C)``: confidence is the
    top-class probability and a hit whether that class is the label. Bin ``b`` holds
    confidences in ``[b / n_bins, (b + 1) / n_bins)``; 1.0 goes in the last bin. Empty bins add
    nothing. The same value as :class:`kerasx.metrics.ExpectedCalibrationError` on the same
    rows (up to that metric's float32).

    Args:
        y_true: labels ``(n,)`` / ``(n, 1)``.
        scores: probabilities ``(n,)`` / ``(n, 1)`` of class 1, or ``(n, C)`` of each class.
        n_bins: number of equal-width bins on ``[0, 1]`` (``>= 1``).
        sample_weight: weights ``(n,)`` / ``(n, 1)`` (``>= 0``), or ``None`` for equal ones.

    Returns:
        The ECE as a float in ``[0, 1]``; 0 when the weights sum to 0.

    Raises:
        kerasx.InvalidArgument: for ``n_bins < 1``, labels out of range, scores outside
            ``[0, 1]``, or shapes that do not fit.

    0.5 falls in ``[0.5, 1]`` with 0.9, so the gap is ``|1 − (0.5 + 0.9)| / 2``:

    >>> round(expected_calibration_error([0, 1], [0.5, 0.9], n_bins=2), 4)
    0.2
    >>> expected_calibration_error([0, 1], [0.5, 0.9], n_bins=2, sample_weight=[0, 1])
    0.1
    """
    n_bins = check_int("n_bins", n_bins, minimum=1)
    labels, scores, weight = _format(y_true, scores, sample_weight)
    total, confidence, hit = _calibration_bins(labels, scores, n_bins, weight)
    denominator = total.sum()
    return float(np.abs(hit - confidence).sum() / denominator) if denominator > 0 else 0.0


def brier_score(y_true, scores, *, sample_weight=None):
    """Brier score: the (weighted) mean squared error of the predicted probabilities.

    ::

        binary:      mean( (p − y)² )
        multiclass:  mean( Σ_c (p_c − [y = c])² ),  halved for C = 2

    As ``sklearn.metrics.brier_score_loss`` and :class:`kerasx.metrics.BrierScore`: two score
    columns are one binary problem counted twice, so their score is halved (and equals the
    binary score of the second column). Range ``[0, 1]``, or ``[0, 2]`` for ``C > 2``.

    Args:
        y_true: labels ``(n,)`` / ``(n, 1)``.
        scores: probabilities ``(n,)`` / ``(n, 1)`` of class 1, or ``(n, C)`` of each class.
        sample_weight: weights ``(n,)`` / ``(n, 1)`` (``>= 0``), or ``None`` for equal ones.

    Returns:
        The Brier score as a float; 0 when the weights sum to 0.

    Raises:
        kerasx.InvalidArgument: for labels out of range, scores outside ``[0, 1]``, or shapes
            that do not fit.

    >>> round(brier_score([1, 0], [0.8, 0.4]), 4)
    0.1
    >>> round(brier_score([2, 0], [[0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]), 4)
    0.15
    """
    labels, scores, weight = _format(y_true, scores, sample_weight)
    if scores.ndim == 1:
        squared = (scores - labels) ** 2
    else:
        one_hot = np.eye(scores.shape[1])[labels]
        squared = ((scores - one_hot) ** 2).sum(axis=1) / (2.0 if scores.shape[1] == 2 else 1.0)
    return _weighted_mean(squared, weight)


def log_loss(y_true, scores, *, sample_weight=None):
    """Log loss: the (weighted) mean negative log-likelihood of the labels (the NLL).

    ::

        binary:      mean( −y log p − (1 − y) log(1 − p) ),  p clipped to [1e-7, 1 − 1e-7]
        multiclass:  mean( −log( p_y / Σ_c p_c ) ),          p clipped to [1e-7, 1]

    The clipping of :mod:`kerasx.calibration` (a score of exactly 0 or 1 costs at most
    ``−log 1e-7 ≈ 16.1``). Multiclass rows are renormalized after clipping, which leaves rows
    that sum to 1 unchanged up to the clipping. Equals ``sklearn.metrics.log_loss`` on
    probabilities away from 0 and 1.

    Args:
        y_true: labels ``(n,)`` / ``(n, 1)``.
        scores: probabilities ``(n,)`` / ``(n, 1)`` of class 1, or ``(n, C)`` of each class.
        sample_weight: weights ``(n,)`` / ``(n, 1)`` (``>= 0``), or ``None`` for equal ones.

    Returns:
        The log loss (natural logarithm) as a float; 0 when the weights sum to 0.

    Raises:
        kerasx.InvalidArgument: for labels out of range, scores outside ``[0, 1]``, or shapes
            that do not fit.

    >>> round(log_loss([1, 0], [0.8, 0.4]), 4)  # (−log 0.8 − log 0.6) / 2
    0.367
    >>> round(log_loss([1], [0.0]), 2)  # −log 1e-7
    16.12
    """
    labels, scores, weight = _format(y_true, scores, sample_weight)
    return _weighted_mean(_nll_per_row(_logits_from_probabilities(scores), labels), weight)
