"""No request leaves the machine: the served dashboard, and the notebooks run in JupyterLab.

A classroom server may have no internet. Pages are opened offline (browser_support.py: a request
to another host is recorded and aborted), so a test sees both what the page asked for and what it
shows without it. Screenshots land in test-artifacts/.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from browser_support import PLOTS_ARRIVED, offline_page, screenshot, sync_api
from conftest import ROOT, _free_port
from core.protocols.presets import SCENARIOS

NOTEBOOK_DIR = ROOT / "notebooks"

pytest.importorskip("panel")

# KaTeX writes every formula twice, as MathML (for screen readers) and as HTML; a stylesheet hides
# one of them (KaTeX's hides the MathML, Panel's css/katex.css the HTML). Without either, a formula
# shows as garbled doubled text. Both are inside Bokeh's shadow roots.
KATEX_STATE = """() => {
    const shown = (element) => {
        if (!element) return false;
        const box = element.getBoundingClientRect();
        return box.width > 2 && box.height > 2;
    };
    const state = {formulas: 0, doubled: 0};
    const walk = (root) => {
        root.querySelectorAll(".katex").forEach((formula) => {
            state.formulas += 1;
            if (shown(formula.querySelector(".katex-mathml"))
                    && shown(formula.querySelector(".katex-html"))) state.doubled += 1;
        });
        root.querySelectorAll("*").forEach((element) => {
            if (element.shadowRoot) walk(element.shadowRoot);
        });
    };
    walk(document);
    return state;
}"""

FASTEST_NOTEBOOK_WITH_PLOTS = "04_dendritic_predictive_plasticity.ipynb"
"""The quickest classroom notebook to run (~10 s of kernel time) with several HoloViews plots,
one of them a HoloMap with a slider."""

DASHBOARD_NOTEBOOK = "10_explore_the_dashboard.ipynb"


def _canvas_sizes(locator):
    return [box and (box["width"], box["height"])
            for box in (canvas.bounding_box() for canvas in locator.locator("canvas").all())]


# ---- the served dashboard ---------------------------------------------------------------------

def test_the_served_page_asks_no_other_host(browser, served_app):
    page = offline_page(browser)
    try:
        page.goto(served_app)
        page.wait_for_function(PLOTS_ARRIVED, timeout=90_000)
        page.locator(".katex").first.wait_for(timeout=60_000)  # the equations are typeset
        page.wait_for_timeout(1000)
        screenshot(page, "offline-app.png")
        assert page.external == [], f"the page asked other hosts for {page.external}"
        assert page.locator("canvas").count() >= 6
        assert page.evaluate(KATEX_STATE)["doubled"] == 0
    finally:
        page.close()


# ---- the notebooks in JupyterLab ----------------------------------------------------------------

@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """``jupyter lab`` on a free port of 127.0.0.1 over a copy of notebooks/, with its own
    (empty) settings, workspaces and runtime directories; yields the URL of /lab and the token.

    Offline and quick: no news feed, no update check, no PyPI extension manager; the preferred
    kernel starts with the notebook, and every cell is attached to the page (windowing off), so
    the outputs of all cells can be measured.
    """
    root = tmp_path_factory.mktemp("jupyterlab")
    shutil.copytree(NOTEBOOK_DIR, root / "notebooks")
    (root / "app").symlink_to(ROOT / "app")  # notebook 10 imports the dashboard from ../app
    settings = {"notebook-extension/tracker": {"autoStartDefaultKernel": True,
                                               "windowingMode": "none"},
                "apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False}}
    for plugin, values in settings.items():
        path = root / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(values))
    for name in ("config", "workspaces", "runtime"):
        (root / name).mkdir()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    port, token = _free_port(), "offline-test"
    log = open(root / "jupyterlab.log", "w")
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root / 'notebooks'}",
         "--ServerApp.allow_root=True",  # CI containers run as root; no effect otherwise
         # a quarter of the default 1000 messages a second: a burst of comm messages that comes
         # near the default limit on a busy machine (which drops what exceeds it) fails here
         # every time (app/notebook.py)
         "--ServerApp.iopub_msg_rate_limit=250",
         "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=10):
                break
        except OSError:
            if time.monotonic() > deadline or lab.poll() is not None:
                lab.kill()
                log.close()
                pytest.fail("jupyter lab did not answer:\n"
                            + (root / "jupyterlab.log").read_text(), pytrace=False)
            time.sleep(0.5)
    yield url, token, root / "notebooks"
    lab.terminate()
    try:
        lab.wait(timeout=30)
    except subprocess.TimeoutExpired:
        lab.kill()
    log.close()


def _open_notebook(browser, jupyter_lab, name):
    """The notebook ``name`` open in JupyterLab in an offline page, its kernel started and idle."""
    url, token, _ = jupyter_lab
    page = offline_page(browser)
    # a workspace of its own: JupyterLab would otherwise restore the tabs of the other tests
    page.goto(f"{url}/lab/workspaces/{Path(name).stem}/tree/{name}?token={token}")
    # the status bar: "No Kernel | ...", then "Python 3 (ipykernel) | Initializing", then Idle
    page.get_by_text("(ipykernel) | Idle").wait_for(timeout=90_000)
    return page


PROMPTS = """() => [...document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputPrompt")]
    .map((prompt) => prompt.textContent.trim()).filter((text) => text)"""


def _run_all(page, timeout=300):
    """Run > Run All Cells, and wait until every code cell has run (its prompt shows a number)."""
    deadline, prompts = time.monotonic() + timeout, []
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:  # the cells queue at once ([*]); a click lost while the kernel connects is repeated
            page.wait_for_function(f"() => ({PROMPTS})().some((p) => /\\[(\\*|\\d+)\\]/.test(p))",
                                   timeout=15_000)
            break
        except sync_api.TimeoutError:
            continue
    while time.monotonic() < deadline:
        prompts = page.evaluate(PROMPTS)
        if prompts and all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts):
            return
        page.wait_for_timeout(500)
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    raise AssertionError(f"the notebook did not finish within {timeout} s: prompts {prompts}; "
                         f"errors: {errors.all_inner_texts()}")


@pytest.fixture(scope="module")
def notebook_run(browser, jupyter_lab):
    """The fastest notebook with plots, run top to bottom in JupyterLab offline (Run All)."""
    page = _open_notebook(browser, jupyter_lab, FASTEST_NOTEBOOK_WITH_PLOTS)
    _run_all(page)
    page.wait_for_timeout(2000)  # let BokehJS lay out and draw the last plots
    plots = page.locator(".jp-OutputArea-output:has(canvas)")
    if plots.count():
        plots.first.scroll_into_view_if_needed()
    screenshot(page, "offline-notebook.png")
    yield page
    page.close()


def test_a_notebook_in_jupyterlab_loads_its_plots_without_the_web(notebook_run):
    page = notebook_run
    # every output holding a Bokeh document (data-root-id) below the setup cell shows a drawn plot
    plots = (page.locator(".jp-Notebook .jp-CodeCell").filter(has_not_text="plots_offline()")
             .locator(".jp-OutputArea-output:has([data-root-id])"))
    drawn = [_canvas_sizes(plots.nth(i)) for i in range(plots.count())]
    assert len(drawn) >= 3, f"expected the notebook's plots, found {len(drawn)} Bokeh outputs"
    assert all(any(size and size[0] > 100 and size[1] > 100 for size in sizes)
               for sizes in drawn), f"plot outputs without a drawn canvas: {drawn}"


def test_a_notebook_in_jupyterlab_asks_no_other_host(notebook_run):
    """Panel's stylesheets too, which HoloViews links from its CDN (notebooks/classroom.py)."""
    assert notebook_run.external == [], \
        f"the notebook asked other hosts for {sorted(set(notebook_run.external))}"


@pytest.fixture(scope="module")
def dashboard_in_notebook(browser, jupyter_lab):
    """Notebook 10 in JupyterLab offline, run down to the cell that shows the dashboard."""
    page = _open_notebook(browser, jupyter_lab, DASHBOARD_NOTEBOOK)
    notebook = nbformat.read(NOTEBOOK_DIR / DASHBOARD_NOTEBOOK, as_version=4)
    shown = next(index for index, cell in enumerate(notebook.cells)
                 if cell.cell_type == "code" and cell.source.strip().endswith("\napp"))
    page.locator(".jp-Notebook .jp-Cell").first.click()  # select the first cell
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs a cell and selects the next
    for _ in range(shown + 1):
        page.keyboard.press("Shift+Enter")
    prompt = page.locator(".jp-Notebook .jp-Cell").nth(shown).locator(".jp-InputPrompt")
    prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=120_000)
    try:  # KaTeX typesets once the panes are attached (never, if katex.js did not load)
        page.wait_for_function(f"() => ({KATEX_STATE})().formulas > 0", timeout=30_000)
    except sync_api.TimeoutError:
        pass
    page.wait_for_timeout(2000)
    yield page
    page.close()


