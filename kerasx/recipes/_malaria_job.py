"""The work behind ``kerasx malaria``: the course's malaria MLP against the logistic baseline.

:func:`run_malaria` loads the images, trains :func:`~kerasx.recipes.malaria_mlp` with early
stopping and fits :func:`~kerasx.recipes.logistic_baseline` on the same split, then writes every
output to one folder. :func:`add_arguments` and :func:`run_from_args` are the command line's
side (``kerasx/cli.py`` only wires them in).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = [
    "BACKUP_DIR",
    "DEFAULTS",
    "OUTPUT_FILES",
    "add_arguments",
    "run_from_args",
    "run_malaria",
    "score_predictions",
]

#: Every file ``kerasx malaria`` writes to ``--out``.
OUTPUT_FILES = (
    "history.csv",
    "curves.png",
    "confusion_matrix.png",
    "metrics.json",
    "model.keras",
    "model.h5",
    "summary.txt",
)

#: Folder under ``--out`` where training is backed up each epoch until it ends normally.
BACKUP_DIR = "backup"

_ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
    ("train_time_s", "train time (s)"),
)

# Defaults that beat the course's 60-70 % with the same architecture (see run_malaria).
DEFAULTS = {
    "epochs": 100,
    "batch_size": 32,
    "patience": 5,
    "learning_rate": 1e-4,
    "l2": 1e-3,
    "validation_split": 0.1,
}


def _progress(message):
    print(f"[kerasx malaria] {message}", flush=True)


def score_predictions(y_true, scores, threshold=0.5):
    """The side-by-side table's scores of one model on the test set, with scikit-learn.

    Args:
        y_true: 0/1 labels (1 = parasitized).
        scores: predicted probabilities of label 1.
        threshold: predict 1 when the score is ``> threshold``.

    Returns:
        A dict with ``accuracy``, ``sensitivity``, ``specificity``, ``mcc`` and ``roc_auc``.

    >>> score_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])["specificity"]
    0.5
    """
    from sklearn import metrics

    y_true = np.asarray(y_true).ravel().astype(int)
    scores = np.asarray(scores, dtype="float64").ravel()
    y_pred = (scores > threshold).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "sensitivity": float(metrics.recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "specificity": float(metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0)),
        "mcc": float(metrics.matthews_corrcoef(y_true, y_pred)),
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)),
    }


def _train_mlp(data, settings, out, seed):
    import keras

    from kerasx.callbacks import HistoryFrame, LearningCurves
    from kerasx.recipes import malaria_mlp

    (X_train, y_train), _ = data
    keras.utils.set_random_seed(seed)
    model = malaria_mlp(
        X_train.shape[1:],
        learning_rate=settings["learning_rate"],
        l2=settings["l2"],
        standardize=X_train if settings["standardize"] else None,
    )
    frame = HistoryFrame()
    callbacks = [
        # A crash loses at most the epoch in progress: running the same command again resumes
        # from the last finished epoch; the backup is deleted when training ends normally.
        keras.callbacks.BackupAndRestore(os.path.join(out, BACKUP_DIR)),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=settings["patience"], restore_best_weights=True
        ),
        frame,
        LearningCurves(os.path.join(out, "curves.png")),
    ]
    start = time.perf_counter()
    history = model.fit(
        X_train,
        y_train,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_split=settings["validation_split"],
        callbacks=callbacks,
        verbose=settings["verbose"],
    )
    elapsed = time.perf_counter() - start
    history_table = frame.frame
    if settings["synthetic"]:
        history_table.insert(0, "data", "SYNTHETIC")  # every output says so
    history_table.to_csv(os.path.join(out, "history.csv"), index=False)
    best_epoch = int(np.argmin(history.history["val_loss"]))
    return model, elapsed, {"epochs_run": len(history.history["loss"]), "best_epoch": best_epoch}


def _fit_baseline(data):
    from kerasx.recipes import logistic_baseline

    (X_train, y_train), _ = data
    baseline = logistic_baseline()
    start = time.perf_counter()
    baseline.fit(X_train, y_train.astype(int))
    return baseline, time.perf_counter() - start


def _table(results, label):
    header = f"{'':16s}{'MLP':>12s}{'logistic':>12s}"
    lines = [f"Test set ({label})", header]
    for key, title in _ROWS:
        mlp, base = results["mlp"][key], results["baseline"][key]
        fmt = "{:12.1f}" if key == "train_time_s" else "{:12.3f}"
        lines.append(f"{title:16s}" + fmt.format(mlp) + fmt.format(base))
    return "\n".join(lines)


def _draw_confusion(path, y_true, predictions, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(1, len(predictions), figsize=(4.5 * len(predictions), 4))
    for ax, (name, y_pred) in zip(np.atleast_1d(axes), predictions.items(), strict=True):
        ConfusionMatrixDisplay.from_predictions(
            y_true,
            y_pred,
            labels=[0, 1],
            display_labels=["uninfected", "parasitized"],
            ax=ax,
            colorbar=False,
        )
        ax.set_title(name)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _summary_text(model, table, description):
    from kerasx.recipes import parameter_breakdown

    lines = [f"Data: {description}", ""]
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=110)
    breakdown = parameter_breakdown(model)
    trainable = int(breakdown["trainable"].sum())
    untrained = int(breakdown["params"].sum()) > trainable
    lines += [
        "",
        "Parameter breakdown ((inputs + 1) x units for each Dense layer):",
        breakdown.to_string(index=False),
        f"total: {int(breakdown['params'].sum()):,} parameters, {trainable:,} trainable"
        + (" (the standardization's mean, variance and count are not)" if untrained else ""),
        "",
        table,
        "",
    ]
    return "\n".join(lines)


def _save_models(model, out):
    # .keras first: a legacy .h5 save drops the optimizer from the live model's compile config.
    model.save(os.path.join(out, "model.keras"))
    model.save(os.path.join(out, "model.h5"))


def run_malaria(
    source="tfds",
    *,
    out="runs/malaria",
    fraction=None,
    image_size=100,
    seed=0,
    split_seed=None,
    epochs=DEFAULTS["epochs"],
    batch_size=DEFAULTS["batch_size"],
    patience=DEFAULTS["patience"],
    learning_rate=DEFAULTS["learning_rate"],
    l2=DEFAULTS["l2"],
    standardize=True,
    validation_split=DEFAULTS["validation_split"],
    cache_dir=None,
    verbose=2,
):
    """Trains the malaria MLP and the logistic baseline on one split and writes every output.

    The MLP is the course's architecture (30,000 → 300 → 100 → 50 → 1 at 100×100) with better
    defaults than the course's code: inputs standardized per channel inside the model (a
    ``Normalization`` layer adapted on the training images, so the saved model takes raw [0, 1]
    pixels), Adam with learning rate 1e-4 instead of 1e-3, an L2 penalty of 1e-3 on the hidden
    kernels, and early stopping on 10 % of the training data (patience 5, best weights restored).
    On the shared 2,800 NIH images (100×100, 80/20 split, seed 0) the course's code collapsed to
    one class (50 %) on 2 of 3 seeds at Adam's default 1e-3; the smaller learning rate and the
    standardization brought it to about 69-70 % and the L2 penalty to about 74 % (6 seeds, GPU
    exploration; the logistic baseline scores 66 %). The baseline is
    :func:`~kerasx.recipes.logistic_baseline` on the same training rows (validation part
    included).

    Args:
        source: ``"tfds"``, ``"synthetic"`` or a folder in the NIH layout (see
            :func:`kerasx.data.load_malaria`).
        out: the output folder (created); gets every file in :data:`OUTPUT_FILES`.
        fraction: share of the source to use (``None``: the source's course default).
        image_size: images are resized to ``image_size × image_size``.
        seed: seeds the weights, the validation split's shuffling and dropout; also the
            train/test split unless ``split_seed`` is given.
        split_seed: seed of the train/test split (``None``: ``seed``).
        epochs: the most epochs.
        batch_size: the mini-batch size.
        patience: epochs without a better ``val_loss`` before stopping.
        learning_rate: Adam's learning rate.
        l2: the L2 penalty λ on each hidden layer's kernel (``kernel_regularizer``).
        standardize: standardize the inputs inside the model.
        validation_split: share of the training rows held out for early stopping.
        cache_dir: passed to :func:`kerasx.data.load_malaria`.
        verbose: Keras ``fit`` verbosity (2: one line per epoch).

    Returns:
        The dict written to ``metrics.json``.

    Raises:
        kerasx.data.DatasetUnavailableError: ``"tfds"`` when the data cannot be downloaded.
    """
    from kerasx.data import describe_source, load_malaria

    description = describe_source(source)
    synthetic = source == "synthetic"
    os.makedirs(out, exist_ok=True)
    split_seed = seed if split_seed is None else split_seed
    _progress(f"loading {description} at {image_size}x{image_size} ...")
    data = load_malaria(
        source,
        fraction=fraction,
        image_size=image_size,
        flatten=False,
        seed=split_seed,
        cache_dir=cache_dir,
    )
    (X_train, y_train), (X_test, y_test) = data
    _progress(f"{len(X_train)} training and {len(X_test)} test images")
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "patience": patience,
        "learning_rate": learning_rate,
        "l2": l2,
        "standardize": standardize,
        "validation_split": validation_split,
        "verbose": verbose,
        "synthetic": synthetic,
    }
    _progress(f"training the MLP (up to {epochs} epochs, early stopping patience {patience})")
    model, mlp_time, run_info = _train_mlp(data, settings, out, seed)
    _progress("fitting the logistic-regression baseline (lbfgs, up to 1000 iterations) ...")
    baseline, baseline_time = _fit_baseline(data)
    mlp_scores = model.predict(X_test, batch_size=256, verbose=0).ravel()
    baseline_scores = baseline.predict_proba(X_test)[:, 1]
    results = {
        "mlp": {**score_predictions(y_test, mlp_scores), "train_time_s": mlp_time},
        "baseline": {**score_predictions(y_test, baseline_scores), "train_time_s": baseline_time},
    }
    label = ("SYNTHETIC data, not real cells" if synthetic else "real images") + (
        f", n={len(y_test)}"
    )
    table = _table(results, label)
    print(table, flush=True)
    _draw_confusion(
        os.path.join(out, "confusion_matrix.png"),
        y_test.astype(int),
        {"MLP": (mlp_scores > 0.5).astype(int), "logistic": (baseline_scores > 0.5).astype(int)},
        "Test set: SYNTHETIC data (procedural stand-in, not real cells)"
        if synthetic
        else "Test set",
    )
    with open(os.path.join(out, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(_summary_text(model, table, description))
    _save_models(model, out)
    report = {
        "data": {
            "source": os.fspath(source),
            "description": description,
            "synthetic": synthetic,
            "image_size": image_size,
            "fraction": fraction,
            "n_train": len(y_train),
            "n_test": len(y_test),
            "split_seed": split_seed,
        },
        "settings": {k: v for k, v in settings.items() if k not in ("verbose", "synthetic")}
        | {"seed": seed},
        **run_info,
        **results,
    }
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    _progress(f"wrote {', '.join(OUTPUT_FILES)} to {out}")
    return report


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def add_arguments(parser):
    """Adds the ``kerasx malaria`` options to an ``argparse`` parser."""
    parser.add_argument(
        "--data",
        default="tfds",
        metavar="tfds|DIR|synthetic",
        help="'tfds' (downloads TensorFlow Datasets' malaria; the default), a folder with "
        "Parasitized/ and Uninfected/ PNGs, or 'synthetic' (offline stand-in, not real data)",
    )
    parser.add_argument(
        "--fraction",
        type=_fraction,
        default=None,
        help="share of the data to use (default: 0.1 for tfds as in the course, else 1)",
    )
    parser.add_argument("--image-size", type=_positive_int, default=100, help="default: 100")
    parser.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"])
    parser.add_argument("--patience", type=_positive_int, default=DEFAULTS["patience"])
    parser.add_argument(
        "--out", default="runs/malaria", help="output folder (default: runs/malaria)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and weights")


_OFFLINE_HINT = (
    "Offline choices: `kerasx malaria --data DIR` with a folder of Parasitized/ and Uninfected/ "
    "PNG images (the NIH cell_images layout), or `kerasx malaria --data synthetic` for a "
    "procedural stand-in (not real data)."
)


def run_from_args(args):
    """Runs ``kerasx malaria`` from parsed arguments; returns the exit status."""
    from kerasx.data import DatasetUnavailableError

    try:
        run_malaria(
            args.data,
            out=args.out,
            fraction=args.fraction,
            image_size=args.image_size,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            patience=args.patience,
        )
    except DatasetUnavailableError as error:
        print(f"kerasx malaria: the data set is not available: {error}", file=sys.stderr)
        print(_OFFLINE_HINT, file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as error:
        print(f"kerasx malaria: {error}", file=sys.stderr)
        return 2
    return 0
