"""The dashboard served by ``panel serve app/`` (at /app); ``App()`` also displays in a notebook.

Every browser session builds its own :class:`App`, which owns its own :class:`live.LiveSimulation`
(nothing mutable is shared between sessions). While playing, the process's play loop
(:mod:`sessions`) ticks it: each tick advances the simulation for a wall-clock budget and streams
the new samples into the plots (:mod:`plots`); sliders edit the running network's own
:class:`~core.model.parameters.ModelParameters`, so widgets, equations and simulation share one
source.
"""

from __future__ import annotations

import io
import json
import logging
import time

import panel as pn
import param

from core import __version__
from core.simulate import compiled
from core.io import storage
from core.errors import FileFormatError
from core.protocols.presets import SCENARIOS
from live import LiveSimulation
from core.simulate.plasticity import RATES, rate_count
from core.model.parameters import ModelParameters, plain_symbol
from core.model.validation import integration_warning
from whole_run import to_csv
import sessions
from equation_panel import equations
from guide import Guide
from notebook import route_pushes
from inputs import (StrictField, format_number, parse_layer_sizes, parse_rate,
                    parse_seed, plain_text_html)
from plots import LivePlots

pn.extension("katex", inline=True)  # in notebooks: Panel's JS and CSS from the kernel, no CDN
route_pushes()  # in notebooks: updates reach the page in order, no CDN links (see notebook.py)

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
STEP_SAMPLES = 100
"""Trace samples that Step one pattern asks for over the whole pattern."""
STEP_BUDGET_S = 0.1
"""Wall time one piece of a Step may simulate while a server runs other sessions: a pattern too
long for that (a large network, a long T, a small dt) continues over the next ticks."""
STATUS_EVERY_S = 1.0
MEASURE_EVERY_S = 0.5
SLIDERS = ["g_lk", "g_B", "g_A", "g_D", "g_som", "dt", "sigma", "presentation_time", "tau_w",
           "tau_0", "learning_lag", "theta"]
SWITCHES = ["learn_PP_up", "learn_IP", "learn_PI", "learn_PP_down"]
ALERT_STYLE = """
:host(.app-message) { background: #fff3cd; color: #664d03; border: 1px solid #ffe69c;
                      border-radius: 4px; padding: 0 12px; }
"""
RELEASE_REPLACED_MODELS = """
const doc = cb_obj.document;
if (doc != null && typeof doc._recompute_all_models === "function")
    setTimeout(() => doc._recompute_all_models(), 0);
"""
"""Browser code run when a rebuild replaces the plots or the sliders: BokehJS lets go of the models
no longer in the page (figures, their data sources, sliders) only 30 s after the last patch it
received (bokeh 3.9: ``Document._schedule_recompute_all_models``, restarted by every patch), so a
page that plays on after Reset or a scenario change never did, and kept every replaced plot with
its data (~330 models a rebuild). Recompute once the rebuild's patch has been applied."""
STORY_PLOTS = {
    "fig-s1": ["whole_run", "apical", "interneurons", "alignment"],
    "fig1": ["whole_run", "apical", "output", "forward_change"],
    "fig2": ["learning", "whole_run", "alignment"],
}
"""The plots that tell each scenario's story, the first one largest (see plots.LivePlots); the
others are one click away, and a network of custom sizes shows them all."""
SPEEDS = {"as fast as possible": 0, "5 s per second": 5000, "1 s per second": 1000,
          "200 ms per second": 200, "50 ms per second (slow motion)": 50}


