"""The bootstrap interval of a metric, resampling rows or whole groups (patients)."""

import dataclasses

import numpy as np

from kerasx._validation import invalid_value
from kerasx.stats._checks import (
    check_classes,
    check_groups,
    check_labels,
    check_level,
    check_method,
    check_n_resamples,
    check_rng,
    check_scores,
    check_threshold,
    describe_array,
)
from kerasx.stats._metrics import METRICS, builtin_metric
from kerasx.stats._result import Interval

__all__ = ["BootstrapInterval", "bootstrap_ci"]

# Resamples are computed in blocks of at most this many row weights (16 MB of float64).
_BLOCK_CELLS = 2_000_000
# The most resamples that may be dropped because the metric is undefined on them.
MAX_DROPPED = 0.05


@dataclasses.dataclass(frozen=True, repr=False)
class BootstrapInterval(Interval):
    """An :class:`Interval` from a bootstrap, with its resample counts.

    Attributes:
        n_resamples: the resamples drawn.
        n_dropped: the resamples left out because the metric is undefined on them (one class
            only, e.g. no positive row for a sensitivity); the interval is made of the others.
    """

    n_resamples: int = 0
    n_dropped: int = 0

    def __repr__(self):
        dropped = f", {self.n_dropped} of {self.n_resamples} resamples dropped"
        return super().__repr__()[:-1] + (dropped if self.n_dropped else "") + ")"


