"""Training speed of TapeModel against the built-in ``keras.Model.fit`` on the course's MLP.

The course's malaria MLP (30,000 → 300 → 100 → 50 → 1, Adam, binary cross-entropy, accuracy)
on random rows, batch 128. Both models start from the same weights and are trained in one
process, alternating (A B B A ...) so that drifts in machine load hit both alike; each is
warmed up (traced and compiled) first. Prints samples/s (median over repeats) and the ratio
TapeModel / built-in, with and without ``jit_compile``, per wall-clock second and per second of
the process's CPU time (steadier on a shared machine). Target: ratio ≥ 0.97 in both modes.

It also compares the TensorFlow graphs of the two ``train_step``s, which do not depend on
machine noise: equal operation counts mean TapeModel does no extra work per step. Target: no
operation more than the built-in step. A full run exits 1 when a target is missed
(``--quick`` only reports them).

Usage::

    python benchmarks/bench_train_step.py            # 2,000 rows, 1 epoch a run, 9 repeats
    python benchmarks/bench_train_step.py --quick    # a short check (~30 s), targets not enforced
"""

import argparse
import collections
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _course import course_mlp
from _targets import Targets, machine

from kerasx.training import TapeModel

N_FEATURES = 100 * 100 * 3


def build_mlp(model_class, seed=0):
    """The course's deep MLP, as ``model_class(inputs, outputs)``."""
    return course_mlp((N_FEATURES,), model_class=model_class, seed=seed)


def compiled_models(jit_compile):
    """A built-in keras.Model and a TapeModel with the same initial weights, compiled alike."""
    models = {"built-in": build_mlp(keras.Model), "TapeModel": build_mlp(TapeModel)}
    for model in models.values():
        model.compile(
            optimizer="adam",
            loss="binary_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit_compile,
        )
    return models


def time_fit(model, X, y, batch_size, epochs):
    """Samples per wall-clock second and per CPU second of ``model.fit`` (no shuffling)."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(X, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    samples = len(X) * epochs
    return samples / (time.perf_counter() - wall), samples / (time.process_time() - cpu)


def benchmark(X, y, *, jit_compile, batch_size, epochs, repeats):
    """Samples/s of each model over ``repeats`` alternating runs: {name: [(wall, cpu), ...]}."""
    models = compiled_models(jit_compile)
    for model in models.values():  # warm-up: tracing and (XLA) compilation, last batch too
        model.fit(X, y, batch_size=batch_size, shuffle=False, verbose=0)
    runs = {name: [] for name in models}
    names = list(models)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            runs[name].append(time_fit(models[name], X, y, batch_size, epochs))
    return runs


def train_step_ops(model, batch_size):
    """The operation types, with counts, of ``model.train_step`` traced as a tf.function."""
    model.optimizer.build(model.trainable_variables)
    spec = (tf.TensorSpec((batch_size, N_FEATURES)), tf.TensorSpec((batch_size,)))
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    return collections.Counter(op.type for op in graph.get_operations())


def compare_graphs(batch_size):
    """Prints whether the two train_step graphs hold the same operations; returns the counts."""
    ops = {name: train_step_ops(m, batch_size) for name, m in compiled_models(False).items()}
    builtin, tape = ops["built-in"], ops["TapeModel"]
    same = "the same operations" if builtin == tape else "DIFFERENT operations"
    print(
        f"train_step graphs: built-in {sum(builtin.values())} ops, TapeModel "
        f"{sum(tape.values())} ops: {same}"
    )
    if builtin != tape:
        print(f"  only built-in: {dict(builtin - tape)}; only TapeModel: {dict(tape - builtin)}")
    keras.backend.clear_session()
    return builtin, tape


def _median(runs, index):
    return statistics.median(run[index] for run in runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="512 rows, 3 runs; targets not enforced"
    )
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per model and mode")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 512, 3

    print(machine())
    rng = np.random.default_rng(0)
    X = rng.random((args.rows, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, 2, args.rows).astype("float32")
    builtin_ops, tape_ops = compare_graphs(args.batch_size)
    print(
        f"Malaria MLP 30000-300-100-50-1, Adam, {args.rows} rows, batch {args.batch_size}, "
        f"{args.epochs} epoch(s) per run, {args.repeats} alternating runs, median samples/s"
    )
    print(
        f"{'mode':<13}{'clock':<6}{'built-in':>10}{'TapeModel':>11}{'ratio':>8}   runs (built-in | Tape)"
    )
    ratios = {}
    for jit_compile in (False, True):
        runs = benchmark(
            X,
            y,
            jit_compile=jit_compile,
            batch_size=args.batch_size,
            epochs=args.epochs,
            repeats=args.repeats,
        )
        mode = "jit_compile" if jit_compile else "no jit"
        for index, clock in enumerate(("wall", "cpu")):
            builtin, tape = _median(runs["built-in"], index), _median(runs["TapeModel"], index)
            ratios[mode, clock] = tape / builtin
            detail = " ".join(f"{run[index]:.0f}" for run in runs["built-in"]) + " | "
            detail += " ".join(f"{run[index]:.0f}" for run in runs["TapeModel"])
            print(
                f"{mode:<13}{clock:<6}{builtin:>10.0f}{tape:>11.0f}{tape / builtin:>8.3f}   {detail}"
            )
        keras.backend.clear_session()
    targets = Targets(enforce=not args.quick)
    extra_ops = sum((tape_ops - builtin_ops).values())
    targets.at_most("operations TapeModel's train_step adds", extra_ops, 0, fmt="d")
    for clock in ("wall", "cpu"):
        smallest = min(ratio for (_, c), ratio in ratios.items() if c == clock)
        targets.at_least(
            f"smallest {clock}-clock ratio TapeModel / built-in", smallest, 0.97, ".3f"
        )
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
