"""Hyperparameter search for the course's MLP: KerasTuner search spaces and the scikit-learn path.

Two ways to tune the same MLP (:func:`build_mlp`):

- KerasTuner: :class:`MLPHyperModel` (ranges as arguments, log scales where they belong) with
  :func:`make_tuner` (``"random"``, ``"hyperband"``, ``"bayesian"``), which checks the objective
  name before anything trains and times every trial;
- scikit-learn: :func:`randomized_search`, the course's ``RandomizedSearchCV`` over scikeras'
  ``KerasClassifier`` or Keras's own ``keras.wrappers.SKLearnClassifier``.

:func:`tune` (``kerasx tune`` on the command line) runs either one into a folder: a trials table
(``trials.csv``: hyperparameters, score, seconds), the best model (``best_model.keras``), and a
search that resumes from the folder without re-running finished trials. Every trial builds its
model in a clean Keras session, and no model of a finished trial stays referenced. One limit
remains, measured on TensorFlow 2.21 / Keras 3.15: each traced ``fit`` leaves roughly its weights
and optimizer slots of native memory behind (Keras's optimizer update inside ``tf.function``;
keras-team/keras#17458), which no session clearing frees; ``tune(..., trials_per_process=N)``
(``kerasx tune --trials-per-process N``) runs the search as a chain of processes that each
resume it, which keeps memory flat.

Distributed search uses KerasTuner's own mode: run the same command once with
``KERASTUNER_TUNER_ID=chief`` and once per worker with ``KERASTUNER_TUNER_ID=tuner0``,
``tuner1``…, all with ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` pointing at the
chief, and the same ``--out`` folder (a shared file system).

>>> hypermodel = MLPHyperModel((4,), n_hidden=(1, 2), n_neurons=(4, 8))
>>> tuner = make_tuner(hypermodel, tuner="random", objective="val_acc", directory=".")
Traceback (most recent call last):
...
ValueError: Invalid value for argument `objective`. Expected one of ('accuracy', 'loss', 'val_accuracy', 'val_loss'). Received: objective='val_acc'
"""

import json
import os
import time

import keras
import keras_tuner
import numpy as np
import pandas as pd

from kerasx._tuning_procs import run_in_processes
from kerasx._tuning_sklearn import (
    course_param_distributions,
    peak_rss_mb,
    plain_params,
    randomized_search,
    refit_best,
    resumable_search,
)
from kerasx._tuning_space import MLPHyperModel, build_mlp, malaria_search_space
from kerasx._validation import check_int, check_one_of, invalid_value

__all__ = [
    "TUNERS",
    "MLPHyperModel",
    "build_mlp",
    "course_param_distributions",
    "make_tuner",
    "malaria_search_space",
    "randomized_search",
    "trials_table",
    "tune",
]

TUNERS = ("hyperband", "random", "bayesian", "sklearn")
_TIMES_PREFIX = "kerasx_times_"


class _TimedTuner:
    """Mixin for a KerasTuner tuner: times each trial and reports it when the trial ends.

    Trial times go to ``<project_dir>/kerasx_times_<tuner_id>.json`` (one file per worker, so
    distributed workers never write the same file) before KerasTuner records the trial as done.
    """

    on_trial_done = None  # callable(tuner, trial_id, seconds), set by ``make_tuner``

    def on_trial_begin(self, trial):
        self._trial_started = time.perf_counter()
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        seconds = time.perf_counter() - self._trial_started
        path = os.path.join(self.project_dir, f"{_TIMES_PREFIX}{self.tuner_id}.json")
        times = _read_json(path)
        times[trial.trial_id] = [seconds, peak_rss_mb()]
        _write_json(path, times)
        super().on_trial_end(trial)
        if self.on_trial_done is not None:
            self.on_trial_done(self, trial.trial_id, seconds)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # KerasTuner 1.4 imports tensorboard in every trial under TensorFlow, even without a
        # TensorBoard callback; tensorboard is not installed with TensorFlow 2.21.
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class _RandomSearch(_TimedTuner, keras_tuner.RandomSearch):
    pass


class _Hyperband(_TimedTuner, keras_tuner.Hyperband):
    pass


