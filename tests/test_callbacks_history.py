"""Tests of kerasx.callbacks.history (HistoryFrame), each against an independent reference."""

import keras
import numpy as np
import pandas as pd
import pytest
from callback_helpers import numpy_one_cycle, small_model, tf_dataset
from helpers import binary_data

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic

# --------------------------------------------------------------------------- HistoryFrame


@agnostic
class TestHistoryFrame:
    def test_equals_history_across_two_fits(self, tmp_path):
        X, y = binary_data(n=64)
        model = small_model()
        frame = cb.HistoryFrame()
        fits = [
            model.fit(
                X,
                y,
                epochs=epochs,
                batch_size=16,
                validation_data=(X, y),
                verbose=0,
                callbacks=[frame],
            )
            for epochs in (3, 2)
        ]
        result = frame.frame
        assert len(result) == 5
        assert result["epoch"].tolist() == [0, 1, 2, 3, 4]
        for rows, history in ((slice(0, 3), fits[0]), (slice(3, 5), fits[1])):
            expected = pd.DataFrame(history.history)
            got = result.iloc[rows][list(expected.columns)].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        np.testing.assert_allclose(result["learning_rate"], 0.05, rtol=1e-6)
        assert (result["epoch_time"] > 0).all()
        frame.to_csv(tmp_path / "h.csv")
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "h.csv"), result, check_dtype=False)
        frame.reset()
        assert frame.frame.empty

    def test_sees_keys_added_by_later_callbacks(self):
        X, y = binary_data(n=32)
        model = small_model()
        frame = cb.HistoryFrame()
        logger = cb.ConfusionMatrixLogger((X, y))
        history = model.fit(X, y, epochs=2, verbose=0, callbacks=[frame, logger])
        expected = pd.DataFrame(history.history)
        assert "val_tp" in expected
        got = frame.frame[list(expected.columns)]
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    def test_tf_data(self):
        X, y = binary_data(n=48)
        model = small_model()
        frame = cb.HistoryFrame()
        history = model.fit(tf_dataset(X, y), epochs=2, shuffle=False, verbose=0, callbacks=[frame])
        expected = pd.DataFrame(history.history)
        pd.testing.assert_frame_equal(frame.frame[list(expected.columns)], expected)

    test_tf_data = pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="tf.data input"
    )(test_tf_data)


class BatchRates(keras.callbacks.Callback):
    """Records the learning rate the optimizer holds at the end of each batch (the one used)."""

    def __init__(self):
        super().__init__()
        self.lrs = []

    def on_train_batch_end(self, batch, logs=None):
        rate = self.model.optimizer.learning_rate
        self.lrs.append(float(keras.ops.convert_to_numpy(keras.ops.copy(rate))))


@agnostic
def test_learning_rate_under_one_cycle_follows_the_schedule():
    """The ``learning_rate`` column holds the rate of each epoch's last batch under OneCycle.

    Step by step, the rate each batch used equals ``one_cycle_schedule`` and an independent
    NumPy schedule; epoch by epoch, HistoryFrame shows the last of them. Catches a HistoryFrame
    that reads the rate once (the compiled 0.05, or the first epoch's value), a OneCycle off by
    one step (the next batch's rate, or the previous one's), and a schedule restarted each epoch.
    """
    X, y = binary_data(n=48)
    model = small_model(optimizer="sgd")
    steps, epochs = 6, 4
    rates, frame = BatchRates(), cb.HistoryFrame()
    cycle = cb.OneCycle(max_lr=0.5, cycle_momentum=False)
    model.fit(X, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[cycle, rates, frame])
    total = steps * epochs
    expected, _ = numpy_one_cycle(total, 0.5)
    schedule = [cb.one_cycle_schedule(step, total, 0.5)[0] for step in range(total)]
    np.testing.assert_allclose(rates.lrs, expected, rtol=1e-6)
    np.testing.assert_allclose(rates.lrs, schedule, rtol=1e-6)
    last_of_each_epoch = expected[steps - 1 :: steps]
    np.testing.assert_allclose(frame.frame["learning_rate"], last_of_each_epoch, rtol=1e-6)
    assert len(set(np.round(last_of_each_epoch, 6))) == epochs  # every epoch's rate differs