@pytest.fixture(scope="module")
def dashboard_after_run_all(browser, jupyter_lab):
    """A copy of notebook 10 (a kernel of its own) run top to bottom in JupyterLab (Run All):
    scenario changes, parameters set from code, nudging and the self-predicting state."""
    copy = "10_run_all.ipynb"
    shutil.copy(jupyter_lab[2] / DASHBOARD_NOTEBOOK, jupyter_lab[2] / copy)
    page = _open_notebook(browser, jupyter_lab, copy)
    _run_all(page)
    page.wait_for_timeout(2000)
    yield page
    page.close()


def _run_new_cell(page, source):
    """Type ``source`` into a new cell at the end of the notebook, run it, and return its output."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("b")  # a new cell below the selected one
    page.keyboard.press("Enter")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=source.splitlines()[0])
    cell.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(
        timeout=60_000)
    return cell.locator(".jp-OutputArea-output").all_inner_texts()


SHOWN_BY_THE_KERNEL = """import json  # what the kernel runs
print(json.dumps({"title": app.simulation.scenario.title,
                  "description": app.simulation.scenario.description, "sliders":
                  {ModelParameters.param[name].label: getattr(app.simulation.network.params, name)
                              for name in SLIDERS}}))"""


def test_the_dashboard_in_a_notebook_shows_its_equations_offline(dashboard_in_notebook):
    page = dashboard_in_notebook
    state = page.evaluate(KATEX_STATE)
    equations = page.get_by_text("Eq. 1: hidden pyramidal soma")
    if equations.count():
        equations.first.scroll_into_view_if_needed()
    screenshot(page, "offline-notebook-dashboard.png")
    assert page.external == [], f"the notebook asked other hosts for {page.external}"
    assert state["formulas"] >= 10 and state["doubled"] == 0, state
    assert page.locator(".jp-OutputArea-output canvas").count() >= 6


def test_the_dashboard_equations_stay_typeset_after_a_parameter_change(dashboard_in_notebook):
    page = dashboard_in_notebook
    _run_new_cell(page, "app.simulation.network.params.g_som = 2.0  # the g_som slider")
    # the equations panel shows the new value of g_som (Playwright's waits let the page run)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not page.external:
        page.wait_for_timeout(500)
    page.wait_for_timeout(1000)
    state = page.evaluate(KATEX_STATE)
    page.get_by_text("Output soma with its teaching current").first.scroll_into_view_if_needed()
    screenshot(page, "offline-notebook-dashboard-changed.png")
    assert (page.external, state["doubled"]) == ([], 0), \
        f"after the change: {state}; the notebook asked other hosts for {page.external}"


def _shown_in_dashboard(dashboard):
    """The scenario title in the selector, the scenario descriptions shown, and every slider's
    value by label, as the page draws them."""
    # (locators look into the Bokeh views' shadow roots; inner_text does not)
    sliders = {}
    for title in dashboard.locator(".bk-slider-title").all_inner_texts():
        label, _, value = title.rpartition(":")
        sliders[label.strip()] = float(value.strip().replace(",", ""))
    return {"title": dashboard.locator("select").first.evaluate(
                "(select) => select.options[select.selectedIndex].text"),
            "descriptions": [scenario.description for scenario in SCENARIOS.values()
                             if dashboard.get_by_text(scenario.description[:60]).count()],
            "sliders": sliders}


WAITING_IN_THE_KERNEL = ("import notebook; print('patches waiting for a closed comm:', "
                         "{comm: len(queue) for comm, queue in notebook._queues.items()})")


def test_after_run_all_the_dashboard_in_a_notebook_shows_the_running_network(
        dashboard_after_run_all):
    """What notebook 10's embedded dashboard draws after Run All (selector, description, every
    slider) is what its kernel runs. It showed "Fig. S1" in the selector and S1's sliders while
    the kernel ran Fig. 2: the patches made during Run All reached the page out of order and
    BokehJS rejected them (app/notebook.py)."""
    page = dashboard_after_run_all
    _run_new_cell(page, "from core.model.parameters import ModelParameters\nfrom main import SLIDERS")
    running = json.loads(_run_new_cell(page, SHOWN_BY_THE_KERNEL)[-1])
    expected = {"title": running["title"], "descriptions": [running["description"]],
                "sliders": running["sliders"]}
    dashboard = page.locator(".jp-OutputArea-output").filter(has=page.locator("select")).first
    deadline = time.monotonic() + 60  # the page may still be applying the Run All's patches
    while True:
        shown = _shown_in_dashboard(dashboard)
        agrees = (shown["title"], shown["descriptions"]) == (expected["title"],
                                                              expected["descriptions"]) \
            and shown["sliders"] == pytest.approx(expected["sliders"], rel=1e-3)
        if agrees or time.monotonic() > deadline:
            break
        page.wait_for_timeout(1000)
    rejected = [error[:200] for error in page.errors if "isn't known" in error]
    # on failure, say whether the kernel still holds patches back for a comm the page never
    # opened (app/notebook.py), and what else the page logged as an error
    waiting = "" if agrees else " ".join(_run_new_cell(page, WAITING_IN_THE_KERNEL))
    assert shown["title"] == expected["title"], (
        f"patches the page rejected: {rejected}; {waiting}; page errors: "
        f"{[error[:200] for error in page.errors]}")
    assert shown["descriptions"] == expected["descriptions"]
    assert shown["sliders"] == pytest.approx(expected["sliders"], rel=1e-3)
    assert rejected == []


def test_after_run_all_the_dashboard_in_a_notebook_asks_no_other_host(dashboard_after_run_all):
    assert dashboard_after_run_all.external == [], \
        f"the notebook asked other hosts for {sorted(set(dashboard_after_run_all.external))}"
