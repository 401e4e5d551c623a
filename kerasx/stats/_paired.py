"""Paired tests of two models on the same rows: McNemar's exact test and DeLong's AUC test.

Both treat the rows as independent. With several rows per patient they are too optimistic;
:func:`kerasx.stats.compare`'s bootstrap by patient is then the figure to report.
"""

import dataclasses
import math

import numpy as np

from kerasx._validation import invalid_value
from kerasx.stats._checks import check_classes, check_labels, check_scores, describe_array

__all__ = ["DeLongTest", "McNemarTest", "delong_test", "mcnemar"]


@dataclasses.dataclass(frozen=True)
class McNemarTest:
    """McNemar's exact test of two classifiers' correctness on the same rows.

    Attributes:
        b: rows that A gets right and B wrong.
        c: rows that A gets wrong and B right.
        p_value: the two-sided exact p-value, ``min(1, 2 P(X <= min(b, c)))`` for
            ``X ~ Binomial(b + c, 1/2)``; 1 when ``b + c = 0``.
    """

    b: int
    c: int
    p_value: float


@dataclasses.dataclass(frozen=True)
class DeLongTest:
    """DeLong's test of two correlated ROC AUCs (the same rows scored by two models).

    Attributes:
        auc_a: A's AUC.
        auc_b: B's AUC.
        difference: ``auc_a − auc_b``.
        standard_error: DeLong's standard error of the difference.
        z: ``difference / standard_error`` (0 when both are 0: the two rank the rows alike).
        p_value: two-sided, from the normal distribution.
    """

    auc_a: float
    auc_b: float
    difference: float
    standard_error: float
    z: float
    p_value: float


def _correctness(name, values, n=None):
    array = check_labels(values, name)
    if n is not None and len(array) != n:
        expected = f"one value per row of correct_a ({n})"
        raise invalid_value(name, expected, array, describe=describe_array)
    return array.astype(bool)


def mcnemar(correct_a, correct_b):
    """McNemar's exact test: do two classifiers err on the same rows equally often?

    Only the discordant rows count: ``b`` that A gets right and B wrong, ``c`` the reverse.
    Under the null hypothesis each is equally likely, so ``b ~ Binomial(b + c, 1/2)``; the
    p-value doubles the smaller tail (capped at 1). It equals statsmodels'
    ``mcnemar(table, exact=True).pvalue``. The rows are assumed independent.

    Args:
        correct_a: whether A is right on each row (bools or 0/1).
        correct_b: whether B is right on each row.

    Returns:
        A :class:`McNemarTest` (``b``, ``c``, ``p_value``).

    Raises:
        kerasx.InvalidArgument: values that are not bools or 0/1, or of different lengths.

    >>> mcnemar([1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 0, 1, 1, 1])
    McNemarTest(b=5, c=1, p_value=0.21875)
    """
    from scipy.stats import binom

    a = _correctness("correct_a", correct_a)
    b = _correctness("correct_b", correct_b, len(a))
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = 2 * binom.cdf(min(only_a, only_b), only_a + only_b, 0.5) if only_a + only_b else 1.0
    return McNemarTest(only_a, only_b, float(min(1.0, p)))


def _structural_components(y, scores):
    """DeLong's placements, by midranks (Sun & Xu 2014), for ``scores`` of shape ``(k, n)``.

    ``v10[r, i]``: the share of negatives that positive ``i`` outscores (ties 1/2) under score
    ``r``; ``v01[r, j]``: the share of positives that outscore negative ``j``. Each AUC is the
    mean of either. Midranks give them in O(n log n): a positive's rank among all rows minus
    its rank among the positives counts the negatives below it.
    """
    from scipy.stats import rankdata

    positive, negative = scores[:, y == 1], scores[:, y == 0]
    m, n = positive.shape[1], negative.shape[1]
    ranks = rankdata(scores, axis=1)
    v10 = (ranks[:, y == 1] - rankdata(positive, axis=1)) / n
    v01 = 1 - (ranks[:, y == 0] - rankdata(negative, axis=1)) / m
    return v10, v01


def delong_test(y_true, score_a, score_b):
    """DeLong's test of the difference between two AUCs on the same rows.

    DeLong, DeLong & Clarke-Pearson (1988), by the midranks of Sun & Xu (2014)::

        V10_ri = share of negatives below positive i under score r (ties 1/2)   (m positives)
        V01_rj = share of positives above negative j under score r              (n negatives)
        AUC_r = mean_i V10_ri,   S = cov(V10) / m + cov(V01) / n   (2 × 2, covariances ÷ (m − 1), (n − 1))
        SE = sqrt(S_aa + S_bb − 2 S_ab),   z = (AUC_a − AUC_b) / SE,   p = 2 Φ(−|z|)

    The rows are assumed independent; with several rows per patient the standard error is
    too small (a bootstrap by patient, :func:`kerasx.stats.compare`, is then the figure).

    Args:
        y_true: 0/1 labels, with at least 2 rows of each class.
        score_a: A's scores, one per row.
        score_b: B's scores, one per row.

    Returns:
        A :class:`DeLongTest`.

    Raises:
        kerasx.InvalidArgument: labels that are not 0/1 or hold fewer than 2 rows of a class,
            scores not one per row, or NaN or inf scores.

    >>> test = delong_test([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.5, 0.8, 0.9], [0.3, 0.4, 0.2, 0.3, 0.1, 0.9])
    >>> round(test.auc_a, 4), round(test.auc_b, 4), round(test.standard_error, 4), round(test.p_value, 4)
    (0.8889, 0.5, 0.3685, 0.2913)
    """
    from scipy.special import ndtr

    y = check_labels(y_true)
    scores = np.stack([check_scores(name, s, len(y)) for name, s in _named(score_a, score_b)])
    check_classes(y, (0, 1), "DeLong's test")
    if min(y.sum(), len(y) - y.sum()) < 2:

        def counts(a):
            return f"{len(a)} labels, {int(a.sum())} of class 1"

        raise invalid_value(
            "y_true", "at least 2 rows of each class for DeLong's test", y, describe=counts
        )
    v10, v01 = _structural_components(y, scores)
    auc = v10.mean(axis=1)
    covariance = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    difference = float(auc[0] - auc[1])
    se = math.sqrt(max(float(variance), 0.0))
    if se > 0:
        z = difference / se
    else:  # the two order the rows alike (up to rounding): no evidence either way
        z = 0.0 if abs(difference) < 1e-12 else math.copysign(math.inf, difference)
    return DeLongTest(float(auc[0]), float(auc[1]), difference, se, z, float(2 * ndtr(-abs(z))))


def _named(score_a, score_b):
    return (("score_a", score_a), ("score_b", score_b))
