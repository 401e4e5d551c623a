"""The KerasTuner path: :func:`make_tuner`, :func:`trials_table` and the search into a folder.

>>> import tempfile
>>> from kerasx.tuning.space import MLPHyperModel
>>> hypermodel = MLPHyperModel((4,), n_hidden=(1, 2), n_neurons=(4, 8))
>>> tuner = make_tuner(hypermodel, tuner="random", objective="val_acc", directory=".")
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `objective`. Expected one of ('accuracy', 'loss', 'val_accuracy', 'val_loss'). Received: objective='val_acc'
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
from kerasx.tuning._held_out import holdout
from kerasx.tuning.config import KERAS_TUNERS

__all__ = ["make_tuner", "search_with_keras_tuner", "trials_table"]

_TIMES_PREFIX = "kerasx_times_"


class _TimedTuner(KerasTunerWithoutTensorBoard):
    """Mixin for a KerasTuner tuner: seeds and times each trial, and reports it when it ends.

    Each trial starts from ``keras.utils.set_random_seed(oracle seed + trial number)``, so its
    result depends on its hyperparameters only, not on the trials run before it in the same
    process: a search resumed after a crash (which runs the interrupted trial again, in a new
    process) gives the same trials as an uninterrupted one. Trial times go to
    ``<project_dir>/kerasx_times_<tuner_id>.json`` (one file per worker, so distributed workers
    never write the same file), written whole, before KerasTuner records the trial as done.
    KerasTuner's own state files are written whole too, while ``search`` runs.
    """

    on_trial_done = None  # callable(tuner, trial_id, seconds), set by ``make_tuner``
    # The search's seed, set by ``make_tuner``: a distributed worker's oracle is an
    # ``OracleClient`` that does not expose the chief oracle's ``seed``.
    trial_seed_base = None

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


def _check_objective(objective, hypermodel):
    name = objective.name if isinstance(objective, keras_tuner.Objective) else objective
    allowed = getattr(hypermodel, "metric_names", None)
    if allowed is not None:
        check_one_of("objective", name, allowed)
    elif not isinstance(name, str):
        raise invalid_value("objective", "a metric name or a keras_tuner.Objective", objective)
    return objective


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
    **kwargs,
):
    """Creates a KerasTuner tuner over ``hypermodel``, checking every argument first.

    The objective name is checked against the metrics the hypermodel compiles (for an
    :class:`~kerasx.tuning.MLPHyperModel`: ``loss``, ``accuracy`` and their ``val_`` forms)
    *before* any trial runs; KerasTuner alone only fails after the first trial has trained. Each
    trial's wall time is recorded (see :func:`trials_table`). With ``overwrite=False`` (the
    default) a tuner created on an existing ``directory/project_name`` reloads it: finished
    trials are kept and an interrupted one is run again.

    Args:
        hypermodel: a ``keras_tuner.HyperModel``, e.g. an :class:`~kerasx.tuning.MLPHyperModel`.
        tuner: ``"hyperband"``, ``"random"`` or ``"bayesian"``.
        objective: a metric name (``"val_accuracy"``) or a ``keras_tuner.Objective``.
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
    _check_objective(objective, hypermodel)
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
    return result


def trials_table(tuner):
    """The trials of a KerasTuner search as a table: one row per trial.

    Columns: ``trial_id``, ``status``, one column per hyperparameter, ``score`` (the objective's
    best value in the trial), ``seconds`` (wall time) and ``peak_rss_mb`` (the process's peak
    resident memory at the end of the trial) — the last two for trials run by a tuner from
    :func:`make_tuner`, NaN otherwise.

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
    times = {}
    for name in sorted(os.listdir(tuner.project_dir)):
        if name.startswith(_TIMES_PREFIX) and name.endswith(".json"):
            times.update(_io.read_json(os.path.join(tuner.project_dir, name)))
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        row = {"trial_id": trial_id, "status": trial.status}
        row.update(trial.hyperparameters.values)
        row["score"] = trial.score
        row["seconds"], row["peak_rss_mb"] = times.get(trial_id, (np.nan, np.nan))
        rows.append(row)
    rows.sort(key=lambda row: (len(row["trial_id"]), row["trial_id"]))
    columns = ["trial_id", "status"]
    last = ["score", "seconds", "peak_rss_mb"]
    hp_names = [name for row in rows for name in row if name not in columns + last]
    return pd.DataFrame(rows, columns=[*columns, *dict.fromkeys(hp_names), *last])


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
            ``config.validation_split`` of the rows (Keras's ``validation_split``).

    Returns:
        ``(trials, best_hyperparameters, best_score, model, validation)``, ``validation`` the
        record of the hold-out (its ``summary`` is the ``validation`` column of the trials);
        the first four None on a distributed worker.

    Raises:
        RuntimeError: when no trial finished.
    """
    csv_path = os.path.join(config.out, "trials.csv")
    X_fit, y_fit, fit_kwargs, validation = holdout(
        X, y, groups, validation_split=config.validation_split, seed=config.seed
    )

    def table(tuner):
        return trials_table(tuner).assign(validation=validation["summary"])

    def on_trial_done(tuner, trial_id, seconds):
        trial = tuner.oracle.get_trial(trial_id)
        score = np.nan if trial.score is None else trial.score
        message = f"trial {trial_id} {trial.status}: score={score:.4f} ({seconds:.1f} s)"
        _io.progress("tune", message, enabled=config.progress)
        if not is_distributed():
            _io.write_csv(csv_path, table(tuner))

    tuner = make_tuner(
        config.hypermodel,
        tuner=config.tuner,
        objective=config.objective,
        max_trials=config.trial_limit,
        max_epochs=config.epochs,
        directory=config.out,
        project_name="keras_tuner",
        overwrite=config.overwrite,
        seed=config.seed,
        on_trial_done=on_trial_done,
    )
    where = f"{config.tuner} search in {config.out}"
    if is_worker():  # the chief's oracle holds the trials
        message = f"{config.tuner} worker {tuner.tuner_id} in {config.out}"
    else:
        done = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
        message = f"{where}: {done} finished trial(s) reused"
    _io.progress("tune", message, enabled=config.progress)
    _io.progress("tune", f"validation: {validation['summary']}", enabled=config.progress)
    tuner.search(
        X_fit, y_fit, epochs=config.epochs, batch_size=config.batch_size, verbose=0, **fit_kwargs
    )
    if is_worker():
        return None, None, None, None, validation
    trials = table(tuner)
    _io.write_csv(csv_path, trials)
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None:
        failed = [t.message for t in tuner.oracle.trials.values() if t.message]
        raise RuntimeError(f"No trial of the search finished. Last error: {failed[-1:]}")
    model = tuner.get_best_models(1)[0]
    return trials, best[0].hyperparameters.values, best[0].score, model, validation
