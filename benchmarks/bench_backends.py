"""TensorFlow against JAX for the malaria recipes, and the machine's matrix-multiply roof.

Keras picks its backend once per process, so each measurement runs in a fresh subprocess with
``KERAS_BACKEND`` set (this script again, with ``--worker BACKEND``), alternating TF, JAX, JAX,
TF ... over rounds so that drifts in machine load hit both alike. A worker builds
:func:`kerasx.recipes.malaria_mlp` (100×100) and :func:`kerasx.recipes.malaria_cnn` (80×80, the
command's CNN size) at their defaults (XLA where the recipe turns it on), warms each up with one
``fit`` epoch per batch size and then times one epoch on random images: samples/s at batch 32
and 128. Each model's training cost per sample is computed from its layers (2 FLOP per
multiply-add of each Dense and Conv2D kernel, forward ×3 for forward plus backward: ≈ 0.054
GFLOP for the MLP).

The FP32 roof is the best square matmul (4096², 2048² with ``--quick``) of NumPy, JAX (jit) and
TensorFlow (eager and XLA), alternating in this process. The bf16 roof is measured only where
``lscpu`` shows ``amx_bf16``. Target: the faster backend's MLP at batch 128 reaches ≥ 60 % of the
FP32 roof (a full run exits 1 when missed; ``--quick`` only reports it).

Usage::

    python benchmarks/bench_backends.py            # 3 rounds, 4096² roof
    python benchmarks/bench_backends.py --quick    # the MLP at 32×32, 1 round, 2048² roof
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _targets import Targets, machine

BACKENDS = ("tensorflow", "jax")
BATCH_SIZES = (32, 128)


def training_flop_per_sample(model):
    """Forward-plus-backward FLOP of one sample: 3 × 2 × the multiply-adds of every Dense and
    Conv2D kernel (the other layers cost little next to them)."""
    macs = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        positions = 1
        if len(kernel.shape) == 4:  # Conv2D: the kernel is applied at every output position
            positions = int(layer.output.shape[1]) * int(layer.output.shape[2])
        macs += positions * math.prod(int(dim) for dim in kernel.shape)
    return 3 * 2 * macs


def worker(args):
    """Runs in the subprocess: samples/s of each model at each batch size, as one JSON line."""
    import keras
    import numpy as np

    from kerasx import recipes

    rng = np.random.default_rng(0)
    results = {"backend": keras.backend.backend()}
    shapes = {"mlp": args.mlp_size, "cnn": args.cnn_size}
    builders = {"mlp": recipes.malaria_mlp, "cnn": recipes.malaria_cnn}
    for name in args.models:
        build = builders[name]
        size, rows = shapes[name], args.rows[name]
        X = rng.random((rows, size, size, 3), dtype=np.float32)
        y = rng.integers(0, 2, rows).astype("float32")
        model = build((size, size, 3), seed=0)
        results[name] = {"gflop_per_sample": training_flop_per_sample(model) / 1e9}
        for batch_size in BATCH_SIZES:
            model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)  # trace and compile
            start = time.perf_counter()
            model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
            results[name][str(batch_size)] = rows / (time.perf_counter() - start)
        keras.backend.clear_session()
    print(json.dumps(results))


def run_worker(backend, argv):
    """One subprocess under ``backend``: its results dict."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, os.path.abspath(__file__), "--worker", *argv]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def matmul_roof(n, repeats, dtype="float32"):
    """Best GFLOP/s of an n×n matmul in NumPy, JAX and TF, alternating: {library: GFLOP/s}."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import tensorflow as tf

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    ja, jb = jnp.asarray(a, dtype=dtype), jnp.asarray(b, dtype=dtype)
    ta, tb = tf.constant(a, dtype=dtype), tf.constant(b, dtype=dtype)
    jax_matmul = jax.jit(jnp.matmul)
    tf_xla = tf.function(tf.matmul, jit_compile=True)
    runs = {
        "JAX (jit)": lambda: jax_matmul(ja, jb).block_until_ready(),
        "TF eager (oneDNN)": lambda: tf.matmul(ta, tb).numpy(),
        "TF XLA": lambda: tf_xla(ta, tb).numpy(),
    }
    if dtype == "float32":
        runs = {"NumPy (BLAS)": lambda: a @ b, **runs}
    best = dict.fromkeys(runs, 0.0)
    for run in runs.values():  # warm-up: compilation, thread pools
        run()
    for repeat in range(repeats):
        for name in list(runs) if repeat % 2 == 0 else list(runs)[::-1]:
            start = time.perf_counter()
            runs[name]()
            best[name] = max(best[name], 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def cpu_flags():
    """The CPU's feature flags, as ``lscpu`` (``/proc/cpuinfo``) lists them."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def print_roofs(args):
    """Prints the FP32 (and bf16) roofs; returns the FP32 roof in GFLOP/s."""
    n = 2048 if args.quick else 4096
    fp32 = matmul_roof(n, 3 if args.quick else 5)
    print(f"FP32 roof, {n}² matmul, best of alternating runs (GFLOP/s):")
    for name, value in fp32.items():
        print(f"  {name:<20}{value:>8.0f}")
    roof = max(fp32.values())
    print(f"  {'roof (best)':<20}{roof:>8.0f}")
    if "amx_bf16" in cpu_flags():
        bf16 = matmul_roof(n, 3 if args.quick else 5, dtype="bfloat16")
        print(
            f"bf16 roof, {n}² matmul (amx_bf16 present), GFLOP/s: "
            + ", ".join(f"{name} {value:.0f}" for name, value in bf16.items())
        )
    else:
        print("bf16 roof: not measured: lscpu shows no amx_bf16 (no bf16 matrix units here)")
    return roof


