"""Cross-validation in KerasTuner (``cv=K``): each trial scored by the mean over K folds.

The rows each fit trains and validates on are read by a spy on ``keras.Model.fit`` (every row
of the generated data is distinct), and compared with scikit-learn's own splitters.
"""

import keras
import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from tuning_helpers import grouped_data, no_training, separable_data, small_space  # noqa: F401

from kerasx.data import load_malaria
from kerasx.tuning import MLPHyperModel, TuneConfig, make_tuner, tune

N_ROWS, N_PATIENTS = 240, 24


@pytest.fixture
def data():
    """Separable rows of 24 "patients" of 10 rows each, the patients' rows interleaved."""
    return grouped_data(N_ROWS, N_PATIENTS)


def spy_on_fit(monkeypatch, X):
    """Every ``fit``: ``(fitted rows, validation rows or None, its History)``."""
    number = {row.tobytes(): i for i, row in enumerate(X)}
    calls = []
    fit = keras.Model.fit

    def rows(x):
        return np.array([number[row.tobytes()] for row in np.asarray(x, dtype=X.dtype)])

    def spy(self, x=None, y=None, **kwargs):
        history = fit(self, x, y, **kwargs)
        validation = kwargs.get("validation_data")
        calls.append((rows(x), None if validation is None else rows(validation[0]), history))
        return history

    monkeypatch.setattr(keras.Model, "fit", spy)
    return calls


OPTIONS = dict(tuner="random", hypermodel=small_space(), epochs=2, batch_size=32, progress=False)


def test_a_trial_scores_the_mean_over_grouped_folds(tmp_path, data, monkeypatch):
    """Each trial fits once per ``StratifiedGroupKFold`` fold (the rows scikit-learn's splitter
    gives, no patient on both sides); its fold scores are the best epoch of each fold's
    ``val_accuracy`` and its score their mean; the final model is refit on every row.

    Catches folds that split a patient, a score taken from one fold only or from the last
    epoch, and a best model trained on part of the rows. (That the best trial is the best by
    the objective: ``test_tuning_objective.py``.)"""
    X, y, groups = data
    fits = spy_on_fit(monkeypatch, X)
    result = tune(X, y, groups=groups, out=tmp_path, cv=3, max_trials=1, **OPTIONS)
    expected = list(StratifiedGroupKFold(3).split(X, y, groups))
    *trial_fits, refit = fits
    assert len(trial_fits) == 3
    trials = result["trials"]
    for t, (_, trial) in enumerate(trials.iterrows()):
        folds = trial_fits[3 * t : 3 * t + 3]
        scores = []
        for (fitted, validated, history), (fit_rows, val_rows) in zip(folds, expected, strict=True):
            assert sorted(fitted) == sorted(fit_rows) and sorted(validated) == sorted(val_rows)
            assert set(groups[fitted]).isdisjoint(groups[validated])
            scores.append(max(history.history["val_accuracy"]))
        np.testing.assert_allclose(trial["fold_scores"], scores, rtol=1e-6)
        assert trial["score"] == pytest.approx(np.mean(scores))
        np.testing.assert_allclose(  # the curves: the folds' mean, epoch by epoch
            trial["curve_val_accuracy"],
            np.mean([h.history["val_accuracy"] for _, _, h in folds], axis=0),
            rtol=1e-6,
        )
    assert sorted(refit[0]) == list(range(N_ROWS)) and refit[1] is None
    assert result["best_score"] == trials.loc[0, "score"]
    validation = result["validation"]
    assert validation["folds"] == 3 and validation["method"] == "held-out patients (grouped)"
    assert validation["validation_rows"] == [len(rows) for _, rows in expected]


def test_without_groups_the_folds_are_by_row_and_follow_the_objective(tmp_path, data, monkeypatch):
    """``StratifiedKFold``'s rows; with ``val_loss`` each fold's score is its lowest."""
    X, y, _ = data
    fits = spy_on_fit(monkeypatch, X)
    result = tune(X, y, out=tmp_path, cv=2, max_trials=1, objective="val_loss", **OPTIONS)
    expected = list(StratifiedKFold(2).split(X, y))
    for (fitted, validated, _), (fit_rows, val_rows) in zip(fits[:2], expected, strict=True):
        assert sorted(fitted) == sorted(fit_rows) and sorted(validated) == sorted(val_rows)
    assert "StratifiedKFold" in result["validation"]["summary"]
    scores = [min(history.history["val_loss"]) for _, _, history in fits[:2]]
    np.testing.assert_allclose(result["trials"].loc[0, "fold_scores"], scores, rtol=1e-6)


@pytest.mark.usefixtures("no_training")
def test_cross_validation_is_refused_where_it_cannot_run(tmp_path, data):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"argument `cv`\. Expected None with tuner='hyperband'"):
        TuneConfig(out=tmp_path, tuner="hyperband", cv=3)
    with pytest.raises(
        ValueError, match=r"argument `folds`\. Expected None with tuner='hyperband'"
    ):
        make_tuner(small_space(), tuner="hyperband", directory=tmp_path,
                   folds=[([0], [1]), ([1], [0])])  # fmt: skip
    with pytest.raises(ValueError, match=r"at least as many groups as folds \(3\)"):
        tune(X, y, groups=np.arange(N_ROWS) % 2, out=tmp_path, cv=3, **OPTIONS)
    assert TuneConfig(out=tmp_path, tuner="random", cv=3).identity()["cv"] == 3
    assert "cv" not in TuneConfig(out=tmp_path, tuner="random").identity()  # one hold-out


def test_grouped_k_fold_search_on_the_real_cells(malaria_dir, tmp_path, monkeypatch):
    """The shared cells with their patients: a 2-fold search, 2 trials, 8 × 8 images."""
    (X, y, groups), _ = load_malaria(malaria_dir, image_size=8, fraction=0.25, return_groups=True)
    fits = spy_on_fit(monkeypatch, X)
    result = tune(X, y.astype(int), groups=groups, out=tmp_path, tuner="random", cv=2,
                  hypermodel=MLPHyperModel((192,), n_hidden=1, n_neurons=(8, 16)),
                  max_trials=2, epochs=1, objective="val_auc", progress=False)  # fmt: skip
    *trial_fits, refit = fits
    assert len(trial_fits) == 4 and len(refit[0]) == len(X)
    for fitted, validated, _ in trial_fits:
        assert set(groups[fitted]).isdisjoint(groups[validated])  # no patient on both sides
    trials = result["trials"]
    assert all(len(scores) == 2 for scores in trials["fold_scores"])
    assert result["validation"]["method"] == "held-out patients (grouped)"
    assert 0.0 <= result["best_score"] <= 1.0
