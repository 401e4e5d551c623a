import os
import re
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


# A stand-in for ``kerasx malaria``'s run: reports the backend Keras runs and the one recorded.
_BACKEND_PROBE = """
import sys
from kerasx.commands import malaria

def run(args):
    import keras
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # TensorFlow's first op: where it would probe CUDA ("cuInit")
    print(keras.backend.backend(), args.backend)
    return 0

malaria.run = run  # build_parser binds the module's run when main builds it
from kerasx.cli import main
sys.exit(main(["malaria", "--data", "synthetic", *sys.argv[1:]]))
"""


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], "tensorflow"),  # auto with the CNN
        (["--backend", "jax"], "jax"),
        (["--backend", "auto", "--model", "mlp", "--batch-size", "128"], "jax"),
    ],
)
def test_backend_is_chosen_before_keras_is_imported(options, expected):
    """``--backend`` decides the backend Keras starts with, whatever ``KERAS_BACKEND`` says in
    the environment (set to the other one here), and TensorFlow's start-up says nothing on
    stderr: no "Could not find cuda drivers" at import, no "failed call to cuInit" at its first
    op. Catches setting the variable after the command imported Keras (the environment's
    backend would run), an ``auto`` that ignores the model and batch size, and a quiet window
    that ends before TensorFlow lists its devices (the cuInit line of TF 2.21)."""
    other = "jax" if expected == "tensorflow" else "tensorflow"
    env = {**os.environ, "KERAS_BACKEND": other}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it
    result = subprocess.run(
        [sys.executable, "-c", _BACKEND_PROBE, *options],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [expected, expected]
    noise = [line for line in result.stderr.splitlines() if re.search("cuinit|cuda", line, re.I)]
    assert noise == [], result.stderr[-3000:]


def _other_backend():
    import keras

    return "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"


def test_backend_other_than_the_running_one_is_a_user_error(monkeypatch, capsys):
    """In a process where Keras already runs (the tests), ``--backend`` naming the other backend
    stops with one line and exit status 2, before any data loads; ``KERAS_BACKEND`` is left
    alone. Catches a command that silently trains with the running backend while run.json
    records the asked one."""
    other = _other_backend()  # imports Keras first
    monkeypatch.setenv("KERAS_BACKEND", "unchanged")
    status = main(["malaria", "--data", "synthetic", "--backend", other])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerasx malaria: Invalid value for argument `backend`.")
    assert err.endswith(f"Received: backend='{other}'") and "new process" in err
    assert os.environ["KERAS_BACKEND"] == "unchanged"


def test_backend_auto_keeps_the_running_backend(monkeypatch, capsys):
    """``--backend auto`` in a process where Keras runs the backend auto would not choose keeps
    that backend, says so on stderr, and passes its name on to the command (which records it).
    Catches an ``auto`` that fails in-process, and one that records the backend it would have
    chosen instead of the one that ran."""
    import keras

    from kerasx.commands import malaria

    running = keras.backend.backend()
    monkeypatch.setenv("KERAS_BACKEND", running)
    seen = []
    monkeypatch.setattr(malaria, "run", lambda args: seen.append(args.backend) or 0)
    # auto chooses jax for the MLP alone at batch 128 and TensorFlow with the CNN
    options = ["--model", "mlp", "--batch-size", "128"] if running == "tensorflow" else []
    assert main(["malaria", "--data", "synthetic", *options]) == 0
    assert seen == [running] and os.environ["KERAS_BACKEND"] == running
    err = capsys.readouterr().err
    assert f"Keras already runs the {running} backend" in err and "--backend auto keeps it" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["malaria", "--modle", "cnn"],
            "kerasx malaria: unrecognized argument --modle (did you mean --model?)",
        ),
        (
            ["tune", "--trails", "3", "--seeed", "1"],
            "kerasx tune: unrecognized arguments --trails (did you mean --max-trials?), "
            "--seeed (did you mean --seed?)",
        ),
        (["malaria", "--quick", "extra"], "kerasx malaria: unrecognized argument extra"),
        (["--modle", "malaria"], "kerasx: unrecognized argument --modle"),
    ],
)
def test_a_typo_is_reported_by_its_command_with_the_nearest_option(argv, expected, capsys):
    """argparse alone says ``kerasx: unrecognized arguments: --modle cnn``: the top parser's
    name, the value with the option, no hint."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == expected + "\n"


@pytest.mark.parametrize("name", ["malaria", "report", "tune", "audit"])
def test_interrupted_says_whether_running_again_resumes(name, monkeypatch, capsys, tmp_path):
    """Ctrl-C gives status 130 and one line; for the commands whose ``--out`` keeps finished
    epochs or trials it says that the same command resumes."""
    import importlib

    module = importlib.import_module(f"kerasx.commands.{name}")

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    monkeypatch.setattr(module, "choose_backend", None, raising=False)
    argv = [name, "--debug", *([str(tmp_path)] if name == "report" else [])]
    assert main(argv) == 130
    err = capsys.readouterr().err
    resumes = {
        "malaria": "; run the same command again to resume from the last finished epoch",
        "tune": "; run the same command again to resume the search (finished trials are kept)",
    }
    assert err == f"kerasx {name}: interrupted{resumes.get(name, '')}\n"
