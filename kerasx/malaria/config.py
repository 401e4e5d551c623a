"""The settings of one ``kerasx malaria`` run: :class:`MalariaConfig`, checked once.

This module imports neither Keras nor TensorFlow: ``kerasx malaria --help`` builds its options,
their help and their defaults from these fields. Each field carries its check (the same one the
command line runs at parse time), its help text, its ``--quick`` value if it has one, and its
role for a rerun into the same folder (see :mod:`kerasx.malaria.record`).

>>> config = MalariaConfig(data="synthetic", quick=True)
>>> config.models, config.split, config.image_size, config.fraction, config.epochs
(('mlp', 'cnn'), 'cell', 32, 0.5, 10)
>>> config.patience_for("cnn"), MalariaConfig(data="synthetic").patience_for("cnn")
(10, 8)
>>> default = MalariaConfig(data="synthetic")
>>> default.epochs_for("cnn"), default.epochs_for("mlp"), config.epochs_for("cnn")
(12, 100, 10)
>>> print(config.command_line("runs/malaria"))  # every setting spelled out: defaults may change
kerasx malaria --data synthetic --model all --split cell --fraction 0.5 --image-size 32 \
--cnn-image-size 32 --epochs 10 --batch-size 32 --patience 10 --backend auto --seed 0 \
--out runs/malaria
>>> MalariaConfig(data="synthetic", epochs=0)
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0
"""

import dataclasses
import functools
import os
import shlex

from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value

__all__ = ["BACKENDS", "EPOCHS", "MODELS", "PATIENCE", "MalariaConfig", "auto_backend"]

#: Every model the job can train, in the order the outputs show them.
MODELS = ("mlp", "cnn")
#: The Keras backends a run may train with (``"auto"`` picks one, see :func:`auto_backend`).
BACKENDS = ("tensorflow", "jax")
#: Epochs without a better ``val_loss`` before stopping, per model: the course's 5 for the MLP;
#: the CNN's validation loss is noisier (augmentation, batch normalization), so it gets 8.
PATIENCE = {"mlp": 5, "cnn": 8}
#: Epochs per model. The MLP's is a ceiling (early stopping ends it, at the course's constant
#: learning rate); the CNN's is the length of its one-cycle learning-rate schedule
#: (:class:`kerasx.callbacks.OneCycle`, see :func:`kerasx.malaria.train.fit_network`), which
#: rises to its peak and anneals to almost zero by the last epoch, so it runs them all unless
#: early stopping finds no better ``val_loss`` for ``PATIENCE`` epochs. 12 epochs of the NIH
#: set's training cells took 16.2 minutes on a 2-core AMD EPYC.
EPOCHS = {"mlp": 100, "cnn": 12}
#: The smallest batch size at which ``backend="auto"`` trains the MLP alone under JAX.
_MLP_JAX_MIN_BATCH = 128


def auto_backend(models, batch_size):
    """The Keras backend ``backend="auto"`` picks for a run: the faster one, as measured.

    One process trains every model with one backend (Keras picks it once, at import), so the
    choice serves the whole run. Measured by ``benchmarks/bench_backends.py`` (see the docs'
    Benchmarks page): with the CNN, TensorFlow (its convolutions run through oneDNN, XLA's CPU
    convolutions do not: JAX trained it several times slower); the MLP alone, JAX from batch
    128 and TensorFlow below it (batch sizes between 32 and 128 were not measured).

    Args:
        models: the names of the models the run trains (``"mlp"``, ``"cnn"``).
        batch_size: the run's batch size.

    Returns:
        ``"tensorflow"`` or ``"jax"``.

    >>> auto_backend(("mlp", "cnn"), 128), auto_backend(("mlp",), 32), auto_backend(("mlp",), 128)
    ('tensorflow', 'tensorflow', 'jax')
    """
    if "cnn" in models or batch_size < _MLP_JAX_MIN_BATCH:
        return "tensorflow"
    return "jax"


