"""A model of one's own for a search: a build function, its space, or a ``keras_tuner.HyperModel``.

:func:`as_hypermodel` turns what a user has into the hypermodel a KerasTuner search runs:

- a ``keras_tuner.HyperModel``, used as it is;
- a KerasTuner build function ``build(hp)`` that declares its own hyperparameters;
- a build function with keyword hyperparameters, as scikit-learn's wrappers take it
  (``build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3)``), with a ``space``: one entry
  per hyperparameter in any form :func:`~kerasx.tuning.distributions.search_dimension` reads
  (lists, ``np.arange(4, 33)``, scipy distributions, ``(low, high)``). The course's
  :func:`~kerasx.tuning.build_mlp` is one such function.

:func:`load_build_function` reads ``"module:function"`` as ``uvicorn app:app`` does, for
``kerasx tune --model``.

>>> import numpy as np
>>> from kerasx.tuning.space import build_mlp
>>> hypermodel = as_hypermodel(build_mlp, {"n_neurons": np.arange(4, 33)}, input_shape=(3,))
>>> hypermodel.ranges
{'n_neurons': [4, 32]}
>>> load_build_function("kerasx.tuning.space:build_mlp") is build_mlp
True
"""

import importlib
import inspect
import os
import sys

import keras_tuner

from kerasx._validation import invalid_value
from kerasx.tuning.distributions import search_dimension

__all__ = ["BuildFunctionHyperModel", "as_hypermodel", "load_build_function"]


def _takes(function, name):
    """True when ``function`` has a parameter ``name`` (or takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin or a callable without a signature
        return False
    kinds = {p.kind for p in parameters.values()}
    return name in parameters or inspect.Parameter.VAR_KEYWORD in kinds


def _takes_hp(function):
    """True for a function callable as ``build(hp)``: one required parameter, positional."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True  # cannot tell: KerasTuner will call it with hp
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    required = [p for p in parameters if p.default is p.empty and p.kind not in variadic]
    return len(required) == 1 and required[0].kind != inspect.Parameter.KEYWORD_ONLY


def _function_name(function):
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", type(function).__name__)
    return name if module is None else f"{module}:{name}"


class BuildFunctionHyperModel(keras_tuner.HyperModel):
    """A build function and its search space, as one ``keras_tuner.HyperModel``.

    With a ``space``, each trial declares every entry on KerasTuner's ``hp`` (through
    :func:`~kerasx.tuning.distributions.search_dimension`) and calls
    ``build_fn(**build_kwargs, **drawn values)``; without one, ``build_fn(hp)`` declares its own.

    Args:
        build_fn: returns a compiled Keras model.
        space: ``{name: values}``, or None for a ``build(hp)`` function.
        build_kwargs: fixed keyword arguments of ``build_fn`` (with a ``space``).
        name: the hypermodel's name.
    """

    def __init__(self, build_fn, space=None, build_kwargs=None, name=None):
        super().__init__(name=name or getattr(build_fn, "__name__", "build"), tunable=True)
        self.build_fn = build_fn
        self.build_kwargs = dict(build_kwargs or {})
        self.space = None
        if space is not None:
            if not isinstance(space, dict) or not space:
                raise invalid_value("space", "a non-empty dict {name: values}", space)
            for key in space:
                if not _takes(build_fn, key):
                    expected = f"names of parameters of {_function_name(build_fn)}"
                    raise invalid_value("space", expected, key)
            self.space = {key: search_dimension(key, value) for key, value in space.items()}

    @property
    def builds_mlp(self):
        """True for :func:`~kerasx.tuning.build_mlp`, which ``tuner="sklearn"`` can search."""
        from kerasx.tuning.space import build_mlp

        return self.build_fn is build_mlp and self.space is not None

    @property
    def ranges(self):
        """What identifies the search in its folder: the function and its space, as JSON."""
        if self.space is None:
            return {"build": _function_name(self.build_fn)}
        return {name: dimension.describe() for name, dimension in self.space.items()}

    def param_distributions(self):
        """The space for ``RandomizedSearchCV`` (with :func:`~kerasx.tuning.build_mlp` only)."""
        if not self.builds_mlp:
            raise invalid_value("tuner", "a KerasTuner tuner for this model", "sklearn")
        return {name: dimension.sampler() for name, dimension in self.space.items()}

    def build(self, hp):
        """Builds the compiled model of the hyperparameters drawn on ``hp``."""
        if self.space is None:
            return self.build_fn(hp)
        values = {name: dimension.declare(hp) for name, dimension in self.space.items()}
        return self.build_fn(**self.build_kwargs, **values)


