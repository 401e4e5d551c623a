"""TapeModel against the built-in ``keras.Model`` step, the NumPy backprop and sklearn's MLE.

TensorFlow-only module (it imports kerasx.training at the top): the JAX run skips it.
"""

import collections
import contextlib
import json
import os
import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_config_roundtrip, binary_data, save_and_reload
from sklearn.linear_model import LogisticRegression

from kerasx import backprop
from kerasx.training import TapeModel

N_FEATURES = 4


def _network(seed, kernel_regularizer=None):
    """Inputs and outputs of a small binary classifier, with weights fixed by ``seed``."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((N_FEATURES,))
    hidden = keras.layers.Dense(5, activation="tanh", kernel_regularizer=kernel_regularizer)(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    return inputs, outputs


def _twin_models(seed=0, kernel_regularizer=None, **tape_kwargs):
    """A built-in keras.Model and a TapeModel with the same architecture and initial weights."""
    builtin = keras.Model(*_network(seed, kernel_regularizer))
    tape = TapeModel(*_network(seed + 1, kernel_regularizer), **tape_kwargs)
    tape.set_weights(builtin.get_weights())
    return builtin, tape


def _assert_same_weights(model_a, model_b, atol=1e-6):
    for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def _assert_same_logs(history_a, history_b, rtol=1e-6):
    assert history_a.history.keys() == history_b.history.keys()
    for key, values in history_a.history.items():
        np.testing.assert_allclose(values, history_b.history[key], rtol=rtol, atol=1e-7)


@contextlib.contextmanager
def _dtype_policy(name):
    """Sets Keras's global dtype policy (and floatx for a plain dtype), then restores both."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_dtype_policy(name)
    if not name.startswith("mixed"):
        keras.config.set_floatx(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)


# --- Equivalence with the built-in training step -------------------------------------------------

EQUIVALENCE_CASES = {
    "sgd": dict(optimizer="sgd"),
    "adam-sample_weight-l2": dict(optimizer="adam", sample_weight=True, l2=0.01),
    "sgd-jit-sample_weight-l2": dict(optimizer="sgd", jit=True, sample_weight=True, l2=0.01),
    "adam-jit": dict(optimizer="adam", jit=True),
    "class_weight-validation_split": dict(
        optimizer="adam", fit=dict(class_weight={0: 0.3, 1: 2.0}, validation_split=0.25)
    ),
    "steps_per_execution": dict(optimizer="adam", steps_per_execution=3, sample_weight=True),
}


@pytest.mark.parametrize("case", EQUIVALENCE_CASES.values(), ids=EQUIVALENCE_CASES.keys())
def test_fit_matches_builtin_fit(case):
    X, y = binary_data(n=96, n_features=N_FEATURES, seed=1)
    X_val, y_val = binary_data(n=32, n_features=N_FEATURES, seed=2)
    jit = case.get("jit", False)
    regularizer = keras.regularizers.L2(case["l2"]) if "l2" in case else None
    builtin, tape = _twin_models(kernel_regularizer=regularizer)
    fit_kwargs = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    fit_kwargs.update(case.get("fit", {}))
    if not jit and "validation_split" not in fit_kwargs:  # (XLA compiles are slow on CPU)
        fit_kwargs["validation_data"] = (X_val, y_val)
    if case.get("sample_weight"):
        fit_kwargs["sample_weight"] = np.random.default_rng(3).uniform(0, 2, len(X))
    histories = []
    for model in (builtin, tape):
        model.compile(
            optimizer=keras.optimizers.get(case["optimizer"]),
            loss="binary_crossentropy",
            metrics=["accuracy"] if jit else ["accuracy", keras.metrics.AUC(name="auc")],
            weighted_metrics=["mse"],
            jit_compile=jit,
            steps_per_execution=case.get("steps_per_execution", 1),
        )
        assert model.jit_compile is jit
        histories.append(model.fit(X, y, **fit_kwargs))
    _assert_same_weights(builtin, tape)
    _assert_same_logs(*histories)
    if jit:
        return
    assert "val_loss" in histories[1].history and "val_auc" in histories[1].history
    np.testing.assert_allclose(
        builtin.evaluate(X_val, y_val, verbose=0), tape.evaluate(X_val, y_val, verbose=0), rtol=1e-6
    )
    np.testing.assert_allclose(
        builtin.predict(X_val, verbose=0), tape.predict(X_val, verbose=0), rtol=1e-6
    )


