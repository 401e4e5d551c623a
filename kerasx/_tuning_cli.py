"""``kerasx tune``: the arguments and the run function (heavy imports happen inside ``run``).

Private module used by :mod:`kerasx.cli`; the work is done by :func:`kerasx.tuning.tune`.
"""

__all__ = ["add_arguments", "demo_data", "run"]

_TUNERS = ("hyperband", "random", "bayesian", "sklearn")


def add_arguments(parser):
    """Adds the ``tune`` options to ``parser`` (an ``argparse`` parser)."""
    parser.add_argument(
        "--data",
        default=None,
        help='malaria images: "tfds", "synthetic" or a folder with Parasitized/ and Uninfected/ '
        "(kerasx.data.load_malaria); default: a small built-in learnable problem (no download)",
    )
    parser.add_argument("--fraction", type=float, default=None, help="share of the data to use")
    parser.add_argument("--image-size", type=int, default=100, help="images resized to N×N")
    parser.add_argument("--tuner", choices=_TUNERS, default="hyperband", help="search algorithm")
    parser.add_argument(
        "--max-trials",
        type=int,
        default=None,
        help="trials to run (default 10; RandomizedSearchCV candidates for sklearn); for "
        "hyperband a cap on its bracket schedule (default: none)",
    )
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per trial (max for hyperband)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--objective", default="val_accuracy", help="KerasTuner objective")
    parser.add_argument("--cv", type=int, default=5, help="folds (sklearn)")
    parser.add_argument("--wrapper", choices=("scikeras", "keras"), default="scikeras")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        default="kerasx_tune",
        help="output folder: trials.csv, best_model.keras, best.json; rerun to resume",
    )
    parser.add_argument("--overwrite", action="store_true", help="start afresh in --out")
    parser.add_argument(
        "--trials-per-process",
        type=int,
        default=None,
        help="run the search as a chain of processes of N trials each, so memory stays flat",
    )


def demo_data(n_samples=600, n_features=20, seed=0):
    """A small learnable binary problem: ``((X_train, y_train), (X_test, y_test))``, 80/20."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=5, random_state=seed
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype("float32"), y, test_size=0.2, stratify=y, random_state=seed
    )
    return (X_train, y_train), (X_test, y_test)


def run(args):
    """Runs ``kerasx tune`` from parsed arguments; returns the exit status."""
    from kerasx import tuning

    if args.data is None:
        (X_train, y_train), (X_test, y_test) = demo_data(seed=args.seed)
    else:
        from kerasx.data import load_malaria

        (X_train, y_train), (X_test, y_test) = load_malaria(
            args.data, fraction=args.fraction, image_size=args.image_size, seed=args.seed
        )
    print(f"[kerasx tune] data: {len(X_train)} training rows, {X_train.shape[1:]} features")
    tuning.tune(
        X_train,
        y_train,
        out=args.out,
        tuner=args.tuner,
        max_trials=args.max_trials,
        epochs=args.epochs,
        objective=args.objective,
        batch_size=args.batch_size,
        cv=args.cv,
        wrapper=args.wrapper,
        seed=args.seed,
        X_test=X_test,
        y_test=y_test,
        overwrite=args.overwrite,
        trials_per_process=args.trials_per_process,
    )
    return 0