def as_hypermodel(model, space=None, *, input_shape=None, build_kwargs=None):
    """The ``keras_tuner.HyperModel`` that searches ``model`` (see the module's list).

    Args:
        model: a ``keras_tuner.HyperModel``, a build function ``build(hp)``, or a build function
            with keyword hyperparameters (then give ``space``).
        space: ``{name: values}`` for a keyword build function; None otherwise.
        input_shape: the shape of one sample, passed as ``input_shape`` to a keyword build
            function that takes it and does not get it from ``build_kwargs``.
        build_kwargs: fixed keyword arguments of a keyword build function.

    Returns:
        A ``keras_tuner.HyperModel``.

    Raises:
        ValueError: ``model`` is neither; ``space`` with a ``HyperModel``; a ``space`` entry
            the function does not take.
    """
    if isinstance(model, keras_tuner.HyperModel):
        if space is not None or build_kwargs:
            expected = "None with a keras_tuner.HyperModel (it declares its own)"
            raise invalid_value("space", expected, space if space is not None else build_kwargs)
        return model
    if not callable(model):
        expected = "a keras_tuner.HyperModel or a build function returning a compiled model"
        raise invalid_value("model", expected, model)
    if space is None:
        if build_kwargs:
            raise invalid_value("build_kwargs", "None without a space (build(hp))", build_kwargs)
        if not _takes_hp(model):
            expected = "a build function build(hp), or a space for one with keyword hyperparameters"
            raise invalid_value("model", expected, _function_name(model), describe=str)
        return BuildFunctionHyperModel(model)
    build_kwargs = dict(build_kwargs or {})
    if (
        input_shape is not None
        and "input_shape" not in build_kwargs
        and "input_shape" not in (space)
    ):
        if _takes(model, "input_shape"):
            build_kwargs["input_shape"] = tuple(input_shape)
    return BuildFunctionHyperModel(model, space, build_kwargs)


def load_build_function(spec):
    """The object ``spec`` names as ``"module:attribute"`` (``"my_models:build_model"``).

    As ``uvicorn app:app`` does: the module is imported with the current folder on the import
    path (a file ``my_models.py`` here is found), and the attribute may be dotted
    (``"models:Search.build"``). An error inside the user's module is raised as it is.

    Raises:
        ValueError: no ``:``, no such module or attribute, or an object that is neither a
            build function nor a ``keras_tuner.HyperModel``.
    """
    if not isinstance(spec, str) or spec.count(":") != 1 or "" in spec.split(":"):
        raise invalid_value("model", "'module:function', e.g. 'my_models:build_model'", spec)
    module_name, attribute = spec.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not module_name.startswith(error.name):
            raise  # a module the user's module imports is missing: its own error
        hint = "Run from the folder of the module, or add that folder to PYTHONPATH."
        expected = f"an importable module (no module named {error.name!r})"
        raise invalid_value("model", expected, spec, hint=hint) from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            expected = f"a build function or HyperModel named {attribute!r} in {module_name}"
            raise invalid_value("model", expected, spec)
        found = getattr(found, part)
    if not (callable(found) or isinstance(found, keras_tuner.HyperModel)):
        expected = "a build function or a keras_tuner.HyperModel"
        raise invalid_value("model", expected, f"{spec} ({type(found).__name__})", describe=str)
    return found