class Resampler:
    """Row weights of bootstrap resamples and jackknife samples, by rows or by whole groups.

    A resample draws ``n_units`` units (rows, or groups) with replacement; a row's weight is the
    number of times its unit was drawn. A jackknife sample leaves one unit out (weight 0).
    ``compute(W)`` functions (see :mod:`kerasx.stats._metrics`) turn ``(B, n)`` weights into
    ``B`` values; blocks of resamples keep the weights to ~16 MB.
    """

    def __init__(self, n_rows, codes=None, n_groups=None):
        self.n_rows, self.codes = n_rows, codes
        self.n_units = n_rows if codes is None else n_groups
        self.block = max(1, _BLOCK_CELLS // n_rows)

    def bootstrap(self, computes, n_resamples, rng, indices=None):
        """``(n_resamples, len(computes))``: each function on each resample.

        ``indices`` (``(n_resamples, n_units)`` drawn unit numbers) replaces the random draw.
        """
        values = []
        for start in range(0, n_resamples, self.block):
            size = min(self.block, n_resamples - start)
            if indices is None:
                drawn = rng.integers(0, self.n_units, (size, self.n_units))
            else:
                drawn = indices[start : start + size]
            flat = (drawn + self.n_units * np.arange(size)[:, None]).ravel()
            counts = np.bincount(flat, minlength=size * self.n_units).reshape(size, -1)
            weights = counts if self.codes is None else counts[:, self.codes]
            values.append(_evaluate(computes, weights.astype(np.float64)))
        return np.concatenate(values)

    def jackknife(self, computes):
        """``(n_units, len(computes))``: each function with each unit left out in turn."""
        units = np.arange(self.n_rows) if self.codes is None else self.codes
        values = []
        for start in range(0, self.n_units, self.block):
            left_out = np.arange(start, min(start + self.block, self.n_units))
            weights = (units[None, :] != left_out[:, None]).astype(np.float64)
            values.append(_evaluate(computes, weights))
        return np.concatenate(values)

    def estimate(self, computes):
        return _evaluate(computes, np.ones((1, self.n_rows)))[0]


def _evaluate(computes, weights):
    return np.stack([compute(weights) for compute in computes], axis=1)


def _loop(metric, y_true, y_score):
    """``compute(W)`` for a user's ``metric(y_true, y_score)``: one call per row of weights,
    on the rows repeated as often as they were drawn."""
    rows = np.arange(len(y_true))

    def compute(weights):
        values = np.empty(len(weights))
        for r, w in enumerate(weights):
            index = np.repeat(rows, w.astype(np.int64))
            values[r] = float(metric(y_true[index], y_score[index]))
        return values

    return compute


def prepare_metric(metric, y_true, y_score, threshold, *, score_name="y_score"):
    """``(compute, Metric or None, labels)``: the validated data's ``compute(W)`` function."""
    known = builtin_metric(metric, np.asarray(y_score))
    if known is not None:
        y = check_labels(y_true)
        scores = check_scores(score_name, y_score, len(y), probabilities=known.probabilities)
        check_classes(y, known.needs, f"metric={known.name!r}")
        return known.prepare(y, scores, threshold), known, y
    if not callable(metric):
        expected = f"one of {tuple(METRICS)} or a function metric(y_true, y_score) -> float"
        raise invalid_value("metric", expected, metric)
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    if y_true.ndim == 0 or len(y_true) == 0:
        raise invalid_value("y_true", "a non-empty array", y_true, describe=describe_array)
    if y_score.ndim == 0 or len(y_score) != len(y_true):
        expected = f"one score per row of y_true ({len(y_true)})"
        raise invalid_value(score_name, expected, y_score, describe=describe_array)
    if np.issubdtype(y_score.dtype, np.number) and not np.isfinite(y_score).all():
        expected = "finite values (no NaN or inf)"
        raise invalid_value(score_name, expected, y_score, describe=describe_array)
    return _loop(metric, y_true, y_score), None, y_true


def drop_undefined(values, known, metric, y):
    """``(finite rows of values, number dropped)``; raises if more than 5% are dropped."""
    defined = np.isfinite(values).all(axis=1)
    dropped = int((~defined).sum())
    if dropped > MAX_DROPPED * len(values):
        share = f"{dropped} of {len(values)} resamples"
        if known is None:
            expected = f"a metric defined on at least {1 - MAX_DROPPED:.0%} of resamples"
            raise invalid_value("metric", expected, metric, describe=lambda m: f"nan on {share}")
        expected = (
            f"enough rows of each class that metric={known.name!r} is defined on at least "
            f"{1 - MAX_DROPPED:.0%} of resamples"
        )

        def counts(a):
            return f"{int(a.sum())} of class 1 in {len(a)} rows; one class only in {share}"

        raise invalid_value("y_true", expected, y, describe=counts)
    return values[defined], dropped


def interval_ends(estimate, values, jackknife, level, method):
    """``(low, high)`` of the percentile or BCa interval from the bootstrap values."""
    alpha = (1 - level) / 2
    if method == "percentile":
        probabilities = [alpha, 1 - alpha]
    else:
        probabilities = _bca_probabilities(estimate, values, jackknife, alpha)
    low, high = np.quantile(values, probabilities)
    return float(low), float(high)


def _bca_probabilities(estimate, values, jackknife, alpha):
    """Efron's BCa levels (Efron & Tibshirani 1993, eq. 14.10 and 14.15)::

        z0 = Φ⁻¹(#{θ*_b < θ̂} / B + #{θ*_b = θ̂} / 2B)     the bias correction
        a = Σ u_i³ / (6 (Σ u_i²)^(3/2)),  u_i = mean(θ_(·)) − θ_(i)     the acceleration
        α_k = Φ(z0 + (z0 + z_k) / (1 − a (z0 + z_k))),  z_k = Φ⁻¹(α), Φ⁻¹(1 − α)

    ``θ_(i)`` leaves unit ``i`` (a row, or a whole group) out. ``a = 0`` when every
    ``θ_(i)`` is equal.
    """
    from scipy.special import ndtr, ndtri

    if not np.isfinite(jackknife).all():
        expected = "'percentile' here: leaving one row or group out leaves the metric undefined"
        raise invalid_value("method", expected, "bca")
    share = ((values < estimate).sum() + (values <= estimate).sum()) / (2 * len(values))
    if share in (0, 1):
        expected = "'percentile' here: the estimate lies outside the bootstrap distribution"
        raise invalid_value("method", expected, "bca")
    z0 = ndtri(share)
    u = jackknife.mean() - jackknife
    spread = (u**2).sum()
    a = (u**3).sum() / (6 * spread**1.5) if spread > 0 else 0.0
    z = ndtri(np.array([alpha, 1 - alpha]))
    return ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))


def make_interval(estimate, values, jackknife, *, level, method, resampler, n_resamples, dropped):
    low, high = interval_ends(estimate, values, jackknife, level, method)
    return BootstrapInterval(
        float(estimate),
        low,
        high,
        level=level,
        method=method,
        n=resampler.n_rows,
        n_groups=None if resampler.codes is None else resampler.n_units,
        n_resamples=n_resamples,
        n_dropped=dropped,
    )


def check_common(level, method, n_resamples, seed, threshold, indices):
    """The checked ``(level, method, n_resamples, rng, threshold)``."""
    level = check_level(level)
    method = check_method(method)
    if indices is not None:
        n_resamples = len(indices)
    return (
        level,
        method,
        check_n_resamples(n_resamples, level),
        check_rng(seed),
        (check_threshold(threshold)),
    )


