"""``kerasx audit``: check a train/test split for leakage before trusting its test score.

Runs :func:`kerasx.data.audit.audit_split` on the split that ``kerasx.data.split_files`` makes
of a folder (``--split``, ``--seed``, ``--fraction``; by patient unless told otherwise), or on
all of a folder against all of ``--test-data``, and prints its table. The exit status says
whether the split is clean, so a script can stop on a leaky one.

>>> from kerasx.commands._common import CommandParser
>>> parser = CommandParser(prog="kerasx audit")
>>> add_arguments(parser)
>>> args = parser.parse_args(["."])
>>> args.data, args.test_data, args.split, args.near_distance
('.', None, None, None)
>>> parser.parse_args([]).data is None  # refused by run(), in argparse's words
True
"""

from kerasx.commands._common import FRACTION, NON_NEGATIVE_INT, existing_folder

NAME = "audit"
HELP = "check a split for leakage: patients on both sides, identical and near-duplicate images"
DESCRIPTION = (
    "Check the train/test split of a folder of NIH cell images for leakage: patients with "
    "cells on both sides, identical image files on both sides, and near-duplicates (the same "
    "picture re-encoded or resized: a 256-bit perceptual hash within --near-distance bits). "
    "Without --test-data it audits the split `kerasx malaria --data DIR` makes (--split, "
    "--seed, --fraction); with --test-data, all of DIR against all of the other folder. "
    "Exit status: 0 when clean, 1 when a patient or an identical image is on both sides "
    "(near-duplicates alone are reported, exit 0), 2 for bad input."
)

__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]


_image_folder = existing_folder("a folder of Parasitized/ and Uninfected/ PNGs")


def add_arguments(parser):
    """Adds the ``kerasx audit`` options to an ``argparse`` parser."""
    parser.add_argument(
        "data",
        nargs="?",  # required, checked in run(): every command parses without arguments
        type=_image_folder,
        default=None,
        metavar="DIR",
        help="a folder with Parasitized/ and Uninfected/ subfolders of NIH cell PNGs",
    )
    parser.add_argument(
        "--test-data",
        type=_image_folder,
        default=None,
        metavar="DIR2",
        help="audit all of DIR (the training side) against all of this folder (the test side)",
    )
    parser.add_argument(
        "--split",
        choices=("patient", "cell"),
        default=None,
        help="the split of DIR to audit, as `kerasx malaria --split` (default: patient); "
        "not with --test-data",
    )
    parser.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=None, help="seed of the split (default: 0)"
    )
    parser.add_argument(
        "--fraction",
        type=FRACTION,
        default=None,
        help="share of DIR to split, as `kerasx malaria --fraction` (default: 1)",
    )
    parser.add_argument(
        "--near-distance",
        type=NON_NEGATIVE_INT,
        default=None,
        metavar="BITS",
        help="most of the 256 pHash bits in which two images may differ to count as "
        "near-duplicates, up to 64 (default: 16, measured on the NIH cells: re-encodings "
        "moved at most 14, distinct cells were 26 or more apart)",
    )


def _sides(args):
    """``(train_files, test_files, description)`` of the split the options name."""
    from kerasx._validation import invalid_value
    from kerasx.data import split_files
    from kerasx.data.sources import _list_folder

    if args.test_data is None:
        split, seed = args.split or "patient", args.seed or 0
        train, test = split_files(args.data, split=split, seed=seed, fraction=args.fraction)
        fraction = "" if args.fraction is None else f", fraction {args.fraction}"
        return train, test, f"{split} split of {args.data} (seed {seed}{fraction})"
    for option in ("split", "seed", "fraction"):
        if getattr(args, option) is not None:
            raise invalid_value(
                option,
                "no value with --test-data (all of DIR is audited against all of DIR2)",
                getattr(args, option),
            )
    train, test = _list_folder(args.data)[0], _list_folder(args.test_data)[0]
    return train, test, f"all of {args.data} against all of {args.test_data}"


def run(args):
    """Runs ``kerasx audit`` from parsed arguments; returns the exit status (0 clean, 1 leaky)."""
    from kerasx._validation import InvalidArgument
    from kerasx.data.audit import NEAR_DISTANCE, _check_near_distance, audit_split

    if args.data is None:  # argparse's own words for a missing positional argument
        raise InvalidArgument("the following arguments are required: DIR")
    near_distance = NEAR_DISTANCE if args.near_distance is None else args.near_distance
    _check_near_distance(near_distance)  # before the folder is listed
    train, test, description = _sides(args)
    print(f"[kerasx audit] {description}", flush=True)
    result = audit_split(train, test, near_distance=near_distance)
    print(result.summary())
    return 0 if result.clean else 1
