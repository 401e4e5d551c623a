"""``tune``: a search into a folder, in this process or as a chain of processes; ``search``: the
same for a model of one's own."""

import dataclasses
import tempfile

import keras_tuner
import numpy as np

from kerasx._validation import check_data, invalid_value
from kerasx.tuning._held_out import check_groups, resolve_split
from kerasx.tuning.config import TuneConfig
from kerasx.tuning.folder import record_search, search_in_process
from kerasx.tuning.models import as_hypermodel
from kerasx.tuning.objective import logged_names, objective_for
from kerasx.tuning.processes import search_in_processes
from kerasx.tuning.space import malaria_search_space
from kerasx.tuning.tuners import is_distributed

__all__ = ["search", "tune"]


def tune(X, y, *, groups=None, X_test=None, y_test=None, config=None, **options):
    """Runs a search into the folder ``out``, resuming what an earlier run left there.

    Writes ``out/trials.csv`` (one row per trial: hyperparameters, ``score``, ``fold_scores``
    when cross-validated, ``seconds``, ``peak_rss_mb``, KerasTuner's learning curves
    ``curve_<metric>`` as JSON lists, ``validation``; rewritten after every trial),
    ``out/best_model.keras``, ``out/best.json`` (best hyperparameters, score, test accuracy when
    test data is given, and ``validation``) and, after a KerasTuner search,
    ``out/learning_curves.png`` (the best trials' curves of the objective on one figure). Running it again on the same folder reuses the finished trials: KerasTuner
    reloads its oracle and runs again only the trial that was interrupted; the ``"sklearn"`` path
    skips the candidates already in ``trials.csv`` (its draws are fixed by ``seed``). A folder
    that holds a different search (another tuner, seed, split, data…) is refused unless
    ``overwrite=True``.

    How trials validate (``split``, resolved from ``groups`` when None): with ``groups``, on
    held-out patients: KerasTuner trains every trial on the same patients and validates on
    others, about ``validation_split`` of the rows
    (:func:`kerasx.data.grouped_validation_split`), and cross-validation (the ``"sklearn"``
    path, or KerasTuner with ``cv``) uses ``StratifiedGroupKFold``. Without, on held-out rows:
    the last ``validation_split`` of the rows, or ``StratifiedKFold``. ``validation`` in the
    outputs says which, with the number of validation patients and rows (per fold when
    cross-validated).

    KerasTuner with ``cv=K`` scores each trial by the mean over the K folds of the objective's
    best epoch in each fold (``fold_scores`` in the trials table lists them), then refits the
    best hyperparameters on all of ``X`` for ``epochs`` epochs: a trial costs K times a
    hold-out trial, and the search one more fit.

    Distributed search uses KerasTuner's own mode: run the same search once with
    ``KERASTUNER_TUNER_ID=chief`` and once per worker with ``KERASTUNER_TUNER_ID=tuner0``,
    ``tuner1``…, all with ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` pointing at the
    chief, and the same ``out`` folder (a shared file system).

    Args:
        X: training inputs.
        y: integer class labels.
        groups: one patient id per row of ``X`` (e.g. from
            ``kerasx.data.load_malaria(..., return_groups=True)``), or None.
        X_test: optional test inputs, to report the best model's test accuracy.
        y_test: optional test labels.
        config: a :class:`~kerasx.tuning.TuneConfig`, or None to make one from ``options``.
        **options: the fields of :class:`~kerasx.tuning.TuneConfig` (``out``, ``tuner``,
            ``max_trials``, ``epochs``, ``objective``, ``hypermodel``…); with ``config``, they
            replace its fields.

    Returns:
        A dict with ``trials`` (the table), ``best_hyperparameters``, ``best_score``,
        ``model`` (the best model; None on a distributed worker), ``test_accuracy`` and
        ``validation``, how the trials validated: ``method`` (``"held-out patients
        (grouped)"`` or ``"held-out rows (cell split)"``), ``folds`` (1 for KerasTuner's
        hold-out), ``validation_rows`` and, grouped, ``validation_patients`` (one number per
        fold for ``"sklearn"``), and a one-line ``summary``.

    Raises:
        ValueError: for an invalid option, data that is empty, not numeric, not finite
            (NaN or inf) or of mismatched lengths, ``groups`` not one per row (or fewer than
            the folds), or ``split="patient"`` without ``groups``, before anything trains.

    >>> import tempfile
    >>> import numpy as np
    >>> from kerasx.tuning import MLPHyperModel
    >>> X = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> space = MLPHyperModel((3,), n_hidden=1, n_neurons=4, dropout=0.0, l2=0.0)
    >>> result = tune(X, y, out=tempfile.mkdtemp(), tuner="random", hypermodel=space,
    ...               max_trials=1, epochs=1, progress=False)
    >>> len(result["trials"]), result["validation"]["method"]
    (1, 'held-out rows (cell split)')
    """
    config = TuneConfig(**options) if config is None else dataclasses.replace(config, **options)
    if is_distributed():
        if config.tuner == "sklearn":
            raise invalid_value("tuner", "a KerasTuner tuner in distributed mode", config.tuner)
        if config.trials_per_process is not None:
            expected = "None in distributed mode"
            raise invalid_value("trials_per_process", expected, config.trials_per_process)
    X, y = check_data(X, y)
    if X_test is not None and y_test is not None:
        X_test, y_test = check_data(X_test, y_test, x_name="X_test", y_name="y_test")
    split = resolve_split(config.split, groups)
    groups = check_groups(groups, y, n_splits=config.folds)
    config = dataclasses.replace(config, split=split)
    if config.hypermodel is None:
        config = dataclasses.replace(config, hypermodel=malaria_search_space(X.shape[1:]))
    elif not isinstance(config.hypermodel, keras_tuner.HyperModel):  # a build function
        config = dataclasses.replace(config, hypermodel=as_hypermodel(config.hypermodel))
    if config.tuner != "sklearn":
        # The objective against the names the model logs, before the folder is written: a
        # refused objective leaves nothing behind (the search checks it again, on its rows).
        names, probe = logged_names(config.hypermodel, X[:32], y[:32])
        objective_for(config.objective, names, probe)
        del probe
    record_search(config, X)
    if config.trials_per_process is not None:
        return search_in_processes(X, y, config, X_test, y_test, groups)
    return search_in_process(X, y, config, X_test, y_test, groups)


