"""The README's example and the docs' tour run as written and print what their comments say.

Each ```python block of README.md and docs/tour.md is executed with its output captured, then checked by the
function registered for it below: the numbers in the block's comments (β̂, the kappa 0.6364,
the shapes, ...) are read from the README itself and compared with what the block computed,
and where there is an independent reference (scikit-learn) the values are compared with it
too. A block without a check fails ``test_every_block_has_a_check``.
"""

import ast
import contextlib
import io
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: The README's example and the docs' tour (docs/tour.md), whose blocks run the same way.
TEXT = "\n".join(
    (ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/tour.md")
)
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)


def _comment_after(block, call):
    """The comment (after ``#``) on the line of ``block`` that contains ``call``."""
    lines = [line for line in block.splitlines() if call in line and "#" in line]
    assert len(lines) == 1, f"no single commented line with {call!r} in the block"
    return lines[0].split("#", 1)[1].strip()


def _numbers(text):
    return [float(n.replace(",", "")) for n in re.findall(r"-?\d[\d,]*\.?\d*", text)]


def _decimals(number_text):
    return len(number_text.split(".")[1]) if "." in number_text else 0


def _run(block, directory, monkeypatch):
    """Executes ``block`` in ``directory``; returns its namespace and printed lines."""
    monkeypatch.chdir(directory)  # blocks that write files write them here
    namespace = {"__name__": "__readme__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md block", "exec"), namespace)
    return namespace, out.getvalue().splitlines()


def _mle(X, y):
    """The unpenalized maximum-likelihood logistic fit without intercept (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=10_000)
    return model.fit(X, y).coef_[0]


# ---------------------------------------------------------------- one check per block


def check_backprop(ns, printed, block, directory):
    """β̂ and the final NLL as the comment prints them, and β̂ is the MLE.

    Catches a gradient step on the mean instead of the sum NLL (β̂ far from the MLE after 300
    epochs at this alpha) and a README whose numbers no longer match the code.
    """
    comment = _comment_after(block, "print(beta_hat, history[-1])")
    numbers = re.findall(r"-?\d+\.\d+", comment)
    assert len(numbers) == 3, comment
    claimed = [float(n) for n in numbers]
    np.testing.assert_allclose(
        ns["beta_hat"], claimed[:2], atol=0.5 * 10.0 ** -_decimals(numbers[0])
    )
    assert ns["history"][-1] == pytest.approx(claimed[2], abs=0.5 * 10.0 ** -_decimals(numbers[2]))
    mle = _mle(ns["X"], ns["y"])
    np.testing.assert_allclose(ns["beta_hat"], mle, atol=1e-4)
    np.testing.assert_allclose(ns["beta_sgd"], mle, atol=0.1)  # mini-batch SGD lands nearby
    assert _numbers(printed[0]) == pytest.approx(claimed, abs=0.01)


def check_tape(ns, printed, block, directory):
    """The TapeModel's weights are the MLE to the printed two decimals; the history keys are
    the ones in the comment (catches a TapeModel that does not train, or drops gradient_norm)."""
    weights = ns["model"].get_weights()[0].ravel()
    np.testing.assert_allclose(weights, _mle(ns["X"], ns["y"]), atol=0.01)
    np.testing.assert_allclose(weights, (1.0, 2.0), atol=0.25)  # "close to (1, 2)"
    claimed = ast.literal_eval(_comment_after(block, "print(sorted(history.history))"))
    assert sorted(ns["history"].history) == claimed
    assert printed[-1] == str(claimed)


def check_metrics(ns, printed, block, directory):
    """The kappa is the commented 0.6364 and scikit-learn's value; the evaluated metrics are
    sklearn's on the model's own predictions (catches a threshold or formula drift)."""
    from sklearn.metrics import cohen_kappa_score, matthews_corrcoef, recall_score

    claimed = _comment_after(block, "print(round(float(kappa.result()), 4))")
    assert printed[-1] == claimed
    reference = cohen_kappa_score([0, 1, 2, 2], [0, 2, 2, 1], weights="quadratic")
    assert float(claimed) == pytest.approx(reference, abs=5e-5)

    model, X, y = ns["model"], ns["X"], ns["y"]
    results = model.evaluate(X, y, return_dict=True, verbose=0)
    assert {"sensitivity", "specificity"} <= set(results)  # as the comment says
    assert all(f"'{key}'" in printed[0] for key in results)
    predicted = (model.predict(X, verbose=0)[:, 0] > 0.5).astype(int)
    assert results["sensitivity"] == pytest.approx(recall_score(y, predicted), abs=1e-5)
    assert results["specificity"] == pytest.approx(
        recall_score(y, predicted, pos_label=0), abs=1e-5
    )
    assert results["matthews_correlation"] == pytest.approx(
        matthews_corrcoef(y, predicted), abs=1e-5
    )


def check_callbacks(ns, printed, block, directory):
    """The frame holds the printed columns for the 8 epochs, and the promised PNGs exist."""
    frame = ns["frame"].frame
    columns = ["epoch", "loss", "val_accuracy", "val_tp", "gradient_norm", "learning_rate"]
    assert len(frame) == 8
    assert frame[columns].notna().all().all()
    assert all(column in printed[0] for column in columns)
    lr = ns["lr"]
    assert 1e-5 <= lr <= 10.0
    assert 0 < frame["learning_rate"].min() < frame["learning_rate"].max() <= lr * (1 + 1e-6)
    assert 0 <= frame["val_tp"].min() and frame["val_tp"].max() <= 112
    for name in ("lr_finder.png", "curves.png", "confusion.png"):
        assert (directory / name).stat().st_size > 0, name


def check_data(ns, printed, block, directory):
    """The printed description and the commented shapes and label mean."""
    from kerasx.data import describe_source

    assert printed[0] == describe_source("synthetic")
    assert "NOT real data" in printed[0]
    claimed = _comment_after(block, "print(X_train.shape, y_train.mean())").split(" -- ")[0]
    assert printed[1] == claimed  # "(224, 768) 0.5"


def check_recipes(ns, printed, block, directory):
    """The parameter table adds up to the model, and the course network at its defaults has
    the parameter count the README's prose gives (catches a changed default width)."""
    from kerasx.recipes import malaria_mlp, parameter_breakdown

    table = parameter_breakdown(ns["model"])
    assert int(table["params"].sum()) == ns["model"].count_params()
    claimed = re.search(r"network with\s+([\d,]+) parameters", TEXT)
    assert claimed, "the README no longer gives the default network's size"
    assert malaria_mlp().count_params() == int(claimed.group(1).replace(",", ""))
    results = ns["model"].evaluate(ns["X_test"], ns["y_test"], return_dict=True, verbose=0)
    assert {"accuracy", "sensitivity"} <= set(results)
    assert 0.0 <= float(printed[-1]) <= 1.0  # the baseline's test accuracy


