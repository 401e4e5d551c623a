"""Every ``recipes/*.py`` runs with ``--quick`` and prints what the course shows."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

RECIPES = pathlib.Path(__file__).resolve().parent.parent / "recipes"
SCRIPTS = sorted(RECIPES.glob("[0-9]*.py"))
NUMBER = r"(-?\d+\.\d+(?:e[-+]\d+)?)"


def numbers_after(label, text, count):
    match = re.search(re.escape(label) + r"\s+" + r"\s+".join([NUMBER] * count), text)
    assert match, f"no line starting with {label!r} in:\n{text}"
    return np.array([float(g) for g in match.groups()])


def check_by_hand(out):
    beta_hat = numbers_after("beta_hat", out, 2)
    np.testing.assert_allclose(beta_hat, numbers_after("sklearn MLE", out, 2), atol=1e-4)
    np.testing.assert_allclose(beta_hat, [1, 2], atol=0.3)


def check_keras_logistic(out):
    weights = numbers_after("keras weights", out, 2)
    np.testing.assert_allclose(weights, numbers_after("sklearn MLE", out, 2), atol=0.05)
    np.testing.assert_allclose(weights, [1, 2], atol=0.3)


def check_softmax(out):
    match = re.search(r"W\[:, 1\] - W\[:, 0\] = \(" + NUMBER + ", " + NUMBER, out)
    mle = re.search(r"sklearn MLE beta  = \(" + NUMBER + ", " + NUMBER, out)
    assert match and mle
    np.testing.assert_allclose(
        [float(g) for g in match.groups()], [float(g) for g in mle.groups()], atol=0.05
    )
    assert "(4 + 1) x 3 = 15 parameters" in out


def check_mlp_parameters(out):
    assert "(2 + 1) x 4 + (4 + 1) x 2 = 22; model.count_params() = 22" in out
    assert "= 9,035,501; model.count_params() = 9,035,501" in out
    assert "my_dense_layer" in out


def check_regularization(out):
    rows = {}
    for line in out.splitlines():
        name, *values = re.split(r"\s{2,}", line.strip())
        if len(values) == 5 and re.fullmatch(r"\d+", values[0]):
            rows[name] = [float(v) for v in values]  # epochs, train, test, |W| real, |W| noise
    assert len(rows) == 5, out
    assert rows["L1 (lambda=0.01)"][4] < rows["plain"][4] / 2  # L1 all but zeroes the noise
    assert rows["L2 (lambda=0.01)"][4] < rows["plain"][4]
    assert rows["plain"][1] >= rows["plain"][2]  # overfits: train accuracy above test


def check_malaria(out):
    cell = rf"{NUMBER} \[{NUMBER}, {NUMBER}\]"  # a score with its 95% interval
    for title in ("accuracy", "sensitivity", "specificity", "MCC", "ROC AUC"):
        assert re.search(rf"^{re.escape(title)}\s+{cell}\s+{cell}$", out, re.M), title
    assert re.search(rf"^train time \(s\)\s+{NUMBER}\s+{NUMBER}$", out, re.M)
    assert "SYNTHETIC" in out


def check_cnn(out):
    for title in ("accuracy", "sensitivity", "specificity", "MCC", "ROC AUC"):
        assert re.search(rf"^{re.escape(title)}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}$", out, re.M), (
            title
        )
    counts = re.search(r"parameters: MLP ([\d,]+), CNN ([\d,]+)", out)
    assert counts, out
    mlp, cnn = (int(g.replace(",", "")) for g in counts.groups())
    assert 0 < cnn < 2_000_000 and cnn < mlp
    assert "SYNTHETIC" in out


def check_search(out):
    assert re.search(r"best_params_: \{.*'n_hidden'.*\}", out)
    for key in ("learning_rate", "n_neurons"):
        assert key in out
    assert 0 <= numbers_after("test accuracy of the refitted best model:", out, 1)[0] <= 1


def check_save_load(out):
    keras_diff = numbers_after("model.keras  max |prediction difference| =", out, 1)[0]
    h5_diff = numbers_after("model.h5     max |prediction difference| =", out, 1)[0]
    assert keras_diff == 0 and h5_diff < 1e-5
    steps = re.findall(r"continued from optimizer step (\d+) to (\d+)", out)
    assert len(steps) == 2 and all(0 < int(a) < int(b) for a, b in steps)


def check_intervals(out):
    """The interval by patient is wider than Wilson's, as the design effect predicts, and only it
    covers the simulation's true accuracy ~95% of the time."""
    interval = NUMBER + r" \[" + NUMBER + ", " + NUMBER + r"\]\s+width " + NUMBER
    rows = {}
    for how in ("Wilson (cells independent)", "bootstrap by cell", "bootstrap by patient"):
        match = re.search(rf"^MLP\s+{re.escape(how)}\s+{interval}$", out, re.M)
        assert match, how
        estimate, low, high, width = (float(g) for g in match.groups())
        assert low <= estimate <= high and abs(high - low - width) < 2e-3, match.group(0)
        rows[how] = estimate, width
    assert len({estimate for estimate, _ in rows.values()}) == 1  # one accuracy, three intervals
    wilson, by_cell, by_patient = (width for _, width in rows.values())
    assert abs(by_cell / wilson - 1) < 0.3 and by_patient > 1.2 * wilson, rows
    deff = numbers_after("design effect 1 + (m - 1) rho =", out, 1)[0]
    predicted, measured = (
        float(g)
        for g in re.search(rf"predicted sqrt\(deff\) = {NUMBER}, measured {NUMBER}", out).groups()
    )
    assert deff > 1 and abs(predicted / measured - 1) < 0.3, (deff, predicted, measured)
    coverage = {
        how: numbers_after(f"coverage of the 95% interval, {how}", out, 1)[0]
        for how in ("Wilson (cells independent)", "bootstrap by cell", "bootstrap by patient")
    }
    assert 0.88 <= coverage["bootstrap by patient"] <= 1.0, coverage
    assert coverage["bootstrap by cell"] < coverage["bootstrap by patient"] - 0.08, coverage
    assert coverage["Wilson (cells independent)"] < 0.9, coverage
    assert re.search(r"95% bootstrap CI by patient, \d+ patients\); McNemar p", out)
    assert "infected when >= 1 cell scores > 0.5:" in out
    assert 0 <= numbers_after("coverage by patient", out, 1)[0] <= 1
    assert "SYNTHETIC" in out


CHECKS = {
    "01_logistic_by_hand.py": check_by_hand,
    "02_keras_logistic.py": check_keras_logistic,
    "03_softmax.py": check_softmax,
    "04_mlp_parameters.py": check_mlp_parameters,
    "05_regularization.py": check_regularization,
    "06_malaria_mlp_vs_baseline.py": check_malaria,
    "07_hyperparameter_search.py": check_search,
    "08_save_load_continue.py": check_save_load,
    "09_malaria_cnn.py": check_cnn,
    "10_intervals_by_patient.py": check_intervals,
}


def test_every_course_step_has_a_script():
    assert [script.name for script in SCRIPTS] == sorted(CHECKS)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_quick_run(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # 06 and 08 write their outputs to the working directory
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    CHECKS[script.name](result.stdout)
