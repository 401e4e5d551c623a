"""Pins every assumption that :mod:`kerasx._compat` makes about private third-party names.

When one of these fails after an upgrade, fix the matching function in ``kerasx/_compat.py``.
"""

import json
import os
import sys

import keras
import numpy as np
import pytest

from kerasx import _compat

# --------------------------------------------------------------------------------------------
# Callbacks and metrics
# --------------------------------------------------------------------------------------------


def _fed_early_stopping_best(metric, values):
    """The best epoch Keras's EarlyStopping(mode="auto") finds when ``metric``'s key takes ``values``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metric])
    key = "val_" + metric.name
    feed = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch])
    )
    stop = keras.callbacks.EarlyStopping(monitor=key, patience=10)
    X, y = np.ones((8, 2), "float32"), np.array([0, 1] * 4, "float32")
    model.fit(X, y, epochs=len(values), validation_data=(X, y), verbose=0, callbacks=[feed, stop])
    return stop.best_epoch


@pytest.mark.backend_agnostic
def test_keras_early_stopping_reads_the_hint_set_from_direction():
    """Keras's MonitorCallback with mode="auto" follows ``_direction`` on the compiled metric.

    The names ``score_up`` / ``score_down`` tell Keras nothing: without the hint it raises
    (checked last), so the right best epoch can only come from the hint set from ``direction``.
    """
    from kerasx.metrics import BrierScore, MatthewsCorrelation

    assert MatthewsCorrelation._direction == "up" and BrierScore._direction == "down"
    values = (0.3, 0.5, 0.1)
    assert _fed_early_stopping_best(MatthewsCorrelation(name="score_up"), values) == 1
    assert _fed_early_stopping_best(BrierScore(name="score_down"), values) == 2
    assert _compat.keras_direction_hint(keras.metrics.AUC()) == "max"
    assert _compat.keras_direction_hint(keras.metrics.MeanSquaredError()) == "min"
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        unknown = keras.metrics.MeanMetricWrapper(lambda y_true, y_pred: y_pred, name="score")
        _fed_early_stopping_best(unknown, values)


def _early_stopping_run(values, patience, state=None, best_weights=None, epochs=None):
    """EarlyStopping on ``val_loss`` fed ``values``; with ``state``, its counters set through
    :func:`_compat.set_early_stopping_state` after ``on_train_begin``. Returns the callback
    and the number of epochs that ran."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    ran = []
    feed = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (
            ran.append(epoch),
            logs.__setitem__("val_loss", values[epoch]),
        )
    )

    class Stopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if state is not None:
                _compat.set_early_stopping_state(self, state, best_weights)

    stop = Stopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    X, y = np.ones((4, 2), "float32"), np.zeros(4, "float32")
    first = 0 if state is None else len(values) - (epochs or len(values))
    model.fit(X, y, epochs=len(values), initial_epoch=first, verbose=0, callbacks=[feed, stop])
    return stop, ran


@pytest.mark.backend_agnostic
def test_early_stopping_counters_are_the_ones_that_decide_the_stop():
    """``best``, ``wait`` and ``best_epoch`` are EarlyStopping's whole progress: read after
    some epochs and set into a fresh callback resuming at the next epoch, the stop comes at the
    same epoch as in one uninterrupted run. Catches a Keras that renames them (the resumed run
    would stop later: its own counters would start over) or keeps more state elsewhere."""
    values = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    whole, ran = _early_stopping_run(values, patience=3)
    assert ran == [0, 1, 2, 3, 4] and whole.stopped_epoch == 4
    part, _ = _early_stopping_run(values[:3], patience=3)
    state = _compat.early_stopping_state(part)
    assert state == {"best": 0.5, "wait": 1, "best_epoch": 1}
    weights = _compat.early_stopping_best_weights(part)
    assert weights is not None and len(weights) == 2
    resumed, ran = _early_stopping_run(values, 3, state, weights, epochs=len(values) - 3)
    assert ran == [3, 4] and resumed.stopped_epoch == 4
    assert _compat.early_stopping_state(resumed) == _compat.early_stopping_state(whole)
    fresh = {"best": None, "wait": 0, "best_epoch": 0}
    _, ran = _early_stopping_run(values, 3, fresh, epochs=len(values) - 3)
    assert ran == [3, 4, 5, 6]  # without the counters the stop moves: they are what decides


