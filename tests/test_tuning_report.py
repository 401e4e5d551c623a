"""Trial histories: the per-epoch curves in the trials table and the best trials' figure."""

import keras
import numpy as np
import pandas as pd
import pytest
from tuning_helpers import separable_data, small_space

from kerasx.tuning import tune
from kerasx.tuning._table import read_trials
from kerasx.tuning.report import best_trials, plot_learning_curves


def synthetic_trials():
    return pd.DataFrame(
        {
            "trial_id": ["0", "1", "2"],
            "score": [0.30, 0.20, 0.25],
            "curve_loss": [[0.9, 0.5], [0.8, 0.3], [0.7, 0.4]],
            "curve_val_loss": [[1.0, 0.3], [0.9, 0.2], [0.8, 0.25]],
        }
    )


@pytest.mark.parametrize(("direction", "expected"), [("min", ["1", "2"]), ("max", ["0", "2"])])
def test_the_figure_draws_the_best_trials_curves(tmp_path, drawn, direction, expected):
    """Catches the worst trials drawn for a minimized metric, and curves of the wrong trial."""
    trials = synthetic_trials()
    path = plot_learning_curves(trials, tmp_path / "c.png", "val_loss", direction, top=2)
    assert (tmp_path / "c.png").stat().st_size > 0 and path == str(tmp_path / "c.png")
    (axes,) = drawn[0].axes
    solid = [line for line in axes.lines if line.get_linestyle() == "-"]
    dashed = [line for line in axes.lines if line.get_linestyle() == "--"]
    assert [line.get_label().split(":")[0] for line in solid] == [f"trial {t}" for t in expected]
    by_id = trials.set_index("trial_id")
    for line, trial_id in zip(solid, expected, strict=True):
        assert list(line.get_ydata()) == by_id.loc[trial_id, "curve_val_loss"]
        assert list(line.get_xdata()) == [1, 2]
    for line, trial_id in zip(dashed, expected, strict=True):
        assert list(line.get_ydata()) == by_id.loc[trial_id, "curve_loss"]
    assert "val_loss" in axes.get_title() and ("lower" if direction == "min" else "higher") in (
        axes.get_title()
    )


def test_best_trials_refuses_a_metric_without_curves():
    message = (
        r"argument `metric`\. Expected a metric with learning curves in the trials table, one "
        r"of \('loss', 'val_loss'\)\. Received: metric='val_auc'"
    )
    with pytest.raises(ValueError, match=message):
        best_trials(synthetic_trials(), "val_auc", "max")
    with pytest.raises(ValueError, match="argument `top`"):
        best_trials(synthetic_trials(), "val_loss", "min", top=0)


def test_a_search_keeps_every_trials_history(tmp_path, monkeypatch, drawn):
    """The curves in the table, in trials.csv and on the figure are the ``History`` of each
    trial's ``fit``, epoch by epoch (read by a spy on ``fit``)."""
    histories = []
    fit = keras.Model.fit

    def spy(self, *args, **kwargs):
        history = fit(self, *args, **kwargs)
        histories.append(history.history)
        return history

    monkeypatch.setattr(keras.Model, "fit", spy)
    X, y = separable_data(160)
    result = tune(X, y, out=tmp_path, tuner="random", hypermodel=small_space(), max_trials=2,
                  epochs=3, objective="val_loss", progress=False)  # fmt: skip
    trials = result["trials"]
    on_disk = read_trials(tmp_path / "trials.csv")
    for i, history in enumerate(histories):
        for metric, values in history.items():
            np.testing.assert_allclose(trials.loc[i, f"curve_{metric}"], values, rtol=1e-6)
            np.testing.assert_allclose(on_disk.loc[i, f"curve_{metric}"], values, rtol=1e-6)
        assert trials.loc[i, "score"] == pytest.approx(min(history["val_loss"]))
    assert (tmp_path / "learning_curves.png").exists()
    (axes,) = drawn[-1].axes
    best = trials.loc[trials["score"].idxmin()]
    assert axes.lines[0].get_label().startswith(f"trial {best['trial_id']}:")
