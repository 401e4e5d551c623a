"""Crash-safe training for any ``fit``: a whole-file backup that running the same code resumes.

Running the same training again after a crash (even SIGKILL mid-save) ends on the weights of an
uninterrupted run. Keras's ``BackupAndRestore`` falls short in three ways, each fixed here:

- it overwrites ``latest.weights.h5`` in place (a kill during the save leaves a file the rerun
  cannot read), and its weights and epoch are two files written one after the other;
  :class:`BackupAndResume` writes each file whole under a new name and then commits the save by
  replacing one small ``state.json`` that names them;
- ``EarlyStopping``'s best value, wait count and best weights are not backed up;
  :class:`ResumableEarlyStopping` hands them to :class:`BackupAndResume`;
- ``fit(shuffle=True)`` draws each epoch's order from a global RNG the backup does not hold;
  :func:`epoch_batches` orders the rows of epoch ``e`` from ``(seed, e)`` alone.

How to use the three together (``kerasx malaria`` trains this way)::

    stopping = ResumableEarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    backup = BackupAndResume("backup/mlp", stopping=stopping)
    first = backup.initial_epoch(epochs)
    batches, steps = epoch_batches(x, y, batch_size, seed, first_epoch=first, epochs=epochs)
    model.fit(batches, steps_per_epoch=steps, initial_epoch=first, epochs=epochs,
              shuffle=False, validation_data=(x_val, y_val), callbacks=[stopping, backup])

The backup belongs to one training: it records no settings and no data, so the caller must
make sure that the same folder is only resumed by the same training (``kerasx malaria``
records its settings and a fingerprint of its data in ``run.json`` and refuses to mix runs).

>>> import numpy as np
>>> x, y = np.arange(6.0)[:, None], np.arange(6.0)
>>> batches, steps = epoch_batches(x, y, batch_size=4, seed=0, first_epoch=1, epochs=3)
>>> [len(b) for b, _ in batches.as_numpy_iterator()], steps
([4, 2, 4, 2], 2)
>>> epoch_1 = np.concatenate([b for b, _ in batches.take(2).as_numpy_iterator()]).ravel()
>>> bool((epoch_1 == epoch_order(0, 1, 6)).all()), sorted(epoch_1.tolist()) == list(range(6))
(True, True)
"""

import json
import math
import os
import time

import keras
import numpy as np

from kerasx import _compat, _io
from kerasx._validation import check_int, check_non_negative, invalid_value

__all__ = [
    "WRITE_RATE",
    "BackupAndResume",
    "ResumableEarlyStopping",
    "epoch_batches",
    "epoch_order",
    "read_backup_state",
]

_STATE = "state.json"


def epoch_order(seed, epoch, n):
    """The row order of epoch ``epoch``: ``numpy.random.default_rng((seed, epoch)).permutation(n)``.

    It depends on ``(seed, epoch)`` only, so a run resumed at epoch ``e`` sees the batches an
    uninterrupted run sees.

    >>> epoch_order(0, 1, 4).tolist() == np.random.default_rng((0, 1)).permutation(4).tolist()
    True
    """
    return np.random.default_rng((seed, epoch)).permutation(n)


