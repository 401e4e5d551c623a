"""The course's model builders, from one-neuron logistic regression to the malaria MLP.

Every builder returns a compiled Keras model built from public Keras layers (and kerasx metrics),
so it saves to ``.keras`` and ``.h5`` and reloads without ``custom_objects``.
"""

import math

import keras
import numpy as np

from kerasx._validation import (
    check_in_range,
    check_int,
    check_non_negative,
    check_positive,
    invalid_value,
)

__all__ = [
    "logistic_regression",
    "malaria_mlp",
    "mlp",
    "softmax_regression",
]


def _optimizer(name, learning_rate):
    check_positive("learning_rate", learning_rate)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate}})


def _check_hidden(hidden):
    hidden = tuple(hidden)
    for units in hidden:
        check_int("hidden", units, minimum=1)
    return hidden


def _default_binary_metrics():
    from kerasx import metrics  # lazy: recipes must not pull in every component at import

    return [
        "accuracy",
        metrics.Sensitivity(name="sensitivity"),
        metrics.Specificity(name="specificity"),
        metrics.MatthewsCorrelation(name="mcc"),
    ]


def _resolve_jit_compile(jit_compile):
    """``None`` means XLA wherever Keras supports it (it is off by default on CPU in Keras)."""
    if jit_compile is None:
        return keras.backend.backend() in ("tensorflow", "jax")
    return bool(jit_compile)


