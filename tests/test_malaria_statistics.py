"""The malaria job's statistics (kerasx.malaria.inference): each figure is computed on the right
rows, with the right unit of resampling, and shown as computed.

The statistics themselves are checked against references in tests/test_stats.py,
tests/test_stats_patients.py and tests/test_conformal.py; here the wiring is pinned: intervals
on the test rows resampled by patient (or by image without patients), the threshold and the
conformal sets fitted on the validation rows only, the comparison paired on the same rows, and
the console table, summary and report.html saying what metrics.json holds.
"""

import html
import json

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from kerasx import stats
from kerasx.conformal import SplitConformalClassifier
from kerasx.malaria import inference, report
from kerasx.malaria.train import ModelResult, Rows, Split


def _scores(rng, y, quality, groups=None):
    """Probabilities that rank y with some skill; a patient effect when groups are given."""
    logit = quality * (2 * y - 1) + rng.normal(0, 1.0, len(y))
    if groups is not None:
        _, index = np.unique(groups, return_inverse=True)
        logit += rng.normal(0, 1.0, index.max() + 1)[index]
    return 1 / (1 + np.exp(-logit))


def _problem(seed=0, n_patients=30, cells=12):
    """A Split of per-patient cells (whole patients one class), validation rows and 3 models."""
    rng = np.random.default_rng(seed)
    patients = np.repeat([f"P{i}" for i in range(n_patients)], cells)
    infected = np.arange(n_patients) % 2  # any 4 neighbours: 2 infected, 2 not
    y = np.repeat(infected, cells).astype("float32")
    half = len(y) // 2
    split = Split(
        x_train=np.zeros((half, 2, 2, 3), "uint8"),
        y_train=y[:half],
        x_test=np.zeros((len(y) - half, 2, 2, 3), "uint8"),
        y_test=y[half:],
        groups_train=patients[:half],
        groups_test=patients[half:],
    )
    rows = Rows(np.arange(0, half - 48), np.arange(half - 48, half), by_patient=True)
    results = {}
    for name, quality in (("mlp", 0.8), ("cnn", 2.5), ("baseline", 0.5)):
        scores = _scores(rng, split.y_test, quality, split.groups_test)
        validation = _scores(rng, split.y_train[rows.validation], quality)
        networks = name != "baseline"
        results[name] = ModelResult(
            name,
            None,
            scores,
            scores**0.9,  # stands for temperature scaling: other values, same order
            {**_entry(split.y_test, scores)},
            validation_scores=validation if networks else None,
            validation_calibrated=validation**0.9 if networks else None,
        )
    return split, rows, results


def _entry(y, scores):
    from kerasx.malaria.scores import calibrate_scores, score_predictions

    return {
        **score_predictions(y, scores),
        "calibration": calibrate_scores(None, None, y, scores)[1],
    }


@pytest.fixture(scope="module")
def by_patient():
    split, rows, results = _problem()
    inference.add_statistics(results, split, rows, by_patient=True, seed=7)
    return split, rows, results


def test_intervals_resample_the_test_patients(by_patient):
    """Each interval is the cluster bootstrap of the test rows by test patient, with the run's
    seed (a different seed, the validation rows or no groups give other ends)."""
    split, _, results = by_patient
    entry = results["cnn"].entry
    assert entry["interval_method"] == "by patient (cluster bootstrap)"
    for key, metric in (("accuracy", "accuracy"), ("roc_auc", "roc_auc"), ("brier", "brier")):
        expected = stats.bootstrap_ci(
            metric,
            split.y_test,
            results["cnn"].scores,
            groups=split.groups_test,
            n_resamples=inference.N_RESAMPLES,
            level=inference.INTERVAL_LEVEL,
            seed=7,
        )
        got = entry["intervals"][key]
        assert (got["low"], got["high"], got["n_groups"]) == (
            expected.low,
            expected.high,
            len(set(split.groups_test)),
        ), key
    assert set(entry["intervals"]) == {
        "accuracy", "sensitivity", "specificity", "mcc", "roc_auc", "ece", "brier"
    }  # fmt: skip
    assert entry["intervals"]["accuracy"]["estimate"] == pytest.approx(entry["accuracy"])
    assert entry["intervals"]["ece"]["estimate"] == pytest.approx(
        entry["calibration"]["before"]["ece"]
    )


