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
    "TUNERS",
    "WRAPPERS",
    "TuneConfig",
    "objective_names",
]

#: KerasTuner's algorithms; ``"sklearn"`` is ``RandomizedSearchCV``'s candidates.
KERAS_TUNERS = ("hyperband", "random", "bayesian")
TUNERS = (*KERAS_TUNERS, "sklearn")
#: The scikit-learn wrappers of the sklearn path: scikeras' ``KerasClassifier`` or Keras's own.
WRAPPERS = ("scikeras", "keras")
#: How trials validate: on held-out patients (``groups`` given) or on held-out rows.
SPLITS = ("patient", "cell")
#: The metrics :func:`kerasx.tuning.build_mlp` compiles, besides the loss.
MLP_METRICS = ("accuracy",)
_DEFAULT_MAX_TRIALS = 10


def objective_names(metrics=MLP_METRICS):
    """The objectives a search may use: the loss and ``metrics``, each plain and ``val_``.

    >>> objective_names()
    ('accuracy', 'loss', 'val_accuracy', 'val_loss')
    """
    names = ("loss", *metrics)
    return tuple(sorted(names + tuple(f"val_{name}" for name in names)))


OBJECTIVES = objective_names()


def _check_objective(name, value, allowed=OBJECTIVES):
    """A metric name (or a ``keras_tuner.Objective``, by its name) among ``allowed``."""
    check_one_of(name, getattr(value, "name", value), allowed)
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
            (``RandomizedSearchCV``'s candidates, scored by ``cv``-fold accuracy).
        max_trials: number of trials (candidates for ``"sklearn"``); None for 10, or for
            Hyperband its full bracket schedule (a number caps it).
        epochs: epochs per trial (Hyperband's ``max_epochs``).
        objective: the metric to maximize or minimize, by name: ``loss``, ``accuracy`` or their
            ``val_`` forms (what :func:`kerasx.tuning.build_mlp` compiles); KerasTuner infers
            the direction from the name. ``"sklearn"`` allows only ``"val_accuracy"``, its
            cross-validated accuracy.
        validation_split: fraction of rows KerasTuner validates on, in (0, 1): whole patients
            (:func:`kerasx.data.grouped_validation_split`) under ``split="patient"``, the last
            rows (Keras's ``validation_split``) under ``split="cell"``.
        split: how trials validate, part of the search's identity: ``"patient"`` (held-out
            patients: KerasTuner's validation rows are whole patients, the sklearn path's folds
            are ``StratifiedGroupKFold``'s; needs ``groups``) or ``"cell"`` (held-out rows, no
            groups); None for ``"patient"`` when :func:`kerasx.tuning.tune` gets ``groups``,
            ``"cell"`` otherwise (``kerasx tune``: ``"patient"`` for a folder).
        batch_size: batch size.
        cv: folds for ``"sklearn"`` (>= 2).
        wrapper: ``"scikeras"`` or ``"keras"``, for ``"sklearn"``.
        seed: seed of the draws and of Keras (>= 0).
        overwrite: discard what ``out`` holds and start afresh.
        progress: print one line per finished trial.
        trials_per_process: run the search as a chain of child processes, each adding at most
            this many trials (TensorFlow frees the native memory of a traced ``fit`` only when
            its process ends); None runs everything in this process.
        hypermodel: an :class:`kerasx.tuning.MLPHyperModel`, or None for
            :func:`kerasx.tuning.malaria_search_space` on the data's shape.

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
        help=f"metric to optimize, one of {', '.join(OBJECTIVES)} (sklearn: val_accuracy)",
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
    cv: int = _option(5, int, check_int, minimum=2, identifies=("sklearn",), help="folds (sklearn)")
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
        if self.tuner == "sklearn" and getattr(self.objective, "name", self.objective) != (
            "val_accuracy"
        ):
            expected = "'val_accuracy' with tuner='sklearn' (its cross-validated accuracy)"
            raise invalid_value("objective", expected, self.objective)
        if self.hypermodel is not None and not hasattr(self.hypermodel, "param_distributions"):
            raise invalid_value("hypermodel", "an MLPHyperModel or None", self.hypermodel)

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
        return identity

    @classmethod
    def options(cls):
        """The fields the command line sets: ``(field, parse, check, help)`` for each."""
        return [
            (field, field.metadata["parse"], field.metadata["check"], field.metadata["help"])
            for field in dataclasses.fields(cls)
            if field.metadata.get("parse") is not None
        ]
