"""Callbacks resume inside a user's ``fit`` with ``keras.callbacks.BackupAndRestore``.

A real crash: a subprocess trains a tiny model with HistoryFrame, LearningCurves, OneCycle,
TimeLimit, NaNGuard and BackupAndRestore (listed *before* the backup, so their
``on_train_begin`` runs before the restore), and kills itself with SIGKILL; the same script then
runs again. Under ``keras.utils.set_random_seed`` and op determinism the rerun must end with
exactly the weights of an uninterrupted run, and every epoch must appear once.

``shuffle=False`` on purpose: Keras draws each epoch's shuffle from the global generator, whose
position a backup does not record, so a resumed run with ``shuffle=True`` sees another (equally
random) order and ends with other weights; no tolerance would state that.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from kerasx.callbacks.plots import read_curves

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 4

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import keras, numpy as np, tensorflow as tf
    from kerasx.callbacks import HistoryFrame, LearningCurves, NaNGuard, OneCycle, TimeLimit

    out, kill_epoch, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("float32")
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])


    class Kill(keras.callbacks.Callback):
        # SIGKILL once (a marker file remembers it): mid-epoch, or after the epoch's row and
        # curves are written but before BackupAndRestore has saved that epoch.
        def _kill(self, epoch, moment):
            marker = os.path.join(out, "killed")
            if epoch == kill_epoch and moment == where and not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                self._kill(self.epoch, "batch")

        def on_epoch_end(self, epoch, logs=None):
            self._kill(epoch, "epoch_end")


    callbacks = [
        HistoryFrame(os.path.join(out, "history.csv")),
        LearningCurves(os.path.join(out, "curves.png"), monitor="val_loss"),
        OneCycle(max_lr=0.05),
        TimeLimit(3600, restore_best_weights=True),
        NaNGuard(),
        Kill(),
        keras.callbacks.BackupAndRestore(os.path.join(out, "backup")),
    ]
    model.fit(X, y, batch_size=8, epochs=EPOCHS, validation_split=0.25, shuffle=False,
              verbose=0, callbacks=callbacks)
    np.savez(os.path.join(out, "weights.npz"), *model.get_weights())
    with open(os.path.join(out, "optimizer.json"), "w") as f:
        json.dump({"learning_rate": float(keras.ops.copy(model.optimizer.learning_rate)),
                   "iterations": int(keras.ops.copy(model.optimizer.iterations))}, f)
    """
).replace("EPOCHS", str(EPOCHS))


def run_script(script, out, kill_epoch=-1, where="batch"):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(script), str(out), str(kill_epoch), where]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def weights(out):
    with np.load(out / "weights.npz") as data:
        return [data[key] for key in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the script."""
    folder = tmp_path_factory.mktemp("resume")
    script = folder / "train.py"
    script.write_text(SCRIPT)
    out = folder / "reference"
    out.mkdir()
    result = run_script(script, out)
    assert result.returncode == 0, result.stderr
    return script, out


@pytest.mark.slow
@pytest.mark.parametrize("where", ["batch", "epoch_end"])
def test_a_killed_fit_resumes_to_the_uninterrupted_result(reference, tmp_path, where):
    """Killed at batch 3 of epoch 2, or after epoch 2's row but before its backup; then rerun.

    Wrong implementations this catches: a HistoryFrame that starts again from an empty frame
    (epochs 0-1 lost) or keeps the interrupted epoch's row (epoch 2 twice); LearningCurves that
    reset in ``on_train_begin`` (curves of epochs 1-2 lost) or read their numbers back from the
    PNG, which the background thread may not have written before the kill (epoch 2 lost, seen
    here); a OneCycle that restarts its
    schedule at step 0 (other learning rates, so other weights and another final rate).
    """
    script, expected = reference
    killed = run_script(script, tmp_path, kill_epoch=2, where=where)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "weights.npz").exists()
    resumed = run_script(script, tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    for got, want in zip(weights(tmp_path), weights(expected), strict=True):
        np.testing.assert_array_equal(got, want)
    assert (tmp_path / "optimizer.json").read_text() == (expected / "optimizer.json").read_text()

    history = pd.read_csv(tmp_path / "history.csv")
    reference_history = pd.read_csv(expected / "history.csv")
    assert history["epoch"].tolist() == list(range(EPOCHS))
    columns = [c for c in reference_history.columns if c != "epoch_time"]
    pd.testing.assert_frame_equal(history[columns], reference_history[columns])

    epochs, series = read_curves(tmp_path / "curves.png")
    want_epochs, want_series = read_curves(expected / "curves.png")
    assert epochs == want_epochs == list(range(1, EPOCHS + 1))
    assert series == want_series
    assert sorted(os.listdir(tmp_path)) == [
        "curves.png", "curves.png.json", "history.csv", "killed", "optimizer.json", "weights.npz"
    ]  # fmt: skip
