"""The settings of one search, :class:`TuneConfig`, and the names all of tuning shares.

This module imports neither Keras nor KerasTuner: ``kerasx tune --help`` builds its options
from these fields without starting TensorFlow. Each field carries its own check (the same one
``argparse`` runs at parse time) and its help text; adding an option means adding a field here
and using it where the search runs.

>>> config = TuneConfig(out="runs/tune", tuner="random", max_trials=3)
>>> config.trial_limit, config.identity()["tuner"]
(3, 'random')
>>> TuneConfig(out="runs/tune", epochs=0)
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0
"""

import dataclasses
import functools
import os

from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value

__all__ = [
    "KERAS_TUNERS",
    "MLP_METRICS",
    "OBJECTIVES",
    "SKLEARN_OBJECTIVES",
    "TUNERS",
    "WRAPPERS",
    "TuneConfig",
    "objective_name",
    "objective_names",
]

#: KerasTuner's algorithms; ``"sklearn"`` is ``RandomizedSearchCV``'s candidates.
KERAS_TUNERS = ("hyperband", "random", "bayesian")
TUNERS = (*KERAS_TUNERS, "sklearn")
#: The scikit-learn wrappers of the sklearn path: scikeras' ``KerasClassifier`` or Keras's own.
WRAPPERS = ("scikeras", "keras")
#: How trials validate: on held-out patients (``groups`` given) or on held-out rows.
SPLITS = ("patient", "cell")
#: The metrics :func:`kerasx.tuning.build_mlp` compiles for a binary output, besides the loss
#: (Keras's accuracy and AUC, kerasx's Matthews correlation); for more classes it has no AUC.
MLP_METRICS = ("accuracy", "auc", "matthews_correlation")
_DEFAULT_MAX_TRIALS = 10
_DEFAULT_FOLDS = 5


def objective_names(metrics=MLP_METRICS):
    """The objectives a search may use: the loss and ``metrics``, each plain and ``val_``.

    >>> objective_names(("accuracy",))
    ('accuracy', 'loss', 'val_accuracy', 'val_loss')
    """
    names = tuple(dict.fromkeys(("loss", *metrics)))
    return tuple(sorted(names + tuple(f"val_{name}" for name in names)))


#: The objectives of the MLP's search (:func:`kerasx.tuning.build_mlp`, binary output).
OBJECTIVES = objective_names()

#: The objectives ``tuner="sklearn"`` can score by cross-validation, and the scikit-learn
#: scorer of each.
SKLEARN_OBJECTIVES = {
    "val_accuracy": "accuracy",
    "val_auc": "roc_auc",
    "val_matthews_correlation": "matthews_corrcoef",
}


def objective_name(value):
    """The metric name of an objective: the string itself, or a ``keras_tuner.Objective``'s name.

    >>> objective_name("val_auc")
    'val_auc'
    """
    return getattr(value, "name", value)


def _check_objective(name, value):
    """A metric name or a ``keras_tuner.Objective``; which names exist is checked against the
    model (:meth:`TuneConfig.__post_init__` for the MLP, the tuner for a model of one's own)."""
    if not isinstance(objective_name(value), str) or not objective_name(value):
        raise invalid_value(name, "a metric name such as 'val_accuracy'", value)
    return value


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise invalid_value(name, "True or False", value)
    return value


