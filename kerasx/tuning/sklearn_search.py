"""The scikit-learn path: :func:`randomized_search` with scikeras or Keras's own wrapper.

Also the search into a folder that ``tune(tuner="sklearn")`` runs: ``RandomizedSearchCV``'s
candidates, one by one, so that a resumed search skips the finished ones.
"""

import numbers
import os
import time

import keras
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import ParameterSampler, RandomizedSearchCV, cross_val_score

from kerasx import _io
from kerasx._validation import check_data, check_int, check_one_of, invalid_value
from kerasx.tuning._classifier import check_validation_data
from kerasx.tuning._held_out import check_groups, fold_splitter, folds
from kerasx.tuning._table import read_trials, write_trials
from kerasx.tuning.config import SKLEARN_OBJECTIVES, objective_name
from kerasx.tuning.distributions import RANGE_RULES, mlp_dimension, search_dimension
from kerasx.tuning.estimators import make_estimator
from kerasx.tuning.space import MLP_PARAMS, course_param_distributions

__all__ = [
    "plain_params",
    "randomized_search",
    "refit_best",
    "resolve_param_distributions",
    "resumable_search",
    "search_with_sklearn",
]


def resolve_param_distributions(param_distributions):
    """Checks a search space and turns it into what ``RandomizedSearchCV`` draws from.

    Each value is read by the mapping KerasTuner's searches use too
    (:func:`~kerasx.tuning.distributions.mlp_dimension` for the MLP's ranges,
    :func:`~kerasx.tuning.distributions.search_dimension` for ``activation``): lists, tuples, NumPy arrays (the course's ``np.arange(4, 33)``),
    ``range``, scipy distributions (drawn from as they are), ``(low, high)`` pairs or one
    number, which become the distributions KerasTuner draws from.

    Raises:
        ValueError: for an unknown name, a range with low > high or out of its domain, or a
            value of another kind.

    >>> resolve_param_distributions({"l2": (0.0, 1e-3), "n_hidden": (1, 2)})
    {'l2': zero_or_log_uniform(1e-06, 0.001), 'n_hidden': [1, 2]}
    >>> resolve_param_distributions({"n_neurons": np.arange(4, 8)})
    {'n_neurons': [4, 5, 6, 7]}
    """
    if param_distributions is None:
        return course_param_distributions()
    resolved = {}
    for name, value in dict(param_distributions).items():
        check_one_of("param_distributions", name, MLP_PARAMS)
        map_ = mlp_dimension if name in RANGE_RULES else search_dimension
        resolved[name] = map_(name, value).sampler()
    return resolved


def _check_scoring(scoring):
    if scoring is not None and isinstance(scoring, str):
        check_one_of("scoring", scoring, sorted(get_scorer_names()))
    return scoring