log = logging.getLogger(__name__)


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
    message = param.String(default="", doc="Why the run paused or an input was refused, when one "
                                           "was (shown as plain text).")

    def __init__(self, **params):
        super().__init__(**params)
        # this session's Bokeh document (None outside a server): the play loop ticks it there
        self.document = pn.state.curdoc
        self._conductor = sessions.conductor
        self._status_shown = self._measured = 0.0
        self._refused = False  # the message says an input was refused (the next good one clears it)
        self._step_left = 0  # steps of a Step still to run, over the next ticks
        self._choice_error = None
        self._last_apical = None  # the newest mean squared apical potential, for the status line
        self._speed_mark = self._play_rate = None  # (wall time, simulated time) of the last status
        self._plots_area = pn.Column(sizing_mode="stretch_width")
        self._controls_area = pn.Column(sizing_mode="stretch_width")
        for area in (self._plots_area, self._controls_area):
            area.jscallback(children=RELEASE_REPLACED_MODELS)  # the Bokeh name of "objects"
        self._equations_area = pn.Column(sizing_mode="stretch_width")
        self._description = pn.pane.Markdown(sizing_mode="stretch_width")
        self._guide_pane = pn.pane.Markdown(sizing_mode="stretch_width", margin=(0, 10))
        self._build_buttons()
        self._build()
        self.param.watch(self._choice_changed, ["scenario", "seed", "layer_sizes"])
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
        self._alert = message_pane()
        self.param.watch(lambda event: show_message(self._alert, event.new), "message")
        self._seed_field = StrictField("Seed", str(self.seed), self._set_seed, self._refuse)
        self._sizes_field = StrictField(
            "Layer sizes", self.layer_sizes, self._set_layer_sizes, self._refuse,
            placeholder="e.g. 30-50-10 (empty: the scenario's)")
        self.param.watch(lambda event: self._seed_field.show(str(event.new)), "seed")
        self.param.watch(lambda event: self._sizes_field.show(event.new), "layer_sizes")
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
            pn.widgets.FileDownload(callback=self.whole_run_csv, filename="whole_run.csv",
                                    label="Whole run and events (CSV)"),
            pn.widgets.FileDownload(callback=self.traces_csv, filename="traces.csv",
                                    label="Last seconds' traces (CSV)"),
            pn.widgets.FileDownload(callback=self.network_npz, filename="network.npz",
                                    label="Network (.npz)"),
        ]

    def _choice_changed(self, *events):
        """Scenario, seed or layer sizes changed: rebuild, or refuse and restore the old choice."""
        self._choice_error = None
        try:
            self._build()
        except ValueError as error:
            with param.parameterized.discard_events(self):
                for event in events:
                    setattr(self, event.name, event.old)
            self._seed_field.show(str(self.seed))
            self._sizes_field.show(self.layer_sizes)
            self._choice_error = error
            self._refuse(error)

    def _build(self):
        """A fresh simulation of the chosen scenario (the play loop pauses).

        Raises
        ------
        ValueError
            When the chosen sizes cannot be built (the running simulation is kept); at the first
            build the scenario's own sizes are used instead.
        """
        try:
            simulation = LiveSimulation(self.scenario, seed=self.seed,
                                        layer_sizes=parse_layer_sizes(self.layer_sizes))
        except ValueError:
            if hasattr(self, "simulation"):
                raise
            self.layer_sizes = ""
            simulation = LiveSimulation(self.scenario, seed=self.seed)
        self.running = False
        self._step_left = 0
        self.simulation = simulation
        self._refused = False
        self.message = ""
        self.plots = LivePlots(simulation)
        self.guide = Guide(simulation.scenario.name)
        self.nudging = simulation.network.nudging
        self._plots_area.objects = self._plot_layout()
        self._description.object = (f"**{simulation.scenario.title}**: "
                                    f"{simulation.scenario.description}")
        self._show_guide()
        self._bind_parameters()
        self._show_frame(simulation.advance(0))

    def _plot_layout(self):
        """The scenario's story plots (the first one full width), then a card with the rest."""
        figures = self.plots.figures
        story = STORY_PLOTS.get(self.simulation.scenario.name, list(figures))
        if self.layer_sizes:
            story = ["whole_run"] + [name for name in figures if name != "whole_run"]
        others = [name for name in figures if name not in story]

        def grid(names):
            return pn.GridBox(*[pn.pane.Bokeh(figures[name], sizing_mode="stretch_width")
                                for name in names], ncols=2, sizing_mode="stretch_width")

        layout = [pn.pane.Bokeh(figures[story[0]], sizing_mode="stretch_width"), grid(story[1:])]
        if others:
            # built when opened: a browser draws every figure in the page, hidden or not, and a
            # slow one fell behind with all eight
            more = pn.Card(title=f"More plots ({len(others)}: {', '.join(others)})",
                           collapsed=True, sizing_mode="stretch_width")
            more.param.watch(lambda event: setattr(more, "objects",
                                                   [] if event.new else [grid(others)]),
                             "collapsed")
            layout.append(more)
        return layout

    def _bind_parameters(self):
        """Sliders and equations for the running network's own parameter object."""
        self._controls_area.objects = self._parameter_controls()
        self.simulation.network.params.param.watch(self._parameter_changed,
                                                   list(ModelParameters.param))
        self._show_equations()

    def _parameter_controls(self):
        params = self.simulation.network.params
        self._sliders = {name: self._slider(params, name) for name in SLIDERS}
        # says when dt is stable but too coarse for the conductances (the run goes on)
        self._accuracy_note = message_pane()
        self._show_accuracy()
        switches = pn.Param(params, parameters=SWITCHES, show_name=False)
        return [pn.pane.Markdown("**Parameters** (the equations below show where each acts)"),
                pn.Column(*self._sliders.values(), self._accuracy_note,
                          sizing_mode="stretch_width"),
                pn.pane.Markdown("**Learning rates** (per layer, 1/ms)"),
                *self._rate_inputs(params), pn.pane.Markdown("**Plastic weights**"), switches]

    def _slider(self, params, name):
        """A slider over the parameter's soft bounds that applies a value on release, or refuses
        it with a message and moves back (the model may refuse a combination of values)."""
        declared = ModelParameters.param[name]
        value = getattr(params, name)
        low, high = declared.get_soft_bounds()
        slider = pn.widgets.FloatSlider(label=declared.label, start=min(low, value),
                                        end=max(high, value),
                                        step=declared.step or (high - low) / 100, value=value,
                                        sizing_mode="stretch_width")

        def released(event):
            try:
                setattr(params, name, event.new)
            except ValueError as error:
                slider.value = getattr(params, name)
                self._refuse(error)
                return
            self._accepted()

        slider.param.watch(released, "value_throttled")
        return slider

    def _rate_inputs(self, params):
        """One text field per layer and weight matrix, writing back the whole list."""
        self._rate_fields = {}
        for name in RATES:
            symbol = plain_symbol(ModelParameters.param[name].symbol)
            self._rate_fields[name] = [
                StrictField(f"{symbol}, layer {layer}", format_number(value),
                            self._rate_setter(name, layer - 1, f"{symbol}, layer {layer}"),
                            self._refuse, width=140)
                for layer, value in enumerate(self._layer_rates(params, name), start=1)]
        fields = [field.widget for fields in self._rate_fields.values() for field in fields]
        return [pn.GridBox(*fields, ncols=2)]

    def _layer_rates(self, params, name):
        """``name``'s rates, one per layer (a single rate stands for every layer)."""
        rates = list(getattr(params, name))
        count = rate_count(name, self.simulation.network.n_layers)
        return rates * count if len(rates) == 1 else rates

    def _rate_setter(self, name, index, label):
        def set_rate(text):
            params = self.simulation.network.params
            rates = self._layer_rates(params, name)
            rates[index] = parse_rate(text, label)
            setattr(params, name, rates)  # may refuse too (ValueError)
            self._accepted()
        return set_rate

    def _set_seed(self, text):
        self.seed = parse_seed(text, self.param.seed.bounds[1])

    def _set_layer_sizes(self, text):
        parse_layer_sizes(text)  # refuses bad text before anything is rebuilt
        self.layer_sizes = text
        if self._choice_error is not None:  # the sizes parsed but could not be built
            raise self._choice_error

    # ---- messages --------------------------------------------------------------------------
    def _refuse(self, error):
        """An input was refused: say which and why; the last good value stays."""
        self._refused = True
        self.message = f"Not changed: {error}"

    def _accepted(self):
        """An input was applied: a message about an earlier refused one no longer holds."""
        if self._refused:
            self._refused = False
            self.message = ""

    def _parameter_changed(self, *events):
        for event in events:  # changed here or elsewhere (a notebook, a loaded file)
            self._show_value(event.name, event.new)
        self._show_accuracy()
        self._show_equations()
        self._changed()

    def _show_accuracy(self):
        show_message(self._accuracy_note,
                     integration_warning(self.simulation.network.params) or "")

    def _show_value(self, name, value):
        """Put the model's current ``value`` of ``name`` into its widgets."""
        if name in self._sliders:
            slider = self._sliders[name]
            slider.start, slider.end = min(slider.start, value), max(slider.end, value)
            slider.value = value
        if name in self._rate_fields:
            rates = self._layer_rates(self.simulation.network.params, name)
            for field, rate in zip(self._rate_fields[name], rates):
                field.show(format_number(rate))

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
        except Exception as error:  # noqa: BLE001 -- whatever a hostile file does, the session
            # lives; the log gets the kind of failure, never the uploaded bytes
            log.error("an uploaded network file failed with %s", type(error).__name__)
            self.message = ("Not loaded (the running network is unchanged): not a network file "
                            "saved by this app")
            return
        self.running = False
        self.simulation.replace_network(network)
        self.nudging = network.nudging
        self._bind_parameters()
        self.plots.show_events()
        self.message = f"Loaded a network at t = {network.state.time:.1f} ms."

    def make_self_predicting(self):
        """Set the lateral weights to the analytical self-predicting state (apical silence)."""
        try:
            self.simulation.make_self_predicting()
        except ValueError as error:  # e.g. no such state for the current conductances
            self._refuse(error)
            return
        self.plots.show_events()
        self._show_guide()
        self.message = "Lateral weights set to the self-predicting state."

    def step(self):
        """Simulate until the end of the current pattern (a whole pattern if it just ended).

        Under a server (or in a notebook's event loop) each piece simulates for at most
        :data:`STEP_BUDGET_S` and the play loop runs the rest over its next ticks, so a long
        pattern never holds the other sessions up; elsewhere (a script) the pattern runs at once.
        """
        self.running = False
        n_steps = self.simulation.steps_left_in_pattern()
        if n_steps <= 0:
            n_steps = self.simulation.steps_per_pattern()
        self._step_left = self._step_total = n_steps
        self._continue_step()
        if self._step_left > 0:
            self._conductor.play(self)

    def _continue_step(self):
        if sessions.can_tick_later():
            frame = self.simulation.advance_for(STEP_BUDGET_S, max_steps=self._step_left,
                                                samples=STEP_SAMPLES)
        else:
            frame = self.simulation.advance(self._step_left, samples=STEP_SAMPLES)
        self._step_left = 0 if frame.error or not frame.steps else self._step_left - frame.steps
        if self._step_left <= 0 and not self.running:
            self._conductor.pause(self)
        self._show_frame(frame)

    def tick(self):
        """One update of the play loop: simulate for the time budget, then stream to the plots."""
        if self.simulation is None:
            return
        if self._step_left > 0 and not self.running:
            self._continue_step()
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
            sent = self.plots.push(frame)  # False: held for a page that is behind
            # re-rendering the status line costs about as much as streaming all plots: once a
            # second is enough to read it (and never while the page is behind)
            now = time.monotonic()
            if frame.error or not self.running or (
                    sent and now - self._status_shown >= STATUS_EVERY_S):
                self._status_shown = now
                self.status = self._status_text(frame)
                self._show_guide()
            if frame.error:
                self.running = False
                self.message = f"Paused: {frame.error}"

    def _show_guide(self):
        """Tick the guided path's steps the run has reached (redrawn only when one is)."""
        if self.guide.update(self.simulation) or not self._guide_pane.object:
            text = self.guide.markdown()
            self._guide_pane.object = f"**Try this**\n\n{text}" if text else ""

    def _status_text(self, frame=None):
        net = self.simulation.network
        apical = frame.traces["apical_sq"] if frame is not None else []
        if len(apical):
            self._last_apical = apical[-1]
        apical_text = (f" · mean v_A² = {self._last_apical:.3g}"
                       if self._last_apical is not None else "")
        patterns = self.simulation.patterns_seen
        stepping = ""
        if self._step_left > 0:
            done = 1 - self._step_left / self._step_total
            stepping = f" · stepping: {done:.0%} of the pattern"
        preparing = ""
        if compiled.status(*compiled.variant(net)) == "preparing":
            preparing = " · compiling the fast simulator (the slower NumPy path runs meanwhile)"
        return (f"t = {net.state.time:.1f} ms · {patterns} pattern{'s' * (patterns != 1)} · "
                f"{self._speed_text()}"
                f"{apical_text} · nudging {'on' if net.nudging else 'off'}{stepping}{preparing}")

    def _speed_text(self):
        """While playing, the simulated time per wall-clock second of the last status period
        (what the Speed menu asks for, or less); paused, what this server can reach."""
        now, time_ms = time.monotonic(), self.simulation.network.state.time
        last = self._speed_mark
        self._speed_mark = (now, time_ms)
        if self.running and last is not None and now - last[0] >= MEASURE_EVERY_S \
                and time_ms >= last[1]:
            self._play_rate = (time_ms - last[1]) / (now - last[0])
        if not self.running:
            self._play_rate = None
            capacity = self.simulation.simulated_ms_per_second()
            return f"up to {capacity:,.0f} ms simulated per second" if capacity else "paused"
        if self._play_rate is None:
            return "starting"
        return f"{self._play_rate:,.0f} ms simulated per second"

    @param.depends("nudging", watch=True)
    def _set_nudging(self):
        self.simulation.set_nudging(self.nudging)
        self._changed()

    def _changed(self):
        """The user changed something: the next tick comes first and redraws the status."""
        self._status_shown = 0.0
        self.plots.show_events()
        self._show_guide()
        self._conductor.touch(self)

    @param.depends("running", watch=True)
    def _play(self):
        if self.running:
            self.message = ""
            self._step_left = 0
            self._conductor.play(self)
        else:
            self._conductor.pause(self)
            if self.simulation is not None:
                self.status = self._status_text()  # where the paused run stands, at once

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
        """The recorded traces (the last few thousand samples) and the events among them, as a
        CSV file object."""
        return io.StringIO(self.simulation.history.to_csv(self.simulation.events.events))

    def whole_run_csv(self):
        """The whole run's binned error signals and all its events, as a CSV file object."""
        return io.StringIO(to_csv(self.simulation.whole_run.table(),
                                  self.simulation.events.events))

    def network_npz(self):
        """The network (weights, state, parameters) in :mod:`core.io.storage`'s format."""
        return io.BytesIO(storage.to_bytes(self.simulation.network))

    # ---- layout ----------------------------------------------------------------------------
    def _sidebar(self):
        scenario = pn.widgets.Select.from_param(self.param.scenario, label="Scenario")
        speed = pn.widgets.Select.from_param(self.param.speed, label="Speed")
        return [scenario, self._seed_field.widget, self._sizes_field.widget, speed,
                self._nudging, self._play, pn.Row(self._step, self._reset), self._self_predicting,
                self._controls_area, pn.pane.Markdown("**Save and load**"), *self._downloads,
                pn.pane.Markdown("Continue from a saved network (same layer sizes):"),
                self._upload]

    def _main(self):
        status = pn.pane.HTML(self.param.status.rx.pipe(plain_text_html), margin=(0, 10))
        return [pn.Column(self._description, self._guide_pane, status, self._alert,
                          sizing_mode="stretch_width"),
                self._plots_area,
                pn.Card(self._equations_area, title="The equations being simulated",
                        sizing_mode="stretch_width")]

    def __panel__(self):
        """The app as a plain layout (for notebooks)."""
        return pn.Row(pn.Column(*self._sidebar(), width=340),
                      pn.Column(*self._main(), sizing_mode="stretch_width"))


