"""The ``kerasx`` command line (also ``python -m kerasx``): wires the modules of
:mod:`kerasx.commands` into one parser.

Heavy imports (TensorFlow, the recipes) happen inside each command's ``run``, so
``kerasx --help`` stays fast.

>>> main(["--version"])  # doctest: +ELLIPSIS
kerasx ...
0
"""

import contextlib
import importlib
import importlib.util
import os
import sys

from kerasx._validation import invalid_value
from kerasx._version import __version__
from kerasx.commands import COMMANDS
from kerasx.commands._common import CommandParser, report_user_error

__all__ = ["build_parser", "main"]

#: Commands that import TensorFlow (to train, or for ``tf.data`` loading under the JAX backend):
#: its start-up log is silenced unless ``--debug``.
TENSORFLOW_COMMANDS = ("malaria", "tune", "audit")

#: What running an interrupted command again does, for the commands that resume (their
#: ``--out`` folder keeps each finished epoch or trial); the others start over.
RESUMES = {
    "malaria": "run the same command again to resume from the last finished epoch",
    "tune": "run the same command again to resume the search (finished trials are kept)",
}


def build_parser():
    """Returns the ``argparse`` parser with every command of :data:`kerasx.commands.COMMANDS`."""
    parser = CommandParser(
        prog="kerasx",
        description="Keras 3 components and the course recipes (logistic regression to the "
        "malaria models).",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=CommandParser
    )
    for name in COMMANDS:
        module = importlib.import_module(f"kerasx.commands.{name}")
        sub = subparsers.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(sub)
        sub.add_argument(
            "--debug", action="store_true", help="on an error, show the full traceback"
        )
        # A command that trains chooses its Keras backend (``choose_backend(args)``), which
        # main() sets before anything imports Keras.
        sub.set_defaults(run=module.run, choose_backend=getattr(module, "choose_backend", None))
    return parser


@contextlib.contextmanager
def _stderr_silenced():
    """Points file descriptor 2 at /dev/null, and back to where it was on exit.

    TensorFlow's C++ start-up lines ("All log messages before absl::InitializeLog() ...",
    "oneDNN custom operations are on", "Could not find cuda drivers") go straight to the
    descriptor, even with ``TF_CPP_MIN_LOG_LEVEL=3`` on TF 2.21 (measured), so only the
    descriptor itself can hold them back.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_tensorflow_quietly():
    """Imports TensorFlow and lists its devices with stderr silenced, so a command's start is quiet.

    TensorFlow probes CUDA twice: at import ("Could not find cuda drivers") and when it first
    lists its devices, which its first operation does ("failed call to cuInit: ... (303)" on a
    machine without a GPU driver, also under the JAX backend, whose data loading runs
    ``tf.data``). Listing the devices here moves the second probe into the silenced window.
    Only around these two calls: a Python error raised later still shows. An error of the
    import itself is raised again after stderr is back.
    """
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    with _stderr_silenced():
        import tensorflow

        tensorflow.config.list_physical_devices()


def _set_backend(args):
    """Sets ``KERAS_BACKEND`` to the command's choice, before anything imports Keras.

    Keras reads ``KERAS_BACKEND`` once, when it is first imported, and keeps that backend for the
    life of the process. Where Keras is already imported (``main`` called in-process, as in the
    tests) with another backend, an explicit ``--backend`` is a user error, and ``--backend auto``
    keeps the running backend (with a note on stderr): ``args.backend`` then names it, so the run
    records the backend it trained with.

    Raises:
        ValueError: ``--backend`` names a backend other than the one Keras already runs.
    """
    backend = args.choose_backend(args)
    keras = sys.modules.get("keras")
    running = keras.backend.backend() if keras is not None else backend
    if running != backend:
        if args.backend != "auto":
            raise invalid_value(
                "backend",
                f"the backend Keras already runs in this process ({running!r}): a process "
                "chooses its backend once, before importing Keras; run the command in a new "
                "process",
                args.backend,
            )
        print(
            f"kerasx {args.command}: Keras already runs the {running} backend in this process; "
            f"--backend auto keeps it (it would choose {backend})",
            file=sys.stderr,
        )
        backend = running
    args.backend = backend
    os.environ["KERAS_BACKEND"] = backend


def main(argv=None):
    """Runs the command line; returns the exit status."""
    # TensorFlow's start-up log (CUDA probing on CPU machines) is noise for a command's user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"kerasx {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if getattr(args, "choose_backend", None) is not None:
            _set_backend(args)
        if args.command in TENSORFLOW_COMMANDS and not args.debug:
            _import_tensorflow_quietly()
        return args.run(args)
    except KeyboardInterrupt:
        hint = RESUMES.get(args.command)
        print(
            f"kerasx {args.command}: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr
        )
        return 130
    except Exception as error:
        return report_user_error(args.command, error, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
