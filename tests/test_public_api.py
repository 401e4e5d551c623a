"""Every exported name exists, and ``import kerasx`` stays light."""

import importlib
import subprocess
import sys

import pytest

import kerasx

NOT_SUBMODULES = {"__version__", "InvalidArgument"}
SUBMODULES = [name for name in kerasx.__all__ if name not in NOT_SUBMODULES]


def test_every_exported_name_exists():
    missing = [name for name in kerasx.__all__ if not hasattr(kerasx, name)]
    assert not missing, f"kerasx.__all__ names missing objects: {missing}"
    assert issubclass(kerasx.InvalidArgument, ValueError)


def test_version_is_a_string():
    assert isinstance(kerasx.__version__, str)
    assert kerasx.__version__.count(".") == 2


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_all_names_exist(name):
    module = importlib.import_module(f"kerasx.{name}")
    assert getattr(kerasx, name) is module
    assert hasattr(module, "__all__"), f"kerasx.{name} has no __all__"
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert not missing, f"kerasx.{name}.__all__ names missing objects: {missing}"


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kerasx.nope  # noqa: B018


def test_import_kerasx_does_not_import_tensorflow_only_modules():
    code = (
        "import sys, kerasx; "
        "print(any(m == 'kerasx.training' or m.startswith('tensorflow') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
