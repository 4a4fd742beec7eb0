r"""Fig. 2: a 30-50-10 microcircuit learns a random 30-20-10 teacher network (regression).

Five learners see the same stream of patterns, each pattern shown for the presentation time with
its teacher target on (full dynamics, learning continuous, no phases):

* the microcircuit (all weights plastic except the fixed top-down ones),
* the shallow learner, as the paper defines it: the same circuit with only the output weights
  :math:`W^{PP}_{2,1}` plastic (the hidden weights and both lateral weights stay as initialised),
* an extra, stronger shallow learner ("shallow, lateral plastic"): the hidden bottom-up
  weights frozen but :math:`W^{IP}` and :math:`W^{PI}` learning, so that the interneurons cancel
  the top-down feedback as in the microcircuit (the baseline this project reported before),
* a backprop MLP with the same architecture, :math:`\varphi` and initial forward weights,
* the same MLP trained by feedback alignment through the microcircuit's fixed top-down weights
  (what the microcircuit approximates when its top-down weights are random and fixed).

The test error :math:`\lVert r_N - r^\mathrm{trgt}\rVert^2` is measured on unseen patterns at
:math:`\sigma = 0`; the angle between the output weights and the transposed top-down weights tells
how far feedback alignment went (paper: about 45 degrees).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..model import validation
from .baselines import MLP, angle_degrees, forward_feedback_angle
from ..simulate.dynamics import run_patterns
from .tasks import TeacherTask, regression_error, squared_error
from .common import Result, Stopwatch, base_metrics, check_regime, holoviews, progress
from .configuration import Preset, Scenario

_FIG2_RATES = dict(eta_PP_up=[0.0011875, 0.0005], eta_IP=[0.0011875], eta_PI=[0.0059375])

PRESET = Preset(
    name="fig2", title="Fig. 2: nonlinear regression, student 30-50-10 vs teacher 30-20-10",
    description="All weights but the top-down ones learn continuously from a random start; "
                "rates and sigma = 0.3 (SM?).",
    layer_sizes=(30, 50, 10),
    parameters=dict(sigma=0.3, **_FIG2_RATES),
)

QUICK_PRESET = Preset(
    name="fig2-quick",
    title="Fig. 2, classroom size: regression that visibly learns within seconds",
    description="Ours, not the paper's: threshold theta = 0 puts every neuron in the "
                "responsive part of the soft rectifier (with theta = 3 the rates and their "
                "derivatives are ~100x smaller and learning crawls); sigma = 0.3 (SM?); 10 ms "
                "patterns with a 2 ms learning lag and a tau_0 = 0.3 ms input switch (with "
                "tau_0 = 1 ms the switch is 14 % unfinished when learning starts, and that "
                "transient drives the error back up after ~2000 patterns). Rates calibrated "
                "on the steady-state and full simulators: the hidden rate eta^PP_{1,0} = 0.5 "
                "is 5x the output rate 0.1 (the paper's (SM?) ratio is 2.4x; with 0.01 the "
                "hidden layer learns nothing and the circuit equals the shallow learner); "
                "W^PI learns slowly (0.02 < 0.05, else it cancels the apical error signal) "
                "and W^IP fast (0.1, to track the moving output weights); top-down weights "
                "U(-3, 3) instead of the (SM?) U(-1, 1) for a stronger feedback signal "
                "relative to the lateral mismatch. Measured (reproduce fig2, 10^4 patterns, "
                "seeds 0-2): error 0.18x / 0.14x / 0.18x the shallow learner's, 1.6x / 2.1x "
                "/ 1.6x backprop's, output vs transposed top-down weights 51 / 52 / 47 "
                "degrees. tests/test_regression.py checks that the test error falls by "
                ">= 30 % in both simulators and that the hidden layer helps.",
    layer_sizes=(30, 50, 10),
    parameters=dict(theta=0.0, sigma=0.3, presentation_time=10.0, learning_lag=2.0,
                    tau_0=0.3, eta_PP_up=[0.5, 0.1], eta_IP=[0.1], eta_PI=[0.02],
                    init_scale_PP_down=3.0),
)
PRESETS = (PRESET, QUICK_PRESET)


QUICK = dict(preset=QUICK_PRESET, patterns=3000, checks=15, mlp_learning_rate=2.0)
FULL = dict(preset=QUICK_PRESET, patterns=10000, checks=40, mlp_learning_rate=2.0)
"""Protocols. FULL shows 10^4 patterns, the paper's horizon (10^7 trials of its x-axis, read as
0.1 ms steps of 100 ms patterns); our patterns last 10 ms (preset ``fig2-quick``). The MLPs learn
one pattern at a time with rate 2.0 on the rate loss; at the start their steps are about 1/3
(output weights) and 1/14 (hidden weights) of the microcircuit's in the same units, so the
comparison does not favour the microcircuit. With more patterns backprop pulls further ahead of
both the microcircuit and the feedback-alignment MLP (fixed random feedback aligns slowly)."""
PAPER = dict(preset=PRESET, patterns=10000, checks=40, mlp_learning_rate=2.0)
PAPER_QUICK = dict(preset=PRESET, patterns=100, checks=2, mlp_learning_rate=2.0)
"""``--regime paper``: preset ``fig2``, the paper's (SM?) values (theta = 3, 100 ms patterns,
tau_0 = 3 ms, the SM rates, top-down U(-1, 1)), for 10^4 patterns: the 10^7 steps of 0.1 ms of the
paper's x-axis. The MLPs as in our regime."""
SETUPS = {"ours": {False: FULL, True: QUICK}, "paper": {False: PAPER, True: PAPER_QUICK}}
NOTES = {
    "ours": "Preset fig2-quick (theta = 0, 10 ms patterns, tau_0 = 0.3 ms, calibrated rates, "
            "top-down U(-3, 3)) instead of the paper's (SM?) values: with theta = 3 and those "
            "rates the outputs start far below the targets and learning barely moves within 10^4 "
            "patterns (run --regime paper). The hidden rate must exceed the output rate (5x "
            "here, 2.4x in the paper) and W^PI must learn slowly, or the hidden layer learns "
            "nothing beyond the shallow learner; see the preset's description.",
    "paper": "Preset fig2: the paper's (SM?) values (theta = 3, 100 ms patterns, tau_0 = 3 ms, "
             "the SM rates, top-down U(-1, 1)) at the paper's horizon; compare with --regime "
             "ours.",
}
N_TEST = 500