def logistic_regression(q, use_bias=False, learning_rate=0.1, *, optimizer="sgd"):
    """The course's logistic regression as a one-neuron network.

    One ``Dense(1, activation="sigmoid")`` on ``q`` inputs, compiled with plain SGD and binary
    cross-entropy (the negative log-likelihood divided by N), so the fitted kernel approaches the
    maximum-likelihood estimate of β.

    Args:
        q: the number of explanatory variables.
        use_bias: whether to fit an intercept (the course's simulation has none).
        learning_rate: the step size α.
        optimizer: a Keras optimizer name.

    Returns:
        A compiled ``keras.Model`` (``Sequential``).

    >>> model = logistic_regression(2)
    >>> model.count_params()
    2
    >>> model.layers[0].activation.__name__
    'sigmoid'
    """
    q = check_int("q", q, minimum=1)
    model = keras.Sequential(
        [
            keras.Input((q,)),
            keras.layers.Dense(1, activation="sigmoid", use_bias=use_bias, name="logistic"),
        ],
        name="logistic_regression",
    )
    model.compile(
        optimizer=_optimizer(optimizer, learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def softmax_regression(q, n_classes=2, *, use_bias=True, learning_rate=0.1, optimizer="sgd"):
    """Multinomial logistic regression: ``n_classes`` softmax outputs on ``q`` inputs.

    W has q + 1 rows (with the bias) and ``n_classes`` columns; labels are one-hot
    (``keras.utils.to_categorical``), the loss is categorical cross-entropy.

    Args:
        q: the number of explanatory variables.
        n_classes: the number of classes C (≥ 2).
        use_bias: whether to fit an intercept per class.
        learning_rate: the step size.
        optimizer: a Keras optimizer name.

    Returns:
        A compiled ``keras.Model``.

    >>> softmax_regression(2, 3).count_params()  # (2 + 1) x 3
    9
    """
    q = check_int("q", q, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    model = keras.Sequential(
        [
            keras.Input((q,)),
            keras.layers.Dense(n_classes, activation="softmax", use_bias=use_bias, name="softmax"),
        ],
        name="softmax_regression",
    )
    model.compile(
        optimizer=_optimizer(optimizer, learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _regularizer(l1, l2):
    check_non_negative("l1", l1)
    check_non_negative("l2", l2)
    if l1 == 0 and l2 == 0:
        return None
    if l1 == 0:  # Keras's L2, summed in a form XLA runs faster on CPU
        from kerasx.regularizers import L2

        return L2(l2)
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def mlp(
    q,
    hidden=(4,),
    n_classes=2,
    activation="sigmoid",
    *,
    dropout=0.0,
    l1=0.0,
    l2=0.0,
    learning_rate=0.01,
    optimizer="sgd",
    loss=None,
    metrics=("accuracy",),
):
    """A multilayer perceptron: ``q`` inputs, hidden Dense layers, then the output layer.

    With ``n_classes >= 2`` the output is ``n_classes`` softmax neurons and the loss categorical
    cross-entropy (one-hot labels; pass ``loss="sparse_categorical_crossentropy"`` for integer
    labels). With ``n_classes=1`` it is a single sigmoid neuron with binary cross-entropy.

    Args:
        q: the number of inputs.
        hidden: the number of neurons of each hidden layer (``()`` gives a linear model).
        n_classes: the number of output classes, or 1 for one sigmoid output.
        activation: the hidden layers' activation (``"sigmoid"``, ``"tanh"``, ``"relu"``, ...).
        dropout: the dropout rate after each hidden layer, in [0, 1).
        l1: the L1 penalty λ₁ on every kernel (``kernel_regularizer``).
        l2: the L2 penalty λ₂ on every kernel.
        learning_rate: the optimizer's learning rate.
        optimizer: a Keras optimizer name.
        loss: the loss; ``None`` picks it from ``n_classes`` as above.
        metrics: the metrics to compile with.

    Returns:
        A compiled ``keras.Model``.

    >>> model = mlp(2, hidden=(4,), n_classes=3)
    >>> [layer.count_params() for layer in model.layers]  # (2 + 1) x 4, (4 + 1) x 3
    [12, 15]
    """
    q = check_int("q", q, minimum=1)
    hidden = _check_hidden(hidden)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    check_in_range("dropout", dropout, 0, 1, high_open=True)
    regularizer = _regularizer(l1, l2)
    layers = [keras.Input((q,)), *hidden_stack(hidden, activation, dropout, regularizer)]
    if n_classes == 1:
        layers.append(keras.layers.Dense(1, activation="sigmoid", name="output"))
        default_loss = "binary_crossentropy"
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax", name="output"))
        default_loss = "categorical_crossentropy"
    model = keras.Sequential(layers, name="mlp")
    model.compile(
        optimizer=_optimizer(optimizer, learning_rate),
        loss=loss or default_loss,
        metrics=list(metrics),
    )
    return model


def hidden_stack(hidden, activation, dropout=0.0, regularizer=None):
    """The hidden ``Dense`` layers ``hidden_1 …`` (each followed by ``dropout_i`` when asked).

    Shared by :func:`mlp` and :func:`kerasx.tuning.build_mlp`; arguments are checked by them.
    """
    layers = []
    for i, units in enumerate(hidden, start=1):
        layers.append(
            keras.layers.Dense(
                units, activation=activation, kernel_regularizer=regularizer, name=f"hidden_{i}"
            )
        )
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    return layers


# Rows of pixels per chunk when the standardization's moments are summed in float64.
_MOMENT_CHUNK = 1 << 20


def _channel_moments(images, channels):
    """The per-channel mean and (population) variance of ``images``, summed in float64.

    ``Normalization.adapt`` on float32 images takes float32 sums, which lose digits with many
    pixels (on 2,249 cells at 100x100 its means were off by up to 10 %, and past 2**24 summed
    values a float32 sum stops growing). Here each chunk of pixels is summed in float64, the
    mean first and the squared deviations from it second, without a float64 copy of the images.
    """
    pixels = np.asarray(images).reshape(-1, channels)
    n = len(pixels)
    total = np.zeros(channels)
    for start in range(0, n, _MOMENT_CHUNK):
        total += pixels[start : start + _MOMENT_CHUNK].sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros(channels)
    for start in range(0, n, _MOMENT_CHUNK):
        deviation = pixels[start : start + _MOMENT_CHUNK].astype(np.float64) - mean
        squares += np.einsum("ij,ij->j", deviation, deviation)
    return mean, squares / n


def _standardization_layer(standardize, input_shape):
    """A per-channel ``Normalization`` layer with the exact statistics of ``standardize``.

    Built as ``adapt`` builds it (3 means, 3 variances and a count: 7 non-trainable weights,
    saved with the model), with the mean and variance of :func:`_channel_moments`.
    """
    images = np.asarray(standardize)
    if images.size == 0 or images.size % math.prod(input_shape):
        expected = f"images of shape {tuple(input_shape)} (n, *input_shape)"
        raise invalid_value("standardize", expected, f"an array of shape {images.shape}")
    channels = input_shape[-1]
    layer = keras.layers.Normalization(axis=-1, name="standardize")
    layer.adapt(np.asarray(images.reshape((-1, *input_shape))[:1], dtype="float32"))
    set_moments(layer, *_channel_moments(images, channels))
    return layer


def set_moments(layer, mean, variance):
    """Gives an adapted ``Normalization`` layer the per-channel ``mean`` and ``variance``, as
    ``adapt`` sets its own (its count is kept)."""
    _, _, count = layer.get_weights()
    layer.set_weights([np.asarray(mean, np.float32), np.asarray(variance, np.float32), count])
    layer.finalize_state()


def malaria_mlp(
    input_shape=(100, 100, 3),
    hidden=(300, 100, 50),
    activation="relu",
    *,
    dropout=0.0,
    l2=0.0,
    learning_rate=1e-3,
    metrics="default",
    standardize=None,
    tape=False,
    jit_compile=None,
    seed=None,
):
    """The course's deep MLP for malaria cell images (step 6), compiled and ready to ``fit``.

    ``Flatten`` happens inside the model, so it takes images of ``input_shape``; the first Dense
    layer is named ``my_dense_layer``. At the defaults (30,000 inputs → 300 → 100 → 50 → 1) it
    has exactly 9,035,501 parameters. It is compiled with Adam and binary cross-entropy.

    Input scaling: pass the training images as ``standardize`` to put a per-channel
    ``keras.layers.Normalization`` layer adapted on them in front of ``Flatten``, so the saved
    model still takes raw [0, 1] pixels. Its statistics (3 means, 3 variances and a count) are 7
    non-trainable weights: ``model.count_params()`` is then 9,035,508 while the trainable count
    stays 9,035,501.

    Args:
        input_shape: the shape of one image.
        hidden: the neurons of each hidden Dense layer.
        activation: the hidden layers' activation.
        dropout: the dropout rate after each hidden layer, in [0, 1).
        l2: the L2 penalty on every hidden kernel.
        learning_rate: Adam's learning rate.
        metrics: ``"default"`` for accuracy plus kerasx's ``Sensitivity``, ``Specificity`` and
            ``MatthewsCorrelation`` (named ``sensitivity``, ``specificity``, ``mcc``), or any
            list Keras accepts.
        standardize: ``None``, or training images to adapt the input standardization on.
        tape: build a :class:`kerasx.training.TapeModel` (explicit ``GradientTape`` steps)
            instead of a plain ``keras.Model``.
        jit_compile: ``None`` compiles the training step with XLA on the TensorFlow and JAX
            backends (Keras' own ``"auto"`` leaves XLA off on CPU, which is about 1.9× slower
            here); ``False`` gives the course's plain Keras.
        seed: seeds the weight initializers and dropout, for repeatable builds.

    Returns:
        A compiled ``keras.Model`` (or ``TapeModel``).

    >>> model = malaria_mlp((10, 10, 3), hidden=(8,), metrics=["accuracy"])
    >>> model.get_layer("my_dense_layer").get_weights()[0].shape  # W: 300 inputs x 8 units
    (300, 8)
    >>> model.count_params()  # (300 + 1) x 8 + (8 + 1) x 1
    2417
    """
    input_shape = tuple(check_int("input_shape", d, minimum=1) for d in input_shape)
    hidden = _check_hidden(hidden)
    if not hidden:
        raise invalid_value("hidden", "at least one layer", hidden)
    check_in_range("dropout", dropout, 0, 1, high_open=True)
    regularizer = _regularizer(0.0, l2)
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, minimum=0))
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if standardize is not None:
        x = _standardization_layer(standardize, input_shape)(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden):
        name = "my_dense_layer" if i == 0 else f"dense_{i + 1}"
        x = keras.layers.Dense(
            units, activation=activation, kernel_regularizer=regularizer, name=name
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    if tape:
        from kerasx.training import TapeModel  # TensorFlow-only: imported on demand

        model = TapeModel(inputs, outputs, name="malaria_mlp")
    else:
        model = keras.Model(inputs, outputs, name="malaria_mlp")
    model.compile(
        optimizer=keras.optimizers.Adam(check_positive("learning_rate", learning_rate)),
        loss="binary_crossentropy",
        metrics=_default_binary_metrics() if metrics == "default" else list(metrics),
        jit_compile=_resolve_jit_compile(jit_compile),
    )
    return model
