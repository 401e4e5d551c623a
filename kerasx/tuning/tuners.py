"""The KerasTuner path: :func:`make_tuner`, :func:`trials_table` and the search into a folder.

>>> import tempfile
>>> from kerasx.tuning.space import MLPHyperModel
>>> hypermodel = MLPHyperModel((4,), n_hidden=(1, 2), n_neurons=(4, 8))
>>> tuner = make_tuner(hypermodel, tuner="random", objective="val_acc", directory=".")
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `objective`. Expected one of ('accuracy', 'auc', 'loss', 'matthews_correlation', 'val_accuracy', 'val_auc', 'val_loss', 'val_matthews_correlation'). Received: objective='val_acc'
"""

import os
import time
import zlib

import keras
import keras_tuner
import numpy as np
import pandas as pd

from kerasx import _io
from kerasx._compat import KerasTunerWithoutTensorBoard, keras_tuner_whole_json_files
from kerasx._validation import check_int, check_one_of, invalid_value
from kerasx.callbacks._direction import best_index
from kerasx.tuning._held_out import folds, holdout
from kerasx.tuning._table import write_trials
from kerasx.tuning.config import KERAS_TUNERS
from kerasx.tuning.objective import logged_names, objective_for
from kerasx.tuning.report import FIGURE_FILE, plot_learning_curves

__all__ = ["fold_score", "make_tuner", "mean_curves", "search_with_keras_tuner", "trials_table"]

_TIMES_PREFIX = "kerasx_times_"
_HISTORIES_PREFIX = "kerasx_histories_"


class _TimedTuner(KerasTunerWithoutTensorBoard):
    """Mixin for a KerasTuner tuner: seeds and times each trial, and reports it when it ends.

    Each trial starts from ``keras.utils.set_random_seed(oracle seed + trial number)``, so its
    result depends on its hyperparameters only, not on the trials run before it in the same
    process: a search resumed after a crash (which runs the interrupted trial again, in a new
    process) gives the same trials as an uninterrupted one. Trial times go to
    ``<project_dir>/kerasx_times_<tuner_id>.json`` (one file per worker, so distributed workers
    never write the same file), written whole, before KerasTuner records the trial as done.
    KerasTuner's own state files are written whole too, while ``search`` runs.

    Every trial's per-epoch history (one per fold with cross-validation) goes to
    ``<project_dir>/kerasx_histories_<tuner_id>.json``, with each fold's score. With
    ``cv_folds`` a trial fits once per fold, validating on the fold's rows, and KerasTuner
    averages the folds' results into the trial's score (as it averages
    ``executions_per_trial``).
    """

    on_trial_done = None  # callable(tuner, trial_id, seconds), set by ``make_tuner``
    # The search's seed, set by ``make_tuner``: a distributed worker's oracle is an
    # ``OracleClient`` that does not expose the chief oracle's ``seed``.
    trial_seed_base = None
    # [(fit_rows, validation_rows), ...] for cross-validation, set by ``make_tuner``.
    cv_folds = None

    def run_trial(self, trial, *args, **kwargs):
        if self.cv_folds is None:
            results = super().run_trial(trial, *args, **kwargs)
        else:
            results = self._cross_validate(trial, *args, **kwargs)
        self._record_histories(trial, results)
        return results

    def _cross_validate(self, trial, x, y, *args, **kwargs):
        """One fit per fold, each validated on its held-out rows; the list of their results."""
        results = []
        for fit_rows, validation_rows in self.cv_folds:
            fold_kwargs = dict(kwargs, validation_data=(x[validation_rows], y[validation_rows]))
            fold = super().run_trial(trial, x[fit_rows], y[fit_rows], *args, **fold_kwargs)
            results.extend(fold if isinstance(fold, list) else [fold])
        return results

    def _record_histories(self, trial, results):
        results = results if isinstance(results, list) else [results]
        histories = [r.history for r in results if isinstance(r, keras.callbacks.History)]
        record = {"histories": [{k: [float(v) for v in values] for k, values in h.items()}
                                for h in histories]}  # fmt: skip
        if self.cv_folds is not None:
            record["fold_scores"] = [fold_score(r, self.oracle.objective) for r in results]
        path = os.path.join(self.project_dir, f"{_HISTORIES_PREFIX}{self.tuner_id}.json")
        records = _io.read_json(path, default={})
        records[trial.trial_id] = record
        _io.write_json(path, records)

    def search(self, *args, **kwargs):
        """KerasTuner's ``search``, with its state files (``oracle.json``, ``trial.json``)
        written whole (:func:`kerasx._compat.keras_tuner_whole_json_files`)."""
        with keras_tuner_whole_json_files():
            return super().search(*args, **kwargs)

    def on_trial_begin(self, trial):
        if self.trial_seed_base is not None:
            keras.utils.set_random_seed(trial_seed(self.trial_seed_base, trial.trial_id))
        self._trial_started = time.perf_counter()
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        seconds = time.perf_counter() - self._trial_started
        path = os.path.join(self.project_dir, f"{_TIMES_PREFIX}{self.tuner_id}.json")
        times = _io.read_json(path, default={})
        times[trial.trial_id] = [seconds, _io.peak_rss_mb()]
        _io.write_json(path, times)
        super().on_trial_end(trial)
        if self.on_trial_done is not None:
            self.on_trial_done(self, trial.trial_id, seconds)


