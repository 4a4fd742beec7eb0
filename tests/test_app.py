"""The first dashboard: builds without a server, steps the model, serves /app."""

import sys
import urllib.request
from pathlib import Path

import numpy as np
import param
import pytest

pn = pytest.importorskip("panel")
from bokeh.core.validation.check import check_integrity  # noqa: E402
from bokeh.document import Document  # noqa: E402
from pyviz_comms import Comm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from main import App  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_panel_state():
    yield
    pn.state.kill_all_servers()
    pn.state.reset()


def test_viewer_renders_valid_bokeh_models():
    app = App()
    root = pn.panel(app).get_root(Document(), comm=Comm())
    issues = check_integrity(root.references())
    assert not issues.error


def test_step_advances_time_and_records_apical_potentials():
    app = App(preset="fig1")
    app.step()
    assert app.network.state.time == pytest.approx(100.0)
    assert "t = 100.0 ms" in app.status
    # the figure must render to valid Bokeh models (styles are only checked at render time)
    import holoviews as hv
    plot = hv.renderer("bokeh").get_plot(app._plot_pane.object)
    assert not check_integrity(plot.state.references()).error


def test_nudging_switch_reaches_the_model():
    app = App()
    app.nudging = False
    assert app.network.nudging is False
    app.nudging = True
    assert app.network.nudging is True


def test_unstable_dt_is_reported_not_raised():
    app = App()
    app.network.params.dt = 1.5
    app.step()
    assert app.status.startswith("Stopped: dt = 1.5")
    assert app.network.state.time == 0


def test_reset_and_self_predicting_buttons():
    app = App(preset="fig2")
    app.step()
    app.make_self_predicting()
    np.testing.assert_allclose(app.network.weights.W_PI[1], -app.network.weights.W_down[1])
    app.reset()
    assert app.network.state.time == 0


def test_sliders_and_plasticity_switches_reach_the_model():
    app = App()
    sliders, _, switches = app._sliders().objects
    switches._widgets["learn_PI"].value = False
    assert app.network.params.learn_PI is False
    slider = sliders._widgets["g_A"]
    slider.value = 0.3  # dragging: throttled sliders wait for the release
    assert app.network.params.g_A == 0.8
    with param.edit_constant(slider):
        slider.value_throttled = 0.3  # what the browser sends on release
    assert app.network.params.g_A == 0.3


def test_preset_change_rebuilds_the_network():
    app = App(preset="fig1")
    app.preset = "fig-s1"
    assert app.network.params.eta_PI == [0.0005]


def test_panel_serve_app_answers_200_at_slash_app(served_app):
    """The README's command, ``panel serve app/``, serves the page."""
    with urllib.request.urlopen(served_app, timeout=30) as reply:
        assert reply.status == 200
        assert "Dendritic cortical microcircuits" in reply.read().decode()