SCENARIO = Scenario(
    name="fig2", title="Fig. 2: nonlinear regression of a teacher network",
    description="Every pattern comes with the teacher's target; all weights but the top-down "
                "ones learn at once. The test error falls next to a backprop network trained "
                "on the same patterns.",
    preset=QUICK_PRESET.name, nudging=True,
    baseline_learning_rate=QUICK["mlp_learning_rate"])
PAPER_SCENARIO = dataclasses.replace(
    SCENARIO, name="fig2-paper",
    title="Fig. 2 in the paper's regime: θ = 3, 100 ms patterns, the SM rates",
    description="The same task with the paper's (SM?) values, preset fig2. Most neurons sit "
                "near their floor rate at θ = 3 and learning crawls: compare the learning "
                "curve with the Fig. 2 scenario, whose regime is ours.",
    preset=PRESET.name)
SCENARIOS = (SCENARIO, PAPER_SCENARIO)


def _learners(preset, seed, overrides=None):
    """The five learners, from the same initial weights: microcircuit, shallow (the paper's),
    shallow with lateral plasticity, backprop MLP, feedback-alignment MLP (``overrides``:
    parameter values instead of the preset's)."""
    overrides = overrides or {}
    micro, shallow, shallow_lateral = (preset.make_network(seed=seed, **overrides)
                                       for _ in range(3))
    for net in (shallow, shallow_lateral):
        rates = validation.per_layer("eta_PP_up", net.params.eta_PP_up, net.n_layers)
        net.params.eta_PP_up = [0.0] * (net.n_layers - 1) + [rates[-1]]
    shallow.params.learn_IP = shallow.params.learn_PI = shallow.params.learn_PP_down = False
    mlp = MLP.from_network(micro)
    fa_mlp = MLP.from_network(micro)  # its feedback matrices: copies of the fixed top-down weights
    return micro, shallow, shallow_lateral, mlp, fa_mlp


