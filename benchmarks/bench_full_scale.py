"""The whole NIH set end to end: ``kerasx malaria --split patient`` per model, as a user runs it.

Given a folder in the NIH layout (``Parasitized/`` and ``Uninfected/`` PNGs; the full set is
20,734 cells of 140 patients), for each model of ``--models`` (default: the MLP and the CNN;
each command also fits the logistic baseline, reported from the first command):

* loading at the model's image size, each in a fresh process:
  :func:`kerasx.data.load_malaria` with ``dtype="uint8"`` into an empty cache (every PNG
  decoded, then written to the cache) and again from that cache, with the seconds and the
  process's peak resident memory;
* the command itself, ``python -m kerasx malaria --data FOLDER --split patient --model X
  --out OUT/X``, as a subprocess: its wall time, the time until it has loaded its data (its
  "training and test images" line, imports included) and its peak resident memory (the
  child's ``ru_maxrss`` from ``os.wait4``: the whole command, every model of it);
* from the run's files: seconds per epoch (median of ``history_X.csv``'s ``epoch_time``,
  validation included), epochs to early stopping and the best epoch, training time
  (``train_time_s``), training images/s (rows trained per epoch / seconds per epoch),
  accuracy on the held-out patients with its 95 % interval (``metrics.json``'s interval where
  it has one, else a Wilson interval, :func:`kerasx.stats.wilson_interval`) and ROC AUC.

It prints a markdown table and writes every figure to a JSON file. Targets (issue 24): peak
resident memory of each command <= 4 GB (images 100x100, the default); the CNN trained in
<= 20 minutes; the CNN's accuracy >= 0.97. A full run exits 1 when one is missed, and exits 0
with a message when the folder is absent. ``--quick`` is a smoke test of the script (the
command's ``--quick`` on the synthetic images, or on the folder when given): it prints the same
lines and never fails on a target.

Usage::

    python benchmarks/bench_full_scale.py /tmp/nih                    # MLP and CNN (hours)
    python benchmarks/bench_full_scale.py /tmp/nih --models cnn       # the CNN's targets
    python benchmarks/bench_full_scale.py /tmp/nih --models mlp --extra "--epochs 3"
    python benchmarks/bench_full_scale.py --quick
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from _targets import Targets, machine

MODELS = ("mlp", "cnn")
TITLES = {"mlp": "MLP", "cnn": "CNN", "baseline": "logistic"}
RSS_GB = 4.0
CNN_MINUTES = 20.0
CNN_ACCURACY = 0.97
LOADED_LINE = "training and test images"  # the command's line once its data is loaded

# Run in a fresh process: one load, its seconds and the process's peak resident memory.
LOAD_CODE = """
import json, resource, sys, time
start = time.perf_counter()
from kerasx.data import load_malaria
imported = time.perf_counter()
folder, size, split, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
load_malaria(folder, image_size=size, flatten=False, split=split, dtype="uint8", cache_dir=cache)
print(json.dumps({"import_s": imported - start, "load_s": time.perf_counter() - imported,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}


def run_measured(argv, log_path, echo="[kerasx malaria]"):
    """Runs ``argv``, writing its output to ``log_path`` (lines starting with ``echo`` also to
    ours); returns ``(exit status, wall seconds, peak RSS in MB, [(seconds, line)])``.

    The peak is the child's ``ru_maxrss`` (``os.wait4``), its own, not the largest of all
    children (``RUSAGE_CHILDREN``). Linux counts in it the parent's resident memory at the
    child's start (the memory it was started from), so this script stays small (no
    TensorFlow, no pandas) until every command has run: the peaks are over by about 15 MB.
    """
    start = time.perf_counter()
    lines = []
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env()
        )
        for line in process.stdout:
            log.write(line)
            lines.append((time.perf_counter() - start, line.rstrip("\n")))
            if echo and line.startswith(echo) and "\r" not in line:
                print(f"    {line.rstrip()}", flush=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    return process.returncode, seconds, usage.ru_maxrss / 1024, lines  # Linux: KiB


def measure_loading(data, size, split, cache, folder):
    """First (into the empty ``cache``) and cached loads at ``size``, each in a new process."""
    result = {}
    for when in ("first", "cached"):
        argv = [sys.executable, "-c", LOAD_CODE, data, str(size), split, cache]
        log = os.path.join(folder, f"load_{size}_{when}.log")
        status, _, _, lines = run_measured(argv, log, echo=None)
        if status != 0:
            raise SystemExit(f"loading failed (exit {status}); see {log}")
        result[when] = json.loads(lines[-1][1])
    return result


def command(data, model, split, out, quick, extra):
    argv = [sys.executable, "-m", "kerasx", "malaria", "--data", data, "--split", split]
    argv += ["--model", model, "--out", out, *(["--quick"] if quick else []), *extra]
    return argv


def run_command(data, model, split, root, quick, extra):
    """One ``kerasx malaria`` command, measured; returns its facts and its output folder."""
    out = os.path.join(root, model)
    argv = command(data, model, split, out, quick, extra)
    print(f"  $ {shlex.join(argv[2:])}", flush=True)
    status, seconds, rss_mb, lines = run_measured(argv, os.path.join(root, f"{model}.log"))
    loaded = next((t for t, line in lines if LOADED_LINE in line), None)
    facts = {"exit_status": status, "wall_s": seconds, "peak_rss_mb": rss_mb, "loaded_s": loaded}
    if status != 0:
        tail = "\n".join(line for _, line in lines[-15:])
        print(f"  the command failed (exit {status}):\n{tail}", flush=True)
    return facts, out


def accuracy_interval(entry):
    """``(estimate, low, high, method)`` of the accuracy: metrics.json's interval, else a
    Wilson interval of the test cells."""
    interval = (entry.get("intervals") or {}).get("accuracy")
    if interval and "low" in interval and "high" in interval:
        return entry["accuracy"], interval["low"], interval["high"], interval.get("method", "")
    from kerasx.stats import wilson_interval

    wilson = wilson_interval(round(entry["accuracy"] * entry["n"]), entry["n"])
    return wilson.estimate, wilson.low, wilson.high, "wilson (computed here)"


def epoch_seconds(out, name):
    """The model's ``epoch_time`` column: from history.csv (one ``model`` column for all),
    else from ``history_<name>.csv``."""
    import pandas as pd

    path = os.path.join(out, "history.csv")
    if os.path.exists(path):
        history = pd.read_csv(path)
        return history.loc[history["model"] == name, "epoch_time"].tolist()
    path = os.path.join(out, f"history_{name}.csv")
    return pd.read_csv(path)["epoch_time"].tolist() if os.path.exists(path) else []


def model_row(name, out, metrics):
    """One model's figures from a finished run folder."""
    entry = metrics[name]
    estimate, low, high, method = accuracy_interval(entry)
    row = {
        "model": name,
        "image_size": entry.get("image_size"),
        "train_time_s": entry.get("train_time_s"),
        "accuracy": estimate,
        "accuracy_low": low,
        "accuracy_high": high,
        "interval": method,
        "roc_auc": entry.get("roc_auc"),
        "n_test": entry.get("n"),
    }
    seconds = epoch_seconds(out, name) if name != "baseline" else []
    if seconds:
        epoch_s = statistics.median(seconds)
        n_fit = metrics["data"]["n_train"] - entry["n_validation"]
        best = entry.get("best_epoch_1based", entry.get("best_epoch", -1) + 1)
        row.update(
            epoch_s=epoch_s,
            epochs_run=entry.get("epochs_run", len(seconds)),
            best_epoch=best,
            train_images_per_s=n_fit / epoch_s,
        )
    return row


def _cell(value, fmt):
    return "" if value is None else format(value, fmt)


def table(rows, loading, commands):
    """The markdown table, one row per model."""
    head = (
        "| model | image | load first / cached (s) | s/epoch | epochs (best, from 1) | training "
        "| command (wall) | peak RSS | accuracy [95 % CI] | AUC | train images/s |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        size = row["image_size"]
        load = loading.get(size)
        load_text = (
            ""
            if load is None
            else (f"{load['first']['load_s']:.0f} / {load['cached']['load_s']:.1f}")
        )
        run = commands[row["command"]]
        epochs = "" if "epochs_run" not in row else f"{row['epochs_run']} ({row['best_epoch']})"
        lines.append(
            f"| {TITLES[row['model']]} | {size}x{size} | {load_text} | "
            f"{_cell(row.get('epoch_s'), '.1f')} | {epochs} | "
            f"{_cell(row['train_time_s'] / 60, '.1f')} min | {run['wall_s'] / 60:.1f} min | "
            f"{run['peak_rss_mb'] / 1024:.2f} GB | {row['accuracy']:.3f} "
            f"[{row['accuracy_low']:.3f}, {row['accuracy_high']:.3f}] | "
            f"{_cell(row['roc_auc'], '.3f')} | {_cell(row.get('train_images_per_s'), '.0f')} |"
        )
    return "\n".join(lines)


def check_targets(targets, rows, commands):
    for model, run in commands.items():
        targets.at_most(
            f"peak resident memory of `kerasx malaria --model {model}` (GB)",
            run["peak_rss_mb"] / 1024,
            RSS_GB,
        )
    cnn = next((row for row in rows if row["model"] == "cnn"), None)
    if cnn is not None:
        targets.at_most("CNN training time (min)", cnn["train_time_s"] / 60, CNN_MINUTES, ".1f")
        targets.at_least("CNN accuracy on held-out patients", cnn["accuracy"], CNN_ACCURACY, ".3f")


def is_nih_folder(path):
    return path is not None and all(
        os.path.isdir(os.path.join(path, name)) for name in ("Parasitized", "Uninfected")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="a folder in the NIH layout (the full set)")
    parser.add_argument("--quick", action="store_true", help="a smoke test (~3 minutes)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", help="where the runs go (default: a new temporary folder)")
    parser.add_argument("--json", help="the JSON file (default: OUT/bench_full_scale.json)")
    parser.add_argument("--extra", default="", help="more options for each command, quoted")
    args = parser.parse_args(argv)
    if is_nih_folder(args.folder):
        data, split = os.path.abspath(args.folder), "patient"
    elif args.quick:
        data, split = "synthetic", "cell"  # CI without the images: the script still runs
    else:
        print(
            f"No folder in the NIH layout (Parasitized/ and Uninfected/ PNGs) at "
            f"{args.folder!r}: nothing to measure. Give the folder of the full NIH set."
        )
        return 0
    root = os.path.abspath(args.out or tempfile.mkdtemp(prefix="bench-full-scale-"))
    os.makedirs(root, exist_ok=True)
    print(machine())
    print(f"data: {data}, split {split}; runs in {root}")
    sizes = {"mlp": 32 if args.quick else 100, "cnn": 32 if args.quick else 80}
    loading = {}
    for size in sorted({sizes[model] for model in args.models} | {sizes["mlp"]}):
        print(f"loading at {size}x{size} (first, then cached) ...", flush=True)
        cache = tempfile.mkdtemp(prefix=f"cache-{size}-", dir=root)
        loading[size] = measure_loading(data, size, split, cache, root)
    commands, outs = {}, {}
    for model in args.models:
        facts, outs[model] = run_command(
            data, model, split, root, args.quick, shlex.split(args.extra)
        )
        commands[model] = facts
        if facts["exit_status"] != 0:
            return 1
    rows = []  # read after every command (see run_measured)
    for model, out in outs.items():
        with open(os.path.join(out, "metrics.json"), encoding="utf-8") as file:
            metrics = json.load(file)
        names = [model] if rows else [model, "baseline"]  # the baseline of the first command
        rows += [{**model_row(name, out, metrics), "command": model} for name in names]
    print()
    print(table(rows, loading, commands))
    targets = Targets(enforce=not args.quick)
    check_targets(targets, rows, commands)
    path = args.json or os.path.join(root, "bench_full_scale.json")
    record = {
        "machine": machine(),
        "data": data,
        "split": split,
        "loading": loading,
        "commands": commands,
        "models": rows,
        "missed": targets.missed,
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2)
    print(f"figures written to {path}")
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
