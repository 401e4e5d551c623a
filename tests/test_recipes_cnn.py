"""The malaria CNN (kerasx.recipes.malaria_cnn): architecture, learning, saving, augmentation.

Every test here runs under every Keras backend (CI reruns them with KERAS_BACKEND=jax).
"""

import os
import warnings

import keras
import numpy as np
import pytest

from kerasx.recipes import malaria_cnn, malaria_mlp

pytestmark = pytest.mark.backend_agnostic

SMALL = {"filters": (8, 16), "dense": 16}


def rings_and_disks(n, size=20, seed=0):
    """Noisy dark images with one bright spot at a random place: a ring (1) or a disk (0).

    Both have the same outer radius and similar brightness, so only the local shape tells them
    apart, wherever it is and at any angle (the augmentation keeps the label).
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    images = rng.uniform(0.0, 0.25, (n, size, size, 3)).astype("float32")
    labels = np.arange(n) % 2
    for i in range(n):
        cy, cx = rng.uniform(4, size - 4, 2)
        r = np.hypot(rows - cy, cols - cx)
        spot = (r < 3.2) & ((r > 1.6) if labels[i] else True)
        images[i][spot] = rng.uniform(0.7, 1.0, 3)
    return images, labels.astype("float32")


def hand_count(input_channels, filters, dense):
    """Conv kernels (no bias) + 4 BN weights per filter + the dense head."""
    count, previous = 0, input_channels
    for f in filters:
        count += 3 * 3 * previous * f + 4 * f
        previous = f
    return count + (previous + 1) * dense + dense + 1


class TestArchitecture:
    def test_default_size_and_hand_count(self):
        model = malaria_cnn(metrics=["accuracy"])
        assert model.count_params() == hand_count(3, (32, 64, 128, 256), 128) == 422_881
        assert model.count_params() < 2_000_000
        assert model.input_shape == (None, 100, 100, 3) and model.output_shape == (None, 1)
        assert model.layers[-1].activation.__name__ == "sigmoid"

    def test_docstring_weight_counts_are_the_models(self):
        """The counts the docstring states at the defaults are the built models' own."""
        import math
        import re

        doc = " ".join(malaria_cnn.__doc__.split())
        match = re.search(
            r"it has ([\d,]+) weights \(([\d,]+) trainable; the other ([\d,]+) .*?"
            r"against the MLP's ([\d,]+)",
            doc,
        )
        assert match, "the docstring no longer states the counts"
        total, trainable, other, mlp = (int(g.replace(",", "")) for g in match.groups())
        model = malaria_cnn(metrics=["accuracy"])
        counted = sum(math.prod(w.shape) for w in model.trainable_weights)
        assert (total, trainable, other) == (
            model.count_params(),
            counted,
            model.count_params() - counted,
        )
        assert mlp == malaria_mlp(metrics=["accuracy"]).count_params()

    def test_blocks_are_conv_bn_relu_pool_then_global_pooling(self):
        model = malaria_cnn((16, 16, 3), **SMALL, augment=False, metrics=[])
        kinds = [type(layer).__name__ for layer in model.layers[1:]]
        block = ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]
        assert kinds == [
            "Rescaling",
            *block,
            *block,
            "GlobalAveragePooling2D",
            "Dense",
            "Dropout",
            "Dense",
        ]

    def test_batch_normalization_momentum_is_0_9(self):
        """Keras's default 0.99 lets the moving variance, which starts at 1.0, decay only as
        0.99**steps: inference stays at chance for hundreds of steps while training is right."""
        model = malaria_cnn((16, 16, 3), **SMALL, metrics=[])
        batch_norms = [
            layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
        ]
        assert len(batch_norms) == 2
        assert all(layer.momentum == pytest.approx(0.9) for layer in batch_norms)

    def test_augmentation_and_scaling_layers_inside_the_model(self):
        model = malaria_cnn((16, 16, 3), **SMALL, metrics=[])
        kinds = {type(layer).__name__ for layer in model.layers}
        assert {
            "RandomFlip",
            "RandomRotation",
            "RandomZoom",
            "RandomContrast",
            "RandomHue",
            "RandomSaturation",
        } <= kinds
        rescale = model.get_layer("rescale")
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(rescale(np.array([0.0, 0.5, 1.0]))), [-1.0, 0.0, 1.0]
        )
        plain = malaria_cnn((16, 16, 3), **SMALL, augment=False, metrics=[])
        assert not any(layer.name.startswith("augment") for layer in plain.layers)

    def test_colour_jitter_keeps_brightness_and_the_black_background(self, rng):
        """Hue and saturation move a pixel's colour only: HSV's value, max(R, G, B), is kept.

        So the black background of the NIH images (value 0) stays black, and a grey pixel
        (saturation 0) stays grey; a coloured image does change in training.
        """
        model = malaria_cnn((16, 16, 3), **SMALL, metrics=[], seed=0)
        images = rng.random((6, 16, 16, 3)).astype("float32")
        images[:, :4] = 0.0  # background
        images[:, 4:6] = 0.3  # grey
        out = images
        for name in ("augment_hue", "augment_saturation"):
            out = keras.ops.convert_to_numpy(model.get_layer(name)(out, training=True))
        np.testing.assert_allclose(out.max(axis=-1), images.max(axis=-1), atol=1e-5)
        np.testing.assert_allclose(out[:, :6], images[:, :6], atol=1e-5)
        assert np.abs(out - images).max() > 0.01

    def test_same_default_metrics_as_the_mlp(self, rng):
        images = rng.random((8, 8, 8, 3)).astype("float32")
        labels = (np.arange(8) % 2).astype("float32")
        cnn = malaria_cnn((8, 8, 3), **SMALL)
        mlp = malaria_mlp((8, 8, 3), hidden=(4,))
        results = [
            model.evaluate(images, labels, verbose=0, return_dict=True) for model in (cnn, mlp)
        ]
        assert (
            set(results[0])
            == set(results[1])
            == {
                "loss",
                "accuracy",
                "sensitivity",
                "specificity",
                "mcc",
            }
        )

    def test_compiled_with_adam_and_bce(self):
        model = malaria_cnn((8, 8, 3), **SMALL, learning_rate=3e-4, metrics=[])
        assert isinstance(model.optimizer, keras.optimizers.Adam)
        assert float(model.optimizer.learning_rate) == pytest.approx(3e-4)
        assert model.loss == "binary_crossentropy"

    def test_jit_compile(self):
        """XLA by default, except with augmentation on TensorFlow (no XLA kernel for rotation).

        Un-jitted JAX trains many times slower: on JAX the default must stay compiled.
        """
        on_jax = keras.backend.backend() == "jax"
        assert malaria_cnn((8, 8, 3), **SMALL, metrics=[]).jit_compile is on_jax
        assert malaria_cnn((8, 8, 3), **SMALL, augment=False, metrics=[]).jit_compile is True
        no_xla = malaria_cnn((8, 8, 3), **SMALL, augment=False, metrics=[], jit_compile=False)
        assert no_xla.jit_compile is False

    def test_seed_makes_builds_repeatable(self):
        first, second = (malaria_cnn((8, 8, 3), **SMALL, seed=3) for _ in range(2))
        for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)

    @pytest.mark.parametrize(
        "kwargs, name",
        [
            ({"input_shape": (8, 8)}, "input_shape"),
            ({"input_shape": (8, 0, 3)}, "input_shape"),
            ({"filters": ()}, "filters"),
            ({"filters": (8, 0)}, "filters"),
            ({"dense": 0}, "dense"),
            ({"dropout": 1.0}, "dropout"),
            ({"augment": "yes"}, "augment"),
            ({"learning_rate": 0}, "learning_rate"),
            ({"seed": -1}, "seed"),
        ],
    )
    def test_invalid_arguments(self, kwargs, name):
        kwargs = {"input_shape": (8, 8, 3), **kwargs}
        with pytest.raises(ValueError, match=f"Invalid value for argument `{name}`. Expected"):
            malaria_cnn(**kwargs)


