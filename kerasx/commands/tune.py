"""``kerasx tune`` (transitional: moved here from ``kerasx._tuning_cli``)."""

NAME = "tune"
HELP = "search the MLP's hyperparameters"
DESCRIPTION = (
    "Search the malaria MLP's hyperparameters; writes trials.csv, best_model.keras and best.json "
    "to --out and resumes from it."
)


def add_arguments(parser):
    from kerasx import _tuning_cli

    _tuning_cli.add_arguments(parser)


def run(args):
    from kerasx import _tuning_cli

    return _tuning_cli.run(args)
