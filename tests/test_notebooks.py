"""The course as notebooks: every ``recipes/NN_*.py`` is also a jupytext percent-format notebook.

The script is the single source: ``jupytext`` reads it as a notebook (``# %%`` code cells,
``# %% [markdown]`` cells in the course's voice) and the docs build renders it executed. The fast
tests check that the notebook *is* the script (same code, nothing lost into a markdown cell); the
slow ones execute each notebook in a real kernel with ``KERASX_QUICK=1`` through nbclient, and
check that it prints what the script prints and shows its figures.
"""

import ast
import pathlib

import jupytext  # the dev extra has jupytext, nbclient and ipykernel
import nbclient
import pytest
from test_recipe_scripts import CHECKS

RECIPES = pathlib.Path(__file__).resolve().parent.parent / "recipes"
SCRIPTS = sorted(RECIPES.glob("[0-9]*.py"))

# Figures each notebook shows (image/png outputs) in quick mode: curves, confusion matrices,
# Grad-CAM. Steps 3, 4, 7 and 8 show tables only.
FIGURES = {
    "01_logistic_by_hand.py": 1,
    "02_keras_logistic.py": 1,
    "03_softmax.py": 0,
    "04_mlp_parameters.py": 0,
    "05_regularization.py": 1,
    "06_malaria_mlp_vs_baseline.py": 3,
    "07_hyperparameter_search.py": 0,
    "08_save_load_continue.py": 0,
    "09_malaria_cnn.py": 4,
    "10_intervals_by_patient.py": 1,
}


def read(script):
    return jupytext.read(script, fmt="py:percent")


def code_of(notebook):
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def test_every_script_has_an_expected_figure_count():
    assert [script.name for script in SCRIPTS] == sorted(FIGURES)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_notebook_is_the_script(script):
    """The notebook's code cells, concatenated, are the script's code (compared as Python ASTs).

    The script is parsed by Python and the notebook by jupytext, two independent readers. A
    code line left inside a markdown cell (run by the script, a comment in the notebook), a
    ``# %matplotlib inline`` that jupytext turns into a magic (run by the notebook only, and not
    Python) would each make them differ.
    """
    notebook = read(script)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert set(kinds) == {"markdown", "code"}, kinds
    assert kinds[0] == "markdown", "a step opens with what it shows"
    assert notebook.cells[0].source.startswith("# Step "), notebook.cells[0].source[:80]
    assert all(cell.source.strip() for cell in notebook.cells), "an empty cell"
    script_tree = ast.parse(script.read_text(encoding="utf-8"))
    assert ast.dump(ast.parse(code_of(notebook))) == ast.dump(script_tree)


def _text_and_images(notebook):
    text, images = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                text.append(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                images += "image/png" in output.data
                text.append(output.data.get("text/plain", "") + "\n")
    return "".join(text), images


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_notebook_executes(script, tmp_path, monkeypatch):
    """Runs the notebook in a kernel with KERASX_QUICK=1: no cell may fail, and it prints what
    the script's quick run prints (the checks of ``test_recipe_scripts.py``) and shows its
    figures."""
    monkeypatch.setenv("KERASX_QUICK", "1")  # the kernel inherits this process's environment
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = read(script)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},  # 06, 08 and 09 write to the cwd
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    text, images = _text_and_images(notebook)
    CHECKS[script.name](text)
    assert images == FIGURES[script.name], f"{images} figures shown"
