"""``import kerasx`` alone is enough to load a saved model that uses kerasx components.

Each check runs ``keras.models.load_model`` in a fresh Python process that imports only
``keras`` and ``kerasx`` (this test process has imported every kerasx module already, so it
could not notice a class that ``import kerasx`` leaves unregistered). Each child process costs
one Keras import (~3-5 s), so only two run by default; the others are marked slow.
"""

import importlib
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import binary_data

import kerasx
from kerasx import losses, metrics, regularizers

PACKAGE_DIR = pathlib.Path(kerasx.__file__).parent

# Run in a fresh interpreter after IMPORTS, its only kerasx import. sys.argv[1] is a JSON request:
# "names" to look up in Keras's registry (before any loading), "paths" of models to load, whose
# predictions it saves beside them, and "data", the folder of x.npy and y.npy to evaluate on.
CHILD_CODE = """\
{imports}
import json, os, sys
import numpy as np
request = json.loads(sys.argv[1])
report = {{"backend": keras.backend.backend(), "training": "kerasx.training" in sys.modules}}
found = {{name: keras.saving.get_registered_object(name) for name in request.get("names", [])}}
report["registered"] = {{
    name: None if obj is None else f"{{obj.__module__}}.{{obj.__qualname__}}"
    for name, obj in found.items()
}}
for path in request.get("paths", []):
    x, y = (np.load(os.path.join(request["data"], f"{{v}}.npy")) for v in "xy")
    model = keras.models.load_model(path)
    np.save(path + ".pred.npy", np.asarray(model.predict(x, verbose=0)))
    report[path] = model.evaluate(x, y, return_dict=True, verbose=0)
print(json.dumps(report))
"""


def run_child(imports, backend="tensorflow", **request):
    """Runs :data:`CHILD_CODE` in a fresh interpreter and returns its report."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    code = CHILD_CODE.format(imports=imports)
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(request, default=str)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def build_model():
    """A small binary classifier with a kerasx loss, two kerasx metrics and regularizers."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(
        5, "tanh", kernel_regularizer=regularizers.ElasticNet(0.01, l1_ratio=0.3)
    )(inputs)
    hidden = keras.layers.Dense(3, "tanh", kernel_regularizer=regularizers.GroupLasso(0.02))(hidden)
    outputs = keras.layers.Dense(1, "sigmoid")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss=losses.PolyLoss(epsilon=2.0, mode="binary"),
        metrics=[metrics.MatthewsCorrelation(), metrics.BrierScore()],
    )
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained model saved to ``.keras`` then ``.h5`` (in that order: keras-team/keras#23475),
    the data, and the original's predictions and ``evaluate`` values."""
    folder = tmp_path_factory.mktemp("saved")
    x, y = binary_data(n=64, n_features=4)
    y = y[:, None]  # kerasx losses want y_true shaped like y_pred
    model = build_model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    paths = {fmt: folder / f"model.{fmt}" for fmt in ("keras", "h5")}
    for path in paths.values():
        model.save(path)
    expected = {
        "pred": np.asarray(model.predict(x, verbose=0)),
        "eval": model.evaluate(x, y, return_dict=True, verbose=0),
    }
    return folder, paths, expected


def check_loaded(report, path, expected, rtol=1e-6):
    np.testing.assert_allclose(np.load(f"{path}.pred.npy"), expected["pred"], rtol=rtol, atol=1e-7)
    assert sorted(report[str(path)]) == sorted(expected["eval"])
    for name, value in expected["eval"].items():
        assert report[str(path)][name] == pytest.approx(value, rel=rtol, abs=1e-7), name


def registering_modules():
    """Every kerasx module whose source registers a class with Keras (found by grep)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "register_keras_serializable" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.fixture(scope="module")
def registered():
    """``{registered name: "module.qualname"}`` of every kerasx object in Keras's registry here,
    after importing every module that registers one (bare names such as "TapeModel" included)."""
    modules = registering_modules()
    assert {"kerasx.losses", "kerasx.metrics", "kerasx.training"} <= set(modules)
    for module in modules:
        importlib.import_module(module)
    found = {
        name: f"{obj.__module__}.{obj.__qualname__}"
        for name, obj in keras.saving.get_custom_objects().items()
        if obj.__module__.split(".")[0] == "kerasx"
    }
    assert {"kerasx>TapeModel", "TapeModel", "kerasx>PolyLoss", "kerasx>ElasticNet"} <= set(found)
    return found


def test_keras_and_h5_load_after_import_kerasx(saved, registered):
    """The bug of issue 21: with lazy submodules, ``import kerasx`` registered nothing, and
    ``load_model`` failed with "<class 'keras.src.layers.core.dense.Dense'> could not be
    deserialized properly" (its ``kernel_regularizer`` is "kerasx>ElasticNet")."""
    folder, paths, expected = saved
    report = run_child(
        "import keras, kerasx", names=sorted(registered), paths=list(paths.values()), data=folder
    )
    assert report["registered"] == registered
    for path in paths.values():
        check_loaded(report, path, expected)


IMPORT_ORDERS = [
    "import kerasx; import keras",
    # Keras first imported halfway through a registering module's (or TensorFlow's) import:
    pytest.param("from kerasx.metrics import BrierScore; import keras", marks=pytest.mark.slow),
    pytest.param("import kerasx; import tensorflow; import keras", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("imports", IMPORT_ORDERS)
def test_kerasx_then_keras_registers_every_kerasx_class(imports, registered):
    """Keras imported after kerasx: every kerasx class is registered, under the same name."""
    report = run_child(imports, names=sorted(registered))
    missing = sorted(name for name, obj in report["registered"].items() if obj is None)
    assert not missing, f"not registered after {imports!r}: {missing}"
    assert report["registered"] == registered
    assert report["training"] is True


@pytest.mark.slow
def test_keras_loads_under_jax(saved, registered):
    """A ``.keras`` file saved under TensorFlow loads under JAX, without importing the
    TensorFlow-only ``kerasx.training``, with the same predictions and metric values."""
    pytest.importorskip("jax")
    folder, paths, expected = saved
    backend_agnostic = sorted(name for name in registered if "TapeModel" not in name)
    report = run_child(
        "import kerasx, keras",
        backend="jax",
        names=backend_agnostic,
        paths=[paths["keras"]],
        data=folder,
    )
    assert (report["backend"], report["training"]) == ("jax", False)
    assert report["registered"] == {name: registered[name] for name in backend_agnostic}
    check_loaded(report, paths["keras"], expected, rtol=1e-5)


def test_import_kerasx_alone_imports_no_keras():
    """Registration waits for Keras: the command line chooses the backend after ``import
    kerasx`` and before Keras."""
    code = "import json, sys, kerasx; print(json.dumps('keras' in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) is False
