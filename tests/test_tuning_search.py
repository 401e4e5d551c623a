"""kerasx.tuning's searches: KerasTuner, RandomizedSearchCV with both wrappers, ``tune``'s
folder (outputs and resume)."""

import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterSampler
from tuning_helpers import dense_layers, holdout_accuracy, separable_data, small_space

from kerasx.tuning import (
    MLPHyperModel,
    course_param_distributions,
    make_tuner,
    randomized_search,
    trials_table,
    tune,
)
from kerasx.tuning.sklearn_search import resumable_search

COURSE_KEYS = {"n_hidden", "n_neurons", "learning_rate"}


# ----------------------------------------------------------------------------------------------
# KerasTuner searches


class TestKerasTuner:
    def test_random_search_beats_chance_and_times_trials(self, tmp_path):
        X, y = separable_data()
        tuner = make_tuner(small_space(), tuner="random", max_trials=2, directory=tmp_path)
        tuner.search(X, y, epochs=8, batch_size=16, validation_split=0.25, verbose=0)
        table = trials_table(tuner)
        assert list(table["trial_id"]) == ["0", "1"]
        assert (table["status"] == "COMPLETED").all() and (table["seconds"] > 0).all()
        for trial_id, row in table.set_index("trial_id").iterrows():
            trial = tuner.oracle.get_trial(trial_id)
            assert row["score"] == trial.score
            assert row["n_neurons"] == trial.hyperparameters.values["n_neurons"]
        assert table["score"].max() > 0.8  # chance: 0.5
        assert holdout_accuracy(tuner.get_best_models(1)[0]) > 0.8

    @pytest.mark.slow
    def test_hyperband_beats_chance(self, tmp_path):
        X, y = separable_data()
        tuner = make_tuner(small_space(), tuner="hyperband", max_epochs=4, directory=tmp_path)
        tuner.search(X, y, batch_size=16, validation_split=0.25, verbose=0)
        table = trials_table(tuner)
        assert len(table) >= 3 and "tuner/epochs" in table.columns
        assert table["score"].max() > 0.8
        assert holdout_accuracy(tuner.get_best_models(1)[0]) > 0.8

    @pytest.mark.slow
    def test_bayesian_runs(self, tmp_path):
        X, y = separable_data()
        tuner = make_tuner(small_space(), tuner="bayesian", max_trials=3, directory=tmp_path)
        tuner.search(X, y, epochs=5, batch_size=16, validation_split=0.25, verbose=0)
        assert trials_table(tuner)["score"].max() > 0.8


# ----------------------------------------------------------------------------------------------
# scikit-learn path


class TestRandomizedSearch:
    @pytest.mark.parametrize("wrapper", ["scikeras", "keras"])
    def test_course_flow_with_both_wrappers(self, wrapper):
        X, y = separable_data(160)
        search = randomized_search(X, y, n_iter=2, cv=2, epochs=6, batch_size=16, wrapper=wrapper)
        assert set(search.best_params_) == COURSE_KEYS
        # The candidates are scikit-learn's own draws from the course's distributions.
        expected = list(ParameterSampler(course_param_distributions(), 2, random_state=0))
        assert [p["n_neurons"] for p in search.cv_results_["params"]] == [
            p["n_neurons"] for p in expected
        ]
        best = search.cv_results_["params"][search.best_index_]
        assert best == search.best_params_
        model = search.best_estimator_.model_
        assert len(dense_layers(model)) == search.best_params_["n_hidden"] + 1
        assert search.score(*separable_data(200, seed=5)) > 0.6

    def test_tuple_ranges_become_distributions(self):
        X, y = separable_data(60)
        search = randomized_search(
            X,
            y,
            n_iter=1,
            cv=2,
            epochs=1,
            param_distributions={"n_neurons": (4, 8), "learning_rate": (1e-3, 1e-2)},
            wrapper="keras",
        )
        assert 4 <= search.best_params_["n_neurons"] <= 8
        assert 1e-3 <= search.best_params_["learning_rate"] <= 1e-2

    def test_resumable_search_draws_randomized_search_candidates(self):
        dists = MLPHyperModel((4,)).param_distributions()
        ids = {f"{i:03d}" for i in range(12)}
        candidates = resumable_search(
            None, None, param_distributions=dists, n_iter=12, cv=5, wrapper="keras",
            epochs=1, batch_size=8, seed=3, done_ids=ids,
        )  # fmt: skip
        reference = list(ParameterSampler(dists, 12, random_state=3))
        assert [c["n_neurons"] for c in candidates] == [r["n_neurons"] for r in reference]
        assert [c["l2"] for c in candidates] == [r["l2"] for r in reference]


