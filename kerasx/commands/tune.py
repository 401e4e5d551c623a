"""``kerasx tune``: search the MLP's hyperparameters into a folder that a rerun resumes.

The search options are the fields of :class:`kerasx.tuning.TuneConfig`, turned into options
here with the same checks (``--max-trials`` is ``max_trials``, and so on); only the data options
(``--data``, ``--fraction``, ``--image-size``) and ``--out`` belong to the command itself. Every
option is checked at parse time, and the options together before the data is loaded:
``--objective`` is the loss or any metric the model compiles, plain or ``val_`` (the MLP's:
``accuracy``, ``auc``, ``matthews_correlation``; a wrong name gets the list), maximized or
minimized as the metric itself says; ``--tuner sklearn`` scores ``val_accuracy``, ``val_auc``
or ``val_matthews_correlation`` by cross-validation. ``--split`` (a config field) says how the
data is split and how
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

import argparse
import dataclasses

from kerasx._validation import argument_type, invalid_value
from kerasx.commands._common import DATA_SOURCE, FRACTION, OUTPUT_DIR, POSITIVE_INT

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "config_from_args", "demo_data", "run"]

NAME = "tune"
HELP = "search the hyperparameters of the MLP or of a model of one's own"
DESCRIPTION = (
    "Search the hyperparameters of the malaria MLP, or of your own model (--model "
    "module:function); writes trials.csv, best_model.keras and best.json to --out and resumes "
    "from it."
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
    parser.add_argument(
        "--model",
        type=_model_spec,
        default=None,
        metavar="MODULE:FUNCTION",
        help="your own model instead of the MLP, imported as uvicorn imports an app "
        "(the current folder is on the import path): a KerasTuner build function build(hp) "
        "returning a compiled model, or a keras_tuner.HyperModel; KerasTuner tuners only",
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


def _model_spec(text):
    """``--model``'s form, ``module:function``, checked at parse time (imported when it runs)."""
    module, _, attribute = text.partition(":")
    if not module or not attribute or ":" in attribute:
        raise argparse.ArgumentTypeError(
            f"expected MODULE:FUNCTION, e.g. my_models:build_model. Received: {text!r}"
        )
    return text


def config_from_args(args):
    """The :class:`~kerasx.tuning.TuneConfig` of parsed arguments (cross-option checks run here).

    ``--model`` is imported here (:func:`kerasx.tuning.models.load_build_function`): an error
    in its name is one line, before any data is loaded.
    """
    config_class, options = _config_fields()
    values = {field.name: getattr(args, field.name) for field, *_ in options}
    spec = getattr(args, "model", None)
    if spec is not None:
        if values["tuner"] == "sklearn":
            expected = "a KerasTuner tuner with --model (--tuner sklearn searches the MLP)"
            raise invalid_value("tuner", expected, "sklearn")
        from kerasx.tuning.models import as_hypermodel, load_build_function

        values["hypermodel"] = as_hypermodel(load_build_function(spec))
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
    if args.model is not None:
        print(f"[kerasx tune] model: {args.model}")
    from kerasx.tuning import tune

    tune(X_train, y_train, groups=groups, X_test=X_test, y_test=y_test, config=config)
    return 0