@pytest.mark.backend_agnostic
def test_compiled_metrics_are_the_objects_passed_to_compile():
    """After the first step, the flat list holds the very metric objects given to compile."""
    from kerasx.metrics import MatthewsCorrelation

    metric = MatthewsCorrelation()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", metric])
    model.evaluate(np.ones((4, 2)), np.ones(4), verbose=0)
    found = _compat.compiled_metrics(model)
    assert any(m is metric for m in found)
    assert [m.name for m in found] == ["loss", "accuracy", "matthews_correlation"]


@pytest.mark.backend_agnostic
def test_loss_tracker_count_is_the_number_of_samples_seen_this_epoch():
    """The ``count`` of Keras's loss tracker sums the batch sizes (10 rows in batches of 4)."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    counts = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            count = _compat.loss_tracker_count(self.model)  # under JAX, `model` syncs state
            counts.append(float(keras.ops.convert_to_numpy(keras.ops.copy(count))))

    model.fit(
        np.ones((10, 2)), np.ones(10), batch_size=4, epochs=2, verbose=0, callbacks=[Record()]
    )
    assert counts == [4.0, 8.0, 10.0] * 2


def test_scheduled_hyperparameter_is_read_by_the_compiled_step():
    """SGD's traced step reads a swapped-in momentum variable; tracking would have kept it.

    Reference: Keras's momentum rule in NumPy (``v = μv − αg``, ``w = w + v``) with μ = 0.5 and
    then 0.0, assigned between steps. Plain ``setattr`` adds the variable to
    ``optimizer.variables`` (the reason for :func:`_compat.set_untracked_attribute`).
    """
    X = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    y = np.array([[1.0], [0.0]], "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.optimizer.build(model.trainable_variables)
    before = len(model.optimizer.variables)
    momentum = _compat.ScheduledHyperparameter(0.9, dtype="float32", trainable=False)
    _compat.set_untracked_attribute(model.optimizer, "momentum", momentum)
    assert len(model.optimizer.variables) == before and (model.optimizer.momentum != 0) is True
    model.make_train_function(force=True)
    w, velocity = np.array(model.get_weights()[0], dtype="float64"), 0.0
    for value in (0.5, 0.0):
        momentum.assign(value)
        gradient = X.T @ (X @ w - y)  # mse over 2 rows: 2/2 · Xᵀ(Xw − y)
        velocity = value * velocity - 0.1 * gradient
        w = w + velocity
        model.train_on_batch(X, y)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5)
    tracked = keras.optimizers.SGD(0.1, momentum=0.9)
    tracked.build(model.trainable_variables)
    count = len(tracked.variables)
    tracked.momentum = keras.Variable(0.9)
    assert len(tracked.variables) == count + 1


def test_wrapped_apply_is_what_the_train_step_calls():
    """The TensorFlow train step calls ``optimizer.apply`` through the instance attribute."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    calls = keras.Variable(0.0, trainable=False)

    def counting(apply):
        def wrapped(grads, trainable_variables=None):
            calls.assign_add(1.0)
            return apply(grads, trainable_variables)

        return wrapped

    _compat.wrap_optimizer_apply(model.optimizer, counting)
    model.make_train_function(force=True)
    model.fit(np.ones((12, 2)), np.ones(12), batch_size=4, epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(calls)) == 3.0
    _compat.unwrap_optimizer_apply(model.optimizer)
    model.make_train_function(force=True)
    model.fit(np.ones((12, 2)), np.ones(12), batch_size=4, epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(calls)) == 3.0 and "apply" not in vars(model.optimizer)


# ----------------------------------------------------------------------------------------------
# TapeModel (kerasx.training) and reloading legacy .h5 files


@pytest.mark.backend_agnostic
def test_functional_model_class_is_what_keras_model_returns():
    """Every ``keras.Model(inputs, outputs)`` is an instance of that one class (not a subclass
    made per call), and finding it uses up no automatic layer or model names.

    Catches a lookup that returns ``keras.Model`` itself (not functional) or a probe model that
    shifts the names of the user's next layers (``dense`` → ``dense_1``).
    """
    functional = _compat.functional_model_class()
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    assert type(model) is functional and functional is not keras.Model
    assert issubclass(functional, keras.Model) and functional.__name__ == "Functional"
    before = keras.layers.Dense(1).name
    _compat._FUNCTIONAL_CLASS = None  # find it again
    assert _compat.functional_model_class() is functional
    assert keras.layers.Dense(1).name == _next_name(before)


