"""The built-in metrics of :mod:`kerasx.stats`, computed for many row weightings at once.

A bootstrap resample is a vector of counts ``w`` (how often each row was drawn); a jackknife
sample is ``w = 1`` except 0 on the rows left out. Each metric here is a function of the data
that returns ``compute(W)``: the metric under every row of ``W`` (``(B, n)`` counts) at once,
``nan`` where it is undefined (one class only). On ``W = ones((1, n))`` it is the metric of the
data as given, so one implementation serves the estimate, the bootstrap and the jackknife.

>>> import numpy as np
>>> compute = METRICS["roc_auc"].prepare(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.4, 0.9]))
>>> compute(np.array([[1.0, 1, 1, 1], [2, 0, 1, 1], [1, 1, 0, 0]])).tolist()
[0.875, 1.0, nan]
"""

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["METRICS", "Metric", "builtin_metric"]

ECE_BINS = 10


@dataclasses.dataclass(frozen=True)
class Metric:
    """A built-in metric.

    Attributes:
        name: its name, as ``metric=`` takes it.
        prepare: ``prepare(y, scores, threshold=0.5) -> compute``; ``compute(W)`` gives the
            metric under each row of weights ``W``.
        needs: the classes ``y_true`` must hold for the metric to exist: ``(0, 1)``, ``(1,)``,
            ``(0,)`` or ``()``.
        higher_is_better: which way is better.
        probabilities: whether the scores must be probabilities in ``[0, 1]``.
    """

    name: str
    prepare: Callable
    needs: tuple = ()
    higher_is_better: bool = True
    probabilities: bool = False


def _ratio(numerator, denominator):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def _accuracy(y, scores, threshold=0.5):
    correct = ((scores > threshold) == (y == 1)).astype(np.float64)
    return lambda W: (W @ correct) / W.sum(axis=1)


def _sensitivity(y, scores, threshold=0.5):
    positive, true_positive = y.astype(np.float64), (y * (scores > threshold)).astype(np.float64)
    return lambda W: _ratio(W @ true_positive, W @ positive)


def _specificity(y, scores, threshold=0.5):
    negative = (1 - y).astype(np.float64)
    true_negative = ((1 - y) * (scores <= threshold)).astype(np.float64)
    return lambda W: _ratio(W @ true_negative, W @ negative)


def _mcc(y, scores, threshold=0.5):
    """Matthews' correlation of labels and thresholded scores; 0 when every prediction is the
    same class (scikit-learn's convention), ``nan`` when the labels are one class."""
    predicted = scores > threshold
    columns = np.stack([y, 1 - y, y * predicted, (1 - y) * predicted], axis=1)
    columns = columns.astype(np.float64)

    def compute(W):
        positive, negative, tp, fp = (W @ columns).T
        fn, tn = positive - tp, negative - fp
        denominator = (tp + fp) * positive * (tn + fn) * negative
        with np.errstate(invalid="ignore"):
            mcc = (tp * tn - fp * fn) / np.sqrt(np.where(denominator > 0, denominator, 1))
        mcc = np.where(denominator > 0, mcc, 0.0)
        return np.where((positive > 0) & (negative > 0), mcc, np.nan)

    return compute


def _roc_auc(y, scores, threshold=0.5):
    """The weighted Mann–Whitney statistic: each (positive, negative) pair with weight
    ``w_i w_j`` counts 1 if the positive scores higher and 1/2 on a tie.

    The rows are sorted by score once; per resample, the weights of positives and of negatives
    are summed within each run of tied scores, and each run's positives meet the negatives of
    the runs below (cumulative sum) plus half the negatives of their own run.
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    positive = y[order].astype(np.float64)

    def compute(W):
        W = W[:, order]
        pos = np.add.reduceat(W * positive, starts, axis=1)
        neg = np.add.reduceat(W, starts, axis=1) - pos
        below = np.cumsum(neg, axis=1) - neg
        numerator = (pos * (below + 0.5 * neg)).sum(axis=1)
        return _ratio(numerator, pos.sum(axis=1) * neg.sum(axis=1))

    return compute


def _brier(y, scores, threshold=0.5):
    squared = (scores - y) ** 2
    return lambda W: (W @ squared) / W.sum(axis=1)


def _ece(y, scores, threshold=0.5):
    """:func:`kerasx.functional.expected_calibration_error` with 10 equal-width bins:
    ``Σ_b |Σ_{i in b} w_i (y_i − p_i)| / Σ_i w_i``."""
    bins = np.clip(np.floor(scores * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    gaps = np.zeros((len(scores), ECE_BINS))
    gaps[np.arange(len(scores)), bins] = y - scores
    return lambda W: np.abs(W @ gaps).sum(axis=1) / W.sum(axis=1)


METRICS = {
    metric.name: metric
    for metric in (
        Metric("accuracy", _accuracy),
        Metric("sensitivity", _sensitivity, needs=(1,)),
        Metric("specificity", _specificity, needs=(0,)),
        Metric("roc_auc", _roc_auc, needs=(0, 1)),
        Metric("mcc", _mcc, needs=(0, 1)),
        Metric("brier", _brier, higher_is_better=False, probabilities=True),
        Metric("ece", _ece, higher_is_better=False, probabilities=True),
    )
}


def builtin_metric(metric, y_score=None):
    """The :class:`Metric` for a name, or for scikit-learn's ``roc_auc_score`` (and for
    ``accuracy_score`` when the scores are 0/1 predictions); ``None`` for other functions."""
    if isinstance(metric, str):
        return METRICS.get(metric)
    if str(getattr(metric, "__module__", None)).startswith("sklearn.metrics"):
        import sklearn.metrics

        if metric is sklearn.metrics.roc_auc_score:
            return METRICS["roc_auc"]
        if metric is sklearn.metrics.accuracy_score and y_score is not None:
            if y_score.ndim == 1 and np.isin(y_score, (0, 1)).all():
                return METRICS["accuracy"]
    return None
