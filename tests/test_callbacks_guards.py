"""Tests of kerasx.callbacks.guards (TimeLimit, NaNGuard), each against an independent reference."""

import time

import keras
import numpy as np
import pytest
from callback_helpers import BatchWeights, EpochWeights, small_model, tf_dataset
from helpers import binary_data

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic

# --------------------------------------------------------------------------- TimeLimit


class Clock(keras.callbacks.Callback):
    """Sleeps ``pause`` seconds in each batch; records the time at each batch end."""

    def __init__(self, pause):
        super().__init__()
        self.pause = pause
        self.ends = []

    def on_train_batch_begin(self, batch, logs=None):
        time.sleep(self.pause)

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


@agnostic
class TestTimeLimit:
    def test_stops_within_one_batch_of_the_limit(self, monkeypatch):
        X, y = binary_data(n=64)
        model = small_model()
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)  # trace the step before timing
        # A fake clock that only batches advance (20 ms each): the test and TimeLimit read the
        # same time, however busy the machine is.
        now = [1000.0]

        class FakeClock(Clock):
            def on_train_batch_begin(self, batch, logs=None):
                now[0] += self.pause

        monkeypatch.setattr(time, "perf_counter", lambda: now[0])
        clock, limit = FakeClock(0.02), cb.TimeLimit(seconds=0.25)
        model.fit(X, y, batch_size=4, epochs=20, verbose=0, callbacks=[clock, limit])
        elapsed = np.asarray(clock.ends) - limit.start_time
        assert elapsed[-1] >= 0.25 > elapsed[-2]  # the first batch past the limit is the last
        assert len(elapsed) < 20 * 16
        epoch, batch = limit.stopped_at
        assert epoch * 16 + batch + 1 == len(elapsed)

    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [
            (0.39, "in epoch 2 (counted from 1) after its batch 4; 1 whole epoch done"),
            (0.31, "in epoch 1 (counted from 1) after its batch 16; 1 whole epoch done"),
        ],
    )
    def test_says_when_it_stops(self, monkeypatch, capsys, seconds, expected):
        """One line, the limit and the epochs done (Keras's numbering, from 1), on a timed stop
        only; nothing with ``verbose=0`` or when the fit ends within the limit."""
        X, y = binary_data(n=64)
        model = small_model()
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)
        now = [1000.0]

        class FakeClock(Clock):  # 20 ms per batch, 16 batches per epoch
            def on_train_batch_begin(self, batch, logs=None):
                now[0] += self.pause

        monkeypatch.setattr(time, "perf_counter", lambda: now[0])
        capsys.readouterr()
        limit = cb.TimeLimit(seconds=seconds)
        model.fit(X, y, batch_size=4, epochs=5, verbose=0, callbacks=[FakeClock(0.02), limit])
        printed = capsys.readouterr().out
        assert printed == f"TimeLimit: stopped training at the {seconds:g} s limit, {expected}\n"
        quiet = cb.TimeLimit(seconds=seconds, verbose=0)
        model.fit(X, y, batch_size=4, epochs=5, verbose=0, callbacks=[FakeClock(0.02), quiet])
        assert quiet.stopped_at is not None
        roomy = cb.TimeLimit(seconds=100)
        model.fit(X, y, batch_size=4, epochs=2, verbose=0, callbacks=[FakeClock(0.02), roomy])
        assert roomy.stopped_at is None
        assert capsys.readouterr().out == ""

    def test_says_which_weights_it_restored(self, monkeypatch, capsys):
        X, y = binary_data(n=64)
        model = small_model()
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)
        now = [1000.0]

        class FakeClock(Clock):
            def on_train_batch_begin(self, batch, logs=None):
                now[0] += self.pause

        monkeypatch.setattr(time, "perf_counter", lambda: now[0])
        record = EpochWeights()
        limit = cb.TimeLimit(seconds=0.7, restore_best_weights=True, monitor="loss")
        capsys.readouterr()
        model.fit(
            X, y, batch_size=4, epochs=5, verbose=0, callbacks=[FakeClock(0.02), record, limit]
        )
        losses = [logs["loss"] for logs in record.logs[:2]]  # epochs 1 and 2 were whole
        best = int(np.argmin(losses))
        assert capsys.readouterr().out.endswith(
            f"2 whole epochs done; restored the weights of epoch {best + 1}, the best by loss "
            f"({losses[best]:.4g})\n"
        )

    def test_config_round_trip(self):
        limit = cb.TimeLimit(60, restore_best_weights=True, monitor="loss", mode="min", verbose=0)
        config = limit.get_config()
        assert config["verbose"] == 0
        assert cb.TimeLimit(**config).get_config() == config
        assert cb.TimeLimit(60).get_config()["verbose"] == 1

    def test_restores_best_weights_of_completed_epochs(self):
        X, y = binary_data(n=32)
        model = small_model(lr=0.5)
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)  # trace the step before timing
        clock, record = Clock(0.01), EpochWeights()
        limit = cb.TimeLimit(seconds=0.3, restore_best_weights=True, monitor="loss")
        model.fit(X, y, batch_size=4, epochs=50, verbose=0, callbacks=[clock, record, limit])
        assert limit.stopped_at is not None
        complete = record.logs[:-1]  # the last epoch was cut by the limit
        best = int(np.argmin([logs["loss"] for logs in complete]))
        for got, expected in zip(model.get_weights(), record.weights[best], strict=True):
            np.testing.assert_array_equal(got, expected)

    def test_missing_monitor_warns(self):
        X, y = binary_data(n=16)
        model = small_model()
        limit = cb.TimeLimit(seconds=100, restore_best_weights=True)
        with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
            model.fit(X, y, epochs=1, verbose=0, callbacks=[limit])
        assert limit.stopped_at is None


