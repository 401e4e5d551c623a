"""Is loading ever the bottleneck of ``kerasx malaria``, and what does the default XLA buy?

Two measurements on the shared malaria cell images (or ``--data synthetic``), side by side:

* **Loading** — images/s of :func:`kerasx.data.load_malaria` at 100×100: *cold* (every PNG
  decoded and resized, into an empty cache folder) and *cached* (the same call again, read from
  the ``.npy`` cache; best of 3 calls).
* **Training** — samples/s of ``fit`` for the course's MLP (Flatten → 300 → 100 → 50 → 1, Adam,
  binary cross-entropy), at the same batch size:

  - ``course``: the course's plain Keras code (``Sequential``, ``compile("adam",
    "binary_crossentropy", metrics=["accuracy"])``, Keras's own ``jit_compile="auto"``, which is
    off on CPU);
  - ``default``: :func:`kerasx.recipes.malaria_mlp` as ``kerasx malaria`` builds it (XLA on,
    input standardization, accuracy + Sensitivity + Specificity + MCC);
  - ``default, accuracy only``: the same with ``metrics=["accuracy"]``, to show the metrics' cost.

  Each model trains one warm-up epoch (tracing, XLA compilation), then ``--epochs`` timed epochs,
  interleaved round by round so that machine load hits every model alike; the median epoch is
  reported.

* **The CNN** — samples/s of ``fit`` for :func:`kerasx.recipes.malaria_cnn` as ``kerasx
  malaria`` builds it (80×80), next to the *same CNN with Keras's defaults*
  (:func:`keras_defaults_cnn`): the same layers in the same order, with every option the recipe
  sets left at Keras's default: ``BatchNormalization(momentum=0.99)``, ``Conv2D`` with a bias,
  ``RandomRotation`` / ``RandomZoom`` filling by reflection, no seeds, and
  ``compile("adam", "binary_crossentropy", metrics=["accuracy"])`` (``jit_compile="auto"``,
  Keras's choice). Timed like the MLPs, interleaved.

Targets (issue 6 and 14), at every batch size: cached loading ≥ 10× the fastest training rate,
``default`` ≥ 1.4× ``course``, and the recipe's CNN ≥ 0.9× the Keras-defaults CNN (what the
recipe adds for accuracy, its metrics and BN momentum, costs ≤ 10 % of speed). A full run exits
1 when one is missed (``--quick`` only reports).

Usage::

    python benchmarks/bench_malaria_pipeline.py             # folder, batch 32 and 128, 3 epochs
    python benchmarks/bench_malaria_pipeline.py --quick     # 1,000 rows, batch 128, 2 epochs (~20 s)
    python benchmarks/bench_malaria_pipeline.py --data synthetic --batch-sizes 32
"""

import argparse
import os
import statistics
import tempfile
import time

import keras
import numpy as np
from _course import compiled_course_mlp
from _targets import Targets, machine

from kerasx.data import load_malaria
from kerasx.recipes import malaria_cnn, malaria_mlp

SHARED = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
DEFAULT_DATA = os.path.abspath(os.path.join(SHARED, "malaria_cells"))


def loading_rates(source, image_sizes, fraction):
    """Images/s of load_malaria at the first size: cold (decode into an empty cache), then
    cached (best of 3); and the training images at each size."""
    kwargs = {"fraction": fraction, "flatten": False}
    with tempfile.TemporaryDirectory() as cache:
        seconds = []
        for _ in range(4):  # the first call decodes and fills the cache
            start = time.perf_counter()
            (X_train, _), (X_test, _) = load_malaria(
                source, image_size=image_sizes[0], cache_dir=cache, **kwargs
            )
            seconds.append(time.perf_counter() - start)
        others = [
            load_malaria(source, image_size=size, cache_dir=cache, **kwargs)[0][0]
            for size in image_sizes[1:]
        ]
    n = len(X_train) + len(X_test)
    return {"cold": n / seconds[0], "cached": n / min(seconds[1:])}, X_train, *others


def course_model(input_shape):
    """The course's code, verbatim in spirit: default compile."""
    return compiled_course_mlp(input_shape)


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def training_rates(X, y, batch_size, epochs):
    """Median samples/s of one epoch for each model, timed round-robin after a warm-up."""
    keras.utils.set_random_seed(0)
    models = {
        "course": course_model(X.shape[1:]),
        "default": malaria_mlp(X.shape[1:], learning_rate=1e-4, l2=1e-3, standardize=X),
        "default, accuracy only": malaria_mlp(
            X.shape[1:], learning_rate=1e-4, l2=1e-3, standardize=X, metrics=["accuracy"]
        ),
    }
    return _interleaved_rates(models, X, y, batch_size, epochs)


