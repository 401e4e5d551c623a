"""One verdict per patient from per-cell scores: the unit a clinic decides on."""

import dataclasses
import math

import numpy as np

from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value
from kerasx.stats._checks import check_groups, check_labels, check_level, check_scores
from kerasx.stats._checks import check_threshold as _check_threshold
from kerasx.stats._proportions import wilson_interval
from kerasx.stats._result import Interval

__all__ = ["PatientDiagnosis", "patient_diagnosis"]

RULES = ("any", "fraction")
COLUMNS = (
    "patient",
    "n_cells",
    "n_positive_cells_true",
    "n_predicted_positive",
    "truth",
    "verdict",
    "correct",
)


@dataclasses.dataclass(frozen=True, eq=False)
class PatientDiagnosis:
    """Patient-level verdicts and their sensitivity, specificity and accuracy.

    Attributes:
        table: a pandas ``DataFrame``, one row per patient (sorted by patient), with columns
            ``patient`` (the id), ``n_cells``, ``n_positive_cells_true`` (cells labelled 1),
            ``n_predicted_positive`` (cells scoring ``> threshold``), ``truth`` (1 = infected:
            at least one cell labelled 1), ``verdict`` (1 = predicted infected) and ``correct``
            (``truth == verdict``).
        sensitivity: the share of infected patients predicted infected, with its Wilson
            interval over patients; all ``nan`` (``n=0``) when no patient is infected.
        specificity: the share of uninfected patients predicted uninfected, likewise; all
            ``nan`` when every patient is infected.
        accuracy: the share of patients with a correct verdict, with its Wilson interval.
        n_patients: the number of patients.
        n_infected: the number of infected patients (``truth == 1``).
        rule: the prediction rule in words, e.g. ``"infected when >= 1 cell scores > 0.5"``.
        notes: sentences on what could not be computed (an empty tuple when all could).
    """

    table: object
    sensitivity: Interval
    specificity: Interval
    accuracy: Interval
    n_patients: int
    n_infected: int
    rule: str
    notes: tuple = ()

    def to_dict(self):
        """A JSON-ready dict: the counts, the rule, the notes, the intervals and the table."""
        return {
            "n_patients": self.n_patients,
            "n_infected": self.n_infected,
            "rule": self.rule,
            "notes": list(self.notes),
            "sensitivity": self.sensitivity.to_dict(),
            "specificity": self.specificity.to_dict(),
            "accuracy": self.accuracy.to_dict(),
            "patients": [
                {key: _plain(value) for key, value in row.items()}
                for row in self.table.to_dict("records")
            ],
        }

    def __repr__(self):
        return (
            f"PatientDiagnosis({self.n_patients} patients, {self.n_infected} infected; "
            f"sensitivity {self.sensitivity.format()}, specificity {self.specificity.format()}, "
            f"accuracy {self.accuracy.format()})"
        )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def patient_diagnosis(
    y_true,
    y_score,
    groups,
    *,
    rule="any",
    threshold=0.5,
    fraction=None,
    min_cells=1,
    level=0.95,
):
    """Turns per-cell scores into one verdict per patient and scores those verdicts.

    A blood smear is read per patient, not per cell. Truth: a patient is infected when at least
    one of its cells is labelled 1 (parasitized). Prediction, with a cell called positive when
    its score is ``> threshold``:

    * ``rule="any"``: infected when at least ``min_cells`` of its cells are positive
      (``n_predicted_positive >= min_cells``);
    * ``rule="fraction"``: infected when the share of its cells that are positive is at least
      ``fraction`` (``n_predicted_positive / n_cells >= fraction``).

    Sensitivity, specificity and accuracy are then proportions of *patients*, each with its
    Wilson interval (:func:`wilson_interval`): the number of independent units is the number of
    patients, however many cells each has. Nothing assumes that a patient's cells share one
    label.

    Args:
        y_true: 0/1 label of each cell (1 = parasitized).
        y_score: the model's score of each cell (any real numbers; probabilities usually).
        groups: the patient of each cell (ints or strings), at least 2 distinct patients.
        rule: ``"any"`` or ``"fraction"``.
        threshold: a cell is positive when its score is ``> threshold``.
        fraction: for ``rule="fraction"``, a float in ``(0, 1]``; must be ``None`` for
            ``rule="any"``.
        min_cells: for ``rule="any"``, an integer >= 1; must stay 1 for ``rule="fraction"``.
        level: the coverage of the intervals, in ``(0, 1)``.

    Returns:
        A :class:`PatientDiagnosis`.

    Raises:
        kerasx.InvalidArgument: labels other than 0/1, NaN or infinite scores, arrays of
            different lengths, fewer than 2 patients, an unknown ``rule``, a ``fraction`` or
            ``min_cells`` that does not go with the rule, or ``level`` outside (0, 1).

    >>> result = patient_diagnosis(
    ...     y_true=[1, 1, 1, 0, 0, 0, 1, 1],
    ...     y_score=[0.9, 0.2, 0.1, 0.3, 0.7, 0.1, 0.2, 0.1],
    ...     groups=["A", "A", "A", "B", "B", "B", "C", "C"],
    ... )
    >>> result.table[["patient", "truth", "verdict"]].to_numpy().tolist()
    [['A', 1, 1], ['B', 0, 1], ['C', 1, 0]]
    >>> result.sensitivity.estimate, result.specificity.estimate, result.notes
    (0.5, 0.0, ())
    """
    y = check_labels(y_true)
    scores = check_scores("y_score", y_score, len(y))
    codes, n_patients = check_groups(groups, len(y))
    describe, decide = _check_rule(rule, threshold, fraction, min_cells)
    level = check_level(level)
    table = _patient_table(groups, codes, n_patients, y, scores > threshold, decide)
    truth, verdict = table["truth"].to_numpy(), table["verdict"].to_numpy()
    n_infected = int(truth.sum())
    notes = []
    sensitivity = _proportion(int((verdict[truth == 1] == 1).sum()), n_infected, level)
    if n_infected == 0:
        notes.append("No patient is infected: the sensitivity is undefined (nan).")
    specificity = _proportion(int((verdict[truth == 0] == 0).sum()), n_patients - n_infected, level)
    if n_infected == n_patients:
        notes.append("Every patient is infected: the specificity is undefined (nan).")
    accuracy = wilson_interval(int(table["correct"].sum()), n_patients, level)
    return PatientDiagnosis(
        table, sensitivity, specificity, accuracy, n_patients, n_infected, describe, tuple(notes)
    )


