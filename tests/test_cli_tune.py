"""``kerasx tune``: options checked at parse time, one-line errors, a run, resume after a kill.

The error checks call ``kerasx.cli.main`` in this process (cheaper than a subprocess each); one
subprocess test checks what a user sees on the terminal.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from tuning_helpers import no_training  # noqa: F401

from kerasx.cli import build_parser, main
from kerasx.commands.tune import demo_data
from kerasx.tuning.config import OBJECTIVES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_main(argv):
    """``main(["tune", *argv])`` in this process; returns the exit status (argparse exits too)."""
    try:
        return main(["tune", *argv])
    except SystemExit as exit_:  # argparse's errors end the parse with SystemExit
        return exit_.code


# ----------------------------------------------------------------------------------------------
# Bad inputs, as a new user would type them


@pytest.fixture
def existing_file(tmp_path):
    path = tmp_path / "existing_file"
    path.write_text("not a folder")
    return str(path)


BAD_INPUTS = [
    (["--max-trials", "0"], "argument --max-trials: expected an integer >= 1. Received: '0'"),
    (["--epochs", "-1"], "argument --epochs: expected an integer >= 1. Received: '-1'"),
    (["--epochs", "ten"], "argument --epochs: expected an integer >= 1. Received: 'ten'"),
    (["--data", "missing_folder"], "argument --data: expected 'tfds', 'synthetic' or an existing "
     "folder. Received: 'missing_folder' (no such folder)"),
    (["--objective", "val_nothing"], "Invalid value for argument `objective`. Expected one of "
     f"{OBJECTIVES!r}. Received: objective='val_nothing'"),
    (["--tuner", "sklearn", "--cv", "1"], "argument --cv: expected an integer >= 2. Received: '1'"),
    (["--tuner", "grid"], "argument --tuner: expected one of ('hyperband', 'random', 'bayesian', "
     "'sklearn'). Received: 'grid'"),
    (["--validation-split", "1"], "argument --validation-split: expected a float in (0, 1). "
     "Received: '1'"),
    (["--trials-per-process", "0"], "argument --trials-per-process: expected an integer >= 1. "
     "Received: '0'"),
    (["--tuner", "sklearn", "--objective", "val_loss"], "Invalid value for argument `objective`. "
     "Expected one of ('val_accuracy', 'val_auc', 'val_matthews_correlation') with "
     "tuner='sklearn' (its cross-validated scores). Received: objective='val_loss'"),
    (["--split", "row"], "argument --split: expected one of ('patient', 'cell'). Received: 'row'"),
    (["--data", "synthetic", "--split", "patient"], "Invalid value for argument `split`. Expected "
     "'cell' for 'tfds', 'synthetic' and the built-in data (they have no patient ids). "
     "Received: split='patient'"),
]  # fmt: skip


@pytest.mark.usefixtures("no_training")
@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS, ids=lambda v: " ".join(v)[:40])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    """Each bad input ends before any training with one line on stderr and exit status 2.

    Catches options read as plain ``int``/``str`` and checked only inside the search (the old
    command: a traceback after the data was loaded, or after the first trial trained).
    """
    status = run_main([*argv, "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == f"kerasx tune: {message}\n"
    assert captured.out == "" and not (tmp_path / "out").exists()


@pytest.mark.usefixtures("no_training")
def test_out_that_is_a_file(existing_file, capsys):
    status = run_main(["--out", existing_file])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("kerasx tune: argument --out: expected a folder") and "is a file" in err


@pytest.mark.usefixtures("no_training")
def test_debug_shows_the_traceback_instead(tmp_path):
    """``--debug`` re-raises a run-time user error instead of printing one line."""
    argv = ["--tuner", "sklearn", "--objective", "loss", "--out", str(tmp_path), "--debug"]
    with pytest.raises(ValueError, match="argument `objective`"):
        run_main(argv)


def test_a_bad_input_in_a_terminal_shows_no_traceback(tmp_path):
    """What the user sees: exactly one line on stderr, nothing on stdout, exit status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "kerasx", "tune", "--max-trials", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kerasx tune: argument --max-trials: expected an integer >= 1. Received: '0'"
    ]
    assert result.stdout == ""


