"""The course's malaria MLP in plain Keras, shared by the benchmarks.

Written here rather than taken from :mod:`kerasx.recipes` so that the benchmarks time the course's
own code against kerasx's.
"""

import keras

IMAGE_SHAPE = (100, 100, 3)


def course_mlp(input_shape=IMAGE_SHAPE, *, model_class=keras.Model, seed=0):
    """Flatten → Dense 300 (``my_dense_layer``) → 100 → 50 (relu) → 1 (sigmoid), uncompiled."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    x = keras.layers.Dense(300, activation="relu", name="my_dense_layer")(x)
    x = keras.layers.Dense(100, activation="relu")(x)
    x = keras.layers.Dense(50, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return model_class(inputs, outputs)


def compiled_course_mlp(input_shape=IMAGE_SHAPE, **compile_kwargs):
    """:func:`course_mlp` compiled as the course does (Adam, BCE, accuracy) unless told otherwise."""
    model = course_mlp(input_shape)
    compile_kwargs = {
        "optimizer": "adam",
        "loss": "binary_crossentropy",
        "metrics": ["accuracy"],
        **compile_kwargs,
    }
    model.compile(**compile_kwargs)
    return model
