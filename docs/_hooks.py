"""MkDocs hooks for kerasx's documentation site (``hooks:`` in ``mkdocs.yml``).

- The course: ``docs/course/NN_*.py`` are symbolic links to ``recipes/NN_*.py``, which
  mkdocs-jupyter reads with jupytext (percent format) and executes. The kernel inherits
  ``KERASX_QUICK=1`` (each recipe reads it as ``--quick``), runs in a temporary folder (so the
  files a step writes land there, not in the repository) and any cell's error fails the build.
  ``KERASX_DOCS_EXECUTE=false`` renders the notebooks without running them (the fast build of
  ``tests/test_docs.py``).
- ``<!-- kerasx-help COMMAND -->`` in a page becomes that command's ``--help`` text, from
  :func:`kerasx.cli.build_parser` (``COMMAND`` empty: the top-level help).
- MathJax 3 is part of the site: its browser build (``es5/``) comes from the ``mathjax``
  package (``django-static-mathjax`` on PyPI, in the ``dev`` extra) and is written under
  ``javascripts/mathjax/``, so formulas render with no network; nothing is fetched at build
  time either.
"""

import contextlib
import importlib.util
import io
import logging
import os
import re
import shutil
import tempfile
import time

HELP_MARKER = re.compile(r"<!--\s*kerasx-help\s*([\w-]*)\s*-->")
log = logging.getLogger("mkdocs.hooks.kerasx")

_state = {}


def on_config(config):
    os.environ.setdefault("KERASX_QUICK", "1")  # each recipe reads it as --quick in a kernel
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("COLUMNS", "100")  # argparse's help width, the same on every machine
    return config


def on_pre_build(config):
    # The notebook kernels start in the build's working directory: a temporary one keeps the
    # runs/ folders the steps write out of the repository. Every path MkDocs uses is absolute
    # by now (docs_dir, site_dir, the snippets' base_path).
    _state["cwd"] = os.getcwd()
    _state["tmp"] = tempfile.mkdtemp(prefix="kerasx-docs-")
    _state["start"] = time.perf_counter()
    os.chdir(_state["tmp"])
    # TensorFlow's C++ start-up lines go straight to file descriptor 2 (see kerasx.cli), which
    # ipykernel copies into the page as red stderr: a kernel profile that leaves descriptor
    # output alone sends them to the build log instead. Python warnings still show.
    profile = os.path.join(_state["tmp"], "ipython", "profile_default")
    os.makedirs(profile)
    with open(os.path.join(profile, "ipython_kernel_config.py"), "w", encoding="utf-8") as file:
        file.write("c.IPKernelApp.capture_fd_output = False\n")
    _state["ipythondir"] = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = os.path.dirname(profile)


def _restore():
    if "cwd" in _state:
        os.chdir(_state.pop("cwd"))
        shutil.rmtree(_state.pop("tmp"), ignore_errors=True)
        previous = _state.pop("ipythondir", None)
        if previous is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = previous


def on_post_build(config):
    log.info("kerasx docs built in %.1f s", time.perf_counter() - _state.get("start", 0))
    _restore()


def on_build_error(error):
    _restore()


#: Where the site serves MathJax from (``extra_javascript`` in mkdocs.yml loads its
#: ``tex-mml-chtml.js``, which finds its fonts and extensions beside it).
MATHJAX_URI = "javascripts/mathjax"
#: The parts of MathJax's ``es5/`` folder that ``tex-mml-chtml.js`` loads: itself, its fonts
#: (``output/``), TeX packages loaded on demand (``input/``), the menu and accessibility parts.
MATHJAX_PARTS = ("tex-mml-chtml.js", "output", "input", "ui", "a11y", "adaptors", "sre")


def mathjax_folder():
    """The installed MathJax ``es5/`` folder; a clear error where the package is missing."""
    spec = importlib.util.find_spec("mathjax")
    folder = None
    if spec is not None and spec.submodule_search_locations:
        folder = os.path.join(spec.submodule_search_locations[0], "static", "mathjax", "es5")
    if folder is None or not os.path.isfile(os.path.join(folder, "tex-mml-chtml.js")):
        raise RuntimeError(
            "MathJax is not installed: the site serves its own copy. Install the docs' "
            'dependencies with `pip install -e ".[dev]"` (django-static-mathjax).'
        )
    return folder


def on_files(files, config):
    from mkdocs.structure.files import File

    folder = mathjax_folder()
    for part in MATHJAX_PARTS:
        source = os.path.join(folder, part)
        paths = [source] if os.path.isfile(source) else []
        for root, _, names in os.walk(source):
            paths += [os.path.join(root, name) for name in sorted(names)]
        for path in paths:
            uri = f"{MATHJAX_URI}/{os.path.relpath(path, folder).replace(os.sep, '/')}"
            files.append(File.generated(config, uri, abs_src_path=path))
    return files


def command_help(name):
    """The ``--help`` text of ``kerasx NAME`` (or of ``kerasx`` when ``name`` is empty)."""
    from kerasx.cli import build_parser

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        build_parser().parse_args([name, "--help"] if name else ["--help"])
    return buffer.getvalue().rstrip()


def on_page_markdown(markdown, page, config, files):
    _state["page_start"] = time.perf_counter()  # a notebook page renders (executes) next

    def help_block(match):
        return "```text\n" + command_help(match.group(1)) + "\n```"

    return HELP_MARKER.sub(help_block, markdown)


def on_page_content(html, page, config, files):
    if page.file.src_uri.startswith("course/") and page.file.src_uri.endswith(".py"):
        seconds = time.perf_counter() - _state.get("page_start", time.perf_counter())
        log.info("%s rendered in %.1f s", page.file.src_uri, seconds)
    return html
