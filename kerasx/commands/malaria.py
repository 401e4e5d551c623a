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
('history.csv', 'confusion_matrix.png', 'roc.png', 'calibration.png')
>>> print(reproduce_command(settings))  # every setting spelled out: defaults may change
kerasx malaria --data synthetic --model all --split cell --fraction 0.5 --image-size 32 \
--cnn-image-size 32 --epochs 10 --batch-size 32 --patience 10 --backend tensorflow --seed 0 \
--out runs/malaria
"""

import argparse
import contextlib
import datetime
import os
import platform
import shlex
import shutil
import sys
import tempfile

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
    "of --test-data) and write curves, ROC, calibration, the worst mistakes, Grad-CAM, "
    "metrics.json, the saved models, a summary and one self-contained report.html to --out."
)

__all__ = [
    "BACKENDS",
    "BACKUP_DIR",
    "DEFAULTS",
    "QUICK",
    "auto_backend",
    "choose_backend",
    "featured_model",
    "output_files",
    "reproduce_command",
    "resolve_settings",
    "run",
]

#: Every model the command can train, in the order the outputs show them.
MODELS = ("mlp", "cnn")

#: The Keras backends ``--backend`` offers (``auto`` picks one, see :func:`auto_backend`).
BACKENDS = ("tensorflow", "jax")


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
    # No early stop in 10 epochs (best weights still restored): with patience 3 the CNN's
    # batch-norm statistics are still settling when its val_loss first rises, and it stopped
    # at epoch 4 with 0.64 accuracy; with 10 it reaches 0.95 (synthetic, seed 0).
    "patience": 10,
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
        A tuple of file names; ``report.html`` (built from all the others) comes last.
    """
    files = ["history.csv", "confusion_matrix.png", "roc.png", "calibration.png", "errors.png"]
    if "cnn" in models:
        files.append("gradcam.png")
    files += ["metrics.json", "run.json", "summary.txt"]
    for name in models:
        files += [f"curves_{name}.png", *_MODEL_FILES[name]]
    return (*files, "report.html")


def featured_model(models):
    """The model errors.png and calibration.png show: the CNN when it was trained, else the MLP.

    The CNN is the one Grad-CAM explains and the one meant for use (it beats the MLP and the
    baseline on the synthetic cells and on the NIH cells, see PITFALLS.md), so its mistakes and
    probabilities are the ones worth a look; the side-by-side table, the calibration table and
    roc.png still cover every model.

    >>> featured_model(("mlp", "cnn")), featured_model(("mlp",))
    ('cnn', 'mlp')
    """
    return "cnn" if "cnn" in models else models[0]


def reproduce_command(settings):
    """The ``kerasx malaria`` command line that repeats a run, every setting spelled out.

    Spelled out rather than as typed, so that it repeats the run even after a default or
    ``--quick`` changes: parsing it gives back the same settings (``--quick`` expanded).

    Args:
        settings: as :func:`resolve_settings` returns.

    Returns:
        One shell-quoted line.
    """
    models = settings["models"]
    parts = ["kerasx", "malaria", "--data", os.fspath(settings["source"])]
    parts += ["--model", "all" if tuple(models) == MODELS else models[0]]
    parts += ["--split", settings["split"]]
    if settings["test_data"] is not None:
        parts += ["--test-data", os.fspath(settings["test_data"])]
    for key in ("fraction", "image_size", "cnn_image_size", "epochs", "batch_size", "patience"):
        if settings[key] is not None:
            parts += [f"--{key.replace('_', '-')}", str(settings[key])]
    if settings["xla"] is not None:
        parts.append("--xla" if settings["xla"] else "--no-xla")
    if settings.get("deterministic"):
        parts.append("--deterministic")
    parts += ["--backend", settings["backend"]]
    parts += ["--seed", str(settings["seed"]), "--out", os.fspath(settings["out"])]
    return shlex.join(parts)


#: The smallest batch size at which ``--backend auto`` trains the MLP alone under JAX.
_MLP_JAX_MIN_BATCH = 128


def auto_backend(models, batch_size):
    """The Keras backend ``--backend auto`` picks: the faster one for the run, as measured.

    One process trains every model with one backend (Keras picks it once, at import), so the
    choice serves the whole run. Measured by ``benchmarks/bench_backends.py`` (JAX's samples/s
    over TensorFlow's, the recipes at their defaults, alternating processes) on two 2-core
    machines: an AMD EPYC without AVX-512 and an Intel Xeon with AVX-512 and AMX.

    - With the CNN: TensorFlow. The CNN costs most of a run's time, and JAX trained it at
      0.29-0.38x TensorFlow's rate (AMD) and 0.12-0.17x (Intel): TensorFlow's convolutions
      run through oneDNN, XLA's CPU convolutions do not.
    - The MLP alone: JAX from batch :data:`_MLP_JAX_MIN_BATCH` (1.34x TensorFlow at 128 on the
      AMD machine; on the Intel one 1.16x under load and 0.96x idle, a tie) and TensorFlow
      below it (JAX 0.75x at batch 32 on the AMD machine, 0.45-0.98x on the Intel one). Batch
      sizes between 32 and 128 were not measured; they stay on TensorFlow.

    Args:
        models: the names of the models the run trains (``"mlp"``, ``"cnn"``).
        batch_size: the run's batch size.

    Returns:
        ``"tensorflow"`` or ``"jax"``.

    >>> auto_backend(("mlp", "cnn"), 128), auto_backend(("mlp",), 32), auto_backend(("mlp",), 128)
    ('tensorflow', 'tensorflow', 'jax')
    """
    if "cnn" in models or batch_size < _MLP_JAX_MIN_BATCH:
        return "tensorflow"
    return "jax"


