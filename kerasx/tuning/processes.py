"""A search as a chain of short processes (``tune(..., trials_per_process=N)``).

TensorFlow 2.21 / Keras 3.15 keep native memory of every traced ``fit`` (keras-team/keras#17458);
only the end of a process returns it. :func:`search_in_processes` therefore runs the search as a
chain of child processes, each resuming the search in ``out`` and adding at most
``trials_per_process`` trials, so memory stays flat however many trials there are. Each child
receives the :class:`~kerasx.tuning.TuneConfig` itself (pickled) and the data (``.npz``, with the
patient id of every training row when the search validates on held-out patients), both in
``out/kerasx_process_data``; ``python -m kerasx.tuning.processes FOLDER`` is its entry point.
"""

import dataclasses
import os
import pickle
import subprocess
import sys

import numpy as np

from kerasx import _io
from kerasx.tuning.folder import read_results, search_in_process

__all__ = ["count_trials", "search_in_processes"]

_FOLDER = "kerasx_process_data"


def count_trials(out):
    """Number of finished trials recorded in ``out/trials.csv`` (0 when there is none)."""
    path = os.path.join(out, "trials.csv")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as file:
        return max(sum(1 for line in file if line.strip()) - 1, 0)


def search_in_processes(X, y, config, X_test=None, y_test=None, groups=None):
    """Runs the search of ``config`` as a chain of children, each adding ``trials_per_process``.

    ``groups`` (one patient id per row of ``X``, or None) travels with the data.

    Returns:
        The last child's results, read back from ``config.out`` (``tune``'s result dict).
    """
    folder = os.path.join(config.out, _FOLDER)
    os.makedirs(folder, exist_ok=True)
    arrays = {"X": X, "y": y}
    if X_test is not None:
        arrays.update(X_test=X_test, y_test=y_test)
    if groups is not None:
        arrays["groups"] = groups
    with _io.atomic_path(os.path.join(folder, "data.npz")) as temporary:
        np.savez(temporary, **arrays)
    total, overwrite = config.trial_limit, config.overwrite
    while True:
        done = 0 if overwrite else count_trials(config.out)
        limit = done + config.trials_per_process
        limit = limit if total is None else min(limit, total)
        child = dataclasses.replace(
            config, max_trials=limit, overwrite=overwrite, trials_per_process=None
        )
        _io.write_bytes(os.path.join(folder, "config.pkl"), pickle.dumps(child))
        subprocess.run([sys.executable, "-m", __name__, folder], check=True)
        overwrite = False
        finished = count_trials(config.out)
        if finished < limit or (total is not None and finished >= total):
            break
    return read_results(config.out)


def _child(folder):
    with open(os.path.join(folder, "config.pkl"), "rb") as file:
        config = pickle.load(file)
    data = np.load(os.path.join(folder, "data.npz"))
    X_test, y_test = (data["X_test"], data["y_test"]) if "X_test" in data else (None, None)
    groups = data["groups"] if "groups" in data else None
    search_in_process(data["X"], data["y"], config, X_test, y_test, groups)


if __name__ == "__main__":
    _child(sys.argv[1])
