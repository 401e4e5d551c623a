"""The ``kerasx`` command line (also ``python -m kerasx``).

Each subcommand lives in its own ``_add_<name>_parser`` / ``_run_<name>`` pair; heavy imports
(TensorFlow, the recipes) happen inside ``_run_<name>`` so ``kerasx --help`` stays fast.

>>> main(["--version"])  # doctest: +ELLIPSIS
kerasx ...
0
"""

import argparse
import sys

from kerasx._version import __version__

__all__ = ["build_parser", "main"]


def build_parser():
    """Returns the ``argparse`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kerasx",
        description="Keras 3 components and the course recipes (logistic regression to the "
        "malaria MLP).",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


_SUBCOMMANDS = []


def _add_tune_parser(subparsers):
    """``kerasx tune``: hyperparameter search (KerasTuner or RandomizedSearchCV), resumable."""
    from kerasx import _tuning_cli

    parser = subparsers.add_parser(
        "tune",
        help="search the MLP's hyperparameters",
        description="Search the malaria MLP's hyperparameters; writes trials.csv, "
        "best_model.keras and best.json to --out and resumes from it.",
    )
    _tuning_cli.add_arguments(parser)
    parser.set_defaults(run=_tuning_cli.run)


_SUBCOMMANDS.append(_add_tune_parser)


def _add_malaria_parser(subparsers):
    """``kerasx malaria``: the course's malaria MLP against the logistic baseline."""
    from kerasx.recipes import _malaria_job

    parser = subparsers.add_parser(
        "malaria",
        help="train the malaria MLP and the logistic baseline; write curves, metrics, models",
        description="Train the course's malaria MLP (early stopping) and the logistic-regression "
        "baseline on the same split; print them side by side and write history.csv, curves.png, "
        "confusion_matrix.png, metrics.json, model.keras, model.h5 and summary.txt to --out.",
    )
    _malaria_job.add_arguments(parser)
    parser.set_defaults(run=_malaria_job.run_from_args)


_SUBCOMMANDS.append(_add_malaria_parser)


def main(argv=None):
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"kerasx {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
