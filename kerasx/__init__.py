"""kerasx: Keras 3 components for people who learn neural networks the statistician's way.

Submodules are imported lazily, so ``import kerasx`` is cheap and never pulls in the
TensorFlow-only :mod:`kerasx.training` (which would fail under the JAX backend).

>>> import kerasx
>>> kerasx.__version__
'0.1.0'
"""

import importlib

from kerasx._version import __version__

_SUBMODULES = (
    "backprop",
    "calibration",
    "callbacks",
    "data",
    "distribution",
    "explain",
    "losses",
    "metrics",
    "recipes",
    "regularizers",
    "training",
    "tuning",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"kerasx.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kerasx' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
