"""``kerasx report``: rebuild the self-contained report.html of a ``kerasx malaria`` run folder.

The page is built from the folder's files only (metrics.json, run.json, the PNGs), so it can be
rebuilt after a kerasx update or after copying the folder elsewhere; nothing is trained or
loaded.

>>> from kerasx.commands._common import CommandParser
>>> parser = CommandParser(prog="kerasx report")
>>> add_arguments(parser)
>>> parser.parse_args(["."]).run_dir
'.'
>>> parser.parse_args([]).run_dir is None  # runs/malaria, checked when the page is built
True
"""

import argparse
import os

from kerasx.commands._common import existing_folder

NAME = "report"
HELP = "rebuild the one-page report.html of a `kerasx malaria` run folder"
DESCRIPTION = (
    "Rebuild report.html, one self-contained page (images embedded, nothing fetched), from the "
    "files of a `kerasx malaria --out RUN_DIR` folder: data and split, the side-by-side table, "
    "calibration, every figure, learning curves, model summaries, settings and the command."
)

__all__ = ["DEFAULT_RUN_DIR", "DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]

#: The folder rebuilt when RUN_DIR is not given: where ``kerasx malaria`` writes by default.
DEFAULT_RUN_DIR = "runs/malaria"


_run_folder = existing_folder("the folder of a `kerasx malaria` run")


def _output_file(text):
    """A file to write, in an existing folder."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected a file name. Received: {text!r}, a folder")
    if not os.path.isdir(os.path.dirname(text) or "."):
        raise argparse.ArgumentTypeError(
            f"expected a file in an existing folder. Received: {text!r} (no such folder)"
        )
    return text


def add_arguments(parser):
    """Adds the ``kerasx report`` options to an ``argparse`` parser."""
    parser.add_argument(
        "run_dir",
        nargs="?",
        type=_run_folder,
        default=None,  # not a string: argparse would check a string default at parse time
        metavar="RUN_DIR",
        help="a folder written by `kerasx malaria --out RUN_DIR` (with its metrics.json; "
        f"default: {DEFAULT_RUN_DIR}, the default of `kerasx malaria --out`)",
    )
    parser.add_argument(
        "--output",
        type=_output_file,
        default=None,
        metavar="FILE",
        help="where to write the page (default: RUN_DIR/report.html)",
    )


def run(args):
    """Runs ``kerasx report`` from parsed arguments; returns the exit status."""
    from kerasx.commands._html import write_report

    path = write_report(args.run_dir or DEFAULT_RUN_DIR, args.output)
    print(f"[kerasx report] wrote {path}", flush=True)
    return 0
