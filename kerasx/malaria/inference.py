"""The malaria job's statistics: every score with its interval, each network against the
baseline, the patient's diagnosis, an operating threshold and conformal prediction sets.

Called by :func:`kerasx.malaria.train.train_and_score` after the models are scored; everything
here works on predicted probabilities (:mod:`kerasx.stats`, :mod:`kerasx.conformal`).

The unit of resampling is the patient whenever the data names patients (a folder in the NIH
layout): cells of one patient are not independent, so a cell-level interval would be too
narrow. TFDS and the synthetic images have no patients; their rows are resampled.

>>> by_patient_wording(True), by_patient_wording(False)
('by patient (cluster bootstrap)', 'by image')
"""

import numpy as np

from kerasx._validation import InvalidArgument

__all__ = [
    "ALPHA",
    "INTERVAL_LEVEL",
    "N_RESAMPLES",
    "THRESHOLD_CRITERION",
    "add_statistics",
    "by_patient_wording",
    "interval_entry",
    "patient_fraction",
]

#: The coverage of every interval the job reports.
INTERVAL_LEVEL = 0.95
#: Bootstrap resamples per interval.
N_RESAMPLES = 2000
#: The miscoverage of the conformal sets: 95 % of the test cells' sets hold the true class.
ALPHA = 0.05
#: How the operating threshold is chosen on the validation rows.
THRESHOLD_CRITERION = "youden"

# The scores that get an interval: key in a model's entry -> bootstrap_ci's metric name.
_BOOTSTRAPPED = {
    "accuracy": "accuracy",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "mcc": "mcc",
    "roc_auc": "roc_auc",
    "ece": "ece",
    "brier": "brier",
}


def by_patient_wording(by_patient):
    """How the intervals were made, in the words the table and the report use."""
    return "by patient (cluster bootstrap)" if by_patient else "by image"


def interval_entry(interval):
    """An :class:`~kerasx.stats.Interval` as metrics.json holds it."""
    return interval.to_dict()


def _intervals(y_true, scores, groups, seed):
    from kerasx import stats

    y_true = np.asarray(y_true).astype(int).ravel()
    both = len(np.unique(y_true)) == 2
    out = {}
    for key, metric in _BOOTSTRAPPED.items():
        if key == "roc_auc" and not both:
            continue
        if groups is None and key in ("accuracy", "sensitivity", "specificity"):
            predicted = scores > 0.5
            rows = {
                "accuracy": np.ones_like(y_true, dtype=bool),
                "sensitivity": y_true == 1,
                "specificity": y_true == 0,
            }[key]
            if not rows.any():
                continue
            k = int(np.sum(predicted[rows] == y_true[rows].astype(bool)))
            out[key] = stats.wilson_interval(k, int(rows.sum()), INTERVAL_LEVEL)
            continue
        if key in ("sensitivity", "specificity") and not both:
            continue
        out[key] = stats.bootstrap_ci(
            metric,
            y_true,
            scores,
            groups=groups,
            n_resamples=N_RESAMPLES,
            level=INTERVAL_LEVEL,
            seed=seed,
        )
    return out


def _operating_point(y_val, val_scores, y_test, test_scores):
    """The Youden threshold fitted on the validation rows, applied to the test rows."""
    from kerasx import stats
    from kerasx.malaria.scores import score_predictions

    chosen = stats.choose_threshold(y_val, val_scores, criterion=THRESHOLD_CRITERION)
    threshold = float(getattr(chosen, "threshold", chosen))
    at = {}
    for name, value in (("0.5", 0.5), ("chosen", threshold)):
        scores = score_predictions(y_test, test_scores, threshold=value)
        at[name] = {key: scores[key] for key in ("accuracy", "sensitivity", "specificity")}
    return {
        "criterion": THRESHOLD_CRITERION,
        "threshold": threshold,
        "fitted_on": "validation",
        **at,
    }