# ----------------------------------------------------------------------------------------------
# Options and a short run


def test_cli_parses_tune_options():
    args = build_parser().parse_args(
        ["tune", "--data", "synthetic", "--tuner", "sklearn", "--max-trials", "3", "--out", "d",
         "--trials-per-process", "2"]
    )  # fmt: skip
    assert (args.data, args.tuner, args.max_trials, args.out) == ("synthetic", "sklearn", 3, "d")
    assert args.trials_per_process == 2 and build_parser().parse_args(["tune"]).max_trials is None
    assert args.run.__module__ == "kerasx.commands.tune"


def test_demo_data_is_learnable_and_stratified():
    (X_train, y_train), (X_test, y_test) = demo_data()
    assert X_train.shape == (480, 20) and X_test.shape == (120, 20)
    assert abs(y_train.mean() - y_test.mean()) < 0.02


def test_options_follow_the_config_fields():
    """Every TuneConfig option is on the command line, with the config's default."""
    from kerasx.tuning.config import TuneConfig

    args = build_parser().parse_args(["tune"])
    for field, *_ in TuneConfig.options():
        assert getattr(args, field.name) == field.default, field.name


def test_a_short_random_search_writes_its_folder(tmp_path, capsys):
    out = tmp_path / "search"
    argv = ["--tuner", "random", "--max-trials", "2", "--epochs", "2",
            "--objective", "val_matthews_correlation", "--seed", "3"]  # fmt: skip
    assert run_main([*argv, "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "[kerasx tune] data: 480 training rows" in stdout and "COMPLETED" in stdout
    assert "split: cell" in stdout and "validation: held-out rows (cell split)" in stdout
    record = json.loads((out / "search.json").read_text())
    assert (record["tuner"], record["epochs"], record["seed"]) == ("random", 2, 3)
    assert record["input_shape"] == [20] and record["n_samples"] == 480
    assert record["split"] == "cell"  # the built-in data has no patients
    best = json.loads((out / "best.json").read_text())
    assert 0.5 < best["test_accuracy"] <= 1.0
    assert best["validation"]["summary"] == "held-out rows (cell split): the last 96 of 480 rows"
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and (out / "best_model.keras").exists()
    assert record["objective"] == "val_matthews_correlation"
    assert best["best_score"] == trials["score"].max()  # MCC: higher is better
    # The same folder with another seed is another search: refused in one line, exit 2.
    assert run_main([*argv[:-1], "4", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("kerasx tune: Invalid value for argument `out`.")


def test_a_folder_is_split_and_validated_by_patient(malaria_dir, tmp_path, capsys):
    """The shared cells: by default whole patients are held out for validation, and every
    output says so; the same folder with ``--split cell`` is another search, refused."""
    out = tmp_path / "search"
    argv = ["--data", malaria_dir, "--fraction", "0.25", "--image-size", "8", "--tuner",
            "random", "--max-trials", "1", "--epochs", "1", "--out", str(out)]  # fmt: skip
    assert run_main(argv) == 0
    stdout = capsys.readouterr().out
    match = re.search(r"data: (\d+) training rows of (\d+) patients, .*; split: patient", stdout)
    assert match, stdout
    n_rows, n_patients = map(int, match.groups())
    validation = json.loads((out / "best.json").read_text())["validation"]
    assert validation["method"] == "held-out patients (grouped)"
    assert 1 <= validation["validation_patients"] < n_patients
    assert 0.1 * n_rows < validation["validation_rows"] < 0.35 * n_rows  # about 0.2
    assert f"of {n_patients} patients" in validation["summary"]
    assert f"validation: {validation['summary']}" in stdout
    assert f"on {validation['method']}" in stdout  # the closing line says it too
    assert (pd.read_csv(out / "trials.csv")["validation"] == validation["summary"]).all()
    assert json.loads((out / "search.json").read_text())["split"] == "patient"
    assert run_main([*argv, "--split", "cell"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kerasx tune: Invalid value for argument `out`.") and "'patient'" in err


# ----------------------------------------------------------------------------------------------
# Resume after a kill, distributed mode (slow: subprocesses that train)


def run_cli(args, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "kerasx", "tune", *args],
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def completed_rows(csv_path):
    if not os.path.exists(csv_path):
        return pd.DataFrame()
    return pd.read_csv(csv_path, dtype={"trial_id": str})


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["random", "sklearn"])
def test_resume_after_sigkill_equals_an_uninterrupted_search(tmp_path, tuner):
    """SIGKILL during the third trial, then the same command again: it finishes, trials.csv
    holds every trial once, and trials, best.json and the best model's predictions equal those
    of an uninterrupted search run beside it.

    Wrong implementations this catches: trials seeded only once per process (the rerun
    interrupted trial, first in its new process, gets other initial weights, so another score);
    a trials.csv appended to rather than rewritten (a trial twice); a resume that runs the
    finished trials again (their ``seconds`` change).
    """
    out, reference = tmp_path / "search", tmp_path / "reference"
    common = ["--tuner", tuner, "--max-trials", "6", "--epochs", "4", "--cv", "2"]
    uninterrupted = run_cli([*common, "--out", str(reference)])
    process = run_cli([*common, "--out", str(out)])
    deadline = time.monotonic() + 400
    while len(completed_rows(out / "trials.csv")) < 2:
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # into the third trial's training
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = completed_rows(out / "trials.csv")
    assert 2 <= len(before) < 6
    if tuner == "random":  # KerasTuner's own record of the finished trials
        saved = {
            row.trial_id: json.loads((out / "keras_tuner" / f"trial_{row.trial_id}" / "trial.json").read_text())
            for row in before.itertuples()
        }  # fmt: skip
    resumed = run_cli([*common, "--out", str(out)])
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert f"{len(before)} finished trial(s) reused" in output
    assert output.count("COMPLETED") == 6 - len(before)  # the finished ones did not run again
    after = completed_rows(out / "trials.csv")
    assert len(after) == 6 and after["trial_id"].is_unique
    assert (after["status"] == "COMPLETED").all()
    merged = before.merge(after, on="trial_id", suffixes=("_before", "_after"))
    np.testing.assert_array_equal(merged["score_before"], merged["score_after"])
    np.testing.assert_array_equal(merged["seconds_before"], merged["seconds_after"])
    if tuner == "random":
        for trial_id, state in saved.items():
            path = out / "keras_tuner" / f"trial_{trial_id}" / "trial.json"
            now = json.loads(path.read_text())
            assert now["hyperparameters"]["values"] == state["hyperparameters"]["values"]
            assert now["score"] == state["score"]

    reference_output, _ = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, reference_output
    expected = completed_rows(reference / "trials.csv")
    same = [c for c in expected.columns if c not in ("seconds", "peak_rss_mb")]
    pd.testing.assert_frame_equal(after[same], expected[same])
    assert json.loads((out / "best.json").read_text()) == json.loads(
        (reference / "best.json").read_text()
    )
    X_test, _ = demo_data()[1]
    from kerasx.recipes import load_trained_model

    np.testing.assert_array_equal(
        load_trained_model(out / "best_model.keras").predict(X_test, verbose=0),
        load_trained_model(reference / "best_model.keras").predict(X_test, verbose=0),
    )
    leftovers = [name for name in os.listdir(out) if ".tmp" in name]
    assert leftovers == []  # no temporary file of kerasx._io left behind


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers_on_localhost(tmp_path):
    out = tmp_path / "search"
    args = ["--tuner", "random", "--max-trials", "4", "--epochs", "3", "--out", str(out)]
    env = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    chief = run_cli(args, env={**env, "KERASTUNER_TUNER_ID": "chief"})
    workers = [run_cli(args, env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"}) for i in range(2)]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    chief_output = chief.communicate(timeout=120)[0]
    assert chief.returncode == 0, chief_output
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output
        assert output.count("COMPLETED") >= 1  # both workers ran trials
    assert sum(output.count("COMPLETED") for output in outputs) == 4
    table = completed_rows(out / "trials.csv")  # written by the chief
    assert len(table) == 4 and (table["status"] == "COMPLETED").all()
    assert table["seconds"].notna().all()  # each worker's timings were merged
    assert (out / "best_model.keras").exists()
