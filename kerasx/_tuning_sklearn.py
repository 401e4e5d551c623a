"""The scikit-learn path: ``randomized_search`` with scikeras or Keras's own wrapper.

Private module; the public names are re-exported by :mod:`kerasx.tuning`.
"""

import copy
import numbers
import resource
import time

import keras
import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import (
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
)

from kerasx._tuning_space import MLP_PARAMS, build_mlp, check_range, log_uniform_int
from kerasx._validation import check_int, check_one_of, invalid_value

__all__ = [
    "WRAPPERS",
    "course_param_distributions",
    "make_estimator",
    "peak_rss_mb",
    "plain_params",
    "randomized_search",
    "refit_best",
    "resolve_param_distributions",
    "resumable_search",
]

WRAPPERS = ("scikeras", "keras")
# build_mlp's defaults: scikeras passes to the build function only the parameters given here.
_DEFAULTS = {
    "n_hidden": 1,
    "n_neurons": 30,
    "learning_rate": 1e-3,
    "dropout": 0.0,
    "l2": 0.0,
    "activation": "relu",
}


def course_param_distributions():
    """The course's search space for ``RandomizedSearchCV``.

    ``n_hidden`` in {0, 1, 2, 3}, ``n_neurons`` in 1..99, ``learning_rate`` log-uniform on
    [3e-4, 3e-2] (``reciprocal`` in the course).

    >>> sorted(course_param_distributions())
    ['learning_rate', 'n_hidden', 'n_neurons']
    """
    return {
        "n_hidden": [0, 1, 2, 3],
        "n_neurons": list(range(1, 100)),
        "learning_rate": stats.loguniform(3e-4, 3e-2),
    }


class _SKLearnMLPClassifier(keras.wrappers.SKLearnClassifier):
    """``keras.wrappers.SKLearnClassifier`` over :func:`build_mlp` with the MLP's parameters exposed.

    The stock wrapper takes the build arguments as one ``model_kwargs`` dict, which
    ``RandomizedSearchCV`` cannot vary key by key, and its ``__sklearn_clone__`` drops
    ``fit_kwargs``; here each build argument (and ``epochs``, ``batch_size``, ``fit_params``) is an estimator parameter and cloning keeps them all.
    """

    def __init__(
        self,
        n_hidden=1,
        n_neurons=30,
        learning_rate=1e-3,
        dropout=0.0,
        l2=0.0,
        activation="relu",
        optimizer="adam",
        epochs=10,
        batch_size=32,
        verbose=0,
        fit_params=None,
    ):
        # The stock ``fit_kwargs`` stays None: ``SKLBase.fit`` updates that dict in place.
        super().__init__(model=build_mlp)
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.l2 = l2
        self.activation = activation
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose
        self.fit_params = fit_params

    def __sklearn_clone__(self):
        return type(self)(**copy.deepcopy(self.get_params(deep=False)))

    def _get_model(self, X, y):
        params = {name: getattr(self, name) for name in MLP_PARAMS}
        return build_mlp(**params, optimizer=self.optimizer, X=X, y=y)

    def fit(self, X, y, **kwargs):
        merged = {"epochs": self.epochs, "batch_size": self.batch_size, "verbose": self.verbose}
        merged.update(self.fit_params or {})
        merged.update(kwargs)
        return super().fit(X, y, **merged)

    def predict(self, X):
        # The stock wrapper calls ``model_.predict`` without ``verbose``: no progress bars here.
        enabled = keras.config.is_interactive_logging_enabled()
        keras.config.disable_interactive_logging()
        try:
            return super().predict(X)
        finally:
            if enabled:
                keras.config.enable_interactive_logging()


def make_estimator(wrapper, *, epochs, batch_size, fit_kwargs=None):
    """The unfitted classifier over :func:`build_mlp` for ``wrapper`` (``"scikeras"``/``"keras"``).

    scikeras' own ``random_state`` is left unset: its seeding context leaves TensorFlow's op
    determinism switched on, after which unseeded random ops fail; seed globally instead.
    """
    check_one_of("wrapper", wrapper, WRAPPERS)
    fit_kwargs = dict(fit_kwargs or {})
    if wrapper == "keras":
        return _SKLearnMLPClassifier(
            epochs=epochs, batch_size=batch_size, verbose=0, fit_params=fit_kwargs or None
        )
    from scikeras.wrappers import KerasClassifier

    routed = {f"fit__{key}": value for key, value in fit_kwargs.items()}
    return KerasClassifier(
        model=build_mlp,
        **_DEFAULTS,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        **routed,
    )


def resolve_param_distributions(param_distributions):
    """Checks a search space and turns ``(low, high)`` pairs into distributions.

    Values may be lists, objects with ``rvs`` (scipy distributions), or ``(low, high)`` tuples:
    ``n_hidden`` → uniform integers, ``n_neurons`` → log-uniform integers, ``learning_rate`` and
    ``l2`` → log-uniform (``l2`` must then have low > 0), ``dropout`` → uniform.
    Raises the standard ``ValueError`` for an unknown name or a range with low > high.
    """
    if param_distributions is None:
        return course_param_distributions()
    resolved = {}
    for name, value in dict(param_distributions).items():
        check_one_of("param_distributions", name, MLP_PARAMS)
        resolved[name] = _resolve_one(name, value)
    return resolved


