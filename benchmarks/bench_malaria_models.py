"""The malaria models side by side: CNN, MLP and logistic baseline, on held-out patients.

Reproduces the headline numbers of issue 11 (README, closing note). For each seed, on
``../shared/data/malaria_cells`` (or ``--data``):

* the split: ``patient`` (whole patients held out, :func:`kerasx.data.load_malaria`'s
  ``split="patient"``, 20 %) and, for comparison, ``cell`` (the course's stratified cell split,
  on which cells of one patient land on both sides); the seed draws the split and the weights;
* the models, trained exactly as ``kerasx malaria`` trains them, through its public API
  :mod:`kerasx.malaria.train`, with one :class:`kerasx.malaria.MalariaConfig` per split and seed
  (its defaults): the data from ``load_split``, each network from ``build_model`` (the CNN,
  :func:`kerasx.recipes.malaria_cnn`, at 80×80 on a one-cycle schedule over 12 epochs; the course's MLP,
  :func:`kerasx.recipes.malaria_mlp`, at 100×100 with standardized inputs, Adam 1e-4, L2 1e-3
  and patience 5), trained by ``fit_network`` on the rows ``split_rows`` gives (early stopping
  on ``val_loss`` over about 10 % of the training rows, whole patients held out of the
  training side; best weights restored; crash-safe backups into a fresh temporary folder) and :func:`kerasx.recipes.logistic_baseline` by ``fit_baseline`` on the
  MLP's training images (100×100);
* the scores on the test images, with scikit-learn
  (:func:`kerasx.malaria.scores.score_predictions`): accuracy, sensitivity, specificity, MCC and
  ROC AUC, printed per seed (the accuracy with its 95 % interval by patient, a cluster
  bootstrap over the test patients, :func:`kerasx.stats.bootstrap_ci`) and as mean ± sd over
  the seeds;
* the CNN's size and speed: parameters, ``.keras`` file size, train time per epoch (median over
  every epoch of every run, validation included: the ``epoch_time`` column of the history
  ``fit_network`` returns) and per seed (its ``train_time_s``, backups included), and inference
  images/s (``predict``, batch 256, best of 3 after a warm-up), with the machine (``lscpu``).

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
from _targets import Targets

from kerasx.data import describe_source
from kerasx.malaria import MalariaConfig
from kerasx.malaria.scores import score_predictions
from kerasx.malaria.train import (
    baseline_scores,
    build_model,
    fit_baseline,
    fit_network,
    load_split,
    predict_scores,
    split_rows,
)
from kerasx.stats import bootstrap_ci

SHARED = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
DEFAULT_DATA = os.path.abspath(os.path.join(SHARED, "malaria_cells"))

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


def make_config(data, networks, quick):
    """The run's :class:`MalariaConfig` (split and seed are set per run): ``kerasx malaria``'s
    defaults, or, with ``quick``, a smoke test of the script (every step runs, nothing is
    measured) smaller than the command's own ``--quick``."""
    model = networks[0] if len(networks) == 1 else "all"
    config = MalariaConfig(data=data, model=model, split="cell", quick=quick)
    if quick:
        config = config.replace(
            fraction=0.1, image_size=24, cnn_image_size=24, epochs=2, patience=2
        )
    return config


def settings_line(config):
    """The training settings every run shares (the fields of ``config``)."""
    return (
        f"settings: image size CNN {config.image_size_for('cnn')}, MLP and logistic "
        f"{config.image_size_for('mlp')}; patience CNN {config.patience_for('cnn')}, "
        f"MLP {config.patience_for('mlp')}; CNN {config.epochs_for('cnn')} epochs (one-cycle), "
        f"MLP at most {config.epochs_for('mlp')}; batch "
        f"{config.batch_size}, validation split {config.validation_split}; "
        f"fraction {config.fraction}"
    )


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