def _interleaved_rates(models, X, y, batch_size, epochs):
    """Median samples/s of one epoch of each model, round-robin after a warm-up epoch."""
    timer = _EpochTimer()
    seconds = {name: [] for name in models}
    for round_ in range(epochs + 1):
        for name, model in models.items():
            model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[timer])
            if round_ > 0:  # round 0 traces and compiles
                seconds[name].append(timer.seconds)
    return {name: len(X) / statistics.median(times) for name, times in seconds.items()}


def keras_defaults_cnn(input_shape, filters=(32, 64, 128), dense=128, dropout=0.3):
    """:func:`kerasx.recipes.malaria_cnn`'s layers with every option at Keras's default.

    ``RandomContrast``, ``RandomHue`` and ``RandomSaturation`` keep the recipe's factors and
    ``value_range=(0, 1)``: the factors have no default, and the range describes the pixels, not
    a choice (Keras's default assumes [0, 255]).
    """
    inputs = keras.Input(input_shape)
    x = keras.layers.RandomFlip()(inputs)  # Keras's default: "horizontal_and_vertical"
    x = keras.layers.RandomRotation(0.5)(x)
    x = keras.layers.RandomZoom(0.1)(x)
    x = keras.layers.RandomContrast(0.1, value_range=(0, 1))(x)
    x = keras.layers.RandomHue(0.05, value_range=(0, 1))(x)
    x = keras.layers.RandomSaturation((0.4, 0.6), value_range=(0, 1))(x)
    x = keras.layers.Rescaling(2.0, offset=-1.0)(x)
    for n_filters in filters:
        x = keras.layers.Conv2D(n_filters, 3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(dense, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def cnn_rates(X, y, batch_size, epochs):
    """Median samples/s of one epoch: the recipe's CNN and the Keras-defaults CNN, interleaved."""
    keras.utils.set_random_seed(0)
    models = {
        "recipe CNN": malaria_cnn(X.shape[1:], seed=0),
        "Keras-defaults CNN": keras_defaults_cnn(X.shape[1:]),
    }
    return _interleaved_rates(models, X, y, batch_size, epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="1,000 rows, batch 128, 2 epochs; targets not enforced"
    )
    parser.add_argument("--data", default=None, help=f"folder or synthetic (default: {SHARED})")
    parser.add_argument("--image-size", type=int, default=100)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per model")
    parser.add_argument("--cnn-image-size", type=int, default=80)
    parser.add_argument("--cnn-rows", type=int, default=None, help="default 512 (256 --quick)")
    args = parser.parse_args(argv)
    print(machine())
    source = args.data or (DEFAULT_DATA if os.path.isdir(DEFAULT_DATA) else "synthetic")
    batch_sizes = args.batch_sizes or ([128] if args.quick else [32, 128])
    epochs = args.epochs or (2 if args.quick else 3)

    load, X, X_cnn = loading_rates(
        source, (args.image_size, args.cnn_image_size), 0.2 if args.quick else None
    )
    rows = 1000 if args.quick else 2000
    X = np.resize(X, (rows, *X.shape[1:]))  # repeats the images when the split has fewer
    y = (np.arange(len(X)) % 2).astype("float32")
    print(f"kerasx malaria pipeline on {source} at {args.image_size}x{args.image_size}")
    print(f"load_malaria  cold   {load['cold']:10,.0f} images/s")
    print(f"load_malaria  cached {load['cached']:10,.0f} images/s")
    targets = Targets(enforce=not args.quick)
    for batch_size in batch_sizes:
        rates = training_rates(X, y, batch_size, epochs)
        print(f"\ntraining, batch {batch_size}, {len(X)} rows, median of {epochs} epoch(s):")
        for name, rate in rates.items():
            print(f"  {name:<24}{rate:10,.0f} samples/s  ({rate / rates['course']:.2f}x course)")
        fastest = max(rates.values())
        targets.at_least(
            f"batch {batch_size}: cached loading / fastest training",
            load["cached"] / fastest,
            10.0,
            fmt=".1f",
        )
        speedup = rates["default"] / rates["course"]
        targets.at_least(f"batch {batch_size}: default / course", speedup, 1.4)
    cnn_rows = args.cnn_rows or (256 if args.quick else 512)
    X_cnn = np.resize(X_cnn, (cnn_rows, *X_cnn.shape[1:]))
    y_cnn = (np.arange(len(X_cnn)) % 2).astype("float32")
    for batch_size in batch_sizes:
        rates = cnn_rates(X_cnn, y_cnn, batch_size, epochs)
        recipe, defaults = rates["recipe CNN"], rates["Keras-defaults CNN"]
        print(
            f"\nCNN at {args.cnn_image_size}x{args.cnn_image_size}, batch {batch_size}, "
            f"{len(X_cnn)} rows, median of {epochs} epoch(s), {keras.backend.backend()} backend:"
        )
        for name, rate in rates.items():
            print(f"  {name:<24}{rate:10,.0f} samples/s  ({rate / defaults:.2f}x Keras defaults)")
        targets.at_least(
            f"batch {batch_size}: recipe CNN / Keras-defaults CNN", recipe / defaults, 0.9
        )
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
