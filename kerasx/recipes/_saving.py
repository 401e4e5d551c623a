"""Reloading a saved model ready to continue training (works around a legacy ``.h5`` bug).

Loading never runs code from the file: Keras's ``safe_mode`` stays on (kerasx never turns it
off), and a file whose stored configuration carries Python code is refused before Keras reads
it, with one line that says so.
"""

import json
import os
import zipfile

import keras

from kerasx import _compat
from kerasx._validation import invalid_value

__all__ = ["load_trained_model", "refuse_code"]

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

    A file that carries Python code (a ``Lambda`` layer, a serialized Python lambda) is refused
    and the code does not run: its stored configuration is read first (``config.json`` of a
    ``.keras`` archive, the ``model_config`` attribute of an ``.h5`` file), and Keras then loads
    with ``safe_mode=True`` as a second line of defence, even where unsafe deserialization was
    enabled globally (``keras.config``).

    Args:
        path: a ``.keras`` or ``.h5`` file written by ``model.save``.

    Returns:
        The compiled model.

    Raises:
        ValueError: the file carries Python code (one line, naming the layer), or is neither a
            ``.keras`` archive nor an HDF5 file.
        FileNotFoundError: ``path`` does not exist or is a folder.

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
    _check_model_file(path)
    refuse_code(path)
    try:
        with _compat.forced_safe_mode():  # even where the global flag was turned off
            model = keras.models.load_model(path, safe_mode=True)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise
        raise _refusal(path, "Python code that Keras's safe_mode refused") from None
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


def _check_model_file(path):
    """Raises a clear error for a missing path or a file that is no saved model.

    (Keras says "File not found" for both, and names only the ``.keras`` format.)
    """
    if not os.path.isfile(path):
        what = "is a folder" if os.path.isdir(path) else "not found"
        raise FileNotFoundError(f"Model file {what}: {path!r}. Expected a `.keras` or `.h5` file.")
    if zipfile.is_zipfile(path):
        return
    import h5py

    if not h5py.is_hdf5(path):
        expected = "a `.keras` (zip) or `.h5` (HDF5) file written by `model.save`"
        raise invalid_value("path", expected, path)


def refuse_code(path):
    """Raises a one-line ``ValueError`` when the model file ``path`` carries Python code.

    Reads only the stored configuration (JSON), never deserializes it; a file whose
    configuration cannot be read is left to Keras (which loads in safe mode).
    """
    found = _code_in(_stored_config(os.fspath(path)))
    if found is not None:
        raise _refusal(path, found)


def _refusal(path, what):
    expected = (
        f"a model file without Python code; it holds {what}, whose code would run on loading "
        "(kerasx keeps Keras's safe_mode on: rebuild the model in code and load only its weights)"
    )
    return invalid_value("path", expected, os.fspath(path))


def _stored_config(path):
    """The model configuration stored in a ``.keras`` archive or an ``.h5`` file, or ``None``."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return None
            return json.loads(archive.read("config.json"))
    try:
        import h5py

        with h5py.File(path, "r") as file:
            text = file.attrs.get("model_config")
    except (OSError, ImportError):
        return None
    if text is None:
        return None
    return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)


def _code_in(config):
    """A description of the first piece of Python code in ``config``, or ``None``."""
    if isinstance(config, dict):
        kind = config.get("class_name")
        if kind == "Lambda":
            name = (config.get("config") or {}).get("name", "?")
            return f"a `Lambda` layer ({name!r})"
        if kind == "__lambda__":
            return "a serialized Python lambda"
        children = config.values()
    elif isinstance(config, list):
        children = config
    else:
        return None
    for child in children:
        found = _code_in(child)
        if found is not None:
            return found
    return None