class _RandomSearch(_TimedTuner, keras_tuner.RandomSearch):
    pass


class _Hyperband(_TimedTuner, keras_tuner.Hyperband):
    pass


class _BayesianOptimization(_TimedTuner, keras_tuner.BayesianOptimization):
    pass


def fold_score(result, objective):
    """The score of one fit, as KerasTuner reads it: a ``History``'s best epoch by the
    objective's direction, a dict's value, or the number itself (NaN when missing).

    >>> history = keras.callbacks.History()
    >>> history.history = {"val_loss": [0.7, 0.5, 0.6]}
    >>> fold_score(history, keras_tuner.Objective("val_loss", "min"))
    0.5
    """
    if isinstance(result, keras.callbacks.History):
        values = result.history.get(objective.name, [])
        index = best_index(values, objective.direction)
        return np.nan if index is None else float(values[index])
    if isinstance(result, dict):
        return float(result.get(objective.name, np.nan))
    return float(result)


def trial_seed(seed, trial_id):
    """The seed of trial ``trial_id`` of a search seeded with ``seed``.

    >>> trial_seed(0, "03"), trial_seed(5, "03")
    (3, 8)
    """
    number = int(trial_id) if trial_id.isdigit() else zlib.crc32(trial_id.encode("utf-8"))
    return (seed + number) % 2**31


_TUNER_CLASSES = dict(
    zip(KERAS_TUNERS, (_Hyperband, _RandomSearch, _BayesianOptimization), strict=True)
)


