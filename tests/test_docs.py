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
    assert "kerasx.cli" in found and "kerasx.tuning.folder" in found
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
    assert {"kerasx", "kerasx.losses", "kerasx.cli", "kerasx.tuning.folder"} <= needed
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
    rows = [  # the full-scale table: one row per model
        line
        for line in (DOCS / "benchmarks.md").read_text(encoding="utf-8").splitlines()
        if re.match(r"\| (\*\*)?(CNN|MLP|logistic)(\*\*)? \(", line)
    ]
    assert len(rows) == 3
    assert [row for row in rows if row not in readme] == []


def load_extension():
    spec = importlib.util.spec_from_file_location("_griffe_rest", DOCS / "_griffe_rest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_rewrite_roles_doctests_and_literal_blocks():
    to_markdown = load_extension().to_markdown
    assert to_markdown("See :func:`soft_fbeta` and :class:`~kerasx.losses.BinaryNLL`.") == (
        "See `soft_fbeta` and `BinaryNLL`."
    )
    resolve = {"soft_fbeta": "kerasx.functional.soft_fbeta"}.get
    assert to_markdown("See :func:`soft_fbeta` and :mod:`keras`.", resolve) == (
        "See [`soft_fbeta`][kerasx.functional.soft_fbeta] and `keras`."
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


# ------------------------------------------------------------------ hosting and offline formulas


def _command_lines(text, marker):
    """The lines of a shell script (or YAML list of commands) that run ``marker``."""
    lines = [line.strip().removeprefix("- ") for line in text.splitlines()]
    return [line for line in lines if marker in line and not line.startswith(("#", "echo "))]


def test_hosting_builds_the_site_with_the_ci_command():
    """.readthedocs.yaml installs and builds as .ci/run's docs step does, only into Read the
    Docs' output folder: a build that passes CI passes there."""
    import yaml

    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text(encoding="utf-8"))
    assert config["version"] == 2
    commands = config["build"]["commands"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (ci_build,) = _command_lines(ci, "mkdocs build")
    (ci_install,) = _command_lines(ci, "pip install")
    assert ci_install in commands
    assert f'{ci_build} --site-dir "$READTHEDOCS_OUTPUT/html"' in commands


def test_the_documentation_url_is_the_sites():
    from mkdocs.config import load_config

    tomllib = pytest.importorskip("tomllib", reason="Python 3.11's tomllib reads pyproject.toml")
    with open(ROOT / "pyproject.toml", "rb") as file:
        urls = tomllib.load(file)["project"]["urls"]
    assert urls["Documentation"] == load_config(str(ROOT / "mkdocs.yml"))["site_url"]
    assert urls["Documentation"].startswith("https://")


def test_no_file_cites_the_teams_notes():
    """The docs and code state facts themselves; the team's notes are not part of the project."""
    names = ("PIT" + "FALLS", "STYLE" + ".md")  # spelled apart, so that this file passes
    cited = []
    for folder in ("kerasx", "docs", "recipes", "benchmarks", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md", ".j2", ".yml") and path.is_file():
                text = path.read_text(encoding="utf-8")
                cited += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in text]
    for name in ("README.md", "CONTRIBUTING.md", "mkdocs.yml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        cited += [f"{name}: {n}" for n in names if n in text]
    assert cited == []


_EXTERNAL = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=\"(https?:)?//", re.I)


def test_the_site_loads_nothing_from_the_network(site):
    """MathJax, its fonts and the theme's fonts are served by the site itself: no page has a
    script, stylesheet, font or image from another host (links to read elsewhere are fine)."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    external = []
    for page in pages:
        for match in _EXTERNAL.finditer(page.read_text(encoding="utf-8")):
            tag = match.group(0)
            if match.group(1).lower() == "link" and not re.search(
                r"rel=\"(stylesheet|preconnect|preload|icon)\"", tag
            ):
                continue  # <link rel="canonical"> and the like load nothing
            external.append(f"{page.relative_to(site)}: {tag}")
    assert external == []
    mathjax = site / "javascripts" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").stat().st_size > 500_000
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    page = (site / "course" / "from-hand-to-keras" / "index.html").read_text(encoding="utf-8")
    assert 'src="../../javascripts/mathjax/tex-mml-chtml.js"' in page
    assert 'class="arithmatex"' in page


# ---------------------------------------------------------- the learners' page runs as written

HAND_TO_KERAS = DOCS / "course" / "from-hand-to-keras.md"


def test_from_hand_to_keras_runs_and_prints_what_it_says(tmp_path, monkeypatch):
    """Every ```python block of the page, in order, in one namespace (as a reader pastes them),
    prints what its ``# →`` comments say; the test then checks the page's claims itself: the
    NumPy and Keras sides agree to float32 precision, and the fitted β is scikit-learn's MLE."""
    import contextlib
    import io

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    text = HAND_TO_KERAS.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    expected = [line.split("# → ", 1)[1].strip() for line in text.splitlines() if "# → " in line]
    monkeypatch.chdir(tmp_path)
    namespace, out = {"__name__": "__page__"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(HAND_TO_KERAS), "exec"), namespace)
    assert out.getvalue().splitlines() == expected

    ns = namespace
    n = len(ns["X"])
    mle = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=10_000)
    mle = mle.fit(ns["X"], ns["y"]).coef_.ravel()
    np.testing.assert_allclose(ns["beta_hand"], mle, atol=1e-3)
    np.testing.assert_allclose(ns["beta_keras"], ns["beta_hand"], rtol=1e-5)
    np.testing.assert_allclose(
        ns["net"].predict(ns["X"], verbose=0), ns["mlp"].predict(ns["X"]), rtol=1e-5, atol=1e-6
    )
    assert n == 1000 and ns["model"].optimizer.learning_rate.numpy() == pytest.approx(
        ns["alpha"] * n
    )
    (hidden_kernel,) = [w for w in ns["net"].get_weights() if w.shape == (2, 4)]
    np.testing.assert_allclose(hidden_kernel, ns["mlp"].weights[0], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ formulas in a browser, offline

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

_TYPESET = """
const done = arguments[arguments.length - 1];
const report = () => done({
  formulas: document.querySelectorAll("mjx-container").length,
  errors: document.querySelectorAll("mjx-merror").length,
  raw: [...document.querySelectorAll(".arithmatex")].filter(e => !e.querySelector("mjx-container"))
    .length,
  width: Math.max(0, ...[...document.querySelectorAll("mjx-container")]
    .map(e => e.getBoundingClientRect().width)),
  fonts: [...document.fonts].filter(f => f.family.startsWith("MJX") && f.status === "loaded")
    .length,
  resources: performance.getEntriesByType("resource").map(e => e.name),
});
if (!window.MathJax || !MathJax.startup) { done({missing: true}); }
else { MathJax.startup.promise.then(() => document.fonts.ready).then(report); }
"""


@pytest.fixture(scope="module")
def served_site(site):
    """The built site over HTTP on 127.0.0.1 (fonts from ``file://`` URLs are blocked)."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def offline_browser():
    """Debian's headless chromium that can reach 127.0.0.1 only: any other host fails to resolve."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"Debian's chromium and chromium-driver are not installed ({CHROMIUM})")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize(
    "page",
    [
        "course/from-hand-to-keras/",  # Markdown formulas (pymdownx.arithmatex)
        "course/04_mlp_parameters/",  # a notebook's Markdown cell, $...$
    ],
)
def test_formulas_render_offline_in_a_browser(page, served_site, offline_browser, tmp_path):
    """MathJax typesets every formula from the site's own copy, with its own fonts, while no
    other host can be reached; the page's resources all come from the site. A screenshot of the
    widest formula is saved in the test's folder (``formula.png``)."""
    offline_browser.get(f"{served_site}/{page}")
    result = offline_browser.execute_async_script(_TYPESET)
    assert not result.get("missing"), "MathJax did not load"
    assert result["formulas"] >= 1 and result["errors"] == 0 and result["raw"] == 0, result
    assert result["width"] > 20 and result["fonts"] >= 1, result
    foreign = [url for url in result["resources"] if not url.startswith(served_site)]
    assert foreign == []
    assert any("/javascripts/mathjax/tex-mml-chtml.js" in url for url in result["resources"])
    from selenium.webdriver.common.by import By

    formula = max(  # the widest formula, a display one where the page has one
        offline_browser.find_elements(By.CSS_SELECTOR, "mjx-container"),
        key=lambda element: element.size["width"],
    )
    offline_browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", formula)
    assert formula.screenshot(str(tmp_path / "formula.png"))
    offline_browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "formula.png").stat().st_size > 500
    if os.environ.get("KERASX_SCREENSHOT_DIR"):  # to look at by hand
        import shutil

        name = page.strip("/").replace("/", "_")
        for shot in ("formula.png", "page.png"):
            shutil.copy(
                tmp_path / shot, os.path.join(os.environ["KERASX_SCREENSHOT_DIR"], f"{name}_{shot}")
            )
