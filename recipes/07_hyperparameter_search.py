"""Hyperparameter search: RandomizedSearchCV over the MLP's depth, width and learning rate (step 7).

As in the course: a Keras classifier wrapping a build function with ``n_hidden``, ``n_neurons``
and ``learning_rate`` (:func:`kerasx.tuning.randomized_search`), 10 random draws scored by 5-fold
cross-validation on the flattened malaria images, the best refitted on all training rows; prints
``best_params_``, the cross-validated accuracy and the best model's test accuracy. ``--quick``
runs 2 draws × 2 folds on small synthetic images (offline, not real data).

Usage::

    python recipes/07_hyperparameter_search.py [--quick] [--data tfds|DIR|synthetic]
                                               [--n-iter N] [--cv K] [--epochs N]
"""

import argparse
import sys

import numpy as np

from kerasx.data import DatasetUnavailableError, describe_source, load_malaria
from kerasx.tuning import randomized_search


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 draws, 2 folds, 8 x 8 synthetic")
    parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
    parser.add_argument("--n-iter", type=int, default=None)
    parser.add_argument("--cv", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    args = parser.parse_args(argv)
    source = args.data or ("synthetic" if args.quick else "tfds")
    size = args.image_size or (8 if args.quick else 100)
    try:
        (X, y), (X_test, y_test) = load_malaria(
            source, image_size=size, fraction=0.2 if args.quick else None
        )
    except DatasetUnavailableError as error:
        print(error, file=sys.stderr)
        return 2
    n_iter, cv = args.n_iter or (2 if args.quick else 10), args.cv or (2 if args.quick else 5)
    epochs = args.epochs or (3 if args.quick else 20)
    print(f"Data: {describe_source(source)}; {len(X)} training rows of {X.shape[1]} pixels")
    print(f"RandomizedSearchCV: {n_iter} draws x {cv}-fold CV, {epochs} epochs per fit")
    search = randomized_search(X, y.astype(int), n_iter=n_iter, cv=cv, epochs=epochs)
    test_accuracy = np.mean(search.best_estimator_.predict(X_test) == y_test.astype(int))
    best = {k: v.item() if isinstance(v, np.generic) else v for k, v in search.best_params_.items()}
    print(f"best_params_: {best}")
    print(f"best cross-validated accuracy: {search.best_score_:.3f}")
    print(f"test accuracy of the refitted best model: {test_accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