class _BayesianOptimization(_TimedTuner, keras_tuner.BayesianOptimization):
    pass


_TUNER_CLASSES = {
    "random": _RandomSearch,
    "hyperband": _Hyperband,
    "bayesian": _BayesianOptimization,
}


def _read_json(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _write_json(path, data):
    # Write then rename, so a process killed mid-write never leaves a torn file.
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as file:
        json.dump(data, file)
    os.replace(tmp, path)


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
    :class:`MLPHyperModel`: ``loss``, ``accuracy`` and their ``val_`` forms) *before* any trial
    runs; KerasTuner alone only fails after the first trial has trained. Each trial's wall time
    is recorded (see :func:`trials_table`). With ``overwrite=False`` (the default) a tuner
    created on an existing ``directory/project_name`` reloads it: finished trials are kept and
    an interrupted one is run again.

    Args:
        hypermodel: a ``keras_tuner.HyperModel``, e.g. an :class:`MLPHyperModel`.
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
    >>> tuner = make_tuner(MLPHyperModel((4,)), tuner="random", directory=tempfile.mkdtemp())
    >>> isinstance(tuner, keras_tuner.RandomSearch)
    True
    """
    check_one_of("tuner", tuner, tuple(_TUNER_CLASSES))
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

    >>> import tempfile
    >>> tuner = make_tuner(MLPHyperModel((4,)), tuner="random", directory=tempfile.mkdtemp())
    >>> list(trials_table(tuner).columns)
    ['trial_id', 'status', 'score', 'seconds', 'peak_rss_mb']
    """
    times = {}
    for name in sorted(os.listdir(tuner.project_dir)):
        if name.startswith(_TIMES_PREFIX) and name.endswith(".json"):
            times.update(_read_json(os.path.join(tuner.project_dir, name)))
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


def _is_distributed():
    return "KERASTUNER_ORACLE_IP" in os.environ


def _is_worker():
    return _is_distributed() and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def _check_config(out, config, overwrite):
    """Refuses to resume a folder that holds a different search (other tuner, seed, data…)."""
    path = os.path.join(out, "search.json")
    config = json.loads(json.dumps(config))  # tuples become lists, as in the file
    previous = _read_json(path)
    if previous and previous != config and not overwrite:
        raise invalid_value(
            "out",
            f"a folder holding the same search ({previous}) or overwrite=True",
            os.fspath(out),
        )
    if not _is_worker():
        _write_json(path, config)


def _write_csv(table, path):
    tmp = f"{path}.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)


def _progress(enabled, message):
    if enabled:
        print(f"[kerasx tune] {message}", flush=True)


