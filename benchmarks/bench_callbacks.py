"""Epoch time of the course's malaria MLP with and without every kerasx callback.

The model is the course's (Flatten → Dense 300 relu → 100 → 50 → 1 sigmoid, ~9M parameters,
Adam, batch 128) on random 100×100×3 inputs; Keras's own validation runs in both arms. The arms
alternate in one process (``none``, ``all``, ``all``, ``none``, ...), each a fresh ``fit`` of
``--epochs`` epochs on the same model. An epoch's time is measured from one ``on_epoch_begin``
to the next, so it includes every callback's epoch-end work; the first epoch of each fit
(tracing) is dropped. ``all`` = HistoryFrame, LearningCurves, ConfusionMatrixLogger (with its
PNG), OneCycle (with momentum), TimeLimit, NaNGuard and GradientNorm (probe batch of 32);
LRFinder is left out (it ends the fit by design). Target: ≤ 3% overhead for ``all``; a full
run exits 1 when it is missed (``--quick`` only reports it).

The ConfusionMatrixLogger runs in its cheap mode, ``from_logs="val_confusion_matrix"``: the
model is compiled (in both arms, so the ``none`` arm pays for the metric too) with a
``kerasx.metrics.ConfusionMatrix`` metric, and the logger reads the matrix Keras's own
validation pass computed instead of making a second inference pass over the validation data
(``--cm-pass`` times that second pass instead).

Usage::

    python benchmarks/bench_callbacks.py            # full: 2,000 rows, 6 rounds, 4 epochs
    python benchmarks/bench_callbacks.py --each     # also each callback alone
    python benchmarks/bench_callbacks.py --quick    # a smoke run in seconds, targets not enforced
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from _course import compiled_course_mlp
from _targets import Targets, machine

from kerasx.callbacks import (
    ConfusionMatrixLogger,
    GradientNorm,
    HistoryFrame,
    LearningCurves,
    NaNGuard,
    OneCycle,
    TimeLimit,
)
from kerasx.metrics import ConfusionMatrix

__all__ = ["main"]


class EpochClock(keras.callbacks.Callback):
    """Records the time at each ``on_epoch_begin`` and at ``on_train_end``."""

    def __init__(self):
        super().__init__()
        self.marks = []

    def on_epoch_begin(self, epoch, logs=None):
        self.marks.append(time.perf_counter())

    def on_train_end(self, logs=None):
        self.marks.append(time.perf_counter())

    def epoch_times(self):
        """Per-epoch seconds, the first epoch dropped; the last ends at on_train_end."""
        return list(np.diff(self.marks)[1:])


HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end")


def time_hooks(callback, clock, totals):
    """Wraps the hooks ``callback`` overrides to add their seconds to ``totals[name][epoch]``.

    This is the time the training loop waits for the callback (a robust figure on a busy
    machine); work it moves elsewhere (the PNG thread) is not in it but is in the epoch time.
    """
    name = type(callback).__name__
    for hook in HOOKS:
        if getattr(type(callback), hook) is getattr(keras.callbacks.Callback, hook):
            continue
        method = getattr(callback, hook)

        def timed(*args, _method=method, **kwargs):
            start = time.perf_counter()
            _method(*args, **kwargs)
            epoch = len(clock.marks) - 1
            totals.setdefault(name, {}).setdefault(epoch, 0.0)
            totals[name][epoch] += time.perf_counter() - start

        setattr(callback, hook, timed)


def malaria_mlp():
    """The course's MLP, compiled with a ConfusionMatrix metric next to its accuracy."""
    return compiled_course_mlp(metrics=["accuracy", ConfusionMatrix()])


def make_callbacks(names, validation, probe, folder, cm_pass=False):
    """Fresh instances of the named callbacks (``"all"`` for every one)."""
    cm_path = os.path.join(folder, "cm.png")
    factories = {
        "HistoryFrame": lambda: HistoryFrame(),
        "LearningCurves": lambda: LearningCurves(os.path.join(folder, "curves.png")),
        "ConfusionMatrixLogger": lambda: (
            ConfusionMatrixLogger(validation, path=cm_path)
            if cm_pass
            else ConfusionMatrixLogger(path=cm_path, from_logs="val_confusion_matrix")
        ),
        "OneCycle": lambda: OneCycle(max_lr=1e-3),
        "TimeLimit": lambda: TimeLimit(seconds=1e9),
        "NaNGuard": lambda: NaNGuard(),
        "GradientNorm": lambda: GradientNorm(probe_data=probe),
    }
    if names == "none":
        return []
    chosen = list(factories) if names == "all" else [names]
    return [factories[name]() for name in chosen]


