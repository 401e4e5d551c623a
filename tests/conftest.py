"""Test-session set-up shared by every test module."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_MALARIA = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "malaria_cells"
)


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed."""
    return np.random.default_rng(0)


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib Figures that kerasx's plotting modules save, in order (still written), so
    a test can check what a PNG shows: the plotted data, images and titles."""
    import kerasx._plotting
    import kerasx.calibration
    import kerasx.explain

    figures = []
    original = kerasx._plotting.save_figure

    def capture(figure, path, *args, **kwargs):
        figures.append(figure)
        return original(figure, path, *args, **kwargs)

    for module in (kerasx._plotting, kerasx.calibration, kerasx.explain):
        monkeypatch.setattr(module, "save_figure", capture)
    return figures


@pytest.fixture
def malaria_dir():
    """The shared folder of real malaria cell images; skips the test when it is absent."""
    path = os.environ.get("KERASX_MALARIA_DIR", os.path.abspath(SHARED_MALARIA))
    if not os.path.isdir(os.path.join(path, "Parasitized")):
        pytest.skip(f"malaria cell images not found at {path}")
    return path


def pytest_ignore_collect(collection_path, config):
    """Under a non-TensorFlow backend, do not even import test modules that are TensorFlow-only.

    A test module takes part in the JAX run by marking tests ``@pytest.mark.backend_agnostic``;
    the others may import TensorFlow-only code (``kerasx.training``, ``tf.data``) at the top.
    """
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        return None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if "backend_agnostic" not in collection_path.read_text(encoding="utf-8"):
            return True
    return None


def pytest_collection_modifyitems(config, items):
    """Under a non-TensorFlow backend, run only the backend-agnostic component tests."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"TensorFlow-only test (KERAS_BACKEND={backend})")
    for item in items:
        if "backend_agnostic" not in item.keywords:
            item.add_marker(skip)
