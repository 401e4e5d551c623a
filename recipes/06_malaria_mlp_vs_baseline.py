"""Real data: the malaria MLP against the logistic-regression baseline (step 6).

The same work as ``kerasx malaria``: loads the cell images (100 × 100, flattened inside the
model, stratified 80/20 split), trains the course's 9-million-parameter MLP with early stopping
on a 10 % validation split (patience 5, best weights restored), fits scikit-learn's logistic
regression on the same rows, prints both side by side (accuracy, sensitivity, specificity, MCC,
ROC AUC, train time) and writes the curves, the confusion matrices and both saved models to
``--out``. ``--quick`` runs on small synthetic images (offline, not real data) unless ``--data``
is given.

Usage::

    python recipes/06_malaria_mlp_vs_baseline.py [--quick] [--data tfds|DIR|synthetic]
                                                 [--image-size N] [--epochs N] [--out DIR]
"""

import argparse
import sys

from kerasx.data import DatasetUnavailableError
from kerasx.recipes._malaria_job import run_malaria


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="synthetic 16 x 16 images, 3 epochs")
    parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default="runs/malaria")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    source = args.data or ("synthetic" if args.quick else "tfds")
    try:
        run_malaria(
            source,
            out=args.out,
            image_size=args.image_size or (16 if args.quick else 100),
            epochs=args.epochs or (3 if args.quick else 100),
            fraction=0.3 if args.quick and source == "synthetic" else None,
            seed=args.seed,
            verbose=0 if args.quick else 2,
        )
    except DatasetUnavailableError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
