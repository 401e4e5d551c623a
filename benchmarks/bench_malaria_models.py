"""The malaria models side by side: CNN, MLP and logistic baseline, on held-out patients.

Reproduces the headline numbers of issue 11 (README, closing note). For each seed, on
``../shared/data/malaria_cells`` (or ``--data``):

* the split: ``patient`` (whole patients held out, :func:`kerasx.data.load_malaria`'s
  ``split="patient"``, 20 %) and, for comparison, ``cell`` (the course's stratified cell split,
  on which cells of one patient land on both sides); the seed draws the split and the weights;
* the models, trained as ``kerasx malaria`` trains them (:data:`SETTINGS`): the CNN
  (:func:`kerasx.recipes.malaria_cnn` at its defaults, 80×80, early stopping with patience 8),
  the course's MLP (:func:`kerasx.recipes.malaria_mlp`, 100×100, standardized inputs, Adam 1e-4,
  L2 1e-3, patience 5) and :func:`kerasx.recipes.logistic_baseline` on the same training images
  (100×100). Early stopping watches ``val_loss`` on the last 10 % of the (shuffled) training
  rows, best weights restored;
* the scores on the test images, with scikit-learn: accuracy, sensitivity, specificity, MCC and
  ROC AUC, printed per seed and as mean ± sd over the seeds;
* the CNN's size and speed: parameters, ``.keras`` file size, train time per epoch (median over
  every epoch of every run, validation included) and per seed, and inference images/s
  (``predict``, batch 256, best of 3 after a warm-up), with the machine (``lscpu``).

Targets (issue 11), on the patient split: CNN ≥ 96 % mean accuracy, trained in ≤ 600 s per
seed; MLP ≥ 75 % mean accuracy. A full run exits 1 when one is missed; ``--quick`` (a smoke test
of the script on 10 % of the images at 24×24, 2 epochs, one seed, ~1 minute) only reports them.

Usage::

    python benchmarks/bench_malaria_models.py                      # 3 seeds, both splits (~1.5 h)
    python benchmarks/bench_malaria_models.py --splits patient     # the targets only (~45 min)
    python benchmarks/bench_malaria_models.py --splits patient --models cnn   # the CNN's time
    python benchmarks/bench_malaria_models.py --quick
"""

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _targets import Targets
from _timing import EpochTimer

from kerasx.data import describe_source, load_malaria
from kerasx.recipes import logistic_baseline, malaria_cnn, malaria_mlp

SHARED = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
DEFAULT_DATA = os.path.abspath(os.path.join(SHARED, "malaria_cells"))

#: How each model is trained: the settings of ``kerasx malaria`` (kerasx/commands/malaria.py).
SETTINGS = {
    "image_size": {"cnn": 80, "mlp": 100, "logistic": 100},
    "patience": {"cnn": 8, "mlp": 5},
    "epochs": 100,
    "batch_size": 32,
    "validation_split": 0.1,
    "mlp": {"learning_rate": 1e-4, "l2": 1e-3},
    "fraction": None,
}
#: A smoke test of the script: every step runs, nothing is measured.
QUICK = {
    "image_size": {"cnn": 24, "mlp": 24, "logistic": 24},
    "patience": {"cnn": 2, "mlp": 2},
    "epochs": 2,
    "fraction": 0.1,
}
MODELS = ("cnn", "mlp", "logistic")
TITLES = {"cnn": "CNN", "mlp": "MLP", "logistic": "logistic"}
SCORES = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
)
TARGETS = {"cnn": 0.96, "mlp": 0.75}
CNN_SECONDS_PER_SEED = 600


