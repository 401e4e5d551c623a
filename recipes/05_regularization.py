"""Regularization: L2 and L1 penalties, dropout and early stopping (step 5).

An over-parameterized MLP on a small simulated problem where only 2 of 30 inputs matter (the
course's β = (1, 2) plus 28 noise inputs, 300 training rows): the plain model overfits; a
``kernel_regularizer`` penalty, dropout, or early stopping on a 20 % validation split (patience 5,
best weights restored) each narrow the gap between training and test accuracy. Prints one row
per variant with the first layer's weight norms on the 2 real and the 28 noise inputs.

Usage::

    python recipes/05_regularization.py [--quick] [--epochs N] [--seed S]
"""

import argparse
import sys

import keras
import numpy as np

from kerasx.backprop import simulate_logistic
from kerasx.recipes import mlp

VARIANTS = {
    "plain": {},
    "L2 (lambda=0.01)": {"l2": 0.01},
    "L1 (lambda=0.01)": {"l1": 0.01},
    "dropout 0.5": {"dropout": 0.5},
    "early stopping": {},
}


def simulate(seed):
    beta = np.r_[1.0, 2.0, np.zeros(28)]
    X, y = simulate_logistic(2300, beta, seed=seed)
    return (X[:300], y[:300]), (X[300:], y[300:])


def fit_variant(name, kwargs, data, epochs, seed):
    (X, y), _ = data
    keras.utils.set_random_seed(seed)
    model = mlp(
        30,
        hidden=(64, 64),
        n_classes=1,
        activation="relu",
        optimizer="adam",
        **kwargs,
        learning_rate=3e-3,
    )
    fit_args = {"epochs": epochs, "batch_size": 32, "verbose": 0}
    if name == "early stopping":
        stop = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
        fit_args |= {"validation_split": 0.2, "callbacks": [stop]}
    history = model.fit(X, y, **fit_args)
    train, test = (np.mean((model(x).numpy().ravel() > 0.5) == t) for x, t in data)
    kernel = model.get_layer("hidden_1").get_weights()[0]
    norms = np.linalg.norm(kernel, axis=1)
    return len(history.history["loss"]), train, test, norms[:2].mean(), norms[2:].mean()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 epochs instead of 200")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (15 if args.quick else 200)
    data = simulate(args.seed)

    print(f"MLP 30 -> 64 -> 64 -> 1 on 300 rows (2 real inputs, 28 noise), up to {epochs} epochs")
    header = f"{'variant':<18}{'epochs':>7}{'train acc':>10}{'test acc':>10}"
    print(header + f"{'|W| real':>10}{'|W| noise':>10}")
    for name, kwargs in VARIANTS.items():
        run, train, test, real, noise = fit_variant(name, kwargs, data, epochs, args.seed)
        print(f"{name:<18}{run:>7}{train:>10.3f}{test:>10.3f}{real:>10.3f}{noise:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
