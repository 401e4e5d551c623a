"""Hyperparameter search with KerasTuner and scikit-learn: the course's MLP or a model of one's own.

Two ways to tune the same MLP (:func:`build_mlp`) over the same space (:class:`MLPHyperModel`;
one mapping turns each range, list, array or distribution into what both draw from,
:mod:`kerasx.tuning.distributions`):

- KerasTuner: :func:`make_tuner` (``"random"``, ``"hyperband"``, ``"bayesian"``), which checks
  the objective before anything trains (any compiled metric or its ``val_`` form, maximized or
  minimized as the metric itself says) and times every trial (:func:`trials_table`);
- scikit-learn: :func:`randomized_search`, the course's ``RandomizedSearchCV`` over scikeras'
  ``KerasClassifier`` or Keras's own ``keras.wrappers.SKLearnClassifier``.

:func:`search` runs the same search over a model of one's own: a build function with its space
(``search(build_mlp, X, y, space={"n_neurons": np.arange(4, 33), ...})``: the course's MLP is
one such function), a KerasTuner build function ``build(hp)``, or a ``keras_tuner.HyperModel``.

:func:`tune` (``kerasx tune`` on the command line; ``--model module:function`` for a model of
one's own) runs either one into a folder, from one frozen, checked :class:`TuneConfig`: a trials
table, the best model, and a search that resumes from the folder. With ``groups`` (one patient
id per training row) every trial validates on held-out patients; the outputs say how the
trials validated. Every trial builds its model in a clean Keras session. TensorFlow 2.21 keeps
the native memory of each traced ``fit`` until its process ends (keras-team/keras#17458), so
``trials_per_process=N`` runs the search as a chain of processes that each resume it.

Modules: ``config`` (:class:`TuneConfig`, no Keras import), ``distributions``, ``space``
(:func:`build_mlp`, :class:`MLPHyperModel`), ``models`` (a model of one's own), ``objective``,
``tuners`` (KerasTuner), ``estimators`` and ``sklearn_search`` (scikit-learn), ``_held_out``
(held-out patients or rows), ``folder`` (one search in this process), ``processes`` (a chain of
them), ``run`` (:func:`tune`, :func:`search`). The names below are loaded on first use, so
``import kerasx.tuning`` and the command line's option parsing stay light.

>>> from kerasx.tuning import TuneConfig
>>> TuneConfig(out="runs/tune", tuner="sklearn", objective="val_loss")
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `objective`. Expected one of ('val_accuracy', 'val_auc', 'val_matthews_correlation') with tuner='sklearn' (its cross-validated scores). Received: objective='val_loss'
"""

import importlib

#: Each public name and the module of :mod:`kerasx.tuning` that defines it.
_HOMES = {
    "TUNERS": "config",
    "TuneConfig": "config",
    "MLPHyperModel": "space",
    "build_mlp": "space",
    "course_param_distributions": "space",
    "malaria_search_space": "space",
    "make_tuner": "tuners",
    "trials_table": "tuners",
    "randomized_search": "sklearn_search",
    "search": "run",
    "tune": "run",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(f"kerasx.tuning.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kerasx.tuning' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