def tune(
    X,
    y,
    *,
    out,
    tuner="hyperband",
    hypermodel=None,
    max_trials=None,
    epochs=10,
    objective="val_accuracy",
    validation_split=0.2,
    batch_size=32,
    cv=5,
    wrapper="scikeras",
    seed=0,
    X_test=None,
    y_test=None,
    overwrite=False,
    progress=True,
    trials_per_process=None,
):
    """Runs a search into the folder ``out``, resuming what an earlier run left there.

    Writes ``out/trials.csv`` (one row per trial: hyperparameters, ``score``, ``seconds``;
    rewritten after every trial), ``out/best_model.keras`` and ``out/best.json`` (best
    hyperparameters, score, and test accuracy when test data is given). Running it again on the
    same folder reuses the finished trials: KerasTuner reloads its oracle (``overwrite=False``)
    and runs again only the trial that was interrupted; the ``"sklearn"`` path skips the
    candidates already in ``trials.csv`` (its draws are fixed by ``seed``).

    Args:
        X: training inputs.
        y: integer class labels.
        out: the output folder (created if needed).
        tuner: ``"hyperband"``, ``"random"``, ``"bayesian"`` (KerasTuner, validation on the last
            ``validation_split`` of the rows) or ``"sklearn"`` (``RandomizedSearchCV``'s
            candidates, ``cv``-fold accuracy).
        hypermodel: an :class:`MLPHyperModel`; :func:`malaria_search_space` by default. The
            sklearn path searches its :meth:`MLPHyperModel.param_distributions`.
        max_trials: number of trials (candidates for ``"sklearn"``); None for 10, or for
            Hyperband its full bracket schedule (a number caps it).
        epochs: epochs per trial (Hyperband's ``max_epochs``).
        objective: KerasTuner objective; for ``"sklearn"`` it must be ``"val_accuracy"`` (the
            cross-validated accuracy).
        validation_split: fraction of rows KerasTuner validates on.
        batch_size: batch size.
        cv: folds for ``"sklearn"``.
        wrapper: ``"scikeras"`` or ``"keras"``, for ``"sklearn"``.
        seed: seed of the draws and of Keras.
        X_test: optional test inputs, to report the best model's test accuracy.
        y_test: optional test labels.
        overwrite: discard what ``out`` holds and start afresh.
        progress: print one line per finished trial.
        trials_per_process: run the search as a chain of child processes, each resuming it and
            adding at most this many trials (the data goes through ``out``), so that memory
            stays flat (TensorFlow keeps native memory of every traced ``fit`` until the process
            ends); None runs everything in this process.

    Returns:
        A dict with ``trials`` (the table), ``best_hyperparameters``, ``best_score``,
        ``model`` (the best model; None on a distributed worker) and ``test_accuracy``.

    Raises:
        ValueError: for an invalid argument, before anything trains.

    >>> import tempfile
    >>> X = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> space = MLPHyperModel((3,), n_hidden=1, n_neurons=4, dropout=0.0, l2=0.0)
    >>> result = tune(X, y, out=tempfile.mkdtemp(), tuner="random", hypermodel=space,
    ...               max_trials=1, epochs=1, progress=False)
    >>> len(result["trials"])
    1
    """
    check_one_of("tuner", tuner, TUNERS)
    hypermodel = hypermodel or malaria_search_space(input_shape=tuple(np.shape(X)[1:]))
    if tuner == "sklearn":
        check_one_of("objective", objective, ("val_accuracy",))
        check_one_of("wrapper", wrapper, ("scikeras", "keras"))
    if max_trials is None and tuner != "hyperband":
        max_trials = 10
    if max_trials is not None:
        check_int("max_trials", max_trials, minimum=1)
    check_int("epochs", epochs, minimum=1)
    if tuner == "sklearn" and _is_distributed():
        raise invalid_value("tuner", "a KerasTuner tuner in distributed mode", tuner)
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    config = {"tuner": tuner, "seed": seed, "epochs": epochs, "objective": str(objective)}
    config.update(input_shape=list(np.shape(X)[1:]), n_samples=len(X), space=hypermodel.ranges)
    if tuner == "sklearn":
        config.update(cv=cv, wrapper=wrapper)
    _check_config(out, config, overwrite)
    keras.utils.set_random_seed(seed)
    settings = dict(
        out=out, hypermodel=hypermodel, tuner=tuner, max_trials=max_trials, epochs=epochs,
        objective=objective, validation_split=validation_split, batch_size=batch_size, cv=cv,
        wrapper=wrapper, seed=seed, progress=progress, overwrite=overwrite,
    )  # fmt: skip
    if trials_per_process is not None:
        check_int("trials_per_process", trials_per_process, minimum=1)
        if _is_distributed():
            raise invalid_value(
                "trials_per_process", "None in distributed mode", trials_per_process
            )
        return run_in_processes(X, y, X_test, y_test, settings, trials_per_process)
    run = _tune_sklearn if tuner == "sklearn" else _tune_keras_tuner
    trials, best_hps, best_score, model = run(X, y, settings)
    return _finish(out, trials, best_hps, best_score, model, X_test, y_test, progress)