def _option(default, parse, check, *, help, identifies=False, optional=False, **check_kwargs):
    """A field of :class:`TuneConfig`: its default, check, command-line help and role.

    Args:
        default: the default value.
        parse: turns command-line text into a value (``int``, ``float``, ``str``, ``bool`` for a
            flag), or None for a field the command line does not set.
        check: a ``kerasx._validation`` check, called as ``check(name, value, **check_kwargs)``.
        help: the option's help text.
        identifies: True when a different value makes a different search (one that may not
            resume the folder of another), or a tuple of the tuners for which it does.
        optional: None is allowed (and skips the check).
        **check_kwargs: passed on to ``check``.
    """
    metadata = {
        "parse": parse,
        "check": functools.partial(check, **check_kwargs),
        "help": help,
        "identifies": identifies,
        "optional": optional,
    }
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """Everything :func:`kerasx.tuning.tune` needs to know about one search, checked once.

    Frozen and picklable: the chain of processes (``trials_per_process``) hands it to each
    child as it is. Every field is checked when the config is made, with the standard
    ``ValueError``; ``kerasx tune`` runs the same checks on its options at parse time.

    Args:
        out: the output folder (created if needed; an existing file is refused).
        tuner: ``"hyperband"``, ``"random"``, ``"bayesian"`` (KerasTuner, validated on one
            held-out share of the training data, ``validation_split``) or ``"sklearn"``
            (``RandomizedSearchCV``'s candidates, scored by ``cv``-fold cross-validation).
        max_trials: number of trials (candidates for ``"sklearn"``); None for 10, or for
            Hyperband its full bracket schedule (a number caps it).
        epochs: epochs per trial (Hyperband's ``max_epochs``).
        objective: the metric to maximize or minimize, by name: the loss or any metric the
            model compiles, plain or ``val_`` (for :func:`kerasx.tuning.build_mlp`:
            :data:`OBJECTIVES`), or a ``keras_tuner.Objective``. Whether higher or lower is
            better comes from the metric itself, by the rule kerasx's callbacks follow with
            ``mode="auto"`` (a metric's declared direction, then its name). ``"sklearn"`` scores
            :data:`SKLEARN_OBJECTIVES` by cross-validation.
        validation_split: fraction of rows KerasTuner validates on, in (0, 1): whole patients
            (:func:`kerasx.data.grouped_validation_split`) under ``split="patient"``, the last
            rows (Keras's ``validation_split``) under ``split="cell"``.
        split: how trials validate, part of the search's identity: ``"patient"`` (held-out
            patients: KerasTuner's validation rows are whole patients, the sklearn path's folds
            are ``StratifiedGroupKFold``'s; needs ``groups``) or ``"cell"`` (held-out rows, no
            groups); None for ``"patient"`` when :func:`kerasx.tuning.tune` gets ``groups``,
            ``"cell"`` otherwise (``kerasx tune``: ``"patient"`` for a folder).
        batch_size: batch size.
        cv: folds (>= 2). ``"sklearn"``: its cross-validation (None for 5). KerasTuner
            (``"random"``, ``"bayesian"``): each trial's score is the mean over ``cv`` folds
            (``StratifiedGroupKFold`` with ``groups``, else ``StratifiedKFold``), each fold's
            score on record (``fold_scores``), and the best hyperparameters are refit on all
            the training rows; a trial then costs ``cv`` times a hold-out trial (plus one refit
            at the end). None: one hold-out (``validation_split``). Hyperband continues models
            from one trial to the next, which cross-validation cannot do: not with it.
        wrapper: ``"scikeras"`` or ``"keras"``, for ``"sklearn"``.
        seed: seed of the draws and of Keras (>= 0).
        overwrite: discard what ``out`` holds and start afresh.
        progress: print one line per finished trial.
        trials_per_process: run the search as a chain of child processes, each adding at most
            this many trials (TensorFlow frees the native memory of a traced ``fit`` only when
            its process ends); None runs everything in this process.
        hypermodel: what to tune: None for :func:`kerasx.tuning.malaria_search_space` on the
            data's shape, an :class:`kerasx.tuning.MLPHyperModel`, or (KerasTuner tuners) any
            ``keras_tuner.HyperModel`` or build function ``build(hp)`` returning a compiled
            model (see :func:`kerasx.tuning.search`).

    Raises:
        ValueError: for an invalid field or a combination that cannot run.
    """

    out: str
    tuner: str = _option(
        "hyperband", str, check_one_of, allowed=TUNERS, identifies=True,
        help="search algorithm: hyperband, random, bayesian (KerasTuner) or sklearn "
        "(RandomizedSearchCV's candidates, cross-validated)",
    )  # fmt: skip
    max_trials: int | None = _option(
        None, int, check_int, minimum=1, optional=True,
        help="trials to run (default 10; RandomizedSearchCV candidates for sklearn); for "
        "hyperband a cap on its bracket schedule (default: none)",
    )  # fmt: skip
    epochs: int = _option(
        10, int, check_int, minimum=1, identifies=True,
        help="epochs per trial (max for hyperband)",
    )  # fmt: skip
    objective: str = _option(
        "val_accuracy", str, _check_objective, identifies=True,
        help=f"metric to optimize: the loss or a compiled metric, plain or val_ (the MLP: "
        f"{', '.join(OBJECTIVES)}; sklearn: {', '.join(SKLEARN_OBJECTIVES)}); higher or lower "
        "is better as the metric itself says",
    )  # fmt: skip
    validation_split: float = _option(
        0.2, float, check_in_range, low=0, high=1, low_open=True, high_open=True,
        help="share of the training rows KerasTuner validates on",
    )  # fmt: skip
    split: str | None = _option(
        None, str, check_one_of, allowed=SPLITS, identifies=True, optional=True,
        help="validate on held-out patients (patient; folders only, their default) or on "
        "held-out rows (cell; the default for tfds, synthetic and the built-in data)",
    )  # fmt: skip
    batch_size: int = _option(32, int, check_int, minimum=1, help="batch size")
    cv: int | None = _option(
        None, int, check_int, minimum=2, optional=True, identifies=True,
        help="folds: sklearn's cross-validation (default 5); random and bayesian score each "
        "trial by the mean over K folds, grouped by patient with --split patient (K times the "
        "time of one hold-out; default: one hold-out)",
    )  # fmt: skip
    wrapper: str = _option(
        "scikeras", str, check_one_of, allowed=WRAPPERS, identifies=("sklearn",),
        help="scikit-learn wrapper (sklearn): scikeras or keras",
    )  # fmt: skip
    seed: int = _option(0, int, check_int, minimum=0, identifies=True, help="seed")
    overwrite: bool = _option(False, bool, _check_bool, help="start afresh in the folder")
    progress: bool = _option(True, None, _check_bool, help="one line per finished trial")
    trials_per_process: int | None = _option(
        None, int, check_int, minimum=1, optional=True,
        help="run the search as a chain of processes of N trials each, so memory stays flat",
    )  # fmt: skip
    hypermodel: object = dataclasses.field(default=None)

    def __post_init__(self):
        if not isinstance(self.out, (str, os.PathLike)):
            raise invalid_value("out", "a folder path", self.out)
        out = os.fspath(self.out)
        if os.path.exists(out) and not os.path.isdir(out):
            raise invalid_value("out", "a folder (new or existing), not a file", out)
        object.__setattr__(self, "out", out)  # the frozen dataclass's own normalization
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            check = field.metadata.get("check")
            if check is not None and not (field.metadata["optional"] and value is None):
                check(field.name, value)
        self._check_hypermodel()
        self._check_objective_name()
        if self.cv is not None and self.tuner == "hyperband":
            expected = (
                "None with tuner='hyperband' (it continues a trial's model in the next, "
                "which cross-validation cannot do); use 'random' or 'bayesian'"
            )
            raise invalid_value("cv", expected, self.cv)

    def _check_hypermodel(self):
        model = self.hypermodel
        if self.tuner == "sklearn":
            if model is not None and not getattr(model, "builds_mlp", False):
                expected = "an MLPHyperModel, build_mlp with a space, or None with tuner='sklearn'"
                raise invalid_value("hypermodel", expected, model)
        elif model is not None and not (callable(model) or hasattr(model, "build")):
            expected = "a keras_tuner.HyperModel, a build function or None"
            raise invalid_value("hypermodel", expected, model)

    def _check_objective_name(self):
        """The objective among the names the model is known to log (the MLP's, the sklearn
        scorers); a model of one's own is checked by the tuner, which builds one first."""
        name = objective_name(self.objective)
        if self.tuner == "sklearn":
            if name not in SKLEARN_OBJECTIVES:
                expected = (
                    f"one of {tuple(SKLEARN_OBJECTIVES)} with tuner='sklearn' (its "
                    "cross-validated scores)"
                )
                raise invalid_value("objective", expected, self.objective)
            return
        names = OBJECTIVES if self.hypermodel is None else None
        names = getattr(self.hypermodel, "metric_names", names)
        if names is not None:
            check_one_of("objective", name, names)

    @property
    def folds(self):
        """The number of cross-validation folds: ``cv``, 5 for ``"sklearn"`` when None, or None
        (KerasTuner's one hold-out)."""
        if self.cv is None and self.tuner == "sklearn":
            return _DEFAULT_FOLDS
        return self.cv

    @property
    def trial_limit(self):
        """``max_trials``, or its default: 10, or None (no cap) for Hyperband."""
        if self.max_trials is None and self.tuner != "hyperband":
            return _DEFAULT_MAX_TRIALS
        return self.max_trials

    def identity(self):
        """The fields that make one search differ from another (see ``identifies``).

        A folder holding a search with a different identity is not resumed.
        """
        identity = {}
        for field in dataclasses.fields(self):
            role = field.metadata.get("identifies", False)
            if role is True or (role and self.tuner in role):
                value = getattr(self, field.name)
                plain = value is None or isinstance(value, (int, str))
                identity[field.name] = value if plain else str(value)
        identity.pop("cv")
        if self.folds is not None:  # a hold-out search records none (as before `cv` applied)
            identity["cv"] = self.folds
        return identity

    @classmethod
    def options(cls):
        """The fields the command line sets: ``(field, parse, check, help)`` for each."""
        return [
            (field, field.metadata["parse"], field.metadata["check"], field.metadata["help"])
            for field in dataclasses.fields(cls)
            if field.metadata.get("parse") is not None
        ]
