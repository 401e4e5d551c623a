"""kerasx.stats.patient_diagnosis and choose_threshold against pandas, statsmodels, brute force."""

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from kerasx import InvalidArgument
from kerasx.stats import choose_threshold, patient_diagnosis

statsmodels_proportion = pytest.importorskip("statsmodels.stats.proportion")


def cells(n_patients=40, seed=0, mixed=True):
    """Cells of patients with 1–15 cells each; with ``mixed``, labels vary within a patient."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 16, n_patients)
    groups = np.repeat([f"P{i:03d}" for i in range(n_patients)], sizes)
    sick = np.repeat(rng.random(n_patients) < 0.4, sizes)
    if mixed:
        y = (rng.random(len(groups)) < np.where(sick, 0.6, 0.03)).astype(int)
    else:
        y = sick.astype(int)
    scores = np.clip(rng.normal(0.25 + 0.5 * y, 0.2), 0, 1).round(2)  # ties at the threshold
    return y, scores, groups


def reference_table(y, scores, groups, threshold, decide):
    """The per-patient table with a pandas groupby."""
    frame = pd.DataFrame({"patient": groups, "y": y, "positive": scores > threshold})
    table = frame.groupby("patient", sort=True).agg(
        n_cells=("y", "size"), n_positive_cells_true=("y", "sum"), n_predicted=("positive", "sum")
    )
    table["truth"] = (table["n_positive_cells_true"] > 0).astype(int)
    table["verdict"] = decide(table["n_predicted"], table["n_cells"]).astype(int)
    return table.reset_index()


def wilson(k, n, level=0.95):
    return statsmodels_proportion.proportion_confint(k, n, alpha=1 - level, method="wilson")


# --------------------------------------------------------------------------------------------
# patient_diagnosis


@pytest.mark.parametrize(
    ("kwargs", "decide"),
    [
        ({}, lambda predicted, n: predicted >= 1),
        ({"min_cells": 2}, lambda predicted, n: predicted >= 2),
        ({"threshold": 0.45}, lambda predicted, n: predicted >= 1),
        ({"rule": "fraction", "fraction": 0.3}, lambda predicted, n: predicted / n >= 0.3),
        ({"rule": "fraction", "fraction": 1.0}, lambda predicted, n: predicted == n),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_table_and_intervals_equal_pandas_and_statsmodels(kwargs, decide, seed):
    y, scores, groups = cells(seed=seed)
    result = patient_diagnosis(y, scores, groups, level=0.9, **kwargs)
    expected = reference_table(y, scores, groups, kwargs.get("threshold", 0.5), decide)
    table = result.table
    assert list(table.columns) == [
        "patient",
        "n_cells",
        "n_positive_cells_true",
        "n_predicted_positive",
        "truth",
        "verdict",
        "correct",
    ]
    assert table["patient"].tolist() == expected["patient"].tolist()
    for ours, theirs in [
        ("n_cells", "n_cells"),
        ("n_positive_cells_true", "n_positive_cells_true"),
        ("n_predicted_positive", "n_predicted"),
        ("truth", "truth"),
        ("verdict", "verdict"),
    ]:
        np.testing.assert_array_equal(table[ours].to_numpy(), expected[theirs].to_numpy())
    np.testing.assert_array_equal(table["correct"], expected["truth"] == expected["verdict"])
    truth, verdict = expected["truth"].to_numpy(), expected["verdict"].to_numpy()
    for interval, k, n in [
        (result.sensitivity, (verdict[truth == 1] == 1).sum(), (truth == 1).sum()),
        (result.specificity, (verdict[truth == 0] == 0).sum(), (truth == 0).sum()),
        (result.accuracy, (truth == verdict).sum(), len(truth)),
    ]:
        assert interval.estimate == pytest.approx(k / n)
        assert (interval.low, interval.high) == pytest.approx(wilson(int(k), int(n), 0.9))
        assert (interval.n, interval.level, interval.method) == (n, 0.9, "wilson")
    assert (result.n_patients, result.n_infected) == (len(truth), truth.sum())
    assert result.notes == ()


def test_a_score_equal_to_the_threshold_is_negative():
    result = patient_diagnosis([1, 1, 0, 0], [0.5, 0.5, 0.2, 0.2], ["a", "a", "b", "b"])
    assert result.table["n_predicted_positive"].tolist() == [0, 0]
    assert result.sensitivity.estimate == 0.0


def test_fraction_is_compared_as_a_share():
    # 3 of 10 cells positive: 3 / 10 >= 0.3 (while 3 >= 0.3 * 10 is False in floats)
    y = [1] * 10 + [0] * 2
    scores = [0.9] * 3 + [0.1] * 7 + [0.1, 0.1]
    groups = ["a"] * 10 + ["b"] * 2
    result = patient_diagnosis(y, scores, groups, rule="fraction", fraction=0.3)
    assert result.table["verdict"].tolist() == [1, 0]
    assert result.rule == "infected when a share >= 0.3 of its cells scores > 0.5"


def test_patient_ids_of_any_kind_and_column_arrays():
    y, scores, groups = cells(n_patients=12, seed=3)
    codes = pd.Series(groups).str[1:].astype(int).to_numpy()
    by_string = patient_diagnosis(y, scores, groups)
    by_int = patient_diagnosis(y[:, None], scores[:, None], pd.Series(codes))
    assert by_int.table["patient"].tolist() == sorted(set(codes.tolist()))
    for column in ("n_cells", "truth", "verdict"):
        np.testing.assert_array_equal(by_string.table[column], by_int.table[column])
    assert by_int.sensitivity == by_string.sensitivity


def test_all_parasitized_or_all_uninfected_patients_need_no_special_case():
    y, scores, groups = cells(seed=4, mixed=False)
    result = patient_diagnosis(y, scores, groups)
    table = result.table
    assert (
        (table["n_positive_cells_true"] == 0) | (table["n_positive_cells_true"] == table["n_cells"])
    ).all()
    assert result.n_infected == table["truth"].sum() > 0


def test_one_class_of_patients_gives_nan_and_says_so():
    healthy = patient_diagnosis([0, 0, 0], [0.1, 0.7, 0.2], ["a", "b", "b"])
    assert math.isnan(healthy.sensitivity.estimate) and healthy.sensitivity.n == 0
    assert healthy.specificity.estimate == 0.5
    assert healthy.notes == ("No patient is infected: the sensitivity is undefined (nan).",)
    sick = patient_diagnosis([1, 1, 0], [0.1, 0.7, 0.2], ["a", "b", "b"])
    assert math.isnan(sick.specificity.estimate)
    assert sick.notes == ("Every patient is infected: the specificity is undefined (nan).",)
    state = json.loads(json.dumps(healthy.to_dict()))
    assert state["sensitivity"]["estimate"] is None and len(state["patients"]) == 2
    assert "2 patients, 0 infected" in repr(healthy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": ["a", "a", "a", "a"]}, r"`groups`. Expected at least 2 distinct groups"),
        (
            {"groups": ["a", "b", "a"]},
            r"`groups`. Expected one group label per row of y_true \(4\)",
        ),
        ({"y_score": [0.1, float("nan"), 0.3, 0.4]}, r"`y_score`. Expected finite values"),
        ({"y_score": [0.1, 0.2, 0.3]}, r"`y_score`. Expected one score per row of y_true \(4\)"),
        ({"y_true": [0, 1, 2, 1]}, r"`y_true`. Expected 0/1 labels"),
        ({"rule": "all"}, r"`rule`. Expected one of \('any', 'fraction'\)"),
        ({"fraction": 0.5}, r"`fraction`. Expected None with rule='any'"),
        ({"rule": "fraction"}, r"`fraction`. Expected a float in \(0, 1\] with rule='fraction'"),
        ({"rule": "fraction", "fraction": 0}, r"`fraction`. Expected a float in \(0, 1\]"),
        ({"rule": "fraction", "fraction": 0.5, "min_cells": 2}, r"`min_cells`. Expected 1 with"),
        ({"min_cells": 0}, r"`min_cells`. Expected an integer >= 1"),
        ({"threshold": float("nan")}, r"`threshold`. Expected a finite float"),
        ({"level": 1.0}, r"`level`. Expected a float in \(0, 1\)"),
    ],
)
def test_patient_diagnosis_rejects(kwargs, match):
    arguments = {"y_true": [0, 1, 1, 0], "y_score": [0.2, 0.8, 0.4, 0.1], "groups": list("abab")}
    arguments.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        patient_diagnosis(arguments.pop("y_true"), arguments.pop("y_score"), **arguments)


# --------------------------------------------------------------------------------------------
# choose_threshold


def brute_force(y, scores, criterion):
    """Every observed score as t (plus -inf), "score > t", the documented tie-breaks."""
    y = np.asarray(y)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    best = None
    for t in [-math.inf, *np.unique(scores).tolist()]:
        predicted = np.asarray(scores) > t
        tp, tn = int((predicted & (y == 1)).sum()), int((~predicted & (y == 0)).sum())
        sens, spec = Fraction(tp, n_pos), Fraction(tn, n_neg)
        if criterion == "youden":
            key = (sens + spec, sens)
        elif criterion.startswith("sensitivity"):
            if sens < Fraction(criterion.split(">=")[1]):
                continue
            key = (spec, sens)
        else:
            if spec < Fraction(criterion.split(">=")[1]):
                continue
            key = (sens, spec)
        if best is None or key > best[0]:
            best = (key, t, float(sens), float(spec))
    return best[1:]


CRITERIA = [
    "youden",
    "sensitivity>=0.95",
    "sensitivity>=0.8",
    "sensitivity>=1",
    "specificity>=0.9",
    "specificity>=0.5",
    "specificity>=1",
]


@pytest.mark.parametrize("criterion", CRITERIA)
@pytest.mark.parametrize("seed", range(6))
def test_choose_threshold_equals_brute_force(criterion, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 300))
    y = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(int)
    y[:2] = [0, 1]
    scores = rng.normal(y * rng.uniform(0, 2), 1)
    if seed % 2:
        scores = scores.round(1)  # many tied scores
    choice = choose_threshold(y, scores, criterion=criterion)
    assert (choice.threshold, choice.sensitivity, choice.specificity) == brute_force(
        y, scores, criterion
    )
    # re-applying "score > threshold" achieves exactly what is claimed
    predicted = scores > float(choice)
    assert predicted[y == 1].mean() == choice.sensitivity
    assert (~predicted[y == 0]).mean() == choice.specificity
    assert (choice.n_positive, choice.n_negative) == (y.sum(), n - y.sum())


def test_choose_threshold_is_not_roc_curves_off_by_one():
    # roc_curve's best point predicts 1 for score >= 0.6; under "score > t" that is t = 0.3
    y, scores = [0, 0, 1, 1], [0.1, 0.3, 0.6, 0.8]
    choice = choose_threshold(y, scores)
    assert (choice.threshold, choice.sensitivity, choice.specificity) == (0.3, 1.0, 1.0)
    every_row = choose_threshold([0, 1, 1], [0.2, 0.2, 0.9], criterion="sensitivity>=1")
    assert every_row.threshold == -math.inf and every_row.specificity == 0.0
    assert every_row.to_dict()["threshold"] is None


def test_ties_go_to_the_documented_side():
    # J = 2/3 at t = 0.4 (sensitivity 2/3, specificity 1) and at t = 0.3 (1, 2/3)
    tied = choose_threshold([0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.4, 0.8, 0.9])
    assert (tied.threshold, tied.sensitivity) == (0.3, 1.0)
    # specificity 1/2 at t = 0.2 (sensitivity 1/2) and at t = 0.1 (sensitivity 1)
    floor = choose_threshold([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.9], criterion="sensitivity>=0.5")
    assert (floor.threshold, floor.sensitivity, floor.specificity) == (0.1, 1.0, 0.5)
    # sensitivity 1 at t = 0.2 (specificity 2/3) and at t = 0.1 (specificity 1/3)
    y, scores = [0, 0, 1, 0, 1], [0.1, 0.2, 0.3, 0.8, 0.9]
    floor = choose_threshold(y, scores, criterion="specificity>=0.3")
    assert (floor.threshold, floor.sensitivity, floor.specificity) == (0.2, 1.0, 2 / 3)


def test_criterion_spelling():
    y, scores = [0, 0, 1, 1, 0, 1], [0.1, 0.3, 0.6, 0.8, 0.7, 0.2]
    spaced = choose_threshold(y, scores, criterion=" sensitivity >= 0.6 ")
    assert spaced.threshold == choose_threshold(y, scores, criterion="sensitivity>=0.6").threshold
    assert spaced.criterion == " sensitivity >= 0.6 "


@pytest.mark.parametrize(
    "criterion",
    ["Youden", "youden2", "sensitivity>0.9", "sensitivity>=1.5", "precision>=0.9",
     "specificity>=abc", "sensitivity>=-0.1", "sensitivity>=nan", 0.9, None],
)  # fmt: skip
def test_unknown_criterion(criterion):
    with pytest.raises(InvalidArgument, match=r"argument `criterion`. Expected 'youden'"):
        choose_threshold([0, 1], [0.2, 0.8], criterion=criterion)


@pytest.mark.parametrize(
    ("y", "scores", "match"),
    [
        ([1, 1, 1], [0.2, 0.8, 0.5], r"`y_true`. Expected both classes \(0 and 1\)"),
        ([0, 1, 1], [0.2, float("nan"), 0.5], r"`y_score`. Expected finite values"),
        ([0, 1, 1], [0.2, 0.5], r"`y_score`. Expected one score per row of y_true \(3\)"),
        ([0, 1, 3], [0.2, 0.8, 0.5], r"`y_true`. Expected 0/1 labels"),
    ],
)
def test_choose_threshold_rejects(y, scores, match):
    with pytest.raises(InvalidArgument, match=match):
        choose_threshold(y, scores)
