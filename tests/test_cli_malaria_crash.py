"""``kerasx malaria`` killed with SIGKILL mid-training and run again; quiet start-up.

Each test runs the real command line in subprocesses (``python -m kerasx``), because a kill and
TensorFlow's C++ start-up log are both about a process, not a function.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from kerasx.malaria import BACKUP_DIR

ARGV = [
    "malaria", "--data", "synthetic", "--model", "all", "--fraction", "0.1",
    "--image-size", "16", "--cnn-image-size", "16", "--epochs", "4", "--patience", "2",
    "--no-xla", "--deterministic",
]  # fmt: skip
NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers")


def _command(out, argv=ARGV):
    return [sys.executable, "-m", "kerasx", *argv, "--out", str(out)]


def _environment():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "PYTHONUNBUFFERED": "1"}


def _rows(path):
    try:
        return len(pd.read_csv(path))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


def _mid_training_backup(folder):
    """The committed backup state of an unfinished training in ``folder``, or ``None``."""
    try:
        state = json.loads((folder / "state.json").read_text())
    except FileNotFoundError:
        return None
    return None if state["finished"] else state


def _kill_after(out, name, rows, timeout=300):
    """Starts the command and SIGKILLs it as soon as ``history_<name>.csv`` holds ``rows``
    epochs and a backup of the unfinished training is committed (the backup does not save
    every epoch: it spaces its saves by their cost). The next epoch is then running, or its
    backup being written, and the rerun has a backup to resume from."""
    process = subprocess.Popen(
        _command(out), env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    folder = out / BACKUP_DIR / name
    try:
        while _rows(out / f"history_{name}.csv") < rows or _mid_training_backup(folder) is None:
            assert process.poll() is None, "the command ended before the planned kill"
            assert time.monotonic() < deadline, "no progress"
            assert not (folder / "state.json").exists() or _mid_training_backup(folder), (
                f"{name} finished before a backup of its training was committed"
            )
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL


def _finish(out, argv=ARGV):
    result = subprocess.run(
        _command(out, argv), env=_environment(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _weights(path):
    import keras

    import kerasx.metrics  # noqa: F401  (registers the models' metrics)

    return keras.models.load_model(path).get_weights()


@pytest.mark.slow
def test_sigkill_twice_then_rerun_equals_an_uninterrupted_run(tmp_path):
    """Killed during the MLP's training, then during the CNN's, then run to the end: the same
    history (every epoch once, the killed runs' epochs included, same losses) and the same
    final weights as one uninterrupted run, bit for bit.

    Catches, each on its own: a history that keeps only the epochs after the resume (the
    HistoryFrame without ``path``: fewer rows), or counts a re-run epoch twice (more rows); a
    backup without Adam's slots or the EarlyStopping state (patience restarts after the resume,
    so the run stops at another epoch or restores other best weights: different weights); an
    epoch order drawn from the process's global RNG (``fit(shuffle=True)``: a resumed epoch
    sees other batches, different weights); a finished MLP trained again after a kill in the
    CNN's training (its history rows duplicated). Exactness holds under ``--deterministic``
    (the recipes seed Keras; op determinism; the augmentation and dropout RNG states are layer
    variables, so the backup carries them): no tolerance.
    """
    whole = tmp_path / "whole"
    _finish(whole)
    crashed = tmp_path / "crashed"
    _kill_after(crashed, "mlp", 2)
    state = json.loads((crashed / "run.json").read_text())
    assert state["state"] == "running" and state["ended"] is None  # SIGKILL: no chance to fail
    assert _mid_training_backup(crashed / BACKUP_DIR / "mlp")["epoch"] >= 1
    _kill_after(crashed, "cnn", 2)
    _finish(crashed)

    expected = pd.read_csv(whole / "history.csv")
    got = pd.read_csv(crashed / "history.csv")
    assert not got.duplicated(["model", "epoch"]).any()
    for name, table in got.groupby("model"):
        assert table["epoch"].tolist() == list(range(len(table))), name
    columns = [c for c in expected.columns if c != "epoch_time"]
    pd.testing.assert_frame_equal(got[columns], expected[columns])
    for file in ("model.keras", "cnn.keras"):
        for a, b in zip(_weights(whole / file), _weights(crashed / file), strict=True):
            np.testing.assert_array_equal(b, a, err_msg=file)
    record = json.loads((crashed / "run.json").read_text())
    assert record["state"] == "finished" and record["ended"] >= record["started"]
    assert not (crashed / BACKUP_DIR).exists()
    assert not (crashed / "history_mlp.csv").exists()


#: Early stopping that binds mid-run: the MLP on these cells stops after 6 of 25 epochs (best
#: epoch 3, patience 2), so epochs 4 and 5 end with ``wait`` 1 and 2.
PATIENCE_ARGV = [
    "malaria", "--data", "synthetic", "--model", "mlp", "--fraction", "0.1", "--image-size", "16",
    "--epochs", "25", "--patience", "2", "--no-xla", "--deterministic",
]  # fmt: skip

# The command in a process whose backups save after every epoch (ratio 0), so that a backup is
# committed at each epoch and the kill can be aimed at one where ``wait`` > 0.
_EVERY_EPOCH = """
import sys
from kerasx.callbacks import backup
init = backup.BackupAndResume.__init__
backup.BackupAndResume.__init__ = lambda self, folder, stopping=None, ratio=0.0: init(
    self, folder, stopping, 0.0
)
from kerasx.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sigkill_while_patience_counts_resumes_to_the_same_stop(tmp_path):
    """Killed when the backup holds ``wait`` > 0 (epochs without improvement already counted),
    then run again: the run stops at the same epoch, with the same best epoch and the same
    weights, as an uninterrupted one.

    Catches a resume that resets EarlyStopping's ``wait`` to 0 (planted: the resumed run then
    trains one epoch more than the uninterrupted one, 7 instead of 6) or its ``best`` (it
    would take the first resumed epoch as the best), which the 4-epoch test above cannot: there
    patience can only bind at the last epoch.
    """
    whole = tmp_path / "whole"
    _finish(whole, PATIENCE_ARGV)
    expected = json.loads((whole / "metrics.json").read_text())["mlp"]
    assert expected["epochs_run"] < 25, "patience did not bind mid-run: the test proves nothing"

    crashed = tmp_path / "crashed"
    folder = crashed / BACKUP_DIR / "mlp"
    process = subprocess.Popen(
        [sys.executable, "-c", _EVERY_EPOCH, *PATIENCE_ARGV, "--out", str(crashed)],
        env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    try:
        while True:
            state = _mid_training_backup(folder)
            if state is not None and state["wait"] >= 1:
                break
            assert process.poll() is None, "the command ended before a backup with wait > 0"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    killed_at = _mid_training_backup(folder)
    assert killed_at["wait"] >= 1 and killed_at["epoch"] < expected["epochs_run"]

    _finish(crashed, PATIENCE_ARGV)
    got = json.loads((crashed / "metrics.json").read_text())["mlp"]
    assert (got["epochs_run"], got["best_epoch"]) == (
        expected["epochs_run"],
        expected["best_epoch"],
    )
    history = pd.read_csv(crashed / "history.csv")
    assert history["epoch"].tolist() == list(range(expected["epochs_run"]))
    for a, b in zip(
        _weights(whole / "model.keras"), _weights(crashed / "model.keras"), strict=True
    ):
        np.testing.assert_array_equal(b, a)


def _bad_run(tmp_path, *extra):
    """A run that fails in the data loading (an empty folder), after the command imported
    TensorFlow."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    argv = ["malaria", "--data", str(empty), *extra]
    return subprocess.run(
        _command(tmp_path / "bad", argv), env=_environment(), capture_output=True, text=True
    )


def _noise(stderr):
    return [line for line in stderr.splitlines() if any(noise in line for noise in NOISE)]


def test_start_up_is_quiet_and_errors_still_show(tmp_path):
    """TensorFlow's C++ start-up lines are gone from stderr, even with TF_CPP_MIN_LOG_LEVEL=0,
    and the command's own error (raised after TensorFlow's import) still shows. Catches
    relying on TF_CPP_MIN_LOG_LEVEL (TF 2.21 prints the lines anyway) and a silencing that
    never gives stderr back (the error line would be lost)."""
    result = _bad_run(tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert _noise(result.stderr) == []
    assert result.stderr.startswith("kerasx malaria: ") and "is empty" in result.stderr


def test_debug_shows_the_start_up_log(tmp_path):
    """The silencing is for users; ``--debug`` keeps TensorFlow's own lines for bug reports
    (and the traceback). Catches a silencing applied whatever the option."""
    result = _bad_run(tmp_path, "--debug")
    assert result.returncode != 0
    assert _noise(result.stderr) and "Traceback" in result.stderr
