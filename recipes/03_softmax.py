"""C classes: the softmax output layer (step 3), on the course's two-class simulation.

Two softmax neurons on one-hot labels (``to_categorical``) with categorical cross-entropy is
multinomial logistic regression; with two classes only the difference of the two weight columns
matters, and it estimates the same β as the one-sigmoid model: W[:, 1] − W[:, 0] ≈ (1, 2).
A three-class example shows the (q + 1) × C parameter count.

Usage::

    python recipes/03_softmax.py [--quick] [--epochs N] [--seed S]
"""

import argparse
import sys

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression

from kerasx.backprop import simulate_logistic
from kerasx.recipes import softmax_regression


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 epochs instead of 200")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (50 if args.quick else 200)

    X, y = simulate_logistic(1000, (1.0, 2.0), seed=args.seed)
    Y = keras.utils.to_categorical(y, 2)
    keras.utils.set_random_seed(args.seed)
    model = softmax_regression(2, 2, use_bias=False, learning_rate=0.5)
    model.fit(X, Y, batch_size=100, epochs=epochs, verbose=0)
    W = model.get_weights()[0]
    mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()
    accuracy = np.mean(model.predict(X, verbose=0).argmax(axis=1) == y)

    print("Softmax regression: Dense(2, softmax, use_bias=False), one-hot labels, SGD")
    print(f"  {epochs} epochs; training accuracy {accuracy:.3f}")
    print("W (rows: inputs, columns: classes):")
    print(np.array2string(W, precision=4))
    diff = W[:, 1] - W[:, 0]
    print(f"W[:, 1] - W[:, 0] = ({diff[0]:.4f}, {diff[1]:.4f})")
    print(f"sklearn MLE beta  = ({mle[0]:.4f}, {mle[1]:.4f})   true beta = (1, 2)")
    three = softmax_regression(4, 3)
    print(f"\n3 classes on q = 4 inputs: (4 + 1) x 3 = {three.count_params()} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