def print_backends(runs, roof, models):
    """The side-by-side table; returns {(model, batch): (tf, jax)} medians."""
    print(
        f"{'model':<6}{'batch':>6}{'TF s/s':>9}{'JAX s/s':>9}{'JAX/TF':>8}"
        f"{'GFLOP/s':>9}{'% roof':>8}   faster   runs TF | JAX"
    )
    medians = {}
    for name in models:
        gflop = runs["tensorflow"][0][name]["gflop_per_sample"]
        for batch in map(str, BATCH_SIZES):
            values = {b: [run[name][batch] for run in runs[b]] for b in BACKENDS}
            tf_rate, jax_rate = (statistics.median(values[b]) for b in BACKENDS)
            medians[name, int(batch)] = tf_rate, jax_rate
            best = max(tf_rate, jax_rate)
            faster = "JAX" if jax_rate > tf_rate else "TF"
            detail = " ".join(f"{v:.0f}" for v in values["tensorflow"]) + " | "
            detail += " ".join(f"{v:.0f}" for v in values["jax"])
            print(
                f"{name:<6}{batch:>6}{tf_rate:>9.0f}{jax_rate:>9.0f}{jax_rate / tf_rate:>8.2f}"
                f"{best * gflop:>9.1f}{100 * best * gflop / roof:>7.0f}%   {faster:<8} {detail}"
            )
        print(f"{'':<6}{name} costs {gflop:.4f} GFLOP per training sample (forward + backward)")
    return medians


def print_rule(medians, models):
    """The ``--backend auto`` choice the measurement favours, per model."""
    for name in models:
        ratios = [jax / tf for (model, _), (tf, jax) in medians.items() if model == name]
        choice = "jax" if min(ratios) > 1 else "tensorflow" if max(ratios) < 1 else "either"
        print(
            f"--backend auto for {name}: {choice} (JAX/TF {min(ratios):.2f}-{max(ratios):.2f} "
            f"at batch {'/'.join(map(str, BATCH_SIZES))})"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32×32, 1 round; not enforced")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (× 2 backends)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mlp-size", type=int, default=100)
    parser.add_argument("--cnn-size", type=int, default=80)
    parser.add_argument("--mlp-rows", type=int, default=1024)
    parser.add_argument("--cnn-rows", type=int, default=384)
    parser.add_argument("--models", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"])
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.mlp_size, args.cnn_size, args.mlp_rows, args.cnn_rows = (
            1,
            32,
            32,
            256,
            128,
        )
    args.rows = {"mlp": args.mlp_rows, "cnn": args.cnn_rows}
    if args.worker:
        return worker(args)

    print(machine())
    roof = print_roofs(args)
    sizes = [f"--{k}" for k in ("mlp-size", "cnn-size", "mlp-rows", "cnn-rows")]
    passed = [
        item for key in sizes for item in (key, str(getattr(args, key[2:].replace("-", "_"))))
    ]
    runs = {backend: [] for backend in BACKENDS}
    for round_ in range(args.rounds):
        for backend in BACKENDS if round_ % 2 == 0 else BACKENDS[::-1]:
            runs[backend].append(run_worker(backend, passed))
    shapes = {"mlp": (args.mlp_size, args.mlp_rows), "cnn": (args.cnn_size, args.cnn_rows)}
    print(
        ", ".join(
            f"malaria_{m} {shapes[m][0]}×{shapes[m][0]} ({shapes[m][1]} rows)" for m in args.models
        )
        + f": random images, recipe defaults, one timed epoch per run, {args.rounds} alternating"
        " round(s), median samples/s"
    )
    medians = print_backends(runs, roof, args.models)
    print_rule(medians, args.models)
    mlp_gflop = runs["tensorflow"][0]["mlp"]["gflop_per_sample"]
    share = max(medians["mlp", 128]) * mlp_gflop / roof
    targets = Targets(enforce=not args.quick)
    targets.at_least("MLP at batch 128, faster backend, share of the FP32 roof", share, 0.60)
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
