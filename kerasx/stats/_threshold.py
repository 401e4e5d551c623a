"""Choosing the decision threshold of a score: Youden's J or a floor on one error rate."""

import dataclasses
import re

import numpy as np

from kerasx._validation import invalid_value
from kerasx.stats._checks import check_classes, check_labels, check_scores

__all__ = ["ThresholdChoice", "choose_threshold"]

_CRITERION = re.compile(r"\s*(sensitivity|specificity)\s*>=\s*(\S+)\s*")
_EXPECTED = "'youden', 'sensitivity>=x' or 'specificity>=x' with x in [0, 1]"


@dataclasses.dataclass(frozen=True)
class ThresholdChoice:
    """A decision threshold and what it achieved on the rows it was chosen on.

    The rule is "predict 1 when ``score > threshold``" (as in
    ``kerasx.malaria.scores.score_predictions``). ``float(choice)`` is the threshold.

    Attributes:
        threshold: the chosen threshold: the largest observed score that is predicted 0, or
            ``-inf`` when every row is predicted 1.
        sensitivity: the share of label-1 rows with ``score > threshold``, on the rows it was
            chosen on (an optimistic estimate: measure it again on other rows).
        specificity: the share of label-0 rows with ``score <= threshold``, likewise.
        criterion: the criterion, as given.
        n_positive: the number of label-1 rows it was chosen on.
        n_negative: the number of label-0 rows.
    """

    threshold: float
    sensitivity: float
    specificity: float
    criterion: str
    n_positive: int
    n_negative: int

    def __float__(self):
        return self.threshold

    def to_dict(self):
        """The fields as a JSON-ready dict (an infinite threshold becomes ``None``)."""
        fields = dataclasses.asdict(self)
        fields["threshold"] = None if np.isinf(self.threshold) else self.threshold
        return fields


def _parse_criterion(criterion):
    """``("youden", None)`` or ``("sensitivity" | "specificity", floor)``."""
    if criterion == "youden":
        return "youden", None
    match = _CRITERION.fullmatch(criterion) if isinstance(criterion, str) else None
    try:
        floor = float(match.group(2)) if match else None
    except ValueError:
        floor = None
    if floor is None or not 0 <= floor <= 1:
        raise invalid_value("criterion", _EXPECTED, criterion)
    return match.group(1), floor


def choose_threshold(y_true, y_score, *, criterion="youden"):
    """The threshold of a score that best meets a criterion, for "predict 1 when score > t".

    Choose it on validation rows (better: validation patients) and apply it, unchanged, to the
    test rows. Chosen and measured on the same rows, its sensitivity and specificity are
    optimistic; the ones reported here are those of the rows it was chosen on.

    Criteria, with sensitivity = TP / (TP + FN) and specificity = TN / (TN + FP):

    * ``"youden"``: the largest Youden's J = sensitivity + specificity − 1; ties go to the
      higher sensitivity.
    * ``"sensitivity>=x"``: among thresholds with sensitivity >= x, the one with the highest
      specificity (ties: the higher sensitivity). Screening: miss at most a share 1 − x.
    * ``"specificity>=x"``: among thresholds with specificity >= x, the one with the highest
      sensitivity (ties: the higher specificity).

    Every distinct split of the rows is a candidate: the points of
    ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``. ``roc_curve`` predicts 1 when
    ``score >= t``; the same split under ``score > t`` has ``t`` = the next lower observed
    score, which is the threshold returned (``-inf`` for "every row positive"). J is compared
    in exact integer arithmetic, so ties are ties.

    Args:
        y_true: 0/1 labels, both classes present.
        y_score: the scores (any real numbers; higher means more likely 1).
        criterion: ``"youden"``, ``"sensitivity>=x"`` or ``"specificity>=x"``, ``x`` in
            ``[0, 1]`` (spaces allowed around ``>=``).

    Returns:
        A :class:`ThresholdChoice` (``float()`` of it is the threshold).

    Raises:
        kerasx.InvalidArgument: labels other than 0/1 or of one class only, NaN or infinite
            scores, arrays of different lengths, or an unknown criterion.

    >>> y, scores = [0, 0, 1, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9]
    >>> choice = choose_threshold(y, scores)
    >>> choice.threshold, round(choice.sensitivity, 3), choice.specificity
    (0.5, 0.667, 1.0)
    >>> choose_threshold(y, scores, criterion="sensitivity>=0.95")
    ThresholdChoice(threshold=0.2, sensitivity=1.0, specificity=0.5, criterion='sensitivity>=0.95', n_positive=3, n_negative=4)
    """
    from sklearn.metrics import roc_curve

    y = check_labels(y_true)
    scores = check_scores("y_score", y_score, len(y))
    check_classes(y, (0, 1), "choosing a threshold")
    kind, floor = _parse_criterion(criterion)
    fpr, tpr, roc_thresholds = roc_curve(y, scores, drop_intermediate=False)
    # Point i predicts 1 when score >= roc_thresholds[i] (the first is +inf: no row). No score
    # lies strictly between it and roc_thresholds[i + 1], so "score > roc_thresholds[i + 1]"
    # splits the rows the same way; after the lowest score, only -inf does.
    thresholds = np.append(roc_thresholds[1:], -np.inf)
    n_positive, n_negative = int(y.sum()), int(len(y) - y.sum())
    tp = np.rint(tpr * n_positive).astype(np.int64)
    tn = n_negative - np.rint(fpr * n_negative).astype(np.int64)
    sensitivity, specificity = tp / n_positive, tn / n_negative
    if kind == "youden":  # J * n_positive * n_negative, in integers; then the sensitivity
        feasible, keys = np.ones(len(tp), bool), (tp, tp * n_negative + tn * n_positive)
    elif kind == "sensitivity":
        feasible, keys = sensitivity >= floor, (tp, tn)
    else:
        feasible, keys = specificity >= floor, (tn, tp)
    candidates = np.flatnonzero(feasible)  # never empty: all-1 and all-0 splits are in it
    best = candidates[np.lexsort(tuple(key[candidates] for key in keys))[-1]]
    return ThresholdChoice(
        float(thresholds[best]),
        float(sensitivity[best]),
        float(specificity[best]),
        criterion,
        n_positive,
        n_negative,
    )
