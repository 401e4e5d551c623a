"""Saving: store the malaria MLP as .h5 and .keras, reload it, predict and keep training (step 8).

Trains the malaria MLP a few epochs, saves it with ``model.save("model.h5")`` (HDF5, as in the
course) and ``model.save("model.keras")`` (Keras's own format), reloads both with
``keras.models.load_model`` (no ``custom_objects``: kerasx registers its components), checks that
they predict like the original, and continues training each from its saved optimizer state with
:func:`kerasx.recipes.load_trained_model` (which also repairs Keras 3.15's ``.h5`` optimizer
restore). ``--quick`` uses small synthetic images (offline, not real data).

Usage::

    python recipes/08_save_load_continue.py [--quick] [--data DIR|synthetic|tfds] [--out DIR]
"""

import argparse
import logging
import os
import sys

import keras
import numpy as np

import kerasx.metrics  # noqa: F401  (registers the kerasx metrics the model is compiled with)
from kerasx.data import DatasetUnavailableError, load_malaria
from kerasx.recipes import load_trained_model, malaria_mlp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="synthetic 16 x 16 images")
    parser.add_argument("--data", default=None, help="synthetic (default), a folder, or tfds")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default="runs/saved_models")
    args = parser.parse_args(argv)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes: 4 models
    size = 16 if args.quick else 100
    try:
        (X, y), (X_test, _) = load_malaria(
            args.data or "synthetic",
            image_size=size,
            flatten=False,
            fraction=0.2 if args.quick else None,
        )
    except DatasetUnavailableError as error:
        print(error, file=sys.stderr)
        return 2
    epochs = args.epochs or (2 if args.quick else 10)
    keras.utils.set_random_seed(0)
    model = malaria_mlp(X.shape[1:], learning_rate=1e-4, standardize=X)
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    expected = model.predict(X_test, verbose=0)
    os.makedirs(args.out, exist_ok=True)
    paths = [os.path.join(args.out, name) for name in ("model.keras", "model.h5")]
    for path in paths:  # .keras first: a legacy .h5 save edits the live model's compile config
        model.save(path)
    print(
        f"trained {epochs} epochs on {len(X)} images of {size} x {size}; saved {', '.join(paths)}"
    )
    for path in paths:
        reloaded = keras.models.load_model(path)
        difference = np.max(np.abs(reloaded.predict(X_test, verbose=0) - expected))
        resumed = load_trained_model(path)
        steps = int(resumed.optimizer.iterations)
        history = resumed.fit(X, y, epochs=1, batch_size=32, verbose=0)
        print(
            f"{os.path.basename(path):<12} max |prediction difference| = {difference:.1e}; "
            f"continued from optimizer step {steps} to {int(resumed.optimizer.iterations)}, "
            f"loss {history.history['loss'][-1]:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