def machine():
    """The CPU model (``lscpu``), the number of CPUs and the Keras backend."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in lines.splitlines() if "Model name" in line
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} CPUs; Keras {keras.__version__} ({keras.backend.backend()})"


def score(y_true, probabilities):
    """Accuracy, sensitivity, specificity, MCC and ROC AUC with scikit-learn (threshold 0.5)."""
    from sklearn import metrics

    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(probabilities).ravel() > 0.5).astype(int)
    return {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "sensitivity": metrics.recall_score(y_true, y_pred, pos_label=1, zero_division=0),
        "specificity": metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0),
        "mcc": metrics.matthews_corrcoef(y_true, y_pred),
        "roc_auc": metrics.roc_auc_score(y_true, np.asarray(probabilities).ravel()),
    }


def fit(model, X, y, settings, patience):
    """Trains as ``kerasx malaria`` does; returns (train seconds, per-epoch seconds)."""
    timer = EpochTimer()
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    start = time.perf_counter()
    model.fit(
        X,
        y,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        validation_split=settings["validation_split"],
        callbacks=[stopping, timer],
        verbose=0,
    )
    return time.perf_counter() - start, timer.seconds


def load(source, split, seed, settings, size):
    return load_malaria(
        source,
        split=split,
        seed=seed,
        image_size=size,
        flatten=False,
        fraction=settings["fraction"],
    )


def images_per_second(model, X):
    """Inference speed: ``predict`` at batch 256, best of 3 after a warm-up call."""
    model.predict(X[:256], batch_size=256, verbose=0)
    best = min(_timed(lambda: model.predict(X, batch_size=256, verbose=0)) for _ in range(3))
    return len(X) / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def keras_file_size(model):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cnn.keras")
        model.save(path)
        return os.path.getsize(path)


def run_cnn(source, split, seed, settings, facts):
    (X, y), (X_test, y_test) = load(source, split, seed, settings, settings["image_size"]["cnn"])
    model = malaria_cnn(X.shape[1:], seed=seed)
    train_s, epochs = fit(model, X, y, settings, settings["patience"]["cnn"])
    facts["epoch_s"] += epochs
    facts["train_s"].append(train_s)
    facts["parameters"] = model.count_params()
    facts["file_bytes"] = keras_file_size(model)
    facts["images_per_s"].append(images_per_second(model, X_test))
    scores = score(y_test, model.predict(X_test, batch_size=256, verbose=0))
    return (scores, train_s, len(epochs)), len(y_test)


def run_mlp_and_baseline(source, split, seed, settings):
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    (X, y), (X_test, y_test) = load(source, split, seed, settings, settings["image_size"]["mlp"])
    model = malaria_mlp(X.shape[1:], standardize=X, seed=seed, **settings["mlp"])
    train_s, epochs = fit(model, X, y, settings, settings["patience"]["mlp"])
    mlp = score(y_test, model.predict(X_test, batch_size=256, verbose=0))
    baseline = logistic_baseline()
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as kerasx malaria (OpenBLAS spins)
        baseline.fit(X, y.astype(int))
    logistic = score(y_test, baseline.predict_proba(X_test)[:, 1])
    return (mlp, train_s, len(epochs)), (logistic, time.perf_counter() - start, 0), len(y_test)


def print_seed(split, seed, runs, n_test):
    for name, (scores, seconds, epochs) in runs.items():
        values = " ".join(f"{key} {scores[key]:.3f}" for key, _ in SCORES)
        trained = f"{seconds:.0f} s" + (f", {epochs} epochs" if epochs else "")
        print(f"  {split:7s} seed {seed}  {TITLES[name]:8s} {values}  ({trained}, n={n_test})")


def summary_table(split, results):
    """Mean ± sd over the seeds, one row per model."""
    seeds = len(next(iter(results.values())))
    lines = [f"\n{split} split, mean ± sd over {seeds} seed(s)"]
    lines.append(f"{'':10s}" + "".join(f"{title:>16s}" for _, title in SCORES))
    for name in results:
        cells = []
        for key, _ in SCORES:
            values = [run[key] for run in results[name]]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {sd:.3f}")
        lines.append(f"{TITLES[name]:10s}" + "".join(f"{cell:>16s}" for cell in cells))
    return "\n".join(lines)


def cnn_facts_line(facts):
    return (
        f"\nCNN: {facts['parameters']:,} parameters, .keras file {facts['file_bytes'] / 1e6:.2f} MB, "
        f"{statistics.median(facts['epoch_s']):.1f} s per epoch (median of "
        f"{len(facts['epoch_s'])}), {statistics.mean(facts['train_s']):.0f} s of training per "
        f"run (max {max(facts['train_s']):.0f} s), inference "
        f"{statistics.median(facts['images_per_s']):.0f} images/s (batch 256)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke test")
    parser.add_argument("--data", default=DEFAULT_DATA, help="a folder in the NIH layout")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3)")
    parser.add_argument(
        "--splits", nargs="+", choices=("patient", "cell"), default=["patient", "cell"]
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("cnn", "mlp"),
        default=["cnn", "mlp"],
        help="'mlp' also trains the logistic baseline (default: both)",
    )
    args = parser.parse_args(argv)
    models = [n for n in MODELS if n in args.models or (n == "logistic" and "mlp" in args.models)]
    settings = {**SETTINGS, **(QUICK if args.quick else {})}
    seeds = range(args.seeds or (1 if args.quick else 3))
    splits = args.splits
    if not os.path.isdir(args.data):
        if not args.quick:
            parser.error(f"no image folder at {args.data!r} (give --data)")
        args.data, splits = "synthetic", ["cell"]  # CI without the images: the script still runs
    print(f"machine: {machine()}")
    print(f"data: {describe_source(args.data)}; seeds {list(seeds)}")
    print(f"settings: {settings}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (time figures grow with it)")
    facts = {"epoch_s": [], "train_s": [], "images_per_s": []}
    results = {split: {name: [] for name in models} for split in splits}
    per_seed_cnn_s = []
    for split in splits:
        for seed in seeds:
            runs = {}
            if "cnn" in models:
                runs["cnn"], n_test = run_cnn(args.data, split, seed, settings, facts)
            if "mlp" in models:
                runs["mlp"], runs["logistic"], n_test = run_mlp_and_baseline(
                    args.data, split, seed, settings
                )
            print_seed(split, seed, runs, n_test)
            for name, (scores, _, _) in runs.items():
                results[split][name].append(scores)
            if split == "patient" and "cnn" in runs:
                per_seed_cnn_s.append(runs["cnn"][1])
    for split in splits:
        print(summary_table(split, results[split]))
    if "cnn" in models:
        print(cnn_facts_line(facts))
    targets = Targets(enforce=not args.quick)
    if "patient" in results:
        for name, bound in TARGETS.items():
            if name not in models:
                continue
            accuracy = statistics.mean(run["accuracy"] for run in results["patient"][name])
            targets.at_least(
                f"{TITLES[name]} accuracy, patient split (mean)", accuracy, bound, ".3f"
            )
        if per_seed_cnn_s:
            targets.at_most(
                "CNN train time per seed, patient split (s, max)",
                max(per_seed_cnn_s),
                CNN_SECONDS_PER_SEED,
                ".0f",
            )
    raise SystemExit(targets.exit_status())


if __name__ == "__main__":
    main()