def make_tuner(
    hypermodel,
    *,
    tuner="hyperband",
    objective="val_accuracy",
    max_trials=10,
    max_epochs=10,
    factor=3,
    directory,
    project_name="search",
    overwrite=False,
    seed=0,
    on_trial_done=None,
    folds=None,
    **kwargs,
):
    """Creates a KerasTuner tuner over ``hypermodel``, checking every argument first.

    The objective name is checked against the metrics the hypermodel compiles (for an
    :class:`~kerasx.tuning.MLPHyperModel`: the loss, accuracy, AUC and Matthews correlation,
    plain and ``val_``) *before* any trial runs (KerasTuner alone only fails after the first
    trial has trained), and its direction is read from the metric
    (:mod:`kerasx.tuning.objective`): ``"val_matthews_correlation"`` is maximized, ``"val_loss"``
    minimized. Each trial's wall time and per-epoch history are recorded (see
    :func:`trials_table`). With ``overwrite=False`` (the default) a tuner created on an existing
    ``directory/project_name`` reloads it: finished trials are kept and an interrupted one is
    run again.

    With ``folds`` KerasTuner cross-validates: ``search(x, y, ...)`` fits each trial once per
    fold on ``x[fit_rows]``, validating on ``x[validation_rows]``, and the trial's score is the
    mean of the folds' scores (each the objective at the fold's best epoch); a trial costs
    ``len(folds)`` hold-out trials. ``search`` then takes no ``validation_data`` or
    ``validation_split``. KerasTuner keeps the last fold's model as the trial's: refit the best
    hyperparameters on all rows for a final model.

    Args:
        hypermodel: a ``keras_tuner.HyperModel``, e.g. an :class:`~kerasx.tuning.MLPHyperModel`.
        tuner: ``"hyperband"``, ``"random"`` or ``"bayesian"``.
        objective: a metric name (``"val_accuracy"``) or a ``keras_tuner.Objective``. A model
            of one's own is checked by :func:`search_with_keras_tuner`, which has data to build
            it on; here only its direction is read from the name.
        max_trials: most trials to run (>= 1); for Hyperband a cap on top of its brackets, or
            None for no cap.
        max_epochs: Hyperband's most epochs per model (>= 1); unused by the others (pass
            ``epochs`` to ``search``).
        factor: Hyperband's reduction factor (>= 2).
        directory: folder holding the search's files.
        project_name: subfolder of ``directory`` for this search.
        overwrite: start afresh instead of resuming.
        seed: seed of the oracle's draws.
        on_trial_done: optional ``callable(tuner, trial_id, seconds)`` called after each trial.
        folds: ``[(fit_rows, validation_rows), ...]`` (index arrays, e.g. a scikit-learn
            splitter's ``split``) to cross-validate every trial; None for KerasTuner's own
            validation. Not with ``"hyperband"``, which continues a trial's model in the next.
        **kwargs: passed on to the KerasTuner class.

    Returns:
        The tuner (a subclass of ``keras_tuner.RandomSearch``, ``Hyperband`` or
        ``BayesianOptimization``).

    Raises:
        ValueError: for an unknown tuner or objective, or an invalid number.

    >>> import tempfile
    >>> from kerasx.tuning.space import MLPHyperModel
    >>> tuner = make_tuner(MLPHyperModel((4,)), tuner="random", directory=tempfile.mkdtemp())
    >>> isinstance(tuner, keras_tuner.RandomSearch)
    True
    """
    check_one_of("tuner", tuner, KERAS_TUNERS)
    objective = objective_for(objective, logged_names(hypermodel)[0])
    folds = _check_folds(folds, tuner)
    if max_trials is not None or tuner != "hyperband":
        check_int("max_trials", max_trials, minimum=1)
    options = {"objective": objective, "seed": seed}
    if tuner == "hyperband":
        options["max_epochs"] = check_int("max_epochs", max_epochs, minimum=1)
        options["factor"] = check_int("factor", factor, minimum=2)
    else:
        options["max_trials"] = max_trials
    result = _TUNER_CLASSES[tuner](
        hypermodel,
        **options,
        directory=os.fspath(directory),
        project_name=project_name,
        overwrite=overwrite,
        **kwargs,
    )
    if tuner == "hyperband" and max_trials is not None:
        result.oracle.max_trials = max_trials
    result.on_trial_done = on_trial_done
    result.trial_seed_base = seed
    result.cv_folds = folds
    return result


def _check_folds(folds, tuner):
    if folds is None:
        return None
    if tuner == "hyperband":
        expected = "None with tuner='hyperband' (it continues a trial's model in the next)"
        raise invalid_value("folds", expected, f"{len(folds)} folds", describe=str)
    folds = [(np.asarray(fit), np.asarray(validation)) for fit, validation in folds]
    if len(folds) < 2 or any(len(fit) == 0 or len(val) == 0 for fit, val in folds):
        expected = "at least 2 (fit_rows, validation_rows) pairs, none empty"
        raise invalid_value("folds", expected, f"{len(folds)} folds", describe=str)
    return folds


def _read_records(project_dir, prefix):
    """The union of the ``<prefix><tuner_id>.json`` files of every worker."""
    records = {}
    for name in sorted(os.listdir(project_dir)):
        if name.startswith(prefix) and name.endswith(".json"):
            records.update(_io.read_json(os.path.join(project_dir, name)))
    return records


