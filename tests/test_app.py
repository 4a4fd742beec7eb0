"""The dashboard without a browser: builds, steps, streams, guards, exports, serves /app."""

import html
import json
import urllib.request

import numpy as np
import param
import pytest

pn = pytest.importorskip("panel")
from bokeh.core.validation.check import check_integrity
from bokeh.document import Document
from pyviz_comms import Comm

import main
import plots
from main import App

import live
from core.io import storage
from core.protocols.presets import SCENARIOS
from core.model.parameters import ModelParameters


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


def test_step_runs_one_pattern_and_streams_it_into_the_plots():
    app = App(scenario="fig1")
    pn.panel(app).get_root(Document(), comm=Comm())
    app.step()
    assert app.simulation.network.state.time == pytest.approx(100.0)
    assert app.status.startswith("t = 100.0 ms")
    traces = app.plots.traces.data
    # the step asks for 100 samples of its 1000 steps; samples are at least 50 steps apart
    assert len(traces["time"]) == 1000 // live.MIN_RECORD_EVERY
    assert np.all(np.isfinite(traces["v_A1[0]"]))
    app.step()
    assert app.simulation.network.state.time == pytest.approx(200.0)
    assert len(app.plots.traces.data["time"]) == 2 * 1000 // live.MIN_RECORD_EVERY


def test_ticks_stream_bounded_data(monkeypatch):
    monkeypatch.setattr(main, "MEASURE_EVERY_S", 0.0)  # measure at every tick
    app = App(scenario="fig2")
    pn.panel(app).get_root(Document(), comm=Comm())
    for _ in range(3):
        app.tick()
    assert app.simulation.network.state.steps > 0
    assert len(app.plots.progress.data["time"]) == 4  # the initial row and one per tick
    app.plots.traces.stream({c: np.zeros(3000) for c in app.plots.traces.data}, rollover=1500)
    app.tick()
    assert len(app.plots.traces.data["time"]) == plots.TRACE_ROLLOVER


def test_nudging_switch_reaches_the_model_and_names_its_state():
    app = App(scenario="fig1")
    assert app.simulation.network.nudging is False
    assert app._nudging.label.startswith("Nudging off")
    app.nudging = True
    assert app.simulation.network.nudging is True
    assert app._nudging.label.startswith("Nudging on")


def test_unstable_dt_pauses_with_a_message_instead_of_raising():
    app = App()
    app.running = True
    app.simulation.network.params.dt = 1.5
    app.tick()
    assert app.running is False
    assert app.message.startswith("Paused: dt = 1.5")
    assert app.simulation.network.state.time == 0
    app.reset()
    assert app.message == ""
    app.step()
    assert app.simulation.network.state.time == pytest.approx(100.0)


def test_reset_and_self_predicting_buttons():
    app = App(scenario="fig2")
    app.step()
    app.make_self_predicting()
    np.testing.assert_allclose(app.simulation.network.weights.W_PI[1],
                               -app.simulation.network.weights.W_down[1])
    app.reset()
    assert app.simulation.network.state.time == 0
    assert len(app.plots.traces.data["time"]) == 0


def _controls(app):
    _, _, _, rates, _, switches = app._controls_area.objects
    return app._sliders, rates.objects, switches


def test_sliders_rates_and_plasticity_switches_reach_the_model():
    app = App()
    sliders, rates, switches = _controls(app)
    switches._widgets["learn_PI"].value = False
    assert app.simulation.network.params.learn_PI is False
    slider = sliders["g_A"]
    slider.value = 0.3  # dragging: throttled sliders wait for the release
    assert app.simulation.network.params.g_A == 0.8
    with param.edit_constant(slider):
        slider.value_throttled = 0.3  # what the browser sends on release
    assert app.simulation.network.params.g_A == 0.3
    second_layer = next(w for w in rates if w.label.endswith("k-1, layer 2"))
    second_layer.value = "0.05"
    assert app.simulation.network.params.eta_PP_up == [0.2, 0.05]


def test_equations_show_the_current_values():
    app = App()
    text = " ".join(pane.object for pane in app._equations_area.objects)
    assert r"\color{#1565c0}{0.8}\,(v^P_{A,k} - u^P_k)" in text
    app.simulation.network.params.g_A = 0.3
    text = " ".join(pane.object for pane in app._equations_area.objects)
    assert r"\color{#1565c0}{0.3}\,(v^P_{A,k} - u^P_k)" in text


