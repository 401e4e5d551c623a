"""The bad-input catalogue: each row of ``tests/bad_inputs_catalogue.py`` is driven here.

For each row: the bad call fails with the row's error and a message that contains the row's
text (one line ``kerasx <command>: ...`` and exit status 2 for a command), and nothing is left
behind: the row's working folder (its ``--out``, its target files, the current directory) holds
exactly the files it held before the call, byte for byte. Where the catalogue's page comes from
is checked too: ``docs/bad-inputs.md`` is the rendering of the rows, every public name of every
``__all__`` and every command option has a row (or is listed as taking no input), and the kinds
of bad input that issue 13 names are all there.
"""

import argparse
import errno
import importlib
import inspect
import os

import bad_inputs_catalogue as catalogue
import pytest
from helpers import folder_snapshot

from kerasx import _io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "bad-inputs.md")


def _params(rows):
    params = []
    for row in rows:
        marks = []
        if row.xfail:
            marks.append(pytest.mark.xfail(strict=True, raises=row.xfail_raises, reason=row.xfail))
        params.append(pytest.param(row, id=row.id, marks=marks))
    return params


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    """The row's folders: ``in`` for its inputs, ``work`` (the current directory) for output."""
    (tmp_path / "in").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield catalogue.Context(str(tmp_path / "in"), str(work / "out"), monkeypatch)
    monkeypatch.undo()  # read_only's os.open / mkstemp patches must go before the clean-up
    if os.path.isdir(work / "out"):
        os.chmod(work / "out", 0o755)


def _assert_nothing_written(folder, before):
    after = folder_snapshot(folder)
    assert sorted(after) == sorted(before), f"left behind: {sorted(set(after) - set(before))}"
    assert after == before, "a file that was there before the call was changed"


def _assert_clear(message):
    assert message.strip(), "an empty message"
    for noise in ("Traceback", "function_node", "[Op:"):
        assert noise not in message, f"framework noise in the message: {message!r}"


@pytest.mark.parametrize("row", _params(catalogue.API_ROWS))
def test_python_entry_point_refuses(row, ctx):
    """The call raises the row's error with its message, and writes nothing."""
    if row.setup is not None:
        row.setup(ctx)
    work = os.getcwd()
    before = folder_snapshot(work)
    try:
        row.call(ctx)
    except row.raises as caught:
        error = caught
    else:
        error = None
    assert error is not None, f"{row.entry} accepted {row.rejects}"
    message = str(error)
    _assert_clear(message)
    assert row.message in message
    _assert_nothing_written(work, before)


@pytest.mark.parametrize("row", _params(catalogue.COMMAND_ROWS))
def test_command_option_refuses(row, ctx, capsys):
    """The command prints one line ``kerasx <command>: <message>``, exits 2, writes nothing."""
    from kerasx.cli import main

    if row.setup is not None:
        row.setup(ctx)
    work = os.getcwd()
    before = folder_snapshot(work)
    argv = [row.command, *(arg.format(inp=ctx.inp, out=ctx.out) for arg in row.argv)]
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse refuses an option while parsing
        status = exit_.code
    err = capsys.readouterr().err.strip()
    assert status == 2, f"exit status {status}; stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"not one line: {err!r}"
    assert lines[0].startswith(f"kerasx {row.command}: ")
    _assert_clear(lines[0])
    assert row.message in lines[0]
    _assert_nothing_written(work, before)


# ------------------------------------------------------------------ the writer itself


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_midway_leaves_neither_target_nor_temporary(tmp_path, monkeypatch):
    """``_io.write_bytes`` on a full disk: half the bytes reach the temporary file, then fsync
    fails with ENOSPC; the error comes through and the folder is as it was (a writer that
    wrote to the target directly would leave half a file)."""
    target = tmp_path / "metrics.json"
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(OSError, match="No space left on device") as caught:
        _io.write_json(target, {"accuracy": 0.5, "rows": list(range(1000))})
    assert caught.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []
    with pytest.raises(OSError, match="No space left on device"):  # a library's own writer
        with _io.atomic_path(target) as temporary:
            with open(temporary, "wb") as f:
                f.write(b"x" * 4096)
            _no_space()
    assert os.listdir(tmp_path) == []


def test_full_disk_keeps_the_previous_file_whole(tmp_path, monkeypatch):
    """A failed rewrite leaves the old content, not an empty or half file."""
    target = tmp_path / "history.csv"
    _io.write_text(target, "epoch,loss\n0,0.7\n")
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(OSError, match="No space left on device"):
        _io.write_text(target, "epoch,loss\n0,0.7\n1,0.6\n")
    assert target.read_text() == "epoch,loss\n0,0.7\n"
    assert os.listdir(tmp_path) == ["history.csv"]