def choose_backend(args):
    """The backend of a run from its parsed options: ``--backend``, or :func:`auto_backend`.

    ``kerasx``'s ``main`` sets ``KERAS_BACKEND`` from it before anything imports Keras.

    >>> from kerasx.commands._common import CommandParser
    >>> parser = CommandParser(prog="kerasx malaria")
    >>> add_arguments(parser)
    >>> choose_backend(parser.parse_args(["--model", "mlp", "--batch-size", "128"]))
    'jax'
    >>> choose_backend(parser.parse_args(["--backend", "tensorflow", "--model", "mlp"]))
    'tensorflow'
    """
    from kerasx import distribution  # imports no Keras

    backend = getattr(args, "backend", "auto")
    if backend != "auto":
        return backend
    if distribution.parse_env() is not None:
        return "jax"  # across processes (KERAS_DISTRIBUTION_*): Keras trains on JAX only
    models = MODELS if args.model == "all" else (args.model,)
    return auto_backend(models, args.batch_size or DEFAULTS["batch_size"])


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
        "--backend",
        choices=("auto", *BACKENDS),
        default="auto",
        help="the Keras backend (default: auto). auto takes TensorFlow whenever the CNN trains "
        "(JAX ran it 3-8x slower on CPU) and for the MLP alone below batch 128 (JAX 0.45-0.75x "
        "at 32), and JAX for the MLP alone from batch 128 (1.16-1.34x TensorFlow); measured by "
        "benchmarks/bench_backends.py on 2-core AMD and Intel machines. A process has one "
        "backend, set before Keras is imported",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops (TensorFlow backend; XLA off): a rerun, or a run resumed after a crash, "
        "ends on the same weights",
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
        deterministic=getattr(args, "deterministic", False),
        backend=choose_backend(args),
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
    from kerasx._io import atomic_path

    for file in _MODEL_FILES[name]:
        # .keras first: a legacy .h5 save rewrites the live model's compile config.
        with atomic_path(os.path.join(out, file)) as tmp:
            model.save(tmp)


def _json_safe(value):
    """NaN (e.g. ROC AUC on one class) as ``null``: metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value


def _typed_argv():
    """The command as typed when this process is ``kerasx malaria`` itself, else ``None``."""
    if sys.argv[1:2] == [NAME]:
        return ["kerasx", *sys.argv[1:]]
    return None


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _run_record(settings, state="running", started=None):
    """run.json's common part: the state, how to repeat the run, the versions, the times.

    ``state`` is ``"running"`` from the moment the output folder exists, then ``"finished"``
    or ``"failed"`` (with ``error``, see :func:`run`).
    """
    import keras
    import numpy as np

    from kerasx import __version__

    versions = {"kerasx": __version__, "keras": keras.__version__, "numpy": np.__version__}
    if "tensorflow" in sys.modules:
        versions["tensorflow"] = sys.modules["tensorflow"].__version__
    return {
        "state": state,
        "command": reproduce_command(settings),
        "argv": _typed_argv(),
        "started": started or _now(),
        "ended": None if state == "running" else _now(),
        "versions": {**versions, "python": platform.python_version()},
        "backend": keras.backend.backend(),
    }


def _finished_record(settings, trained, started):
    """run.json at the end: the common part plus each model's layers and parameters."""
    from kerasx.commands._malaria_report import model_summaries

    record = _run_record(settings, "finished", started)
    return {
        **record,
        "finished": record["ended"],  # report.html's "Run finished ..." line
        "featured_model": featured_model(settings["models"]),
        "models": model_summaries(trained.models, trained.results),
    }