def epoch_batches(x, y, batch_size, seed, first_epoch, epochs, *, rows=None):
    """``(dataset, steps)``: the batches of epochs ``first_epoch .. epochs - 1`` as ``tf.data``.

    Epoch ``e`` serves the rows of ``x`` and ``y`` in :func:`epoch_order` ``(seed, e)``, cut
    into ``steps`` batches (the last one smaller when ``batch_size`` does not divide the rows).
    Pass ``steps_per_epoch=steps``, ``initial_epoch=first_epoch`` and ``shuffle=False`` to
    ``fit``: with ``steps_per_epoch`` Keras keeps one iterator over the epochs, so epoch ``e``
    of ``fit`` meets exactly the batches of order ``e``.

    Args:
        x: the training inputs (NumPy array or anything ``tf.convert_to_tensor`` takes).
        y: the targets, one per row of ``x``.
        batch_size: rows per batch (>= 1).
        seed: the seed of every epoch's order (>= 0).
        first_epoch: the first epoch served (``BackupAndResume.initial_epoch``).
        epochs: the epoch after the last one served (``fit``'s ``epochs``).
        rows: the row indices of ``x`` to serve (e.g. all but the validation rows), or
            ``None`` for every row; epoch ``e`` serves ``rows[epoch_order(seed, e, len(rows))]``,
            gathered from ``x`` without copying the training rows first.

    Returns:
        ``(dataset, steps)``: a ``tf.data.Dataset`` of ``(x, y)`` batches and the steps per epoch.

    Raises:
        InvalidArgument: ``x`` and ``y`` of different lengths, no rows, or a bad number.

    The batches are gathered inside ``tf.data`` (one ``tf.gather`` per batch, in parallel with
    training, then prefetched), as Keras's own ``fit(x, y, shuffle=True)`` does, instead of a
    Python ``PyDataset`` that the training thread waits on for every batch: measured on the
    malaria MLP by ``benchmarks/bench_command.py``. Only the orders are drawn in Python, once
    per epoch. A NumPy ``x`` is read in place (``tf.numpy_function``), never copied; other
    inputs are converted to a tensor once, as ``fit(x, y)`` converts them.
    """
    import tensorflow as tf

    if len(x) == 0 or len(y) != len(x):
        expected = f"one target per row of x ({len(x)} rows, at least 1)"
        raise invalid_value("y", expected, len(y), describe=lambda m: f"{m} targets")
    if rows is not None:
        rows = np.asarray(rows)
        if rows.ndim != 1 or rows.size == 0 or rows.min() < 0 or rows.max() >= len(x):
            expected = f"a non-empty 1-D array of row indices in [0, {len(x)})"
            raise invalid_value("rows", expected, rows, describe=lambda r: f"shape {r.shape}")
    n = len(x) if rows is None else len(rows)
    check_int("batch_size", batch_size, minimum=1)
    check_int("seed", seed, minimum=0)
    check_int("epochs", epochs, minimum=1)
    check_int("first_epoch", first_epoch, minimum=0)
    steps = math.ceil(n / batch_size)
    first_epoch = min(first_epoch, epochs - 1)  # a finished run: fit runs no epoch anyway

    def orders_of_epochs():
        for epoch in range(first_epoch, epochs):
            order = epoch_order(seed, epoch, n)
            yield order if rows is None else rows[order]

    orders = tf.data.Dataset.from_generator(
        orders_of_epochs, output_signature=tf.TensorSpec((n,), tf.int64)
    )
    y = tf.convert_to_tensor(y)
    if isinstance(x, np.ndarray):

        def rows_of_x(rows):
            return gather_rows(x, rows)

    else:
        x = tf.convert_to_tensor(x)

        def rows_of_x(rows):
            return tf.gather(x, rows)

    batches = orders.flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    )
    batches = batches.map(
        lambda rows: (rows_of_x(rows), tf.gather(y, rows)), num_parallel_calls=tf.data.AUTOTUNE
    )
    return batches.prefetch(tf.data.AUTOTUNE), steps