def check_tuning(ns, printed, block, directory):
    """The searched parameters are the commented ones; the trials table has its columns."""
    claimed = ast.literal_eval(_comment_after(block, "print(sorted(search.best_params_))"))
    assert sorted(ns["search"].best_params_) == claimed
    assert printed[0] == str(claimed)
    from kerasx.tuning import trials_table

    table = trials_table(ns["tuner"])
    assert {"trial_id", "n_hidden", "n_neurons", "score", "seconds"} <= set(table.columns)
    assert len(table) >= 1 and table["score"].notna().any()


def check_explain(ns, printed, block, directory):
    """The CNN's size is the commented one; Grad-CAM gives one [0, 1] map per image at input
    resolution; top_errors returns mistakes only; calibration keeps every decision (catches a
    temperature applied to probabilities instead of logits, which moves the 0.5 threshold)."""
    assert ns["cnn"].count_params() == int(_numbers(_comment_after(block, "count_params()"))[0])
    heatmaps = ns["heatmaps"]
    assert str(heatmaps.shape) == _comment_after(block, "print(heatmaps.shape)")
    assert printed[1] == str(heatmaps.shape)
    assert float(heatmaps.min()) >= 0.0 and float(heatmaps.max()) <= 1.0
    y_test, scores = ns["y_test"], ns["scores"]
    errors = [int(n) for n in re.findall(r"\d+", printed[2])]
    wrong = (scores > 0.5) != y_test.astype(bool)
    assert len(errors) == min(4, int(wrong.sum())) and all(wrong[i] for i in errors)
    confidence = np.where(scores > 0.5, scores, 1 - scores)
    assert list(confidence[errors]) == sorted(confidence[errors], reverse=True)
    after = ns["calibrated"].predict(ns["X_test"], verbose=0).ravel()
    np.testing.assert_array_equal(after > 0.5, scores > 0.5)
    assert ns["calibrated"].layers[-1].temperature_ > 0
    assert set(ns["report"]) == {"before", "after"}


def check_resume(ns, printed, block, directory):
    """The history file has each epoch once, in order (catches a frame that appends to the file
    on every fit or restarts its epoch count); the backup records a finished training, so the
    same block run again trains no epoch and keeps the same history and weights (catches a
    backup that restarts a finished run)."""
    import json

    import pandas as pd

    frame = pd.read_csv(directory / "history.csv")
    assert frame["epoch"].tolist() == list(range(5))
    assert printed[-1] == "5" == _comment_after(block, "print(len(").split()[0]
    assert json.loads((directory / "backup" / "state.json").read_text())["finished"] is True
    weights = ns["model"].get_weights()
    again, printed_again = _run(block, directory, pytest.MonkeyPatch())
    assert printed_again[-1] == "5"
    for a, b in zip(weights, again["model"].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


CHECKS = {
    "lr_nn(": check_backprop,
    "TapeModel(": check_tape,
    "CohenKappa(": check_metrics,
    "LRFinder(": check_callbacks,
    "describe_source(": check_data,
    "parameter_breakdown(": check_recipes,
    "randomized_search(": check_tuning,
    "grad_cam(": check_explain,
    "BackupAndResume(": check_resume,
}


def _check_for(block):
    matches = [check for marker, check in CHECKS.items() if marker in block]
    return matches[0] if len(matches) == 1 else None


def test_readme_has_a_tour():
    assert BLOCKS, "README.md has no ```python block"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_block_has_a_check(index):
    """A new block must come with assertions on what it prints, not only run."""
    assert _check_for(BLOCKS[index]) is not None, BLOCKS[index][:200]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_prints_what_it_says(index, tmp_path, monkeypatch):
    check = _check_for(BLOCKS[index])
    namespace, printed = _run(BLOCKS[index], tmp_path, monkeypatch)
    if check is None:
        pytest.fail("no check for this block (see test_every_block_has_a_check)")
    check(namespace, printed, BLOCKS[index], tmp_path)
