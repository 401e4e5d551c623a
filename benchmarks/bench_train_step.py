"""Training speed of TapeModel against the built-in ``keras.Model.fit`` on the course's MLP.

The course's malaria MLP (30,000 → 300 → 100 → 50 → 1, Adam, binary cross-entropy, accuracy)
on random rows, batch 128. Both models start from the same weights and are trained in one
process, alternating (A B B A ...) so that drifts in machine load hit both alike; each is
warmed up (traced and compiled) first. Prints samples/s (median over repeats) and the ratio
TapeModel / built-in, with and without ``jit_compile``. Target: ratio ≥ 0.97 in both modes.

Usage::

    python benchmarks/bench_train_step.py            # 2,000 rows, 3 epochs a run, 5 repeats
    python benchmarks/bench_train_step.py --quick    # a short check (~1 minute)
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kerasx.training import TapeModel

N_FEATURES = 100 * 100 * 3


def build_mlp(model_class, seed=0):
    """The course's deep MLP, as ``model_class(inputs, outputs)``."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((N_FEATURES,))
    x = keras.layers.Dense(300, activation="relu", name="my_dense_layer")(inputs)
    x = keras.layers.Dense(100, activation="relu")(x)
    x = keras.layers.Dense(50, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return model_class(inputs, outputs)


def compiled_models(jit_compile):
    """A built-in keras.Model and a TapeModel with the same initial weights, compiled alike."""
    models = {"built-in": build_mlp(keras.Model), "TapeModel": build_mlp(TapeModel)}
    for model in models.values():
        model.compile(
            optimizer="adam",
            loss="binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit_compile,
        )
    return models


def time_fit(model, X, y, batch_size, epochs):
    """Samples per second of ``model.fit`` (no shuffling, no progress bar)."""
    start = time.perf_counter()
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return len(X) * epochs / (time.perf_counter() - start)


def benchmark(X, y, *, jit_compile, batch_size, epochs, repeats):
    """Median samples/s of each model over ``repeats`` alternating runs."""
    models = compiled_models(jit_compile)
    for model in models.values():  # warm-up: tracing and (XLA) compilation
        model.fit(X[: 2 * batch_size], y[: 2 * batch_size], batch_size=batch_size, verbose=0)
    speeds = {name: [] for name in models}
    names = list(models)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            speeds[name].append(time_fit(models[name], X, y, batch_size, epochs))
    return {name: statistics.median(values) for name, values in speeds.items()}, speeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short check: 512 rows, 1 epoch")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model and mode")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.epochs, args.repeats = 512, 1, 3

    rng = np.random.default_rng(0)
    X = rng.random((args.rows, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, 2, args.rows).astype("float32")
    print(
        f"Malaria MLP 30000-300-100-50-1, Adam, {args.rows} rows, batch {args.batch_size}, "
        f"{args.epochs} epoch(s) per run, {args.repeats} alternating runs (median samples/s)"
    )
    print(f"{'mode':<16}{'built-in':>12}{'TapeModel':>12}{'ratio':>9}   runs (built-in | Tape)")
    ratios = {}
    for jit_compile in (False, True):
        median, runs = benchmark(
            X,
            y,
            jit_compile=jit_compile,
            batch_size=args.batch_size,
            epochs=args.epochs,
            repeats=args.repeats,
        )
        mode = "jit_compile" if jit_compile else "no jit"
        ratios[mode] = median["TapeModel"] / median["built-in"]
        detail = " ".join(f"{v:.0f}" for v in runs["built-in"]) + " | "
        detail += " ".join(f"{v:.0f}" for v in runs["TapeModel"])
        print(
            f"{mode:<16}{median['built-in']:>12.0f}{median['TapeModel']:>12.0f}"
            f"{ratios[mode]:>9.3f}   {detail}"
        )
        keras.backend.clear_session()
    verdict = "meets" if min(ratios.values()) >= 0.97 else "is below"
    print(f"Smallest ratio {min(ratios.values()):.3f} {verdict} the 0.97 target.")
    return ratios


if __name__ == "__main__":
    main()