def test_scenario_and_custom_sizes_rebuild_the_network():
    app = App(scenario="fig1")
    app.scenario = "fig-s1"
    assert app.simulation.scenario.name == "fig-s1"
    assert app.simulation.network.params.learn_PP_up is False
    app.layer_sizes = "30-x"
    assert app.message.startswith("Not changed: layer sizes '30-x'")
    assert app.simulation.network.sizes == (30, 50, 10)
    app.layer_sizes = "20, 30, 30, 5"
    assert app.simulation.network.sizes == (20, 30, 30, 5)
    assert app.message == ""


def test_exports(tmp_path):
    app = App(scenario="fig2")
    app.step()
    exported = json.loads(app.parameters_json().getvalue())
    assert exported["scenario"] == "fig2"
    assert exported["parameters"]["g_A"] == app.simulation.network.params.g_A
    lines = app.traces_csv().getvalue().splitlines()
    assert lines[0].split(",")[:3] == ["time", "apical_sq", "v_A1[0]"]
    assert len(lines) == 1 + 1  # a short (10 ms) pattern is sampled at its end
    path = tmp_path / "network.npz"
    path.write_bytes(app.network_npz().getvalue())
    loaded = storage.load(path)
    np.testing.assert_array_equal(loaded.weights.W_up[1], app.simulation.network.weights.W_up[1])
    assert loaded.state.time == app.simulation.network.state.time


def test_play_joins_and_pause_leaves_the_play_loop():
    import sessions

    app = App()
    app.running = True
    assert sessions.conductor.is_playing(app)
    assert app._play.label == "Pause"
    app.running = False
    assert not sessions.conductor.is_playing(app)
    app.running = True
    app._session_destroyed(None)
    assert not sessions.conductor.is_playing(app)
    assert app.simulation is None
    app.tick()  # a late tick after the session ended does nothing


def test_a_click_puts_a_playing_session_first_in_line():
    import sessions

    first, second = App(), App()
    first.running = second.running = True
    sessions.conductor._last.update({first: 1.0, second: 2.0})
    second.nudging = True
    assert sessions.conductor.next_session(2.01) == (second, 0.0)
    sessions.conductor._touched.clear()
    second.simulation.network.params.g_A = 0.5  # a slider
    assert sessions.conductor.next_session(2.01) == (second, 0.0)
    first.running = second.running = False


def test_panel_serve_app_answers_200_at_slash_app(served_app):
    """The README's command, ``panel serve app/``, serves the page."""
    with urllib.request.urlopen(served_app, timeout=30) as reply:
        assert reply.status == 200
        assert "Dendritic cortical microcircuits" in reply.read().decode()


def test_scenario_switch_updates_the_nudging_button():
    app = App(scenario="fig2")  # starts nudged
    assert app._nudging.label.startswith("Nudging on")
    app.scenario = "fig1"  # starts without a target
    assert app.simulation.network.nudging is False
    assert app._nudging.label.startswith("Nudging off")


def test_a_saved_network_loads_back_and_bad_files_leave_the_session_untouched():
    app = App(scenario="fig2")
    app.step()
    saved = app.network_npz().getvalue()
    app.step()
    app.load_network(saved)
    assert app.simulation.network.state.time == pytest.approx(10.0)
    assert app.message.startswith("Loaded a network at t = 10.0 ms")
    app.simulation.network.params.g_A = 0.5  # the sliders now edit the loaded network's params
    assert _controls(app)[0]["g_A"].value == 0.5

    running = app.simulation.network
    weights = running.weights.copy()
    other = App(scenario="fig2", layer_sizes="30-40-10")
    for content, reason in [(saved[:200], "not a readable network file"),
                            (other.network_npz().getvalue(), "layer sizes [30, 40, 10]")]:
        app.load_network(content)
        assert app.message.startswith("Not loaded (the running network is unchanged)")
        assert reason in app.message
        assert app.simulation.network is running
        for (_, _, a), (_, _, b) in zip(weights.items(), running.weights.items()):
            np.testing.assert_array_equal(a, b)
    app.step()  # and it still runs
    assert app.simulation.network.state.time == pytest.approx(20.0)


def test_playing_sessions_share_one_time_budget():
    import sessions

    first, second = App(), App()
    baseline = sessions.count()
    first.running = True
    assert sessions.count() == baseline + 1
    second.running = True
    assert sessions.share(0.08) == pytest.approx(0.08 / (baseline + 2))
    assert sessions.share(0.08, floor=0.05) == 0.05  # crowded: fewer, longer ticks
    second.running = False
    assert sessions.count() == baseline + 1
    first._session_destroyed(None)  # a closed tab stops counting too
    assert sessions.count() == baseline