def _check_rule(rule, threshold, fraction, min_cells):
    """Validates the rule's arguments; returns it in words and as a function of the counts."""
    check_one_of("rule", rule, RULES)
    threshold = _check_threshold(threshold)
    if rule == "any":
        if fraction is not None:
            raise invalid_value("fraction", "None with rule='any' (use rule='fraction')", fraction)
        min_cells = check_int("min_cells", min_cells, minimum=1)
        cells = "cell scores" if min_cells == 1 else "cells score"
        return (
            f"infected when >= {min_cells} {cells} > {threshold:g}",
            lambda n_predicted, n_cells: n_predicted >= min_cells,
        )
    if isinstance(min_cells, bool) or min_cells != 1:
        expected = "1 with rule='fraction' (it applies to rule='any')"
        raise invalid_value("min_cells", expected, min_cells)
    if fraction is None:
        raise invalid_value("fraction", "a float in (0, 1] with rule='fraction'", fraction)
    fraction = check_in_range("fraction", fraction, 0, 1, low_open=True)
    # A division, not fraction * n_cells: 3 / 10 >= 0.3 holds, 3 >= 0.3 * 10 does not.
    return (
        f"infected when a share >= {fraction:g} of its cells scores > {threshold:g}",
        lambda n_predicted, n_cells: n_predicted / n_cells >= fraction,
    )


def _patient_table(groups, codes, n_patients, y, positive, decide):
    """The per-patient table; ``positive`` is each cell's prediction, ``decide`` the rule."""
    import pandas as pd

    ids = np.empty(n_patients, dtype=object)
    ids[codes] = np.asarray(groups).ravel().tolist()  # every row of a patient holds its id
    n_cells = np.bincount(codes, minlength=n_patients)
    n_true = np.bincount(codes, weights=y, minlength=n_patients).astype(np.int64)
    n_predicted = np.bincount(codes, weights=positive, minlength=n_patients).astype(np.int64)
    truth = (n_true > 0).astype(np.int64)
    verdict = decide(n_predicted, n_cells).astype(np.int64)
    columns = (ids, n_cells, n_true, n_predicted, truth, verdict, truth == verdict)
    table = pd.DataFrame(dict(zip(COLUMNS, columns, strict=True)))
    try:
        table = table.sort_values("patient", kind="stable")
    except TypeError:  # ids of mixed types: keep the order of first appearance
        pass
    return table.reset_index(drop=True)


def _proportion(k, n, level):
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, level=level, method="wilson", n=0)
    return wilson_interval(k, n, level)
