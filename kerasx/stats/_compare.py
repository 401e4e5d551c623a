"""Two models on the same rows: the paired difference of a metric, with McNemar and DeLong."""

import dataclasses

from kerasx.stats._bootstrap import (
    BootstrapInterval,
    Resampler,
    check_common,
    drop_undefined,
    make_interval,
    prepare_metric,
)
from kerasx.stats._checks import check_groups, check_labels, check_scores
from kerasx.stats._paired import DeLongTest, McNemarTest, delong_test, mcnemar

__all__ = ["Comparison", "compare"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Model A against model B on the same rows (see :func:`compare`).

    Attributes:
        metric: the metric's name (or the function's ``__name__``).
        difference: the interval of ``metric(A) − metric(B)``, from a paired bootstrap.
        metric_a: A's metric with its interval (the same resamples).
        metric_b: B's metric with its interval.
        mcnemar: McNemar's exact test of the thresholded predictions' correctness
            (``b``: rows only A gets right, ``c``: rows only B gets right, ``p_value``).
        delong: DeLong's test of the two AUCs, or ``None`` when ``y_true`` holds fewer than
            2 rows of a class.
        higher_is_better: which way the metric is better (``None`` for a user's function).

    McNemar and DeLong treat rows as independent; with ``groups`` the bootstrap interval by
    group is the figure to report.
    """

    metric: str
    difference: BootstrapInterval
    metric_a: BootstrapInterval
    metric_b: BootstrapInterval
    mcnemar: McNemarTest
    delong: DeLongTest | None
    higher_is_better: bool | None = True

    @property
    def mcnemar_p(self):
        """McNemar's exact two-sided p-value."""
        return self.mcnemar.p_value

    def summary(self, name_a="A", name_b="B", *, unit="group", digits=2):
        """One sentence: which is better, by how much, and the paired test.

        Args:
            name_a: A's name, e.g. ``"the CNN"``.
            name_b: B's name.
            unit: what a group is, e.g. ``"patient"`` (with groups only).
            digits: decimals of the difference.

        Returns:
            E.g. ``"the CNN is better than the baseline: accuracy +0.12 [0.08, 0.16] (95%
            bootstrap CI by patient, 60 patients); McNemar p < 0.001 treats the 7000 rows as
            independent."``
        """
        d = self.difference
        low, high = (d.low, d.high) if self.higher_is_better is not False else (-d.high, -d.low)
        if self.higher_is_better is None:  # a user's function: no "better", only the sign
            verdict = f"{name_a} minus {name_b}"
        elif low <= 0 <= high:
            verdict = f"{name_a} is not clearly better or worse than {name_b}"
        else:
            verdict = f"{name_a} is {'better' if low > 0 else 'worse'} than {name_b}"
        figure = f"{d.estimate:+.{digits}f} [{d.low:+.{digits}f}, {d.high:+.{digits}f}]"
        if d.n_groups is None:
            how = f"{d.level:.0%} bootstrap CI over {d.n} rows"
        else:
            how = f"{d.level:.0%} bootstrap CI by {unit}, {d.n_groups} {unit}s"
        sentence = f"{verdict}: {self.metric} {figure} ({how})"
        test = self._test()
        if test is None:
            return sentence + "."
        name, p = test
        if d.n_groups is None:
            return f"{sentence}, {name} {_p(p)}."
        return f"{sentence}; {name} {_p(p)} treats the {d.n} rows as independent."

    def _test(self):
        if self.metric == "accuracy":
            return "McNemar", self.mcnemar.p_value
        if self.metric == "roc_auc" and self.delong is not None:
            return "DeLong", self.delong.p_value
        return None


def _p(p):
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def compare(
    y_true,
    score_a,
    score_b,
    *,
    groups=None,
    metric="accuracy",
    threshold=0.5,
    n_resamples=2000,
    level=0.95,
    method="percentile",
    seed=None,
    _indices=None,
):
    """Model A against model B on the same rows: is the difference in a metric real?

    The primary figure is a *paired* bootstrap interval of ``metric(A) − metric(B)``: each
    resample takes the same rows (or, with ``groups``, the same whole patients) for both
    models, so what they share cancels. ``metric_a`` and ``metric_b`` come from the same
    resamples. Resampling, the metrics, ``method`` and the handling of resamples where a
    metric is undefined are those of :func:`bootstrap_ci`.

    Two classical paired tests come with it: McNemar's exact test on the rows that one model
    gets right and the other wrong (predictions ``score > threshold``), and DeLong's test of
    the two AUCs. **Both treat the rows as independent.** With several rows per patient they
    are too optimistic; the bootstrap interval by patient is then the figure to report, and
    :meth:`Comparison.summary` says so.

    Args:
        y_true: 0/1 labels, one per row.
        score_a: A's predicted probabilities (or scores), one per row.
        score_b: B's, one per row.
        groups: one group label per row (e.g. patient ids), or ``None`` to resample rows.
        metric: a name of :func:`bootstrap_ci`'s metrics, or a function
            ``metric(y_true, y_score) -> float``.
        threshold: predict 1 when ``score > threshold`` (class metrics and McNemar).
        n_resamples: resamples; at least ``2 / (1 − level)``.
        level: the coverage of the intervals, in ``(0, 1)``.
        method: ``"percentile"`` or ``"bca"``.
        seed: ``None``, an integer or a ``numpy.random.Generator``.

    Returns:
        A :class:`Comparison` (``difference``, ``metric_a``, ``metric_b``, ``mcnemar``,
        ``mcnemar_p``, ``delong``, ``summary()``).

    Raises:
        kerasx.InvalidArgument: as :func:`bootstrap_ci`, naming ``score_a`` or ``score_b``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> patient = np.repeat(np.arange(40), 25)
    >>> y = rng.integers(0, 2, 1000)
    >>> cnn = np.clip(y + rng.normal(0, 0.35, 1000), 0, 1)
    >>> baseline = np.clip(y + rng.normal(0, 0.6, 1000), 0, 1)
    >>> result = compare(y, cnn, baseline, groups=patient, seed=0)
    >>> result.difference
    Interval(0.112 [0.086, 0.138], 95% percentile, n=1000, 40 groups)
    >>> result.mcnemar
    McNemarTest(b=184, c=72, p_value=1.76...e-12)
    >>> result.summary("the CNN", "the baseline", unit="patient")
    'the CNN is better than the baseline: accuracy +0.11 [+0.09, +0.14] (95% bootstrap CI by patient, 40 patients); McNemar p < 0.001 treats the 1000 rows as independent.'
    """
    level, method, n_resamples, rng, threshold = check_common(
        level, method, n_resamples, seed, threshold, _indices
    )
    y = check_labels(y_true)
    a, b = (
        check_scores(name, s, len(y)) for name, s in (("score_a", score_a), ("score_b", score_b))
    )
    compute_a, known, _ = prepare_metric(metric, y, a, threshold, score_name="score_a")
    compute_b, _, _ = prepare_metric(metric, y, b, threshold, score_name="score_b")
    resampler = Resampler(len(y), *check_groups(groups, len(y)))
    computes = [compute_a, compute_b]
    estimates = resampler.estimate(computes)[None]
    values = resampler.bootstrap(computes, n_resamples, rng, _indices)
    values, dropped = drop_undefined(values, known, metric, y)
    jackknife = resampler.jackknife(computes) if method == "bca" else None

    def interval(which):
        def column(table):
            return table[:, 0] - table[:, 1] if which is None else table[:, which]

        return make_interval(
            column(estimates)[0],
            column(values),
            None if jackknife is None else column(jackknife),
            level=level,
            method=method,
            resampler=resampler,
            n_resamples=n_resamples,
            dropped=dropped,
        )

    return Comparison(
        metric=known.name if known else getattr(metric, "__name__", "metric"),
        difference=interval(None),
        metric_a=interval(0),
        metric_b=interval(1),
        mcnemar=mcnemar((a > threshold) == y, (b > threshold) == y),
        delong=delong_test(y, a, b) if min(y.sum(), len(y) - y.sum()) >= 2 else None,
        higher_is_better=known.higher_is_better if known else None,
    )
