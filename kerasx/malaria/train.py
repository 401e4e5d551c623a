"""Training for the malaria job: the data at each size, each network's crash-safe ``fit``, the
logistic baseline, and every model's scores on the test rows.

Imports nothing heavy at module level; used by :func:`kerasx.malaria.run_malaria`.
"""

import dataclasses
import math
import os
import time

import numpy as np

from kerasx._validation import InvalidArgument
from kerasx.malaria.record import BACKUP_DIR

__all__ = [
    "ModelResult",
    "Rows",
    "Split",
    "build_model",
    "fit_baseline",
    "fit_network",
    "load_split",
    "progress",
    "split_rows",
    "train_and_score",
    "validation_rows",
]

# The MLP's defaults that beat the course's 60-70 % with the same architecture (see build_model).
_MLP_SETTINGS = {"learning_rate": 1e-4, "l2": 1e-3}
# Rows per validation / prediction batch: these passes only run the model forward, so they take
# larger batches than training at no memory risk; the mean loss and metrics are those of batch
# 32 up to float rounding (a weighted mean over the batches).
_FORWARD_BATCH = 256


@dataclasses.dataclass(frozen=True)
class Split:
    """The training and test rows at one image size (the same rows at every size).

    ``groups_train`` and ``groups_test`` are the patient of each row for a folder (the NIH file
    names name it), and each row's own number for TFDS and the synthetic images.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    groups_train: np.ndarray
    groups_test: np.ndarray

    @property
    def image_size(self):
        return int(self.x_train.shape[1])


@dataclasses.dataclass(frozen=True)
class Rows:
    """Which training rows the networks fit on and which they validate on.

    Attributes:
        fit: row indices into the training arrays that ``fit`` trains on.
        validation: the rows early stopping and the temperature fit are judged on.
        by_patient: whether the validation rows are whole patients that ``fit`` never sees
            (a folder), or the last ``validation_split`` of the rows as Keras takes them.
    """

    fit: np.ndarray
    validation: np.ndarray
    by_patient: bool


@dataclasses.dataclass
class ModelResult:
    """One model's outcome.

    Attributes:
        name: ``"mlp"``, ``"cnn"`` or ``"baseline"``.
        model: the trained ``keras.Model`` (the baseline's scikit-learn pipeline).
        scores: predicted probabilities of class 1 (parasitized) on the test rows.
        calibrated: the test scores after temperature scaling (the baseline's unchanged).
        entry: the model's entry of metrics.json (scores, training facts, calibration).
        history: the epoch table with a ``model`` column (``None`` for the baseline).
    """

    name: str
    model: object
    scores: np.ndarray
    calibrated: np.ndarray
    entry: dict
    history: object = None


def progress(message, verbose=True):
    """Prints one progress line, flushed at once.

    >>> progress("loading ...")
    [kerasx malaria] loading ...
    """
    if verbose:
        print(f"[kerasx malaria] {message}", flush=True)


def load_split(config, image_size):
    """The :class:`Split` of ``config`` at ``image_size``: the same rows at any size."""
    from kerasx.data import load_folder, load_malaria

    train, test = load_malaria(
        config.data,
        fraction=config.fraction,
        image_size=image_size,
        flatten=False,
        seed=config.seed,
        split=config.split,
        return_groups=True,
    )
    (x_train, y_train, g_train), (x_test, y_test, g_test) = train, test
    if config.test_data is None:
        return Split(x_train, y_train, x_test, y_test, g_train, g_test)
    # External validation: all of --data trains (the validation share is held out of it).
    x_train, y_train, g_train = (np.concatenate(parts) for parts in zip(train, test, strict=True))
    x_test, y_test, _, g_test = load_folder(
        config.test_data, image_size=image_size, flatten=False, return_groups=True
    )
    return Split(x_train, y_train, x_test, y_test, g_train, g_test)


def split_rows(config, split):
    """The :class:`Rows` of a run: whole patients validate whenever the data names them.

    For a folder (whatever ``split`` puts on the test side, and with ``test_data`` too) the
    validation rows are whole patients taken out of the training side
    (:func:`kerasx.data.grouped_validation_split`, stratified by class as far as patients
    allow), so early stopping and the temperature are fitted on patients the network never
    trains on. TFDS and the synthetic images have no patients: their validation rows are the
    last ``validation_split`` of the (shuffled) training rows, as Keras's ``validation_split``.
    """
    n = len(split.y_train)
    if config.data in ("tfds", "synthetic"):
        first = validation_rows(n, config.validation_split)
        return Rows(np.arange(first), np.arange(first, n), by_patient=False)
    from kerasx.data import grouped_validation_split

    fit, validation = grouped_validation_split(
        split.y_train,
        split.groups_train,
        validation_split=config.validation_split,
        seed=config.seed,
    )
    return Rows(fit, validation, by_patient=True)


def validation_rows(n, validation_split):
    """The first validation row: the last ``validation_split`` of the rows validate, as Keras's
    ``fit(validation_split=...)`` takes them (``floor(n * (1 - validation_split))``).

    >>> validation_rows(560, 0.1), validation_rows(10, 0.25)
    (504, 7)
    """
    return math.floor(n * (1.0 - validation_split))


def build_model(name, x_train, config):
    """The network ``name``, compiled, for images shaped like ``x_train``'s.

    The MLP is the course's architecture (30,000 → 300 → 100 → 50 → 1 at 100×100) with better
    defaults than the course's code: inputs standardized per channel inside the model (adapted
    on the training images, so the saved model takes raw [0, 1] pixels), Adam at 1e-4 instead of
    1e-3 and an L2 penalty of 1e-3 on the hidden kernels. On the 2,800 NIH cells of the tests
    (cell split) the course's code collapsed to one class on 2 of 3 seeds at Adam's 1e-3; the
    smaller learning rate and the standardization brought it to about 69-70 % and the L2
    penalty to about 74 %. The CNN is :func:`kerasx.recipes.malaria_cnn` at its defaults.
    """
    from kerasx import recipes

    if name == "mlp":
        return recipes.malaria_mlp(
            x_train.shape[1:],
            standardize=x_train,
            seed=config.seed,
            jit_compile=config.xla,
            **_MLP_SETTINGS,
        )
    return recipes.malaria_cnn(x_train.shape[1:], seed=config.seed, jit_compile=config.xla)


def _agreed_first_epoch(name, backup, epochs, out):
    """The epoch every process resumes at (across processes they must agree)."""
    from kerasx import distribution

    first_epoch = backup.initial_epoch(epochs)
    starts = distribution.process_values(first_epoch)
    if len(set(starts.tolist())) > 1:
        raise InvalidArgument(
            f"The processes would resume {name!r} at epochs {starts.tolist()} (in process "
            "order): a run across processes resumes only from the same backup on every "
            f"process. Remove {os.path.join(out, BACKUP_DIR)} to start over."
        )
    return first_epoch


def fit_network(name, model, x, y, config, out, rows=None):
    """Trains with early stopping on ``val_loss``, crash-safe; returns the history and facts.

    Crash-safe (:mod:`kerasx.callbacks.backup`): the state is backed up whole under
    ``out/backup/<name>``, with the early-stopping counters and best weights, and each epoch's
    row order depends on ``(seed, epoch)`` only, so running the same command again after a
    crash ends on the weights of an uninterrupted run, with every epoch in the history once.

    Args:
        name: ``"mlp"`` or ``"cnn"``.
        model: the compiled network (:func:`build_model`).
        x, y: the training arrays.
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        out: the folder of the backup, the history and the learning curves.
        rows: a :class:`Rows` (:func:`split_rows`); ``None`` validates on the last
            ``validation_split`` of the rows (:func:`validation_rows`), as Keras does.
    """
    from kerasx import distribution
    from kerasx.callbacks import (
        BackupAndResume,
        HistoryFrame,
        LearningCurves,
        ResumableEarlyStopping,
        epoch_batches,
    )

    patience = config.patience_for(name)
    stopping = ResumableEarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    backup = BackupAndResume(os.path.join(out, BACKUP_DIR, name), stopping=stopping)
    first_epoch = _agreed_first_epoch(name, backup, config.epochs, out)
    if rows is None:
        first = validation_rows(len(x), config.validation_split)
        rows = Rows(np.arange(first), np.arange(first, len(x)), by_patient=False)
    batches, steps = epoch_batches(
        x, y, config.batch_size, config.seed, first_epoch, config.epochs, rows=rows.fit
    )
    frame = HistoryFrame(path=os.path.join(out, f"history_{name}.csv"))
    # The backup comes last: it saves after the other callbacks' epoch ends (the history row is
    # written before the epoch is committed) and after EarlyStopping restored the best weights.
    callbacks = [stopping, frame, LearningCurves(os.path.join(out, f"curves_{name}.png")), backup]
    model.fit(
        distribution.process_share(batches),  # this process's rows of each global batch
        steps_per_epoch=steps,
        validation_data=(x[rows.validation], y[rows.validation]),
        validation_batch_size=_FORWARD_BATCH,
        epochs=config.epochs,
        initial_epoch=first_epoch,
        shuffle=False,  # epoch_batches orders each epoch from (seed, epoch)
        callbacks=callbacks,
        verbose=2,
    )
    facts = {
        "train_time_s": backup.train_time,
        "epochs_run": len(frame.frame),
        "best_epoch": stopping.state()["best_epoch"],
        "patience": patience,
        "image_size": int(x.shape[1]),
        "parameters": int(model.count_params()),
        "validation": "held-out patients" if rows.by_patient else "last rows of the training side",
        "n_validation": len(rows.validation),
    }
    history = frame.frame
    history.insert(0, "model", name)
    return history, facts


def fit_baseline(x, y):
    """The logistic-regression baseline fitted on flattened ``x``; returns it and the seconds."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    from kerasx.recipes import logistic_baseline

    baseline = logistic_baseline()
    start = time.perf_counter()
    # One BLAS thread: on a busy 2-core machine OpenBLAS's second thread spins, and lbfgs on
    # 560 images of 32x32 took 13 s with two threads against 0.3 s with one (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        baseline.fit(x, y.astype(int))
    return baseline, time.perf_counter() - start


def _predict(model, x):
    return model.predict(x, batch_size=_FORWARD_BATCH, verbose=0).ravel()


def _train_network(name, split, rows, config, out, verbose):
    from kerasx import distribution
    from kerasx.malaria.report import MODEL_TITLES
    from kerasx.malaria.scores import calibrate_scores, score_predictions

    size = split.image_size
    progress(f"training the {MODEL_TITLES[name]} at {size}x{size} ...", verbose)
    model = build_model(name, split.x_train, config)
    history, facts = fit_network(name, model, split.x_train, split.y_train, config, out, rows)
    model = distribution.local_copy(model)  # itself, unless trained across processes
    with distribution.local_scope():
        scores = _predict(model, split.x_test)
        validation = rows.validation
        calibrated, calibration = calibrate_scores(
            split.y_train[validation], _predict(model, split.x_train[validation]), split.y_test,
            scores,
        )  # fmt: skip
    entry = {**score_predictions(split.y_test, scores), **facts, "calibration": calibration}
    return ModelResult(name, model, scores, calibrated, entry, history)


def _train_baseline(split, verbose):
    from kerasx.malaria.scores import calibrate_scores, score_predictions

    progress("fitting the logistic-regression baseline (lbfgs, up to 1000 iterations) ...", verbose)
    baseline, seconds = fit_baseline(split.x_train, split.y_train)
    scores = baseline.predict_proba(split.x_test)[:, 1]
    entry = {
        **score_predictions(split.y_test, scores),
        "train_time_s": seconds,
        "image_size": split.image_size,
        "parameters": int(baseline[-1].coef_.size + baseline[-1].intercept_.size),
        "calibration": calibrate_scores(None, None, split.y_test, scores)[1],
    }
    return ModelResult("baseline", baseline, scores, scores, entry)


def train_and_score(config, splits, out, verbose=True, rows=None):
    """Trains every chosen network and the baseline, scores and calibrates them.

    Each network's temperature is fitted on its validation rows and measured on the test rows.
    The baseline was fitted on every training row, so it has no held-out rows to fit a
    temperature on: only its calibration before is reported.

    Args:
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        splits: ``{image size: Split}`` holding every size the models need.
        out: the output folder (backups, histories, learning curves).
        verbose: print progress lines.
        rows: the :class:`Rows` to fit and validate on; ``None``: :func:`split_rows`.

    Returns:
        ``{name: ModelResult}``: the networks in ``config.models``' order, then the baseline.
    """
    if config.deterministic:
        import tensorflow as tf

        # With the recipes' keras.utils.set_random_seed: repeatable CPU runs.
        tf.config.experimental.enable_op_determinism()
    rows = rows or split_rows(config, splits[config.image_size])
    results = {}
    for name in config.models:
        split = splits[config.image_size_for(name)]
        results[name] = _train_network(name, split, rows, config, out, verbose)
    results["baseline"] = _train_baseline(splits[config.image_size], verbose)
    return results
