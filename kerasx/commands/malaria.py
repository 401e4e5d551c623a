"""``kerasx malaria``: the malaria models side by side with the logistic baseline.

Trains the course's MLP (:func:`kerasx.recipes.malaria_mlp`) and the small CNN
(:func:`kerasx.recipes.malaria_cnn`) with early stopping, fits the logistic-regression baseline
on the same training images, scores all of them on the same test images and writes every output
to one folder (:func:`output_files`). The test images are, by default, held-out *patients* for a
folder in the NIH layout and held-out cells otherwise; ``--test-data DIR`` scores every image of
another folder instead (external validation), after training on the whole of ``--data``.

>>> from kerasx.commands._common import CommandParser
>>> parser = CommandParser(prog="kerasx malaria")
>>> add_arguments(parser)
>>> args = parser.parse_args(["--data", "synthetic", "--quick"])
>>> settings = resolve_settings(args)
>>> settings["models"], settings["split"], settings["image_size"], settings["fraction"]
(('mlp', 'cnn'), 'cell', 32, 0.5)
>>> output_files(("mlp", "cnn"))[:4]
('history.csv', 'confusion_matrix.png', 'metrics.json', 'summary.txt')
"""

import argparse
import contextlib
import os

from kerasx.commands import _malaria_train
from kerasx.commands._common import (
    DATA_SOURCE,
    FRACTION,
    NON_NEGATIVE_INT,
    OUTPUT_DIR,
    POSITIVE_INT,
)
from kerasx.commands._malaria_train import BACKUP_DIR

NAME = "malaria"
HELP = "compare the malaria MLP and CNN with the logistic baseline; write curves, metrics, models"
DESCRIPTION = (
    "Train the course's malaria MLP and a small CNN (early stopping) and fit the "
    "logistic-regression baseline on the same training images; score them side by side on the "
    "same test images (held-out patients for a folder, held-out cells otherwise, or every image "
    "of --test-data) and write curves, metrics.json, the saved models and a summary to --out."
)

__all__ = ["BACKUP_DIR", "DEFAULTS", "QUICK", "output_files", "resolve_settings", "run"]

#: Every model the command can train, in the order the outputs show them.
MODELS = ("mlp", "cnn")


#: Defaults of the options; ``None`` entries depend on the data (see :func:`resolve_settings`).
DEFAULTS = {
    "fraction": None,  # the source's course default (0.1 of tfds, all of a folder)
    "image_size": 100,  # the course's 100 x 100: MLP and baseline
    "cnn_image_size": 80,  # PITFALLS "A first small CNN": 94 % on other patients at 80 x 80
    "epochs": 100,
    "batch_size": 32,
    "patience": None,  # per model: 5 for the MLP (the course's), 8 for the CNN
    "validation_split": 0.1,
    "xla": None,  # the recipes' default: on for the TensorFlow and JAX backends
}

#: What ``--quick`` sets, unless the option is given: a small run for a first look.
QUICK = {
    "fraction": 0.5,
    "image_size": 32,
    "cnn_image_size": 32,
    "epochs": 10,
    "patience": 3,
}

_MODEL_FILES = {"mlp": ("model.keras", "model.h5"), "cnn": ("cnn.keras",)}

_OFFLINE_HINT = (
    "Offline choices: `kerasx malaria --data DIR` with a folder of Parasitized/ and Uninfected/ "
    "PNG images (the NIH cell_images layout), or `kerasx malaria --data synthetic` for a "
    "procedural stand-in (not real data)."
)


def output_files(models):
    """The files ``kerasx malaria`` writes to ``--out`` when it trains ``models``.

    Args:
        models: names among :data:`MODELS`.

    Returns:
        A tuple of file names.
    """
    files = ["history.csv", "confusion_matrix.png", "metrics.json", "summary.txt"]
    for name in models:
        files += [f"curves_{name}.png", *_MODEL_FILES[name]]
    return tuple(files)


