"""The documentation site: every public name in the reference, every nav page present.

One ``mkdocs build --strict`` into a temporary folder, with the course notebooks rendered but
not executed (``KERASX_DOCS_EXECUTE=false``; CI's docs step executes them), then checks on
what it wrote: the object inventory (``objects.inv``, Sphinx inventory v2) against every
``__all__`` of the public modules, the nav against the files, and the generated parts (the
command help, the changelog, the course pages).
"""

import importlib
import importlib.util
import os
import pathlib
import pkgutil
import re
import subprocess
import sys
import zlib

import pytest

import kerasx

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def public_modules():
    """``kerasx`` and every submodule with no ``_``-prefixed part in its dotted path."""
    names = ["kerasx"]
    for info in pkgutil.walk_packages(kerasx.__path__, "kerasx."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def read_inventory(path):
    """The object names of a Sphinx v2 inventory (four text lines, then zlib-compressed lines
    ``name domain:role priority uri display``)."""
    data = pathlib.Path(path).read_bytes()
    header = data.split(b"\n", 4)
    assert header[0] == b"# Sphinx inventory version 2", header[0]
    assert b"zlib" in header[3], header[3]
    names = set()
    for line in zlib.decompress(header[4]).decode("utf-8").splitlines():
        match = re.match(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        assert match, line
        names.add(match.group(1))
    return names


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, KERASX_DOCS_EXECUTE="false", NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return out


@pytest.fixture(scope="module")
def inventory(site):
    return read_inventory(site / "objects.inv")


def test_read_inventory_on_a_hand_made_file(tmp_path):
    body = "kerasx.losses py:module 1 reference/losses/#$ -\nkerasx.losses.BinaryNLL py:class 1 x/#$ -\n"
    path = tmp_path / "objects.inv"
    path.write_bytes(
        b"# Sphinx inventory version 2\n# Project: p\n# Version: 0\n"
        b"# The remainder of this file is compressed using zlib.\n" + zlib.compress(body.encode())
    )
    assert read_inventory(path) == {"kerasx.losses", "kerasx.losses.BinaryNLL"}


def test_public_modules_include_the_package_submodules():
    found = set(public_modules())
    submodules = {name for name in kerasx.__all__ if name not in ("__version__", "InvalidArgument")}
    assert {f"kerasx.{name}" for name in submodules} <= found
    assert "kerasx.cli" in found and "kerasx.tuning.search" in found
    assert not any("._" in name for name in found)


def test_every_public_name_is_in_the_reference(inventory):
    """``M.name`` for each ``name`` in ``M.__all__``, or the same object under a package above
    ``M`` that exports it (``kerasx.callbacks.HistoryFrame`` for ``kerasx.callbacks.history``)."""
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            accepted = {f"{module_name}.{name}"}
            parts = module_name.split(".")
            for i in range(1, len(parts)):
                parent = importlib.import_module(".".join(parts[:i]))
                if name in getattr(parent, "__all__", ()) and getattr(parent, name, None) is (
                    getattr(module, name)
                ):
                    accepted.add(f"{parent.__name__}.{name}")
            if not accepted & inventory:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"in an __all__ but not in the docs' inventory: {missing}"


def test_every_public_module_with_names_of_its_own_has_a_reference_entry(inventory):
    """Modules whose every name a package above exports (``kerasx.callbacks.history``) may go
    without a section of their own; the others need one."""
    needed = set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        parent = importlib.import_module(module_name.rsplit(".", 1)[0])
        own = set(getattr(module, "__all__", ())) - set(getattr(parent, "__all__", ()))
        if module_name == "kerasx" or module_name.rsplit(".", 1)[1] in kerasx.__all__ or own:
            needed.add(module_name)
    assert {"kerasx", "kerasx.losses", "kerasx.cli", "kerasx.tuning.search"} <= needed
    assert needed - inventory == set()


def test_private_names_stay_out_of_the_reference(inventory):
    assert "kerasx.losses.BinaryNLL" in inventory
    assert "kerasx.losses._in_float32_at_least" not in inventory
    private = [
        name
        for name in inventory
        if any(part.startswith("_") and not part.startswith("__") for part in name.split(".")[-1:])
    ]
    assert private == []


def nav_pages(nav):
    for item in nav:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for value in item.values():
                yield from nav_pages(value) if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def config():
    from mkdocs.config import load_config

    return load_config(str(ROOT / "mkdocs.yml"))


def test_every_nav_page_exists_and_is_built(config, site):
    pages = list(nav_pages(config["nav"]))
    assert len(pages) == len(set(pages)), pages
    for page in pages:
        source = DOCS / page
        assert source.is_file(), f"nav names {page}, which docs/ lacks (or a broken link)"
        stem = page.rsplit(".", 1)[0]
        built = site / ("index.html" if stem == "index" else stem.removesuffix("/index"))
        if built.suffix != ".html":
            built = built / "index.html"
        assert built.is_file(), f"{page} was not built to {built}"


def test_the_course_is_every_recipe_in_order(config):
    steps = sorted(path.name for path in (ROOT / "recipes").glob("[0-9][0-9]_*.py"))
    linked = sorted(path.name for path in (DOCS / "course").glob("[0-9][0-9]_*.py"))
    assert linked == steps
    for name in linked:
        link = DOCS / "course" / name
        assert link.is_symlink() and link.resolve() == (ROOT / "recipes" / name).resolve()
    in_nav = [page for page in nav_pages(config["nav"]) if re.match(r"course/\d\d_", page)]
    assert in_nav == [f"course/{name}" for name in steps]


def test_course_pages_are_rendered_notebooks(site):
    page = (site / "course" / "01_logistic_by_hand" / "index.html").read_text(encoding="utf-8")
    assert "jp-Notebook" in page  # mkdocs-jupyter's notebook markup, not a code listing
    assert "lr_nn" in page
    assert (site / "course" / "01_logistic_by_hand" / "01_logistic_by_hand.py").is_file()


def test_command_help_is_generated_from_the_parser(site):
    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("malaria", "report", "tune"):
        assert f"usage: kerasx {command}" in page
    assert "--data" in page and "kerasx-help" not in page


def test_changelog_page_includes_the_changelog(site):
    """The page is CHANGELOG.md itself (a snippet include), not a copy: every item is there."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    page = (site / "changelog" / "index.html").read_text(encoding="utf-8")
    article = page[page.index("<article") : page.index("</article>")]
    assert "Keep a Changelog" in article
    items = len(re.findall(r"^\s*- ", changelog, re.M))
    assert items > 10
    assert article.count("<li>") == items
    headings = re.findall(r"^#+ (.+)$", changelog, re.M)
    assert len(re.findall(r"<h[1-6]", article)) == len(headings)


def test_benchmarks_table_is_the_readmes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [
        line
        for line in (DOCS / "benchmarks.md").read_text(encoding="utf-8").splitlines()
        if re.match(r"\| (\*\*)?(patient|cell)", line)
    ]
    assert len(rows) == 6
    assert [row for row in rows if row not in readme] == []


def load_extension():
    spec = importlib.util.spec_from_file_location("_griffe_rest", DOCS / "_griffe_rest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_rewrite_roles_doctests_and_literal_blocks():
    to_markdown = load_extension().to_markdown
    assert to_markdown("See :func:`soft_fbeta` and :class:`~kerasx.losses.BinaryNLL`.") == (
        "See `soft_fbeta` and `kerasx.losses.BinaryNLL`."
    )
    text = "Intro.\n>>> f(1)  # doctest: +ELLIPSIS\n2\n\nAfter."
    assert to_markdown(text) == "Intro.\n\n```pycon\n>>> f(1)\n2\n```\n\nAfter."
    text = "One step is::\n\n    forward\n    backward\n\nDone."
    assert to_markdown(text) == "One step is:\n\n```text\nforward\nbackward\n```\n\nDone."
    examples = "Examples:\n    >>> f(1)\n    2"
    assert to_markdown(examples) == examples  # griffe renders Examples sections itself


def test_docstring_rewrite_google_shorthands():
    to_markdown = load_extension().to_markdown
    text = "Args:\n    a, b: as for f.\n    c: own.\n\nRaises:\n    The same errors as f."
    assert to_markdown(text) == (
        "Args:\n    a: as for f.\n    b: as for f.\n    c: own.\n\nRaises: The same errors as f."
    )
    text = "Raises:\n    ValueError: when."
    assert to_markdown(text) == text
