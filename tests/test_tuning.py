"""kerasx.tuning: search spaces, build functions, both scikit-learn wrappers, tuners, resume,
memory, the ``kerasx tune`` command and KerasTuner's distributed mode.

Slow tests (``-m slow``) start subprocesses or run many trials.
"""

import gc
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from typing import ClassVar

import keras
import keras_tuner
import numpy as np
import pandas as pd
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.model_selection import ParameterSampler, StratifiedKFold

from kerasx._tuning_cli import demo_data
from kerasx._tuning_sklearn import resumable_search
from kerasx.cli import build_parser
from kerasx.tuning import (
    MLPHyperModel,
    build_mlp,
    course_param_distributions,
    make_tuner,
    malaria_search_space,
    randomized_search,
    trials_table,
    tune,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COURSE_KEYS = {"n_hidden", "n_neurons", "learning_rate"}


def separable_data(n=240, n_features=4, seed=0):
    """A learnable problem: y = 1 when x0 + x1 > 0 (chance accuracy: 50%)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("int64")
    return X, y


def small_space(**overrides):
    ranges = dict(
        n_hidden=(1, 2),
        n_neurons=(8, 32),
        learning_rate=(1e-2, 5e-2),
        dropout=(0.0, 0.1),
        l2=(0.0, 1e-4),
        activations=("relu", "tanh"),
    )
    ranges.update(overrides)
    return MLPHyperModel((4,), **ranges)


@pytest.fixture
def no_training(monkeypatch):
    """Makes any ``fit`` fail the test: for checks that must happen before training."""

    def fit(*args, **kwargs):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(keras.Model, "fit", fit)


def declared_space(hypermodel):
    hp = keras_tuner.HyperParameters()
    hypermodel.draw(hp)
    return hp


def random_draws(hypermodel, n):
    """``n`` value sets drawn by KerasTuner's own samplers over the declared space."""
    hp = declared_space(hypermodel)
    draws = []
    for seed in range(n):
        values = {p.name: p.random_sample(seed * 7919 + i) for i, p in enumerate(hp.space)}
        draws.append(values)
    return hp, draws


# ----------------------------------------------------------------------------------------------
# Search space


class TestSearchSpace:
    def test_draws_stay_inside_declared_ranges(self):
        hypermodel = MLPHyperModel((4,))
        _, draws = random_draws(hypermodel, 300)
        for values in draws:
            assert 1 <= values["n_hidden"] <= 4
            assert 16 <= values["n_neurons"] <= 512
            assert 1e-4 <= values["learning_rate"] <= 1e-1
            assert 0.0 <= values["dropout"] <= 0.5
            assert 1e-5 <= values["l2"] <= 1e-2
            assert values["activation"] in ("relu", "tanh")
            assert isinstance(values["use_l2"], bool)

    def test_log_scales_for_learning_rate_neurons_and_l2(self):
        _, draws = random_draws(MLPHyperModel((4,)), 400)
        # Log-uniform on [1e-4, 1e-1] has median ~3.2e-3; a linear scale would give ~0.05.
        assert 1e-3 < np.median([d["learning_rate"] for d in draws]) < 1e-2
        # Log-uniform on [16, 512]: median ~90; linear: ~264.
        assert 50 < np.median([d["n_neurons"] for d in draws]) < 150
        assert 1e-4 < np.median([d["l2"] for d in draws]) < 1e-3
        # Dropout is linear: median ~0.25.
        assert 0.2 < np.median([d["dropout"] for d in draws]) < 0.3

    @settings(max_examples=25, deadline=None)
    @given(
        st.floats(1e-6, 1.0),
        st.floats(1.0, 1e3),
        st.integers(0, 5),
        st.integers(0, 5),
    )
    def test_any_valid_range_is_respected(self, lr_low, lr_ratio, h_low, h_extra):
        lr_high = min(lr_low * lr_ratio, 10.0)
        hypermodel = MLPHyperModel(
            (3,), learning_rate=(lr_low, lr_high), n_hidden=(h_low, h_low + h_extra)
        )
        _, draws = random_draws(hypermodel, 20)
        for values in draws:
            assert lr_low * (1 - 1e-9) <= values["learning_rate"] <= lr_high * (1 + 1e-9)
            assert h_low <= values["n_hidden"] <= h_low + h_extra

    def test_fixed_values_and_l2_without_zero(self):
        hypermodel = MLPHyperModel((4,), n_hidden=2, dropout=0.0, l2=(1e-5, 1e-3))
        hp = declared_space(hypermodel)
        assert isinstance(hp._hps["n_hidden"][0], keras_tuner.engine.hyperparameters.Fixed)
        assert "use_l2" not in hp.values
        _, draws = random_draws(hypermodel, 50)
        assert all(1e-5 <= d["l2"] <= 1e-3 and d["n_hidden"] == 2 for d in draws)

    @pytest.mark.parametrize("l2", [(0.0, 1e-2), (1e-5, 1e-2), 0.0])
    def test_param_distributions_match_the_keras_tuner_space(self, l2):
        hypermodel = MLPHyperModel((4,), l2=l2)
        draws = list(ParameterSampler(hypermodel.param_distributions(), 400, random_state=0))
        l2_values = np.array([d["l2"] for d in draws])
        low, high = (l2, l2) if isinstance(l2, float) else l2
        assert np.all(
            (l2_values == 0) | ((l2_values >= max(low, high / 1000)) & (l2_values <= high))
        )
        for d in draws:
            assert 1 <= d["n_hidden"] <= 4 and 16 <= d["n_neurons"] <= 512
            assert 1e-4 <= d["learning_rate"] <= 1e-1 and 0 <= d["dropout"] <= 0.5
        assert 50 < np.median([d["n_neurons"] for d in draws]) < 150
        if l2 == (0.0, 1e-2):  # half the draws have no penalty, like use_l2=False
            assert 0.4 < np.mean(l2_values == 0) < 0.6

    def test_malaria_search_space(self):
        space = malaria_search_space()
        assert space.input_shape == (30000,) and space.output == "binary"
        assert space.ranges["n_neurons"] == (16, 300) and space.activations == ("relu",)
        assert malaria_search_space((300,)).input_shape == (300,)

    def test_course_param_distributions(self):
        dists = course_param_distributions()
        assert dists["n_hidden"] == [0, 1, 2, 3] and dists["n_neurons"] == list(range(1, 100))
        draws = dists["learning_rate"].rvs(size=500, random_state=0)
        assert draws.min() >= 3e-4 and draws.max() <= 3e-2


# ----------------------------------------------------------------------------------------------
# Built models


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


class TestBuild:
    def test_models_match_drawn_hyperparameters(self):
        hypermodel = MLPHyperModel((6,), n_hidden=(0, 3), n_neurons=(2, 40))
        hp, draws = random_draws(hypermodel, 6)
        for values in draws:
            trial_hp = hp.copy()
            trial_hp.values = values
            model = hypermodel.build(trial_hp)
            dense = dense_layers(model)
            assert len(dense) == values["n_hidden"] + 1
            assert [layer.units for layer in dense[:-1]] == [values["n_neurons"]] * values[
                "n_hidden"
            ]
            assert dense[-1].units == 1 and dense[-1].activation.__name__ == "sigmoid"
            for layer in dense[:-1]:
                assert layer.activation.__name__ == values["activation"]
                if values["use_l2"]:
                    assert layer.kernel_regularizer.l2 == pytest.approx(values["l2"])
                else:
                    assert layer.kernel_regularizer is None
            dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
            expected = values["n_hidden"] if values["dropout"] > 0 else 0
            assert len(dropouts) == expected
            assert all(layer.rate == pytest.approx(values["dropout"]) for layer in dropouts)
            lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            assert lr == pytest.approx(values["learning_rate"], rel=1e-6)
            # (inputs + 1) × units parameters per Dense layer, as counted in the course.
            sizes = [6] + [values["n_neurons"]] * values["n_hidden"] + [1]
            expected_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
            assert model.count_params() == expected_params

    def test_build_mlp_image_input_and_classes(self):
        model = build_mlp(2, 5, input_shape=(3, 3, 2), output=4)
        assert isinstance(model.layers[0], keras.layers.Flatten)
        assert dense_layers(model)[-1].units == 4
        assert model.loss == "sparse_categorical_crossentropy"
        out = model.predict(np.zeros((2, 3, 3, 2), "float32"), verbose=0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)

    def test_build_mlp_infers_shapes_from_either_wrapper(self):
        from_meta = build_mlp(meta={"n_features_in_": 7, "n_classes_": 3})
        assert from_meta.input_shape == (None, 7) and from_meta.output_shape == (None, 3)
        one_hot = np.eye(2)[[0, 1, 1]]
        from_xy = build_mlp(X=np.zeros((3, 5)), y=one_hot)
        assert from_xy.input_shape == (None, 5) and from_xy.output_shape == (None, 2)
        assert from_xy.loss == "categorical_crossentropy"

    def test_build_clears_the_session(self):
        build_mlp(1, 4, input_shape=(2,))
        # A fresh session restarts Keras's automatic names.
        assert keras.layers.Dense(1).name == "dense"
        build_mlp(1, 4, input_shape=(2,))
        assert keras.layers.Dense(1).name == "dense"

    def test_course_malaria_mlp_parameter_count(self):
        model = build_mlp(1, 300, input_shape=(30000,))
        assert model.count_params() == 30001 * 300 + 301


# ----------------------------------------------------------------------------------------------
# Errors before any training


class TestValidation:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("n_hidden", (3, 1)),
            ("n_neurons", (64, 8)),
            ("learning_rate", (1e-1, 1e-4)),
            ("dropout", (0.5, 0.1)),
            ("l2", (1e-2, 0.0)),
        ],
    )
    def test_low_above_high(self, name, value):
        message = (
            f"Invalid value for argument `{name}`. Expected a (low, high) pair with low <= high"
        )
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            MLPHyperModel((4,), **{name: value})

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            ("learning_rate", (0.0, 1e-2), "> 0"),
            ("dropout", (0.0, 1.0), "<= 0.999"),
            ("n_neurons", (0, 8), ">= 1"),
            ("n_hidden", (0.5, 2), "integers"),
            ("l2", (-1.0, 1.0), ">= 0.0"),
        ],
    )
    def test_bounds_outside_domain(self, name, value, expected):
        with pytest.raises(ValueError, match=f"argument `{name}`.*{expected}"):
            MLPHyperModel((4,), **{name: value})

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="argument `activations`"):
            MLPHyperModel((4,), activations=("relu", "nope"))

    def test_unknown_objective_fails_before_any_build(self, tmp_path, no_training):
        built = []

        class Spy(MLPHyperModel):
            def build(self, hp):
                built.append(hp)
                return super().build(hp)

        expected = "Expected one of ('accuracy', 'loss', 'val_accuracy', 'val_loss'). Received: objective='val_acc'"
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            make_tuner(Spy((4,)), tuner="random", objective="val_acc", directory=tmp_path)
        with pytest.raises(ValueError, match="objective='auc'"):
            make_tuner(Spy((4,)), objective=keras_tuner.Objective("auc", "max"), directory=tmp_path)
        assert built == [] and os.listdir(tmp_path) == []

    def test_tune_rejects_bad_arguments_before_training(self, tmp_path, no_training):
        X, y = separable_data(20)
        with pytest.raises(ValueError, match="argument `objective`"):
            tune(X, y, out=tmp_path / "a", tuner="random", objective="val_auc", progress=False)
        with pytest.raises(ValueError, match="argument `tuner`"):
            tune(X, y, out=tmp_path / "b", tuner="grid", progress=False)
        with pytest.raises(ValueError, match="argument `objective`"):
            tune(X, y, out=tmp_path / "c", tuner="sklearn", objective="loss", progress=False)
        with pytest.raises(ValueError, match="argument `trials_per_process`"):
            tune(X, y, out=tmp_path / "d", tuner="random", trials_per_process=0, progress=False)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"param_distributions": {"learning_rate": (1e-1, 1e-3)}}, "low <= high"),
            ({"param_distributions": {"n_layers": [1, 2]}}, "argument `param_distributions`"),
            ({"scoring": "acuracy"}, "argument `scoring`"),
            ({"wrapper": "tf"}, "argument `wrapper`"),
            ({"n_iter": 0}, "argument `n_iter`"),
        ],
    )
    def test_randomized_search_rejects_bad_arguments_before_training(
        self, kwargs, match, no_training
    ):
        X, y = separable_data(20)
        with pytest.raises(ValueError, match=match):
            randomized_search(X, y, **kwargs)

    def test_make_tuner_rejects_bad_tuner_and_numbers(self, tmp_path):
        with pytest.raises(ValueError, match="argument `tuner`"):
            make_tuner(small_space(), tuner="grid", directory=tmp_path)
        with pytest.raises(ValueError, match="argument `factor`"):
            make_tuner(small_space(), tuner="hyperband", factor=1, directory=tmp_path)


