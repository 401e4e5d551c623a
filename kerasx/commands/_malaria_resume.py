"""Crash-safe training for ``kerasx malaria``: a whole-file backup that a rerun resumes from.

A rerun of the same command after a crash (even SIGKILL mid-save) must end on the weights of an
uninterrupted run. Keras's ``BackupAndRestore`` falls short in three ways, each fixed here:

- it overwrites ``latest.weights.h5`` in place (a kill during the save leaves a file the rerun
  cannot read), and its weights and epoch are two files written one after the other;
  :class:`Backup` writes each file whole under a new name and then commits the save by
  replacing one small ``state.json`` that names them;
- ``EarlyStopping``'s best value, wait count and best weights are not backed up;
  :class:`ResumableEarlyStopping` hands them to :class:`Backup`;
- ``fit(shuffle=True)`` draws each epoch's order from a global RNG the backup does not hold;
  :class:`EpochShuffled` orders the rows of epoch ``e`` from ``(seed, e)`` alone.

Used by :mod:`kerasx.commands._malaria_train`; imports Keras at module level, so import it
inside functions.

>>> import numpy as np
>>> rows = EpochShuffled(np.arange(6.0)[:, None], np.zeros(6), batch_size=4, seed=0)
>>> len(rows), rows[1][0].shape
(2, (2, 1))
>>> order = rows.order(); rows.epoch = 1
>>> sorted(order) == list(range(6)), bool((order != rows.order()).any())
(True, True)
"""

import json
import math
import os
import time

import keras
import numpy as np

from kerasx import _io

__all__ = ["Backup", "EpochShuffled", "ResumableEarlyStopping", "read_state"]

_STATE = "state.json"


class EpochShuffled(keras.utils.PyDataset):
    """Batches of ``(x, y)`` in an order drawn from ``(seed, epoch)`` only.

    The order of epoch ``e`` is ``numpy.random.default_rng((seed, e)).permutation(n)``, so a
    run resumed at epoch ``e`` sees the batches an uninterrupted run sees. :class:`Backup` sets
    :attr:`epoch` at the start of every epoch (Keras builds each epoch's iterator after
    ``on_epoch_begin``). Pass ``shuffle=False`` to ``fit``.
    """

    def __init__(self, x, y, batch_size, seed):
        super().__init__()
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.epoch = 0
        self._cached = (None, None)

    def order(self):
        """The row order of :attr:`epoch`."""
        if self._cached[0] != self.epoch:
            rng = np.random.default_rng((self.seed, self.epoch))
            self._cached = (self.epoch, rng.permutation(len(self.x)))
        return self._cached[1]

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.order()[index * self.batch_size : (index + 1) * self.batch_size])
        return self.x[rows], self.y[rows]


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` whose state (best, wait, best epoch, best weights) can be carried over.

    :meth:`state` returns it; :meth:`resume_from` sets it for the next ``on_train_begin``
    (which would otherwise reset it), so patience and ``restore_best_weights`` count the epochs
    before a crash too.
    """

    _pending = None

    def state(self):
        """The counters as JSON-ready values (the best weights are separate)."""
        best = None if self.best is None else float(self.best)
        return {"best": best, "wait": self.wait, "best_epoch": self.best_epoch}

    def resume_from(self, state, best_weights):
        self._pending = (state, best_weights)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._pending is not None:
            state, self.best_weights = self._pending
            self.best, self.wait = state["best"], state["wait"]
            self.best_epoch = state["best_epoch"]
            self._pending = None


def read_state(folder):
    """The committed ``state.json`` of a backup ``folder``, or ``None`` when there is none."""
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


class Backup(keras.callbacks.Callback):
    """Backs up the training state whole and restores it at ``on_train_begin``.

    A save writes ``epoch-<k>.weights.h5`` (weights and optimizer state) and, when the best
    epoch changed, ``best-<k>.npz`` (``EarlyStopping``'s best weights), each whole, then
    replaces ``state.json`` (the epoch, the stopping counters, the training time so far and the
    names of those files, and the seed generators' states, which ``save_weights`` leaves out):
    a kill at any moment leaves the previous state or the new one. Files
    the new state does not name are deleted after it is committed.

    When to save: a save costs a fixed time (~0.3 s for the MLP's 108 MB at 100x100, see the
    report); it is skipped while the training time since the last save is below ``ratio``
    times what the last save took, so the saves take at most ``1 / (1 + ratio)`` of the
    training time (5 % for the default 19) and a crash loses at most that many seconds of
    work. The end of training is always saved (``finished``), so a rerun after a crash in a
    later step skips the finished training. The folder is left for the caller to remove.

    Args:
        folder: the backup folder, used by this training only.
        stopping: the :class:`ResumableEarlyStopping` of the same ``fit`` (placed before this
            callback), or ``None``.
        rows: the :class:`EpochShuffled` of the same ``fit``, or ``None``.
        ratio: training seconds per second of saving.
    """

    def __init__(self, folder, stopping=None, rows=None, ratio=19.0):
        super().__init__()
        self.folder, self.stopping, self.rows, self.ratio = folder, stopping, rows, ratio
        self.state = read_state(folder)
        self.train_time = 0.0 if self.state is None else self.state["train_time_s"]
        self.save_times = []  # seconds each save took (the backup-cost benchmark reads them)
        self._best_file = None if self.state is None else self.state["best_weights"]
        self._saved_best_epoch = None if self.state is None else self.state["best_epoch"]

    def initial_epoch(self, epochs):
        """The epoch ``fit`` starts at: after the last saved one (``epochs`` when finished)."""
        if self.state is None:
            return 0
        return epochs if self.state["finished"] else self.state["epoch"]

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
        model.load_weights(os.path.join(self.folder, self.state["weights"]))
        for variable, value in zip(_random_states(model), self.state["random_states"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        if self.stopping is not None:
            self.stopping.resume_from(self.state, best)
            # EarlyStopping runs its on_train_begin before this one: apply the state now.
            self.stopping.on_train_begin()

    def on_epoch_begin(self, epoch, logs=None):
        if self.rows is not None:
            self.rows.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self._epochs_done = epoch + 1
        self._since_save += now - self._last
        self.train_time += now - self._last
        last_cost = self.save_times[-1] if self.save_times else 0.0
        if self._since_save >= self.ratio * last_cost:
            self._save(epoch + 1, finished=False)
        self._last = time.perf_counter()

    def on_train_end(self, logs=None):
        self.train_time += time.perf_counter() - self._last
        self._save(self._epochs_done, finished=True)

    def _save(self, epoch, finished):
        start = time.perf_counter()
        os.makedirs(self.folder, exist_ok=True)
        weights = f"epoch-{epoch:05d}.weights.h5"
        # Keras wants the name to end in .weights.h5, which _io.atomic_path's names do not.
        temporary = os.path.join(self.folder, f".{os.getpid()}.{weights}")
        self.model.save_weights(temporary, overwrite=True)
        os.replace(temporary, os.path.join(self.folder, weights))
        stopping = {"best": None, "wait": 0, "best_epoch": 0}
        if self.stopping is not None:
            stopping = self.stopping.state()
            if self.stopping.best_weights is not None and (
                self._best_file is None or stopping["best_epoch"] != self._saved_best_epoch
            ):
                self._best_file = f"best-{epoch:05d}.npz"
                with _io.atomic_path(os.path.join(self.folder, self._best_file)) as temporary:
                    with open(temporary, "wb") as f:
                        np.savez(f, *self.stopping.best_weights)
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
