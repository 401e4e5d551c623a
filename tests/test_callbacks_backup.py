"""The pieces of crash-safe training (``kerasx/callbacks/backup.py``), as ``kerasx malaria`` uses them.

The whole (SIGKILL, rerun, bit-identical weights) is tested in ``test_cli_malaria_crash.py``;
these tests pin what that test cannot tell apart: that ``fit`` sees a different order every
epoch (a pipeline that replays the first epoch's order would be just as repeatable), when the
backup saves, and what a finished backup restores.
"""

import json
import os

import keras
import numpy as np
import pytest

from kerasx.callbacks import backup as resume

N, BATCH, SEED = 10, 4, 3


def _reference(epoch, n=N, seed=SEED):
    """Epoch ``epoch``'s row order, drawn here without the module."""
    return np.random.default_rng((seed, epoch)).permutation(n)


def test_epoch_batches_serve_each_epochs_order():
    """Every epoch is its own permutation, cut into batches, rows and labels together; a
    pipeline started at epoch 2 (a resumed run) serves what the whole one serves there."""
    x = np.arange(N, dtype="float32")[:, None] * np.ones((1, 3), "float32")
    y = np.arange(N, dtype="float32") * 10
    dataset, steps = resume.epoch_batches(x, y, BATCH, SEED, first_epoch=0, epochs=4)
    batches = list(dataset.as_numpy_iterator())
    assert steps == 3 and [len(b) for b, _ in batches] == [4, 4, 2] * 4
    for epoch in range(4):
        served = batches[epoch * steps : (epoch + 1) * steps]
        rows = np.concatenate([b[:, 0] for b, _ in served])
        np.testing.assert_array_equal(rows, _reference(epoch))
        np.testing.assert_array_equal(np.concatenate([t for _, t in served]), rows * 10)
    assert not np.array_equal(_reference(0), _reference(1))
    resumed, _ = resume.epoch_batches(x, y, BATCH, SEED, first_epoch=2, epochs=4)
    for (a, b), (c, d) in zip(resumed.as_numpy_iterator(), batches[2 * steps :], strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_epoch_batches_read_a_numpy_x_in_place(dtype):
    """A NumPy ``x`` is read where it lies: a change made after the pipeline was built shows in
    its batches, in ``x``'s dtype, with the rows of ``rows`` only. Catches a tensor copy of
    ``x`` (two extra copies of the images held for the whole fit: +970 MB on the NIH set)."""
    x = np.zeros((N, 2, 2, 3), dtype)
    y = np.arange(N, dtype="float32")
    rows = np.arange(1, N, 2)
    dataset, _ = resume.epoch_batches(x, y, BATCH, SEED, first_epoch=0, epochs=1, rows=rows)
    x += (np.arange(N) + 1).astype(dtype)[:, None, None, None]  # after the pipeline exists
    batches = list(dataset.as_numpy_iterator())
    images = np.concatenate([b for b, _ in batches])
    labels = np.concatenate([t for _, t in batches])
    assert images.dtype == np.dtype(dtype) and images.shape[1:] == (2, 2, 3)
    np.testing.assert_array_equal(labels, rows[_reference(0, n=len(rows))])
    np.testing.assert_array_equal(images[:, 0, 0, 0], labels + 1)


class _Recorder(keras.Model):
    """Records the rows of every batch its training step sees."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.seen = []

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, _ = data
        self.seen.append(keras.ops.convert_to_numpy(x)[:, 0].astype(int))
        return {"rows": keras.ops.convert_to_tensor(float(len(self.seen[-1])))}


def test_fit_meets_epoch_e_order_at_epoch_e():
    """Through Keras's ``fit`` (``steps_per_epoch`` keeps one iterator over the epochs), a fit
    started at epoch 1 sees order 1, then order 2. Catches a pipeline restarted every epoch
    (every epoch would replay order 1)."""
    x = np.arange(N, dtype="float32")[:, None]
    model = _Recorder()
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    dataset, steps = resume.epoch_batches(x, x[:, 0], BATCH, SEED, first_epoch=1, epochs=3)
    model.fit(dataset, steps_per_epoch=steps, initial_epoch=1, epochs=3, shuffle=False, verbose=0)
    seen = model.seen
    assert len(seen) == 2 * steps
    np.testing.assert_array_equal(np.concatenate(seen[:steps]), _reference(1))
    np.testing.assert_array_equal(np.concatenate(seen[steps:]), _reference(2))


class _States(keras.callbacks.Callback):
    """After the backup's epoch end: the committed state, or None."""

    def __init__(self, folder):
        super().__init__()
        self.folder, self.states = folder, []

    def on_epoch_end(self, epoch, logs=None):
        self.states.append(resume.read_backup_state(self.folder))


def _fit(folder, epochs=4, ratio=24.0, initial_epoch=None):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype("float32")
    y = (X[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    stopping = resume.ResumableEarlyStopping(
        monitor="val_loss", patience=10, restore_best_weights=True
    )
    backup = resume.BackupAndResume(str(folder), stopping=stopping, ratio=ratio)
    states = _States(str(folder))
    model.fit(
        X,
        y,
        validation_split=0.25,
        epochs=epochs,
        initial_epoch=backup.initial_epoch(epochs) if initial_epoch is None else initial_epoch,
        shuffle=False,
        callbacks=[stopping, backup, states],
        verbose=0,
    )
    return model, stopping, backup, states.states


def test_no_save_is_forced_before_the_budget_allows(tmp_path, monkeypatch):
    """With a save estimated to cost more than the training (1 byte/s), no epoch is saved, not
    even the first; the end of training is, on the best weights alone (no weights file, the
    best epoch's npz). Catches a first save forced whatever its cost."""
    monkeypatch.setattr(resume, "WRITE_RATE", 1.0)
    _, _, backup, states = _fit(tmp_path / "b")
    assert states == [None] * 4
    state = resume.read_backup_state(tmp_path / "b")
    assert state["finished"] and state["epoch"] == 4 and state["weights"] is None
    assert sorted(os.listdir(tmp_path / "b")) == sorted(["state.json", state["best_weights"]])
    assert len(backup.save_times) == 1


def test_saves_follow_the_budget(tmp_path):
    """Ratio 0: a save after every epoch, each naming that epoch's weights."""
    _, _, backup, states = _fit(tmp_path / "b", ratio=0.0)
    assert [s["epoch"] for s in states] == [1, 2, 3, 4]
    assert all(s["weights"] == f"epoch-{s['epoch']:05d}.weights.h5" for s in states)
    assert not any(s["finished"] for s in states)
    assert len(backup.save_times) == 5  # 4 epochs and the end


@pytest.mark.parametrize("ratio", [0.0, 1e9])
def test_a_finished_backup_restores_the_final_weights(tmp_path, ratio):
    """A rerun on a finished backup trains no epoch and ends on the first run's final weights
    (EarlyStopping's best ones), whether periodic saves happened or not."""
    first, stopping, _, _ = _fit(tmp_path / "b", ratio=ratio)
    expected = first.get_weights()
    for a, b in zip(expected, stopping.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with open(tmp_path / "b" / "state.json", encoding="utf-8") as f:
        assert json.load(f)["finished"]
    again, _, _, states = _fit(tmp_path / "b", ratio=ratio)
    assert states == []  # no epoch ran
    for a, b in zip(again.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(a, b)