def run(quick=False, seed=0, show_progress=True, regime="ours", overrides=None):
    """Train the five learners on the same patterns; see the module docstring and
    :data:`~core.protocols.common.REGIMES` (``overrides``: parameter values instead of the
    regime's, ``--set``)."""
    check_regime(regime)
    clock = Stopwatch()
    setup = SETUPS[regime][quick]
    preset = setup["preset"]
    micro, shallow, shallow_lateral, mlp, fa_mlp = _learners(preset, seed, overrides)
    task = TeacherTask.random(mlp.transfer, seed=seed + 1000)
    rng = np.random.default_rng(seed + 2000)
    test_inputs = task.inputs(rng, N_TEST)
    test_targets = task.target_rates(test_inputs)
    per_check = setup["patterns"] // setup["checks"]

    def errors():
        return (regression_error(micro, task, test_inputs), regression_error(shallow, task, test_inputs),
                squared_error(mlp.predict(test_inputs), test_targets),
                squared_error(fa_mlp.predict(test_inputs), test_targets),
                forward_feedback_angle(micro.weights, 1),
                regression_error(shallow_lateral, task, test_inputs))

    history = [(0, *errors())]
    for net in (micro, shallow, shallow_lateral):
        net.nudging = True
    for check in progress(range(setup["checks"]), desc="fig2", enabled=show_progress):
        inputs = task.inputs(rng, per_check)
        targets = task.target_potentials(inputs)
        for net in (micro, shallow, shallow_lateral):
            run_patterns(net, inputs, targets)
        for x, rate in zip(inputs, task.transfer.phi(targets)):
            mlp.train_batch(x, rate, setup["mlp_learning_rate"])
            fa_mlp.train_batch(x, rate, setup["mlp_learning_rate"], rule="feedback_alignment")
        history.append(((check + 1) * per_check, *errors()))

    history = np.array(history)
    metrics = base_metrics(
        "fig2", quick, seed, micro.sizes, micro.params,
        protocol={"regime": regime, "set": dict(overrides or {}), "preset": preset.name,
                  "patterns": per_check * setup["checks"],
                  "test_patterns": N_TEST, "teacher": "30-20-10, k10 = 2, k21 = 10, U(-1, 1)",
                  "mlp_learning_rate": setup["mlp_learning_rate"], "mlp_loss": "rate"},
        paper={"microcircuit_vs_shallow": "microcircuit clearly better (shallow: only the output "
                                          "weights plastic)",
               "forward_feedback_angle_deg": 45},
        notes=NOTES[regime])
    metrics["initial_error"], metrics["final_error"] = float(history[0, 1]), float(history[-1, 1])
    metrics["baselines"] = {"shallow": float(history[-1, 2]), "backprop_mlp": float(history[-1, 3]),
                            "shallow_initial": float(history[0, 2]),
                            "backprop_mlp_initial": float(history[0, 3]),
                            "feedback_alignment_mlp": float(history[-1, 4]),
                            "shallow_lateral_plastic": float(history[-1, 6]),
                            "shallow_lateral_plastic_initial": float(history[0, 6])}
    metrics["angles_deg"] = {
        "output_weights_vs_top_down_transposed": float(history[-1, 5]),
        "output_weights_vs_top_down_transposed_initial": float(history[0, 5]),
        "feedback_alignment_mlp_output_weights_vs_feedback_transposed":
            angle_degrees(fa_mlp.W[2], fa_mlp.feedback[1].T)}
    metrics["measurements"] = {
        "micro_over_shallow": float(history[-1, 1] / history[-1, 2]),
        "micro_over_shallow_lateral_plastic": float(history[-1, 1] / history[-1, 6]),
        "micro_over_backprop_mlp": float(history[-1, 1] / history[-1, 3]),
        "history": {"patterns": history[:, 0].astype(int).tolist(),
                    "microcircuit": history[:, 1].tolist(), "shallow": history[:, 2].tolist(),
                    "shallow_lateral_plastic": history[:, 6].tolist(),
                    "backprop_mlp": history[:, 3].tolist(),
                    "feedback_alignment_mlp": history[:, 4].tolist(),
                    "angle_deg": history[:, 5].tolist()}}
    metrics["run_time_s"] = clock.elapsed()
    return Result(metrics=metrics, figure=_figure(history))


def _figure(history):
    hv = holoviews()
    curves = [hv.Curve((history[:, 0], history[:, i]), "patterns", "test error", label=label)
              for i, label in ((1, "microcircuit"), (2, "shallow learner (paper)"),
                               (6, "shallow, lateral plastic"), (3, "backprop MLP"),
                               (4, "feedback-alignment MLP"))]
    errors = hv.Overlay(curves).opts(title="Nonlinear regression (Fig. 2)", logy=True, width=700,
                                     height=400, legend_position="top_right")
    angle = hv.Curve((history[:, 0], history[:, 5]), "patterns", "angle (degrees)").opts(
        title="Output weights vs transposed top-down weights (paper: about 45 degrees)",
        width=700, height=250)
    return (errors + angle).cols(1)