def test_time_axes_label_large_times_in_plain_digits():
    """A long session reaches t = 1e5 ms and more: Bokeh's default labels switch to 1.000e+5
    there, and they collided on the weight-alignment plot."""
    app = App()
    for name, fig in app.plots.figures.items():
        assert fig.xaxis[0].formatter.format == "0,0.[00]", name


def _shown_in_page(root):
    """What the page's Bokeh models show: the scenario selector, the description, slider values
    by label and the plain text of the status line."""
    shown = {"sliders": {}, "texts": []}
    for model in root.references():
        title = getattr(model, "title", None)
        if title == "Scenario":
            shown["scenario"] = model.value
        elif type(model).__name__ == "Slider":
            shown["sliders"][title] = model.value
        elif isinstance(getattr(model, "text", None), str):
            shown["texts"].append(model.text)
    return shown


def test_after_a_notebooks_run_all_the_page_shows_the_running_network():
    """Notebook 10's sequence (scenario changes, parameters set from code, nudging, the
    self-predicting state): afterwards the selector, the description, every slider and the
    plots show the running scenario and its network's parameters."""
    app = App(scenario="fig1")
    root = pn.panel(app).get_root(Document(), comm=Comm())
    params = app.simulation.network.params
    app.nudging = True
    params.g_som, params.dt = 2.0, 0.05
    app.scenario = "fig-s1"
    app.make_self_predicting()
    app.simulation.network.params.learn_IP = False
    app.scenario = "fig2"
    app.simulation.network.params.sigma = 0.2  # set from code after the switch
    shown = _shown_in_page(root)
    scenario = app.simulation.scenario
    assert shown["scenario"] == scenario.name == "fig2"
    texts = [html.unescape(text) for text in shown["texts"]]
    assert sum(scenario.description in text for text in texts) == 1, texts
    assert not any(SCENARIOS["fig1"].description in text for text in texts)
    params = app.simulation.network.params
    for name in main.SLIDERS:
        label = ModelParameters.param[name].label
        assert shown["sliders"][label] == pytest.approx(getattr(params, name)), name
    assert app.plots.figures["learning"] in root.references()  # Fig. 2's story plot
    assert app.plots.figures["apical"] not in root.references()  # one click away


def test_no_equation_is_printed_twice():
    """An equation without parameters (Eqs. 3-5) has no symbolic form apart from its values."""
    from equation_panel import equations

    rows = equations(ModelParameters())
    assert any(symbolic is None and title.startswith("Eqs. 3-5") for title, symbolic, _ in rows)
    for title, symbolic, with_values in rows:
        assert symbolic != with_values, title
    app = App()
    latex = [pane.object for pane in app._equations_area.objects
             if isinstance(pane, pn.pane.LaTeX)]
    assert len(latex) == len(set(latex))


def test_the_equations_panel_shows_the_forms_stored_on_the_functions_that_run(monkeypatch):
    """One source: each row of the panel is the ``latex`` of functions of core.model.equations, every
    placeholder names a model parameter, the braces balance, and a changed form shows."""
    import equation_panel
    from core.model import equations as eq

    shown = [function for _, functions in equation_panel.EQUATIONS for function in functions]
    assert all(getattr(eq, function.__name__) is function for function in shown)
    for function in shown:
        names = eq.PLACEHOLDER.findall(function.latex)
        assert set(names) <= set(ModelParameters.param), function.__name__
        depth = 0
        for character in function.latex.replace(r"\{", "").replace(r"\}", ""):
            depth += {"{": 1, "}": -1}.get(character, 0)
            assert depth >= 0, function.__name__
        assert depth == 0, function.__name__
    params = ModelParameters(g_B=1.25)
    rows = equation_panel.equations(params)
    assert r"\color{#1565c0}{1.25}" in rows[0][2] and "g_B" in rows[0][1]
    monkeypatch.setattr(eq.pyramidal_soma_derivative, "latex", r"\frac{du}{dt} = «g_B» \cdot 2")
    assert equation_panel.equations(params)[0][1:] == (
        rf"\frac{{du}}{{dt}} = {ModelParameters.param['g_B'].symbol} \cdot 2",
        r"\frac{du}{dt} = \color{#1565c0}{1.25} \cdot 2")


