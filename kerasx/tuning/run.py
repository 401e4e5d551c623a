"""``tune``: a search into a folder, in this process or as a chain of processes."""

import dataclasses

from kerasx._validation import check_data, invalid_value
from kerasx.tuning._held_out import check_groups, resolve_split
from kerasx.tuning.config import TuneConfig
from kerasx.tuning.processes import search_in_processes
from kerasx.tuning.search import record_search, search_in_process
from kerasx.tuning.space import malaria_search_space
from kerasx.tuning.tuners import is_distributed

__all__ = ["tune"]


def tune(X, y, *, groups=None, X_test=None, y_test=None, config=None, **options):
    """Runs a search into the folder ``out``, resuming what an earlier run left there.

    Writes ``out/trials.csv`` (one row per trial: hyperparameters, ``score``, ``seconds``,
    ``peak_rss_mb``, ``validation``; rewritten after every trial), ``out/best_model.keras`` and
    ``out/best.json`` (best hyperparameters, score, test accuracy when test data is given, and
    ``validation``). Running it again on the same folder reuses the finished trials: KerasTuner
    reloads its oracle and runs again only the trial that was interrupted; the ``"sklearn"`` path
    skips the candidates already in ``trials.csv`` (its draws are fixed by ``seed``). A folder
    that holds a different search (another tuner, seed, split, data…) is refused unless
    ``overwrite=True``.

    How trials validate (``split``, resolved from ``groups`` when None): with ``groups``, on
    held-out patients: KerasTuner trains every trial on the same patients and validates on
    others, about ``validation_split`` of the rows
    (:func:`kerasx.data.grouped_validation_split`), and the ``"sklearn"`` path cross-validates
    with ``StratifiedGroupKFold``. Without, on held-out rows: the last ``validation_split`` of
    the rows, or ``StratifiedKFold``. ``validation`` in the outputs says which, with the number
    of validation patients and rows (per fold for ``"sklearn"``).

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
    n_splits = config.cv if config.tuner == "sklearn" else None
    groups = check_groups(groups, y, n_splits=n_splits)
    config = dataclasses.replace(config, split=split)
    if config.hypermodel is None:
        config = dataclasses.replace(config, hypermodel=malaria_search_space(X.shape[1:]))
    record_search(config, X)
    if config.trials_per_process is not None:
        return search_in_processes(X, y, config, X_test, y_test, groups)
    return search_in_process(X, y, config, X_test, y_test, groups)
