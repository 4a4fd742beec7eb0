"""The dashboard served by ``panel serve app/`` (at /app); ``App()`` also displays in a notebook.

Every browser session builds its own :class:`App`, which owns its own
:class:`core.live.LiveSimulation` (nothing mutable is shared between sessions). While playing, the
process's play loop (:mod:`sessions`) ticks it: each tick advances the simulation for a
wall-clock budget and streams the new samples into the plots (:mod:`plots`); sliders edit the running network's own
:class:`~core.parameters.ModelParameters`, so widgets, equations and simulation share one source.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import panel as pn
import param

sys.path.insert(0, str(Path(__file__).resolve().parent))  # plots, equation_panel (served or not)

from core import __version__, storage  # noqa: E402
from core.errors import FileFormatError  # noqa: E402
from core.live import SCENARIOS, LiveSimulation  # noqa: E402
from core.plasticity import RATES, rate_count  # noqa: E402
from core.parameters import ModelParameters, plain_symbol  # noqa: E402
import sessions  # noqa: E402
from equation_panel import equations  # noqa: E402
from plots import LivePlots  # noqa: E402

pn.extension("katex")

TICK_MS = round(1000 * sessions.PERIOD_S)
"""Period of the play loop: 10 plot updates per second (fewer when many sessions play)."""
TICK_BUDGET_S = 0.075
"""Wall time the ticks of one period spend simulating, shared by all sessions of the server
process that are playing (:mod:`sessions`); the rest of the period (streaming the new rows takes a
few ms per session) keeps the server free to answer clicks."""
MIN_TICK_BUDGET_S = 0.0075
"""But a tick simulates at least this long: about what streaming its rows costs, so that a server
crowded with playing sessions still spends half its time simulating (they update less often)."""
SAMPLES_PER_TICK = 20
STATUS_EVERY_S = 1.0
MEASURE_EVERY_S = 0.5
SLIDERS = ["g_lk", "g_B", "g_A", "g_D", "g_som", "sigma", "dt", "presentation_time", "tau_w",
           "tau_0", "learning_lag", "theta"]
SWITCHES = ["learn_PP_up", "learn_IP", "learn_PI", "learn_PP_down"]
SPEEDS = {"as fast as possible": 0, "5 s per second": 5000, "1 s per second": 1000,
          "200 ms per second": 200, "50 ms per second (slow motion)": 50}


def parse_layer_sizes(text):
    """``"30-50-10"`` (or commas/spaces) -> ``[30, 50, 10]``; empty -> ``None``."""
    text = text.strip()
    if not text:
        return None
    parts = [part for part in text.replace(",", " ").replace("-", " ").split()]
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"layer sizes {text!r}: write whole numbers separated by '-', "
                         "e.g. 30-50-10") from None


class App(pn.viewable.Viewer):
    """The live dashboard of one session; see the module docstring."""

    scenario = param.Selector(objects={s.title: s.name for s in SCENARIOS.values()},
                              default="fig1", doc="What to simulate.")
    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="Seed of weights, patterns, noise.")
    layer_sizes = param.String(default="", doc="Custom architecture, e.g. 30-50-50-10 (empty: the "
                                               "scenario's).")
    nudging = param.Boolean(default=False, doc="Output target on (teaching current) or off.")
    speed = param.Selector(objects=SPEEDS, default=0, doc="Simulated time per wall-clock second.")
    running = param.Boolean(default=False, doc="Play (on) or pause (off).")
    status = param.String(default="")
    message = param.String(default="", doc="Why the run paused, when it did.")

    def __init__(self, **params):
        super().__init__(**params)
        # this session's Bokeh document (None outside a server): the play loop ticks it there
        self.document = pn.state.curdoc
        self._conductor = sessions.conductor
        self._status_shown = self._measured = 0.0
        self._plots_area = pn.Column(sizing_mode="stretch_width")
        self._controls_area = pn.Column(sizing_mode="stretch_width")
        self._equations_area = pn.Column(sizing_mode="stretch_width")
        self._description = pn.pane.Markdown(sizing_mode="stretch_width")
        self._build_buttons()
        self._build()
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(self._session_destroyed)

    # ---- building --------------------------------------------------------------------------
    def _build_buttons(self):
        self._play = pn.widgets.Toggle.from_param(
            self.param.running, label=self.param.running.rx.where("Pause", "▶ Play"),
            color="primary")
        self._nudging = pn.widgets.Toggle.from_param(
            self.param.nudging, label=self.param.nudging.rx.where(
                "Nudging on: target shown (click: off)", "Nudging off (click: show the target)"))
        self._alert = pn.pane.Alert(self.param.message, alert_type="warning", visible=False,
                                    sizing_mode="stretch_width")
        self.param.watch(lambda event: setattr(self._alert, "visible", bool(event.new)), "message")
        self._step = pn.widgets.Button(label="Step one pattern")
        self._step.on_click(lambda event: self.step())
        self._reset = pn.widgets.Button(label="Reset")
        self._reset.on_click(lambda event: self.reset())
        self._self_predicting = pn.widgets.Button(label="Initialize to self-predicting state")
        self._self_predicting.on_click(lambda event: self.make_self_predicting())
        self._upload = pn.widgets.FileInput(accept=".npz", multiple=False)
        self._upload.param.watch(lambda event: self.load_network(event.new), "value")
        self._downloads = [
            pn.widgets.FileDownload(callback=self.parameters_json, filename="parameters.json",
                                    label="Parameters (JSON)"),
            pn.widgets.FileDownload(callback=self.traces_csv, filename="traces.csv",
                                    label="Traces (CSV)"),
            pn.widgets.FileDownload(callback=self.network_npz, filename="network.npz",
                                    label="Network (.npz)"),
        ]

    @param.depends("scenario", "seed", "layer_sizes", watch=True)
    def _build(self):
        """A fresh simulation of the chosen scenario (the play loop pauses)."""
        self.running = False
        try:
            simulation = LiveSimulation(self.scenario, seed=self.seed,
                                        layer_sizes=parse_layer_sizes(self.layer_sizes))
        except ValueError as error:
            self.message = f"Not changed: {error}"
            if hasattr(self, "simulation"):
                return
            simulation = LiveSimulation(self.scenario, seed=self.seed)
        self.simulation = simulation
        self.message = ""
        self.nudging = simulation.network.nudging
        self.plots = LivePlots(simulation)
        self._plots_area.objects = [
            pn.GridBox(*[pn.pane.Bokeh(fig, sizing_mode="stretch_width")
                         for fig in self.plots.figures.values()],
                       ncols=2, sizing_mode="stretch_width")]
        self._description.object = (f"**{simulation.scenario.title}**: "
                                    f"{simulation.scenario.description}")
        self._bind_parameters()
        self._show_frame(simulation.advance(0))

    def _bind_parameters(self):
        """Sliders and equations for the running network's own parameter object."""
        self._controls_area.objects = self._parameter_controls()
        self.simulation.network.params.param.watch(self._parameter_changed,
                                                   list(ModelParameters.param))
        self._show_equations()

    def _parameter_controls(self):
        params = self.simulation.network.params
        sliders = pn.Param(params, parameters=SLIDERS, show_name=False,
                           widgets={name: {"throttled": True} for name in SLIDERS})
        switches = pn.Param(params, parameters=SWITCHES, show_name=False)
        return [pn.pane.Markdown("**Parameters** (the equations below show where each acts)"),
                sliders, pn.pane.Markdown("**Learning rates** (per layer, 1/ms)"),
                *self._rate_inputs(params), pn.pane.Markdown("**Plastic weights**"), switches]

    def _rate_inputs(self, params):
        """One number field per layer and weight matrix, writing back the whole list."""
        widgets = []
        for name in RATES:
            symbol = plain_symbol(ModelParameters.param[name].symbol)
            for layer, value in enumerate(self._layer_rates(params, name), start=1):
                field = pn.widgets.FloatInput(label=f"{symbol}, layer {layer}", value=value,
                                              start=0.0, step=value / 10 or 0.001, width=140)
                field.param.watch(self._rate_setter(name, layer - 1), "value")
                widgets.append(field)
        return [pn.GridBox(*widgets, ncols=2)]

    def _layer_rates(self, params, name):
        """``name``'s rates, one per layer (a single rate stands for every layer)."""
        rates = list(getattr(params, name))
        count = rate_count(name, self.simulation.network.n_layers)
        return rates * count if len(rates) == 1 else rates

    def _rate_setter(self, name, index):
        def set_rate(event):
            params = self.simulation.network.params
            rates = self._layer_rates(params, name)
            rates[index] = event.new
            try:
                setattr(params, name, rates)
            except ValueError as error:
                self.message = f"Not changed: {error}"
        return set_rate

    def _parameter_changed(self, *events):
        self._show_equations()
        self._changed()

    def _show_equations(self):
        texts = []
        for title, symbolic, with_values in equations(self.simulation.network.params):
            texts.append(("title", f"**{title}**"))
            if symbolic is not None:
                texts.append(("latex", f"${symbolic}$"))
            texts.append(("latex", f"${with_values}$"))
        panes = self._equations_area.objects
        if len(panes) == len(texts):  # a parameter changed: new text in the same panes
            for pane, (_, text) in zip(panes, texts):
                pane.object = text
            return
        self._equations_area.objects = [
            pn.pane.Markdown(text, margin=(8, 10, 0, 10)) if kind == "title" else
            pn.pane.LaTeX(text, renderer="katex") for kind, text in texts]

    # ---- actions ---------------------------------------------------------------------------
    def reset(self):
        """A fresh network of the current scenario, seed and sizes (sliders back to defaults)."""
        self._build()

    def load_network(self, content):
        """Continue with a network saved by the Network (.npz) button (same layer sizes); a bad
        file leaves the running network untouched and says why."""
        if not content:
            return
        try:
            network = storage.from_bytes(content, expect_sizes=self.simulation.network.sizes)
        except FileFormatError as error:
            self.message = f"Not loaded (the running network is unchanged): {error}"
            return
        self.running = False
        self.simulation.replace_network(network)
        self.nudging = network.nudging
        self._bind_parameters()
        self.message = f"Loaded a network at t = {network.state.time:.1f} ms."

    def make_self_predicting(self):
        """Set the lateral weights to the analytical self-predicting state (apical silence)."""
        self.simulation.network.make_self_predicting()
        self.message = "Lateral weights set to the self-predicting state."

    def step(self):
        """Simulate until the end of the current pattern (a whole pattern if it just ended)."""
        n_steps = self.simulation.steps_left_in_pattern()
        if n_steps <= 0:
            n_steps = self.simulation.steps_per_pattern()
        self._show_frame(self.simulation.advance(n_steps, samples=100))

    def tick(self):
        """One update of the play loop: simulate for the time budget, then stream to the plots."""
        if self.simulation is None:
            return
        max_steps = None
        if self.speed:
            max_steps = max(1, int(self.speed * TICK_MS / 1000 / self.simulation.network.params.dt))
        # the slow measures (test errors, alignments) change little between ticks; measuring
        # and redrawing them twice a second spares the server and the browser
        now = time.monotonic()
        measure = now - self._measured >= MEASURE_EVERY_S
        if measure:
            self._measured = now
        budget = sessions.share(TICK_BUDGET_S, floor=MIN_TICK_BUDGET_S)
        frame = self.simulation.advance_for(budget, max_steps=max_steps,
                                            samples=SAMPLES_PER_TICK, measure=measure)
        self._show_frame(frame)

    def _show_frame(self, frame):
        with pn.io.hold():
            self.plots.push(frame)
            # re-rendering the status line costs about as much as streaming all plots: once a
            # second is enough to read it
            now = time.monotonic()
            if frame.error or not self.running or now - self._status_shown >= STATUS_EVERY_S:
                self._status_shown = now
                self.status = self._status_text(frame)
            if frame.error:
                self.running = False
                self.message = f"Paused: {frame.error}"

    def _status_text(self, frame):
        net = self.simulation.network
        apical = frame.traces["apical_sq"]
        apical_text = f" · mean v_A² = {apical[-1]:.3g}" if len(apical) else ""
        return (f"t = {net.state.time:.1f} ms · {self.simulation.patterns_seen} patterns · "
                f"{self.simulation.simulated_ms_per_second():,.0f} ms simulated per second"
                f"{apical_text} · nudging {'on' if net.nudging else 'off'}")

    @param.depends("nudging", watch=True)
    def _set_nudging(self):
        self.simulation.network.nudging = self.nudging
        self._changed()

    def _changed(self):
        """The user changed something: the next tick comes first and redraws the status."""
        self._status_shown = 0.0
        self._conductor.touch(self)

    @param.depends("running", watch=True)
    def _play(self):
        if self.running:
            self.message = ""
            self._conductor.play(self)
        else:
            self._conductor.pause(self)

    def _session_destroyed(self, session_context):
        """The tab closed: stop the loop and let the simulation be garbage-collected. (Runs
        after bokeh has emptied this script's module: no module-level names here.)"""
        self.simulation = None
        self._conductor.close(self)

    # ---- export ----------------------------------------------------------------------------
    def parameters_json(self):
        """The current parameters (and what they run) as a JSON file object."""
        sim = self.simulation
        content = {"scenario": sim.scenario.name, "seed": sim.seed,
                   "layer_sizes": list(sim.network.sizes), "nudging": sim.network.nudging,
                   "parameters": sim.network.params.values(), "package_version": __version__}
        return io.StringIO(json.dumps(content, indent=2))

    def traces_csv(self):
        """The recorded traces (the last few thousand samples) as a CSV file object."""
        return io.StringIO(self.simulation.history.to_csv())

    def network_npz(self):
        """The network (weights, state, parameters) in :mod:`core.storage`'s format."""
        return io.BytesIO(storage.to_bytes(self.simulation.network))

    # ---- layout ----------------------------------------------------------------------------
    def _sidebar(self):
        choices = pn.Param(self, parameters=["scenario", "seed", "layer_sizes", "speed"],
                           show_name=False, widgets={"layer_sizes": {"placeholder": "e.g. 30-50-10"},
                                                     "seed": pn.widgets.IntInput})
        return [choices, self._nudging, self._play, pn.Row(self._step, self._reset),
                self._self_predicting,
                self._controls_area, pn.pane.Markdown("**Save and load**"), *self._downloads,
                pn.pane.Markdown("Continue from a saved network (same layer sizes):"),
                self._upload]

    def _main(self):
        return [pn.Column(self._description, pn.widgets.StaticText.from_param(self.param.status, label=""), self._alert,
                          sizing_mode="stretch_width"),
                self._plots_area,
                pn.Card(self._equations_area, title="The equations being simulated",
                        sizing_mode="stretch_width")]

    def __panel__(self):
        """The app as a plain layout (for notebooks)."""
        return pn.Row(pn.Column(*self._sidebar(), width=340),
                      pn.Column(*self._main(), sizing_mode="stretch_width"))

    def template(self):
        """The app in a page template (for ``panel serve``)."""
        # no busy spinner: Panel's is one indicator shared by every session and synced with the
        # process-wide pn.state.busy, so each tick of any session would flip it in every open page
        # (N^2 messages; it froze a server with 30 playing sessions)
        return pn.template.FastListTemplate(
            title="Dendritic cortical microcircuits (Sacramento et al. 2018)",
            sidebar=self._sidebar(), main=self._main(), sidebar_width=360, busy_indicator=None)


# what ``pn.state.served`` tests, without its ``inspect.stack()``, which caches every module on the
# stack in ``inspect`` for the life of the process: one entry per session, for this session's
# module (memory that outlives the session, see sessions.release_memory_soon)
if __name__.startswith("bokeh_app_"):
    App().template().servable()