def _existing_folder(text):
    if os.path.isdir(text):
        return text
    what = "a file" if os.path.exists(text) else "no such folder"
    raise argparse.ArgumentTypeError(
        f"expected a folder of Parasitized/ and Uninfected/ PNGs. Received: {text!r} ({what})"
    )


def _as_option(key, value):
    option = key.replace("_", "-")
    return f"--no-{option}" if value is False else f"--{option} {value}"


def add_arguments(parser):
    """Adds the ``kerasx malaria`` options to an ``argparse`` parser."""
    parser.add_argument(
        "--data",
        type=DATA_SOURCE,
        default="tfds",
        metavar="tfds|DIR|synthetic",
        help="'tfds' (downloads TensorFlow Datasets' malaria; the default), a folder with "
        "Parasitized/ and Uninfected/ PNGs, or 'synthetic' (offline stand-in, not real data)",
    )
    parser.add_argument(
        "--model",
        choices=(*MODELS, "all"),
        default="all",
        help="the models to train next to the logistic baseline (default: all)",
    )
    parser.add_argument(
        "--split",
        choices=("cell", "patient"),
        default=None,
        help="hold out whole patients (folders only; the default for a folder) or cells "
        "(the default otherwise)",
    )
    parser.add_argument(
        "--test-data",
        type=_existing_folder,
        default=None,
        metavar="DIR",
        help="external validation: train on the whole of --data (minus the validation share) "
        "and score every image of DIR (other patients)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small first run: "
        + ", ".join(_as_option(key, value) for key, value in QUICK.items())
        + " (options given explicitly win)",
    )
    parser.add_argument(
        "--fraction", type=FRACTION, help="share of --data to use (default: 0.1 of tfds, else 1)"
    )
    parser.add_argument("--image-size", type=POSITIVE_INT, help="MLP and baseline (default 100)")
    parser.add_argument("--cnn-image-size", type=POSITIVE_INT, help="CNN (default 80)")
    parser.add_argument("--epochs", type=POSITIVE_INT, help="the most epochs (default 100)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, help="default 32")
    parser.add_argument(
        "--patience",
        type=POSITIVE_INT,
        help="early stopping (default: 5 for the MLP, 8 for the CNN)",
    )
    parser.add_argument(
        "--xla",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the training step with XLA (default: on): ~1.5-2x faster steps after a "
        "compilation of several seconds per model",
    )
    parser.add_argument(
        "--out",
        type=OUTPUT_DIR,
        default="runs/malaria",
        help="output folder (default: runs/malaria)",
    )
    parser.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the split and weights"
    )


def resolve_settings(args):
    """The run's settings from parsed arguments: explicit options, then ``--quick``, then defaults.

    Args:
        args: the ``argparse.Namespace`` of :func:`add_arguments`' options.

    Returns:
        A dict of every setting, with ``models`` (a tuple) and ``split`` resolved.
    """
    settings = dict(DEFAULTS)
    if args.quick:
        settings.update(QUICK)
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    folder = args.data not in ("tfds", "synthetic")
    settings.update(
        source=args.data,
        test_data=args.test_data,
        models=MODELS if args.model == "all" else (args.model,),
        split=args.split or ("patient" if folder and args.test_data is None else "cell"),
        out=args.out,
        seed=args.seed,
        quick=args.quick,
    )
    return settings


def _evaluation(settings, n_test):
    """What the test images are, for the table's title and metrics.json."""
    if settings["test_data"] is not None:
        return (
            f"EXTERNAL validation: every image of {settings['test_data']!r} (other patients), "
            f"n={n_test}; trained on the whole of --data"
        )
    if settings["source"] == "synthetic":
        return f"held-out SYNTHETIC images (not real cells), n={n_test}"
    if settings["split"] == "patient":
        return f"held-out patients (no patient on both sides), n={n_test}"
    if settings["source"] == "tfds":
        return f"held-out cells (TFDS has no patient ids), n={n_test}"
    return f"held-out cells (cells of one patient can be on both sides), n={n_test}"