# ----------------------------------------------------------------------------------------------
# Resuming from the CSV (the crash itself is tested in test_resume.py)


@agnostic
class TestHistoryFrameResume:
    def test_a_continued_fit_keeps_every_epoch_once(self, tmp_path):
        """A new HistoryFrame on the same CSV, in a fit that starts at epoch 2 as a resumed one
        does: rows 0-1 come from the file, 2-3 are new. A frame that ignores the file (or
        numbers rows by the new fit alone) gives [0, 1] or [2, 3] only."""
        X, y = binary_data(n=32)
        model = small_model()
        path = tmp_path / "history.csv"
        model.fit(X, y, epochs=2, verbose=0, callbacks=[cb.HistoryFrame(path)])
        first = pd.read_csv(path)
        frame = cb.HistoryFrame(path)
        model.fit(X, y, initial_epoch=2, epochs=4, verbose=0, callbacks=[frame])
        result = pd.read_csv(path)
        assert result["epoch"].tolist() == [0, 1, 2, 3]
        pd.testing.assert_frame_equal(result.iloc[:2], first)
        pd.testing.assert_frame_equal(frame.frame, result, check_dtype=False)

    def test_the_interrupted_epochs_row_is_dropped(self, tmp_path):
        """A crash after the row of epoch 2 was written but before the backup of epoch 2: Keras
        runs epoch 2 again, and it must appear once (keeping the file's rows gives 2 twice)."""
        path = tmp_path / "history.csv"
        pd.DataFrame({"loss": [0.9, 0.8, 0.7], "epoch": [0, 1, 2]}).to_csv(path, index=False)
        X, y = binary_data(n=32)
        model = small_model()
        model.fit(X, y, initial_epoch=2, epochs=3, verbose=0, callbacks=[cb.HistoryFrame(path)])
        result = pd.read_csv(path)
        assert result["epoch"].tolist() == [0, 1, 2]
        assert result["loss"].iloc[2] != 0.7

    def test_a_run_from_epoch_zero_starts_a_new_frame(self, tmp_path):
        path = tmp_path / "history.csv"
        pd.DataFrame({"loss": [0.9, 0.8], "epoch": [0, 1]}).to_csv(path, index=False)
        X, y = binary_data(n=32)
        model = small_model()
        model.fit(X, y, epochs=1, verbose=0, callbacks=[cb.HistoryFrame(path)])
        assert pd.read_csv(path)["epoch"].tolist() == [0]


@agnostic
def test_one_cycle_continues_from_the_optimizers_steps():
    """A fit that starts at epoch 2 (as a resumed one does) on an optimizer that has taken 12
    steps uses the rates of steps 12-23 of the cycle, as the uninterrupted fit did. A OneCycle
    that restarts at step 0 in each fit repeats the first rates."""
    X, y = binary_data(n=48)
    steps, epochs = 6, 4
    whole, rates = small_model(optimizer="sgd"), BatchRates()
    cycle = dict(max_lr=0.5, cycle_momentum=False, total_steps=steps * epochs)
    whole.fit(X, y, batch_size=8, epochs=epochs, verbose=0,
              callbacks=[cb.OneCycle(**cycle), rates])  # fmt: skip
    split, resumed = small_model(optimizer="sgd"), BatchRates()
    split.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb.OneCycle(**cycle)])
    split.fit(X, y, batch_size=8, initial_epoch=2, epochs=epochs, verbose=0,
              callbacks=[cb.OneCycle(**cycle), resumed])  # fmt: skip
    np.testing.assert_allclose(resumed.lrs, rates.lrs[2 * steps :], rtol=1e-6)
    for got, want in zip(split.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
