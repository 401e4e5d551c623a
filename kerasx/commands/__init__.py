"""The ``kerasx`` commands, one module each; :mod:`kerasx.cli` only wires them together.

Every command module defines ``NAME``, ``HELP`` (one line for ``kerasx --help``),
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``, and imports nothing heavy
at module level, so ``kerasx --help`` stays fast. The convention they share: options are
validated at parse time by ``argparse`` types built on kerasx's argument checks (the same
messages as the Python API's), an unknown option is reported with the nearest known one, and a
user error (a kerasx ``ValueError``, ``FileNotFoundError`` or
:class:`~kerasx.data.DatasetUnavailableError`) ends as one line ``kerasx <command>: <message>``
on stderr with exit status 2 (``--debug`` shows the traceback instead).

>>> COMMANDS
('malaria', 'report', 'tune', 'audit')
"""

#: Command names, in the order ``kerasx --help`` lists them; each is ``kerasx.commands.<name>``.
COMMANDS = ("malaria", "report", "tune", "audit")

__all__ = ["COMMANDS"]
