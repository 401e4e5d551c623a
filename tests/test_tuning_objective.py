"""The objective of a search: any compiled metric or its ``val_`` form, in the metric's direction."""

import keras_tuner
import numpy as np
import pytest
from sklearn.metrics import log_loss, matthews_corrcoef
from tuning_helpers import no_training, separable_data, small_space  # noqa: F401

from kerasx.tuning import TuneConfig, make_tuner, trials_table, tune
from kerasx.tuning.config import OBJECTIVES, SKLEARN_OBJECTIVES
from kerasx.tuning.objective import objective_for


def noisy_data(n, seed):
    """Separable rows with 15% of the labels flipped: no trial reaches a perfect score."""
    X, y = separable_data(n, seed=seed)
    flip = np.random.default_rng(seed).random(n) < 0.15
    return X, np.where(flip, 1 - y, y)


def sklearn_value(objective, y_true, proba):
    """The objective recomputed by scikit-learn from the model's predicted probabilities."""
    if objective == "val_matthews_correlation":
        return matthews_corrcoef(y_true, (proba > 0.5).astype(int))
    return log_loss(y_true, np.clip(proba, 1e-7, 1 - 1e-7))


@pytest.mark.parametrize(
    ("objective", "direction"), [("val_matthews_correlation", "max"), ("val_loss", "min")]
)
def test_the_best_trial_is_the_best_by_the_objective(tmp_path, objective, direction):
    """Catches a direction taken from the wrong end (the lowest MCC or the highest loss), and a
    score that is not the metric on the validation rows (recomputed with scikit-learn from the
    best model, which KerasTuner keeps at the trial's best epoch)."""
    X, y = noisy_data(240, seed=1)
    X_val, y_val = noisy_data(120, seed=2)
    # No penalty or dropout: Keras's val_loss is then the plain cross-entropy scikit-learn sees.
    space = small_space(l2=0.0, dropout=0.0, learning_rate=(1e-3, 5e-2))
    tuner = make_tuner(space, tuner="random", objective=objective, max_trials=2,
                       directory=tmp_path, seed=4)  # fmt: skip
    assert tuner.oracle.objective.direction == direction
    tuner.search(X, y, validation_data=(X_val, y_val), epochs=3, batch_size=32, verbose=0)
    scores = trials_table(tuner)["score"]
    assert scores.nunique() == 2  # the trials differ, so the choice matters
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == (scores.max() if direction == "max" else scores.min())
    proba = tuner.get_best_models(1)[0].predict(X_val, verbose=0)[:, 0]
    assert sklearn_value(objective, y_val, proba) == pytest.approx(best.score, abs=2e-4)


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_matthews_correlation", "max"),  # kerasx's metric declares it
        ("matthews_correlation", "max"),
        ("val_auc", "max"),  # Keras's
        ("val_accuracy", "max"),
        ("val_loss", "min"),
        ("loss", "min"),
    ],
)
@pytest.mark.usefixtures("no_training")
def test_every_mlp_objective_takes_the_direction_of_its_metric(tmp_path, name, direction):
    assert name in OBJECTIVES
    tuner = make_tuner(small_space(), tuner="random", objective=name, directory=tmp_path)
    assert (tuner.oracle.objective.name, tuner.oracle.objective.direction) == (name, direction)


@pytest.mark.usefixtures("no_training")
def test_an_explicit_objective_keeps_its_direction(tmp_path):
    objective = keras_tuner.Objective("val_loss", "max")  # odd, but what the user asked for
    tuner = make_tuner(small_space(), tuner="random", objective=objective, directory=tmp_path)
    assert tuner.oracle.objective.direction == "max"


@pytest.mark.usefixtures("no_training")
def test_an_unknown_objective_lists_the_valid_names(tmp_path):
    X, y = separable_data(20)
    message = f"Invalid value for argument `objective`. Expected one of {OBJECTIVES!r}. Received: objective='val_mcc'"
    for call in (
        lambda: TuneConfig(out=tmp_path, tuner="random", objective="val_mcc"),
        lambda: tune(X, y, out=tmp_path, tuner="random", objective="val_mcc"),
        lambda: make_tuner(small_space(), tuner="random", objective="val_mcc", directory=tmp_path),
    ):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == message
    expected = f"one of {tuple(SKLEARN_OBJECTIVES)!r} with tuner='sklearn'"
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        TuneConfig(out=tmp_path, tuner="sklearn", objective="val_loss")


def test_a_metric_without_a_known_direction_is_refused():
    with pytest.raises(ValueError, match=r"keras_tuner.Objective\('val_my_score', 'max'\)"):
        objective_for("val_my_score", names=("loss", "val_my_score"))


def test_sklearn_scores_the_objective_by_cross_validation(tmp_path):
    """``tuner="sklearn"`` with ``val_auc``: each trial's score is the mean of its folds' AUC."""
    X, y = noisy_data(120, seed=3)
    result = tune(X, y, out=tmp_path, tuner="sklearn", wrapper="keras", hypermodel=small_space(),
                  objective="val_auc", cv=2, epochs=3, max_trials=2, progress=False)  # fmt: skip
    trials = result["trials"]
    for _, row in trials.iterrows():
        assert len(row["fold_scores"]) == 2
        assert row["score"] == pytest.approx(np.mean(row["fold_scores"]))
    assert result["best_score"] == trials["score"].max()
    assert 0.5 < result["best_score"] <= 1.0  # AUC, not accuracy at one threshold
