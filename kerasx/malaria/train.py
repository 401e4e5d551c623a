"""Training for the malaria job: the data at each size, each network's crash-safe ``fit``, the
logistic baseline, and every model's scores on the test rows.

The images stay 8-bit (``uint8``) in memory, a quarter of float32's size: every batch a model
sees (training, validation, prediction) is scaled to float32 in [0, 1] on its way in, to the
same bits a float32 load gives (:func:`kerasx.data.scale_images`). The logistic baseline is fitted
on the 8-bit pixels in chunks, without a float copy of every pixel (:func:`fit_baseline`).

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
    "CNN_MAX_LR",
    "ModelResult",
    "Rows",
    "Split",
    "baseline_scores",
    "build_model",
    "epoch_eta",
    "fit_baseline",
    "fit_network",
    "forward_batches",
    "load_split",
    "predict_scores",
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
#: The peak learning rate of the CNN's one-cycle schedule (Adam; the rate starts at a 25th of
#: it and anneals to almost zero by the last epoch). With the four-block CNN on the NIH set's
#: patient split (seed 0, 12 epochs at 80x80), it took the validation patients' loss from 0.148
#: (the three-block CNN at a constant 1e-3, best epoch) to 0.132 (see ``malaria_cnn``).
CNN_MAX_LR = 3e-3
#: The start of every line the job prints.
PREFIX = "[kerasx malaria]"


@dataclasses.dataclass(frozen=True)
class Split:
    """The training and test rows at one image size (the same rows at every size).

    ``x_train`` and ``x_test`` are ``uint8`` images ``(n, size, size, 3)``, pixels 0-255: a
    model takes them scaled (:func:`kerasx.data.scale_images`, or per batch as
    :func:`fit_network` and :func:`predict_scores` do). ``groups_train`` and ``groups_test`` are
    the patient of each row for a folder (the NIH file names name it), and each row's own
    number for TFDS and the synthetic images.
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
        validation_scores: its probabilities on the validation rows (:class:`Rows`), on which
            an operating threshold and conformal sets are fitted (``None`` for the baseline,
            which fits on every training row).
        validation_calibrated: the same after temperature scaling.
    """

    name: str
    model: object
    scores: np.ndarray
    calibrated: np.ndarray
    entry: dict
    history: object = None
    validation_scores: np.ndarray | None = None
    validation_calibrated: np.ndarray | None = None


def progress(message, verbose=True):
    """Prints one progress line, flushed at once.

    >>> progress("loading ...")
    [kerasx malaria] loading ...
    """
    if verbose:
        print(f"{PREFIX} {message}", flush=True)


def load_split(config, image_size, verbose=False):
    """The :class:`Split` of ``config`` at ``image_size``: the same rows at any size, as uint8.

    ``verbose`` prints the decoding's count, rate and ETA (:func:`kerasx.data.load_malaria`).
    """
    from kerasx.data import load_folder, load_malaria

    shown = PREFIX if verbose else False
    train, test = load_malaria(
        config.data,
        fraction=config.fraction,
        image_size=image_size,
        flatten=False,
        seed=config.seed,
        split=config.split,
        return_groups=True,
        dtype="uint8",
        verbose=shown,
        cache_dir=config.cache_dir,
    )
    (x_train, y_train, g_train), (x_test, y_test, g_test) = train, test
    if config.test_data is None:
        return Split(x_train, y_train, x_test, y_test, g_train, g_test)
    # External validation: all of --data trains (the validation share is held out of it).
    x_train, y_train, g_train = (np.concatenate(parts) for parts in zip(train, test, strict=True))
    x_test, y_test, _, g_test = load_folder(
        config.test_data,
        image_size=image_size,
        flatten=False,
        return_groups=True,
        dtype="uint8",
        verbose=shown,
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
    """The network ``name``, compiled, for images shaped like ``x_train``'s (uint8 images).

    The MLP is the course's architecture (30,000 → 300 → 100 → 50 → 1 at 100×100) with better
    defaults than the course's code: inputs standardized per channel inside the model (the mean
    and variance of the training images, so the saved model takes raw [0, 1] pixels), Adam at
    1e-4 instead of 1e-3 and an L2 penalty of 1e-3 on the hidden kernels. On the 2,800 NIH cells
    of the tests (cell split) the course's code collapsed to one class on 2 of 3 seeds at Adam's
    1e-3; the smaller learning rate and the standardization brought it to about 69-70 % and the
    L2 penalty to about 74 %. The CNN is :func:`kerasx.recipes.malaria_cnn` at its defaults.
    """
    from kerasx import recipes
    from kerasx.data import scale_images

    if name == "mlp":
        model = recipes.malaria_mlp(
            x_train.shape[1:],
            standardize=scale_images(x_train[:1]),  # its statistics are set just below
            seed=config.seed,
            jit_compile=config.xla,
            **_MLP_SETTINGS,
        )
        _set_standardization(model.get_layer("standardize"), x_train)
        return model
    return recipes.malaria_cnn(x_train.shape[1:], seed=config.seed, jit_compile=config.xla)


def _set_standardization(layer, images):
    """Gives the ``Normalization`` layer the exact per-channel mean and variance of ``images``.

    ``Normalization.adapt`` on a float32 array takes NumPy's float32 mean and variance, whose
    running sums lose digits with many pixels: on the 2,249 training cells of the shared
    2,800 (patient split) its means were off by up to 10 %, and past 2**24 summed pixel values
    (about 16,000 cells at 100x100) a float32 sum stops growing. Here they come exact from each
    channel's histogram of the 8-bit values (integer counts, then float64), without a float copy
    of the images, and are set as ``adapt`` sets them.
    """
    from kerasx.recipes._models import set_moments

    channels = images.shape[-1]
    counts = np.zeros((channels, 256), np.int64)
    for start in range(0, len(images), 1024):
        chunk = images[start : start + 1024]
        for c in range(channels):
            counts[c] += np.bincount(chunk[..., c].ravel(), minlength=256)
    # The pixels the model sees: float32(k / 255), as float64 (scale_images' values).
    values = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float64)
    n = counts.sum(axis=1)
    mean = counts @ values / n
    variance = (counts * (values[None, :] - mean[:, None]) ** 2).sum(axis=1) / n
    set_moments(layer, mean, variance)


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

    The MLP trains at its optimizer's constant learning rate for at most
    ``config.epochs_for("mlp")`` epochs. The CNN trains on a one-cycle schedule
    (:class:`kerasx.callbacks.OneCycle`, peak ``CNN_MAX_LR``, Adam's ``beta_1`` cycled between
    0.95 and 0.85 on the TensorFlow backend) that spans ``config.epochs_for("cnn")`` epochs. Both keep the weights of the
    epoch with the best ``val_loss`` (``ResumableEarlyStopping``, which also ends a run that
    finds no better one for ``config.patience_for(name)`` epochs).

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
        OneCycle,
        ResumableEarlyStopping,
    )

    patience = config.patience_for(name)
    stopping = ResumableEarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    backup = BackupAndResume(os.path.join(out, BACKUP_DIR, name), stopping=stopping)
    epochs = config.epochs_for(name)
    first_epoch = _agreed_first_epoch(name, backup, epochs, out)
    if rows is None:
        first = validation_rows(len(x), config.validation_split)
        rows = Rows(np.arange(first), np.arange(first, len(x)), by_patient=False)
    batches, steps = _training_batches(x, y, config, first_epoch, epochs, rows.fit)
    frame = HistoryFrame(path=os.path.join(out, f"history_{name}.csv"))
    # The backup comes last: it saves after the other callbacks' epoch ends (the history row is
    # written before the epoch is committed) and after EarlyStopping restored the best weights.
    callbacks = [stopping, frame, LearningCurves(os.path.join(out, f"curves_{name}.png")), backup]
    callbacks.insert(0, epoch_eta(name, stopping))
    if name == "cnn":
        import keras

        # First, so the rate of every batch is set before the others see it (resumed runs
        # continue the cycle at the optimizer's step count, which the backup restores). Adam's
        # beta_1 is cycled on TensorFlow only (OneCycle cannot elsewhere, and would warn).
        tensorflow = keras.backend.backend() == "tensorflow"
        callbacks.insert(0, OneCycle(max_lr=CNN_MAX_LR, cycle_momentum=tensorflow))
    model.fit(
        distribution.process_share(batches),  # this process's rows of each global batch
        steps_per_epoch=steps,
        validation_data=forward_batches(x[rows.validation], y[rows.validation]),
        epochs=epochs,
        initial_epoch=first_epoch,
        shuffle=False,  # epoch_batches orders each epoch from (seed, epoch)
        callbacks=callbacks,
        verbose=2,
    )
    facts = {
        "train_time_s": backup.train_time,
        "epochs_run": len(frame.frame),
        # 0-based as history.csv's epoch column; Keras's log and curves_*.png count from 1.
        "best_epoch": stopping.state()["best_epoch"],
        "best_epoch_1based": stopping.state()["best_epoch"] + 1,
        "patience": patience,
        "epochs": epochs,
        "learning_rate": _schedule_words(name, model),
        "image_size": int(x.shape[1]),
        "parameters": int(model.count_params()),
        "validation": "held-out patients" if rows.by_patient else "last rows of the training side",
        "n_validation": len(rows.validation),
    }
    history = frame.frame
    history.insert(0, "model", name)
    return history, facts


def _schedule_words(name, model):
    """How the learning rate moves, in words (metrics.json's ``learning_rate``)."""
    if name == "cnn":
        return f"one-cycle, peak {CNN_MAX_LR:g} (Adam)"
    rate = float(np.asarray(model.optimizer.learning_rate))
    return f"constant {rate:g} (Adam)"


def epoch_eta(name, stopping=None):
    """A Keras callback that prints, after each epoch, its time and the run's ETA.

    The line ``[kerasx malaria] cnn epoch 3/100: 52 s/epoch, ETA at most 1 h 24 min (...)``
    comes after Keras's own epoch line: it is printed when the next epoch begins, or when
    training ends. The seconds per epoch are the mean of this ``fit``'s epochs after its first
    (the first also traces and compiles), or the first alone. The ETA counts every remaining
    epoch: early stopping can only end the run sooner, so it is an upper bound and the line
    says so; with ``stopping`` (the run's ``EarlyStopping``), the line also gives the soonest
    the run can end, when the monitored value does not improve for the rest of its patience.

    Args:
        name: the model's name, at the start of each line.
        stopping: the run's ``EarlyStopping`` callback, or ``None``.
    """
    import keras

    class EpochETA(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds, self.ended, self.start = [], None, None

        def on_epoch_begin(self, epoch, logs=None):
            self._flush()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            self.ended = epoch

        def on_train_end(self, logs=None):
            self._flush()

        def _flush(self):  # once every callback has seen the epoch's end (early stopping too)
            if self.ended is not None:
                epochs = self.params["epochs"]
                most, fewest = _epochs_left(stopping, epochs - self.ended - 1)
                monitor = getattr(stopping, "monitor", None)
                progress(_eta_line(name, self.ended, epochs, self.seconds, most, fewest, monitor))
                self.ended = None

    return EpochETA()


def _epochs_left(stopping, remaining):
    """``(most, fewest)`` epochs the run may still train: ``remaining``, unless ``stopping``
    ended it (0) or would end it sooner without a better value (``patience - wait``; ``None``
    when that is not sooner)."""
    if stopping is None or getattr(stopping, "model", None) is None:
        return remaining, None
    if stopping.model.stop_training:
        return 0, 0
    fewest = stopping.patience - stopping.wait
    return remaining, fewest if 0 <= fewest < remaining else None


def _eta_line(name, epoch, epochs, seconds, most, fewest=None, monitor=None):
    """The line :func:`epoch_eta` prints after epoch ``epoch`` (0-based) of ``epochs``, with
    ``most`` and ``fewest`` epochs left (:func:`_epochs_left`).

    >>> _eta_line("cnn", 2, 100, [70.0, 50.0, 54.0], 97)
    'cnn epoch 3/100: 52 s/epoch, ETA at most 1 h 24 min (early stopping may end it sooner)'
    >>> _eta_line("cnn", 9, 100, [70.0, 50.0, 54.0], 90, 3, "val_loss")
    'cnn epoch 10/100: 52 s/epoch, ETA at most 1 h 18 min, or 2 min 36 s if val_loss does not improve again'
    >>> _eta_line("cnn", 11, 100, [52.0], 0, 0, "val_loss")
    'cnn epoch 12/100: 52 s/epoch, training ended'
    """
    from kerasx.data.loaders import _duration

    per_epoch = sum(seconds[1:]) / (len(seconds) - 1) if len(seconds) > 1 else seconds[0]
    line = f"{name} epoch {epoch + 1}/{epochs}: {_duration(per_epoch)}/epoch"
    if most <= 0:
        return f"{line}, training ended"
    line += f", ETA at most {_duration(most * per_epoch)}"
    if fewest is None:
        return f"{line} (early stopping may end it sooner)"
    return f"{line}, or {_duration(fewest * per_epoch)} if {monitor} does not improve again"


def _scaled(x):
    """A ``tf.data`` batch of uint8 images as float32 in [0, 1]; other dtypes pass unchanged.

    ``cast`` then ``/ 255`` in ``tf.data`` gives the bits of :func:`kerasx.data.scale_images`
    (one IEEE division each, checked on all 256 values); XLA would not (it multiplies by the
    reciprocal, 1 ulp off for some values), which is why it happens here and not in the model.
    """
    import tensorflow as tf

    return tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else x


def _training_batches(x, y, config, first_epoch, epochs, rows):
    """``(dataset, steps)``: :func:`kerasx.callbacks.epoch_batches`' batches of ``x[rows]``,
    each read from ``x`` and scaled on its way in.

    ``epoch_batches`` orders the row numbers (crash-safe: epoch ``e``'s order depends on
    ``(seed, e)`` only); the images are read by number (:func:`_rows_of`).
    """
    from kerasx.callbacks import epoch_batches

    numbers, steps = epoch_batches(
        np.arange(len(x)), y, config.batch_size, config.seed, first_epoch, epochs,
        rows=rows,
    )  # fmt: skip
    return _read_rows(numbers, x), steps


def _rows_of(x, numbers):
    """Rows ``numbers`` (a batch of a ``tf.data`` pipeline) of the NumPy array ``x``, scaled.

    Read in place (``kerasx.callbacks.backup.gather_rows``): ``x`` stays the one array.
    """
    from kerasx.callbacks.backup import gather_rows

    return _scaled(gather_rows(x, numbers))


def _read_rows(numbers, x):
    """``(row numbers, y)`` batches as ``(scaled rows of x, y)``, in order, prefetched."""
    import tensorflow as tf

    batches = numbers.map(
        lambda rows, y: (_rows_of(x, rows), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def forward_batches(x, y=None):
    """``x`` (and ``y``) in order, in batches of 256, images scaled per batch (``tf.data``).

    For the passes that only run a model forward (validation, prediction): no copy of the
    whole array is made, neither float nor tensor.
    """
    import tensorflow as tf

    numbers = tf.data.Dataset.range(len(x)).batch(_FORWARD_BATCH)
    if y is None:
        batches = numbers.map(lambda rows: _rows_of(x, rows), num_parallel_calls=tf.data.AUTOTUNE)
        return batches.prefetch(tf.data.AUTOTUNE)
    labels = tf.data.Dataset.from_tensor_slices(y).batch(_FORWARD_BATCH)
    return _read_rows(tf.data.Dataset.zip(numbers, labels), x)


def predict_scores(model, x):
    """The network's probabilities of class 1 for the images ``x`` (uint8, scaled per batch)."""
    return model.predict(forward_batches(x), verbose=0).ravel()


def _predict(model, x):
    return predict_scores(model, x)


# Rows per chunk of the baseline's passes over the pixels. A chunk's float32 copy (64 x 30,000
# pixels at 100x100: 7.7 MB) stays in the CPU's cache, where a matrix-vector product took
# 1.7 us per row against 5-7 us per row from the whole matrix in memory (AMD EPYC, one BLAS
# thread): on the 16,596 training cells of the NIH set an L-BFGS iteration took 0.14 s, and
# 0.23 s with scikit-learn on the whole float32 matrix (alternating runs, measured).
_BASELINE_CHUNK = 64
# Seconds between two progress lines of the baseline's fit (none for a fit shorter than this).
_BASELINE_REPORT_S = 60.0


def fit_baseline(x, y, *, verbose=False):
    """The logistic-regression baseline fitted on the images ``x``; returns it and the seconds.

    The model is :func:`kerasx.recipes.logistic_baseline`'s: scikit-learn's
    ``LogisticRegression(C=1.0)`` on the flattened pixels scaled to [0, 1] (its pipeline is
    returned, fitted), and it is fitted as scikit-learn's ``lbfgs`` solver fits it: the same
    objective, the mean log-loss plus ``||w||**2 / (2 C n)`` (intercept not penalized), minimized
    by SciPy's L-BFGS-B from zero with scikit-learn's options (``gtol=tol``, ``maxls=50``,
    ``ftol=64 * eps``, ``maxiter=max_iter``), with float32 products as scikit-learn computes
    them on float32 images. Only the pixels are held differently: scikit-learn needs a float
    matrix of every pixel (16,596 cells at 100x100: 2.0 GB in float32, 4.0 GB in float64,
    besides the images), while here each pass casts 64 rows of the 8-bit images at a time
    (``_LogisticObjective``). On that set the whole process peaked at 1.44 GB against
    3.33 GB with scikit-learn, at 0.14 s per iteration against 0.23 s (measured). On a
    converged, well-conditioned fit the coefficients equal scikit-learn's to 1e-5 (tested);
    at ``C = 1`` float32 products move the optimum by about 1e-4 here as in scikit-learn.

    Args:
        x: the training images (uint8, any shape ``(n, ...)``; float images are used as given).
        y: their 0/1 labels (both present).
        verbose: print the iteration, its seconds and an ETA every minute of a long fit.

    Returns:
        ``(pipeline, seconds)``. Like scikit-learn, a ``ConvergenceWarning`` when L-BFGS stops
        before converging (e.g. at ``max_iter``).
    """
    from scipy import optimize
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    from kerasx.recipes import logistic_baseline

    baseline = logistic_baseline()
    estimator = baseline[-1]
    rows = np.asarray(x).reshape(len(x), -1)
    target = np.asarray(y).ravel().astype(np.float64)
    if set(np.unique(target).tolist()) != {0.0, 1.0}:
        raise InvalidArgument(f"The baseline needs labels 0 and 1, both; got {np.unique(y)}.")
    objective = _LogisticObjective(rows, target, 1.0 / (estimator.C * len(rows)))
    report = _IterationReport(estimator.max_iter, verbose)
    start = time.perf_counter()
    # One BLAS thread: on a busy 2-core machine OpenBLAS's second thread spins, and lbfgs on
    # 560 images of 32x32 took 13 s with two threads against 0.3 s with one (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        result = optimize.minimize(
            objective,
            np.zeros(rows.shape[1] + 1),
            method="L-BFGS-B",
            jac=True,
            callback=report,
            options={
                "maxiter": estimator.max_iter,
                "maxls": 50,
                "gtol": estimator.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
    seconds = time.perf_counter() - start
    _warn_unless_converged(result)
    baseline[0].fit(rows[:1])  # the stateless flattening step
    estimator.classes_ = np.array([0, 1])
    estimator.coef_, estimator.intercept_ = result.x[None, :-1], result.x[-1:]
    estimator.n_features_in_, estimator.n_iter_ = rows.shape[1], np.array([result.nit])
    return baseline, seconds


class _LogisticObjective:
    """scikit-learn's lbfgs objective and its gradient, summed over chunks of rows.

    ``mean(log(1 + exp(z)) - y z) + l2 / 2 * ||w||**2`` with ``z = X w + b``: the loss
    ``LinearModelLoss(HalfBinomialLoss())`` gives ``LogisticRegression`` with
    ``l2 = 1 / (C n)``, and its gradient ``X.T (p - y) / n + l2 w`` (``mean(p - y)`` for b).
    8-bit rows are the pixels ``k / 255``: ``X w = k (w / 255)`` and ``X.T r = k.T r / 255``,
    so a chunk is only cast to float32 (a division costs 3x the cast and the two products
    together). ``X w`` and ``X.T (p - y)`` are float32 products, as scikit-learn computed them
    on the float32 images the job used to load (float rows are used as given); the intercept,
    the losses and the chunks' sums are float64.
    """

    def __init__(self, rows, target, l2):
        self.rows, self.target, self.l2 = rows, target, l2
        self.scale = 255.0 if rows.dtype == np.uint8 else 1.0
        dtype = np.float32 if rows.dtype == np.uint8 else rows.dtype
        self.buffer = np.empty((min(_BASELINE_CHUNK, len(rows)), rows.shape[1]), dtype)

    def __call__(self, coef):
        from scipy.special import expit

        w, b = coef[:-1], coef[-1]
        weights = (w / self.scale).astype(self.buffer.dtype)
        loss, gradient = 0.0, np.zeros_like(coef)
        for start in range(0, len(self.rows), _BASELINE_CHUNK):
            pixels = self.buffer[: len(self.rows[start : start + _BASELINE_CHUNK])]
            np.copyto(pixels, self.rows[start : start + _BASELINE_CHUNK], casting="unsafe")
            z = (pixels @ weights).astype(np.float64) + b  # the intercept's sum in float64
            t = self.target[start : start + _BASELINE_CHUNK]
            loss += float(np.sum(np.logaddexp(0.0, z) - t * z))
            residual = expit(z) - t
            gradient[:-1] += pixels.T @ residual.astype(pixels.dtype)
            gradient[-1] += float(np.sum(residual))
        n = len(self.rows)
        gradient[:-1] /= self.scale
        gradient /= n
        gradient[:-1] += self.l2 * w
        return loss / n + 0.5 * self.l2 * float(w @ w), gradient


class _IterationReport:
    """The L-BFGS callback: counts iterations and prints one line a minute when ``verbose``."""

    def __init__(self, max_iter, verbose):
        self.max_iter, self.verbose = max_iter, verbose
        self.iterations, self.start = 0, time.perf_counter()
        self.shown = self.start

    def __call__(self, *args):
        from kerasx.data.loaders import _duration

        self.iterations += 1
        now = time.perf_counter()
        if now - self.shown < _BASELINE_REPORT_S:
            return
        self.shown = now
        per = (now - self.start) / self.iterations
        eta = _duration((self.max_iter - self.iterations) * per)
        progress(
            f"baseline iteration {self.iterations}/{self.max_iter}: {per:.2f} s/iteration, "
            f"ETA at most {eta} (L-BFGS may converge sooner)",
            self.verbose,
        )


def _warn_unless_converged(result):
    if result.status != 0:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"The logistic baseline's L-BFGS did not converge after {result.nit} iterations "
            f"({result.message}), as scikit-learn's lbfgs would warn: its coefficients are "
            "those of the last iteration.",
            ConvergenceWarning,
            stacklevel=3,
        )


def baseline_scores(baseline, x):
    """The baseline's probabilities of class 1 for the images ``x`` (scaled in chunks).

    Chunks of 256 rows: scikit-learn multiplies a float32 chunk by its float64 coefficients
    through a float64 copy (at 1,024 rows of 100x100 images the two took 370 MB).
    """
    from kerasx.data import scale_images

    scores = []
    for start in range(0, len(x), _FORWARD_BATCH):
        chunk = x[start : start + _FORWARD_BATCH]
        chunk = scale_images(chunk) if chunk.dtype == np.uint8 else chunk
        scores.append(baseline.predict_proba(chunk)[:, 1])
    return np.concatenate(scores) if scores else np.empty(0)


def _train_network(name, split, rows, config, out, verbose):
    from kerasx import distribution
    from kerasx.malaria.report import MODEL_TITLES
    from kerasx.malaria.scores import calibrate_scores, scale_by_temperature, score_predictions

    size = split.image_size
    progress(f"training the {MODEL_TITLES[name]} at {size}x{size} ...", verbose)
    model = build_model(name, split.x_train, config)
    history, facts = fit_network(name, model, split.x_train, split.y_train, config, out, rows)
    model = distribution.local_copy(model)  # itself, unless trained across processes
    with distribution.local_scope():
        scores = _predict(model, split.x_test)
        validation = rows.validation
        validation_scores = _predict(model, split.x_train[validation])
        calibrated, calibration = calibrate_scores(
            split.y_train[validation], validation_scores, split.y_test, scores
        )
        # The same temperature, on the validation rows (conformal sets calibrate there).
        validation_calibrated = scale_by_temperature(validation_scores, calibration["temperature"])
    entry = {**score_predictions(split.y_test, scores), **facts, "calibration": calibration}
    return ModelResult(
        name, model, scores, calibrated, entry, history, validation_scores, validation_calibrated
    )


def _train_baseline(split, verbose):
    from kerasx.malaria.scores import calibrate_scores, score_predictions

    progress(
        "fitting the logistic-regression baseline (L-BFGS, up to 1000 iterations, on the 8-bit "
        "pixels in chunks) ...",
        verbose,
    )
    baseline, seconds = fit_baseline(split.x_train, split.y_train, verbose=verbose)
    scores = baseline_scores(baseline, split.x_test)
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