def gather_rows(x, rows):
    """Rows ``rows`` (an int tensor inside a ``tf.data`` pipeline) of the NumPy array ``x``.

    Read with NumPy (``tf.numpy_function``), so ``x`` stays the one array: a pipeline that
    gathers from ``tf.convert_to_tensor(x)`` holds two more copies of it (the tensor and the
    one the pipeline's function captures): +970 MB for the 16,596 training cells of the NIH
    set at 100x100 in uint8, measured, and not given back after ``fit``.
    """
    import tensorflow as tf

    batch = tf.numpy_function(lambda i: x[i], [rows], tf.as_dtype(x.dtype), stateful=False)
    batch.set_shape((None, *x.shape[1:]))
    return batch


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` whose state (best, wait, best epoch, best weights) can be carried over.

    Takes ``EarlyStopping``'s arguments. :meth:`state` returns the counters; :meth:`resume_from`
    sets them for the next ``on_train_begin`` (which would otherwise reset them), so patience
    and ``restore_best_weights`` count the epochs before a crash too. :class:`BackupAndResume`
    does both; the counters are Keras's own (read through ``kerasx._compat``, pinned by the
    tests), so the stopping decisions are exactly ``EarlyStopping``'s.

    >>> stopping = ResumableEarlyStopping(monitor="val_loss", patience=3)
    >>> stopping.resume_from({"best": 0.5, "wait": 2, "best_epoch": 4}, best_weights=None)
    >>> stopping.on_train_begin()
    >>> stopping.state()
    {'best': 0.5, 'wait': 2, 'best_epoch': 4}
    """

    _pending = None

    def state(self):
        """The counters as JSON-ready values: ``best``, ``wait``, ``best_epoch``."""
        return _compat.early_stopping_state(self)

    @property
    def best_weights_now(self):
        """The best weights kept so far (``restore_best_weights``), or ``None``."""
        return _compat.early_stopping_best_weights(self)

    def resume_from(self, state, best_weights):
        """Carries ``state`` (as :meth:`state` returns) and the best weights into the next fit."""
        self._pending = (dict(state), best_weights)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._pending is not None:
            state, best_weights = self._pending
            _compat.set_early_stopping_state(self, state, best_weights)
            self._pending = None


def read_backup_state(folder):
    """The committed ``state.json`` of a backup ``folder``, or ``None`` when there is none.

    >>> read_backup_state("no/such/folder") is None
    True
    """
    path = os.path.join(folder, _STATE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _random_states(model):
    """The model's variables that ``save_weights`` leaves out: the states of the layers' seed
    generators (augmentation, dropout), measured on Keras 3.15. Without them a resumed epoch
    would draw other augmentations than an uninterrupted one."""
    saved = {id(variable) for variable in model.weights}
    return [variable for variable in model.variables if id(variable) not in saved]


#: Bytes a save is assumed to write per second until one has been timed in this process. Saves
#: of the MLP's 108 MB (weights and Adam's slots at 100x100) took 0.3-0.5 s on both kinds of
#: machine seen here when idle (216-360 MB/s) and ~1.5 s on a 2-core machine at load 10:
#: the low figure makes the first save come later, rarely sooner, than the budget allows.
WRITE_RATE = 100e6


def _state_bytes(model):
    """Bytes of what a save writes: the model's weights and the optimizer's variables."""
    variables = list(model.weights)
    if model.optimizer is not None and model.optimizer.built:
        variables += list(model.optimizer.variables)
    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)


class BackupAndResume(keras.callbacks.Callback):
    """Backs up the training state whole and restores it at ``on_train_begin``.

    A save writes ``epoch-<k>.weights.h5`` (weights and optimizer state) and, when the best
    epoch changed, ``best-<k>.npz`` (``EarlyStopping``'s best weights), each whole, then
    replaces ``state.json`` (the epoch, the stopping counters, the training time so far and the
    names of those files, and the seed generators' states, which ``save_weights`` leaves out):
    a kill at any moment leaves the previous state or the new one. Files the new state does not
    name are deleted after it is committed.

    **When to save.** A save costs a time that grows with the state (0.3-0.5 s for the MLP's
    108 MB at 100x100). At the end of an epoch it is skipped while the training time since the
    last save is below ``ratio`` times the cost of a save: the last save's measured time, or,
    before the first one, the state's bytes at :data:`WRITE_RATE`. The periodic saves so take
    at most ``1 / (1 + ratio)`` of the training time (4 % for the default 24), the first one
    included: no save is forced at the first epoch.

    **What a crash loses** (SIGKILL at any moment, the machine's power included as far as the
    file system keeps renamed files): the training since the last save, which is at most
    ``ratio`` times the cost of a save plus one epoch (the epoch in which that time ran out).
    For the MLP at 100x100 and the default ratio: 24 × 1.1 s ≈ 26 s plus an epoch before the
    first save (the estimate), 24 × 0.3-0.5 s ≈ 7-12 s plus an epoch after it (measured).
    The rerun repeats those epochs and, under op determinism, ends on the weights of an
    uninterrupted run. Nothing of a finished training is lost.

    **The end of training** is always saved (``finished``), so a rerun after a crash in a later
    step skips the finished training. When ``stopping`` restores its best weights (as the
    command's does), the final weights are those best weights: the save then only names their
    ``best-<k>.npz`` (written if that epoch's are not yet on disk, without the optimizer's
    slots, a third of the bytes), and a rerun loads them; the optimizer of a model restored
    from a finished backup starts fresh (scoring and saving the model do not use it). The
    folder is left for the caller to remove.

    Args:
        folder: the backup folder, used by this training only.
        stopping: the :class:`ResumableEarlyStopping` of the same ``fit`` (placed before this
            callback), or ``None``.
        ratio: training seconds per second of saving (>= 0; 0 saves every epoch).

    Raises:
        InvalidArgument: ``stopping`` is not a :class:`ResumableEarlyStopping`, or a bad ratio.

    >>> backup = BackupAndResume("no/backup/yet")
    >>> backup.initial_epoch(epochs=10), backup.state is None
    (0, True)
    """

    def __init__(self, folder, stopping=None, ratio=24.0):
        super().__init__()
        if stopping is not None and not isinstance(stopping, ResumableEarlyStopping):
            raise invalid_value("stopping", "a ResumableEarlyStopping or None", stopping)
        self.folder, self.stopping = os.fspath(folder), stopping
        self.ratio = check_non_negative("ratio", ratio)
        self.state = read_backup_state(self.folder)
        self.train_time = 0.0 if self.state is None else self.state["train_time_s"]
        self.save_times = []  # seconds each save took (the backup-cost benchmark reads them)
        self._best_file = None if self.state is None else self.state["best_weights"]
        self._saved_best_epoch = None if self.state is None else self.state["best_epoch"]

    def initial_epoch(self, epochs):
        """The epoch ``fit`` starts at: after the last saved one (``epochs`` when finished)."""
        if self.state is None:
            return 0
        return epochs if self.state["finished"] else self.state["epoch"]

    def save_cost(self):
        """Seconds a save is expected to take: the last one's, or an estimate from the bytes."""
        if self.save_times:
            return self.save_times[-1]
        return _state_bytes(self.model) / WRITE_RATE

    def on_train_begin(self, logs=None):
        self._last = time.perf_counter()
        self._since_save = 0.0
        self._epochs_done = 0 if self.state is None else self.state["epoch"]
        if self.state is None:
            return
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        best = None
        if self._best_file is not None:
            with np.load(os.path.join(self.folder, self._best_file)) as arrays:
                best = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        if self.state["weights"] is None:  # finished on the best weights (see the docstring)
            model.set_weights(best)
        else:
            model.load_weights(os.path.join(self.folder, self.state["weights"]))
        for variable, value in zip(_random_states(model), self.state["random_states"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        if self.stopping is not None:
            self.stopping.resume_from(self.state, best)
            # EarlyStopping runs its on_train_begin before this one: apply the state now.
            self.stopping.on_train_begin()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self._epochs_done = epoch + 1
        self._since_save += now - self._last
        self.train_time += now - self._last
        if self._since_save >= self.ratio * self.save_cost():
            self._save(epoch + 1, finished=False)
        self._last = time.perf_counter()

    def on_train_end(self, logs=None):
        self.train_time += time.perf_counter() - self._last
        self._save(self._epochs_done, finished=True)

    def _on_best_weights(self, finished):
        """Whether the model now holds ``stopping``'s best weights (restored at the end)."""
        stopping = self.stopping
        return (
            finished
            and stopping is not None
            and stopping.restore_best_weights
            and stopping.best_weights_now is not None
        )

    def _save(self, epoch, finished):
        start = time.perf_counter()
        os.makedirs(self.folder, exist_ok=True)
        weights = None
        if not self._on_best_weights(finished):
            weights = f"epoch-{epoch:05d}.weights.h5"
            # Keras wants the name to end in .weights.h5, which _io.atomic_path's names do not.
            temporary = os.path.join(self.folder, f".{os.getpid()}.{weights}")
            self.model.save_weights(temporary, overwrite=True)
            os.replace(temporary, os.path.join(self.folder, weights))
        stopping = {"best": None, "wait": 0, "best_epoch": 0}
        if self.stopping is not None:
            stopping = self.stopping.state()
            best_weights = self.stopping.best_weights_now
            if best_weights is not None and (
                self._best_file is None or stopping["best_epoch"] != self._saved_best_epoch
            ):
                self._best_file = f"best-{epoch:05d}.npz"
                with _io.atomic_path(os.path.join(self.folder, self._best_file)) as temporary:
                    with open(temporary, "wb") as f:
                        np.savez(f, *best_weights)
                self._saved_best_epoch = stopping["best_epoch"]
        self.state = {
            "epoch": epoch,
            "finished": finished,
            "weights": weights,
            "best_weights": self._best_file,
            "train_time_s": self.train_time,
            "random_states": [v.numpy().tolist() for v in _random_states(self.model)],
            **stopping,
        }
        _io.write_json(os.path.join(self.folder, _STATE), self.state)
        for name in os.listdir(self.folder):
            if name not in (_STATE, weights, self._best_file):  # older saves, killed writes
                os.remove(os.path.join(self.folder, name))
        self.save_times.append(time.perf_counter() - start)
        self._since_save = 0.0
