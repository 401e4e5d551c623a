"""kerasx.tuning's checks and layout: TuneConfig, errors before any training, imports."""

import ast
import dataclasses
import os
import pathlib
import pickle
import subprocess
import sys

import keras_tuner
import pytest
from tuning_helpers import no_training, separable_data, small_space  # noqa: F401

from kerasx.tuning import MLPHyperModel, TuneConfig, make_tuner, randomized_search, tune
from kerasx.tuning.config import OBJECTIVES

TUNING = pathlib.Path(__file__).resolve().parents[1] / "kerasx" / "tuning"


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

    @pytest.mark.usefixtures("no_training")
    def test_unknown_objective_fails_before_any_build(self, tmp_path):
        built = []

        class Spy(MLPHyperModel):
            def build(self, hp):
                built.append(hp)
                return super().build(hp)

        expected = f"Expected one of {OBJECTIVES!r}. Received: objective='val_acc'"
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            make_tuner(Spy((4,)), tuner="random", objective="val_acc", directory=tmp_path)
        with pytest.raises(ValueError, match="objective='f1'"):
            make_tuner(Spy((4,)), objective=keras_tuner.Objective("f1", "max"), directory=tmp_path)
        assert built == [] and os.listdir(tmp_path) == []

    @pytest.mark.usefixtures("no_training")
    def test_tune_rejects_bad_arguments_before_training(self, tmp_path):
        X, y = separable_data(20)
        with pytest.raises(ValueError, match="argument `objective`"):
            tune(X, y, out=tmp_path / "a", tuner="random", objective="val_f1", progress=False)
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
    @pytest.mark.usefixtures("no_training")
    def test_randomized_search_rejects_bad_arguments_before_training(self, kwargs, match):
        X, y = separable_data(20)
        with pytest.raises(ValueError, match=match):
            randomized_search(X, y, **kwargs)

    def test_make_tuner_rejects_bad_tuner_and_numbers(self, tmp_path):
        with pytest.raises(ValueError, match="argument `tuner`"):
            make_tuner(small_space(), tuner="grid", directory=tmp_path)
        with pytest.raises(ValueError, match="argument `factor`"):
            make_tuner(small_space(), tuner="hyperband", factor=1, directory=tmp_path)


# ----------------------------------------------------------------------------------------------
# TuneConfig


BAD_FIELDS = [
    ("tuner", "grid", "one of ('hyperband', 'random', 'bayesian', 'sklearn')"),
    ("max_trials", 0, "an integer >= 1"),
    ("epochs", -1, "an integer >= 1"),
    ("epochs", 2.5, "an integer >= 1"),
    ("objective", "val_nothing", f"one of {OBJECTIVES!r}"),
    ("validation_split", 1.0, "a float in (0, 1)"),
    ("batch_size", 0, "an integer >= 1"),
    ("cv", 1, "an integer >= 2"),
    ("wrapper", "tf", "one of ('scikeras', 'keras')"),
    ("seed", -1, "an integer >= 0"),
    ("overwrite", "yes", "True or False"),
    ("trials_per_process", 0, "an integer >= 1"),
    ("split", "row", "one of ('patient', 'cell')"),
    ("hypermodel", "mlp", "a keras_tuner.HyperModel, a build function or None"),
]


