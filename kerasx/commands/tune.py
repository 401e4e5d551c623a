"""``kerasx tune``: search the MLP's hyperparameters into a folder that a rerun resumes.

The search options are the fields of :class:`kerasx.tuning.TuneConfig`, turned into options
here with the same checks (``--max-trials`` is ``max_trials``, and so on); only the data options
(``--data``, ``--fraction``, ``--image-size``) and ``--out`` belong to the command itself. Every
option is checked at parse time; ``--objective`` is one of ``loss``, ``accuracy`` and their
``val_`` forms (what the MLP compiles), ``val_accuracy`` only with ``--tuner sklearn`` (checked
before the data is loaded). ``--split`` (a config field) says how the data is split and how
trials validate: ``patient`` (the default for a folder) keeps every patient's cells on one side of
the train/test split and validates each trial on held-out patients; ``cell`` (the default for
``tfds``, ``synthetic`` and the built-in data, which have no patient ids) splits and validates by
row.

>>> from kerasx.commands._common import CommandParser
>>> parser = CommandParser(prog="kerasx tune")
>>> add_arguments(parser)
>>> args = parser.parse_args(["--tuner", "random", "--max-trials", "3"])
>>> config_from_args(args).trial_limit
3
"""

import dataclasses

from kerasx._validation import argument_type, invalid_value
from kerasx.commands._common import DATA_SOURCE, FRACTION, OUTPUT_DIR, POSITIVE_INT

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "config_from_args", "demo_data", "run"]

NAME = "tune"
HELP = "search the MLP's hyperparameters"
DESCRIPTION = (
    "Search the malaria MLP's hyperparameters; writes trials.csv, best_model.keras and best.json "
    "to --out and resumes from it."
)


def _config_fields():
    from kerasx.tuning.config import TuneConfig  # light: no Keras

    return TuneConfig, TuneConfig.options()


def add_arguments(parser):
    """Adds the ``tune`` options to ``parser``: the data, ``--out``, and one per config field."""
    parser.add_argument(
        "--data",
        type=DATA_SOURCE,
        default=None,
        help='malaria images: "tfds", "synthetic" or a folder with Parasitized/ and Uninfected/ '
        "(kerasx.data.load_malaria); default: a small built-in learnable problem (no download)",
    )
    parser.add_argument("--fraction", type=FRACTION, default=None, help="share of the data to use")
    parser.add_argument(
        "--image-size", type=POSITIVE_INT, default=100, help="images resized to N×N"
    )
    parser.add_argument(
        "--out",
        type=OUTPUT_DIR,
        default="kerasx_tune",
        help="output folder: trials.csv, best_model.keras, best.json; rerun to resume",
    )
    _, options = _config_fields()
    for field, parse, check, help_text in options:
        flag = "--" + field.name.replace("_", "-")
        if parse is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            default = field.default
            shown = "" if default is None else f" (default: {default})"
            kind = argument_type(parse, check)
            parser.add_argument(flag, type=kind, default=default, help=help_text + shown)


def config_from_args(args):
    """The :class:`~kerasx.tuning.TuneConfig` of parsed arguments (cross-option checks run here)."""
    config_class, options = _config_fields()
    values = {field.name: getattr(args, field.name) for field, *_ in options}
    return config_class(out=args.out, **values)


def demo_data(n_samples=600, n_features=20, seed=0):
    """A small learnable binary problem: ``((X_train, y_train), (X_test, y_test))``, 80/20.

    >>> (X_train, y_train), (X_test, y_test) = demo_data()
    >>> X_train.shape, X_test.shape
    ((480, 20), (120, 20))
    """
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=5, random_state=seed
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype("float32"), y, test_size=0.2, stratify=y, random_state=seed
    )
    return (X_train, y_train), (X_test, y_test)


def _resolve_split(split, data):
    """``--split``, or its default for ``--data``: ``"patient"`` for a folder, else ``"cell"``.

    Raises:
        ValueError: ``"patient"`` for data without patient ids (``tfds``, ``synthetic``, none).

    >>> _resolve_split(None, "synthetic"), _resolve_split(None, "data/malaria_cells")
    ('cell', 'patient')
    """
    folder = data not in (None, "tfds", "synthetic")
    if split is None:
        return "patient" if folder else "cell"
    if split == "patient" and not folder:
        expected = "'cell' for 'tfds', 'synthetic' and the built-in data (they have no patient ids)"
        raise invalid_value("split", expected, split)
    return split


def _load(args, split, seed):
    """``(X_train, y_train, groups_train), (X_test, y_test)``; groups only for a patient split."""
    if args.data is None:
        (X_train, y_train), test = demo_data(seed=seed)
        return (X_train, y_train, None), test
    from kerasx.data import load_malaria

    options = dict(fraction=args.fraction, image_size=args.image_size, seed=seed, split=split)
    if split == "cell":
        (X_train, y_train), test = load_malaria(args.data, **options)
        return (X_train, y_train, None), test
    train, (X_test, y_test, _) = load_malaria(args.data, **options, return_groups=True)
    return train, (X_test, y_test)


def run(args):
    """Runs ``kerasx tune`` from parsed arguments; returns the exit status."""
    config = config_from_args(args)  # before any data is loaded
    config = dataclasses.replace(config, split=_resolve_split(config.split, args.data))
    (X_train, y_train, groups), (X_test, y_test) = _load(args, config.split, config.seed)
    rows = f"{len(X_train)} training rows"
    if groups is not None:
        rows += f" of {len(set(groups))} patients"
    print(f"[kerasx tune] data: {rows}, {X_train.shape[1:]} features; split: {config.split}")
    from kerasx.tuning import tune

    tune(X_train, y_train, groups=groups, X_test=X_test, y_test=y_test, config=config)
    return 0
