"""The course's logistic regression as a one-neuron Keras network (step 2).

Simulates the course's data (N = 1000, q = 2, no intercept, true β = (1, 2)), starts the single
``Dense(1, activation="sigmoid", use_bias=False)`` neuron at the course's (−2.5, −2.5), trains it
with plain SGD on binary cross-entropy and prints its weights next to the true β and
scikit-learn's unpenalized maximum-likelihood estimate: the weights approach the MLE.

Usage::

    python recipes/02_keras_logistic.py [--quick] [--epochs N] [--learning-rate LR]
                                        [--batch-size B] [--seed S]
"""

import argparse
import sys

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression

from kerasx.backprop import simulate_logistic
from kerasx.recipes import logistic_regression

TRUE_BETA = (1.0, 2.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 epochs instead of 200")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (50 if args.quick else 200)

    X, y = simulate_logistic(1000, TRUE_BETA, seed=args.seed)
    keras.utils.set_random_seed(args.seed)
    model = logistic_regression(2, learning_rate=args.learning_rate)
    model.layers[0].set_weights([np.full((2, 1), -2.5)])  # the course's initial guess
    history = model.fit(X, y, batch_size=args.batch_size, epochs=epochs, verbose=0)
    weights = model.get_weights()[0].ravel()
    mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()

    print("Logistic regression as a Keras network: Dense(1, sigmoid, use_bias=False), SGD")
    print(f"  {epochs} epochs, batch size {args.batch_size}, learning rate {args.learning_rate}")
    print(
        f"  binary cross-entropy: {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}"
    )
    print()
    print(f"{'':<14}{'beta_1':>10}{'beta_2':>10}")
    for label, values in (("true", TRUE_BETA), ("keras weights", weights), ("sklearn MLE", mle)):
        print(f"{label:<14}" + "".join(f"{v:>10.4f}" for v in values))
    print(f"\nmax |keras - MLE| = {np.max(np.abs(weights - mle)):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
