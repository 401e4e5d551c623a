"""Training for ``kerasx malaria``: loads the images, trains each model, fits the baseline.

Used by :mod:`kerasx.commands.malaria` (which parses the options and writes the outputs);
imports nothing heavy at module level.
"""

import dataclasses
import math
import os
import time

__all__ = ["BACKUP_DIR", "Trained", "load", "progress", "train_and_score", "validation_rows"]

#: Folder under ``--out`` where each model's training is backed up (``backup/mlp``, ...) until
#: it ends normally, at most 4 % of the training time going to the saves (see
#: :class:`kerasx.commands._malaria_resume.Backup`); running the same command again resumes
#: from it.
BACKUP_DIR = "backup"

# Epochs without a better val_loss before stopping. The CNN's validation loss is noisier
# (augmentation, batch normalization), so it gets more patience than the course's 5.
_PATIENCE = {"mlp": 5, "cnn": 8}
# The MLP's defaults that beat the course's 60-70 % with the same architecture (see _build).
_MLP_SETTINGS = {"learning_rate": 1e-4, "l2": 1e-3}
# Rows per validation batch: the validation pass only runs the model forward, so it takes
# larger batches than training at no memory risk (as _predict does); the mean loss and metrics
# are those of batch 32 up to float rounding (a weighted mean over the batches).
_VALIDATION_BATCH = 256


@dataclasses.dataclass
class Trained:
    """What :func:`train_and_score` returns; every dict is keyed by model name.

    Attributes:
        models: the trained networks (``"mlp"``, ``"cnn"``).
        scores: predicted probabilities of class 1 on the test rows, baseline included.
        calibrated: the networks' test scores after temperature scaling.
        results: each model's entry of metrics.json (scores, training facts, calibration).
        histories: one history table per network, with a ``model`` column.
    """

    models: dict
    scores: dict
    calibrated: dict
    results: dict
    histories: list


def progress(message):
    """Prints one progress line, flushed at once.

    >>> progress("loading ...")
    [kerasx malaria] loading ...
    """
    print(f"[kerasx malaria] {message}", flush=True)


def load(settings, image_size):
    """``(X_train, y_train), (X_test, y_test)`` at ``image_size``: the same rows at any size."""
    import numpy as np

    from kerasx.data import load_folder, load_malaria

    train, test = load_malaria(
        settings["source"],
        fraction=settings["fraction"],
        image_size=image_size,
        flatten=False,
        seed=settings["seed"],
        split=settings["split"],
    )
    if settings["test_data"] is None:
        return train, test
    # External validation: all of --data trains (Keras holds out the validation share).
    whole = tuple(np.concatenate(parts) for parts in zip(train, test, strict=True))
    X_test, y_test, _ = load_folder(settings["test_data"], image_size=image_size, flatten=False)
    return whole, (X_test, y_test)


def _build(name, X_train, seed, xla):
    """The model ``name``, compiled, for images shaped like ``X_train``'s.

    The MLP is the course's architecture (30,000 → 300 → 100 → 50 → 1 at 100×100) with better
    defaults than the course's code: inputs standardized per channel inside the model (adapted
    on the training images, so the saved model takes raw [0, 1] pixels), Adam at 1e-4 instead of
    1e-3 and an L2 penalty of 1e-3 on the hidden kernels. On the shared 2,800 NIH images (cell
    split) the course's code collapsed to one class on 2 of 3 seeds at Adam's 1e-3; the smaller
    learning rate and the standardization brought it to about 69-70 % and the L2 penalty to
    about 74 %. The CNN is :func:`kerasx.recipes.malaria_cnn` at its defaults.
    """
    from kerasx import recipes

    if name == "mlp":
        return recipes.malaria_mlp(
            X_train.shape[1:], standardize=X_train, seed=seed, jit_compile=xla, **_MLP_SETTINGS
        )
    return recipes.malaria_cnn(X_train.shape[1:], seed=seed, jit_compile=xla)