class TestTuneConfig:
    @pytest.mark.parametrize(("name", "value", "expected"), BAD_FIELDS)
    def test_every_field_is_checked_with_the_standard_message(
        self, tmp_path, name, value, expected
    ):
        message = (
            f"Invalid value for argument `{name}`. Expected {expected}. Received: {name}={value!r}"
        )
        with pytest.raises(ValueError) as error:
            TuneConfig(out=tmp_path, **{name: value})
        assert str(error.value) == message

    def test_every_field_but_out_progress_and_hypermodel_is_a_command_line_option(self):
        """Catches a field added to the config but forgotten on the command line."""
        options = {field.name for field, *_ in TuneConfig.options()}
        fields = {field.name for field in dataclasses.fields(TuneConfig)}
        assert options == fields - {"out", "progress", "hypermodel"}
        assert {name for name, *_ in BAD_FIELDS} >= options  # each has a failing case above

    def test_an_existing_file_is_not_an_output_folder(self, tmp_path):
        (tmp_path / "file").write_text("x")
        with pytest.raises(ValueError, match=r"argument `out`\. Expected a folder"):
            TuneConfig(out=tmp_path / "file")
        assert TuneConfig(out=tmp_path).out == os.fspath(tmp_path)

    def test_sklearn_optimizes_only_its_cross_validated_scores(self, tmp_path):
        with pytest.raises(ValueError, match=r"Expected one of \('val_accuracy', 'val_auc', "
                           r"'val_matthews_correlation'\) with tuner='sklearn'"):  # fmt: skip
            TuneConfig(out=tmp_path, tuner="sklearn", objective="val_loss")
        assert TuneConfig(out=tmp_path, tuner="sklearn", objective="val_auc").objective == "val_auc"
        for tuner in ("hyperband", "random", "bayesian"):
            assert (
                TuneConfig(out=tmp_path, tuner=tuner, objective="val_loss").objective == "val_loss"
            )
        objective = keras_tuner.Objective("val_loss", "min")
        assert TuneConfig(out=tmp_path, objective=objective).objective is objective

    def test_frozen_and_picklable_with_its_hypermodel(self, tmp_path):
        """The chain of processes pickles the config; a frozen one cannot change on the way."""
        config = TuneConfig(out=tmp_path, tuner="random", hypermodel=small_space(), seed=3)
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.epochs = 3
        copy = pickle.loads(pickle.dumps(config))
        assert dataclasses.replace(copy, hypermodel=None) == dataclasses.replace(
            config, hypermodel=None
        )
        assert copy.hypermodel.ranges == config.hypermodel.ranges

    def test_replace_checks_again(self, tmp_path):
        config = TuneConfig(out=tmp_path)
        with pytest.raises(ValueError, match="argument `max_trials`"):
            dataclasses.replace(config, max_trials=0)

    @pytest.mark.parametrize(
        ("tuner", "max_trials", "limit"),
        [
            ("random", None, 10),
            ("sklearn", None, 10),
            ("hyperband", None, None),
            ("hyperband", 4, 4),
        ],
    )
    def test_trial_limit(self, tmp_path, tuner, max_trials, limit):
        assert TuneConfig(out=tmp_path, tuner=tuner, max_trials=max_trials).trial_limit == limit

    def test_identity_names_what_makes_a_search_different(self, tmp_path):
        """``wrapper`` identifies a scikit-learn search only, ``cv`` a cross-validated one (a
        hold-out KerasTuner search records none: the search.json format before ``cv``)."""
        keras_tuner_identity = TuneConfig(out=tmp_path, tuner="random").identity()
        assert keras_tuner_identity == {
            "tuner": "random",
            "epochs": 10,
            "objective": "val_accuracy",
            "split": None,  # resolved by tune() from its groups before the folder records it
            "seed": 0,
        }
        sklearn_identity = TuneConfig(out=tmp_path, tuner="sklearn", cv=3).identity()
        assert sklearn_identity == {**keras_tuner_identity, "tuner": "sklearn", "cv": 3,
                                    "wrapper": "scikeras"}  # fmt: skip
        assert TuneConfig(out=tmp_path, tuner="sklearn").identity()["cv"] == 5  # its default
        assert TuneConfig(out=tmp_path, tuner="random", cv=3).identity()["cv"] == 3

    @pytest.mark.usefixtures("no_training")
    def test_tune_takes_a_config_or_its_fields(self, tmp_path):
        X, y = separable_data(20)
        config = TuneConfig(out=tmp_path, tuner="random", objective="loss")
        with pytest.raises(ValueError, match="argument `epochs`"):
            tune(X, y, config=config, epochs=0)
        with pytest.raises(TypeError, match="epoch"):
            tune(X, y, out=tmp_path, epoch=3)


# ----------------------------------------------------------------------------------------------
# Layout: no import cycle, a light config, no need for ``resource``


def kerasx_tuning_imports(path):
    """The ``kerasx.tuning`` modules that a module imports, at its top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    modules = {f"kerasx.tuning.{p.stem}" for p in TUNING.glob("*.py") if p.stem != "__init__"}
    return names & modules


def test_no_import_cycle_between_tuning_modules():
    """Catches a cycle hidden in a function-level import (``tuning`` ↔ ``_tuning_procs`` was one)."""
    graph = {
        f"kerasx.tuning.{p.stem}": kerasx_tuning_imports(p)
        for p in TUNING.glob("*.py")
        if p.stem != "__init__"
    }
    done, path = set(), []

    def visit(module):
        assert module not in path, f"import cycle: {' -> '.join([*path, module])}"
        if module in done:
            return
        path.append(module)
        for imported in graph[module]:
            visit(imported)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)
    assert graph["kerasx.tuning.config"] == set()  # the base every other module builds on


def run_python(code):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_command_line_options_do_not_import_keras():
    """``kerasx tune --help`` builds its options from TuneConfig without starting TensorFlow."""
    code = (
        "import sys\nfrom kerasx.cli import build_parser\n"
        "build_parser().parse_args(['tune', '--tuner', 'random'])\n"
        "print(sorted(m for m in ('keras', 'keras_tuner', 'tensorflow', 'sklearn') if m in sys.modules))"
    )
    assert run_python(code) == "[]"


def test_every_tuning_module_imports_without_resource():
    """As on Windows, where there is no ``resource`` module; ``peak_rss_mb`` is then NaN.

    Catches a module-level ``import resource`` (as ``_tuning_sklearn`` had).
    """
    code = (
        "import sys, importlib, math, pkgutil\n"
        "sys.modules['resource'] = None  # import resource now raises ImportError\n"
        "import kerasx.tuning\n"
        "for info in pkgutil.iter_modules(kerasx.tuning.__path__):\n"
        "    importlib.import_module(f'kerasx.tuning.{info.name}')\n"
        "from kerasx import _io\n"
        "print(math.isnan(_io.peak_rss_mb()), kerasx.tuning.tune.__name__)"
    )
    assert run_python(code) == "True tune"
