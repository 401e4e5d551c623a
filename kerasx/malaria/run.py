"""The malaria job end to end: :func:`run_malaria` loads, trains, scores and writes one folder.

The same job as ``kerasx malaria`` (which only parses its options into a
:class:`~kerasx.malaria.MalariaConfig` and calls :func:`run_malaria`).
"""

import contextlib
import dataclasses
import datetime
import os
import platform
import sys
import tempfile

from kerasx._validation import invalid_value
from kerasx.malaria import record as records
from kerasx.malaria.config import MalariaConfig
from kerasx.malaria.outputs import featured_model, output_files
from kerasx.malaria.train import progress

__all__ = ["MalariaRun", "featured_model", "output_files", "run_malaria"]


@dataclasses.dataclass(frozen=True)
class MalariaRun:
    """What :func:`run_malaria` returns.

    Attributes:
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        out: the folder every output was written to.
        evaluation: which rows the scores come from, in one sentence (e.g. held-out patients).
        scores: ``{model name: metrics.json entry}``, baseline included (accuracy, sensitivity,
            specificity, MCC, ROC AUC, training facts, calibration).
        metrics: metrics.json's whole content.
        files: ``{file name: path}`` of every output.
        resumed: whether the run continued a backup in ``out``.
    """

    config: MalariaConfig
    out: str
    evaluation: str
    scores: dict
    metrics: dict
    files: dict
    resumed: bool

    def accuracy(self, model):
        """The test accuracy of ``model`` (``"mlp"``, ``"cnn"`` or ``"baseline"``)."""
        return self.scores[model]["accuracy"]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _typed_argv():
    """The command as typed when this process is ``kerasx malaria`` itself, else ``None``."""
    return ["kerasx", *sys.argv[1:]] if sys.argv[1:2] == ["malaria"] else None


@dataclasses.dataclass
class _Folder:
    """run.json's fixed part for one run, and the writes of its states."""

    config: MalariaConfig
    out: str
    fingerprint: dict
    split: dict
    started: str = dataclasses.field(default_factory=_now)

    def record(self, state, **extra):
        """run.json: the state, the config, the data and split, how to repeat it, versions."""
        import keras
        import numpy as np

        from kerasx import __version__

        versions = {"kerasx": __version__, "keras": keras.__version__, "numpy": np.__version__}
        if "tensorflow" in sys.modules:
            versions["tensorflow"] = sys.modules["tensorflow"].__version__
        ended = None if state == "running" else _now()
        if state == "finished":
            extra = {"finished": ended, **extra}  # report.html's "Run finished ..." line
        return {
            "state": state,
            "run": records.run_identity(self.config, self.fingerprint),
            "config": self.config.to_dict(),
            "data": self.fingerprint,
            "split": self.split,
            "command": self.config.command_line(self.out),
            "argv": _typed_argv(),
            "started": self.started,
            "ended": ended,
            "versions": {**versions, "python": platform.python_version()},
            "backend": keras.backend.backend(),
            **extra,
        }

    def write(self, state, **extra):
        records.write_json(self.out, "run.json", self.record(state, **extra))


def _one_line(error):
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")


def _check_backend(config):
    import keras

    running = keras.backend.backend()
    if config.backend not in ("auto", running):
        raise invalid_value(
            "backend",
            f"the backend Keras already runs in this process ({running!r}): a process "
            "chooses its backend once, before importing Keras; set KERAS_BACKEND or run in a "
            "new process",
            config.backend,
        )
    return config if config.backend == running else config.replace(backend=running)


def _load(config, verbose):
    from kerasx.data import describe_source
    from kerasx.malaria.train import load_split

    description = describe_source(config.data)
    splits = {}
    for size in sorted({config.image_size, *map(config.image_size_for, config.models)}):
        progress(f"loading {description} at {size}x{size} ...", verbose)
        splits[size] = load_split(config, size, verbose=verbose)
    main = splits[config.image_size]
    progress(f"{len(main.y_train)} training and {len(main.y_test)} test images", verbose)
    return description, splits