def _fit(name, model, X_train, y_train, settings):
    """Trains with early stopping on val_loss; returns the history table and a few facts.

    Crash-safe (:mod:`kerasx.commands._malaria_resume`): the state is backed up whole under
    ``--out``/backup/<name>, with the early-stopping counters and best weights, and each
    epoch's row order depends on ``(seed, epoch)`` only, so running the same command again
    after a crash ends on the weights of an uninterrupted run, with every epoch in the history
    once. A crash loses at most the training since the last save (saves are spaced so they
    take at most 4 % of the training time: for the MLP at 100x100 at most about 26 s plus an
    epoch before the first save, 7-12 s plus an epoch after it).
    The validation rows are the last ``validation_split`` of the arrays, as Keras's
    ``validation_split`` takes them (:func:`validation_rows`).
    """
    from kerasx import distribution
    from kerasx.callbacks import HistoryFrame, LearningCurves
    from kerasx.commands._malaria_resume import Backup, ResumableEarlyStopping, epoch_batches

    out = settings["out"]
    patience = settings["patience"] or _PATIENCE[name]
    stopping = ResumableEarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    backup = Backup(os.path.join(out, BACKUP_DIR, name), stopping=stopping)
    first_epoch = backup.initial_epoch(settings["epochs"])
    starts = distribution.process_values(first_epoch)  # every process: the same epochs
    if len(set(starts.tolist())) > 1:
        raise ValueError(
            f"The processes would resume {name!r} at epochs {starts.tolist()} (in process "
            "order): a run across processes resumes only from the same backup on every "
            f"process. Remove {os.path.join(out, BACKUP_DIR)} to start over."
        )
    split = validation_rows(len(X_train), settings["validation_split"])
    batches, steps = epoch_batches(
        X_train[:split],
        y_train[:split],
        settings["batch_size"],
        settings["seed"],
        first_epoch,
        settings["epochs"],
    )
    frame = HistoryFrame(path=os.path.join(out, f"history_{name}.csv"))
    # The backup comes last: it saves after the other callbacks' epoch ends (the history row is
    # written before the epoch is committed) and after EarlyStopping restored the best weights.
    callbacks = [stopping, frame, LearningCurves(os.path.join(out, f"curves_{name}.png")), backup]
    model.fit(
        distribution.process_share(batches),  # this process's rows of each global batch
        steps_per_epoch=steps,
        validation_data=(X_train[split:], y_train[split:]),
        validation_batch_size=_VALIDATION_BATCH,
        epochs=settings["epochs"],
        initial_epoch=first_epoch,
        shuffle=False,  # epoch_batches orders each epoch from (seed, epoch)
        callbacks=callbacks,
        verbose=2,
    )
    facts = {
        "train_time_s": backup.train_time,
        "epochs_run": len(frame.frame),
        "best_epoch": int(stopping.best_epoch),
        "patience": patience,
        "image_size": int(X_train.shape[1]),
        "parameters": int(model.count_params()),
    }
    history = frame.frame
    history.insert(0, "model", name)
    return history, facts


def _fit_baseline(X_train, y_train):
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    from kerasx.recipes import logistic_baseline

    baseline = logistic_baseline()
    start = time.perf_counter()
    # One BLAS thread: on a busy 2-core machine OpenBLAS's second thread spins, and lbfgs on
    # 560 images of 32x32 took 13 s with two threads against 0.3 s with one (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        baseline.fit(X_train, y_train.astype(int))
    return baseline, time.perf_counter() - start


def validation_rows(n, validation_split):
    """The rows Keras's ``fit(validation_split=...)`` holds out: the last ones, from this index.

    Keras takes the validation data from the end of the arrays, before any shuffling, and
    splits at ``floor(n * (1 - validation_split))``.

    >>> validation_rows(560, 0.1), validation_rows(10, 0.25)
    (504, 7)
    """
    return math.floor(n * (1.0 - validation_split))


def _predict(model, X):
    return model.predict(X, batch_size=256, verbose=0).ravel()


def train_and_score(settings, data):
    """Trains every chosen model and the baseline, scores and calibrates them.

    Each network's temperature is fitted on its validation rows (those ``validation_split``
    held out: the last share of the training arrays, see :func:`validation_rows`) and measured
    on the test rows. The baseline was fitted on every training row, so it has no held-out rows
    to fit a temperature on: only its calibration before is reported.

    Returns:
        A :class:`Trained`.
    """
    from kerasx import distribution
    from kerasx.commands._malaria_report import MODEL_TITLES, calibrate_scores, score_predictions

    if settings.get("deterministic"):
        import tensorflow as tf

        # With the recipes' keras.utils.set_random_seed: repeatable CPU runs (PITFALLS.md).
        tf.config.experimental.enable_op_determinism()
    sizes = {"mlp": settings["image_size"], "cnn": settings["cnn_image_size"]}
    (X_train, y_train), (X_test, y_test) = data[settings["image_size"]]
    trained = Trained({}, {}, {}, {}, [])
    for name in settings["models"]:
        (X_fit, y_fit), (X_score, _) = data[sizes[name]]
        progress(f"training the {MODEL_TITLES[name]} at {sizes[name]}x{sizes[name]} ...")
        model = _build(name, X_fit, settings["seed"], settings["xla"])
        history, facts = _fit(name, model, X_fit, y_fit, settings)
        model = distribution.local_copy(model)  # itself, unless trained across processes
        with distribution.local_scope():
            scores = trained.scores[name] = _predict(model, X_score)
            start = validation_rows(len(X_fit), settings["validation_split"])
            trained.calibrated[name], calibration = calibrate_scores(
                y_fit[start:], _predict(model, X_fit[start:]), y_test, scores
            )
        trained.results[name] = {
            **score_predictions(y_test, scores),
            **facts,
            "calibration": calibration,
        }
        trained.models[name] = model
        trained.histories.append(history)
    progress("fitting the logistic-regression baseline (lbfgs, up to 1000 iterations) ...")
    baseline, seconds = _fit_baseline(X_train, y_train)
    scores = trained.scores["baseline"] = baseline.predict_proba(X_test)[:, 1]
    trained.results["baseline"] = {
        **score_predictions(y_test, scores),
        "train_time_s": seconds,
        "image_size": settings["image_size"],
        "parameters": int(baseline[-1].coef_.size + baseline[-1].intercept_.size),
        "calibration": calibrate_scores(None, None, y_test, scores)[1],
    }
    return trained