def test_in_a_notebook_patches_made_before_the_comm_opens_leave_in_order_as_one(monkeypatch):
    """Run All changes the dashboard before the page's comm is open: every patch waits, and once
    it opens all leave as one message of three comm messages, their events in the order they were
    made, their data arrays in its text (app/notebook.py). Sent with binary buffers, two comm
    messages an array, notebook 10's Run All burst past the Jupyter server's message rate limit,
    which dropped some, and the page lost the patch that changed the scenario."""
    import base64
    import gzip

    import notebook
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    sent, retries = [], []  # what goes over the comm: (data, buffers) per comm message
    monkeypatch.setattr(notebook, "_flush_later", retries.append)
    assert pn.io.notebook.push is notebook.push  # main.py routed Panel's pushes through it
    import holoviews.plotting.plot
    assert holoviews.plotting.plot.push is notebook.push  # HoloViews' plot updates too
    slider = pn.widgets.FloatSlider(start=0, end=10, value=0)
    source = ColumnDataSource({"time": np.zeros(0)})
    fig = figure()
    fig.line("time", "time", source=source)
    layout = pn.Column(slider, pn.pane.Bokeh(fig))
    doc, comm = Document(), Comm()
    comm.send = lambda data=None, metadata=None, buffers=(): sent.append((data, list(buffers)))
    doc.add_root(layout.get_root(doc, comm=comm))
    doc.hold()  # as in a notebook: changes collect until Panel pushes them
    comm._comm = None  # not open yet
    for value in (1.0, 2.0, 3.0):
        slider.value = value  # Panel pushes each change
        source.stream({"time": np.full(4, value)})  # array data, as the plots send
        notebook.push(doc, comm)
    assert sent == [] and retries == [comm]  # one retry per comm, not one per patch
    notebook._flush(comm)  # still closed: waits again
    assert sent == [] and retries == [comm, comm]
    comm._comm = object()  # the page opened it
    notebook._flush(comm)
    assert len(sent) == 3 and all(isinstance(data, str) and not buffers for data, buffers in sent)
    header, content = json.loads(sent[0][0]), json.loads(sent[2][0])
    assert header["msgtype"] == "PATCH-DOC" and header.get("num_buffers", 0) == 0
    events = content["events"]
    assert [event.get("new") for event in events if event.get("attr") == "value"] == [1.0, 2.0, 3.0]
    streamed = [event["data"]["entries"][0][1]["array"]["data"] for event in events
                if event["kind"] == "ColumnsStreamed"]
    raw = [base64.b64decode(data) for data in streamed]
    raw = [gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data for data in raw]  # Bokeh may gzip
    assert [np.frombuffer(data).tolist() for data in raw] == [[v] * 4 for v in (1.0, 2.0, 3.0)]
    slider.value = 4.0  # nothing waits any more: sent at once
    assert len(sent) == 6 and [event["new"] for event in json.loads(sent[-1][0])["events"]] == [4.0]
    assert retries == [comm, comm]


def test_in_a_notebook_updates_keep_panels_stylesheets_inline(monkeypatch):
    """An update that links Panel's stylesheets from its CDN -- a changed ``stylesheets`` or a new
    model -- reaches the page with the same files inline (app/notebook.py): offline, a link
    fails and the formulas show twice."""
    import notebook
    from bokeh.models import ImportedStyleSheet, InlineStyleSheet
    from panel.io.resources import CDN_DIST, DIST_DIR

    sent = []
    monkeypatch.setattr(notebook.panel.io.notebook, "send",
                        lambda comm, msg: sent.append(msg.content_json))
    monkeypatch.setattr(pn.config, "inline", True)
    markdown_css = (DIST_DIR / "css" / "markdown.css").read_text(encoding="utf-8")
    layout = pn.Column(pn.pane.Markdown("before"))
    doc, comm = Document(), Comm()
    comm._comm = object()  # open
    root = layout.get_root(doc, comm=comm)
    doc.add_root(root)
    doc.hold()
    shown, new = root.children[0], pn.pane.Markdown("new").get_root(doc, comm=comm)
    for model in (shown, new):  # what a pane update or a new pane does in a notebook
        model.stylesheets = [*model.stylesheets,
                             ImportedStyleSheet(url=f"{CDN_DIST}css/markdown.css?v=1")]
    root.children = [shown, new]
    notebook.push(doc, comm)
    assert len(sent) == 1 and CDN_DIST not in sent[0]
    for model in (shown, new):
        assert isinstance(model.stylesheets[-1], InlineStyleSheet)
        assert model.stylesheets[-1].css == markdown_css
    assert shown.stylesheets[-1] is new.stylesheets[-1]  # one copy per file and patch
    markdown = shown.stylesheets[-1]
    shown.stylesheets = [*shown.stylesheets[:-1],
                         ImportedStyleSheet(url=f"{CDN_DIST}css/markdown.css?v=1")]
    notebook.push(doc, comm)  # a later patch: a copy of its own, defined in that patch
    copy = shown.stylesheets[-1]
    assert copy is not markdown and f"\"id\":\"{copy.id}\",\"attributes\":{{\"css\"" in sent[-1]
    assert CDN_DIST not in sent[-1] and len(sent) == 2
