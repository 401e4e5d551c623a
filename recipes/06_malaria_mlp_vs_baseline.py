"""Real data: the malaria MLP against the logistic-regression baseline (step 6).

The course's step as ``kerasx malaria --model mlp``: loads the cell images (100 × 100, flattened
inside the model; held-out patients for a folder, held-out cells otherwise), trains the course's
9-million-parameter MLP with early stopping on a 10 % validation split (patience 5, best weights
restored), fits scikit-learn's logistic regression on the same rows, prints both side by side
(accuracy, sensitivity, specificity, MCC, ROC AUC, train time) and writes the curves, the
confusion matrices and both saved models to ``--out``. ``--quick`` is the command's ``--quick``
on small synthetic images (offline, not real data) unless ``--data`` is given.
``recipes/09_malaria_cnn.py`` goes on to the network made for images.

Usage::

    python recipes/06_malaria_mlp_vs_baseline.py [--quick] [--data tfds|DIR|synthetic]
                                                 [--image-size N] [--epochs N] [--out DIR]
"""

import argparse
import sys

from kerasx.cli import main as kerasx_main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small synthetic images, few epochs")
    parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
    parser.add_argument("--image-size", default=None)
    parser.add_argument("--epochs", default=None)
    parser.add_argument("--out", default="runs/malaria")
    parser.add_argument("--seed", default="0")
    args = parser.parse_args(argv)
    command = ["malaria", "--model", "mlp", "--out", args.out, "--seed", args.seed]
    command += ["--data", args.data or ("synthetic" if args.quick else "tfds")]
    if args.quick:
        command.append("--quick")
    for option, value in (("--image-size", args.image_size), ("--epochs", args.epochs)):
        if value is not None:
            command += [option, value]
    return kerasx_main(command)


if __name__ == "__main__":
    sys.exit(main())