def test_patient_interval_is_wider_than_the_cell_one(by_patient):
    """Cells of one patient share its random effect: resampling patients widens the interval
    against the Wilson interval that treats the cells as independent."""
    split, _, results = by_patient
    entry = results["mlp"].entry
    correct = round(entry["accuracy"] * len(split.y_test))
    low, high = proportion_confint(correct, len(split.y_test), method="wilson")
    got = entry["intervals"]["accuracy"]
    assert got["high"] - got["low"] > 1.3 * (high - low)


def test_threshold_and_conformal_sets_are_fitted_on_the_validation_rows(by_patient):
    split, rows, results = by_patient
    y_val = split.y_train[rows.validation]
    for name in ("mlp", "cnn"):
        result = results[name]
        point = result.entry["operating_point"]
        chosen = stats.choose_threshold(y_val, result.validation_scores, criterion="youden")
        assert point["threshold"] == chosen.threshold and point["fitted_on"] == "validation"
        predicted = result.scores > chosen.threshold
        sensitivity = predicted[split.y_test == 1].mean()
        assert point["chosen"]["sensitivity"] == pytest.approx(sensitivity)
        sets = SplitConformalClassifier(alpha=inference.ALPHA, score="lac", mondrian=True)
        sets.fit(y_val.astype(int), result.validation_calibrated)
        predicted_sets = sets.predict(result.calibrated)
        covered = predicted_sets[np.arange(len(split.y_test)), split.y_test.astype(int)]
        conformal = result.entry["conformal"]
        assert conformal["coverage"] == pytest.approx(covered.mean())
        both = predicted_sets.all(axis=1)
        assert conformal["ask_a_human"] == pytest.approx(both.mean())
        infected = split.y_test == 1
        assert conformal["per_class"]["parasitized"]["ask_a_human"] == pytest.approx(
            both[infected].mean()
        )
    assert "operating_point" not in results["baseline"].entry  # no held-out rows
    assert "conformal" not in results["baseline"].entry


def test_each_network_is_compared_with_the_baseline_on_the_same_rows(by_patient):
    split, _, results = by_patient
    for name in ("mlp", "cnn"):
        versus = results[name].entry["vs_baseline"]
        difference = results[name].entry["accuracy"] - results["baseline"].entry["accuracy"]
        assert versus["difference"]["estimate"] == pytest.approx(difference)
        assert versus["difference"]["n_groups"] == len(set(split.groups_test))
        right_a = (results[name].scores > 0.5) == split.y_test
        right_b = (results["baseline"].scores > 0.5) == split.y_test
        assert versus["mcnemar"]["b"] == int(np.sum(right_a & ~right_b))
        assert versus["mcnemar"]["c"] == int(np.sum(~right_a & right_b))
        assert "by patient" in versus["sentence"]
    assert (
        "the CNN is better than the logistic baseline"
        in results["cnn"].entry["vs_baseline"]["sentence"]
    )
    assert "vs_baseline" not in results["baseline"].entry


def test_patients_diagnosis_counts_each_test_patient(by_patient):
    split, _, results = by_patient
    patients = results["cnn"].entry["patients"]
    table = {row["patient"]: row for row in patients["table"]}
    assert set(table) == set(split.groups_test) and patients["n_patients"] == len(table)
    for patient, row in table.items():
        cells = split.groups_test == patient
        assert row["n_cells"] == cells.sum()
        assert row["n_predicted_positive"] == int(np.sum(results["cnn"].scores[cells] > 0.5))
        share = row["n_predicted_positive"] / row["n_cells"]
        assert row["verdict"] == int(share >= patients["fraction"])
    infected = [row for row in table.values() if row["truth"]]
    found = sum(row["verdict"] for row in infected)
    low, high = proportion_confint(found, len(infected), method="wilson")
    assert patients["sensitivity"]["low"] == pytest.approx(low, abs=1e-12)
    assert patients["sensitivity"]["high"] == pytest.approx(high, abs=1e-12)


def _brute_force_fraction(truth, shares):
    """Every boundary between two observed shares (and above the largest), scored by counting:
    the largest Youden's J, ties to the higher sensitivity."""
    distinct = np.unique(shares)
    candidates = [*((distinct[:-1] + distinct[1:]) / 2), (distinct[-1] + 1) / 2]
    best = None
    for fraction in candidates:
        called = shares >= fraction
        sensitivity = called[truth == 1].mean()
        specificity = (~called[truth == 0]).mean()
        key = (round(sensitivity + specificity - 1, 12), sensitivity)
        if best is None or key > best[0]:
            best = (key, fraction)
    return best[1]


