"""The course's RandomizedSearchCV against KerasTuner's Hyperband on the malaria images.

Both search the same space (:func:`kerasx.tuning.malaria_search_space`: 1–3 relu layers of
16–300 units, Adam's learning rate 1e-4..1e-2 on a log scale, dropout 0..0.5, optional L2) with
the same per-model budget (``--epochs`` at most per model):

- RandomizedSearchCV, as in the course: ``--n-iter`` draws (10) × ``--cv``-fold CV (5), each fit
  ``--epochs`` epochs, then the best refitted on all training rows (scikeras wrapper);
- Hyperband: ``max_epochs=--epochs``, factor 3, one iteration, validated on 20% of the
  training rows.

Prints, side by side: wall time, model-epochs trained, best validation accuracy (mean CV
accuracy for RandomizedSearchCV, holdout accuracy for Hyperband) and the best model's test
accuracy (same 20% test split for both). Targets: Hyperband reaches at least the same test
accuracy in ≤ 1/3 of the time. A full run exits 1 when a target is missed (``--quick`` only
reports them).

Usage::

    python benchmarks/bench_tuning.py            # shared images, 100×100, 10 × 5-fold, 10 epochs
    python benchmarks/bench_tuning.py --quick    # 16×16, 10% of the images, 2 × 2-fold, 2 epochs

The full run is long (tens of minutes on 2 CPU cores): most of it is RandomizedSearchCV's
51 fits. Images come from ``KERASX_MALARIA_DIR`` or ``../shared/data/malaria_cells``, else
from ``synthetic``; with ``--data synthetic`` it runs anywhere (procedural images, not real
data).
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from _targets import Targets, machine

from kerasx import tuning
from kerasx.data import load_malaria

SHARED = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
DEFAULT_DATA = os.environ.get(
    "KERASX_MALARIA_DIR", os.path.abspath(os.path.join(SHARED, "malaria_cells"))
)
if not os.path.isdir(DEFAULT_DATA):
    DEFAULT_DATA = "synthetic"


def run_randomized_search(space, X, y, X_test, y_test, args):
    start = time.perf_counter()
    search = tuning.randomized_search(
        X,
        y,
        n_iter=args.n_iter,
        cv=args.cv,
        param_distributions=space.param_distributions(),
        wrapper=args.wrapper,
        epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=args.seed,
    )
    seconds = time.perf_counter() - start
    return {
        "method": f"RandomizedSearchCV ({args.n_iter} × {args.cv}-fold)",
        "seconds": seconds,
        "model_epochs": args.n_iter * args.cv * args.epochs + args.epochs,
        "trials": args.n_iter,
        "best_val_accuracy": float(search.best_score_),
        "test_accuracy": float(search.score(X_test, y_test)),
        "best_params": {k: _plain(v) for k, v in search.best_params_.items()},
    }


def run_hyperband(space, X, y, X_test, y_test, args):
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        tuner = tuning.make_tuner(
            space,
            tuner="hyperband",
            max_epochs=args.epochs,
            factor=3,
            max_trials=None,
            directory=directory,
            seed=args.seed,
        )
        tuner.search(X, y, batch_size=args.batch_size, validation_split=0.2, verbose=0)
        model = tuner.get_best_models(1)[0]
        seconds = time.perf_counter() - start
        table = tuning.trials_table(tuner)
        best = tuner.oracle.get_best_trials(1)[0]
    test = model.evaluate(X_test, y_test, verbose=0, return_dict=True)["accuracy"]
    epochs = (table["tuner/epochs"] - table["tuner/initial_epoch"]).sum()
    return {
        "method": f"Hyperband (max_epochs={args.epochs}, factor 3)",
        "seconds": seconds,
        "model_epochs": int(epochs),
        "trials": len(table),
        "best_val_accuracy": float(best.score),
        "test_accuracy": float(test),
        "best_params": {k: _plain(v) for k, v in best.hyperparameters.values.items()},
    }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short check (~40 s); targets not enforced"
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder of images or 'synthetic'")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--fraction", type=float, default=None)
    parser.add_argument("--n-iter", type=int, default=None)
    parser.add_argument("--cv", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--wrapper", choices=("scikeras", "keras"), default="scikeras")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    quick = {"image_size": 16, "fraction": 0.1, "n_iter": 2, "cv": 2, "epochs": 2}
    full = {"image_size": 100, "fraction": 1.0, "n_iter": 10, "cv": 5, "epochs": 10}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(argv)
    print(machine())
    (X, y), (X_test, y_test) = load_malaria(
        args.data, fraction=args.fraction, image_size=args.image_size, seed=args.seed
    )
    print(f"data: {args.data}, {len(X)} training / {len(X_test)} test rows, {X.shape[1]} features")
    space = tuning.malaria_search_space(input_shape=X.shape[1:])
    results = [
        run_randomized_search(space, X, y, X_test, y_test, args),
        run_hyperband(space, X, y, X_test, y_test, args),
    ]
    header = (
        f"{'method':<42} {'seconds':>8} {'model-epochs':>12} {'best val acc':>12} {'test acc':>9}"
    )
    print(header)
    for r in results:
        print(
            f"{r['method']:<42} {r['seconds']:>8.1f} {r['model_epochs']:>12d} "
            f"{r['best_val_accuracy']:>12.4f} {r['test_accuracy']:>9.4f}"
        )
    for r in results:
        print(f"best of {r['method']}: {r['best_params']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"args": vars(args), "results": results}, file, indent=2)
    randomized, hyperband = results
    targets = Targets(enforce=not args.quick)
    ratio = hyperband["seconds"] / randomized["seconds"]
    targets.at_most("time ratio Hyperband / RandomizedSearchCV", ratio, 0.33)
    targets.at_least(
        "test accuracy Hyperband - RandomizedSearchCV",
        hyperband["test_accuracy"] - randomized["test_accuracy"],
        0.0,
        fmt="+.4f",
    )
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