# ------------------------------------------------------------------ the catalogue's coverage


def _public_names():
    import kerasx

    modules = ["kerasx"] + [
        f"kerasx.{name}" for name in kerasx.__all__ if inspect.ismodule(getattr(kerasx, name, None))
    ]
    names = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        names += [f"{module_name}.{name}" for name in module.__all__]
    return names


def test_every_public_name_has_a_row_or_a_reason():
    """Every name of every public ``__all__`` is driven by a row or listed in ``NO_INPUT``."""
    entries = {row.entry for row in catalogue.API_ROWS}
    names = _public_names()
    missing = [name for name in names if name not in entries and name not in catalogue.NO_INPUT]
    assert not missing, f"public names without a bad-input row: {missing}"
    both = sorted(entries & set(catalogue.NO_INPUT))
    assert not both, f"listed as taking no input, yet with rows: {both}"
    stale = sorted((entries | set(catalogue.NO_INPUT)) - set(names))
    assert not stale, f"rows for names that are not public: {stale}"


class _RecordingParser(argparse.ArgumentParser):
    """Records the names each command's ``add_arguments`` gives its options."""

    def __init__(self):
        super().__init__(add_help=False)
        self.names = []

    def add_argument(self, *names, **kwargs):
        positional = not names[0].startswith("-")
        self.names.append([kwargs.get("metavar", names[0])] if positional else list(names))
        return super().add_argument(*names, **kwargs)


def _command_options():
    from kerasx.commands import COMMANDS

    for command in COMMANDS:
        parser = _RecordingParser()
        importlib.import_module(f"kerasx.commands.{command}").add_arguments(parser)
        for names in parser.names:
            yield command, names


def test_every_command_option_has_a_row_or_is_a_flag():
    """Every option (and positional argument) of every command is driven by a row, or is a
    flag that takes no value."""
    entries = {row.entry for row in catalogue.COMMAND_ROWS}
    missing = []
    for command, names in _command_options():
        covered = any(f"kerasx {command} {name}" in entries for name in names)
        if not covered and not all(name in catalogue.FLAGS for name in names):
            missing.append(f"kerasx {command} {names[0]}")
    assert not missing, f"command options without a bad-input row: {missing}"


def test_every_flag_listed_is_an_option(capsys):
    """``FLAGS`` names only options that exist (in some command's ``--help``)."""
    from kerasx.cli import main
    from kerasx.commands import COMMANDS

    helps = ""
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        helps += capsys.readouterr().out
    stale = [flag for flag in catalogue.FLAGS if flag not in helps.split()]
    stale = [flag for flag in stale if f"{flag}," not in helps and f"[{flag}" not in helps]
    assert not stale, f"listed as flags but not options: {stale}"


def test_the_kinds_of_bad_input_of_issue_13_are_all_there():
    """Wrong dtype, shape, range; empty; NaN or inf; a missing file, the wrong folder layout,
    a corrupt PNG; a read-only or existing-file --out; a full disk."""
    rejects = " | ".join(row.rejects.lower() for row in catalogue.ROWS)
    out_rows = {row.rejects for row in catalogue.COMMAND_ROWS if row.entry.endswith("--out")}
    for kind in (
        "dtype",
        "shape",
        "above 1",
        "empty",
        "nan",
        "inf",
        "missing file",
        "missing folder",
        "wrong folder layout",
        "corrupt png",
        "full disk",
    ):
        assert kind in rejects, kind
    assert {"a read-only folder", "an existing file", "a full disk (simulated)"} <= out_rows


def test_the_page_is_the_rendering_of_the_rows():
    """docs/bad-inputs.md is ``python tests/bad_inputs_catalogue.py > docs/bad-inputs.md``."""
    with open(PAGE, encoding="utf-8") as f:
        assert f.read() == catalogue.render(), (
            "run: python tests/bad_inputs_catalogue.py > docs/bad-inputs.md"
        )


def test_the_page_has_one_table_line_per_row():
    """A row that renders to two lines (a newline or an unescaped | in a cell) breaks the
    table."""
    page = catalogue.render()
    for row in catalogue.ROWS:
        assert "\n" not in row.message and "|" not in row.message, row.id
        assert (
            sum(line.startswith(f"| `{row.entry}` | {row.rejects}") for line in page.splitlines())
            == 1
        )
    assert len({row.id for row in catalogue.ROWS}) == len(catalogue.ROWS), "duplicate row ids"