# ----------------------------------------------------------------------------------------------
# tune(): outputs and resume


class TestTune:
    def test_keras_tuner_outputs_and_resume(self, tmp_path, capsys):
        X, y = separable_data()
        X_test, y_test = separable_data(100, seed=7)
        options = dict(tuner="random", hypermodel=small_space(), epochs=6, batch_size=16)
        tune(X, y, out=tmp_path, max_trials=1, X_test=X_test, y_test=y_test, **options)
        first = pd.read_csv(tmp_path / "trials.csv", dtype={"trial_id": str})
        assert list(first["trial_id"]) == ["0"]
        capsys.readouterr()
        result = tune(X, y, out=tmp_path, max_trials=2, X_test=X_test, y_test=y_test, **options)
        output = capsys.readouterr().out
        assert "1 finished trial(s) reused" in output
        assert output.count("COMPLETED") == 1  # only the new trial ran
        table = pd.read_csv(tmp_path / "trials.csv", dtype={"trial_id": str})
        assert list(table["trial_id"]) == ["0", "1"]
        assert table.loc[0, "score"] == first.loc[0, "score"]
        best = json.loads((tmp_path / "best.json").read_text())
        assert best["best_score"] == table["score"].max()
        model = keras.models.load_model(tmp_path / "best_model.keras")
        np.testing.assert_allclose(
            model.predict(X_test, verbose=0), result["model"].predict(X_test, verbose=0), rtol=1e-5
        )
        pred = (model.predict(X_test, verbose=0)[:, 0] > 0.5).astype(int)
        assert best["test_accuracy"] == pytest.approx(np.mean(pred == y_test))

    def test_sklearn_path_resumes_from_its_csv(self, tmp_path, capsys):
        X, y = separable_data(120)
        options = dict(tuner="sklearn", hypermodel=small_space(), epochs=4, cv=2, wrapper="keras")
        tune(X, y, out=tmp_path, max_trials=1, **options)
        first = pd.read_csv(tmp_path / "trials.csv", dtype={"trial_id": str})
        capsys.readouterr()
        result = tune(X, y, out=tmp_path, max_trials=2, **options)
        output = capsys.readouterr().out
        assert "1 finished trial(s) reused" in output and output.count("COMPLETED") == 1
        table = result["trials"]
        assert list(table["trial_id"]) == ["000", "001"]
        assert table.loc[0, "score"] == first.loc[0, "score"]
        expected = list(ParameterSampler(small_space().param_distributions(), 2, random_state=0))
        assert list(table["n_neurons"]) == [p["n_neurons"] for p in expected]
        assert result["best_score"] == table["score"].max() > 0.6
        assert os.path.exists(tmp_path / "best_model.keras")

    def test_refuses_to_resume_a_different_search(self, tmp_path):
        X, y = separable_data(40)
        tune(X, y, out=tmp_path, tuner="random", hypermodel=small_space(n_hidden=1, n_neurons=4),
             max_trials=1, epochs=1, progress=False)  # fmt: skip
        with pytest.raises(ValueError, match="argument `out`"):
            tune(X, y, out=tmp_path, tuner="random", hypermodel=small_space(n_hidden=1, n_neurons=4),
                 max_trials=1, epochs=1, seed=1, progress=False)  # fmt: skip