def _draw_figures(settings, data, y_test, trained, title):
    """roc.png, calibration.png, errors.png and (with a CNN) gradcam.png."""
    from kerasx.commands import _malaria_report as report

    out = settings["out"]
    report.draw_roc(os.path.join(out, "roc.png"), y_test, trained.scores, title)
    name = featured_model(settings["models"])
    calibration = trained.results[name]["calibration"]
    report.draw_calibration(
        os.path.join(out, "calibration.png"),
        name,
        y_test,
        trained.scores[name],
        trained.calibrated[name],
        calibration["temperature"],
    )
    size = settings["cnn_image_size" if name == "cnn" else "image_size"]
    images = data[size][1][0]
    report.draw_errors(os.path.join(out, "errors.png"), images, y_test, trained.scores[name])
    if "cnn" in trained.models:
        report.draw_grad_cam(
            os.path.join(out, "gradcam.png"),
            trained.models["cnn"],
            data[settings["cnn_image_size"]][1][0],
            y_test,
            trained.scores["cnn"],
        )


def _backend_record():
    """The backend the run trained with, and its float policy (metrics.json's ``backend``)."""
    import keras

    return {
        "name": keras.backend.backend(),
        "dtype_policy": keras.config.dtype_policy().name,
    }


def _metrics(settings, description, n_train, n_test, evaluation, results):
    return {
        "data": {
            "source": os.fspath(settings["source"]),
            "description": description,
            "synthetic": settings["source"] == "synthetic",
            "split": None if settings["test_data"] else settings["split"],
            "test_data": settings["test_data"],
            "external_validation": settings["test_data"] is not None,
            "evaluation": evaluation,
            "fraction": settings["fraction"],
            "n_train": n_train,
            "n_test": n_test,
            "split_seed": settings["seed"],
        },
        "settings": {
            **{
                key: settings[key]
                for key in ("epochs", "batch_size", "validation_split", "seed", "quick", "xla")
            },
            "backend": _backend_record(),
        },
        **results,
    }


def _write_outputs(settings, description, data, trained, started):
    """Prints the table and writes every file of :func:`output_files`; returns metrics.json's dict."""
    import pandas as pd

    from kerasx import _io
    from kerasx.commands import _html
    from kerasx.commands import _malaria_report as report

    (X_train, _), (_, y_test) = data[settings["image_size"]]
    out, synthetic = settings["out"], settings["source"] == "synthetic"
    evaluation = _evaluation(settings, len(y_test))
    title = f"Test set: {evaluation}"
    table = report.comparison_table(trained.results, title)
    print(table, flush=True)
    history = pd.concat(trained.histories, ignore_index=True)
    if synthetic:
        history.insert(0, "data", "SYNTHETIC")  # every output says so
    _io.write_text(os.path.join(out, "history.csv"), history.to_csv(index=False))
    predictions = {name: values > 0.5 for name, values in trained.scores.items()}
    report.draw_confusion(os.path.join(out, "confusion_matrix.png"), y_test, predictions, title)
    _draw_figures(settings, data, y_test, trained, title)
    summary = report.summary(trained.models, table, description)
    _io.write_text(os.path.join(out, "summary.txt"), summary)
    for name, model in trained.models.items():
        _save(name, model, out)
    metrics = _metrics(
        settings, description, len(X_train), len(y_test), evaluation, trained.results
    )
    _io.write_json(os.path.join(out, "metrics.json"), _json_safe(metrics))
    _io.write_json(os.path.join(out, "run.json"), _finished_record(settings, trained, started))
    _html.write_report(out)
    # Every output is written: the resume state goes (backups first, see _malaria_resume).
    shutil.rmtree(os.path.join(out, BACKUP_DIR), ignore_errors=True)
    for name in settings["models"]:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out, f"history_{name}.csv"))
    _malaria_train.progress(f"wrote {', '.join(output_files(settings['models']))} to {out}")
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
    from kerasx import distribution
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
    record = _run_record(settings)
    _write_run_json(settings["out"], record)
    try:
        trained = _malaria_train.train_and_score(settings, data)
        with distribution.local_scope():  # after training across processes: local copies
            return _write_outputs(settings, description, data, trained, record["started"])
    except BaseException as error:  # KeyboardInterrupt too: the run did not finish
        failed = {**_run_record(settings, "failed", record["started"]), "error": _one_line(error)}
        with contextlib.suppress(OSError):
            _write_run_json(settings["out"], failed)
        raise


def _write_run_json(out, record):
    from kerasx import _io

    _io.write_json(os.path.join(out, "run.json"), record)


def _one_line(error):
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")


def run(args):
    """Runs ``kerasx malaria`` from parsed arguments; returns the exit status."""
    from kerasx import distribution
    from kerasx.data import DatasetUnavailableError

    # With KERAS_DISTRIBUTION_* set: join the other processes before any model exists.
    distribution.initialize_from_env()
    settings = resolve_settings(args)
    try:
        if distribution.is_chief():
            compare(settings)
        else:  # the same steps (every process must train), but only the chief writes --out
            with tempfile.TemporaryDirectory(prefix="kerasx-malaria-worker-") as scratch:
                compare({**settings, "out": scratch})
    except DatasetUnavailableError as error:
        error.kerasx_hint = _OFFLINE_HINT
        raise
    return 0