# --------------------------------------------------------------------------- NaNGuard


def assert_weights_equal(model, expected):
    got = model.get_weights()
    assert all(np.isfinite(w).all() for w in got)
    for left, right in zip(got, expected, strict=True):
        np.testing.assert_array_equal(left, right)


METHODS = [
    pytest.param("snapshot", marks=agnostic),
    pytest.param("skip"),  # the in-graph guard: TensorFlow only
]


class TestNaNGuard:
    @pytest.mark.parametrize("method", METHODS)
    def test_nan_loss_batch_leaves_the_weights_before_it(self, method):
        X, y = binary_data(n=64)
        X[40] = np.inf  # batch 5 of 8 rows gives a NaN loss (and NaN gradients)
        model = small_model(optimizer="adam")
        record, guard = BatchWeights(), cb.NaNGuard(method=method)
        history = model.fit(
            X, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[record, guard]
        )
        assert guard.method_ == method
        assert guard.bad_batch["epoch"] == 0 and guard.bad_batch["batch"] == 5
        assert guard.restored_step == 5 and len(record.before) == 6
        assert len(history.history["loss"]) == 1
        assert_weights_equal(model, record.before[5])
        assert all(
            np.isfinite(keras.ops.convert_to_numpy(keras.ops.copy(v))).all()
            for v in model.optimizer.variables
        )

    @pytest.mark.parametrize("method", METHODS)
    def test_nan_gradient_with_finite_loss(self, method):
        # sqrt(|Wx|) at Wx = 0 has a finite value but an infinite derivative: the row of zeros
        # in batch 2 gives a finite loss and NaN gradients. The snapshot method sees it one
        # batch later (batch 3's loss is NaN) and goes back two buffers; the in-graph guard
        # skips batch 2's step itself.
        X, y = binary_data(n=48)
        X[20] = 0.0
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(3, use_bias=False),
                keras.layers.Lambda(lambda t: keras.ops.sqrt(keras.ops.abs(t))),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        record, guard = BatchWeights(), cb.NaNGuard(method=method)
        model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[record, guard])
        if method == "snapshot":
            assert not all(np.isfinite(w).all() for w in record.before[3])  # NaN after batch 2
            assert guard.bad_batch["batch"] == 3
        else:
            assert guard.bad_batch == {"epoch": 0, "batch": 2, "reason": "gradient"}
        assert guard.restored_step == 2
        assert_weights_equal(model, record.before[2])

    @agnostic
    def test_snapshot_every_and_clean_run(self):
        X, y = binary_data(n=64)
        X[50] = np.nan  # batch 6
        model = small_model()
        record, guard = BatchWeights(), cb.NaNGuard(method="snapshot", snapshot_every=4)
        model.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[record, guard])
        assert guard.restored_step == 4
        assert_weights_equal(model, record.before[4])
        X[50] = 0.0
        model.fit(X, y, batch_size=8, epochs=2, verbose=0, callbacks=[guard])
        assert guard.bad_batch is None and guard.restored_step is None

    def test_skip_restores_batch_norm_statistics_and_the_optimizer(self):
        # The forward pass of a NaN batch poisons batch-norm's moving statistics (not trained
        # by the optimizer): the guard copies those per batch and puts them back.
        X, y = binary_data(n=32)
        X[17] = np.nan
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(3),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy")
        record, guard = BatchWeights(), cb.NaNGuard()
        model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[record, guard])
        assert guard.method_ == "skip" and guard.bad_batch["batch"] == 2
        assert_weights_equal(model, record.before[2])
        assert int(keras.ops.convert_to_numpy(keras.ops.copy(model.optimizer.iterations))) == 2
        assert "apply" not in vars(model.optimizer)  # the optimizer is itself again
        model.fit(X[:16], y[:16], epochs=1, verbose=0)  # and trains normally

    def test_tf_data(self):
        X, y = binary_data(n=32)
        X[17] = np.nan
        model = small_model()
        record, guard = BatchWeights(), cb.NaNGuard()
        model.fit(
            tf_dataset(X, y, 8), epochs=2, shuffle=False, verbose=0, callbacks=[record, guard]
        )
        assert guard.bad_batch["batch"] == 2
        assert_weights_equal(model, record.before[2])


# --------------------------------------------------------------------------- arguments


INVALID = [
    (lambda: cb.TimeLimit(0), "seconds", "a float > 0"),
    (lambda: cb.TimeLimit(1, mode="best"), "mode", "one of"),
    (lambda: cb.TimeLimit(1, verbose=2), "verbose", "one of"),
    (lambda: cb.NaNGuard(snapshot_every=0), "snapshot_every", "an integer >= 1"),
    (lambda: cb.NaNGuard(method="restore"), "method", "one of"),
]


@agnostic
@pytest.mark.parametrize(("make", "name", "expected"), INVALID)
def test_invalid_arguments(make, name, expected):
    with pytest.raises(
        ValueError, match=f"Invalid value for argument `{name}`. Expected {expected}"
    ):
        make()
