"""The course's logistic regression by hand: forward, backward, gradient descent, in NumPy.

Simulates N = 1000 rows with two standard-normal inputs, no intercept and true β = (1, 2), fits
β̂ with ``kerasx.backprop.lr_nn`` from the course's start (−2.5, −2.5), and prints β̂ next to the
true β and scikit-learn's unpenalized maximum-likelihood estimate, with the final NLL.

``alpha`` is the step on the gradient of the NLL *summed* over the rows of a batch (Keras's
``SGD(learning_rate=lr)`` on the mean cross-entropy of a batch of b rows is ``alpha = lr / b``).

Usage::

    python recipes/01_logistic_by_hand.py [--quick] [--epochs N] [--alpha A]
                                          [--batch-size B] [--seed S]
"""

import argparse
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from kerasx.backprop import forward, lr_nn, simulate_logistic

N = 1000
TRUE_BETA = (1.0, 2.0)
INIT = -2.5


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (200), for a smoke run")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 1000)")
    parser.add_argument(
        "--alpha", type=float, default=0.002, help="step on the summed-NLL gradient (0.002)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="mini-batch SGD batch size (default: full)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation and shuffles")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (200 if args.quick else 1000)
    X, y = simulate_logistic(N, TRUE_BETA, seed=args.seed)

    start = time.perf_counter()
    try:
        beta_hat, history = lr_nn(
            X, y, epochs, alpha=args.alpha, batch_size=args.batch_size, init=INIT, seed=args.seed
        )
    except ValueError as error:
        parser.error(str(error))  # exits with status 2 and the usage line
    seconds = time.perf_counter() - start
    # C=np.inf is the unpenalized fit (penalty=None warns in scikit-learn 1.9).
    mle = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
    mle = mle.fit(X, y).coef_.ravel()

    method = (
        "full-batch gradient descent"
        if args.batch_size is None
        else (f"mini-batch SGD, batch size {args.batch_size}")
    )
    print("Logistic regression by hand (kerasx.backprop.lr_nn)")
    print(f"  data: N={N}, true beta={TRUE_BETA}, no intercept, seed {args.seed}")
    print(f"  fit:  {method}, {epochs} epochs, alpha={args.alpha:g}, init ({INIT}, {INIT})")
    print(f"  time: {seconds:.2f} s")
    print()
    print(f"{'':<12}{'beta_1':>12}{'beta_2':>12}")
    for label, values in (("true", TRUE_BETA), ("beta_hat", beta_hat), ("sklearn MLE", mle)):
        print(f"{label:<12}" + "".join(f"{v:>12.6f}" for v in values))
    print()
    print(f"max |beta_hat - MLE| = {np.max(np.abs(beta_hat - mle)):.2e}")
    print(
        f"final NLL (summed over {N} rows): {history[-1]:.6f}"
        f"   (at the MLE: {forward(X, y, mle)[1]:.6f};"
        f" at the start: {forward(X, y, np.full(2, INIT))[1]:.6f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