def _next_name(name):
    base, _, number = name.rpartition("_")
    return f"{base}_{int(number) + 1}" if number.isdigit() else f"{name}_1"


@pytest.mark.backend_agnostic
def test_loss_tracker_is_the_mean_behind_the_loss_log():
    """Updating it by hand is what the ``loss`` log shows: a batch-size-weighted mean.

    Catches a lookup that finds a compiled metric (``accuracy``) or a copy that Keras never
    reads: the log would not be 2.0.
    """
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.evaluate(np.ones((2, 2)), np.ones(2), verbose=0)  # builds the compiled metrics
    tracker = _compat.loss_tracker(model)
    tracker.reset_state()
    tracker.update_state(1.0, sample_weight=1)
    tracker.update_state(3.0, sample_weight=2)
    assert float(model.get_metrics_result()["loss"]) == pytest.approx(7 / 3)
    with pytest.raises(ValueError, match="compiled"):
        _compat.loss_tracker(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))


@pytest.mark.backend_agnostic
def test_h5_optimizer_weights_are_the_optimizer_variables_in_order(tmp_path):
    """Adam's iteration count, learning rate and moments come back in ``optimizer.variables``
    order, with their values. Catches reading the names sorted (``m`` and ``v`` swapped) or
    reading the model's weights instead."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 2)), np.arange(4.0), verbose=0)
    model.save(tmp_path / "model.h5")
    values = _compat.h5_optimizer_weights(tmp_path / "model.h5")
    expected = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    assert len(values) == len(expected)
    for value, want in zip(values, expected, strict=True):
        np.testing.assert_array_equal(value, want)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    plain.save(tmp_path / "plain.h5")  # not compiled: no optimizer group
    assert _compat.h5_optimizer_weights(tmp_path / "plain.h5") is None


# ----------------------------------------------------------------------------------------------
# KerasTuner (kerasx.tuning): TensorFlow backend only


def test_keras_tuner_tensorboard_hook_is_the_private_method_the_mixin_overrides():
    """Pins the name and signature that ``KerasTunerWithoutTensorBoard`` overrides."""
    import inspect

    import keras_tuner

    method = keras_tuner.Tuner._configure_tensorboard_dir
    assert list(inspect.signature(method).parameters) == ["self", "callbacks", "trial", "execution"]
    assert "_configure_tensorboard_dir" in vars(_compat.KerasTunerWithoutTensorBoard)


def _search_one_trial(tuner_class, directory):
    def build(hp):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=hp.Choice("optimizer", ["sgd"]), loss="binary_crossentropy")
        return model

    tuner = tuner_class(
        build,
        objective="val_loss",
        max_trials=1,
        directory=directory,
        max_consecutive_failed_trials=1,
    )
    X = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    try:
        tuner.search(X, (X[:, 0] > 0).astype("int64"), epochs=1, validation_split=0.5, verbose=0)
    except RuntimeError:  # KerasTuner gives up after the failed trial
        pass
    return [trial.status for trial in tuner.oracle.trials.values()]


def test_keras_tuner_trials_need_tensorboard_unless_the_mixin_skips_it(tmp_path, monkeypatch):
    """With ``tensorboard`` not importable (TensorFlow 2.21 does not install it), a plain
    KerasTuner trial fails and one through the mixin completes.

    When KerasTuner stops importing tensorboard in every trial, the first assertion fails and
    the mixin can go. Catches a mixin that no longer takes part (e.g. a renamed hook).
    """
    import keras_tuner

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # "import tensorboard" raises
    plain = _search_one_trial(keras_tuner.RandomSearch, tmp_path / "plain")
    assert "COMPLETED" not in plain and plain

    class WithoutTensorBoard(_compat.KerasTunerWithoutTensorBoard, keras_tuner.RandomSearch):
        pass

    assert _search_one_trial(WithoutTensorBoard, tmp_path / "mixin") == ["COMPLETED"]


def test_keras_tuner_state_files_are_written_whole_during_a_kerasx_search(tmp_path, monkeypatch):
    """Every JSON state file KerasTuner writes in a kerasx tuner's ``search`` goes through
    ``kerasx._io`` (temporary name + ``os.replace``), and the private hook is restored after.

    Fails when KerasTuner stops routing ``oracle.json`` / ``trial.json`` through
    ``keras_tuner.src.utils.save_json`` (the files would then be missing from ``replaced``).
    """
    from keras_tuner.src import utils

    from kerasx.tuning.tuners import _RandomSearch

    original = utils.save_json
    replaced = []
    real_replace = os.replace

    def spy(source, target):
        replaced.append(os.path.basename(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    assert _search_one_trial(_RandomSearch, tmp_path / "whole") == ["COMPLETED"]
    assert {"oracle.json", "trial.json", "tuner0.json"} <= set(replaced)
    assert utils.save_json is original
    for path in (tmp_path / "whole").rglob("*.json"):  # no temporary file left, all parse
        json.loads(path.read_text())
    assert not [p for p in (tmp_path / "whole").rglob("*") if ".tmp" in p.name]


def test_keras_tuner_whole_json_files_is_reentrant_and_keeps_remote_paths(monkeypatch):
    from keras_tuner.src import utils

    original = utils.save_json
    calls = []
    monkeypatch.setattr(utils, "save_json", lambda path, obj: calls.append(path) or "x")
    with _compat.keras_tuner_whole_json_files():
        with _compat.keras_tuner_whole_json_files():
            assert utils.save_json is _compat._whole_save_json
            utils.save_json("gs://bucket/oracle.json", {})  # remote: KerasTuner's own writer
        assert utils.save_json is _compat._whole_save_json
    assert calls == ["gs://bucket/oracle.json"]
    monkeypatch.setattr(utils, "save_json", original)


# ----------------------------------------------------------------------------------------------
# Image augmentation layers under JAX (kerasx.recipes.malaria_cnn)


@pytest.mark.backend_agnostic
def test_keras_declares_rotation_and_zoom_not_jit_compilable():
    """When Keras marks them compilable, ``allow_jit_on_jax`` can go."""
    for layer in (keras.layers.RandomRotation(0.1), keras.layers.RandomZoom(0.1)):
        assert layer.supports_jit is False


@pytest.mark.backend_agnostic
def test_allow_jit_on_jax_compiles_augmentation_on_jax_only():
    """On JAX the model keeps ``jit_compile=True`` and trains; elsewhere Keras's flag stays."""
    layers = [
        _compat.allow_jit_on_jax(keras.layers.RandomRotation(0.5, seed=0)),
        _compat.allow_jit_on_jax(keras.layers.RandomZoom(0.1, seed=0)),
    ]
    on_jax = keras.backend.backend() == "jax"
    assert all(layer.supports_jit is on_jax for layer in layers)
    if not on_jax:
        return
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(layers[1](layers[0](inputs)))
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert model.jit_compile is True
    X = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
    history = model.fit(X, X[:, 0, 0], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# ----------------------------------------------------------------------------------------------
# Safe loading (kerasx.recipes.load_trained_model)


def _lambda_model_file(tmp_path):
    marker = tmp_path / "marker"
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x + 1.0)[1]")
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(touch)(inputs))
    model.save(tmp_path / "lambda.keras")
    marker.unlink()
    return tmp_path / "lambda.keras", marker


def test_the_global_unsafe_flag_beats_an_explicit_safe_mode_and_forced_safe_mode_wins(tmp_path):
    """When ``load_model(safe_mode=True)`` refuses under the global flag, ``forced_safe_mode``
    can go. The global is set through Keras's own scope, so it is restored afterwards."""
    from keras.src.saving.serialization_lib import SafeModeScope

    path, marker = _lambda_model_file(tmp_path)
    with SafeModeScope(False):  # what keras.config.enable_unsafe_deserialization() does
        keras.models.load_model(path, safe_mode=True)  # Keras runs the Lambda anyway
        assert marker.exists()
        marker.unlink()
        with pytest.raises(ValueError, match="safe_mode=False"), _compat.forced_safe_mode():
            keras.models.load_model(path, safe_mode=True)
        assert not marker.exists()
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path)  # the global is back to safe