def _train_step_ops(model):
    """The operation types, with counts, of ``model.train_step`` traced on weighted batches."""
    model.optimizer.build(model.trainable_variables)
    spec = tuple(tf.TensorSpec(shape) for shape in [(16, N_FEATURES), (16,), (16,)])
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    return collections.Counter(op.type for op in graph.get_operations())


def test_train_step_graph_has_the_same_operations_as_keras():
    builtin, tape = _twin_models(kernel_regularizer=keras.regularizers.L2(0.01))
    for model in (builtin, tape):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    builtin_ops = _train_step_ops(builtin)
    assert _train_step_ops(tape) == builtin_ops  # no extra work per step
    tape.log_gradient_norm = True
    with_norm = _train_step_ops(tape)
    assert with_norm - builtin_ops and not builtin_ops - with_norm  # the norm only adds ops


def test_mixed_float16_matches_builtin_and_logs_the_unscaled_gradient_norm():
    X, y = binary_data(n=64, n_features=N_FEATURES, seed=1)
    norms = {}
    with _dtype_policy("mixed_float16"):
        builtin, tape = _twin_models(log_gradient_norm=True)
        histories = []
        for model in (builtin, tape):
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            histories.append(model.fit(X, y, batch_size=64, epochs=2, shuffle=False, verbose=0))
        norms["mixed"] = histories[1].history.pop("gradient_norm")[0]
        _assert_same_weights(builtin, tape)
        _assert_same_logs(*histories)
    _, tape32 = _twin_models(log_gradient_norm=True)
    tape32.compile(optimizer="adam", loss="binary_crossentropy")
    norms["float32"] = tape32.fit(X, y, batch_size=64, verbose=0).history["gradient_norm"][0]
    # The loss scale starts at 2**15: a scaled norm would be ~30,000 times larger.
    np.testing.assert_allclose(norms["mixed"], norms["float32"], rtol=1e-2)


# --- Gradients against the NumPy backprop ---------------------------------------------------------


@pytest.fixture
def float64():
    with _dtype_policy("float64"):
        yield


def _sgd_step_gradients(model, X, y):
    """The gradients of one full-batch SGD(learning_rate=1) step, read off the weight change."""
    before = model.get_weights()
    logs = model.fit(X, y, batch_size=len(X), epochs=1, verbose=0).history
    change = [b - a for a, b in zip(model.get_weights(), before, strict=True)]
    return change, logs["gradient_norm"][0]


def test_logistic_regression_gradient_equals_backprop(float64):
    X, y = backprop.simulate_logistic(200, (1.0, 2.0), seed=0)
    beta = np.array([-2.5, -2.5])
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1, activation="sigmoid", use_bias=False)(inputs)
    model = TapeModel(inputs, outputs, log_gradient_norm=True)
    model.set_weights([beta.reshape(2, 1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="binary_crossentropy")
    p_hat, _ = backprop.forward(X, y, beta)
    expected = backprop.backward(X, y, p_hat) / len(X)  # Keras averages the NLL over rows

    with tf.GradientTape() as tape:
        _, loss = model.forward(X, y.reshape(-1, 1))
    (gradient,) = model.backward(tape, loss)
    np.testing.assert_allclose(gradient.numpy().ravel(), expected, rtol=0, atol=1e-8)

    (step,), gradient_norm = _sgd_step_gradients(model, X, y)
    np.testing.assert_allclose(step.ravel(), expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(gradient_norm, np.linalg.norm(expected), rtol=1e-8)


def test_mlp_gradient_equals_backprop(float64):
    X, y = backprop.simulate_logistic(64, (1.0, 2.0), seed=1)
    l2 = 0.01
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    regularizer = keras.regularizers.L2(l2)
    hidden = keras.layers.Dense(4, activation="tanh", kernel_regularizer=regularizer)
    output = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer)
    model = TapeModel(inputs, output(hidden(inputs)), log_gradient_norm=True)
    # Non-zero biases, so that their gradients are checked at a generic point.
    weights = [w + 0.1 * (i % 2) for i, w in enumerate(model.get_weights())]
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="binary_crossentropy")
    mlp = backprop.MLP(weights[0::2], weights[1::2], "tanh", l2=l2, reduction="mean")
    grad_weights, grad_biases = mlp.backward(X, y)
    expected = [g for pair in zip(grad_weights, grad_biases, strict=True) for g in pair]

    with tf.GradientTape() as tape:
        _, loss = model.forward(X, y.reshape(-1, 1))
    np.testing.assert_allclose(float(loss), mlp.loss(X, y), rtol=1e-8)
    for got, want in zip(model.backward(tape, loss), expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-8)

    steps, gradient_norm = _sgd_step_gradients(model, X, y)
    for got, want in zip(steps, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
    total = np.sqrt(sum(np.sum(g**2) for g in expected))
    np.testing.assert_allclose(gradient_norm, total, rtol=1e-8)


def test_one_neuron_network_recovers_the_mle():
    X, y = backprop.simulate_logistic(1000, (1.0, 2.0))
    mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1, activation="sigmoid", use_bias=False)(inputs)
    model = TapeModel(inputs, outputs)
    model.set_weights([np.full((2, 1), -2.5)])  # the course's initial guess
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=4.0), loss="binary_crossentropy")
    model.fit(X, y, batch_size=len(X), epochs=60, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0].ravel(), mle, atol=0.02)
    assert np.all(np.abs(mle - [1.0, 2.0]) < 0.3)  # and the MLE is near the true β


