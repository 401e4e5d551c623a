"""TensorFlow against JAX for the malaria recipes, the MLP step's routes, and the machine's roof.

Keras picks its backend once per process, so each measurement runs in a fresh subprocess (this
script again, with ``--worker``) with ``KERAS_BACKEND`` and any setting that must precede the
first import (``ONEDNN_DEFAULT_FPMATH_MODE``) in its environment. Arms alternate over rounds
(A B, B A, ...) so that drifts in machine load hit them alike.

* **Roofs.** The FP32 roof is the best square matmul (4096², 2048² with ``--quick``) of NumPy,
  JAX (jit) and TensorFlow (eager, i.e. oneDNN, and XLA), alternating in this process. The bf16
  roof is the same in bfloat16, measured only where ``lscpu`` shows ``amx_bf16``. Each worker
  also measures its own FP32 roof (NumPy and its backend, right after its steps): on a shared
  machine the load moves between the parent's roof and a worker's step ("% local").
* **Backends** (``--parts backends``). A worker builds :func:`kerasx.recipes.malaria_mlp`
  (100×100) and :func:`kerasx.recipes.malaria_cnn` (80×80, the command's CNN size) at their
  defaults (XLA where the recipe turns it on), warms each up with one ``fit`` epoch per batch
  size and times one epoch on random images: samples/s at batch 32 and 128, and the rule
  ``kerasx malaria --backend auto`` follows from them.
* **Routes** (``--parts routes``): the MLP step along :data:`ROUTES` (TF with and without XLA,
  oneDNN's BF16 math mode, ``mixed_bfloat16`` on TF and JAX, TF thread pools) at batch 128,
  512 and 1024 (larger batches, whose learning rate would be scaled with them). On the 2-core
  Intel Xeon with AMX, ``mixed_bfloat16`` on TF without XLA jumped from 3,533 samples/s at
  batch 512 to 6,530 at 1024 (87 % of a 408 GFLOP/s FP32 roof): only there did oneDNN's bf16
  matmuls reach the AMX units; every FP32 route stayed at 36-53 %.

Each model's training cost per sample is computed from its layers (2 FLOP per multiply-add of
each Dense and Conv2D kernel, forward ×3 for forward plus backward: ≈ 0.054 GFLOP for the MLP).
Target: the MLP step's best measured rate (recipe defaults or a route) reaches ≥ 60 % of the
FP32 roof (a full run exits 1 when missed; ``--quick`` only reports it).

Usage::

    python benchmarks/bench_backends.py                         # 3 rounds, 4096² roof, both parts
    python benchmarks/bench_backends.py --parts routes --rounds 2
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


def _configure_worker(args):
    """The worker's settings that must precede its first op: threads and the float policy."""
    import keras

    if args.intra or args.inter:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.intra or 0)
        tf.config.threading.set_inter_op_parallelism_threads(args.inter or 0)
    if args.policy:
        keras.config.set_dtype_policy(args.policy)


def worker(args):
    """Runs in the subprocess: samples/s of each model at each batch size, as one JSON line."""
    import keras
    import numpy as np

    from kerasx import recipes

    _configure_worker(args)
    rng = np.random.default_rng(0)
    results = {"backend": keras.backend.backend()}
    shapes = {"mlp": args.mlp_size, "cnn": args.cnn_size}
    builders = {"mlp": recipes.malaria_mlp, "cnn": recipes.malaria_cnn}
    jit_compile = {"recipe": None, "on": True, "off": False}[args.jit]
    for name in args.models:
        build = builders[name]
        size, rows = shapes[name], args.rows[name]
        X = rng.random((rows, size, size, 3), dtype=np.float32)
        y = rng.integers(0, 2, rows).astype("float32")
        model = build((size, size, 3), seed=0, jit_compile=jit_compile)
        results[name] = {"gflop_per_sample": training_flop_per_sample(model) / 1e9}
        for batch_size in args.batch_sizes:
            model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)  # trace and compile
            start = time.perf_counter()
            model.fit(X, y, batch_size=batch_size, epochs=args.epochs, verbose=0)
            results[name][str(batch_size)] = rows * args.epochs / (time.perf_counter() - start)
        keras.backend.clear_session()
    results["local_roof"] = local_roof(args.roof_size)
    print(json.dumps(results))