def _prepare(config, out, restart, verbose):
    """Checks the folder, loads the data, checks the split: nothing is written before."""
    from kerasx.malaria.train import split_rows

    fingerprint = records.data_fingerprint(config)
    checked = None if restart else records.check_folder(config, out, fingerprint)
    description, splits = _load(config, verbose)
    main = splits[config.image_size]
    rows = split_rows(config, main)
    split = records.split_record(config, main, rows)
    split["audit"] = records.audit_run(config, main)
    if checked is not None:
        previous, notes = checked
        records.check_split(previous, split)
        if notes:
            progress(f"{out} holds this run; continuing it with {', '.join(notes)}", verbose)
    if restart:
        records.clear_folder(out)
    resumed = os.path.isdir(os.path.join(out, records.BACKUP_DIR))
    return _Folder(config, out, fingerprint, split), description, splits, rows, resumed


def run_malaria(config, out, *, restart=False, verbose=True):
    """Trains the malaria networks and the logistic baseline, scores them on the same test rows
    and writes every output (:func:`output_files`) to ``out``.

    Crash-safe: running the same config into the same ``out`` after a crash resumes and ends on
    the weights of an uninterrupted run. A folder that holds another run (other identifying
    settings or data, see :mod:`kerasx.malaria.record`) is refused before anything is written,
    unless ``restart``.

    Args:
        config: a :class:`~kerasx.malaria.MalariaConfig`.
        out: the output folder (created when the data has loaded).
        restart: remove the folder's earlier run files first and start over in it.
        verbose: print progress lines and the side-by-side table.

    Returns:
        A :class:`MalariaRun`.

    Raises:
        kerasx.malaria.RunMismatch: ``out`` holds another run's files (and not ``restart``).
        kerasx.InvalidArgument: e.g. a backend other than the one Keras runs.
        FileNotFoundError: a folder without the NIH layout.
        kerasx.data.DatasetUnavailableError: ``"tfds"`` when the data cannot be downloaded.
    """
    from kerasx import distribution

    if not isinstance(config, MalariaConfig):
        raise invalid_value("config", "a kerasx.malaria.MalariaConfig", config)
    if os.path.exists(out) and not os.path.isdir(out):
        raise invalid_value("out", "a folder (new or existing), not a file", out)
    out = os.fspath(out)
    config = _check_backend(config)
    # With KERAS_DISTRIBUTION_* set: join the other processes before any model exists.
    distribution.initialize_from_env()
    if distribution.is_chief():
        return _run_in(config, out, restart, verbose)
    # The same steps (every process must train), but only the chief writes the folder.
    with tempfile.TemporaryDirectory(prefix="kerasx-malaria-worker-") as scratch:
        return _run_in(config, scratch, True, verbose)


def _run_in(config, out, restart, verbose):
    from kerasx import distribution
    from kerasx.malaria.inference import add_statistics
    from kerasx.malaria.outputs import write_outputs
    from kerasx.malaria.train import train_and_score

    folder, description, splits, rows, resumed = _prepare(config, out, restart, verbose)
    os.makedirs(out, exist_ok=True)  # only once the data loaded and the folder is checked
    folder.write("running")
    try:
        results = train_and_score(config, splits, out, verbose, rows)
        progress("intervals, comparisons, patients' diagnosis, conformal sets ...", verbose)
        add_statistics(
            results, splits[config.image_size], rows, by_patient=rows.by_patient, seed=config.seed
        )
        with distribution.local_scope():  # after training across processes: local copies
            metrics = write_outputs(folder, description, splits, results, verbose)
    except BaseException as error:  # KeyboardInterrupt too: the run did not finish
        with contextlib.suppress(OSError):
            folder.write("failed", error=_one_line(error))
        raise
    files = {name: os.path.join(out, name) for name in output_files(config.models)}
    evaluation = metrics["data"]["evaluation"]
    scores = {name: metrics[name] for name in results}
    return MalariaRun(config, out, evaluation, scores, metrics, files, resumed)