def mean_curves(histories):
    """``{"curve_<metric>": per-epoch mean over the histories}`` (NaN past a shorter one).

    >>> mean_curves([{"loss": [1.0, 0.5]}, {"loss": [0.8]}])
    {'curve_loss': [0.9, 0.5]}
    """
    curves = {}
    for metric in dict.fromkeys(key for history in histories for key in history):
        series = [history.get(metric, []) for history in histories]
        padded = np.full((len(series), max(map(len, series))), np.nan)
        for row, values in zip(padded, series, strict=True):
            row[: len(values)] = values
        curves[f"curve_{metric}"] = [float(v) for v in np.nanmean(padded, axis=0)]
    return curves


def trials_table(tuner):
    """The trials of a KerasTuner search as a table: one row per trial.

    Columns: ``trial_id``, ``status``, one column per hyperparameter, ``score`` (the objective's
    best value in the trial; with cross-validation the mean of the folds'), ``fold_scores``
    (cross-validated searches only: each fold's score), ``seconds`` (wall time),
    ``peak_rss_mb`` (the process's peak resident memory at the end of the trial), and the
    learning curves: one ``curve_<metric>`` column per logged metric (``curve_loss``,
    ``curve_val_loss``, ``curve_val_auc``…), each a list with one value per epoch (the mean over
    the folds when cross-validated). Times and curves exist for trials run by a tuner from
    :func:`make_tuner` (NaN otherwise).

    Args:
        tuner: a KerasTuner tuner.

    Returns:
        A ``pandas.DataFrame`` sorted by ``trial_id``.

    Raises:
        ValueError: ``tuner`` is not a KerasTuner tuner.

    >>> import tempfile
    >>> from kerasx.tuning.space import MLPHyperModel
    >>> tuner = make_tuner(MLPHyperModel((4,)), tuner="random", directory=tempfile.mkdtemp())
    >>> list(trials_table(tuner).columns)
    ['trial_id', 'status', 'score', 'seconds', 'peak_rss_mb']
    """
    if not (hasattr(tuner, "oracle") and hasattr(tuner, "project_dir")):
        raise invalid_value("tuner", "a KerasTuner tuner", tuner)
    times = _read_records(tuner.project_dir, _TIMES_PREFIX)
    records = _read_records(tuner.project_dir, _HISTORIES_PREFIX)
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        record = records.get(trial_id, {})
        row = {"trial_id": trial_id, "status": trial.status}
        row.update(trial.hyperparameters.values)
        row["score"] = trial.score
        if "fold_scores" in record:
            row["fold_scores"] = record["fold_scores"]
        row["seconds"], row["peak_rss_mb"] = times.get(trial_id, (np.nan, np.nan))
        row.update(mean_curves(record.get("histories", [])))
        rows.append(row)
    rows.sort(key=lambda row: (len(row["trial_id"]), row["trial_id"]))
    columns = ["trial_id", "status"]
    last = ["score", "fold_scores", "seconds", "peak_rss_mb"]
    if not any("fold_scores" in row for row in rows):
        last.remove("fold_scores")
    names = [name for row in rows for name in row if name not in columns + last]
    curves = [name for name in dict.fromkeys(names) if name.startswith("curve_")]
    hp_names = [name for name in dict.fromkeys(names) if not name.startswith("curve_")]
    return pd.DataFrame(rows, columns=[*columns, *hp_names, *last, *curves])


def is_distributed():
    """True when KerasTuner's distributed mode is on (``KERASTUNER_ORACLE_IP`` is set)."""
    return "KERASTUNER_ORACLE_IP" in os.environ