def test_learns_a_visual_pattern():
    """≥ 90 % on unseen rings vs disks at random places, scored in inference mode.

    A network without shared convolutions fails it: trained the same way, the course's MLP
    (300 → 100 → 50) reached 100 % on the training images but 88.5 % here, a one-layer MLP
    76.5 % (the CNN: 96 %).
    """
    X_train, y_train = rings_and_disks(640, seed=0)
    X_test, y_test = rings_and_disks(400, seed=1)
    model = malaria_cnn((20, 20, 3), **SMALL, seed=0, metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=12, batch_size=32, verbose=0)
    accuracy = model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert accuracy >= 0.9


def test_keras_round_trip_predicts_identically(tmp_path):
    """Built-in layers only: reloads without custom_objects, moving statistics included.

    Identical on TensorFlow. On JAX the reloaded model predicts without XLA (Keras does not
    save ``allow_jit_on_jax``'s flag), which moves a float32 result by at most an ulp or two.
    """
    X, y = rings_and_disks(64, size=12)
    model = malaria_cnn((12, 12, 3), **SMALL, seed=0)
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    path = os.path.join(tmp_path, "cnn.keras")
    model.save(path)
    with warnings.catch_warnings():  # JAX: "Model doesn't support `jit_compile=True`"
        warnings.simplefilter("ignore", UserWarning)
        reloaded = keras.models.load_model(path)
        predictions = reloaded.predict(X, verbose=0)
    atol = 1e-6 if keras.backend.backend() == "jax" else 0.0
    np.testing.assert_allclose(model.predict(X, verbose=0), predictions, rtol=0, atol=atol)
    assert [type(layer) for layer in reloaded.layers] == [type(layer) for layer in model.layers]
    assert reloaded.evaluate(X, y, verbose=0, return_dict=True).keys() >= {"mcc", "sensitivity"}


def test_augmentation_is_off_at_inference():
    """Augmenting in every call (e.g. ``training=True`` hard-wired) would change predictions.

    With dropout 0 and batch statistics the only randomness in training mode is the
    augmentation: two training-mode calls differ with it and agree without it.
    """
    X, _ = rings_and_disks(16, size=12)
    model = malaria_cnn((12, 12, 3), **SMALL, dropout=0.0, seed=0)
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose=0))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(X, training=False)),
        keras.ops.convert_to_numpy(model(X, training=False)),
    )
    first, second = (keras.ops.convert_to_numpy(model(X, training=True)) for _ in range(2))
    assert np.abs(first - second).max() > 1e-4
    plain = malaria_cnn((12, 12, 3), **SMALL, dropout=0.0, augment=False, seed=0)
    first, second = (keras.ops.convert_to_numpy(plain(X, training=True)) for _ in range(2))
    np.testing.assert_allclose(first, second, atol=1e-6)