def _tune_keras_tuner(X, y, settings):
    out, progress = settings["out"], settings["progress"]
    csv_path = os.path.join(out, "trials.csv")

    def on_trial_done(tuner, trial_id, seconds):
        trial = tuner.oracle.get_trial(trial_id)
        score = np.nan if trial.score is None else trial.score
        _progress(progress, f"trial {trial_id} {trial.status}: score={score:.4f} ({seconds:.1f} s)")
        if not _is_distributed():
            _write_csv(trials_table(tuner), csv_path)

    tuner = make_tuner(
        settings["hypermodel"],
        tuner=settings["tuner"],
        objective=settings["objective"],
        max_trials=settings["max_trials"],
        max_epochs=settings["epochs"],
        directory=out,
        project_name="keras_tuner",
        overwrite=settings["overwrite"],
        seed=settings["seed"],
        on_trial_done=on_trial_done,
    )
    if _is_worker():  # the chief's oracle holds the trials
        _progress(progress, f"{settings['tuner']} worker {tuner.tuner_id} in {out}")
    else:
        done = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
        _progress(progress, f"{settings['tuner']} search in {out}: {done} finished trial(s) reused")
    tuner.search(
        X,
        y,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_split=settings["validation_split"],
        verbose=0,
    )
    if _is_worker():
        return None, None, None, None
    trials = trials_table(tuner)
    _write_csv(trials, csv_path)
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None:
        failed = [t.message for t in tuner.oracle.trials.values() if t.message]
        raise RuntimeError(f"No trial of the search finished. Last error: {failed[-1:]}")
    best = best[0]
    model = tuner.get_best_models(1)[0]
    return trials, best.hyperparameters.values, best.score, model


def _tune_sklearn(X, y, settings):
    out, progress = settings["out"], settings["progress"]
    csv_path = os.path.join(out, "trials.csv")
    rows = []
    if os.path.exists(csv_path) and not settings["overwrite"]:
        rows = pd.read_csv(csv_path, dtype={"trial_id": str}).to_dict("records")
    _progress(progress, f"sklearn search in {out}: {len(rows)} finished trial(s) reused")

    def on_trial_done(row):
        rows.append(row)
        _write_csv(pd.DataFrame(rows), csv_path)
        _progress(progress, f"trial {row['trial_id']} COMPLETED: score={row['score']:.4f} "
                  f"({row['seconds']:.1f} s)")  # fmt: skip

    options = {name: settings[name] for name in ("cv", "wrapper", "epochs", "batch_size", "seed")}
    candidates = resumable_search(
        X,
        y,
        param_distributions=settings["hypermodel"].param_distributions(),
        n_iter=settings["max_trials"],
        done_ids={row["trial_id"] for row in rows},
        on_trial_done=on_trial_done,
        **options,
    )
    trials = pd.DataFrame(rows).sort_values("trial_id", ignore_index=True)
    best = trials.loc[trials["score"].idxmax()]
    best_params = candidates[int(best["trial_id"])]
    options.pop("cv")
    estimator = refit_best(X, y, best_params, **options)
    return trials, plain_params(best_params), float(best["score"]), estimator.model_


def _finish(out, trials, best_hps, best_score, model, X_test, y_test, progress):
    result = {
        "trials": trials,
        "best_hyperparameters": best_hps,
        "best_score": best_score,
        "model": model,
        "test_accuracy": None,
    }
    if model is None:  # a distributed worker: the chief writes the results
        return result
    if X_test is not None:
        metrics = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
        result["test_accuracy"] = float(metrics["accuracy"])
    if not model.optimizer.built:  # KerasTuner reloads weights only: save a complete model
        model.optimizer.build(model.trainable_variables)
    model.save(os.path.join(out, "best_model.keras"))
    summary = {key: result[key] for key in ("best_hyperparameters", "best_score", "test_accuracy")}
    _write_json(os.path.join(out, "best.json"), summary)
    _progress(progress, f"best score {best_score:.4f} with {best_hps}; model in {out}")
    if result["test_accuracy"] is not None:
        _progress(progress, f"test accuracy of the best model: {result['test_accuracy']:.4f}")
    return result


def _read_results(out):
    """``tune``'s result dict, read back from the files of a finished search in ``out``."""
    best = _read_json(os.path.join(out, "best.json"))
    return {
        "trials": pd.read_csv(os.path.join(out, "trials.csv"), dtype={"trial_id": str}),
        "best_hyperparameters": best["best_hyperparameters"],
        "best_score": best["best_score"],
        "model": keras.models.load_model(os.path.join(out, "best_model.keras")),
        "test_accuracy": best["test_accuracy"],
    }