def randomized_search(
    X,
    y,
    *,
    n_iter=10,
    cv=5,
    param_distributions=None,
    wrapper="scikeras",
    epochs=10,
    batch_size=32,
    scoring=None,
    random_state=0,
    fit_kwargs=None,
    refit=True,
    verbose=0,
    groups=None,
    validation_data=None,
):
    """Runs the course's ``RandomizedSearchCV`` over :func:`build_mlp` and returns it fitted.

    As in the course: a Keras classifier wrapping a build function with ``n_hidden``,
    ``n_neurons`` and ``learning_rate``, ``n_iter`` random draws, each scored by ``cv``-fold
    cross-validation (stratified), the best refitted on all of ``X``. With ``groups`` (one
    patient id per row) the folds are ``StratifiedGroupKFold``'s, so no patient has cells on
    both sides of a fold, and ``groups`` is passed on to ``fit``. Every fit starts from a clean
    Keras session. All arguments are checked before any training.

    Args:
        X: training inputs, shape ``(n_samples, n_features)``.
        y: integer class labels.
        n_iter: number of parameter draws (>= 1).
        cv: number of folds (>= 2) or a scikit-learn splitter.
        param_distributions: dict name → list, scipy distribution or ``(low, high)`` tuple, over
            ``n_hidden``, ``n_neurons``, ``learning_rate``, ``dropout``, ``l2``, ``activation``;
            None for :func:`~kerasx.tuning.course_param_distributions`.
        wrapper: ``"scikeras"`` (``scikeras.wrappers.KerasClassifier``, as in the course) or
            ``"keras"`` (``keras.wrappers.SKLearnClassifier``, maintained with Keras).
        epochs: training epochs per fit.
        batch_size: batch size per fit.
        scoring: a scikit-learn scorer name, or None for accuracy.
        random_state: seed of the draws; also seeds Keras globally
            (``keras.utils.set_random_seed``) when not None.
        fit_kwargs: extra ``model.fit`` arguments, e.g. ``{"callbacks": [...]}``.
        refit: refit the best candidate on all the data (``best_estimator_``).
        verbose: ``RandomizedSearchCV``'s verbosity.
        groups: one group (patient) id per row, or None for plain stratified folds. With an
            integer ``cv`` the folds become ``StratifiedGroupKFold(cv)``; a splitter given as
            ``cv`` gets ``groups`` too.
        validation_data: ``(X_val, y_val)``, rows kept out of ``X``: every fit of the search
            and the refit validate on them (``val_`` metrics, early stopping with an
            ``EarlyStopping`` in ``fit_kwargs["callbacks"]``), and no fold scores them, so the
            rows that stop training are never the rows that judge it.

    Returns:
        The fitted ``sklearn.model_selection.RandomizedSearchCV``; ``best_params_`` has the keys
        of ``param_distributions``, and ``best_estimator_`` (:mod:`kerasx.tuning.estimators`)
        has ``classes_``, ``predict_proba`` and ``decision_function``.

    Raises:
        ValueError: for an unknown wrapper, scorer or parameter name, a range with
            low > high, data that is empty, not numeric, not finite or of different lengths, or
            ``groups`` not one per row or fewer than the folds.

    >>> X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> search = randomized_search(X, y, n_iter=1, cv=2, epochs=1)
    >>> sorted(search.best_params_)
    ['learning_rate', 'n_hidden', 'n_neurons']
    """
    distributions = resolve_param_distributions(param_distributions)
    check_int("n_iter", n_iter, minimum=1)
    if isinstance(cv, numbers.Integral):
        check_int("cv", cv, minimum=2)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    X, y = check_data(X, y)
    if groups is not None:
        n_splits = cv if isinstance(cv, numbers.Integral) else None
        groups = check_groups(groups, y, n_splits=n_splits)
        cv = cv if n_splits is None else fold_splitter(n_splits, groups)
    if validation_data is not None:
        validation_data = check_validation_data(validation_data)
        if validation_data[0].shape[1:] != X.shape[1:]:
            expected = f"rows of the shape of X's ({X.shape[1:]})"
            received = f"validation_data[0] of shape {validation_data[0].shape}"
            raise invalid_value("validation_data", expected, received, describe=str)
        fit_kwargs = {**(fit_kwargs or {}), "validation_data": validation_data}
    estimator = make_estimator(wrapper, epochs=epochs, batch_size=batch_size, fit_kwargs=fit_kwargs)
    if random_state is not None:
        keras.utils.set_random_seed(random_state)
    search = RandomizedSearchCV(
        estimator,
        distributions,
        n_iter=n_iter,
        cv=cv,
        scoring=_check_scoring(scoring),
        random_state=random_state,
        refit=refit,
        verbose=verbose,
    )
    return search.fit(X, y) if groups is None else search.fit(X, y, groups=groups)


def resumable_search(
    X,
    y,
    *,
    param_distributions,
    n_iter,
    cv,
    wrapper,
    epochs,
    batch_size,
    seed,
    groups=None,
    done_ids=(),
    on_trial_done=None,
    scoring=None,
):
    """``RandomizedSearchCV``'s search as a loop that can skip candidates already finished.

    The candidates are the ones ``RandomizedSearchCV(random_state=seed)`` draws (same
    ``ParameterSampler``), each scored by stratified ``cv``-fold ``scoring`` (accuracy by
    default), with Keras seeded by ``seed + index`` so that a resumed search gives the same
    scores as an uninterrupted one.

    Args:
        cv: number of folds or a scikit-learn splitter.
        groups: one group (patient) id per row: an integer ``cv`` becomes
            ``StratifiedGroupKFold(cv)`` (no group on both sides of a fold), and ``groups`` is
            passed on to the splitter; None for ``StratifiedKFold(cv)``.
        done_ids: trial ids (``"000"``, ``"001"``…) to skip.
        on_trial_done: ``callable(row)`` called after each new candidate with its row
            (``trial_id``, ``status``, the parameters, ``score``, ``score_std``,
            ``fold_scores``, ``seconds``, ``peak_rss_mb``).
        scoring: a scikit-learn scorer name, or None for accuracy.

    Returns:
        The list of candidate parameter dicts, indexed by trial id.
    """
    distributions = resolve_param_distributions(param_distributions)
    candidates = list(ParameterSampler(distributions, n_iter, random_state=seed))
    splitter = fold_splitter(cv, groups) if isinstance(cv, numbers.Integral) else cv
    estimator = make_estimator(wrapper, epochs=epochs, batch_size=batch_size)
    for index, params in enumerate(candidates):
        trial_id = f"{index:03d}"  # fixed width: ids stay the same when n_iter changes
        if trial_id in done_ids:
            continue
        keras.utils.set_random_seed(seed + index)
        started = time.perf_counter()
        candidate = clone(estimator).set_params(**params)
        scores = cross_val_score(candidate, X, y, groups=groups, cv=splitter, scoring=scoring)
        row = {"trial_id": trial_id, "status": "COMPLETED", **plain_params(params)}
        row.update(score=float(np.mean(scores)), score_std=float(np.std(scores)))
        row["fold_scores"] = [float(score) for score in scores]
        row["seconds"] = time.perf_counter() - started
        row["peak_rss_mb"] = _io.peak_rss_mb()
        if on_trial_done is not None:
            on_trial_done(row)
    return candidates


