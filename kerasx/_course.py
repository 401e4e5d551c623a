"""What the course's steps (``recipes/NN_*.py``) share: their options and how they show figures.

Each step is a script (``python recipes/01_logistic_by_hand.py --quick``, from any folder) and a
notebook (executed in a kernel that starts in another folder, by the docs build and by
``tests/test_notebooks.py``). Only an installed module is importable in both, so this lives in
kerasx, private; ``kerasx.recipes`` builds models only.

- :func:`step_parser`: the step's ``argparse`` parser, with the ``--quick`` every step has.
- :func:`parse_options`: the command line in a script. A notebook kernel's ``sys.argv`` holds
  the kernel's own arguments, so there the defaults, plus ``--quick`` when ``KERASX_QUICK=1``.
- :func:`show`: a matplotlib figure or a PNG file in a notebook; a script skips it.

>>> parser = step_parser("Step 0: nothing.", quick="fewer epochs")
>>> parser.add_argument("--epochs", type=int, default=None)  # doctest: +ELLIPSIS
_StoreAction(...)
>>> vars(parser.parse_args(["--quick"]))
{'quick': True, 'epochs': None}
"""

import argparse
import io
import os
import sys

__all__ = ["in_notebook", "parse_options", "show", "step_parser"]


def in_notebook():
    """True inside a Jupyter kernel, where the step shows its figures and takes no arguments."""
    return "ipykernel" in sys.modules


def step_parser(description, *, quick):
    """An ``argparse`` parser for a step, with its ``--quick`` option; add the step's own options.

    Args:
        description: what the step does, for ``--help``.
        quick: what ``--quick`` changes, for ``--help`` (e.g. ``"50 epochs instead of 200"``).

    Returns:
        An ``argparse.ArgumentParser``; read it with :func:`parse_options`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    return parser


def parse_options(parser):
    """The step's options: the command line in a script; in a notebook the defaults, with
    ``--quick`` when the environment has ``KERASX_QUICK=1`` (as the docs build sets it)."""
    if not in_notebook():
        return parser.parse_args()
    return parser.parse_args(["--quick"] if os.environ.get("KERASX_QUICK") == "1" else [])


def show(figure):
    """Shows ``figure``, a matplotlib ``Figure`` or a PNG file's path, in a notebook.

    The figure is shown as PNG whatever the matplotlib backend. A script skips it: it prints its
    results, and a step that writes a figure to a file says where.
    """
    if not in_notebook():
        return
    from IPython.display import Image, display

    if isinstance(figure, (str, os.PathLike)):
        display(Image(filename=os.fspath(figure)))
    else:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        display(Image(buffer.getvalue()))
