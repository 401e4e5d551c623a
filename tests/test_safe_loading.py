"""Safe loading: a model file never runs code on the user's machine.

kerasx never turns Keras's ``safe_mode`` off, and :func:`kerasx.recipes.load_trained_model`
(which every kerasx loader uses) refuses a ``.keras`` or ``.h5`` file that carries a ``Lambda``
with one line, without running it. The Lambda here writes a marker file whenever it runs; the
test proves it would run by loading once with ``safe_mode=False`` itself.
"""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerasx
from kerasx.recipes import load_trained_model

PACKAGE = pathlib.Path(kerasx.__file__).parent


def test_the_package_never_turns_safe_mode_off():
    """A ``load_model(..., safe_mode=False)`` or ``enable_unsafe_deserialization()`` fails this."""
    offenders = []
    for source in sorted(PACKAGE.rglob("*.py")):
        text = source.read_text(encoding="utf-8").replace(" ", "")
        for needle in ("safe_mode=False", "enable_unsafe_deserialization("):
            if needle in text:
                offenders.append(f"{source.relative_to(PACKAGE)}: {needle}")
    assert offenders == []


def model_with_lambda(marker):
    # Self-contained (the marker's path is a constant of its code), so it survives
    # serialization; it writes the marker whenever it runs.
    touch = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x * 2.0)[1]")
    inputs = keras.Input((3,))
    hidden = keras.layers.Lambda(touch, name="doubling")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_lambda_is_refused_in_one_line_and_does_not_run(tmp_path, suffix):
    """A loader that calls ``load_model(path, safe_mode=False)`` (to "just load it") fails here:
    the marker appears. One that relied on Keras alone would give Keras's 5-line message."""
    marker = tmp_path / "marker"
    path = tmp_path / f"model{suffix}"
    model_with_lambda(marker).save(path)
    marker.unlink()  # building the model ran the Lambda once

    with pytest.raises(ValueError) as error:
        load_trained_model(path)
    message = str(error.value)
    assert message == (
        "Invalid value for argument `path`. Expected a model file without Python code; it holds "
        "a `Lambda` layer ('doubling'), whose code would run on loading (kerasx keeps Keras's "
        "safe_mode on: rebuild the model in code and load only its weights). "
        f"Received: path={str(path)!r}"
    )
    assert "\n" not in message
    assert not marker.exists()

    if suffix == ".keras":  # the marker does detect a run: unsafe loading writes it
        keras.models.load_model(path, safe_mode=False)
        assert marker.exists()


SECOND_LINE = """
import sys, keras
from kerasx.recipes import _saving
_saving._code_in = lambda config: None  # the scan misses it
keras.config.enable_unsafe_deserialization()  # a global some other code turned on
try:
    _saving.load_trained_model(sys.argv[1])
except ValueError as error:
    print(error)
"""


def test_keras_safe_mode_is_the_second_line_of_defence(tmp_path):
    """With the configuration scan disabled, Keras's own refusal still stops the Lambda and comes
    out as one line, even after ``keras.config.enable_unsafe_deserialization()``: a loader
    calling ``load_model(path)`` without ``safe_mode=True`` would run it there. In a subprocess,
    since the public API cannot turn that global back off."""
    marker = tmp_path / "marker"
    path = tmp_path / "model.keras"
    model_with_lambda(marker).save(path)
    marker.unlink()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_LINE, str(path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.stdout.startswith("Invalid value for argument `path`. "), result.stderr
    assert "Python code that Keras's safe_mode refused" in result.stdout
    assert result.stdout.count("\n") == 1
    assert not marker.exists()


def test_a_plain_model_still_loads(tmp_path):
    """The scan must not refuse a model without code (a too-broad scan fails here)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.ones((2, 3), "float32")
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        reloaded = load_trained_model(tmp_path / f"m{suffix}")
        np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