def _save(name, model, out):
    for file in _MODEL_FILES[name]:
        # .keras first: a legacy .h5 save rewrites the live model's compile config.
        model.save(os.path.join(out, file))


def _json_safe(value):
    """NaN (e.g. ROC AUC on one class) as ``null``: metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def _write_outputs(settings, description, n_train, y_test, trained):
    """Prints the table and writes every file of :func:`output_files`; returns metrics.json's dict."""
    import pandas as pd

    from kerasx import _io
    from kerasx.commands import _malaria_report as report

    models, scores, results, histories = trained
    out, synthetic = settings["out"], settings["source"] == "synthetic"
    evaluation = _evaluation(settings, len(y_test))
    table = report.comparison_table(results, f"Test set: {evaluation}")
    print(table, flush=True)
    history = pd.concat(histories, ignore_index=True)
    if synthetic:
        history.insert(0, "data", "SYNTHETIC")  # every output says so
    _io.write_text(os.path.join(out, "history.csv"), history.to_csv(index=False))
    predictions = {name: values > 0.5 for name, values in scores.items()}
    report.draw_confusion(
        os.path.join(out, "confusion_matrix.png"), y_test, predictions, f"Test set: {evaluation}"
    )
    _io.write_text(os.path.join(out, "summary.txt"), report.summary(models, table, description))
    for name, model in models.items():
        _save(name, model, out)
    with contextlib.suppress(OSError):  # each model removed its own backup when it ended
        os.rmdir(os.path.join(out, BACKUP_DIR))
    metrics = {
        "data": {
            "source": os.fspath(settings["source"]),
            "description": description,
            "synthetic": synthetic,
            "split": None if settings["test_data"] else settings["split"],
            "test_data": settings["test_data"],
            "external_validation": settings["test_data"] is not None,
            "evaluation": evaluation,
            "fraction": settings["fraction"],
            "n_train": n_train,
            "n_test": len(y_test),
            "split_seed": settings["seed"],
        },
        "settings": {
            key: settings[key]
            for key in ("epochs", "batch_size", "validation_split", "seed", "quick", "xla")
        },
        **results,
    }
    _io.write_json(os.path.join(out, "metrics.json"), _json_safe(metrics))
    _malaria_train.progress(f"wrote {', '.join(output_files(models))} to {out}")
    return metrics


def compare(settings):
    """Loads the data, trains and scores every model, writes the outputs.

    Args:
        settings: as :func:`resolve_settings` returns.

    Returns:
        The dict written to ``metrics.json``.

    Raises:
        ValueError: e.g. ``split="patient"`` for a source without file names.
        FileNotFoundError: a folder without the NIH layout.
        kerasx.data.DatasetUnavailableError: ``"tfds"`` when the data cannot be downloaded.
    """
    from kerasx.data import describe_source

    description = describe_source(settings["source"])
    sizes = {settings["image_size"]}
    if "cnn" in settings["models"]:
        sizes.add(settings["cnn_image_size"])
    data = {}
    for size in sorted(sizes):
        _malaria_train.progress(f"loading {description} at {size}x{size} ...")
        data[size] = _malaria_train.load(settings, size)
    (X_train, _), (_, y_test) = data[settings["image_size"]]
    _malaria_train.progress(f"{len(X_train)} training and {len(y_test)} test images")
    os.makedirs(settings["out"], exist_ok=True)  # only once the data loaded
    trained = _malaria_train.train_and_score(settings, data)
    return _write_outputs(settings, description, len(X_train), y_test, trained)


def run(args):
    """Runs ``kerasx malaria`` from parsed arguments; returns the exit status."""
    from kerasx.data import DatasetUnavailableError

    try:
        compare(resolve_settings(args))
    except DatasetUnavailableError as error:
        error.kerasx_hint = _OFFLINE_HINT
        raise
    return 0
