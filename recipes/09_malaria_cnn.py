"""From the MLP to a convolutional network: the malaria CNN (after step 6).

The course's MLP flattens each image into one long vector, so its first layer learns one weight
per pixel and neuron (9 million weights) and must learn a parasite again at every position.
A convolution slides one small 3×3 filter over the whole image: the same few weights find a
stain wherever it is, and pooling makes the answer insensitive to small shifts. Flips and
rotations, inside the model and active in training only, add what the ~2,000 images lack.

This script prints both models' parameter counts side by side, trains both on the same split
(the MLP as ``kerasx malaria`` does; :func:`kerasx.recipes.malaria_cnn` at its defaults),
scores them next to the logistic baseline and writes both learning curves to ``--out``. With a
folder in the NIH layout the test images are held-out *patients* (``split="patient"``): no
patient's cells are on both sides. ``--quick`` runs on small synthetic images (offline, not real
data) unless ``--data`` is given.

Usage::

    python recipes/09_malaria_cnn.py [--quick] [--data tfds|DIR|synthetic] [--epochs N]
                                     [--image-size N] [--out DIR] [--seed S]
"""

import argparse
import os
import sys

import keras

from kerasx.callbacks import HistoryFrame, LearningCurves
from kerasx.data import DatasetUnavailableError, describe_source, load_malaria
from kerasx.recipes import logistic_baseline, malaria_cnn, malaria_mlp, parameter_breakdown

ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
)


def scores(y_true, probabilities):
    from sklearn import metrics

    y_pred = (probabilities > 0.5).astype(int)
    return {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "sensitivity": metrics.recall_score(y_true, y_pred, zero_division=0),
        "specificity": metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0),
        "mcc": metrics.matthews_corrcoef(y_true, y_pred),
        "roc_auc": metrics.roc_auc_score(y_true, probabilities),
    }


def show_parameters(mlp, cnn):
    print("The CNN, layer by layer (convolutions: 3 x 3 x inputs x filters weights each):")
    table = parameter_breakdown(cnn)
    print(table[table["params"] > 0][["layer", "type", "params"]].to_string(index=False))
    print(f"parameters: MLP {mlp.count_params():,}, CNN {cnn.count_params():,}")
    course = malaria_mlp(metrics=["accuracy"]).count_params()
    print(
        f"At 100 x 100 the MLP has {course:,} (its first layer grows with the pixels); the "
        "CNN's count does not depend on the image size (global pooling)."
    )


def train(name, model, X, y, args):
    frame = HistoryFrame()
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=args.patience, restore_best_weights=True
        ),
        frame,
        LearningCurves(os.path.join(args.out, f"curves_{name}.png")),
    ]
    model.fit(
        X,
        y,
        epochs=args.epochs,
        batch_size=32,
        validation_split=0.1,
        callbacks=callbacks,
        verbose=0,
    )
    print(f"{name}: trained {len(frame.frame)} epochs; curves in {args.out}/curves_{name}.png")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="synthetic 24 x 24 images, 3 epochs")
    parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
    parser.add_argument("--image-size", type=int, default=None, help="default 80 (quick: 24)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default="runs/malaria_cnn")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    source = args.data or ("synthetic" if args.quick else "tfds")
    size = args.image_size or (24 if args.quick else 80)
    args.epochs = args.epochs or (3 if args.quick else 100)
    args.patience = 2 if args.quick else 8
    os.makedirs(args.out, exist_ok=True)
    folder = source not in ("tfds", "synthetic")
    try:
        (X, y), (X_test, y_test) = load_malaria(
            source,
            image_size=size,
            flatten=False,
            fraction=0.2 if args.quick and source == "synthetic" else None,
            split="patient" if folder else "cell",
            seed=args.seed,
        )
    except DatasetUnavailableError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Data: {describe_source(source)}, {size} x {size}")
    held_out = "held-out patients" if folder else "held-out cells"
    print(f"{len(X)} training and {len(X_test)} test images ({held_out})\n")

    mlp = malaria_mlp(X.shape[1:], learning_rate=1e-4, l2=1e-3, standardize=X, seed=args.seed)
    cnn = malaria_cnn(X.shape[1:], seed=args.seed)
    show_parameters(mlp, cnn)
    print()
    train("mlp", mlp, X, y, args)
    train("cnn", cnn, X, y, args)
    baseline = logistic_baseline().fit(X, y.astype(int))
    results = {
        "MLP": scores(y_test, mlp.predict(X_test, verbose=0).ravel()),
        "CNN": scores(y_test, cnn.predict(X_test, verbose=0).ravel()),
        "logistic": scores(y_test, baseline.predict_proba(X_test)[:, 1]),
    }
    synthetic = "  (SYNTHETIC data, not real cells)" if source == "synthetic" else ""
    print(f"\nTest set ({held_out}, n={len(y_test)}){synthetic}")
    print(f"{'':14s}" + "".join(f"{name:>10s}" for name in results))
    for key, title in ROWS:
        print(f"{title:14s}" + "".join(f"{r[key]:10.3f}" for r in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