@pytest.mark.parametrize("seed", range(6))
def test_the_patient_rule_is_the_best_boundary_between_validation_patients(seed):
    """The fitted share is the boundary, between two observed shares, with the largest Youden's
    J over the validation patients (found here by trying every boundary). Catches a threshold
    placed on a patient's own share (the next test patient with that share would flip), J over
    cells instead of patients, and ties broken towards specificity."""
    rng = np.random.default_rng(seed)
    n_patients = 25
    cells = rng.integers(5, 60, n_patients)
    truth = (rng.random(n_patients) < 0.5).astype(int)
    truth[:2] = [0, 1]
    groups = np.repeat(np.arange(n_patients), cells)
    y = np.repeat(truth, cells).astype(float)
    rate = np.where(
        truth == 1, rng.uniform(0.05, 0.9, n_patients), rng.uniform(0, 0.15, n_patients)
    )
    scores = (rng.random(len(y)) < np.repeat(rate, cells)) * 0.9 + 0.05
    fraction, n = inference.patient_fraction(y, scores, groups)
    shares = np.array([np.mean(scores[groups == g] > 0.5) for g in range(n_patients)])
    assert n == n_patients
    assert fraction == pytest.approx(_brute_force_fraction(truth, shares), abs=1e-12)


def test_the_patient_rule_falls_back_to_any_cell_and_says_why():
    """Validation patients of one class: no share can be fitted; the test patients are then
    diagnosed by "any cell above 0.5" and the entry says why (the run does not fail)."""
    split, rows, results = _problem()
    validation = rows.validation[:24]  # the first two validation patients: one class each?
    y_val = split.y_train[validation]
    one_class = Rows(rows.fit, validation[y_val == y_val[0]], by_patient=True)
    results = {"cnn": results["cnn"]}
    results["cnn"].validation_scores = results["cnn"].validation_scores[: len(one_class.validation)]
    results["cnn"].validation_calibrated = results["cnn"].validation_scores
    inference.add_statistics(results, split, one_class, by_patient=True, seed=0)
    patients = results["cnn"].entry["patients"]
    assert patients["rule"] == "any cell scored > 0.5"
    assert "no share could be fitted" in patients["rule_note"]
    assert "any_cell" not in patients


def test_without_patients_proportions_get_wilson_intervals():
    split, rows, results = _problem(seed=1)
    inference.add_statistics(results, split, rows, by_patient=False, seed=0)
    entry = results["mlp"].entry
    assert entry["interval_method"] == "by image" and "patients" not in entry
    y = split.y_test.astype(int)
    predicted = (results["mlp"].scores > 0.5).astype(int)
    for key, rows_of in (("accuracy", y >= 0), ("sensitivity", y == 1), ("specificity", y == 0)):
        k = int(np.sum(predicted[rows_of] == y[rows_of]))
        low, high = proportion_confint(k, int(rows_of.sum()), method="wilson")
        assert entry["intervals"][key]["low"] == pytest.approx(low, abs=1e-12), key
        assert entry["intervals"][key]["high"] == pytest.approx(high, abs=1e-12), key
        assert entry["intervals"][key]["method"] == "wilson"
    assert entry["intervals"]["roc_auc"]["n_groups"] is None  # rows resampled
    assert "over 180 rows" in entry["vs_baseline"]["sentence"]


def test_the_table_and_sentences_show_metrics_json(by_patient):
    _, _, results = by_patient
    entries = {name: json.loads(json.dumps(r.entry)) for name, r in results.items()}
    table = report.comparison_table(entries, "Test set")
    accuracy = next(line for line in table.splitlines() if line.startswith("accuracy"))
    for name in ("mlp", "cnn", "baseline"):
        interval = entries[name]["intervals"]["accuracy"]
        text = f"{entries[name]['accuracy']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"
        assert text in accuracy, name
    assert "[brackets]: 95% interval, by patient (cluster bootstrap)" in table
    lines = report.statistics_lines(entries)
    assert entries["cnn"]["vs_baseline"]["sentence"] in lines
    assert any(line.startswith("CNN per patient (15 patients") for line in lines)
    cnn_line = next(line for line in lines if line.startswith("CNN per patient"))
    assert "of its cells scored > 0.5 (share fitted on" in cnn_line
    assert "with 'any cell > 0.5' instead: sensitivity" in cnn_line
    assert any(line.startswith("MLP conformal sets (alpha 0.05)") for line in lines)


