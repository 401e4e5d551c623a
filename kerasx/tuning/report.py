"""The tuning report's figure: the learning curves of a search's best trials, on one plot.

:func:`kerasx.tuning.tune` writes it as ``learning_curves.png`` into the search's folder after
a KerasTuner search, from the trials table's ``curve_<metric>`` columns
(:func:`kerasx.tuning.trials_table`): the objective's curve of each of the best trials (solid)
and, for a ``val_`` objective, the same metric on the training rows (dashed), one colour per
trial. Curves that keep improving at the last epoch say the trials were cut short; a
validation curve that turns while the training curve goes on says overfitting.

>>> import pandas as pd
>>> trials = pd.DataFrame({"trial_id": ["0", "1"], "score": [0.7, 0.8],
...                        "curve_val_auc": [[0.6, 0.7], [0.7, 0.8]]})
>>> [trial_id for trial_id, _ in best_trials(trials, "val_auc", "max", top=1)]
['1']
"""

import numpy as np

from kerasx import _plotting
from kerasx._validation import check_int, check_one_of, invalid_value

__all__ = ["FIGURE_FILE", "best_trials", "plot_learning_curves"]

#: The file :func:`kerasx.tuning.tune` writes into the search's folder.
FIGURE_FILE = "learning_curves.png"


def best_trials(trials, metric, direction, *, top=5):
    """``[(trial_id, row), ...]`` of the ``top`` best trials with a curve of ``metric``.

    Args:
        trials: a trials table with ``trial_id``, ``score`` and ``curve_<metric>`` columns.
        metric: the objective's name (``"val_auc"``).
        direction: ``"max"`` or ``"min"``: which scores are best.
        top: how many (>= 1).

    Raises:
        ValueError: no ``curve_<metric>`` column, an unknown direction, or ``top`` < 1.
    """
    check_int("top", top, minimum=1)
    check_one_of("direction", direction, ("max", "min"))
    column = f"curve_{metric}"
    if column not in trials.columns:
        curves = [name.removeprefix("curve_") for name in trials if name.startswith("curve_")]
        expected = f"a metric with learning curves in the trials table, one of {tuple(curves)!r}"
        raise invalid_value("metric", expected, metric)
    finished = trials[trials["score"].notna() & trials[column].map(lambda c: isinstance(c, list))]
    ordered = finished.sort_values("score", ascending=direction == "min", kind="stable")
    return [(str(row["trial_id"]), row) for _, row in ordered.head(top).iterrows()]


def plot_learning_curves(trials, path, metric, direction, *, top=5):
    """Draws the learning curves of the ``top`` best trials on one figure, written to ``path``.

    Args:
        trials: a trials table with learning curves (:func:`kerasx.tuning.trials_table`).
        path: the PNG file to write.
        metric: the objective (``"val_matthews_correlation"``): its curve is drawn solid, and
            for a ``val_`` metric the training rows' curve dashed in the same colour.
        direction: ``"max"`` or ``"min"``, which scores are best.
        top: how many of the best trials to draw.

    Returns:
        ``path``.

    Raises:
        ValueError: as :func:`best_trials`.
    """
    chosen = best_trials(trials, metric, direction, top=top)
    figure = _plotting.new_figure(7, 4.5)
    axes = figure.add_subplot()
    training = metric.removeprefix("val_")
    for index, (trial_id, row) in enumerate(chosen):
        colour = f"C{index % 10}"
        values = row[f"curve_{metric}"]
        epochs = np.arange(1, len(values) + 1)
        label = f"trial {trial_id}: {row['score']:.4g}"
        axes.plot(epochs, values, color=colour, marker="o", markersize=3, label=label)
        train_values = row.get(f"curve_{training}") if training != metric else None
        if isinstance(train_values, list):
            axes.plot(np.arange(1, len(train_values) + 1), train_values, color=colour, ls="--")
    better = "higher" if direction == "max" else "lower"
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    title = f"The {len(chosen)} best trials by {metric} ({better} is better)"
    if training != metric:
        title += f"; dashed: {training} on the training rows"
    axes.set_title(title, fontsize=10)
    axes.legend(title="trial: score", fontsize=8)
    axes.grid(alpha=0.3)
    return _plotting.save_figure(figure, path)