def _resolve_one(name, value):
    if hasattr(value, "rvs"):
        return value
    if isinstance(value, tuple):
        if name == "n_hidden":
            low, high = check_range(name, value, minimum=0, integer=True)
            return list(range(low, high + 1))
        if name == "n_neurons":
            return log_uniform_int(*check_range(name, value, minimum=1, integer=True))
        if name in ("learning_rate", "l2"):
            return stats.loguniform(*check_range(name, value, log=True))
        if name == "dropout":
            low, high = check_range(name, value, minimum=0.0, maximum=0.999)
            return stats.uniform(low, high - low)
    if isinstance(value, (list, range)) and len(value) > 0:
        return list(value)
    raise invalid_value(name, "a list, a distribution with rvs(), or a (low, high) tuple", value)


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
):
    """Runs the course's ``RandomizedSearchCV`` over :func:`build_mlp` and returns it fitted.

    As in the course: a Keras classifier wrapping a build function with ``n_hidden``,
    ``n_neurons`` and ``learning_rate``, ``n_iter`` random draws, each scored by ``cv``-fold
    cross-validation (stratified), the best refitted on all of ``X``. Every fit starts from a
    clean Keras session. All arguments are checked before any training.

    Args:
        X: training inputs, shape ``(n_samples, n_features)``.
        y: integer class labels.
        n_iter: number of parameter draws (>= 1).
        cv: number of folds (>= 2) or a scikit-learn splitter.
        param_distributions: dict name → list, scipy distribution or ``(low, high)`` tuple, over
            ``n_hidden``, ``n_neurons``, ``learning_rate``, ``dropout``, ``l2``, ``activation``;
            None for :func:`course_param_distributions`.
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

    Returns:
        The fitted ``sklearn.model_selection.RandomizedSearchCV``; ``best_params_`` has the keys
        of ``param_distributions``.

    Raises:
        ValueError: for an unknown wrapper, scorer or parameter name, or a range with
            low > high.

    >>> import numpy as np
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
    estimator = make_estimator(
        wrapper,
        epochs=epochs,
        batch_size=batch_size,
        fit_kwargs=fit_kwargs,
    )
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
    return search.fit(X, y)


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
    done_ids=(),
    on_trial_done=None,
):
    """``RandomizedSearchCV``'s search as a loop that can skip candidates already finished.

    The candidates are the ones ``RandomizedSearchCV(random_state=seed)`` draws (same
    ``ParameterSampler``), each scored by stratified ``cv``-fold accuracy, with Keras seeded by
    ``seed + index`` so that a resumed search gives the same scores as an uninterrupted one.

    Args:
        done_ids: trial ids (``"000"``, ``"001"``…) to skip.
        on_trial_done: ``callable(row)`` called after each new candidate with its row
            (``trial_id``, ``status``, the parameters, ``score``, ``score_std``, ``seconds``,
            ``peak_rss_mb``).

    Returns:
        The list of candidate parameter dicts, indexed by trial id.
    """
    candidates = list(
        ParameterSampler(
            resolve_param_distributions(param_distributions), n_iter, random_state=seed
        )
    )
    folds = StratifiedKFold(cv) if isinstance(cv, numbers.Integral) else cv
    estimator = make_estimator(wrapper, epochs=epochs, batch_size=batch_size)
    for index, params in enumerate(candidates):
        trial_id = f"{index:03d}"  # fixed width: ids stay the same when n_iter changes
        if trial_id in done_ids:
            continue
        keras.utils.set_random_seed(seed + index)
        started = time.perf_counter()
        scores = cross_val_score(clone(estimator).set_params(**params), X, y, cv=folds)
        row = {"trial_id": trial_id, "status": "COMPLETED", **plain_params(params)}
        row.update(score=float(np.mean(scores)), score_std=float(np.std(scores)))
        row["seconds"] = time.perf_counter() - started
        row["peak_rss_mb"] = peak_rss_mb()
        if on_trial_done is not None:
            on_trial_done(row)
    return candidates


def refit_best(X, y, params, *, wrapper, epochs, batch_size, seed):
    """Fits the estimator with ``params`` on all of ``X`` (as ``RandomizedSearchCV`` refits)."""
    keras.utils.set_random_seed(seed)
    estimator = make_estimator(wrapper, epochs=epochs, batch_size=batch_size)
    return estimator.set_params(**params).fit(X, y)


def peak_rss_mb():
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plain_params(params):
    """Turns NumPy scalars into Python ones (for JSON and CSV)."""
    return {
        key: value.item() if isinstance(value, np.generic) else value
        for key, value in params.items()
    }
