"""``kerasx malaria`` (transitional: moved here from ``kerasx.recipes._malaria_job``)."""

NAME = "malaria"
HELP = "train the malaria MLP and the logistic baseline; write curves, metrics, models"
DESCRIPTION = (
    "Train the course's malaria MLP (early stopping) and the logistic-regression baseline on the "
    "same split; print them side by side and write the outputs to --out."
)


def add_arguments(parser):
    from kerasx.recipes import _malaria_job

    _malaria_job.add_arguments(parser)


def run(args):
    from kerasx.recipes import _malaria_job

    return _malaria_job.run_from_args(args)
