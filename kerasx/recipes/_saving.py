"""Reloading a saved model ready to continue training (works around a legacy ``.h5`` bug)."""

import os

import keras

from kerasx import _compat

__all__ = ["load_trained_model"]

_H5_SUFFIXES = (".h5", ".hdf5")


def load_trained_model(path):
    """``keras.models.load_model`` that also restores a usable optimizer from legacy ``.h5``.

    Keras 3.15's legacy HDF5 loader builds the restored optimizer without the model's trainable
    variables, so ``fit`` on a reloaded ``.h5`` model fails with "Unknown variable ... This
    optimizer can only be called for the variables it was originally built with". This function
    rebuilds the optimizer from its saved configuration, builds it on the model's trainable
    variables and sets its saved state (e.g. Adam's moments and step count), so training
    continues where it stopped. ``.keras`` files are loaded by Keras unchanged. Objects that
    kerasx registers (its metrics, losses, ...) must have been imported, as for any
    ``keras.models.load_model`` call without ``custom_objects``.

    Args:
        path: a ``.keras`` or ``.h5`` file written by ``model.save``.

    Returns:
        The compiled model.

    >>> import os, tempfile
    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy")
    >>> _ = model.fit(np.ones((4, 2)), np.ones(4), verbose=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.h5")
    >>> model.save(path)
    >>> reloaded = load_trained_model(path)
    >>> int(reloaded.optimizer.iterations)
    1
    >>> _ = reloaded.fit(np.ones((4, 2)), np.ones(4), verbose=0)
    >>> int(reloaded.optimizer.iterations)
    2
    """
    path = os.fspath(path)
    model = keras.models.load_model(path)
    if path.lower().endswith(_H5_SUFFIXES) and getattr(model, "optimizer", None) is not None:
        model.optimizer = _rebuilt_optimizer(model, path)
    return model


def _rebuilt_optimizer(model, path):
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    optimizer.build(model.trainable_variables)
    values = _compat.h5_optimizer_weights(path)
    if values is not None and len(values) == len(optimizer.variables):
        optimizer.set_weights(values)
    return optimizer
