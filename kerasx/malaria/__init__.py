"""The malaria job end to end, as a typed Python API: the same job as ``kerasx malaria``.

Trains the course's malaria MLP (:func:`kerasx.recipes.malaria_mlp`) and the small CNN
(:func:`kerasx.recipes.malaria_cnn`) with early stopping, fits the logistic-regression baseline
on the same training images, scores all of them on the same test images (held-out patients for a
folder in the NIH layout, held-out cells otherwise, or every image of ``test_data``) and writes
curves, ROC, calibration, the worst mistakes, Grad-CAM, ``metrics.json``, the saved models, a
summary and one self-contained ``report.html`` to one folder.

- :class:`MalariaConfig`: the settings, frozen and checked (the command's options are its fields).
- :func:`run_malaria`: ``run_malaria(config, out) -> MalariaRun``.
- :class:`RunMismatch`: the folder holds another run (other settings or data): nothing is mixed.
- :class:`SplitLeak`: the split audit found identical images, or patients a patient split should
  keep apart, on both sides: the run stops before training unless ``allow_overlap``.

>>> from kerasx.malaria import MalariaConfig, output_files
>>> config = MalariaConfig(data="synthetic", quick=True, model="mlp")
>>> config.models, config.split
(('mlp',), 'cell')
>>> output_files(config.models)[-1]
'report.html'

A run (minutes of training: not run here)::

    run = run_malaria(MalariaConfig(data="path/to/cell_images"), "runs/malaria")
    run.scores["cnn"]["accuracy"], run.evaluation
"""

from kerasx.malaria.config import BACKENDS, MODELS, MalariaConfig, auto_backend
from kerasx.malaria.outputs import featured_model, output_files
from kerasx.malaria.record import (
    BACKUP_DIR,
    METRICS_SCHEMA,
    RunMismatch,
    SplitLeak,
    read_metrics,
)
from kerasx.malaria.run import MalariaRun, run_malaria

__all__ = [
    "BACKENDS",
    "BACKUP_DIR",
    "METRICS_SCHEMA",
    "MODELS",
    "MalariaConfig",
    "MalariaRun",
    "RunMismatch",
    "SplitLeak",
    "auto_backend",
    "featured_model",
    "output_files",
    "read_metrics",
    "run_malaria",
]
