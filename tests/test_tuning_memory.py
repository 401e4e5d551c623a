"""Memory across the trials of a search (slow: each test trains ten models or more)."""

import gc
import weakref
from typing import ClassVar

import keras
import numpy as np
import pandas as pd
import psutil
import pytest
from scipy import stats
from sklearn.model_selection import StratifiedKFold
from tuning_helpers import separable_data

from kerasx.tuning import (
    MLPHyperModel,
    build_mlp,
    make_tuner,
    randomized_search,
    trials_table,
    tune,
)

# ----------------------------------------------------------------------------------------------
# Memory


# Measured here (TF 2.21, Keras 3.15.1, CPU): every model trained by a traced ``fit`` leaves
# about weights + optimizer slots of native memory behind (~22 MB for this 1.3M-parameter MLP with
# Adam, ~6 MB with SGD), even after ``keras.backend.clear_session()`` + ``gc.collect()`` and with
# every Python reference gone (see ``test_no_model_outlives_its_trial``); eager runs do not.
# Narrowed down: ``optimizer.apply`` of a Keras optimizer inside a ``tf.function`` leaks alike,
# a pure-TensorFlow ``tf.function`` training step does not, and destroying the variables'
# resources (``tf.raw_ops.DestroyResourceOp``) does not free it.
# ``tune(trials_per_process=...)`` is the working remedy (see the process-chain test below).
# Upstream: keras-team/keras#17458, tensorflow/tensorflow#61791. Strict xfail: these start
# passing (and must be un-marked) once the runtime frees that memory.
NATIVE_LEAK = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="TensorFlow keeps native memory of every traced fit (keras#17458, tensorflow#61791)",
)


class RssSampler(keras.callbacks.Callback):
    """Records this process's resident memory after every batch, tagged with the trial number.

    State lives on the class: KerasTuner deep-copies the callbacks for each trial.
    """

    samples: ClassVar[list] = []
    trial = 0

    def on_train_batch_end(self, batch, logs=None):
        RssSampler.samples.append((RssSampler.trial, psutil.Process().memory_info().rss))


@pytest.mark.slow
@NATIVE_LEAK
def test_memory_does_not_grow_across_ten_trials(tmp_path):
    space = MLPHyperModel(
        (2000,), n_hidden=2, n_neurons=512, learning_rate=(1e-4, 1e-2), dropout=0.0, l2=0.0,
        activations=("relu",),
    )  # fmt: skip
    model_bytes = build_mlp(2, 512, input_shape=(2000,)).count_params() * 4  # ~5.2 MB

    def next_trial(tuner, trial_id, seconds):
        RssSampler.trial += 1

    X = np.random.default_rng(0).standard_normal((256, 2000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    tuner = make_tuner(
        space, tuner="random", max_trials=10, directory=tmp_path, on_trial_done=next_trial
    )
    RssSampler.samples.clear()
    RssSampler.trial = 0
    tuner.search(X, y, epochs=2, batch_size=64, validation_split=0.25, verbose=0,
                 callbacks=[RssSampler()])  # fmt: skip
    peaks = pd.DataFrame(RssSampler.samples, columns=["trial", "rss"]).groupby("trial")["rss"].max()
    assert len(peaks) == 10
    # After the first trial (one-off tracing and allocator warm-up), the peak stays flat.
    growth = peaks.iloc[1:].max() - peaks.iloc[1]
    assert growth < model_bytes, (growth, model_bytes, list(peaks))


@pytest.mark.slow
@NATIVE_LEAK
def test_memory_does_not_grow_across_ten_sklearn_fits():
    X = np.random.default_rng(0).standard_normal((256, 2000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    model_bytes = build_mlp(2, 512, input_shape=(2000,)).count_params() * 4
    peaks = []
    for seed in range(10):
        search = randomized_search(
            X, y, n_iter=1, cv=StratifiedKFold(2), epochs=1, batch_size=64, wrapper="keras",
            param_distributions={"n_hidden": [2], "n_neurons": [512],
                                 "learning_rate": stats.loguniform(1e-4, 1e-2)},
            random_state=seed, refit=False,
        )  # fmt: skip
        del search
        peaks.append(psutil.Process().memory_info().rss)
    growth = max(peaks[1:]) - peaks[1]
    assert growth < model_bytes, (growth, model_bytes, peaks)


class ModelTracker:
    """Wraps ``build_mlp`` and keeps a weak reference to every model it builds."""

    def __init__(self):
        self.refs = []

    def __call__(self, *args, **kwargs):
        model = build_mlp(*args, **kwargs)
        self.refs.append(weakref.ref(model))
        return model

    def alive(self):
        gc.collect()
        return sum(ref() is not None for ref in self.refs)


@pytest.mark.slow
def test_no_model_outlives_its_trial(tmp_path, monkeypatch):
    """What the clean session per trial guarantees: no Python reference to earlier models."""
    X, y = separable_data(64)
    tracker = ModelTracker()

    class Tracked(MLPHyperModel):
        def build(self, hp):
            return tracker(**self.draw(hp), input_shape=self.input_shape)

    space = Tracked((4,), n_hidden=1, n_neurons=(4, 64), l2=0.0, dropout=0.0)
    tuner = make_tuner(space, tuner="random", max_trials=10, directory=tmp_path)
    tuner.search(X, y, epochs=1, validation_split=0.25, verbose=0)
    assert len(trials_table(tuner)) == 10
    assert tracker.alive() == 0, f"{tracker.alive()} of {len(tracker.refs)} models still alive"

    tracker = ModelTracker()
    monkeypatch.setattr("kerasx.tuning.estimators.build_mlp", tracker)
    randomized_search(X, y, n_iter=5, cv=2, epochs=1, wrapper="keras", refit=False)
    assert len(tracker.refs) == 10 and tracker.alive() == 0


@pytest.mark.slow
def test_memory_stays_flat_over_ten_trials_in_a_process_chain(tmp_path):
    """``trials_per_process=1``: each trial in a fresh process; peaks stay within one model."""
    space = MLPHyperModel(
        (4000,), n_hidden=2, n_neurons=1024, learning_rate=(1e-4, 1e-2), dropout=0.0, l2=0.0,
        activations=("relu",),
    )  # fmt: skip
    model_mb = build_mlp(2, 1024, input_shape=(4000,)).count_params() * 4 / 2**20  # ~20 MiB
    X = np.random.default_rng(0).standard_normal((256, 4000)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    result = tune(X, y, out=tmp_path, tuner="random", hypermodel=space, max_trials=10, epochs=1,
                  batch_size=64, trials_per_process=1)  # fmt: skip
    table = result["trials"]
    assert len(table) == 10 and (table["status"] == "COMPLETED").all()
    peaks = table["peak_rss_mb"].to_numpy()
    assert peaks.max() - peaks[0] < model_mb, (list(peaks), model_mb)
    assert result["model"].count_params() == build_mlp(2, 1024, input_shape=(4000,)).count_params()
