"""Per-step cost of the kerasx metrics on the course's malaria MLP.

The MLP (Flatten → Dense 300 relu → 100 relu → 50 relu → 1 sigmoid on 100×100×3 inputs, Adam,
binary cross-entropy, batch 128) is compiled three times with the same initial weights:

* ``accuracy``: ``metrics=["accuracy"]`` (the baseline);
* ``recipe``: plus ``Sensitivity``, ``Specificity`` and ``MatthewsCorrelation`` (what the malaria
  recipe uses);
* ``all``: plus every kerasx metric.

Each round trains every model one epoch on random rows, in turn (interleaved, so that machine
load hits all of them alike). A step's time is the gap between consecutive
``on_train_batch_end`` calls (the first step of each epoch is dropped); the median over all
rounds is reported, with the overhead against the baseline. Target: ≤ 5 % for ``recipe`` and
``all``; a full run exits 1 when it is missed (``--quick`` only reports it).

Step times on a shared machine are noisy, so the script also times the metric updates alone
(TensorFlow backend): one traced function that updates every kerasx metric on a batch of 128,
against an empty traced function.

Usage::

    python benchmarks/bench_metrics.py            # 2,000 rows, 5 rounds
    python benchmarks/bench_metrics.py --quick    # a smoke run (~20 s), targets not enforced
    python benchmarks/bench_metrics.py --jit-compile
"""

import argparse
import time

import keras
import numpy as np
from _course import IMAGE_SHAPE, course_mlp
from _targets import Targets, machine

from kerasx.metrics import (
    BalancedAccuracy,
    BrierScore,
    CohenKappa,
    ConfusionMatrix,
    ExpectedCalibrationError,
    MatthewsCorrelation,
    Sensitivity,
    Specificity,
)


def recipe_metrics():
    """The metrics the malaria recipe compiles with."""
    return ["accuracy", Sensitivity(), Specificity(), MatthewsCorrelation()]


def all_metrics():
    """Accuracy plus every kerasx metric."""
    return [
        *recipe_metrics(),
        BalancedAccuracy(),
        CohenKappa(),
        ConfusionMatrix(),
        ExpectedCalibrationError(),
        BrierScore(),
    ]


def malaria_mlp(metrics, jit_compile, seed=0):
    """The course's malaria MLP, compiled with ``metrics``."""
    model = course_mlp(IMAGE_SHAPE, seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss="binary_crossentropy",
        metrics=metrics,
        jit_compile=jit_compile,
    )
    return model


class StepTimer(keras.callbacks.Callback):
    """Records the gaps between consecutive batch ends (the first batch of an epoch excluded)."""

    def __init__(self):
        super().__init__()
        self.steps = []
        self._last = None

    def on_epoch_begin(self, epoch, logs=None):
        self._last = None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self._last is not None:
            self.steps.append(now - self._last)
        self._last = now


def update_cost(batch_size, calls=300, repeats=5):
    """Milliseconds per call of a ``tf.function`` updating every kerasx metric, minus an empty one."""
    import tensorflow as tf

    metrics = [metric for metric in all_metrics() if not isinstance(metric, str)]
    rng = np.random.default_rng(0)
    y = tf.constant(rng.integers(0, 2, batch_size).astype("float32"))
    p = tf.constant(rng.random((batch_size, 1)).astype("float32"))

    @tf.function
    def update_all(y, p):
        for metric in metrics:
            metric.update_state(y, p)

    @tf.function
    def empty(y, p):
        return tf.reduce_sum(p)

    times = {}
    for function in (empty, update_all):
        function(y, p)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                function(y, p)
            runs.append((time.perf_counter() - start) / calls)
        times[function] = min(runs)
    return 1000 * (times[update_all] - times[empty])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; targets not enforced")
    parser.add_argument("--rows", type=int, default=None, help="random training rows")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved epochs per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--jit-compile", action="store_true", help="compile(jit_compile=True)")
    args = parser.parse_args(argv)
    print(machine())
    rows = args.rows or (384 if args.quick else 2000)
    rounds = args.rounds or (2 if args.quick else 5)

    rng = np.random.default_rng(0)
    X = rng.random((rows, *IMAGE_SHAPE), dtype="float32")
    y = rng.integers(0, 2, rows).astype("float32")

    configs = {"accuracy": lambda: ["accuracy"], "recipe": recipe_metrics, "all": all_metrics}
    models = {name: malaria_mlp(make(), args.jit_compile) for name, make in configs.items()}
    timers = {name: StepTimer() for name in configs}
    for model in models.values():  # warm-up: tracing and compilation are not timed
        model.fit(
            X[: 2 * args.batch_size],
            y[: 2 * args.batch_size],
            batch_size=args.batch_size,
            epochs=1,
            verbose=0,
        )
    for _ in range(rounds):
        for name, model in models.items():
            model.fit(
                X, y, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[timers[name]]
            )

    base = np.median(timers["accuracy"].steps)
    print(
        f"malaria MLP, {rows} rows, batch {args.batch_size}, {rounds} interleaved epochs per model, "
        f"backend {keras.config.backend()}, jit_compile={args.jit_compile}"
    )
    print(f"{'metrics':<10} {'steps':>6} {'median ms/step':>15} {'overhead':>9}")
    for name, timer in timers.items():
        median = np.median(timer.steps)
        print(
            f"{name:<10} {len(timer.steps):>6} {1000 * median:>15.2f} {100 * (median / base - 1):>8.1f}%"
        )
    if keras.config.backend() == "tensorflow":
        cost = update_cost(args.batch_size)
        print(
            f"updating all {len(all_metrics()) - 1} kerasx metrics alone: {cost:.3f} ms per step "
            f"({100 * cost / (1000 * base):.2f}% of the baseline step)"
        )
    targets = Targets(enforce=not args.quick)
    for name in ("recipe", "all"):
        overhead = 100 * (np.median(timers[name].steps) / base - 1)
        targets.at_most(f"'{name}' metrics overhead per step, %", overhead, 5.0, fmt=".1f")
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
