"""Tests of kerasx.callbacks.diagnostics (GradientNorm), against tf.GradientTape."""

import keras
import numpy as np
import pytest
from callback_helpers import BatchWeights, EpochWeights, small_model, tf_dataset
from helpers import binary_data

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic


def tape_norm(model, x, y):
    """The global gradient norm of the mean binary cross-entropy, with tf.GradientTape."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        p = model(x, training=False)
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(tf.reshape(y, (-1, 1)), p))
    gradients = tape.gradient(loss, model.trainable_variables)
    return float(np.sqrt(sum(np.sum(np.square(g.numpy())) for g in gradients)))


class BatchEndWeights(keras.callbacks.Callback):
    """Records the weights at the end of each batch (after its update)."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append([np.array(w) for w in self.model.get_weights()])


class TestGradientNorm:
    def test_probe_norm_equals_gradient_tape(self):
        X, y = binary_data(n=64)
        probe = (X[:16], y[:16])
        model = small_model()
        norms = cb.GradientNorm(probe_data=probe)
        record = EpochWeights()
        history = model.fit(X, y, batch_size=16, epochs=3, verbose=0, callbacks=[norms, record])
        assert history.history["gradient_norm"] == norms.epoch_norms
        for epoch, weights in enumerate(record.weights):
            model.set_weights(weights)
            expected = tape_norm(model, *probe)
            np.testing.assert_allclose(norms.epoch_norms[epoch], expected, rtol=1e-5)

    def test_probe_from_tf_data_per_batch(self):
        X, y = binary_data(n=32)
        model = small_model(lr=0.0)  # weights stay put: every probe sees the same gradient
        norms = cb.GradientNorm(probe_data=tf_dataset(X, y, 8), per_batch=True)
        model.fit(tf_dataset(X, y, 8), epochs=1, shuffle=False, verbose=0, callbacks=[norms])
        expected = tape_norm(model, X[:8], y[:8])
        np.testing.assert_allclose(norms.batch_norms, [expected] * 4, rtol=1e-5)

    def test_probe_per_batch_while_training_matches_replayed_weights(self):
        """Each batch's probe norm equals GradientTape at the weights after that batch.

        The learning rate is not zero, so the weights, and hence the norms, change every
        batch; the weights are snapshotted at each batch end and the norm is recomputed on
        them. Catches a probe computed once per epoch and repeated, a probe traced with the
        weights' values frozen in, and one read before the batch's update.
        """
        X, y = binary_data(n=32)
        probe = (X[:8], y[:8])
        model = small_model(lr=0.5)
        norms, after = cb.GradientNorm(probe_data=probe, per_batch=True), BatchEndWeights()
        model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[norms, after])
        expected = []
        for weights in after.weights:
            model.set_weights(weights)
            expected.append(tape_norm(model, *probe))
        assert len(set(np.round(expected, 5))) == 8  # the weights moved every batch
        np.testing.assert_allclose(norms.batch_norms, expected, rtol=1e-5)

    def test_tape_model_per_batch_while_training_matches_replayed_weights(self):
        """A TapeModel's batch norms equal GradientTape on each batch at its starting weights.

        SGD with a non-zero rate moves the weights every batch; they are snapshotted before
        each batch and the batch's gradient is recomputed on them. Catches the norm of the
        previous batch, the norm at the weights after the update, and an epoch mean repeated
        per batch.
        """
        from kerasx.training import TapeModel

        X, y = binary_data(n=32)
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(3, activation="tanh")(inputs)
        model = TapeModel(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
        norms, before = cb.GradientNorm(per_batch=True), BatchWeights()
        history = model.fit(
            X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[before, norms]
        )
        expected = []
        for step, weights in enumerate(before.before):
            model.set_weights(weights)
            start = (step % 4) * 8
            expected.append(tape_norm(model, X[start : start + 8], y[start : start + 8]))
        assert len(set(np.round(expected, 5))) == 8
        np.testing.assert_allclose(norms.batch_norms, expected, rtol=1e-5)
        epoch_means = [np.mean(expected[:4]), np.mean(expected[4:])]
        np.testing.assert_allclose(history.history["gradient_norm"], epoch_means, rtol=1e-5)

    def test_tape_model_mean_of_batch_norms(self):
        from kerasx.training import TapeModel

        X, y = binary_data(n=32)
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(3, activation="tanh")(inputs)
        model = TapeModel(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
        model.fit(X, y, batch_size=8, epochs=1, verbose=0)  # train function built without norms
        norms = cb.GradientNorm(per_batch=True)
        history = model.fit(
            X, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[norms]
        )
        batches = [tape_norm(model, X[i : i + 8], y[i : i + 8]) for i in range(0, 32, 8)]
        np.testing.assert_allclose(norms.batch_norms, batches * 2, rtol=1e-5)
        np.testing.assert_allclose(
            history.history["gradient_norm"], [np.mean(batches)] * 2, rtol=1e-5
        )
        assert model.log_gradient_norm is False
        assert "gradient_norm" not in model.fit(X, y, epochs=1, verbose=0).history

    def test_without_probe_or_tape_model_warns(self):
        X, y = binary_data(n=16)
        model = small_model()
        with pytest.warns(UserWarning, match="no probe_data"):
            history = model.fit(X, y, epochs=1, verbose=0, callbacks=[cb.GradientNorm()])
        assert "gradient_norm" not in history.history


# --------------------------------------------------------------------------- arguments


INVALID = [
    (lambda: cb.GradientNorm(probe_data=3), "probe_data", "an \\(x, y\\) pair"),
    (lambda: cb.GradientNorm(probe_data=(1,)), "probe_data", "an \\(x, y\\) or"),
    (lambda: cb.GradientNorm(name=""), "name", "a non-empty str"),
]


@agnostic
@pytest.mark.parametrize(("make", "name", "expected"), INVALID)
def test_invalid_arguments(make, name, expected):
    with pytest.raises(
        ValueError, match=f"Invalid value for argument `{name}`. Expected {expected}"
    ):
        make()
