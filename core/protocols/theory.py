r"""Sec. 3.1 measured: how close the microcircuit's bottom-up update comes to backprop's.

For feedback strengths :math:`g_A = g_\mathrm{som} = g` from strong to weak, a self-predicting
network is nudged towards a target and settled exactly
(:func:`core.simulate.steady_state.fixed_point`); the angle between its Eq. 7 induction term and
the backprop update of the same forward weights (:func:`core.protocols.baselines.backprop_updates`)
is measured for every layer, with top-down weights equal to the transposed forward weights (the
theory's case) and with fixed random top-down weights (feedback alignment, where hidden layers are
not expected to follow backprop).
"""

from __future__ import annotations

import numpy as np

from ..simulate import steady_state
from .baselines import angle_degrees, backprop_updates
from ..model.network import Network
from ..model.parameters import ModelParameters
from ..simulate.plasticity import induction_terms
from ..model.transfer import transfer_function
from .common import Result, Stopwatch, base_metrics, holoviews, progress

FEEDBACK = (0.8, 0.4, 0.2, 0.1, 0.05, 0.025, 0.0125)
TOP_DOWN = ("transpose", "random")


def angles_to_backprop(net, input_rates, target_potential, method="fixed_point"):
    """Angle (degrees) between the microcircuit's Eq. 7 update and backprop's, per layer.

    The network is settled with the target on, exactly (``"fixed_point"``) or by the paper's
    ``"two_pass"`` approximation; the comparison is scale-free.
    """
    params = net.params
    settled = (steady_state.fixed_point(net, input_rates, target_potential, tol=1e-14)
               if method == "fixed_point" else
               steady_state.two_pass(net, input_rates, target_potential))
    microcircuit = induction_terms(net.weights, settled, params, transfer_function(params).phi)
    backprop = backprop_updates(net, input_rates, target_potential)
    return [angle_degrees(microcircuit.W_up[k], backprop[k]) for k in backprop]


def theory_network(sizes, g, top_down, seed):
    """A self-predicting network with feedback strength ``g`` and the chosen top-down weights."""
    net = Network(sizes, ModelParameters(sigma=0.0, g_A=g, g_som=g), seed=seed)
    if top_down == "transpose":
        for k in net.hidden_layers:
            net.weights.W_down[k] = net.weights.W_up[k + 1].T.copy()
    net.make_self_predicting()
    return net


def run(quick=False, seed=0, show_progress=True):
    """Angles to backprop against feedback strength, for both kinds of top-down weights."""
    clock = Stopwatch()
    sizes = (30, 20, 10) if quick else (30, 50, 20, 10)
    n_patterns = 5 if quick else 50
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(0, 1, (n_patterns, sizes[0]))
    offsets = rng.normal(0, 1, (n_patterns, sizes[-1]))
    angles = {kind: np.zeros((len(FEEDBACK), len(sizes) - 1)) for kind in TOP_DOWN}
    jobs = [(kind, i, g) for kind in TOP_DOWN for i, g in enumerate(FEEDBACK)]
    for kind, i, g in progress(jobs, desc="theory", enabled=show_progress):
        net = theory_network(sizes, g, kind, seed)
        targets = [steady_state.bottom_up_pass(net, x)[net.n_layers] + offset
                   for x, offset in zip(inputs, offsets)]
        angles[kind][i] = np.mean([angles_to_backprop(net, x, t) for x, t in zip(inputs, targets)],
                                  axis=0)
    params = ModelParameters(sigma=0.0)
    lambdas = [g / (params.g_lk + params.g_B + g) for g in FEEDBACK]
    metrics = base_metrics(
        "theory", quick, seed, sizes, params,
        protocol={"feedback_g": list(FEEDBACK), "lambda_hidden": lambdas, "patterns": n_patterns,
                  "target": "bottom-up output + N(0, 1)", "settling": "exact fixed point"},
        paper={"claim": "the update approaches backprop's as lambda -> 0 with transposed "
                        "top-down weights (Sec. 3.1)"},
        notes="g_A = g_som = g; lambda_hidden = g_A / (g_lk + g_B + g_A). Angles are means over "
              "patterns of the angle between the Eq. 7 induction term and the backprop update "
              "(output delta D_N (u_trgt - u_N)).")
    metrics["angles_deg"] = {
        kind: {f"layer{k + 1}": [float(a) for a in angles[kind][:, k]] for k in range(len(sizes) - 1)}
        for kind in TOP_DOWN}
    metrics["angles_deg"]["transpose_at_weakest_feedback_max"] = float(angles["transpose"][-1].max())
    metrics["run_time_s"] = clock.elapsed()
    return Result(metrics=metrics, figure=_figure(angles, sizes))


def _figure(angles, sizes):
    hv = holoviews()
    curves = []
    for kind, dash in (("transpose", "solid"), ("random", "dashed")):
        for k in range(len(sizes) - 1):
            curves.append(hv.Curve((FEEDBACK, angles[kind][:, k]), "g_A = g_som", "angle (deg)",
                                   label=f"layer {k + 1}, top-down {kind}").opts(line_dash=dash))
    return hv.Overlay(curves).opts(
        logx=True, title="Angle between microcircuit and backprop updates (Sec. 3.1)",
        width=900, height=420, legend_position="right")


__all__ = ["angles_to_backprop", "theory_network", "run"]
