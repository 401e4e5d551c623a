"""The scikit-learn classifiers over :func:`~kerasx.tuning.build_mlp`, one per wrapper.

:func:`kerasx.tuning.randomized_search` offers two wrappers: ``"keras"``
(:class:`KerasMLPClassifier`, on ``keras.wrappers.SKLearnClassifier``, maintained with Keras) and
``"scikeras"`` (on scikeras' ``KerasClassifier``, as in the course; scikeras 0.13 is no longer
maintained). Either way the ``best_estimator_`` a user calls is a scikit-learn classifier with
what the stock wrappers lack:

- ``classes_``, ``predict_proba`` (one column per class of ``classes_``) and
  ``decision_function`` (scikit-learn's convention: the log-odds of ``classes_[1]`` for two
  classes, else the log-probability of each class), so probability scorers (``roc_auc``,
  ``neg_log_loss``) work; the stock Keras wrapper has no ``predict_proba`` (keras-team/keras#21547)
  and its ``decision_function`` is the raw output;
- the ``classifier`` tag for scikit-learn >= 1.6: scikeras 0.13 declares itself the old way
  (``_estimator_type``), which scikit-learn 1.6 stopped reading, so ``RandomizedSearchCV(cv=5)``
  cut plain, unstratified folds and ``scoring="roc_auc"`` failed on every fold;
- a fixed ``validation_data`` among the fit arguments (``fit_kwargs``): every fit of the search,
  and the refit, validates (and stops early) on the same rows, which no fold scores; the labels
  are encoded as the training labels are.

scikit-learn's ``check_estimator`` passes on :class:`KerasMLPClassifier` (53 checks with
scikit-learn 1.9: 51 pass, and scikit-learn skips the two of :data:`SKIPPED_CHECKS`, for the
reasons given there); the checks that compare two fits need its ``random_state``, which they
set. It does not apply to scikeras'
``KerasClassifier``, whose failures are scikeras' own (its constructor sets attributes its
parameters do not name, it has no ``__sklearn_tags__``, sparse input fails without saying so) and
whose ``random_state`` switches TensorFlow's op determinism on for the rest of the process,
after which every unseeded random op fails.

>>> estimator = make_estimator("keras", epochs=2, batch_size=8)
>>> estimator.get_params()["n_neurons"], type(estimator).__name__
(30, 'KerasMLPClassifier')
"""

import contextlib
import copy

import keras
import numpy as np

from kerasx._validation import check_one_of, invalid_value
from kerasx.tuning._classifier import check_validation_data, decision_from_proba
from kerasx.tuning.config import WRAPPERS
from kerasx.tuning.space import MLP_DEFAULTS, MLP_PARAMS, build_mlp

__all__ = ["SKIPPED_CHECKS", "KerasMLPClassifier", "make_estimator"]

#: The checks scikit-learn skips for :class:`KerasMLPClassifier`, and why.
SKIPPED_CHECKS = {
    "check_pipeline_consistency": "the estimator is tagged non-deterministic (Keras's wrapper "
    "declares it: training is random)",
    "check_array_api_input": "runs only with the environment variable SCIPY_ARRAY_API=1",
}


@contextlib.contextmanager
def _no_progress_bars():
    """The stock wrappers call ``model_.predict`` without ``verbose``: no progress bars here."""
    enabled = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        yield
    finally:
        if enabled:
            keras.config.enable_interactive_logging()


