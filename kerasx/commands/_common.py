"""What every ``kerasx`` command shares: the parser, the option types and the error convention.

>>> parser = CommandParser(prog="kerasx demo")
>>> _ = parser.add_argument("--epochs", type=POSITIVE_INT)
>>> parser.parse_args(["--epochs", "3"]).epochs
3
"""

import argparse
import difflib
import errno
import os
import sys

from kerasx._validation import (
    InvalidArgument,
    argument_type,
    check_in_range,
    check_int,
    check_non_negative,
    check_positive,
)

__all__ = [
    "DATA_SOURCE",
    "FRACTION",
    "NON_NEGATIVE_FLOAT",
    "NON_NEGATIVE_INT",
    "OUTPUT_DIR",
    "POSITIVE_FLOAT",
    "POSITIVE_INT",
    "CommandParser",
    "existing_folder",
    "report_user_error",
    "unrecognized_message",
]

#: ``argparse`` types, each one of :mod:`kerasx._validation`'s checks on the parsed text.
POSITIVE_INT = argument_type(int, check_int, minimum=1)
NON_NEGATIVE_INT = argument_type(int, check_int, minimum=0)
POSITIVE_FLOAT = argument_type(float, check_positive)
NON_NEGATIVE_FLOAT = argument_type(float, check_non_negative)
FRACTION = argument_type(float, check_in_range, low=0, high=1, low_open=True)


def _data_source(text):
    """``tfds``, ``synthetic`` or an existing folder."""
    if text in ("tfds", "synthetic") or os.path.isdir(text):
        return text
    raise argparse.ArgumentTypeError(
        f"expected 'tfds', 'synthetic' or an existing folder. Received: {text!r} "
        f"({'a file' if os.path.exists(text) else 'no such folder'})"
    )


def _output_dir(text):
    """A folder to write to: it may exist, but not as a file, and it (or the nearest existing
    folder above it) must be writable, so a run does not fail after its data has loaded."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"expected a folder (new or existing). Received: {text!r}, which is a file"
        )
    existing = os.path.abspath(text)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"expected a folder you can write to. Received: {text!r} ({existing!r} is read-only)"
        )
    return text


DATA_SOURCE = _data_source
OUTPUT_DIR = _output_dir


def existing_folder(expected):
    """An ``argparse`` type for an existing folder; ``expected`` says what it should hold.

    >>> existing_folder("a run folder")(".")
    '.'
    """

    def folder(text):
        if os.path.isdir(text):
            return text
        what = "a file" if os.path.exists(text) else "no such folder"
        raise argparse.ArgumentTypeError(f"expected {expected}. Received: {text!r} ({what})")

    return folder


#: The attribute of a parsed namespace naming the parser that met unknown arguments.
_UNRECOGNIZED_BY = "_kerasx_unrecognized_by"


def unrecognized_message(extras, options):
    """The error for the arguments no option took, with the nearest known option for each.

    Only the unknown options are named (a value after one, ``cnn`` in ``--modle cnn``, was left
    over because its option was unknown), each with ``difflib``'s closest known option.

    >>> unrecognized_message(["--modle", "cnn"], ["--model", "--epochs", "--help"])
    'unrecognized argument --modle (did you mean --model?)'
    >>> unrecognized_message(["--epoch=3", "--zzz"], ["--model", "--epochs"])
    'unrecognized arguments --epoch=3 (did you mean --epochs?), --zzz'
    >>> unrecognized_message(["extra"], ["--model"])
    'unrecognized argument extra'
    """
    named = [extra for extra in extras if extra.startswith("-")] or list(extras)
    words = []
    for extra in named:
        near = difflib.get_close_matches(extra.split("=", 1)[0], options, n=1, cutoff=0.6)
        words.append(f"{extra} (did you mean {near[0]}?)" if near else extra)
    return f"unrecognized argument{'s' if len(words) > 1 else ''} {', '.join(words)}"


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line ``<prog>: <message>`` and exit status 2.

    ``argparse`` normally prints the usage block first; a kerasx command prints only the line,
    the same shape as every other error it reports (``--help`` still shows the usage). An
    unknown option is reported by the command that met it, with the nearest known option:
    ``kerasx malaria: unrecognized argument --modle (did you mean --model?)``, where
    ``argparse`` alone says ``kerasx: unrecognized arguments: --modle cnn``.
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        # A command's parser runs inside the top parser's; the innermost one that is left with
        # unknown arguments marks the namespace, so parse_args can name that command.
        namespace, extras = super().parse_known_args(args, namespace)
        if extras and not hasattr(namespace, _UNRECOGNIZED_BY):
            setattr(namespace, _UNRECOGNIZED_BY, self)
        return namespace, extras

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        parser = vars(namespace).pop(_UNRECOGNIZED_BY, self)
        if extras:
            options = [
                option
                for action in parser._actions  # argparse keeps its options nowhere public
                for option in action.option_strings
                if option.startswith("--")
            ]
            parser.error(unrecognized_message(extras, options))
        return namespace


#: ``OSError`` numbers that are the user's to fix (a full disk, a read-only place), not bugs.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def _is_user_error(error):
    """Whether ``error`` is the user's to fix: anything else is a bug and keeps its traceback.

    A plain ``ValueError`` is *not* one: it may come from a kerasx bug or from inside Keras, and
    hiding it behind one line would hide the bug from the user and from us.
    """
    if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
        return True
    return isinstance(error, _user_error_types())


def _user_error_types():
    types = [InvalidArgument, FileNotFoundError, NotADirectoryError, IsADirectoryError]
    data = sys.modules.get("kerasx.data")  # only loaded if a command used it
    if data is not None:
        types.append(data.DatasetUnavailableError)
    return tuple(types)


def report_user_error(command, error, debug=False):
    """Turns a user error into one line on stderr and exit status 2; re-raises anything else.

    User errors: :class:`kerasx.InvalidArgument`, a missing file or folder, a data set that
    cannot be had (:class:`kerasx.data.DatasetUnavailableError`), and an ``OSError`` of a full
    disk or a place the user cannot write to. Their hint, if any, is part of their message.

    Args:
        command: the command's name, e.g. ``"tune"``.
        error: the exception raised by the command.
        debug: re-raise even user errors, so the traceback shows.

    Returns:
        ``2``, the exit status of a user error.

    Raises:
        BaseException: ``error`` itself, when ``debug`` is true or it is not a user error.

    >>> report_user_error("tune", InvalidArgument("bad value", hint="Try 3."))
    2
    >>> report_user_error("tune", ValueError("a bug"))
    Traceback (most recent call last):
    ...
    ValueError: a bug
    """
    if debug or not _is_user_error(error):
        raise error
    message = str(error).strip().replace("\n", " ")
    print(f"kerasx {command}: {message}", file=sys.stderr)
    return 2