def refit_best(X, y, params, *, wrapper, epochs, batch_size, seed):
    """Fits the estimator with ``params`` on all of ``X`` (as ``RandomizedSearchCV`` refits)."""
    keras.utils.set_random_seed(seed)
    estimator = make_estimator(wrapper, epochs=epochs, batch_size=batch_size)
    return estimator.set_params(**params).fit(X, y)


def plain_params(params):
    """Turns NumPy scalars into Python ones (for JSON and CSV).

    >>> plain_params({"n": np.int64(3)})
    {'n': 3}
    """
    return {
        key: value.item() if isinstance(value, np.generic) else value
        for key, value in params.items()
    }


def search_with_sklearn(X, y, config, groups=None):
    """Runs (or resumes) the ``RandomizedSearchCV`` candidates of ``config`` in ``config.out``.

    Each candidate's score is the mean over the folds of the scorer of ``config.objective``
    (:data:`~kerasx.tuning.config.SKLEARN_OBJECTIVES`); ``fold_scores`` lists the folds'.

    Args:
        X: training inputs.
        y: integer class labels.
        config: a :class:`~kerasx.tuning.TuneConfig` whose ``hypermodel`` is set.
        groups: one patient id per row, for ``StratifiedGroupKFold`` folds; None for
            ``StratifiedKFold``'s.

    Returns:
        ``(trials, best_hyperparameters, best_score, model, validation)``, ``validation`` the
        record of the folds (``method``, ``folds``, the validation rows and patients of each
        fold, and the ``summary`` that is the ``validation`` column of the trials).
    """
    csv_path = os.path.join(config.out, "trials.csv")
    splitter, validation = folds(config.folds, y, groups)
    # Trial ids stay text ("000"), as written.
    previous = None if config.overwrite else read_trials(csv_path)
    rows = [] if previous is None else previous.to_dict("records")
    message = f"sklearn search in {config.out}: {len(rows)} finished trial(s) reused"
    _io.progress("tune", message, enabled=config.progress)
    _io.progress("tune", f"validation: {validation['summary']}", enabled=config.progress)

    def on_trial_done(row):
        rows.append({**row, "validation": validation["summary"]})
        write_trials(csv_path, pd.DataFrame(rows))
        message = (
            f"trial {row['trial_id']} COMPLETED: score={row['score']:.4f} ({row['seconds']:.1f} s)"
        )
        _io.progress("tune", message, enabled=config.progress)

    options = dict(
        wrapper=config.wrapper, epochs=config.epochs, batch_size=config.batch_size,
        seed=config.seed,
    )  # fmt: skip
    candidates = resumable_search(
        X,
        y,
        param_distributions=config.hypermodel.param_distributions(),
        n_iter=config.trial_limit,
        cv=splitter,
        groups=groups,
        done_ids={row["trial_id"] for row in rows},
        on_trial_done=on_trial_done,
        scoring=SKLEARN_OBJECTIVES[objective_name(config.objective)],
        **options,
    )
    trials = pd.DataFrame(rows).sort_values("trial_id", ignore_index=True)
    best = trials.loc[trials["score"].idxmax()]
    best_params = candidates[int(best["trial_id"])]
    estimator = refit_best(X, y, best_params, **options)
    model = estimator.model_
    return trials, plain_params(best_params), float(best["score"]), model, validation
