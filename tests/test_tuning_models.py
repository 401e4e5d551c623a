"""A model of one's own: ``kerasx.tuning.search`` and ``kerasx tune --model module:function``."""

import json
import sys
import textwrap

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest
from scipy.stats import reciprocal
from tuning_helpers import dense_layers, no_training, separable_data  # noqa: F401

from kerasx.cli import main
from kerasx.metrics import MatthewsCorrelation
from kerasx.tuning import build_mlp, search
from kerasx.tuning.models import as_hypermodel, load_build_function

#: The course's space, as the course writes it.
COURSE_SPACE = {
    "n_hidden": [0, 1, 2, 3],
    "n_neurons": np.arange(4, 33),
    "learning_rate": reciprocal(3e-4, 3e-2),
}


def build_with_hp(hp):
    """A KerasTuner build function of one's own, with Keras's AUC and kerasx's MCC."""
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 5e-2, sampling="log")),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc"), MatthewsCorrelation()],
    )
    return model


def my_score(y_true, y_pred):
    """A metric function whose name says nothing of its direction."""
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), (-1, 1))
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))


def build_with_my_score(hp):
    model = build_with_hp(hp)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[my_score])
    return model


class OwnHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        return build_with_hp(hp)


class TestSearch:
    def test_the_course_mlp_is_one_build_function(self, tmp_path):
        """``build_mlp`` with the course's space, unchanged: KerasTuner draws from the list, the
        integer range and the log-uniform distribution, and the best model has the drawn
        shape; the best trial is the best by the objective (MCC: the highest)."""
        X, y = separable_data(160)
        result = search(build_mlp, X, y, space=COURSE_SPACE, max_trials=2, epochs=2,
                        objective="val_matthews_correlation", out=tmp_path)  # fmt: skip
        best = result["best_hyperparameters"]
        assert set(best) == set(COURSE_SPACE) and result["out"] == tmp_path
        trials = result["trials"]
        assert (
            trials["n_neurons"].between(4, 32).all() and trials["n_hidden"].isin([0, 1, 2, 3]).all()
        )
        assert trials["learning_rate"].between(3e-4, 3e-2).all()
        assert result["best_score"] == trials["score"].max()
        units = [layer.units for layer in dense_layers(result["model"])]
        assert units == [best["n_neurons"]] * best["n_hidden"] + [1]
        record = json.loads((tmp_path / "search.json").read_text())
        assert record["space"]["n_neurons"] == [4, 32]
        assert record["space"]["learning_rate"] == {"low": 3e-4, "high": 3e-2, "scale": "log"}

    @pytest.mark.parametrize(
        "model", [build_with_hp, OwnHyperModel()], ids=["build(hp)", "HyperModel"]
    )
    def test_a_build_function_or_hypermodel_of_ones_own(self, tmp_path, model):
        X, y = separable_data(160)
        result = search(model, X, y, max_trials=2, epochs=2, objective="val_auc", out=tmp_path)
        trials = result["trials"]
        assert set(trials.columns) >= {"units", "lr", "score"}
        assert result["best_score"] == trials["score"].max() > 0.5  # AUC: the highest
        assert result["model"].layers[0].units == result["best_hyperparameters"]["units"]

    @pytest.mark.usefixtures("no_training")
    def test_the_objective_is_checked_against_what_the_model_logs(self, tmp_path):
        """Before any trial trains: the model is built once and evaluated on a few rows."""
        X, y = separable_data(40)
        expected = (
            "Expected one of ('auc', 'loss', 'matthews_correlation', 'val_auc', 'val_loss', "
            "'val_matthews_correlation'). Received: objective='val_accuracy'"
        )
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            search(build_with_hp, X, y, out=tmp_path / "a")  # the default: val_accuracy

    @pytest.mark.usefixtures("no_training")
    def test_a_metric_of_unknown_direction_needs_an_explicit_objective(self, tmp_path):
        X, y = separable_data(40)
        with pytest.raises(ValueError, match=r"keras_tuner\.Objective\('val_my_score', 'max'\)"):
            search(build_with_my_score, X, y, objective="val_my_score", out=tmp_path / "a")

    def test_an_explicit_objective_of_a_metric_of_ones_own(self, tmp_path):
        X, y = separable_data(80)
        objective = keras_tuner.Objective("val_my_score", "min")  # a mean absolute error
        result = search(build_with_my_score, X, y, objective=objective, max_trials=2, epochs=1,
                        out=tmp_path)  # fmt: skip
        assert result["best_score"] == result["trials"]["score"].min()

    def test_sklearn_searches_build_mlp_only(self, tmp_path):
        X, y = separable_data(40)
        with pytest.raises(ValueError, match=r"argument `tuner`\. Expected a KerasTuner tuner"):
            search(build_with_hp, X, y, tuner="sklearn", out=tmp_path)