def message_pane():
    """An alert-styled pane for :func:`show_message` (hidden while there is nothing to say)."""
    return pn.pane.HTML("", visible=False, sizing_mode="stretch_width", stylesheets=[ALERT_STYLE],
                        css_classes=["app-message"])


def show_message(pane, text):
    """Show ``text`` in ``pane`` as plain text -- it may quote what a student typed or what an
    uploaded file holds -- or hide the pane when ``text`` is empty."""
    pane.object = plain_text_html(text)
    pane.visible = bool(text)


def page(sidebar, main):
    """The page template around the sidebar's and the main area's contents."""
    # no busy spinner: Panel's is one indicator shared by every session and synced with the
    # process-wide pn.state.busy, so each tick of any session would flip it in every open page
    # (N^2 messages; it froze a server with 30 playing sessions)
    # Fast design without its web font from fonts.googleapis.com, set in system fonts: the page
    # asks no other host for anything (a classroom server may be offline; see offline.py)
    from offline import SYSTEM_FONTS, Fast

    return pn.template.FastListTemplate(
        title="Dendritic cortical microcircuits (Sacramento et al. 2018)",
        sidebar=sidebar, main=main, sidebar_width=360, busy_indicator=None,
        design=Fast, font=SYSTEM_FONTS)


def serve():
    """Serve this session's page: its frame at once, then the App in stages.

    Building a session's App and its hundreds of Bokeh models takes a good part of a second of
    the server's one event loop. Done while answering the page's request, students joining at
    once held every other student's clicks up for the sum of their builds (benchmarks/README.md,
    "Joining a class"). So the request gets only the frame; once the page has loaded, the App is
    built and shown in three shorter stages, each taking its turn with the other sessions' stages
    (:func:`sessions.in_turn`), and the loop answers clicks and ticks between any two stages.
    """
    compiled.prepare()  # the first session of a server starts it, off the event loop
    sidebar = pn.Column(sizing_mode="stretch_width")
    main = pn.Column(pn.pane.HTML(plain_text_html("Loading the simulation…")),
                     sizing_mode="stretch_width")
    document = pn.state.curdoc

    async def build():
        app = await sessions.in_turn(document, App)
        await sessions.in_turn(document, lambda: setattr(sidebar, "objects", app._sidebar()))
        await sessions.in_turn(document, lambda: setattr(main, "objects", app._main()))

    pn.state.onload(build)
    page([sidebar], [main]).servable()


# what ``pn.state.served`` tests, without its ``inspect.stack()``, which caches every module on the
# stack in ``inspect`` for the life of the process: one entry per session, for this session's
# module (memory that outlives the session, see sessions.release_memory_soon)
if __name__.startswith("bokeh_app_"):
    serve()