def test_report_html_shows_the_statistics(by_patient, tmp_path):
    from test_report import make_run_folder, parse_page

    from kerasx.commands._html import render_report
    from kerasx.malaria.record import _json_safe

    _, _, results = by_patient
    metrics = make_run_folder(tmp_path / "run")
    for name, result in results.items():
        metrics[name].update({k: v for k, v in result.entry.items() if k not in ("calibration",)})
    (tmp_path / "run" / "metrics.json").write_text(json.dumps(_json_safe(metrics)))
    text = render_report(tmp_path / "run")
    page = parse_page(text)
    accuracy = page.tables["comparison"]["accuracy"]
    for name in ("mlp", "cnn", "baseline"):
        interval = metrics[name]["intervals"]["accuracy"]
        assert accuracy[name] == (
            f"{metrics[name]['accuracy']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"
        )
    for section in ('id="statistics"', 'id="comparisons"', 'id="operating-points"',
                    'id="conformal"', 'id="per-patient"', 'id="patient-table"'):  # fmt: skip
        assert section in text, section
    assert html.escape(metrics["cnn"]["vs_baseline"]["sentence"], quote=False) in text
    assert text.count("<tr data-model=") >= 2 * 2 + 2 + 3  # operating points, conformal, patients
    # Each model's own patient rule, with the "any cell" figures beside a fitted one.
    cnn = metrics["cnn"]["patients"]
    assert cnn["fitted_on"] == "4 validation patients" and "any_cell" in cnn
    assert html.escape(cnn["rule"], quote=False) in text
    assert metrics["baseline"]["patients"]["rule"] == "any cell scored > 0.5"
    any_spec = cnn["any_cell"]["specificity"]
    assert f"{any_spec['estimate']:.3f} [{any_spec['low']:.3f}, {any_spec['high']:.3f}]" in text


def _versus(low, high):
    return {
        "vs_baseline": {"sentence": "s", "difference": {"estimate": 0, "low": low, "high": high}}
    }


def test_the_table_says_why_the_mlp_does_not_beat_the_baseline():
    """The first table a user sees (the quick synthetic run) had the MLP lose to the logistic
    baseline with no word of why: a line now says why, and what wins, whenever the MLP's
    difference from the baseline is not clearly above zero."""
    losing = report.statistics_lines({"mlp": _versus(-0.14, 0.0), "cnn": _versus(0.2, 0.3)})
    why = [line for line in losing if line.startswith("Why: the course's MLP")]
    assert len(why) == 1 and why[0].endswith("the CNN, which slides the same 3x3 filters over "
                                             "the whole image, wins.")  # fmt: skip
    alone = report.statistics_lines({"mlp": _versus(-0.1, 0.05)})
    assert alone[-1].endswith("a network made for images does better (--model cnn).")
    winning = report.statistics_lines({"mlp": _versus(0.01, 0.1)})
    assert not any(line.startswith("Why:") for line in winning)


def test_data_a_statistic_cannot_use_leaves_a_note_not_a_failed_run():
    """A tiny folder can put one patient on the test side, or one class on the validation
    side: the intervals fall back to images and say why, and what cannot be computed (the
    threshold and the conformal sets need both classes) is a note in metrics.json and the
    table, instead of an error that loses the finished training."""
    split, rows, results = _problem(seed=2)
    one = Split(
        split.x_train,
        np.zeros_like(split.y_train),  # validation rows of one class
        split.x_test,
        split.y_test,
        split.groups_train,
        np.full(len(split.y_test), "P1"),  # one test patient
    )
    inference.add_statistics(results, one, rows, by_patient=True, seed=0)
    entry = results["cnn"].entry
    assert entry["interval_method"].startswith("by image (the test side holds one patient")
    assert entry["intervals"]["accuracy"]["n_groups"] is None and "patients" not in entry
    assert "operating_point" not in entry and "conformal" not in entry
    assert any(note.startswith("no operating point: ") for note in entry["statistics_notes"])
    lines = report.statistics_lines({"cnn": entry})
    assert any(line.startswith("CNN: no conformal: ") for line in lines)