def _conformal(y_val, val_scores, y_test, test_scores):
    from kerasx.conformal import SplitConformalClassifier
    from kerasx.malaria.report import CLASS_NAMES

    sets = SplitConformalClassifier(alpha=ALPHA, score="lac", mondrian=True)
    sets.fit(np.asarray(y_val).astype(int), val_scores)
    report = sets.evaluate(np.asarray(y_test).astype(int), test_scores)
    table = report.table
    per_class = {
        CLASS_NAMES[k]: {
            "n": int(table.loc[k, "n"]),
            "coverage": float(table.loc[k, "coverage"]),
            "ask_a_human": float(table.loc[k, "several"]),
            "empty": float(table.loc[k, "empty"]),
        }
        for k in range(len(CLASS_NAMES))
        if k in table.index and table.loc[k, "n"] > 0
    }
    return {
        "alpha": ALPHA,
        "score": "lac",
        "mondrian": True,
        "calibrated_on": "validation",
        "coverage": float(report.coverage.estimate),
        "coverage_interval": interval_entry(report.coverage),
        "ask_a_human": float(table.loc["all", "several"]),
        "empty": float(table.loc["all", "empty"]),
        "per_class": per_class,
    }


def patient_fraction(y_val, val_scores, val_groups):
    """The patient rule fitted on the validation patients: ``(fraction, n_patients)``.

    A patient is called infected when the share of its cells scored ``> 0.5`` is at least
    ``fraction``. The share that best separates the validation patients is chosen by Youden's
    J over patients (:func:`kerasx.stats.choose_threshold`, ties to the higher sensitivity), and
    ``fraction`` is the midpoint between that share and the next higher observed one, so the
    validation patients are split the same way with the boundary between them rather than on
    one of them. Counting single cells instead ("any cell above 0.5") lets each patient's
    false-positive cells add up: with ~150 cells a patient, a 4 % false-positive rate per cell
    flags almost every uninfected patient.

    Raises:
        kerasx.InvalidArgument: the validation patients are all infected or all uninfected, or
            no share separates them better than chance.
    """
    from kerasx import stats

    table = stats.patient_diagnosis(y_val, val_scores, val_groups, rule="any").table
    shares = (table["n_predicted_positive"] / table["n_cells"]).to_numpy(float)
    choice = stats.choose_threshold(table["truth"].to_numpy(), shares, criterion="youden")
    if choice.sensitivity + choice.specificity - 1 <= 0:
        raise InvalidArgument(
            "no share of cells above 0.5 separates the validation patients better than chance "
            "(Youden's J = 0)"
        )
    above = shares[shares > choice.threshold]
    upper = above.min() if above.size else 1.0
    lower = max(float(choice.threshold), 0.0)
    return float(min((lower + upper) / 2, 1.0)), len(table)


def _patients(y_test, scores, groups, validation=None):
    """The diagnosis per test patient: the rule fitted on the validation patients
    (:func:`patient_fraction`) when ``validation`` ``(y, scores, groups)`` is given, else "any
    cell above 0.5"; the "any cell" figures are kept next to a fitted rule for comparison."""
    from kerasx import stats

    def summary(diagnosis):
        return {
            "sensitivity": interval_entry(diagnosis.sensitivity),
            "specificity": interval_entry(diagnosis.specificity),
            "accuracy": interval_entry(diagnosis.accuracy),
        }

    any_cell = stats.patient_diagnosis(y_test, scores, groups, rule="any")
    why_not = None
    if validation is not None:
        try:
            fraction, n_validation = patient_fraction(*validation)
        except InvalidArgument as error:  # e.g. validation patients of one class
            validation, why_not = None, str(error)
    if validation is None:
        diagnosis, extra = any_cell, {"rule": "any cell scored > 0.5", "fitted_on": None}
        if why_not:
            extra["rule_note"] = f"no share could be fitted on the validation patients: {why_not}"
    else:
        diagnosis = stats.patient_diagnosis(
            y_test, scores, groups, rule="fraction", fraction=max(fraction, 1e-12)
        )
        extra = {
            "rule": f"at least {fraction:.1%} of its cells scored > 0.5 (share fitted on "
            f"{n_validation} validation patients)",
            "fraction": fraction,
            "fitted_on": f"{n_validation} validation patients",
            "any_cell": summary(any_cell),
        }
    return {
        **extra,
        "n_patients": int(diagnosis.n_patients),
        **summary(diagnosis),
        "table": diagnosis.table.to_dict(orient="records"),
    }


