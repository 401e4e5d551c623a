"""Split conformal prediction sets: which classes a classifier's probabilities cannot rule out.

A prediction set holds every class whose non-conformity score is at most a quantile fitted on
calibration rows the model never trained on. When the calibration rows and a new row are
exchangeable (drawn from the same population), the new row's true class is in its set with
probability at least ``1 − alpha``, whatever the model and however badly calibrated:

    P(y ∈ C(x)) >= 1 − alpha,

an average over the draw of the calibration rows and of the new row (Vovk et al., 2005;
Angelopoulos & Bates, 2021). With ``mondrian=True`` (one quantile per true class) it holds for
the rows of each class separately: P(y ∈ C(x) | y = k) >= 1 − alpha, so a rare class is not
traded for a common one.

For two classes a set is ``{0}``, ``{1}``, both ("ask a human": the model cannot tell at this
``alpha``) or empty (LAC only: no class is plausible, also one for a human).

Rows of one patient are not exchangeable with other patients' rows: calibrate on patients
held out from training, as the test patients are, and expect the coverage of one set of
calibration patients to vary more than the binomial error of its cells.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> def sample(n):  # labels, and calibrated probabilities of class 1
...     p = 1 / (1 + np.exp(-rng.normal(0, 2, n)))
...     return (rng.random(n) < p).astype(int), p
>>> y_cal, p_cal = sample(2000)
>>> y_test, p_test = sample(20000)
>>> conformal = SplitConformalClassifier(alpha=0.1).fit(y_cal, p_cal)
>>> sets = conformal.predict(p_test)                # (20000, 2) booleans
>>> report = conformal.evaluate(y_test, p_test)
>>> round(report.coverage.estimate, 3)  # 0.9 on average over draws of 2,000 calibration rows
0.89
>>> report.table.loc["all", ["{0}", "{1}", "several", "empty"]].round(2).tolist()
[0.36, 0.38, 0.27, 0.0]

27% of the rows get both classes: the model cannot settle them at ``alpha = 0.1``.
"""

import dataclasses
import math
import warnings

import numpy as np

from kerasx._validation import check_in_range, check_one_of, invalid_value
from kerasx.stats._proportions import wilson_interval
from kerasx.stats._result import Interval

__all__ = ["CoverageReport", "SplitConformalClassifier", "coverage_report"]

SCORES = ("lac", "aps")
# MAPIE 1.6's tolerance: a class whose score is within 1e-8 of the quantile is treated as at
# the quantile, so that rounding in 1 − p and in the cumulative sums does not decide a set.
_TOLERANCE = 1e-8
_ROW_SUM_TOLERANCE = 1e-3  # float32 softmax rows sum to 1 within ~1e-6


def _shape(array):
    return f"array of shape {np.shape(array)}"


