"""How searches validate: on held-out patients with ``groups``, on held-out rows without.

The rows a model fits on are read by a spy on ``keras.Model.fit`` and mapped back to their row
numbers (every row of the generated data is distinct), so the tests check the rows that were
actually trained on and scored, not the splitter's promise.
"""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from tuning_helpers import grouped_data, no_training, separable_data, small_space  # noqa: F401

from kerasx.tuning import randomized_search, tune

GROUPED, BY_ROW = "held-out patients (grouped)", "held-out rows (cell split)"

N_ROWS, N_PATIENTS = 240, 24


@pytest.fixture
def data():
    """Separable rows of 24 "patients" of 10 rows each, the patients' rows interleaved."""
    return grouped_data(N_ROWS, N_PATIENTS)


def row_numbers(X, rows):
    """The numbers of ``rows`` among the rows of ``X`` (every row of ``X`` is distinct)."""
    number = {row.tobytes(): i for i, row in enumerate(X)}
    return np.array([number[row.tobytes()] for row in np.asarray(rows, dtype=X.dtype)])


@pytest.fixture
def fits(monkeypatch, data):
    """Every ``keras.Model.fit`` call: ``(fitted rows, validation rows or None, kwargs)``."""
    X = data[0]
    calls = []
    fit = keras.Model.fit

    def rows(x):
        return row_numbers(X, x)

    def spy(self, x=None, y=None, **kwargs):
        validation = kwargs.get("validation_data")
        calls.append((rows(x), None if validation is None else rows(validation[0]), kwargs))
        return fit(self, x, y, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    return calls


def patients(groups, rows):
    return set(groups[rows])


KERAS_OPTIONS = dict(tuner="random", hypermodel=small_space(), epochs=2, batch_size=32)


class TestKerasTuner:
    def test_trials_validate_on_whole_patients_they_never_fit(self, tmp_path, data, fits):
        """Catches Keras's ``validation_split`` (the last rows: here every patient's last rows
        would validate, every patient on both sides) and a validation set drawn per trial."""
        X, y, groups = data
        result = tune(X, y, groups=groups, out=tmp_path, max_trials=2, progress=False,
                      **KERAS_OPTIONS)  # fmt: skip
        assert len(fits) == 2
        for fitted, validated, kwargs in fits:
            assert "validation_split" not in kwargs
            assert sorted([*fitted, *validated]) == list(range(N_ROWS))  # each row once
            assert patients(groups, fitted).isdisjoint(patients(groups, validated))
        assert all(np.array_equal(fits[0][1], validated) for _, validated, _ in fits)
        n_patients = len(patients(groups, fits[0][1]))
        assert 0.1 <= len(fits[0][1]) / N_ROWS <= 0.3  # validation_split=0.2 of the rows
        validation = result["validation"]
        assert validation["method"] == GROUPED
        assert validation["validation_patients"] == n_patients
        assert validation["validation_rows"] == len(fits[0][1])
        summary = f"{GROUPED}: {n_patients} of {N_PATIENTS} patients, {len(fits[0][1])} rows"
        assert validation["summary"] == summary
        best = json.loads((tmp_path / "best.json").read_text())
        assert best["validation"] == validation
        assert (pd.read_csv(tmp_path / "trials.csv")["validation"] == summary).all()
        assert json.loads((tmp_path / "search.json").read_text())["split"] == "patient"

    def test_without_groups_nothing_changes(self, tmp_path, data, fits, capsys):
        X, y, _ = data
        result = tune(X, y, out=tmp_path, max_trials=1, **KERAS_OPTIONS)
        ((fitted, validated, kwargs),) = fits
        assert validated is None and kwargs["validation_split"] == 0.2
        assert list(fitted) == list(range(N_ROWS))  # Keras cuts the last 48 off inside fit
        summary = f"{BY_ROW}: the last 48 of {N_ROWS} rows"
        assert result["validation"]["summary"] == summary
        assert f"validation: {summary}" in capsys.readouterr().out
        assert json.loads((tmp_path / "search.json").read_text())["split"] == "cell"

    def test_groups_travel_to_the_chain_of_processes(self, tmp_path, data):
        X, y, groups = data
        result = tune(X, y, groups=groups, out=tmp_path, max_trials=1, trials_per_process=1,
                      progress=False, **KERAS_OPTIONS)  # fmt: skip
        saved = np.load(tmp_path / "kerasx_process_data" / "data.npz")
        np.testing.assert_array_equal(saved["groups"], groups)
        assert result["validation"]["method"] == GROUPED
        assert result["validation"]["validation_patients"] >= 1


class TestScikitLearn:
    def test_no_fold_splits_a_patient(self, tmp_path, data, fits):
        """Each cross-validation fit leaves out whole patients, and the left-out rows of the
        folds cover every row once (a k-fold, not a resampling)."""
        X, y, groups = data
        result = tune(X, y, groups=groups, out=tmp_path, tuner="sklearn", wrapper="keras",
                      hypermodel=small_space(), epochs=1, cv=3, max_trials=1, progress=False)  # fmt: skip
        *cross_validation, refit = fits
        assert len(cross_validation) == 3 and list(refit[0]) == list(range(N_ROWS))
        held_out = [np.setdiff1d(np.arange(N_ROWS), fitted) for fitted, _, _ in cross_validation]
        assert sorted(np.concatenate(held_out)) == list(range(N_ROWS))
        for (fitted, _, _), scored in zip(cross_validation, held_out, strict=True):
            assert patients(groups, fitted).isdisjoint(patients(groups, scored))
        validation = result["validation"]
        assert validation["method"] == GROUPED and validation["folds"] == 3
        assert validation["validation_rows"] == [len(rows) for rows in held_out]
        assert validation["validation_patients"] == [len(patients(groups, r)) for r in held_out]
        assert "StratifiedGroupKFold" in validation["summary"]
        assert (pd.read_csv(tmp_path / "trials.csv")["validation"] == validation["summary"]).all()

    def test_plain_folds_split_patients(self, tmp_path, data, fits):
        """Without groups the folds are by row: the leak the grouped folds remove."""
        X, y, groups = data
        result = tune(X, y, out=tmp_path, tuner="sklearn", wrapper="keras", cv=3, epochs=1,
                      hypermodel=small_space(), max_trials=1, progress=False)  # fmt: skip
        fitted = fits[0][0]
        scored = np.setdiff1d(np.arange(N_ROWS), fitted)
        assert patients(groups, fitted) & patients(groups, scored)
        assert result["validation"]["method"] == BY_ROW
        assert "StratifiedKFold" in result["validation"]["summary"]

    def test_randomized_search_passes_groups_through(self, data, fits):
        """The course's ``RandomizedSearchCV``: a scorer that records the rows it scores sees,
        in every fold, only patients the fold's model did not fit."""
        X, y, groups = data
        scored = []

        def scorer(estimator, X_scored, y_scored):
            scored.append(row_numbers(X, X_scored))
            return float(np.mean(estimator.predict(X_scored) == y_scored))

        search = randomized_search(X, y, groups=groups, n_iter=1, cv=3, epochs=1,
                                   scoring=scorer, refit=False)  # fmt: skip
        assert len(scored) == len(fits) == 3
        for (fitted, _, _), rows in zip(fits, scored, strict=True):
            assert sorted([*fitted, *rows]) == list(range(N_ROWS))
            assert patients(groups, fitted).isdisjoint(patients(groups, rows))
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.usefixtures("no_training")
class TestChecks:
    """Refused before anything trains, with the standard message."""

    def test_patient_split_needs_groups(self, tmp_path, data):
        X, y, _ = data
        message = r"argument `groups`\. Expected one patient id per row with split='patient'"
        with pytest.raises(ValueError, match=message):
            tune(X, y, out=tmp_path, split="patient", tuner="random")

    def test_cell_split_takes_no_groups(self, tmp_path, data):
        X, y, groups = data
        with pytest.raises(ValueError, match=r"Expected None with split='cell'"):
            tune(X, y, groups=groups, out=tmp_path, split="cell", tuner="random")

    def test_one_group_per_row(self, tmp_path, data):
        X, y, groups = data
        message = r"argument `groups`\. Expected one id per row of y \(240\)"
        with pytest.raises(ValueError, match=message):
            tune(X, y, groups=groups[:-1], out=tmp_path, tuner="random")
        with pytest.raises(ValueError, match=message):
            randomized_search(X, y, groups=groups[:-1], cv=3)

    def test_as_many_groups_as_folds(self, tmp_path, data):
        X, y, _ = data
        groups = np.arange(N_ROWS) % 2
        message = r"Expected at least as many groups as folds \(3\). Received: groups=2 groups"
        with pytest.raises(ValueError, match=message):
            tune(X, y, groups=groups, out=tmp_path, tuner="sklearn", cv=3)
        with pytest.raises(ValueError, match=message):
            randomized_search(X, y, groups=groups, cv=3)


def test_a_folder_of_another_split_is_not_resumed(tmp_path, data):
    """A cell search's folder refuses a patient search (and the other way round); a folder from
    before ``split`` was recorded counts as a cell search."""
    X, y, groups = data
    options = dict(KERAS_OPTIONS, out=tmp_path, max_trials=1, epochs=1, progress=False)
    tune(X, y, **options)
    with pytest.raises(ValueError, match=r"argument `out`\. Expected a folder holding the same"):
        tune(X, y, groups=groups, **options)
    record = json.loads((tmp_path / "search.json").read_text())
    del record["split"]
    (tmp_path / "search.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="argument `out`"):
        tune(X, y, groups=groups, **options)
    assert len(tune(X, y, **options)["trials"]) == 1  # resumed: its one trial reused