# ----------------------------------------------------------------------------------------------
# KerasTuner searches


def holdout_accuracy(model, seed=99):
    X, y = separable_data(400, seed=seed)
    pred = (model.predict(X, verbose=0)[:, 0] > 0.5).astype(int)
    return float(np.mean(pred == y))


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


# ----------------------------------------------------------------------------------------------
# Command line


def test_cli_parses_tune_options():
    args = build_parser().parse_args(
        ["tune", "--data", "synthetic", "--tuner", "sklearn", "--max-trials", "3", "--out", "d",
         "--trials-per-process", "2"]
    )  # fmt: skip
    assert (args.data, args.tuner, args.max_trials, args.out) == ("synthetic", "sklearn", 3, "d")
    assert args.trials_per_process == 2 and build_parser().parse_args(["tune"]).max_trials is None
    assert args.run.__module__ == "kerasx._tuning_cli"


def test_demo_data_is_learnable_and_stratified():
    (X_train, y_train), (X_test, y_test) = demo_data()
    assert X_train.shape == (480, 20) and X_test.shape == (120, 20)
    assert abs(y_train.mean() - y_test.mean()) < 0.02


def run_cli(args, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "kerasx", "tune", *args],
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def completed_rows(csv_path):
    if not os.path.exists(csv_path):
        return pd.DataFrame()
    return pd.read_csv(csv_path, dtype={"trial_id": str})


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["random", "sklearn"])
def test_resume_after_sigkill_reuses_finished_trials(tmp_path, tuner):
    out = tmp_path / "search"
    args = ["--tuner", tuner, "--max-trials", "6", "--epochs", "4", "--cv", "2", "--out", str(out)]
    process = run_cli(args)
    deadline = time.monotonic() + 400
    while len(completed_rows(out / "trials.csv")) < 2:
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = completed_rows(out / "trials.csv")
    assert 2 <= len(before) < 6
    if tuner == "random":  # KerasTuner's own record of the finished trials
        saved = {
            row.trial_id: json.loads((out / "keras_tuner" / f"trial_{row.trial_id}" / "trial.json").read_text())
            for row in before.itertuples()
        }  # fmt: skip
    resumed = run_cli(args)
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert f"{len(before)} finished trial(s) reused" in output
    assert output.count("COMPLETED") == 6 - len(before)  # the finished ones did not run again
    after = completed_rows(out / "trials.csv")
    assert len(after) == 6 and (after["status"] == "COMPLETED").all()
    merged = before.merge(after, on="trial_id", suffixes=("_before", "_after"))
    np.testing.assert_array_equal(merged["score_before"], merged["score_after"])
    np.testing.assert_array_equal(merged["seconds_before"], merged["seconds_after"])
    if tuner == "random":
        for trial_id, state in saved.items():
            path = out / "keras_tuner" / f"trial_{trial_id}" / "trial.json"
            now = json.loads(path.read_text())
            assert now["hyperparameters"]["values"] == state["hyperparameters"]["values"]
            assert now["score"] == state["score"]
    assert (out / "best_model.keras").exists()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers_on_localhost(tmp_path):
    out = tmp_path / "search"
    args = ["--tuner", "random", "--max-trials", "4", "--epochs", "3", "--out", str(out)]
    env = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    chief = run_cli(args, env={**env, "KERASTUNER_TUNER_ID": "chief"})
    workers = [run_cli(args, env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"}) for i in range(2)]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    chief_output = chief.communicate(timeout=120)[0]
    assert chief.returncode == 0, chief_output
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output
        assert output.count("COMPLETED") >= 1  # both workers ran trials
    assert sum(output.count("COMPLETED") for output in outputs) == 4
    table = completed_rows(out / "trials.csv")  # written by the chief
    assert len(table) == 4 and (table["status"] == "COMPLETED").all()
    assert table["seconds"].notna().all()  # each worker's timings were merged
    assert (out / "best_model.keras").exists()


# ----------------------------------------------------------------------------------------------
# Memory


# Measured here (TF 2.21, Keras 3.15.1, CPU): every model trained by a traced ``fit`` leaves
# about weights + optimizer slots of native memory behind (~22 MB for this 1.3M-parameter MLP with
# Adam, ~6 MB with SGD), even after ``keras.backend.clear_session()`` + ``gc.collect()`` and with
# every Python reference gone (see ``test_no_model_outlives_its_trial``); eager runs do not.
# Narrowed down: ``optimizer.apply`` of a Keras optimizer inside a ``tf.function`` leaks alike,
# a pure-TensorFlow ``tf.function`` training step does not, and destroying the variables'
# resources (``tf.raw_ops.DestroyResourceOp``) does not free it.
# ``tune(trials_per_process=...)`` is the working remedy (see the process-chain test below).
# Upstream: keras-team/keras#17458, tensorflow/tensorflow#61791. Strict xfail: these start
# passing (and must be un-marked) once the runtime frees that memory.
NATIVE_LEAK = pytest.mark.xfail(
    strict=True,
    reason="TensorFlow keeps native memory of every traced fit (keras#17458, tensorflow#61791)",
)


class RssSampler(keras.callbacks.Callback):
    """Records this process's resident memory after every batch, tagged with the trial number.

    State lives on the class: KerasTuner deep-copies the callbacks for each trial.
    """

    samples: ClassVar[list] = []
    trial = 0

    def on_train_batch_end(self, batch, logs=None):
        RssSampler.samples.append((RssSampler.trial, psutil.Process().memory_info().rss))


@pytest.mark.slow
@NATIVE_LEAK
def test_memory_does_not_grow_across_ten_trials(tmp_path):
    space = MLPHyperModel(
        (2000,), n_hidden=2, n_neurons=512, learning_rate=(1e-4, 1e-2), dropout=0.0, l2=0.0,
        activations=("relu",),
    )  # fmt: skip
    model_bytes = build_mlp(2, 512, input_shape=(2000,)).count_params() * 4  # ~5.2 MB

    def next_trial(tuner, trial_id, seconds):
        RssSampler.trial += 1

    X = np.random.default_rng(0).standard_normal((256, 2000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    tuner = make_tuner(
        space, tuner="random", max_trials=10, directory=tmp_path, on_trial_done=next_trial
    )
    RssSampler.samples.clear()
    RssSampler.trial = 0
    tuner.search(X, y, epochs=2, batch_size=64, validation_split=0.25, verbose=0,
                 callbacks=[RssSampler()])  # fmt: skip
    peaks = pd.DataFrame(RssSampler.samples, columns=["trial", "rss"]).groupby("trial")["rss"].max()
    assert len(peaks) == 10
    # After the first trial (one-off tracing and allocator warm-up), the peak stays flat.
    growth = peaks.iloc[1:].max() - peaks.iloc[1]
    assert growth < model_bytes, (growth, model_bytes, list(peaks))


@pytest.mark.slow
@NATIVE_LEAK
def test_memory_does_not_grow_across_ten_sklearn_fits():
    X = np.random.default_rng(0).standard_normal((256, 2000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    model_bytes = build_mlp(2, 512, input_shape=(2000,)).count_params() * 4
    peaks = []
    for seed in range(10):
        search = randomized_search(
            X, y, n_iter=1, cv=StratifiedKFold(2), epochs=1, batch_size=64, wrapper="keras",
            param_distributions={"n_hidden": [2], "n_neurons": [512],
                                 "learning_rate": stats.loguniform(1e-4, 1e-2)},
            random_state=seed, refit=False,
        )  # fmt: skip
        del search
        peaks.append(psutil.Process().memory_info().rss)
    growth = max(peaks[1:]) - peaks[1]
    assert growth < model_bytes, (growth, model_bytes, peaks)


class ModelTracker:
    """Wraps ``build_mlp`` and keeps a weak reference to every model it builds."""

    def __init__(self):
        self.refs = []

    def __call__(self, *args, **kwargs):
        model = build_mlp(*args, **kwargs)
        self.refs.append(weakref.ref(model))
        return model

    def alive(self):
        gc.collect()
        return sum(ref() is not None for ref in self.refs)


@pytest.mark.slow
def test_no_model_outlives_its_trial(tmp_path, monkeypatch):
    """What the clean session per trial guarantees: no Python reference to earlier models."""
    X, y = separable_data(64)
    tracker = ModelTracker()

    class Tracked(MLPHyperModel):
        def build(self, hp):
            return tracker(**self.draw(hp), input_shape=self.input_shape)

    space = Tracked((4,), n_hidden=1, n_neurons=(4, 64), l2=0.0, dropout=0.0)
    tuner = make_tuner(space, tuner="random", max_trials=10, directory=tmp_path)
    tuner.search(X, y, epochs=1, validation_split=0.25, verbose=0)
    assert len(trials_table(tuner)) == 10
    assert tracker.alive() == 0, f"{tracker.alive()} of {len(tracker.refs)} models still alive"

    tracker = ModelTracker()
    monkeypatch.setattr("kerasx._tuning_sklearn.build_mlp", tracker)
    randomized_search(X, y, n_iter=5, cv=2, epochs=1, wrapper="keras", refit=False)
    assert len(tracker.refs) == 10 and tracker.alive() == 0


@pytest.mark.slow
def test_memory_stays_flat_over_ten_trials_in_a_process_chain(tmp_path):
    """``trials_per_process=1``: each trial in a fresh process; peaks stay within one model."""
    space = MLPHyperModel(
        (4000,), n_hidden=2, n_neurons=1024, learning_rate=(1e-4, 1e-2), dropout=0.0, l2=0.0,
        activations=("relu",),
    )  # fmt: skip
    model_mb = build_mlp(2, 1024, input_shape=(4000,)).count_params() * 4 / 2**20  # ~20 MiB
    X = np.random.default_rng(0).standard_normal((256, 4000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    result = tune(X, y, out=tmp_path, tuner="random", hypermodel=space, max_trials=10, epochs=1,
                  batch_size=64, trials_per_process=1)  # fmt: skip
    table = result["trials"]
    assert len(table) == 10 and (table["status"] == "COMPLETED").all()
    peaks = table["peak_rss_mb"].to_numpy()
    assert peaks.max() - peaks[0] < model_mb, (list(peaks), model_mb)
    assert result["model"].count_params() == build_mlp(2, 1024, input_shape=(4000,)).count_params()


def test_zero_or_log_uniform_draws_are_independent_with_an_integer_seed():
    from kerasx._tuning_space import zero_or_log_uniform

    low, high = 1e-5, 1e-2
    draws = zero_or_log_uniform(low, high).rvs(size=4000, random_state=0)
    nonzero = draws[draws > 0]
    assert abs(len(nonzero) / len(draws) - 0.5) < 0.05
    # Log-uniform over the whole range: half the values below the geometric midpoint.
    assert abs(np.mean(nonzero < np.sqrt(low * high)) - 0.5) < 0.05
    assert nonzero.min() >= low and nonzero.max() <= high