def search(
    model,
    x,
    y,
    *,
    space=None,
    max_trials=10,
    epochs=10,
    objective="val_accuracy",
    tuner="random",
    groups=None,
    out=None,
    build_kwargs=None,
    x_test=None,
    y_test=None,
    progress=False,
    **options,
):
    """Searches the hyperparameters of a model of one's own, with KerasTuner or scikit-learn.

    ``model`` is what the user has (:func:`kerasx.tuning.models.as_hypermodel`): a
    ``keras_tuner.HyperModel``, a KerasTuner build function ``build(hp)``, or a build function
    with keyword hyperparameters and its ``space`` in any form
    :func:`~kerasx.tuning.distributions.search_dimension` reads, the course's included:

    >>> import numpy as np
    >>> from scipy.stats import reciprocal
    >>> from kerasx.tuning import build_mlp
    >>> space = {"n_hidden": [0, 1, 2, 3], "n_neurons": np.arange(4, 33),
    ...          "learning_rate": reciprocal(3e-4, 3e-2)}
    >>> X = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> result = search(build_mlp, X, y, space=space, max_trials=1, epochs=1)
    >>> sorted(result["best_hyperparameters"])
    ['learning_rate', 'n_hidden', 'n_neurons']

    Everything else is :func:`tune`'s: the objective may be the loss or any metric the model
    compiles, plain or ``val_`` (checked, and its direction read from the metric, before any
    trial trains); ``groups`` validates on held-out patients; ``cv`` and the other options are
    :class:`~kerasx.tuning.TuneConfig`'s fields.

    Args:
        model: the model to search (see above).
        x: training inputs.
        y: integer class labels (or whatever the model's loss takes).
        space: ``{name: values}`` for a keyword build function; None otherwise.
        max_trials: number of trials.
        epochs: epochs per trial.
        objective: a logged metric's name, or a ``keras_tuner.Objective``.
        tuner: ``"random"``, ``"bayesian"``, ``"hyperband"`` or, for
            :func:`~kerasx.tuning.build_mlp` with a ``space``, ``"sklearn"``.
        groups: one patient id per row of ``x``, or None.
        out: the folder of the search (resumed when it holds the same search); None for a new
            temporary folder.
        build_kwargs: fixed keyword arguments of a keyword build function; its
            ``input_shape``, when it takes one, is ``x``'s by default.
        x_test: optional test inputs (the best model's test accuracy needs an ``accuracy``
            metric).
        y_test: optional test labels.
        progress: print one line per finished trial.
        **options: more :class:`~kerasx.tuning.TuneConfig` fields (``cv``, ``batch_size``,
            ``validation_split``, ``seed``, ``overwrite``…).

    Returns:
        :func:`tune`'s result dict (``trials``, ``best_hyperparameters``, ``best_score``,
        ``model``, ``validation``…) with ``out``, the folder.

    Raises:
        ValueError: for a model, space or option that cannot run, before anything trains.
    """
    hypermodel = as_hypermodel(model, space, input_shape=np.shape(x)[1:], build_kwargs=build_kwargs)
    if tuner == "sklearn" and not getattr(hypermodel, "builds_mlp", False):
        expected = "a KerasTuner tuner for a model of one's own ('sklearn' searches build_mlp)"
        raise invalid_value("tuner", expected, tuner)
    if out is None:
        out = tempfile.mkdtemp(prefix="kerasx_search_")
    result = tune(
        x, y, groups=groups, X_test=x_test, y_test=y_test, out=out, hypermodel=hypermodel,
        tuner=tuner, max_trials=max_trials, epochs=epochs, objective=objective,
        progress=progress, **options,
    )  # fmt: skip
    return {**result, "out": out}
