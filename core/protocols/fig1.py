r"""Fig. 1: an output target appears, an error appears in the apical dendrites, and is learned away.

A self-predicting 30-50-10 network sees one input pattern. With nudging off the apical potentials
sit at the noise floor; when the output target switches on, the top-down input no longer matches
the interneurons' prediction and an apical "error" appears in layer 1; as the bottom-up weights
learn (Eq. 7) the output reaches the target and the apical error falls back; switching nudging off
again shows that the learned association holds without a teacher.

Regime (ours): the paper's threshold :math:`\theta = 3` and (SM?) rates leave the neurons at their
floor rate and nothing visibly learns within seconds; :math:`\theta = 0` and rates 0.2/ms do.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..simulate.dynamics import run as simulate
from .tasks import Association
from .common import Result, Stopwatch, base_metrics, check_regime, holoviews, progress
from .configuration import Preset, Scenario

QUICK = dict(settle_ms=200.0, nudged_ms=1500.0, released_ms=300.0)
FULL = dict(settle_ms=200.0, nudged_ms=5000.0, released_ms=1000.0)
REGIME = dict(theta=0.0, eta_PP_up=[0.2, 0.2], eta_IP=[0.2])
"""Our regime: what differs from preset ``fig1``, the paper's (SM?) values (``--regime paper``
runs the preset as it is, with the same phases)."""
NOTES = {
    "ours": "theta = 0 and rates 0.2/ms are ours (see the module docstring); sigma = 0.1 as the "
            "paper's (SM?) value.",
    "paper": "Preset fig1: the paper's (SM?) values (theta = 3, the SM rates, sigma = 0.1); "
             "compare with --regime ours.",
}
TARGET_OFFSET = 2.0
RECORD_EVERY = 10  # 1 ms

PRESET = Preset(
    name="fig1", title="Fig. 1: an error appears in the apical dendrites and is learned away",
    description="From the self-predicting state a new output target appears; W^PP_{1,0} "
                "learns. Rates and sigma (SM?); sizes are our choice; W^PI fixed (no rate "
                "given).",
    layer_sizes=(30, 50, 10),
    parameters=dict(sigma=0.1, eta_PP_up=[0.0011875, 0.0005], eta_IP=[0.0011875],
                    learn_PI=False),
    self_predicting=True,
)
PRESETS = (PRESET,)

SCENARIO = Scenario(
    name="fig1", title="Fig. 1: an error appears in the apical dendrites and is learned away",
    description="The network starts self-predicting: apical potentials are silent. Switch "
                "nudging on: the target pulls the output, an error appears in the apical "
                "dendrites of layer 1, and fades as the forward weights learn. (Nothing "
                "learns while nudging is off: there is nothing to learn, and at these fast "
                "rates the noise alone would make the weights wander.)",
    preset=PRESET.name, overrides=dict(REGIME), task="association",
    target_offset=TARGET_OFFSET, nudging=False,
    baseline_learning_rate=5.0, learns_without_target=False)
PAPER_SCENARIO = dataclasses.replace(
    SCENARIO, name="fig1-paper",
    title="Fig. 1 in the paper's regime: θ = 3, the SM rates",
    description="The same association with the paper's (SM?) values, preset fig1. Switch "
                "nudging on and compare the apical error and how fast it fades with the Fig. 1 "
                "scenario, whose regime is ours.",
    overrides={})
SCENARIOS = (SCENARIO, PAPER_SCENARIO)


def run_protocol(net, phases, show_progress):
    """Run the phases (name, duration ms, nudging) and join their recordings."""
    samples = {"time": [], "apical_sq": [], "v_A1": [], "output": [], "target": []}
    for _phase, duration, nudging in progress(phases, desc="fig1", enabled=show_progress):
        net.nudging = nudging
        rec = simulate(net, int(round(duration / net.params.dt)),
                       record=["apical_sq", "v_A1", "u_P2", "u_target"], record_every=RECORD_EVERY)
        samples["time"].append(rec.time)
        samples["apical_sq"].append(rec["apical_sq"])
        samples["v_A1"].append(rec["v_A1"][:, 0])
        samples["output"].append(rec["u_P2"][:, 0])
        samples["target"].append(rec["u_target"][:, 0])
    return {key: np.concatenate(value) for key, value in samples.items()}


def run(quick=False, seed=0, show_progress=True, regime="ours", overrides=None):
    """The Fig. 1 protocol; see the module docstring and :data:`~core.protocols.common.REGIMES`
    (``overrides``: parameter values instead of the regime's, ``--set``)."""
    check_regime(regime)
    clock = Stopwatch()
    setup = QUICK if quick else FULL
    # one dict, so that a --set of a value the regime also sets replaces it
    net = PRESET.make_network(seed=seed, **{**(REGIME if regime == "ours" else {}),
                                            **(overrides or {})})
    association = Association.near_output(net, seed=seed + 1, offset=TARGET_OFFSET)
    target = association.target_potential
    net.present(association.input_rates, target)
    phases = [("settle", setup["settle_ms"], False), ("nudged", setup["nudged_ms"], True),
              ("released", setup["released_ms"], False)]
    trace = run_protocol(net, phases, show_progress)
    t = trace["time"]
    t_on, t_off = setup["settle_ms"], setup["settle_ms"] + setup["nudged_ms"]

    def window(start, stop, key="apical_sq"):
        return float(np.mean(trace[key][(t > start) & (t <= stop)]))

    def output_error(start, stop):
        chosen = (t > start) & (t <= stop)
        return float(np.mean((trace["output"][chosen] - target) ** 2))

    metrics = base_metrics(
        "fig1", quick, seed, net.sizes, net.params,
        protocol={"regime": regime, "set": dict(overrides or {}), **setup,
                  "target": f"bottom-up output + U(-{TARGET_OFFSET}, {TARGET_OFFSET})",
                  "record_every_ms": RECORD_EVERY * net.params.dt},
        paper={"apical_error": "appears in layer 1 when the target appears, then vanishes as "
                               "W^PP_{1,0} learns", "time_axis_ms": [0, 1500]},
        notes=NOTES[regime])
    metrics["apical_sq_before"] = window(t_on - 100, t_on)
    metrics["apical_sq_after"] = window(t_off - 100, t_off)
    metrics["initial_error"] = output_error(t_on + 20, t_on + 70)
    metrics["final_error"] = output_error(t_off - 50, t_off)
    metrics["measurements"] = {
        "apical_sq_at_target_onset": window(t_on, t_on + 50),
        "apical_sq_after_release": window(t_off + 50, t[-1]),
        "output_error_after_release": output_error(t_off + 50, t[-1]),
    }
    metrics["run_time_s"] = clock.elapsed()
    return Result(metrics=metrics, figure=_figure(trace, target, t_on, t_off))


def _figure(trace, target, t_on, t_off):
    hv = holoviews()
    t = trace["time"]
    early = t <= t_on + 200
    apical = hv.Overlay([hv.Curve((t[early], trace["v_A1"][early, i]), "time (ms)", "v_A (layer 1)")
                         for i in range(min(10, trace["v_A1"].shape[1]))]).opts(
        title="Apical potentials around target onset", width=450, height=300, show_legend=False)
    norm = hv.Curve((t, trace["apical_sq"]), "time (ms)", "mean v_A^2").opts(
        title="Apical error appears and is learned away", width=450, height=300, logy=True)
    marks = hv.VLine(t_on).opts(color="green") * hv.VLine(t_off).opts(color="red")
    output = hv.Overlay([hv.Curve((t, trace["output"][:, i]), "time (ms)", "u (output)").opts(
        color="#1f77b4") for i in range(trace["output"].shape[1])]
        + [hv.HLine(value).opts(color="gray", line_dash="dashed") for value in target]).opts(
        title="Output potentials and targets (dashed)", width=450, height=300, show_legend=False)
    layout = apical + norm * marks + (output * marks).opts(width=450, height=300)
    return layout.opts(shared_axes=False).cols(2)