@pytest.mark.usefixtures("no_training")
class TestAsHypermodel:
    def test_input_shape_comes_from_the_data(self):
        hypermodel = as_hypermodel(build_mlp, {"n_neurons": [4, 8]}, input_shape=(7,))
        model = hypermodel.build(keras_tuner.HyperParameters())
        assert model.input_shape == (None, 7) and model.layers[0].units == 4

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda: as_hypermodel(OwnHyperModel(), {"units": [4]}), "argument `space`"),
            (lambda: as_hypermodel("mlp"), "argument `model`. Expected a keras_tuner.HyperModel"),
            (lambda: as_hypermodel(build_mlp, {"n_layers": [1, 2]}), "names of parameters of "
             "kerasx.tuning.space:build_mlp. Received: space='n_layers'"),
            (lambda: as_hypermodel(build_mlp), "Expected a build function build\\(hp\\), or a "
             "space for one with keyword hyperparameters"),
            (lambda: as_hypermodel(build_mlp, {}), "Expected a non-empty dict"),
        ],
    )  # fmt: skip
    def test_refuses_what_cannot_be_searched(self, call, message):
        with pytest.raises(ValueError, match=message):
            call()


# ----------------------------------------------------------------------------------------------
# module:function, as uvicorn reads app:app


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``my_models`` in the current folder, as a user would have it."""
    source = """
        import keras
        from kerasx.metrics import MatthewsCorrelation

        def build(hp):
            model = keras.Sequential([
                keras.Input((20,)),
                keras.layers.Dense(hp.Int("units", 4, 8, step=4), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ])
            model.compile("adam", "binary_crossentropy",
                          metrics=["accuracy", MatthewsCorrelation()])
            return model

        NOT_A_MODEL = 3
        """
    (tmp_path / "my_models.py").write_text(textwrap.dedent(source))
    (tmp_path / "broken_models.py").write_text("import a_package_nobody_has\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in ("my_models", "broken_models"):
        sys.modules.pop(name, None)


def test_load_build_function(user_module):
    assert load_build_function("my_models:build").__name__ == "build"
    assert load_build_function("kerasx.tuning.space:MLPHyperModel.build").__name__ == "build"
    cases = [
        ("my_models", "Expected 'module:function', e.g. 'my_models:build_model'"),
        ("no_such_module:build", "Expected an importable module (no module named "
         "'no_such_module'). Received: model='no_such_module:build' Run from the folder"),
        ("my_models:nope", "Expected a build function or HyperModel named 'nope' in my_models"),
        ("my_models:NOT_A_MODEL", "Expected a build function or a keras_tuner.HyperModel. "
         "Received: model=my_models:NOT_A_MODEL (int)"),
    ]  # fmt: skip
    for spec, message in cases:
        with pytest.raises(ValueError) as error:
            load_build_function(spec)
        assert message in str(error.value)
    with pytest.raises(ModuleNotFoundError, match="a_package_nobody_has"):  # the user's own error
        load_build_function("broken_models:build")


def run_tune(argv):
    try:
        return main(["tune", *argv])
    except SystemExit as exit_:
        return exit_.code


def test_kerasx_tune_with_a_model_of_ones_own(user_module, capsys):
    out = user_module / "search"
    argv = ["--model", "my_models:build", "--tuner", "random", "--max-trials", "2",
            "--epochs", "1", "--objective", "val_matthews_correlation", "--out", str(out)]  # fmt: skip
    assert run_tune(argv) == 0
    stdout = capsys.readouterr().out
    assert "[kerasx tune] model: my_models:build" in stdout
    trials = pd.read_csv(out / "trials.csv")
    best = json.loads((out / "best.json").read_text())
    assert set(best["best_hyperparameters"]) == {"units"}
    assert best["best_score"] == trials["score"].max()
    record = json.loads((out / "search.json").read_text())
    assert record["space"] == {"build": "my_models:build"}


@pytest.mark.usefixtures("no_training")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "my_models"], "kerasx tune: argument --model: expected MODULE:FUNCTION, "
         "e.g. my_models:build_model. Received: 'my_models'"),
        (["--model", "nowhere:build"], "kerasx tune: Invalid value for argument `model`. Expected "
         "an importable module (no module named 'nowhere')"),
        (["--model", "my_models:build", "--tuner", "sklearn"], "kerasx tune: Invalid value for "
         "argument `tuner`. Expected a KerasTuner tuner with --model"),
        (["--model", "my_models:build", "--objective", "val_auc", "--tuner", "random"],
         "kerasx tune: Invalid value for argument `objective`. Expected one of ('accuracy', "
         "'loss', 'matthews_correlation', 'val_accuracy', 'val_loss', "
         "'val_matthews_correlation'). Received: objective='val_auc'"),
    ],
)  # fmt: skip
def test_kerasx_tune_model_errors_are_one_line(user_module, capsys, argv, message):
    assert run_tune([*argv, "--out", str(user_module / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