def _against_baseline(name, y_test, scores, baseline_scores, groups, seed):
    from kerasx import stats
    from kerasx.malaria.report import MODEL_TITLES

    comparison = stats.compare(
        y_test,
        scores,
        baseline_scores,
        groups=groups,
        metric="accuracy",
        n_resamples=N_RESAMPLES,
        level=INTERVAL_LEVEL,
        seed=seed,
    )
    delong = comparison.delong
    return {
        "metric": "accuracy",
        "difference": interval_entry(comparison.difference),
        "mcnemar": {
            "b": comparison.mcnemar.b,
            "c": comparison.mcnemar.c,
            "p": comparison.mcnemar_p,
        },
        "delong": None
        if delong is None
        else {"auc_difference": delong.difference, "z": delong.z, "p": delong.p_value},
        "sentence": comparison.summary(
            f"the {MODEL_TITLES[name]}", "the logistic baseline", unit="patient"
        ),
    }


def add_statistics(results, split, rows, *, by_patient, seed):
    """Adds intervals, the comparison with the baseline, the patients' diagnosis, the operating
    threshold and the conformal sets to each model's metrics.json entry (in place).

    Args:
        results: ``{name: ModelResult}`` (:func:`kerasx.malaria.train.train_and_score`), the
            baseline included.
        split: the :class:`~kerasx.malaria.train.Split` the scores were computed on.
        rows: the run's :class:`~kerasx.malaria.train.Rows` (the validation rows).
        by_patient: whether ``split``'s groups are patients (resample them) or row numbers.
        seed: the bootstrap's seed (the run's), so a rerun reports the same intervals.
    """
    groups = split.groups_test if by_patient else None
    if groups is not None and len(np.unique(groups)) < 2:
        # One test patient (a tiny folder): no interval by patient exists; say so, and give
        # the image-level intervals rather than none.
        groups, by_patient = None, False
        method = "by image (the test side holds one patient: no interval by patient)"
    else:
        method = by_patient_wording(by_patient)
    y_test = split.y_test
    y_val = split.y_train[rows.validation]
    baseline = results.get("baseline")
    for name, result in results.items():
        entry = result.entry
        notes = []

        def add(key, compute, *args, entry=entry, notes=notes):
            """One statistic; data it cannot be computed on (e.g. validation rows of one
            class) leaves a note instead of failing the finished run."""
            try:
                entry[key] = compute(*args)
            except InvalidArgument as error:
                notes.append(f"no {key.replace('_', ' ')}: {error}")

        add("intervals", _interval_entries, y_test, result.scores, groups, seed)
        entry["interval_method"] = method
        if by_patient:
            validation = None
            if result.validation_scores is not None and rows.by_patient:
                validation = (y_val, result.validation_scores, split.groups_train[rows.validation])
            add("patients", _patients, y_test, result.scores, groups, validation)
        if result.validation_scores is not None:
            add("operating_point", _operating_point, y_val, result.validation_scores, y_test,
                result.scores)  # fmt: skip
            add("conformal", _conformal, y_val, result.validation_calibrated, y_test,
                result.calibrated)  # fmt: skip
            if baseline is not None:
                add("vs_baseline", _against_baseline, name, y_test, result.scores,
                    baseline.scores, groups, seed)  # fmt: skip
        if notes:
            entry["statistics_notes"] = notes


def _interval_entries(y_test, scores, groups, seed):
    intervals = _intervals(y_test, scores, groups, seed)
    return {key: interval_entry(value) for key, value in intervals.items()}