def is_worker():
    """True in a distributed search's worker (its oracle lives in the chief)."""
    return is_distributed() and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def search_with_keras_tuner(X, y, config, groups=None):
    """Runs (or resumes) the KerasTuner search of ``config`` in ``config.out``.

    Args:
        X: training inputs.
        y: integer class labels.
        config: a :class:`~kerasx.tuning.TuneConfig` whose ``hypermodel`` is set.
        groups: one patient id per row: every trial validates on the same whole patients,
            about ``config.validation_split`` of the rows, and trains on the others
            (:func:`kerasx.data.grouped_validation_split`); None validates on the last
            ``config.validation_split`` of the rows (Keras's ``validation_split``). With
            ``config.cv`` the folds are ``StratifiedGroupKFold``'s (``StratifiedKFold``'s
            without groups), and the best hyperparameters are refit on all rows.

    Writes ``trials.csv`` (after every trial) and ``learning_curves.png``, the best trials'
    learning curves (:func:`kerasx.tuning.report.plot_learning_curves`).

    Returns:
        ``(trials, best_hyperparameters, best_score, model, validation)``, ``validation`` the
        record of the hold-out or folds (its ``summary`` is the ``validation`` column of the
        trials); the first four None on a distributed worker.

    Raises:
        RuntimeError: when no trial finished.
    """
    csv_path = os.path.join(config.out, "trials.csv")
    cv_folds = None
    if config.folds is None:
        X_fit, y_fit, fit_kwargs, validation = holdout(
            X, y, groups, validation_split=config.validation_split, seed=config.seed
        )
    else:
        splitter, validation = folds(config.folds, y, groups)
        cv_folds = list(splitter.split(np.zeros(len(y)), y, groups))
        X_fit, y_fit, fit_kwargs = X, y, {}

    def table(tuner):
        return trials_table(tuner).assign(validation=validation["summary"])

    def on_trial_done(tuner, trial_id, seconds):
        trial = tuner.oracle.get_trial(trial_id)
        score = np.nan if trial.score is None else trial.score
        message = f"trial {trial_id} {trial.status}: score={score:.4f} ({seconds:.1f} s)"
        _io.progress("tune", message, enabled=config.progress)
        if not is_distributed():
            write_trials(csv_path, table(tuner))

    names, probe = logged_names(config.hypermodel, X_fit, y_fit)
    objective = objective_for(config.objective, names, probe)
    del probe
    tuner = make_tuner(
        config.hypermodel,
        tuner=config.tuner,
        objective=objective,
        max_trials=config.trial_limit,
        max_epochs=config.epochs,
        directory=config.out,
        project_name="keras_tuner",
        overwrite=config.overwrite,
        seed=config.seed,
        on_trial_done=on_trial_done,
        folds=cv_folds,
    )
    where = f"{config.tuner} search in {config.out}"
    if is_worker():  # the chief's oracle holds the trials
        message = f"{config.tuner} worker {tuner.tuner_id} in {config.out}"
    else:
        done = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
        message = f"{where}: {done} finished trial(s) reused"
    _io.progress("tune", message, enabled=config.progress)
    _io.progress("tune", f"validation: {validation['summary']}", enabled=config.progress)
    if cv_folds is not None:
        message = (
            f"cross-validation: each trial fits {len(cv_folds)} models ({len(cv_folds)}x the "
            "time of one hold-out), then the best hyperparameters are refit on all rows"
        )
        _io.progress("tune", message, enabled=config.progress)
    tuner.search(
        X_fit, y_fit, epochs=config.epochs, batch_size=config.batch_size, verbose=0, **fit_kwargs
    )
    if is_worker():
        return None, None, None, None, validation
    trials = table(tuner)
    write_trials(csv_path, trials)
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None:
        failed = [t.message for t in tuner.oracle.trials.values() if t.message]
        raise RuntimeError(f"No trial of the search finished. Last error: {failed[-1:]}")
    if (
        f"curve_{objective.name}" in trials.columns
    ):  # none when a HyperModel's fit returns no History
        path = os.path.join(config.out, FIGURE_FILE)
        plot_learning_curves(trials, path, objective.name, objective.direction)
    if cv_folds is None:
        model = tuner.get_best_models(1)[0]
    else:
        model = _refit(tuner, best[0].hyperparameters, X, y, config)
    return trials, best[0].hyperparameters.values, best[0].score, model, validation


def _refit(tuner, hp, X, y, config):
    """The best hyperparameters' model fitted on all rows (as ``RandomizedSearchCV`` refits)."""
    keras.utils.set_random_seed(config.seed)
    model = tuner.hypermodel.build(hp)
    tuner.hypermodel.fit(hp, model, X, y, epochs=config.epochs, batch_size=config.batch_size,
                         verbose=0)  # fmt: skip
    return model