def _probabilities(scores, name, n_classes=None):
    """``(n, C)`` float64 probabilities from ``(n,)`` / ``(n, 1)`` (class 1) or ``(n, C)``."""
    array = np.asarray(scores)
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise invalid_value(name, "numbers", array.dtype, describe=str)
    array = array.astype(np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in (1, 2) or len(array) == 0 or (array.ndim == 2 and array.shape[1] < 2):
        expected = "probabilities of shape (n,) (of class 1), (n, 1) or (n, C) with C >= 2"
        raise invalid_value(name, expected, array, describe=_shape)
    finite = np.isfinite(array)
    if not finite.all():

        def count(a):
            return f"{_shape(a)} with {int((~finite).sum())} NaN or inf"

        raise invalid_value(name, "finite values (no NaN or inf)", array, describe=count)
    if ((array < 0) | (array > 1)).any():
        hint = "Scores outside [0, 1] are usually logits: apply a sigmoid or a softmax first."

        def span(a):
            return f"values in [{a.min():g}, {a.max():g}]"

        raise invalid_value(name, "probabilities in [0, 1]", array, describe=span, hint=hint)
    if array.ndim == 1:
        array = np.column_stack([1 - array, array])
    else:
        error = np.abs(array.sum(axis=1) - 1)
        if (error > _ROW_SUM_TOLERANCE).any():

            def worst(a):
                return f"a row summing to {a.sum(axis=1)[np.argmax(error)]:g}"

            expected = "rows of class probabilities that sum to 1 (a softmax output)"
            raise invalid_value(name, expected, array, describe=worst)
    if n_classes is not None and array.shape[1] != n_classes:
        expected = f"probabilities of the {n_classes} classes seen by fit"
        raise invalid_value(name, expected, array, describe=_shape)
    return array


def _labels(y, name, n, n_classes, against):
    """Class indices as an int64 ``(n,)`` array; raises for anything else."""
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n:
        expected = f"one class index per row of {against} ({n}), shape (n,)"
        raise invalid_value(name, expected, array, describe=_shape)
    numeric = array.dtype == bool or np.issubdtype(array.dtype, np.number)
    valid = np.isin(array, np.arange(n_classes)) if numeric else np.zeros(n, bool)
    if not valid.all():

        def values(a):
            return (
                f"array with values {np.unique(a[~valid])[:5].tolist()}"
                if numeric
                else str(a.dtype)
            )

        raise invalid_value(
            name, f"class indices (integers) in [0, {n_classes})", array, describe=values
        )
    return array.astype(np.int64)


def _ranked_cumulative(probabilities):
    """Each row's probabilities in decreasing order, and their running totals."""
    ranked = -np.sort(-probabilities, axis=1)
    return ranked, np.cumsum(ranked, axis=1)


def _aps_calibration(probabilities, y):
    """The APS score of the true class: its probability plus those of the classes more likely.

    A class tied with the true one (within the tolerance) is not counted: the true class comes
    first among its ties, the smallest score that :func:`_aps_sets` (which takes in every class
    tied with the last one) still covers.
    """
    _, cumulative = _ranked_cumulative(probabilities)
    rows = np.arange(len(y))
    p_true = probabilities[rows, y]
    n_above = (probabilities > p_true[:, None] + _TOLERANCE).sum(axis=1)
    above = np.where(n_above > 0, cumulative[rows, np.maximum(n_above - 1, 0)], 0.0)
    return above + p_true


def _aps_sets(probabilities, quantiles):
    """MAPIE's rule (``include_last_label=True``), with a quantile per class.

    For a quantile ``q``: in decreasing probability, the first class whose running total
    reaches ``q`` is the last one in, with every class at least as likely (within the
    tolerance); a last class of probability ~0 is replaced by the least likely class of
    positive probability, so that classes of probability 0 stay out. Class ``k`` is in the
    set when it is in the set of its own quantile ``q_k``.
    """
    ranked, cumulative = _ranked_cumulative(probabilities)
    n, n_classes = probabilities.shape
    smallest_positive = np.where(probabilities > _TOLERANCE, probabilities, np.inf).min(axis=1)
    sets = np.zeros((n, n_classes), bool)
    for q in np.unique(quantiles):
        reach = (cumulative < q - _TOLERANCE).sum(axis=1)  # sorted position reaching q
        last = ranked[np.arange(n), np.minimum(reach, n_classes - 1)]
        last = np.where(last <= _TOLERANCE, smallest_positive, last)
        included = (probabilities - last[:, None] >= -_TOLERANCE) | (reach == n_classes)[:, None]
        columns = quantiles == q
        sets[:, columns] = included[:, columns]
    return sets


def _quantile(scores, alpha):
    """The ``ceil((n + 1)(1 − alpha))``-th smallest score; ``inf`` when that rank exceeds n."""
    rank = math.ceil((len(scores) + 1) * (1 - alpha))
    if rank > len(scores):
        return math.inf
    return float(np.partition(scores, rank - 1)[rank - 1])


def _minimum_rows(alpha):
    """The fewest calibration rows whose quantile is finite: ``ceil((n + 1)(1 − alpha)) <= n``."""
    n = max(1, math.ceil(1 / alpha) - 2)
    while math.ceil((n + 1) * (1 - alpha)) > n:
        n += 1
    return n


class SplitConformalClassifier:
    """Split conformal prediction sets from a classifier's probabilities.

    Non-conformity scores (``p_k`` the probability of class ``k``, ``y`` the true class):

    * ``"lac"`` (Sadinle et al., 2019): ``s(x, k) = 1 − p_k``. The set is
      ``{k : 1 − p_k <= q_k}``; it can be empty. The smallest sets on average.
    * ``"aps"`` (Romano et al., 2020), non-randomized: the score of the true class ``y`` is
      ``p_y`` plus the probabilities of the classes more likely than ``y`` (``y`` first among
      classes tied with it). A set holds the classes in decreasing probability up to and including the
      first whose running total reaches ``q``, and every class tied with that one; with
      Mondrian, class ``k`` is in when it is in the set built with its own ``q_k``. Never
      empty; larger sets for uncertain rows. For two classes prefer LAC: a row whose true
      class is not the likelier one scores 1 however close the call, so once the model errs
      on more than a share ``alpha`` of the calibration rows, ``q = 1`` and every set holds
      both classes (MAPIE refuses APS for two classes).

    Probabilities within ``1e-8`` of each other count as tied, and a score within ``1e-8`` of
    ``q`` as at ``q`` (MAPIE's tolerance), so that rounding does not decide a set.

    The quantile ``q`` is the ``ceil((n + 1)(1 − alpha))``-th smallest of the ``n``
    calibration scores (the finite-sample correction). With ``mondrian=True`` there is one
    ``q_k`` per class, from the calibration rows of class ``k``; else one ``q`` for all.
    When ``ceil((n + 1)(1 − alpha)) > n`` (fewer than about ``1 / alpha − 1`` rows, in a class
    for Mondrian) no finite quantile guarantees the coverage: ``q = inf``, every set holds that
    class, and ``fit`` warns (``UserWarning``). MAPIE raises there instead.

    Agreement with MAPIE 1.6 (``mapie.classification.SplitConformalClassifier`` with
    ``prefit=True``): the same quantile (MAPIE's ``np.quantile(scores, ceil((n + 1)(1 − alpha))
    / n, method="lower")``), the same LAC sets. MAPIE 1.6 always randomizes the APS calibration
    score (it subtracts ``u · p_y``, ``u`` uniform, whatever ``include_last_label``) and refuses
    APS for two classes; kerasx takes ``u = 0`` and MAPIE's default prediction rule
    (``include_last_label=True``, no random removal of the last class). Its APS sets are then
    MAPIE's with ``u = 0``, except where a calibration row's true class is tied with another
    class: MAPIE's score then depends on the order ``argsort`` gives the tie; kerasx puts the
    true class first among its ties (the smallest score, which the prediction rule, taking in
    every class tied with the last one, still covers). Without the randomization the sets hold
    at least ``1 − alpha`` of the true classes, often more.

    Args:
        alpha: the miscoverage, a float in (0, 1): the sets miss the true class of at most a
            share ``alpha`` of the rows.
        score: ``"lac"`` or ``"aps"``.
        mondrian: one quantile per class (class-conditional coverage; needs calibration rows
            of every class) or one for all (``False``: marginal coverage only).

    Attributes:
        quantiles_: set by :meth:`fit`: ``(C,)`` floats, ``q_k`` for each class (all equal
            without Mondrian; ``inf`` where the calibration rows are too few).
        n_classes_: set by :meth:`fit`: ``C``.
        class_counts_: set by :meth:`fit`: ``(C,)`` the calibration rows of each class.

    >>> conformal = SplitConformalClassifier(alpha=0.2, mondrian=False)
    >>> conformal = conformal.fit([0, 0, 0, 1, 1, 1, 1, 0, 1, 0], [0.1, 0.3, 0.6, 0.9, 0.7,
    ...                                                          0.4, 0.8, 0.2, 0.95, 0.35])
    >>> conformal.quantiles_.round(2).tolist()
    [0.6, 0.6]
    >>> conformal.predict([0.05, 0.5, 0.99]).tolist()   # {0}, both: ask a human, {1}
    [[True, False], [True, True], [False, True]]
    """

    def __init__(self, alpha=0.05, score="lac", mondrian=True):
        self.alpha = check_in_range("alpha", alpha, 0, 1, low_open=True, high_open=True)
        self.score = check_one_of("score", score, SCORES)
        if not isinstance(mondrian, (bool, np.bool_)):
            raise invalid_value("mondrian", "True or False", mondrian)
        self.mondrian = bool(mondrian)

    # -- fitting and predicting ------------------------------------------------------------

    def fit(self, y_cal, scores_cal):
        """Fits the quantile(s) on calibration rows the model was not trained on.

        Args:
            y_cal: the class of each calibration row, integers in ``[0, C)``.
            scores_cal: the model's probabilities on them: of class 1, shape ``(n,)`` or
                ``(n, 1)``, or of each class, shape ``(n, C)`` (rows summing to 1).

        Returns:
            ``self``.

        Raises:
            kerasx.InvalidArgument: scores that are not probabilities (NaN, outside [0, 1],
                rows not summing to 1), labels outside ``[0, C)``, lengths that differ, or,
                with ``mondrian=True``, a class without calibration rows.
        """
        probabilities = _probabilities(scores_cal, "scores_cal")
        n, n_classes = probabilities.shape
        y = _labels(y_cal, "y_cal", n, n_classes, against="scores_cal")
        counts = np.bincount(y, minlength=n_classes)
        if self.mondrian and (counts == 0).any():

            def per_class(a):
                return f"{len(a)} labels, per class {counts.tolist()}"

            expected = f"calibration rows of every class 0..{n_classes - 1} (mondrian=True)"
            hint = "Add rows of the missing class, or use mondrian=False."
            raise invalid_value("y_cal", expected, y, describe=per_class, hint=hint)
        if self.score == "lac":
            calibration = 1 - probabilities[np.arange(n), y]
        else:
            calibration = _aps_calibration(probabilities, y)
        if self.mondrian:
            quantiles = [_quantile(calibration[y == k], self.alpha) for k in range(n_classes)]
        else:
            quantiles = [_quantile(calibration, self.alpha)] * n_classes
        self.quantiles_ = np.array(quantiles, dtype=np.float64)
        self.n_classes_ = n_classes
        self.class_counts_ = counts
        self._warn_if_infinite()
        return self

    def predict(self, scores):
        """The prediction sets: an ``(n, C)`` boolean array, column ``k`` true when ``k`` is in.

        Args:
            scores: probabilities, as for :meth:`fit` (the same number of classes).

        Raises:
            sklearn.exceptions.NotFittedError: before :meth:`fit`.
            kerasx.InvalidArgument: scores that are not probabilities of ``C`` classes.
        """
        self._check_fitted()
        probabilities = _probabilities(scores, "scores", self.n_classes_)
        if self.score == "lac":
            return (1 - probabilities) - self.quantiles_ <= _TOLERANCE
        return _aps_sets(probabilities, self.quantiles_)

    def evaluate(self, y_true, scores, *, level=0.95):
        """The coverage and the kinds of sets on labelled rows: see :func:`coverage_report`."""
        sets = self.predict(scores)
        y = _labels(y_true, "y_true", len(sets), self.n_classes_, against="scores")
        return coverage_report(y, sets, alpha=self.alpha, level=level)

    def fit_model(self, model, x_cal, y_cal, **predict_kwargs):
        """:meth:`fit` on ``model.predict(x_cal)`` (a Keras model with sigmoid/softmax output).

        ``predict_kwargs`` go to ``model.predict`` (``verbose=0`` unless given). Returns ``self``.
        """
        return self.fit(y_cal, _model_scores(model, x_cal, predict_kwargs))

    def predict_model(self, model, x, **predict_kwargs):
        """:meth:`predict` on ``model.predict(x)``: the prediction sets of the rows of ``x``."""
        return self.predict(_model_scores(model, x, predict_kwargs))

    def _check_fitted(self):
        if not hasattr(self, "quantiles_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This SplitConformalClassifier is not fitted yet: call fit(y_cal, scores_cal) "
                "or fit_model(model, x_cal, y_cal) first."
            )

    def _warn_if_infinite(self):
        infinite = np.flatnonzero(np.isinf(self.quantiles_))
        if infinite.size == 0:
            return
        needed = _minimum_rows(self.alpha)
        if self.mondrian:
            counts = ", ".join(f"class {k}: {self.class_counts_[k]}" for k in infinite)
            what = f"calibration rows ({counts}); every set will hold those classes"
        else:
            what = f"{self.class_counts_.sum()} calibration rows; every set will hold every class"
        warnings.warn(
            f"SplitConformalClassifier: alpha={self.alpha} needs at least {needed} calibration "
            f"rows{' per class' if self.mondrian else ''} for a finite quantile, and there are "
            f"fewer: {what} (coverage 1). Use more calibration rows or a larger alpha.",
            UserWarning,
            stacklevel=3,
        )

    # -- saving ----------------------------------------------------------------------------

    def get_config(self):
        """The constructor's arguments: ``{"alpha", "score", "mondrian"}``."""
        return {"alpha": self.alpha, "score": self.score, "mondrian": self.mondrian}

    @classmethod
    def from_config(cls, config):
        """An unfitted instance from :meth:`get_config`'s dict."""
        return cls(**config)

    def to_dict(self):
        """The configuration and the fitted state as a JSON-ready dict.

        Keys: those of :meth:`get_config`, then ``n_classes``, ``quantiles`` (a list; ``None``
        for an infinite quantile) and ``class_counts``. :meth:`from_dict` reads it back.
        """
        self._check_fitted()
        return {
            **self.get_config(),
            "n_classes": int(self.n_classes_),
            "quantiles": [None if math.isinf(q) else float(q) for q in self.quantiles_],
            "class_counts": [int(c) for c in self.class_counts_],
        }

    @classmethod
    def from_dict(cls, state):
        """A fitted instance from :meth:`to_dict`'s dict (e.g. after a JSON round trip)."""
        config = {key: state[key] for key in ("alpha", "score", "mondrian")}
        conformal = cls.from_config(config)
        quantiles = [math.inf if q is None else q for q in state["quantiles"]]
        conformal.quantiles_ = np.array(quantiles, dtype=np.float64)
        conformal.n_classes_ = int(state["n_classes"])
        conformal.class_counts_ = np.array(state["class_counts"], dtype=np.int64)
        if conformal.quantiles_.shape != (conformal.n_classes_,):
            raise invalid_value("state", "one quantile per class", state)
        return conformal

    def __repr__(self):
        config = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"SplitConformalClassifier({config})"


def _model_scores(model, x, predict_kwargs):
    predict_kwargs.setdefault("verbose", 0)
    return np.asarray(model.predict(x, **predict_kwargs))


@dataclasses.dataclass(frozen=True, eq=False)
class CoverageReport:
    """How often prediction sets hold the true class, and what kinds of sets they are.

    Attributes:
        alpha: the miscoverage the sets were made for (``None`` if not given).
        n: the number of rows.
        coverage: the share of rows whose set holds the true class, with its Wilson interval
            (a :class:`kerasx.stats.Interval`).
        coverage_by_class: one such :class:`~kerasx.stats.Interval` per true class (all
            ``nan``, ``n=0`` for a class with no rows).
        mean_set_size: the average number of classes in a set.
        table: a pandas ``DataFrame`` with one row for all rows (index ``"all"``) and one per
            true class (index ``0``, ``1``, ...), columns ``n``, ``coverage``, then the share
            of sets that are ``empty``, ``{0}``, ``{1}``, ..., ``several`` (two classes or
            more: for two classes, both = "ask a human"), and ``mean_size``.
    """

    alpha: float | None
    n: int
    coverage: object
    coverage_by_class: tuple
    mean_set_size: float
    table: object

    def to_dict(self):
        """A JSON-ready dict (``nan`` becomes ``None``; the table as ``{row: {column: value}}``)."""

        def plain(value):
            value = value.item() if isinstance(value, np.generic) else value
            return None if isinstance(value, float) and math.isnan(value) else value

        return {
            "alpha": self.alpha,
            "n": self.n,
            "coverage": self.coverage.to_dict(),
            "coverage_by_class": [interval.to_dict() for interval in self.coverage_by_class],
            "mean_set_size": self.mean_set_size,
            "table": {
                str(row): {column: plain(value) for column, value in values.items()}
                for row, values in self.table.to_dict("index").items()
            },
        }

    def __repr__(self):
        return (
            f"CoverageReport(n={self.n}, coverage {self.coverage.format()}, "
            f"mean set size {self.mean_set_size:.3f})"
        )


def coverage_report(y_true, sets, *, alpha=None, level=0.95):
    """The empirical coverage of prediction sets, overall and per true class, and their kinds.

    Works on any boolean sets, e.g. MAPIE's ``predict_set(X)[1]`` (a trailing axis of length 1
    is dropped).

    Args:
        y_true: the true class of each row, integers in ``[0, C)``.
        sets: ``(n, C)`` booleans, column ``k`` true when class ``k`` is in the row's set.
        alpha: the miscoverage the sets were made for, to be recorded (optional).
        level: the coverage of the Wilson intervals, in (0, 1).

    Returns:
        A :class:`CoverageReport`.

    >>> report = coverage_report([0, 1, 1, 0], [[1, 0], [1, 1], [0, 1], [0, 0]])
    >>> report.coverage.estimate, report.table.loc["all", ["empty", "several"]].tolist()
    (0.75, [0.25, 0.25])
    """
    import pandas as pd

    sets = np.asarray(sets)
    if sets.ndim == 3 and sets.shape[2] == 1:
        sets = sets[:, :, 0]
    if sets.ndim != 2 or len(sets) == 0 or sets.shape[1] < 2 or not np.isin(sets, (0, 1)).all():
        expected = "an (n, C) array of booleans with C >= 2"
        raise invalid_value("sets", expected, sets, describe=_shape)
    sets = sets.astype(bool)
    n, n_classes = sets.shape
    y = _labels(y_true, "y_true", n, n_classes, against="sets")
    level = check_in_range("level", level, 0, 1, low_open=True, high_open=True)
    covered = sets[np.arange(n), y]
    size = sets.sum(axis=1)
    rows, intervals = {}, []
    for key, mask in [("all", np.ones(n, bool)), *((k, y == k) for k in range(n_classes))]:
        count = int(mask.sum())
        if count == 0:
            interval = Interval(math.nan, math.nan, math.nan, level=level, method="wilson", n=0)
        else:
            interval = wilson_interval(int(covered[mask].sum()), count, level)
        if key != "all":
            intervals.append(interval)

        def share(selected, mask=mask, count=count):
            return float((selected & mask).sum() / count) if count else math.nan

        rows[key] = {
            "n": count,
            "coverage": interval.estimate,
            "empty": share(size == 0),
            **{f"{{{k}}}": share((size == 1) & sets[:, k]) for k in range(n_classes)},
            "several": share(size >= 2),
            "mean_size": float(size[mask].mean()) if count else math.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "true class"
    overall = wilson_interval(int(covered.sum()), n, level)
    return CoverageReport(alpha, n, overall, tuple(intervals), float(size.mean()), table)