class KerasMLPClassifier(keras.wrappers.SKLearnClassifier):
    """``keras.wrappers.SKLearnClassifier`` over :func:`build_mlp` with the MLP's parameters exposed.

    The stock wrapper takes the build arguments as one ``model_kwargs`` dict, which
    ``RandomizedSearchCV`` cannot vary key by key, and its ``__sklearn_clone__`` drops
    ``fit_kwargs``; here each build argument (and ``epochs``, ``batch_size``, ``fit_params``) is
    an estimator parameter and cloning keeps them all. The wrapper's public ``model`` argument
    is a callable of ``X`` and ``y``: this estimator's own ``_build``, which reads them. The
    labels arrive one-hot (the stock wrapper encodes them), so the MLP ends in one softmax unit
    per class; ``predict_proba`` is that output.

    Args:
        n_hidden, n_neurons, learning_rate, dropout, l2, activation, optimizer: as in
            :func:`build_mlp`.
        epochs: epochs of each fit.
        batch_size: batch size of each fit.
        verbose: ``fit``'s verbosity.
        fit_params: more ``model.fit`` arguments, e.g. ``{"callbacks": [...],
            "validation_data": (X_val, y_val)}`` (``y_val`` as the labels given to ``fit``).
        random_state: an integer seeds every fit (``keras.utils.set_random_seed``, which seeds
            Python's, NumPy's and the backend's generators), so two fits on the same rows give
            the same model; None leaves the seeding to the caller.
    """

    def __init__(
        self,
        n_hidden=MLP_DEFAULTS["n_hidden"],
        n_neurons=MLP_DEFAULTS["n_neurons"],
        learning_rate=MLP_DEFAULTS["learning_rate"],
        dropout=MLP_DEFAULTS["dropout"],
        l2=MLP_DEFAULTS["l2"],
        activation=MLP_DEFAULTS["activation"],
        optimizer="adam",
        epochs=10,
        batch_size=32,
        verbose=0,
        fit_params=None,
        random_state=None,
    ):
        # The stock ``fit_kwargs`` stays None: ``SKLBase.fit`` updates that dict in place.
        super().__init__(model=self._build)
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
        self.random_state = random_state

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        # The validation arrays are shared, not copied per clone (there is one per fold).
        validation = (params["fit_params"] or {}).get("validation_data") or ()
        memo = {id(array): array for array in validation}
        return type(self)(**copy.deepcopy(params, memo))

    def _build(self, X, y):
        params = {name: getattr(self, name) for name in MLP_PARAMS}
        return build_mlp(**params, optimizer=self.optimizer, X=X, y=y)

    def fit(self, X, y, **kwargs):
        """Fits a new MLP on ``X``, ``y`` (``kwargs`` and ``fit_params`` go to ``model.fit``)."""
        merged = {"epochs": self.epochs, "batch_size": self.batch_size, "verbose": self.verbose}
        merged.update(self.fit_params or {})
        merged.update(kwargs)
        if merged.get("validation_data") is not None:
            merged["validation_data"] = self._encode_validation(merged["validation_data"], y)
        if self.random_state is not None:
            keras.utils.set_random_seed(self.random_state)
        return super().fit(X, y, **merged)

    @staticmethod
    def _encode_validation(validation_data, y):
        """``(X_val, y_val)`` with ``y_val`` one-hot over the classes of ``y``, as ``fit`` does."""
        X_val, y_val = check_validation_data(validation_data)
        classes = np.unique(np.asarray(y))
        one_hot = np.asarray(y_val).reshape(-1, 1) == classes.reshape(1, -1)
        if not one_hot.any(axis=1).all():
            expected = f"labels among the training classes {classes.tolist()}"
            raise invalid_value("validation_data", expected, "other labels", describe=str)
        return X_val, one_hot.astype("float32")

    def predict(self, X):
        with _no_progress_bars():
            return super().predict(X)

    def predict_proba(self, X):
        """The probability of each class of ``classes_``: shape ``(n_samples, n_classes)``."""
        with _no_progress_bars():
            # The stock decision_function is the model's raw output: the softmax over the
            # one-hot columns, in the order of ``classes_``.
            return np.asarray(super().decision_function(X), dtype=np.float64)

    def decision_function(self, X):
        """The log-odds of ``classes_[1]`` (two classes), else the log-probability of each."""
        return decision_from_proba(self.predict_proba(X))


def make_estimator(wrapper, *, epochs, batch_size, fit_kwargs=None):
    """The unfitted classifier over :func:`build_mlp` for ``wrapper`` (``"scikeras"``/``"keras"``).

    scikeras' own ``random_state`` is left unset: its seeding context leaves TensorFlow's op
    determinism switched on, after which unseeded random ops fail; seed globally instead.

    Args:
        wrapper: ``"keras"`` (:class:`KerasMLPClassifier`) or ``"scikeras"`` (scikeras'
            ``KerasClassifier`` with the additions above).
        epochs: epochs of each fit.
        batch_size: batch size of each fit.
        fit_kwargs: more ``model.fit`` arguments, e.g. ``{"validation_data": (X_val, y_val)}``.

    Returns:
        The unfitted estimator; its parameters are :func:`build_mlp`'s defaults.
    """
    check_one_of("wrapper", wrapper, WRAPPERS)
    fit_kwargs = dict(fit_kwargs or {})
    if "validation_data" in fit_kwargs:
        fit_kwargs["validation_data"] = check_validation_data(fit_kwargs["validation_data"])
    if wrapper == "keras":
        return KerasMLPClassifier(
            epochs=epochs, batch_size=batch_size, verbose=0, fit_params=fit_kwargs or None
        )
    from kerasx.tuning._scikeras import ScikerasMLPClassifier

    routed = {f"fit__{key}": value for key, value in fit_kwargs.items()}
    # scikeras passes to the build function only the parameters given here.
    return ScikerasMLPClassifier(
        model=build_mlp, **MLP_DEFAULTS, epochs=epochs, batch_size=batch_size, verbose=0, **routed
    )
