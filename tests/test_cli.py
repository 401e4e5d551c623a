import subprocess
import sys

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