# --- Keras features: callbacks, the gradient-norm contract, subclassing, saving ------------------


class _LogRecorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.batch_logs, self.epoch_logs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


class _SwitchOnGradientNorm(_LogRecorder):
    """What a callback does to ask for the gradient norm once fit has begun."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.model.log_gradient_norm = True
        assert self.model.train_function is None
        self.model.make_train_function(force=True)


def test_callbacks_see_the_logs_and_can_switch_on_the_gradient_norm():
    X, y = binary_data(n=48, n_features=N_FEATURES)
    _, model = _twin_models()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    recorder = _LogRecorder()
    model.fit(X, y, batch_size=16, epochs=2, callbacks=[recorder], verbose=0)
    assert len(recorder.batch_logs) == 6
    assert set(recorder.epoch_logs[-1]) == {"loss", "accuracy"}
    assert not model.log_gradient_norm

    switch = _SwitchOnGradientNorm()
    history = model.fit(X, y, batch_size=16, epochs=2, callbacks=[switch], verbose=0)
    assert all(np.isfinite(logs["gradient_norm"]) for logs in switch.batch_logs)
    assert history.history["gradient_norm"] == [
        pytest.approx(float(switch.batch_logs[i]["gradient_norm"])) for i in (2, 5)
    ]
    assert model.get_config()["log_gradient_norm"] is True


class TwoLayerNet(TapeModel):
    """A subclassed TapeModel whose ``call`` has no ``training`` argument."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, x):
        return self.out(self.hidden(x))


@keras.saving.register_keras_serializable(package="kerasx_tests")
class FrozenStep(TapeModel):
    """Overrides one of the three steps: backward returns zero gradients."""

    def backward(self, tape, loss):
        return [tf.zeros_like(g) for g in super().backward(tape, loss)]


def test_subclassing_works_after_functional_use(tmp_path):
    _twin_models()  # a functional TapeModel exists in this process
    assert TapeModel.__bases__ == (keras.Model,)
    X, y = binary_data(n=32, n_features=N_FEATURES)
    model = TwoLayerNet(units=4, log_gradient_norm=True)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert model.get_config()["log_gradient_norm"] is True

    frozen = FrozenStep(*_network(seed=0))
    frozen.compile(optimizer="sgd", loss="binary_crossentropy")
    before = frozen.get_weights()
    frozen.fit(X, y, batch_size=8, epochs=1, verbose=0)
    for after, initial in zip(frozen.get_weights(), before, strict=True):
        np.testing.assert_array_equal(after, initial)
    loaded = save_and_reload(frozen, tmp_path, formats=("keras",))["keras"]
    assert type(loaded) is type(frozen) and isinstance(loaded, FrozenStep)


def test_from_model_shares_layers_and_weights():
    base = keras.Sequential(
        [keras.Input((N_FEATURES,)), keras.layers.Dense(3), keras.layers.Dense(1)]
    )
    model = TapeModel.from_model(base, log_gradient_norm=True)
    assert isinstance(model, TapeModel) and model.log_gradient_norm
    assert [layer for layer in model.layers[1:]] == base.layers
    model.compile(optimizer="sgd", loss="mse")
    X, y = binary_data(n=16, n_features=N_FEATURES)
    model.fit(X, y, verbose=0)
    _assert_same_weights(model, base, atol=0)
    np.testing.assert_allclose(model.predict(X, verbose=0), base.predict(X, verbose=0))
    with pytest.raises(ValueError, match="Invalid value for argument `model`"):
        TapeModel.from_model(TwoLayerNet())


