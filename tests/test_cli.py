import subprocess
import sys

import pytest

from kerasx import __version__
from kerasx.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kerasx {__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: kerasx" in capsys.readouterr().out


def test_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "kerasx", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage: kerasx" in result.stdout


def test_parser_imports_nothing_heavy():
    """``kerasx --help`` builds every command's parser without Keras, TensorFlow, the data
    module, scikit-learn or pandas. Catches a command module that imports the recipes or the
    data at module level (``kerasx --help`` would take seconds)."""
    code = (
        "import sys, kerasx.cli; kerasx.cli.build_parser(); "
        "print(sorted(m for m in ('keras', 'tensorflow', 'kerasx.data', 'sklearn', 'pandas') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_command_module_follows_the_convention():
    """Each module of ``kerasx.commands`` names itself and gives help, options and ``run``;
    ``--debug`` is added to every command. Catches a command wired under another name."""
    import importlib

    from kerasx.cli import build_parser
    from kerasx.commands import COMMANDS

    parser = build_parser()
    for name in COMMANDS:
        module = importlib.import_module(f"kerasx.commands.{name}")
        assert module.NAME == name
        assert module.HELP and module.DESCRIPTION
        assert callable(module.add_arguments) and callable(module.run)
        args = parser.parse_args([name, "--debug"])
        assert args.debug is True and args.run is module.run


def test_malaria_help_lists_the_comparison_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["malaria", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--model", "--split", "--test-data", "--quick", "--cnn-image-size"):
        assert option in out
