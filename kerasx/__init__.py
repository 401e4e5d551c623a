"""kerasx: Keras 3 components for people who learn neural networks the statistician's way.

Submodules are imported lazily, so ``import kerasx`` is cheap: it imports neither Keras nor
TensorFlow, and the command line can still choose the backend (``KERAS_BACKEND``) after it.

Once Keras is imported as well, before or after kerasx, the modules whose classes Keras must
find by name to load a saved model (``@keras.saving.register_keras_serializable``) are imported:
:mod:`kerasx.losses`, :mod:`kerasx.metrics`, :mod:`kerasx.regularizers`,
:mod:`kerasx.calibration`, and under the TensorFlow backend the TensorFlow-only
:mod:`kerasx.training`. So ``import keras, kerasx`` is enough for
``keras.models.load_model`` to load a model that uses them, with no ``custom_objects``.

>>> import kerasx
>>> kerasx.__version__
'0.1.0'
>>> import keras
>>> keras.saving.get_registered_object("kerasx>ElasticNet").__module__
'kerasx.regularizers'
"""

import contextlib
import importlib
import importlib.abc
import sys
import threading

from kerasx._validation import InvalidArgument
from kerasx._version import __version__

_SUBMODULES = (
    "backprop",
    "calibration",
    "callbacks",
    "conformal",
    "data",
    "distribution",
    "explain",
    "functional",
    "losses",
    "malaria",
    "metrics",
    "recipes",
    "regularizers",
    "stats",
    "training",
    "tuning",
)

# The submodules that register classes with Keras, found with
# `grep -rl register_keras_serializable kerasx/` (tests/test_loading.py checks the list).
_REGISTERING = ("losses", "metrics", "regularizers", "calibration")
_REGISTERING_TENSORFLOW_ONLY = ("training",)

__all__ = ["InvalidArgument", "__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"kerasx.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kerasx' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _register_with_keras():
    """Imports every submodule that registers classes with Keras (Keras must be imported)."""
    import keras

    names = _REGISTERING
    if keras.backend.backend() == "tensorflow":
        names += _REGISTERING_TENSORFLOW_ONLY
    for name in names:
        importlib.import_module(f"kerasx.{name}")


class _RegisterWhenKerasArrives(importlib.abc.MetaPathFinder):
    """Calls :func:`_register_with_keras` once Keras is imported, then leaves ``sys.meta_path``.

    It waits for the outermost import of Keras, TensorFlow or a kerasx module to finish, not
    just Keras's: TensorFlow imports Keras halfway through its own import, and Keras is often
    first imported by a kerasx module (``from kerasx.metrics import ...``); a registering module
    that imported from such a half-executed module would fail.
    """

    _WATCHED = ("keras", "tensorflow")

    def __init__(self):
        self._depth = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._WATCHED and not fullname.startswith("kerasx."):
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _WatchedLoader(spec.loader, self)
        return spec

    def exec_module(self, loader, module):
        depth = getattr(self._depth, "value", 0)
        self._depth.value = depth + 1
        try:
            loader.exec_module(module)
        finally:
            self._depth.value = depth
        if depth == 0 and "keras" in sys.modules and self in sys.meta_path:
            with contextlib.suppress(ValueError):  # another thread got there first
                sys.meta_path.remove(self)
            _register_with_keras()


class _WatchedLoader:
    """Runs a module's own loader through :meth:`_RegisterWhenKerasArrives.exec_module`; passes
    everything else (``create_module``, ``get_code`` for ``python -m``, ...) to that loader."""

    def __init__(self, loader, finder):
        self._loader, self._finder = loader, finder

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def exec_module(self, module):
        # The module keeps its own loader (importlib.resources, inspect and reload use it).
        module.__spec__.loader = module.__loader__ = self._loader
        self._finder.exec_module(self._loader, module)


if "keras" in sys.modules:
    _register_with_keras()
else:
    sys.meta_path.insert(0, _RegisterWhenKerasArrives())
