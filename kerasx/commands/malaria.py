"""``kerasx malaria``: the malaria models side by side with the logistic baseline.

Parses the options into a :class:`kerasx.malaria.MalariaConfig` (whose fields they are) and runs
:func:`kerasx.malaria.run_malaria`; everything the job does is documented there.

>>> from kerasx.commands._common import CommandParser
>>> parser = CommandParser(prog="kerasx malaria")
>>> add_arguments(parser)
>>> config = config_from_args(parser.parse_args(["--data", "synthetic", "--quick"]))
>>> config.models, config.split, config.image_size, config.fraction
(('mlp', 'cnn'), 'cell', 32, 0.5)
"""

import argparse

from kerasx._validation import argument_type
from kerasx.commands._common import DATA_SOURCE, OUTPUT_DIR, existing_folder

NAME = "malaria"
HELP = "compare the malaria MLP and CNN with the logistic baseline; write curves, metrics, models"
DESCRIPTION = (
    "Train the course's malaria MLP and a small CNN (early stopping) and fit the "
    "logistic-regression baseline on the same training images; score them side by side on the "
    "same test images (held-out patients for a folder, held-out cells otherwise, or every image "
    "of --test-data) and write curves, ROC, calibration, the worst mistakes, Grad-CAM, "
    "metrics.json, the saved models, a summary and one self-contained report.html to --out. "
    "Running the same command again resumes an interrupted run; a folder holding another run "
    "(other settings or data) is refused unless --restart."
)

__all__ = [
    "DESCRIPTION",
    "HELP",
    "NAME",
    "add_arguments",
    "choose_backend",
    "config_from_args",
    "run",
]


_existing_folder = existing_folder("a folder of Parasitized/ and Uninfected/ PNGs")


def _add_option(parser, field, shown):
    """One option of a :class:`~kerasx.malaria.MalariaConfig` field."""
    meta, flag = field.metadata, "--" + field.name.replace("_", "-")
    help_text = meta["help"] + (f" ({shown})" if shown else "")
    kind = meta["parse"]
    if kind == "flag":
        parser.add_argument(flag, action="store_true", help=help_text)
    elif kind == "switch":
        parser.add_argument(
            flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
        )
    elif kind == "choice":
        parser.add_argument(flag, choices=meta["allowed"], default=field.default, help=help_text)
    else:
        special = {"data": DATA_SOURCE, "test_data": _existing_folder}
        kind = special.get(field.name) or argument_type(kind, meta["check"])
        metavar = {"data": "tfds|DIR|synthetic", "test_data": "DIR"}.get(field.name)
        parser.add_argument(flag, type=kind, default=field.default, metavar=metavar, help=help_text)


def add_arguments(parser):
    """Adds the ``kerasx malaria`` options: one per config field, ``--out`` and ``--restart``."""
    from kerasx.malaria.config import MalariaConfig  # light: no Keras

    for field, shown in MalariaConfig.options():
        _add_option(parser, field, shown)
    parser.add_argument(
        "--out",
        type=OUTPUT_DIR,
        default="runs/malaria",
        help="output folder (default: runs/malaria)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="remove the run files --out holds (another run's, or an interrupted one's) and "
        "start over in it",
    )


def config_from_args(args):
    """The :class:`~kerasx.malaria.MalariaConfig` of parsed arguments (checks run here)."""
    from kerasx.malaria.config import MalariaConfig

    values = {field.name: getattr(args, field.name) for field, _ in MalariaConfig.options()}
    return MalariaConfig(**values)


def choose_backend(args):
    """The backend of a run from its parsed options: ``--backend``, or the automatic choice.

    ``kerasx``'s ``main`` sets ``KERAS_BACKEND`` from it before anything imports Keras.

    >>> from kerasx.commands._common import CommandParser
    >>> parser = CommandParser(prog="kerasx malaria")
    >>> add_arguments(parser)
    >>> choose_backend(parser.parse_args(["--model", "mlp", "--batch-size", "128"]))
    'jax'
    """
    from kerasx import distribution  # imports no Keras

    if args.backend == "auto" and distribution.parse_env() is not None:
        return "jax"  # across processes (KERAS_DISTRIBUTION_*): Keras trains on JAX only
    return config_from_args(args).chosen_backend()


def run(args):
    """Runs ``kerasx malaria`` from parsed arguments; returns the exit status."""
    from kerasx.malaria import run_malaria

    run_malaria(config_from_args(args), args.out, restart=args.restart)
    return 0