def run(rows, val_rows, rounds, epochs, arms, batch_size=128, cm_pass=False):
    rng = np.random.default_rng(0)
    x = rng.random((rows, 100, 100, 3), dtype=np.float32)
    y = (rng.random(rows) < 0.5).astype("float32")
    xv = rng.random((val_rows, 100, 100, 3), dtype=np.float32)
    yv = (rng.random(val_rows) < 0.5).astype("float32")
    model = malaria_mlp()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # warm up
    times = {arm: [] for arm in arms}
    hook_seconds = {}  # callback -> per-epoch seconds inside its hooks, in the "all" arm
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(rounds):
            order = arms if round_ % 2 == 0 else arms[::-1]
            for arm in order:
                clock = EpochClock()
                chosen = make_callbacks(arm, (xv, yv), (x[:32], y[:32]), folder, cm_pass)
                totals = {}
                if arm == "all":
                    for callback in chosen:
                        time_hooks(callback, clock, totals)
                callbacks = [clock, *chosen]
                model.fit(
                    x,
                    y,
                    batch_size=batch_size,
                    epochs=epochs,
                    validation_data=(xv, yv),
                    verbose=0,
                    callbacks=callbacks,
                )
                times[arm].extend(clock.epoch_times())
                for name, per_epoch in totals.items():
                    steady = [per_epoch.get(epoch, 0.0) for epoch in range(1, epochs)]
                    hook_seconds.setdefault(name, []).extend(steady)
    return times, hook_seconds


def report(times, hook_seconds, steps):
    """Prints the table; returns the overhead of the ``all`` arm in percent."""
    base = float(np.median(times["none"]))
    print(f"{'callbacks':<24}{'median epoch s':>16}{'ms/step':>10}{'overhead':>10}{'n':>4}")
    for arm, values in times.items():
        median = float(np.median(values))
        overhead = 100 * (median / base - 1)
        print(
            f"{arm:<24}{median:>16.3f}{1000 * median / steps:>10.1f}"
            f"{overhead:>+9.1f}%{len(values):>4}"
        )
    print("\nTime the loop waits inside each callback's hooks (arm 'all', per epoch):")
    total = 0.0
    for name, values in hook_seconds.items():
        median = float(np.median(values))
        total += median
        print(f"  {name:<24}{1000 * median:>9.1f} ms{100 * median / base:>+8.2f}%")
    print(f"  {'sum':<24}{1000 * total:>9.1f} ms{100 * total / base:>+8.2f}%")
    return 100 * (float(np.median(times["all"])) / base - 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run in seconds; targets not enforced"
    )
    parser.add_argument("--each", action="store_true", help="also time each callback alone")
    parser.add_argument(
        "--cm-pass",
        action="store_true",
        help="ConfusionMatrixLogger makes its own pass over the validation data",
    )
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    rows, rounds, epochs, val_rows = args.rows, args.rounds, args.epochs, args.rows // 10
    if args.quick:
        rows, rounds, epochs, val_rows = 256, 1, 3, 64
    print(machine())
    arms = ["none", "all"]
    if args.each:
        arms += [
            "HistoryFrame",
            "LearningCurves",
            "ConfusionMatrixLogger",
            "OneCycle",
            "TimeLimit",
            "NaNGuard",
            "GradientNorm",
        ]
    print(
        f"malaria MLP, {rows} rows (+{val_rows} validation), batch 128, {rounds} rounds x "
        f"{epochs} epochs, backend {keras.backend.backend()}, ConfusionMatrixLogger "
        f"{'with its own pass' if args.cm_pass else 'from the logs'}"
    )
    times, hook_seconds = run(rows, val_rows, rounds, epochs, arms, cm_pass=args.cm_pass)
    overhead = report(times, hook_seconds, steps=-(-rows // 128))
    targets = Targets(enforce=not args.quick)
    targets.at_most("epoch overhead of all callbacks, %", overhead, 3.0, fmt=".1f")
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