def test_saving_round_trip_without_custom_objects(tmp_path):
    X, y = binary_data(n=32, n_features=N_FEATURES)
    _, model = _twin_models(kernel_regularizer=keras.regularizers.L2(0.01), log_gradient_norm=True)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, batch_size=8, epochs=1, verbose=0)
    expected = model.predict(X, verbose=0)
    metrics = model.evaluate(X, y, verbose=0)
    reloaded = save_and_reload(model, tmp_path)
    for fmt, loaded in reloaded.items():
        assert isinstance(loaded, TapeModel), fmt
        assert loaded.log_gradient_norm, fmt
        np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-6)
        np.testing.assert_allclose(loaded.evaluate(X, y, verbose=0), metrics, rtol=1e-6)
    # Training continues from .keras. (From legacy .h5, Keras 3.15 restores an optimizer that
    # knows no variables, so fit fails for the built-in keras.Model as well: recompile first.)
    history = reloaded["keras"].fit(X, y, batch_size=8, epochs=1, verbose=0)
    assert "gradient_norm" in history.history

    unpickled = pickle.loads(pickle.dumps(model))
    assert type(unpickled) is type(model) and unpickled.log_gradient_norm
    np.testing.assert_allclose(unpickled.predict(X, verbose=0), expected, rtol=1e-6)
    assert_config_roundtrip(model)


# --- Errors -------------------------------------------------------------------------------------


def test_fit_before_compile_raises():
    _, model = _twin_models()
    X, y = binary_data(n=8, n_features=N_FEATURES)
    with pytest.raises(ValueError, match=r"call `compile\(\)`"):
        model.fit(X, y, verbose=0)


def test_no_trainable_weights_raises():
    _, model = _twin_models()
    model.trainable = False
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    X, y = binary_data(n=8, n_features=N_FEATURES)
    with pytest.raises(ValueError, match="has no trainable weights"):
        model.fit(X, y, verbose=0)


def test_missing_gradient_names_the_weight():
    inputs = keras.Input((N_FEATURES,))
    detached = keras.layers.Dense(1, name="detached")(inputs)
    outputs = keras.layers.Dense(1, name="used")(inputs) + keras.ops.stop_gradient(detached)
    model = TapeModel(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    X, y = binary_data(n=8, n_features=N_FEATURES)
    with pytest.raises(ValueError, match=r"No gradient .*detached/kernel', '.*detached/bias'"):
        model.fit(X, y, verbose=0)


# --- Subprocesses: distribution strategy and another backend -----------------------------------

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from kerasx.training import TapeModel

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("float32")
    w = rng.uniform(0.5, 1.5, 64).astype("float32")

    def train(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            inputs = keras.Input((4,))
            hidden = keras.layers.Dense(
                5, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.01)
            )(inputs)
            model = TapeModel(
                inputs, keras.layers.Dense(1, activation="sigmoid")(hidden), log_gradient_norm=True
            )
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(
            X, y, sample_weight=w, batch_size=16, epochs=3, shuffle=False, verbose=0
        )
        return {
            "replicas": strategy.num_replicas_in_sync,
            "weights": [v.tolist() for v in model.get_weights()],
            "logs": history.history,
        }

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    print(json.dumps({"single": train(tf.distribute.get_strategy()), "mirrored": train(mirrored)}))
    """
)


def _run_python(code, **env):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def test_mirrored_strategy_matches_single_device():
    result = _run_python(MIRRORED_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    assert runs["single"]["replicas"] == 1 and runs["mirrored"]["replicas"] == 2
    for a, b in zip(runs["single"]["weights"], runs["mirrored"]["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key, values in runs["single"]["logs"].items():
        np.testing.assert_allclose(values, runs["mirrored"]["logs"][key], rtol=1e-5, err_msg=key)


def test_import_under_jax_backend_raises_a_clear_error():
    code = (
        "import kerasx, kerasx.backprop\n"
        "try:\n    import kerasx.training\n"
        "except ImportError as error:\n    print('ImportError:', error)\n"
    )
    result = _run_python(code, KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ImportError: kerasx.training (TapeModel) needs the TensorFlow backend" in result.stdout
    assert "KERAS_BACKEND='jax'" in result.stdout
