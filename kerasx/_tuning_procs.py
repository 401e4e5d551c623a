"""Running a ``tune`` search in a series of short processes (``trials_per_process``).

TensorFlow 2.21 / Keras 3.15 keep native memory of every traced ``fit`` (keras-team/keras#17458);
only the end of a process returns it. ``run_in_processes`` therefore runs the search as a chain
of child processes, each resuming the search in ``out`` and adding at most ``trials_per_process``
trials, so memory stays flat however many trials there are.

Private module; used by :func:`kerasx.tuning.tune`. ``python -m kerasx._tuning_procs FOLDER`` is
the child's entry point.
"""

import os
import pickle
import subprocess
import sys

import numpy as np

__all__ = ["count_trials", "run_in_processes"]

_FOLDER = "kerasx_process_data"


def count_trials(out):
    """Number of finished trials recorded in ``out/trials.csv`` (0 when there is none)."""
    path = os.path.join(out, "trials.csv")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as file:
        return max(sum(1 for line in file if line.strip()) - 1, 0)


def run_in_processes(X, y, X_test, y_test, settings, trials_per_process):
    """Runs ``tune(**settings)`` as a chain of children, each adding ``trials_per_process`` trials.

    Returns:
        The last child's results, read back from ``out`` (``tune``'s result dict).
    """
    from kerasx import tuning

    out = settings["out"]
    folder = os.path.join(out, _FOLDER)
    os.makedirs(folder, exist_ok=True)
    arrays = {"X": X, "y": y}
    if X_test is not None:
        arrays.update(X_test=X_test, y_test=y_test)
    np.savez(os.path.join(folder, "data.npz"), **arrays)
    total, overwrite = settings["max_trials"], settings["overwrite"]
    while True:
        done = 0 if overwrite else count_trials(out)
        limit = done + trials_per_process
        limit = limit if total is None else min(limit, total)
        with open(os.path.join(folder, "settings.pkl"), "wb") as file:
            pickle.dump({**settings, "max_trials": limit, "overwrite": overwrite}, file)
        subprocess.run([sys.executable, "-m", "kerasx._tuning_procs", folder], check=True)
        overwrite = False
        finished = count_trials(out)
        if finished < limit or (total is not None and finished >= total):
            break
    return tuning._read_results(out)


def _child(folder):
    with open(os.path.join(folder, "settings.pkl"), "rb") as file:
        settings = pickle.load(file)
    data = np.load(os.path.join(folder, "data.npz"))
    from kerasx import tuning

    tuning.tune(
        data["X"],
        data["y"],
        X_test=data["X_test"] if "X_test" in data else None,
        y_test=data["y_test"] if "y_test" in data else None,
        **settings,
    )


if __name__ == "__main__":
    _child(sys.argv[1])
