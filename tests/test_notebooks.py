"""The classroom notebooks run top to bottom and are committed clean (no outputs, no counts)."""

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _ids(path):
    return path.stem


def test_the_classroom_notebooks_are_there():
    assert len(NOTEBOOKS) >= 5, f"expected the classroom notebooks in {NOTEBOOK_DIR}"


def _execute(path, directory):
    """Run a temporary copy with the python3 kernel in notebooks/, as a reader would; return the
    failing cell's report, or None."""
    copy = directory / path.name
    shutil.copy(path, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute()
    except CellExecutionError as error:
        return f"{path.name}: a cell failed\n{ANSI.sub('', str(error))}"
    finally:
        nbformat.write(notebook, copy)  # the executed copy stays for inspection
    return None


@pytest.fixture(scope="session")
def executed_notebooks(request, tmp_path_factory):
    """Execute the selected notebooks once, two kernels at a time: each kernel keeps about one
    core busy, and one after the other they took most of the suite's time budget."""
    selected = [item.callspec.params["path"] for item in request.session.items
                if item.originalname == "test_notebook_executes"]
    directory = tmp_path_factory.mktemp("executed_notebooks")
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = dict(zip(selected, pool.map(lambda path: _execute(path, directory), selected)))
    return reports


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_executes(path, executed_notebooks):
    report = executed_notebooks[path]
    if report is not None:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} carry outputs or execution counts; clear "
                       f"them with `jupyter nbconvert --clear-output --inplace {path.name}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_at_classroom_size_by_default(path):
    """The first code cell tagged "parameters" selects the classroom size (what the tests run)."""
    notebook = nbformat.read(path, as_version=4)
    parameters = [cell for cell in notebook.cells
                  if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert parameters, f"{path.name}: no cell tagged 'parameters'"
    assert re.search(r"^CLASSROOM = True$", parameters[0].source, re.MULTILINE), \
        f"{path.name}: the parameters cell must set CLASSROOM = True"


def test_the_notebooks_show_the_equations_stored_on_the_functions_that_run(monkeypatch):
    """``show_equation`` displays the forms that the equations panel shows too, and the
    notebooks on Eqs. 1-9 use it."""
    import sys

    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        import classroom
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    from core.model import equations as eq
    from core.model.parameters import ModelParameters

    shown = []
    monkeypatch.setattr(classroom, "display", shown.append)
    classroom.show_equation(eq.pyramidal_soma_derivative, eq.basal_potential,
                            params=ModelParameters(g_B=1.25))
    assert [math.data for math in shown] == [
        eq.fill(eq.pyramidal_soma_derivative.latex, ModelParameters(g_B=1.25)),
        eq.basal_potential.latex]
    assert "+ 1.25\\,(v^P_{B,k}" in shown[0].data
    for stem in ("02_three_compartment_pyramidal_neuron", "03_interneurons_and_teaching_currents",
                 "04_dendritic_predictive_plasticity"):
        notebook = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
        assert any("show_equation(" in cell.source for cell in notebook.cells
                   if cell.cell_type == "code"), stem