def local_roof(n, repeats=2):
    """The best FP32 n×n matmul GFLOP/s of NumPy and of the worker's backend (``keras.ops``),
    measured in the worker right after its training: on a shared machine the load changes
    between the parent's roof and a worker's step, and this one sees the worker's load."""
    import keras
    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    ka, kb = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(a.T.copy())
    runs = [lambda: a @ a.T, lambda: keras.ops.convert_to_numpy(keras.ops.matmul(ka, kb))]
    best = 0.0
    for run in runs * (repeats + 1):
        start = time.perf_counter()
        run()
        best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def run_worker(backend, argv, env=None):
    """One subprocess under ``backend`` (and ``env``, set before it imports anything): its
    results dict."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
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
    """Prints the FP32 (and bf16) roofs; returns them in GFLOP/s (bf16 ``None`` without AMX)."""
    n = 2048 if args.quick else 4096
    fp32 = matmul_roof(n, 3 if args.quick else 5)
    print(f"FP32 roof, {n}² matmul, best of alternating runs (GFLOP/s):")
    for name, value in fp32.items():
        print(f"  {name:<20}{value:>8.0f}")
    roof = max(fp32.values())
    print(f"  {'roof (best)':<20}{roof:>8.0f}")
    args.roof = roof
    if "amx_bf16" not in cpu_flags():
        print("bf16 roof: not measured: lscpu shows no amx_bf16 (no bf16 matrix units here)")
        return roof, None
    bf16 = matmul_roof(n, 3 if args.quick else 5, dtype="bfloat16")
    print(
        f"bf16 roof, {n}² matmul (amx_bf16 present), GFLOP/s: "
        + ", ".join(f"{name} {value:.0f}" for name, value in bf16.items())
        + f"; roof (best) {max(bf16.values()):.0f}"
    )
    return roof, max(bf16.values())


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


#: Routes for the MLP step: (backend, environment set before the worker imports anything,
#: worker options). oneDNN documents ``ONEDNN_DEFAULT_FPMATH_MODE=BF16`` as letting FP32 matmuls
#: run on bf16 units (AMX) with FP32 accumulation; on TF 2.21's pip build it changed neither the
#: result nor the speed of ``tf.matmul`` (nor did ``TF_SET_ONEDNN_FPMATH_MODE``, measured), so
#: the route stays here as the check. TensorFlow's XLA does not go through oneDNN at all.
ROUTES = {
    "TF, recipe (XLA)": ("tensorflow", {}, []),
    "TF, no XLA": ("tensorflow", {}, ["--jit", "off"]),
    "TF, no XLA, oneDNN BF16 math": (
        "tensorflow",
        {"ONEDNN_DEFAULT_FPMATH_MODE": "BF16"},
        ["--jit", "off"],
    ),
    "TF, no XLA, mixed_bfloat16": (
        "tensorflow",
        {},
        ["--jit", "off", "--policy", "mixed_bfloat16"],
    ),
    "TF, XLA, 2 intra / 1 inter thread": ("tensorflow", {}, ["--intra", "2", "--inter", "1"]),
    "JAX, recipe (XLA)": ("jax", {}, []),
    "JAX, mixed_bfloat16": ("jax", {}, ["--policy", "mixed_bfloat16"]),
}
#: The routes a ``--quick`` run takes.
QUICK_ROUTES = ("TF, recipe (XLA)", "TF, no XLA, oneDNN BF16 math")
#: The routes that need bf16 matrix units to make sense.
BF16_ROUTES = ("TF, no XLA, oneDNN BF16 math", "TF, no XLA, mixed_bfloat16", "JAX, mixed_bfloat16")


def print_routes(args, sizes, roofs):
    """Times the MLP step along each of :data:`ROUTES`, alternating; returns the best route at
    each batch size as {batch: (route, samples/s, share of the worker's own FP32 roof)}."""
    routes = [name for name in ROUTES if name not in BF16_ROUTES or "amx_bf16" in cpu_flags()]
    if args.quick:  # a smoke test: one FP32 and (with AMX) one bf16 route
        routes = [name for name in routes if name in QUICK_ROUTES]
    argv = [*sizes, "--models", "mlp", "--batch-sizes", *map(str, args.route_batches)]
    runs = {name: [] for name in routes}
    for round_ in range(args.rounds):
        for name in routes if round_ % 2 == 0 else routes[::-1]:
            backend, env, options = ROUTES[name]
            result = run_worker(backend, [*argv, *options], env)
            runs[name].append({**result["mlp"], "local_roof": result["local_roof"]})
    gflop = runs[routes[0]][0]["gflop_per_sample"]
    fp32, bf16 = roofs
    print(
        f"\nMLP step routes, {args.mlp_size}x{args.mlp_size} ({args.mlp_rows} rows), "
        f"{args.rounds} alternating round(s), median samples/s; % of the FP32 roof ({fp32:.0f})"
        + (f" and of the bf16 roof ({bf16:.0f})" if bf16 else "")
        + ", and of the FP32 roof each worker measured right after its steps (% local)"
    )
    print(
        f"{'route':<36}{'batch':>6}{'samples/s':>11}{'GFLOP/s':>9}{'% FP32':>8}{'% bf16':>8}"
        f"{'% local':>9}"
    )
    best = {}
    for name in routes:
        for batch in args.route_batches:
            rate = statistics.median(run[str(batch)] for run in runs[name])
            local = statistics.median(
                run[str(batch)] * gflop / run["local_roof"] for run in runs[name]
            )
            if rate > best.get(batch, ("", 0.0, 0.0))[1]:
                best[batch] = (name, rate, local)
            bf16_share = f"{100 * rate * gflop / bf16:>7.0f}%" if bf16 else f"{'-':>8}"
            print(
                f"{name:<36}{batch:>6}{rate:>11.0f}{rate * gflop:>9.1f}"
                f"{100 * rate * gflop / fp32:>7.0f}%{bf16_share}{100 * local:>8.0f}%"
            )
    for batch, (name, rate, local) in best.items():
        print(
            f"best route at batch {batch}: {name} ({100 * rate * gflop / fp32:.0f}% of the FP32 "
            f"roof, {100 * local:.0f}% of its workers' own)"
        )
    return best, gflop


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32×32, 1 round; not enforced")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (× 2 backends)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mlp-size", type=int, default=100)
    parser.add_argument("--cnn-size", type=int, default=80)
    parser.add_argument("--mlp-rows", type=int, default=2048)  # 2 steps at batch 1024
    parser.add_argument("--cnn-rows", type=int, default=384)
    parser.add_argument("--models", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"])
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("backends", "routes"),
        default=["backends", "routes"],
        help="TF against JAX for each model, and/or the MLP step's routes (bf16, XLA, threads)",
    )
    parser.add_argument("--route-batches", type=int, nargs="+", default=[128, 512, 1024])
    # Worker options (set by the parent).
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--jit", choices=("recipe", "on", "off"), default="recipe")
    parser.add_argument("--policy", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--intra", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--roof-size", type=int, default=4096, help=argparse.SUPPRESS)
    parser.add_argument("--inter", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.mlp_size, args.cnn_size, args.mlp_rows, args.cnn_rows = (
            1,
            32,
            32,
            256,
            128,
        )
        if not args.worker:
            args.route_batches = [128]
    args.rows = {"mlp": args.mlp_rows, "cnn": args.cnn_rows}
    if args.worker:
        return worker(args)

    print(machine())
    roofs = print_roofs(args)
    args.roof_size = 2048 if args.quick else 4096
    sizes = [f"--{k}" for k in ("mlp-size", "cnn-size", "mlp-rows", "cnn-rows", "roof-size")]
    sizes = [item for key in sizes for item in (key, str(getattr(args, key[2:].replace("-", "_"))))]
    targets = Targets(enforce=not args.quick)
    shares = {}
    if "backends" in args.parts:
        medians, gflop = compare_backends(args, sizes)
        if "mlp" in args.models:
            shares["TF or JAX at the recipe's defaults, batch 128"] = (
                max(medians["mlp", 128]) * gflop / roofs[0]
            )
    if "routes" in args.parts:
        best, gflop = print_routes(args, sizes, roofs)
        for batch, (name, rate, _) in best.items():
            shares[f"best route at batch {batch} ({name})"] = rate * gflop / roofs[0]
    if shares:
        what, share = max(shares.items(), key=lambda item: item[1])
        targets.at_least(f"MLP step, share of the FP32 roof: {what}", share, 0.60)
    return targets.exit_status()


def compare_backends(args, sizes):
    """TF against JAX for each model at the recipes' defaults, alternating; returns the medians
    ({(model, batch): (tf, jax)}) and the MLP's GFLOP per sample."""
    runs = {backend: [] for backend in BACKENDS}
    argv = [*sizes, "--models", *args.models]
    for round_ in range(args.rounds):
        for backend in BACKENDS if round_ % 2 == 0 else BACKENDS[::-1]:
            runs[backend].append(run_worker(backend, argv))
    shapes = {"mlp": (args.mlp_size, args.mlp_rows), "cnn": (args.cnn_size, args.cnn_rows)}
    print(
        ", ".join(
            f"malaria_{m} {shapes[m][0]}×{shapes[m][0]} ({shapes[m][1]} rows)" for m in args.models
        )
        + f": random images, recipe defaults, one timed epoch per run, {args.rounds} alternating"
        " round(s), median samples/s"
    )
    medians = print_backends(runs, args.roof, args.models)
    print_rule(medians, args.models)
    gflop = runs["tensorflow"][0].get("mlp", {}).get("gflop_per_sample")
    return medians, gflop


if __name__ == "__main__":
    raise SystemExit(main())