def train(name, split, config):
    """Network ``name`` built and trained as ``kerasx malaria`` does (``build_model`` and
    ``fit_network``, backing up into a fresh temporary folder); returns it, its history
    (one row per epoch) and ``fit_network``'s facts."""
    model = build_model(name, split.x_train, config)
    with tempfile.TemporaryDirectory(prefix=f"bench-malaria-{name}-") as out:
        rows = split_rows(config, split)  # held-out patients validate (a folder)
        history, facts = fit_network(name, model, split.x_train, split.y_train, config, out, rows)
    return model, history, facts


def predict(model, x):
    return predict_scores(model, x)  # 8-bit images scaled per batch, as the command does


def images_per_second(model, X):
    """Inference speed: ``predict`` at batch 256 (8-bit images scaled per batch, as the command
    does), best of 3 after a warm-up call."""
    predict_scores(model, X[:256])
    best = min(_timed(lambda: predict_scores(model, X)) for _ in range(3))
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


def scored(split, scores):
    """:func:`score_predictions` plus ``accuracy_ci``: the accuracy's 95 % interval, by test
    patient (cluster bootstrap) when the rows name patients, by row otherwise."""
    result = score_predictions(split.y_test, scores)
    interval = bootstrap_ci("accuracy", split.y_test, scores, groups=split.groups_test, seed=0)
    result["accuracy_ci"] = (interval.low, interval.high)
    return result


def run_cnn(split, config, facts):
    model, history, trained = train("cnn", split, config)
    facts["epoch_s"] += history["epoch_time"].tolist()
    facts["train_s"].append(trained["train_time_s"])
    facts["parameters"] = trained["parameters"]
    facts["file_bytes"] = keras_file_size(model)
    facts["images_per_s"].append(images_per_second(model, split.x_test))
    scores = scored(split, predict(model, split.x_test))
    return scores, trained["train_time_s"], trained["epochs_run"]


def run_mlp_and_baseline(split, config):
    model, _, trained = train("mlp", split, config)
    mlp = scored(split, predict(model, split.x_test))
    baseline, seconds = fit_baseline(split.x_train, split.y_train)
    logistic = scored(split, baseline_scores(baseline, split.x_test))
    return (mlp, trained["train_time_s"], trained["epochs_run"]), (logistic, seconds, 0)


def print_seed(split, seed, runs):
    for name, (scores, seconds, epochs) in runs.items():
        low, high = scores["accuracy_ci"]
        values = " ".join(
            f"{key} {scores[key]:.3f}" + (f" [{low:.3f}, {high:.3f}]" if key == "accuracy" else "")
            for key, _ in SCORES
        )
        trained = f"{seconds:.0f} s" + (f", {epochs} epochs" if epochs else "")
        print(f"  {split:7s} seed {seed}  {TITLES[name]:8s} {values}  ({trained}, n={scores['n']})")


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
    networks = [name for name in models if name != "logistic"]
    seeds = range(args.seeds or (1 if args.quick else 3))
    splits = args.splits
    if not os.path.isdir(args.data):
        if not args.quick:
            parser.error(f"no image folder at {args.data!r} (give --data)")
        args.data, splits = "synthetic", ["cell"]  # CI without the images: the script still runs
    config = make_config(args.data, networks, args.quick)
    keras.config.disable_interactive_logging()  # fit_network's per-epoch lines (verbose=2)
    print(f"machine: {machine()}")
    print(f"data: {describe_source(args.data)}; seeds {list(seeds)}")
    print(settings_line(config))
    print(f"load average at start: {os.getloadavg()[0]:.1f} (time figures grow with it)")
    facts = {"epoch_s": [], "train_s": [], "images_per_s": []}
    results = {split: {name: [] for name in models} for split in splits}
    per_seed_cnn_s = []
    for split in splits:
        for seed in seeds:
            run = config.replace(split=split, seed=seed)
            sizes = set(map(run.image_size_for, networks))
            data = {size: load_split(run, size) for size in sizes}  # the same rows at each size
            runs = {}
            if "cnn" in models:
                runs["cnn"] = run_cnn(data[run.image_size_for("cnn")], run, facts)
            if "mlp" in models:
                runs["mlp"], runs["logistic"] = run_mlp_and_baseline(data[run.image_size], run)
            print_seed(split, seed, runs)
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
