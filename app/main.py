"""The dashboard served by ``panel serve app/`` (at /app); ``App()`` also displays in a notebook.

First version: parameter sliders generated from :class:`core.parameters.ModelParameters`, a preset
choice, the nudging switch, and one pattern simulated per click, with the apical potentials and the
output against its target. The live, streaming dashboard is the next step (issue 4).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from core.dynamics import run_patterns
from core.errors import DivergenceError
from core.presets import PRESETS, get_preset

hv.extension("bokeh")

SLIDERS = ["g_lk", "g_B", "g_A", "g_D", "g_som", "sigma", "dt", "presentation_time", "tau_w",
           "tau_0"]
SWITCHES = ["learn_PP_up", "learn_IP", "learn_PI", "learn_PP_down"]


class App(pn.viewable.Viewer):
    """One simulation per browser session (nothing mutable is shared between sessions)."""

    preset = param.Selector(objects=sorted(p for p in PRESETS if PRESETS[p].mode == "dynamics"),
                            default="fig1")
    nudging = param.Boolean(default=True, doc="Output target on (teaching current) or off.")
    seed = param.Integer(default=0, bounds=(0, None))
    status = param.String(default="")

    def __init__(self, **params):
        super().__init__(**params)
        self._rng = np.random.default_rng(self.seed)
        self._build()
        self._plot_pane = pn.pane.HoloViews(self._figure(None), sizing_mode="stretch_width")
        self._step_button = pn.widgets.Button(label="Simulate one pattern", color="primary")
        self._step_button.on_click(lambda event: self.step())
        self._reset_button = pn.widgets.Button(label="Reset")
        self._reset_button.on_click(lambda event: self.reset())
        self._self_predicting_button = pn.widgets.Button(label="Initialize to self-predicting state")
        self._self_predicting_button.on_click(lambda event: self.make_self_predicting())

    @param.depends("preset", "seed", watch=True)
    def _build(self):
        self.network = get_preset(self.preset).make_network(seed=self.seed)
        self.network.nudging = self.nudging
        n_in, n_out = self.network.sizes[0], self.network.sizes[-1]
        rng = np.random.default_rng(self.seed + 1)
        self._pattern = rng.uniform(0, 1, n_in)
        self._target = rng.uniform(0.5, 2.0, n_out)
        self.status = f"{self.preset}: network {list(self.network.sizes)}, t = 0 ms"
        if hasattr(self, "_plot_pane"):
            self._plot_pane.object = self._figure(None)

    def reset(self):
        """A fresh network of the current preset and seed (slider values are the preset's)."""
        self._build()

    def make_self_predicting(self):
        """Set the lateral weights to the analytical self-predicting state (apical silence)."""
        self.network.make_self_predicting()
        self.status = f"{self.preset}: lateral weights set to the self-predicting state"

    @param.depends("nudging", watch=True)
    def _set_nudging(self):
        self.network.nudging = self.nudging

    def step(self):
        """Simulate one presentation of the pattern and redraw."""
        net = self.network
        record = ["v_A1", "u_P%d" % net.n_layers, "u_target"] if net.hidden_layers else []
        try:
            recording = run_patterns(net, self._pattern[None], self._target[None], record=record,
                                     record_every=10)
        except (ValueError, DivergenceError) as error:
            self.status = f"Stopped: {error}"
            return
        self.status = f"{self.preset}: t = {net.state.time:.1f} ms"
        self._plot_pane.object = self._figure(recording)

    def _figure(self, recording):
        if recording is None or not len(recording.time):
            return hv.Curve([], "time (ms)", "potential").opts(title="press 'Simulate one pattern'",
                                                             responsive=True, height=300)
        t = recording.time
        apical = hv.Overlay([hv.Curve((t, recording["v_A1"][:, 0, i]), "time (ms)", "v_A")
                             for i in range(recording["v_A1"].shape[2])])
        apical = apical.opts(title="apical potentials of layer 1", responsive=True, height=300,
                             show_legend=False)
        N = self.network.n_layers
        output = hv.Overlay(
            [hv.Curve((t, recording[f"u_P{N}"][:, 0, i]), "time (ms)", "u").opts(color="#1f77b4")
             for i in range(recording[f"u_P{N}"].shape[2])]
            + [hv.Curve((t, recording["u_target"][:, 0, i]), "time (ms)", "u").opts(
                color="gray", line_dash="dashed") for i in range(recording["u_target"].shape[2])])
        output = output.opts(title="output potentials (solid) and targets (dashed)",
                             responsive=True, height=300, show_legend=False)
        return (apical + output).cols(1)

    @param.depends("preset", "seed")
    def _sliders(self):
        # rebuilt with the network: the sliders edit the running network's own parameters
        return pn.Column(
            pn.Param(self.network.params, parameters=SLIDERS, show_name=False,
                     widgets={name: {"throttled": True} for name in SLIDERS}),
            pn.pane.Markdown("**Plastic weights**"),
            pn.Param(self.network.params, parameters=SWITCHES, show_name=False))

    def _sidebar(self):
        controls = pn.Param(self, parameters=["preset", "seed", "nudging"], show_name=False)
        return [controls, self._step_button,
                pn.Row(self._reset_button, self._self_predicting_button), self._sliders]

    def _main(self):
        return [pn.pane.Str(self.param.status), self._plot_pane]

    def __panel__(self):
        """The app as a plain layout (for notebooks)."""
        return pn.Row(pn.Column(*self._sidebar(), width=320), pn.Column(*self._main(),
                                                                        sizing_mode="stretch_width"))

    def template(self):
        """The app in a page template (for ``panel serve``)."""
        return pn.template.FastListTemplate(
            title="Dendritic cortical microcircuits (Sacramento et al. 2018)",
            sidebar=self._sidebar(), main=self._main())


if pn.state.served:
    App().template().servable()