def _fspath(value):
    """A path-like value as its string; anything else unchanged (for the checks to refuse)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _check_source(name, value):
    """``"tfds"``, ``"synthetic"`` or an existing folder (normalized to a string)."""
    value = _fspath(value)
    if not isinstance(value, str):
        raise invalid_value(name, "'tfds', 'synthetic' or a folder path", value)
    if value in ("tfds", "synthetic") or os.path.isdir(value):
        return value
    what = "a file" if os.path.exists(value) else "no such folder"
    raise invalid_value(name, f"'tfds', 'synthetic' or an existing folder ({what})", value)


def _check_folder(name, value):
    value = _fspath(value)
    if isinstance(value, str) and os.path.isdir(value):
        return value
    expected = "a folder of Parasitized/ and Uninfected/ PNGs"
    raise invalid_value(name, expected, value)


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise invalid_value(name, "True or False", value)
    return value


def _check_cache_dir(name, value):
    value = _fspath(value)
    if not isinstance(value, str) or not value or os.path.isfile(value):
        expected = "a folder path (created when missing)"
        raise invalid_value(name, expected, value)
    return value


def _field(
    default,
    check,
    *,
    help,
    parse=None,
    quick=None,
    resolved=None,
    role="identifies",
    **check_kwargs,
):
    """A field of :class:`MalariaConfig` with its check, help, ``--quick`` value and role.

    Args:
        default: the default (``None`` where it depends on other fields, see ``__post_init__``).
        check: a check ``check(name, value, **check_kwargs)`` returning the value.
        help: the option's help text (the default and the ``--quick`` value are appended).
        parse: how the command line reads the text: ``int``, ``float``, ``str``, ``"choice"``
            (``check_kwargs["allowed"]``), ``"flag"`` (store_true) or ``"switch"``
            (``--x/--no-x``); ``None`` for a field the command line does not set.
        quick: the value ``--quick`` gives, when it gives one.
        resolved: the value a ``None`` default becomes without ``--quick``.
        role: ``"identifies"`` (another value makes another run: a folder of the one may not
            be resumed by the other), ``"data"`` (the same, compared by the data's fingerprint
            rather than the path's spelling), ``"extends"`` (another value continues the run, said in
            one line: the training budget) or ``"free"`` (how the run computes, not what).
    """
    metadata = {
        "check": functools.partial(check, **check_kwargs),
        "help": help,
        "parse": parse,
        "quick": quick,
        "resolved": resolved,
        "role": role,
        "allowed": check_kwargs.get("allowed"),
    }
    return dataclasses.field(default=default, metadata=metadata)


_ORDER = (
    "data", "model", "split", "test_data", "fraction", "image_size", "cnn_image_size", "epochs",
    "batch_size", "patience", "xla", "deterministic", "backend", "seed", "allow_overlap",
    "cache_dir",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class MalariaConfig:
    """Everything :func:`kerasx.malaria.run_malaria` needs to know about one run, checked once.

    Frozen; the fields are the command's options (``image_size`` is ``--image-size``).
    ``None`` fields are resolved when the config is made: from ``--quick``'s values when
    ``quick`` is set, then from the defaults below, so a config always holds what the run does.

    Args:
        data: ``"tfds"`` (TensorFlow Datasets' malaria, downloaded), ``"synthetic"`` (an offline
            procedural stand-in, not real data) or a folder with ``Parasitized/`` and
            ``Uninfected/`` PNGs (the NIH layout).
        model: ``"mlp"``, ``"cnn"`` or ``"all"``, trained next to the logistic baseline.
        split: ``"patient"`` (no patient on both sides: folders only) or ``"cell"``; default
            ``"patient"`` for a folder, ``"cell"`` otherwise (TFDS has no file names).
        test_data: a folder scored whole after training on all of ``data`` (external
            validation), or ``None``.
        quick: a small first run (the ``quick`` values below, where a field is not given).
        fraction: share of ``data`` to use, in (0, 1]; default 0.1 of TFDS, all otherwise.
        image_size: side of the MLP's and the baseline's images (default 100).
        cnn_image_size: side of the CNN's images (default 80).
        epochs: the epochs of every network; default per model (``EPOCHS``): at most 100
            for the MLP (early stopping ends it), 12 for the CNN, the length of its one-cycle
            learning-rate schedule.
        batch_size: rows per batch (default 32).
        patience: early-stopping patience on ``val_loss``; default 5 for the MLP, 8 for the CNN.
        validation_split: the share of the training rows early stopping and the temperature
            fit validate on (default 0.1).
        xla: compile the training step with XLA; ``None`` keeps the recipes' default (on).
        deterministic: deterministic TensorFlow ops (XLA off): a rerun ends on the same weights.
        backend: ``"auto"``, ``"tensorflow"`` or ``"jax"``: the Keras backend the run needs
            (a process has one; see :func:`auto_backend`).
        seed: seed of the split, the weights and every epoch's order.
        allow_overlap: train even when :func:`kerasx.data.audit_split` finds byte-identical
            images on both sides, or patients on both sides of a patient split or of
            ``test_data``; otherwise the run stops before training
            (:class:`kerasx.malaria.SplitLeak`).
        cache_dir: a folder where the decoded 8-bit images are kept as ``.npy`` files
            (:func:`kerasx.data.load_malaria`'s ``cache_dir``), so a later run on the same
            data, fraction, split and size reads them instead of decoding every PNG again;
            ``None`` decodes every time.

    Raises:
        kerasx.InvalidArgument: an invalid field, or a combination that cannot run.
    """

    data: str = _field(
        "tfds", _check_source, parse=str, role="data",
        help="'tfds' (downloads TensorFlow Datasets' malaria), a folder with Parasitized/ and "
        "Uninfected/ PNGs, or 'synthetic' (offline stand-in, not real data)",
    )  # fmt: skip
    model: str = _field(
        "all", check_one_of, parse="choice", allowed=(*MODELS, "all"),
        help="the models to train next to the logistic baseline",
    )  # fmt: skip
    split: str | None = _field(
        None, check_one_of, parse="choice", allowed=("cell", "patient"),
        help="hold out whole patients (folders only; the default for a folder) or cells "
        "(the default otherwise)",
    )  # fmt: skip
    test_data: str | None = _field(
        None, _check_folder, parse=str, role="data",
        help="external validation: train on the whole of --data (minus the validation share) "
        "and score every image of this folder (other patients)",
    )  # fmt: skip
    quick: bool = _field(False, _check_bool, parse="flag", role="free", help="a small first run")
    fraction: float | None = _field(
        None, check_in_range, parse=float, quick=0.5, low=0, high=1, low_open=True,
        help="share of --data to use (0.1 of tfds, else 1)",
    )  # fmt: skip
    image_size: int | None = _field(
        None, check_int, parse=int, quick=32, resolved=100, minimum=1,
        help="MLP and baseline image side",
    )  # fmt: skip
    cnn_image_size: int | None = _field(
        None, check_int, parse=int, quick=32, resolved=80, minimum=16,
        help="CNN image side (at least 16: its four blocks each halve it)",
    )  # fmt: skip
    epochs: int | None = _field(
        None, check_int, parse=int, quick=10, minimum=1, role="extends",
        help="the MLP's most epochs and the length of the CNN's one-cycle schedule ("
        + ", ".join(f"{value} for the {name.upper()}" for name, value in EPOCHS.items())
        + ")",
    )  # fmt: skip
    batch_size: int = _field(32, check_int, parse=int, minimum=1, help="rows per batch")
    # No early stop in --quick's 10 epochs (best weights still restored): with patience 3 the
    # CNN's batch-norm statistics were still settling when its val_loss first rose, and it
    # stopped at epoch 4 with 0.64 accuracy; with 10 it reached 0.95 (synthetic, seed 0).
    patience: int | None = _field(
        None, check_int, parse=int, quick=10, minimum=1, role="extends",
        help="early-stopping patience on val_loss ("
        + ", ".join(f"{value} for the {name.upper()}" for name, value in PATIENCE.items())
        + ")",
    )  # fmt: skip
    validation_split: float = _field(
        0.1, check_in_range, low=0, high=1, low_open=True, high_open=True,
        help="share of the training rows that early stopping validates on",
    )  # fmt: skip
    xla: bool | None = _field(
        None, _check_bool, parse="switch", role="free",
        help="compile the training step with XLA (on): faster steps after a compilation of "
        "several seconds per model",
    )  # fmt: skip
    deterministic: bool = _field(
        False, _check_bool, parse="flag", role="free",
        help="deterministic TensorFlow ops (TensorFlow backend; XLA off): a rerun, or a run "
        "resumed after a crash, ends on the same weights",
    )  # fmt: skip
    backend: str = _field(
        "auto", check_one_of, parse="choice", allowed=("auto", *BACKENDS), role="free",
        help="the Keras backend; auto picks the faster one for the models and batch size "
        "(see the docs' Benchmarks page). A process has one backend, set before Keras is "
        "imported",
    )  # fmt: skip
    seed: int = _field(0, check_int, parse=int, minimum=0, help="seed of the split and weights")
    allow_overlap: bool = _field(
        False, _check_bool, parse="flag", role="free",
        help="train even when the split audit finds identical images, or patients that a "
        "patient split or --test-data should keep apart, on both sides (recorded either way)",
    )  # fmt: skip

    cache_dir: str | None = _field(
        None, _check_cache_dir, parse=str, role="free",
        help="keep the decoded images in this folder (.npy files) for later runs on the same "
        "data (none: decode every PNG each run)",
    )  # fmt: skip

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                object.__setattr__(self, field.name, field.metadata["check"](field.name, value))
        if self.fraction is None and not self.quick:
            object.__setattr__(self, "fraction", 0.1 if self.data == "tfds" else 1.0)
        for field in dataclasses.fields(self):
            meta = field.metadata
            if getattr(self, field.name) is None and (meta["resolved"] or meta["quick"]):
                value = (
                    meta["quick"] if self.quick and meta["quick"] is not None else meta["resolved"]
                )
                object.__setattr__(self, field.name, value)
        folder = self.data not in ("tfds", "synthetic")
        if self.split is None:
            split = "patient" if folder and self.test_data is None else "cell"
            object.__setattr__(self, "split", split)
        if self.split == "patient" and not folder:
            expected = "'cell' for 'tfds' and 'synthetic' data (they have no patient ids)"
            raise invalid_value("split", expected, self.split)

    @property
    def models(self):
        """The networks the run trains, in the order the outputs show them."""
        return MODELS if self.model == "all" else (self.model,)

    @property
    def synthetic(self):
        """Whether the data is the synthetic stand-in (every output then says so)."""
        return self.data == "synthetic"

    def patience_for(self, name):
        """The early-stopping patience of model ``name``: ``patience``, or its default."""
        return self.patience or PATIENCE[name]

    def epochs_for(self, name):
        """The epochs of model ``name``: ``epochs``, or its default (``EPOCHS``)."""
        return self.epochs or EPOCHS[name]

    def image_size_for(self, name):
        """The image side model ``name`` trains at (the baseline takes ``image_size``)."""
        return self.cnn_image_size if name == "cnn" else self.image_size

    def chosen_backend(self):
        """``backend``, or :func:`auto_backend`'s choice for ``"auto"``."""
        if self.backend != "auto":
            return self.backend
        return auto_backend(self.models, self.batch_size)

    def replace(self, **changes):
        """A copy with ``changes`` applied (and checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The fields as JSON-ready values (run.json's ``config``)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values):
        """The config of :meth:`to_dict`'s output, e.g. run.json's ``config`` (checked again).

        >>> config = MalariaConfig(data="synthetic", seed=3)
        >>> MalariaConfig.from_dict(config.to_dict()) == config
        True
        """
        return cls(**values)

    def command_line(self, out):
        """The ``kerasx malaria`` command that repeats this run, every setting spelled out.

        Spelled out rather than as typed, so that it repeats the run even after a default or
        ``--quick`` changes: parsing it gives back the same config (``--quick`` expanded).
        """
        parts = ["kerasx", "malaria"]
        for name in _ORDER:
            value = getattr(self, name)
            option = "--" + name.replace("_", "-")
            kind = self.__dataclass_fields__[name].metadata["parse"]
            if value is None or (kind == "flag" and not value):
                continue
            if kind == "switch":
                parts.append(option if value else f"--no-{option[2:]}")
            elif kind == "flag":
                parts.append(option)
            else:
                parts += [option, str(value)]
        return shlex.join([*parts, "--out", os.fspath(out)])

    @classmethod
    def options(cls):
        """The fields the command line sets: ``(field, default text)`` for each, in order.

        The default text is what ``--help`` shows after the help: the default and, where
        ``--quick`` changes it, the quick value.
        """
        fields = {field.name: field for field in dataclasses.fields(cls)}
        result = []
        for name in ("quick", *_ORDER):
            field = fields[name]
            shown = []
            default = field.default if field.default is not None else field.metadata["resolved"]
            if default is not None and field.metadata["parse"] not in ("flag",):
                shown.append(f"default: {default}")
            if field.metadata["quick"] is not None:
                shown.append(f"--quick: {field.metadata['quick']}")
            result.append((field, "; ".join(shown)))
        return result