def bootstrap_ci(
    metric,
    y_true,
    y_score,
    *,
    groups=None,
    threshold=0.5,
    n_resamples=2000,
    level=0.95,
    method="percentile",
    seed=None,
    _indices=None,
):
    """The bootstrap confidence interval of a metric, by rows or by whole groups (patients).

    With ``groups`` (one label per row, e.g. the patient of each cell) it is a *cluster*
    bootstrap: each resample draws as many groups as there are, with replacement, and takes
    all their rows, so rows of one patient stay together. Cells of one patient are alike; a
    row bootstrap treats them as independent and gives too narrow an interval.

    ``method="percentile"`` takes the ``(1 − level) / 2`` and ``(1 + level) / 2`` quantiles
    (linear interpolation) of the metric over the resamples; ``method="bca"`` shifts those
    levels by Efron's bias correction and acceleration, the latter from a jackknife that leaves
    one row out, or one whole group with ``groups`` (as ``scipy.stats.bootstrap`` does, on
    rows).

    The built-in metrics, by name, are computed for all resamples at once (NumPy, in blocks):
    ``"accuracy"``, ``"sensitivity"``, ``"specificity"`` and ``"mcc"`` (predicting 1 when
    ``y_score > threshold``), ``"roc_auc"`` (ties count 1/2), ``"brier"`` and ``"ece"`` (10
    equal-width bins, as :func:`kerasx.functional.expected_calibration_error`). scikit-learn's
    ``roc_auc_score`` (and ``accuracy_score`` on 0/1 predictions) passed as functions are
    recognised as the built-in ones. Any other ``metric(y_true, y_score) -> float`` is called
    once per resample (on the drawn rows, in row order).

    A resample on which the metric is undefined (``nan``; for the built-in metrics: one class
    only, e.g. no positive row for a sensitivity or an AUC) is dropped, and the interval is
    made of the others; ``n_dropped`` says how many. More than 5% dropped raises: with so few
    rows or groups of one class, the interval would not be trustworthy.

    Args:
        metric: a name above, or a function ``metric(y_true, y_score) -> float``.
        y_true: labels, one per row (0/1 for the built-in metrics).
        y_score: predicted probabilities or scores, one per row (any array of ``len(y_true)``
            rows for a function).
        groups: one group label per row (any hashable values: patient ids), or ``None`` to
            resample rows.
        threshold: predict 1 when ``y_score > threshold`` (class metrics only).
        n_resamples: resamples; at least ``2 / (1 − level)`` (40 for 95%).
        level: the coverage, in ``(0, 1)``.
        method: ``"percentile"`` or ``"bca"``.
        seed: ``None``, an integer or a ``numpy.random.Generator``.

    Returns:
        A :class:`BootstrapInterval`: ``estimate`` (the metric on the data as given),
        ``low``, ``high``, ``level``, ``method``, ``n`` (rows), ``n_groups`` (``None`` without
        groups), ``n_resamples`` and ``n_dropped``.

    Raises:
        kerasx.InvalidArgument: an unknown metric or method, labels that are not 0/1 or lack a
            class the metric needs, scores or groups not one per row, NaN or inf scores, a
            single group, ``level`` outside (0, 1), too few resamples, more than 5% of
            resamples on which the metric is undefined, or a BCa interval that cannot be made.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> patient = np.repeat(np.arange(30), 10)
    >>> y = rng.integers(0, 2, 300)
    >>> effect = 0.3 * rng.standard_normal(30)[patient]  # patients differ
    >>> score = np.clip(0.3 * y + 0.5 * rng.random(300) + effect, 0, 1)
    >>> bootstrap_ci("accuracy", y, score, groups=patient, seed=0)
    Interval(0.680 [0.603, 0.757], 95% percentile, n=300, 30 groups)
    >>> bootstrap_ci("accuracy", y, score, seed=0)  # as if the rows were independent: too narrow
    Interval(0.680 [0.627, 0.733], 95% percentile, n=300)
    >>> bootstrap_ci("roc_auc", y, score, groups=patient, seed=0, method="bca").format()
    '0.720 [0.646, 0.783]'
    """
    level, method, n_resamples, rng, threshold = check_common(
        level, method, n_resamples, seed, threshold, _indices
    )
    compute, known, y = prepare_metric(metric, y_true, y_score, threshold)
    resampler = Resampler(len(y), *check_groups(groups, len(y)))
    estimate = resampler.estimate([compute])[0]
    if not np.isfinite(estimate):
        raise invalid_value("metric", "a metric defined on the data", metric, describe=str)
    values = resampler.bootstrap([compute], n_resamples, rng, _indices)
    values, dropped = drop_undefined(values, known, metric, y)
    jackknife = resampler.jackknife([compute])[:, 0] if method == "bca" else None
    return make_interval(
        estimate,
        values[:, 0],
        jackknife,
        level=level,
        method=method,
        resampler=resampler,
        n_resamples=n_resamples,
        dropped=dropped,
    )
