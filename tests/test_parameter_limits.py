"""Every widget value is handled: each value inside a parameter's bounds, and each combination of
such values, either simulates finitely or is refused with a ``ValueError`` that names the parameter
(issue "every widget value is handled").

The dashboard's sliders span the parameters' ``softbounds``; a student drags them in any order, to
either end. Limits with a meaning are simulated and checked here against hand computations
(g_A = 0, g_D = 0, sigma = 0, tau_w = 0, tau_0 = 0, t_lag = 0, theta at its bounds, T shorter
than one step); the 0/0 combinations (g_lk + g_B = 0, g_lk + g_D = 0) are refused and leave the
previous value in place. The property test also draws the far ends of the declared bounds.
"""

import json
import math
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import panel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.equation_panel import derived_quantities, equations
from core.model import equations as eq
from core.simulate import steady_state
from core.simulate.compartments import compartments
from core.simulate.dynamics import presentation_steps, run, run_patterns
from core.errors import ConvergenceError, DivergenceError
from core.protocols.presets import SCENARIOS
from live import LiveSimulation
from core.model.network import Network
from core.model.parameters import CONSTRAINTS, ModelParameters, parameter_names
from core.model.transfer import transfer_function
from core.model.validation import integration_warning

SLIDERS = ["g_lk", "g_B", "g_A", "g_D", "g_som", "sigma", "dt", "presentation_time", "tau_w",
           "tau_0", "learning_lag", "theta"]
"""The dashboard's sliders (app/main.py), each over its parameter's softbounds."""
NAMES = parameter_names()
LIMITS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])


def _softbounds(name):
    return ModelParameters.param[name].softbounds


def _names_a_parameter(message):
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message) for name in NAMES)


def _finite(x):
    return bool(np.all(np.isfinite(np.asarray(x, dtype=float))))


# ------------------------------------------------------------------------------------------------
# Cross-parameter rules: refused at assignment, the previous value kept
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("coupling", ["g_B", "g_D"])
def test_a_soma_without_any_conductance_is_refused_and_the_old_value_kept(coupling):
    params = ModelParameters(g_lk=0.0)
    revision = params.revision
    with pytest.raises(ValueError, match=rf"{coupling} = 0.0 rejected \({coupling} stays 1.0\): "
                                         rf"g_lk \+ {coupling} > 0 is required.*0/0.*change g_lk"):
        setattr(params, coupling, 0.0)
    assert getattr(params, coupling) == 1.0
    assert params.revision == revision  # nothing downstream saw the refused value
    # the same rule in the other order: the leak is the conflicting parameter now
    params = ModelParameters(**{coupling: 0.0})
    with pytest.raises(ValueError, match=rf"g_lk = 0 rejected \(g_lk stays 0.1\).*change {coupling}"):
        params.g_lk = 0
    assert params.g_lk == 0.1


def test_a_batch_update_that_breaks_a_rule_is_undone_whole():
    params = ModelParameters()
    with pytest.raises(ValueError, match=r"g_lk = 0.0, g_B = 0.0 rejected"):
        params.param.update(g_lk=0.0, g_B=0.0, sigma=0.5)
    assert (params.g_lk, params.g_B, params.sigma) == (0.1, 1.0, 0.1)
    params.param.update(g_lk=0.0, g_B=0.5)  # a combination that is fine is taken as a whole
    assert (params.g_lk, params.g_B) == (0.0, 0.5)


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.rule)
def test_building_with_a_broken_rule_names_every_parameter_of_it(constraint):
    values = {"E_exc > E_inh": dict(E_exc=-1.0), "g_lk + g_B > 0": dict(g_lk=0.0, g_B=0.0),
              "g_lk + g_D > 0": dict(g_lk=0.0, g_D=0.0)}[constraint.rule]
    with pytest.raises(ValueError, match=re.escape(constraint.rule)) as refused:
        ModelParameters(**values)
    for name in constraint.names:
        assert name in str(refused.value)


# ------------------------------------------------------------------------------------------------
# Limits of the equations, against hand computations
# ------------------------------------------------------------------------------------------------

def test_attenuation_limits():
    assert eq.basal_attenuation(0.1, 0.0, 0.8) == 0.0  # decoupled basal dendrite
    assert eq.basal_attenuation(0.0, 1.0, 0.0) == 1.0  # output without leak follows its dendrite
    assert eq.basal_attenuation(0.0, 1.0, 0.25) == pytest.approx(0.8)  # 1 / 1.25
    assert eq.interneuron_attenuation(0.1, 0.0) == 0.0  # decoupled interneuron dendrite
    assert eq.interneuron_attenuation(0.0, 2.0) == 1.0
    with pytest.raises(ValueError, match=r"basal attenuation .* is 0/0 for g_lk = 0.0, g_B = 0.0, "
                                         r"g_A = 0.0: a soma needs g_lk \+ g_B \+ g_A > 0"):
        eq.basal_attenuation(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"interneuron attenuation .* g_lk = 0, g_D = 0"):
        eq.interneuron_attenuation(0, 0)


def test_single_compartment_fixed_points_in_the_limits():
    # g_A = 0: no feedback, u = g_B v_B / (g_lk + g_B) = 1 * 2 / 1.1, whatever v_A
    assert eq.pyramidal_soma_steady_state(2.0, 7.0, 0.1, 1.0, 0.0) == pytest.approx(2 / 1.1)
    # g_B = 0: only the apical compartment, 0.8 * 3 / 0.9
    assert eq.pyramidal_soma_steady_state(5.0, 3.0, 0.1, 0.0, 0.8) == pytest.approx(2.4 / 0.9)
    # g_som = 0: the nudged output fixed point is the free one, 2 / 1.1
    assert eq.output_soma_steady_state(2.0, 9.0, 0.1, 1.0, 0.0) == pytest.approx(2 / 1.1)
    # g_D = 0: the interneuron follows only its nudging, 0.4 * 2 / (0.1 + 0.4)
    assert eq.interneuron_soma_steady_state(5.0, 2.0, 0.1, 0.0, 0.4) == pytest.approx(1.6)
    with pytest.raises(ValueError, match="output fixed point is 0/0"):
        eq.output_soma_steady_state(1.0, None, 0.0, 0.0, 0.8)
    with pytest.raises(ValueError, match="interneuron fixed point is 0/0"):
        eq.interneuron_soma_steady_state(1.0, 1.0, 0.0, 0.0, 0.0)


def test_self_predicting_limits():
    W_up_next, W_down = np.array([[2.0, -1.0]]), np.array([[0.5], [1.5]])
    # g_B = 0: the next layer ignores its basal input; the interneurons predict rest
    W_IP, W_PI = eq.self_predicting_weights(W_up_next, W_down, 0.1, 0.0, 1.0, 0.8)
    np.testing.assert_array_equal(W_IP, [[0.0, 0.0]])
    np.testing.assert_array_equal(W_PI, -W_down)
    # g_lk = 0: g_B / (g_B + g_A') = 1 / 1.25
    assert eq.self_predicting_scale(0.0, 1.0, 0.5, 0.25) == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"no self-predicting state exists for g_D = 0.0: the "
                                         r"interneuron dendrite is decoupled"):
        eq.self_predicting_weights(W_up_next, W_down, 0.1, 1.0, 0.0, 0.8)
    # tiny conductances, whose products underflow: g_B g_D / (g_D g_B) = 1 all the same
    assert eq.self_predicting_scale(0.0, 1e-200, 1e-200, 0.0) == 1.0
    # g_D -> 0: 1 * 0.1 / (1e-310 * 1.9) ~ 5e308 leaves the float range
    with pytest.raises(ValueError, match=r"for g_D = 1e-310: W\^IP would exceed the float range"):
        eq.self_predicting_scale(0.1, 1.0, 1e-310, 0.8)


def test_low_pass_limit_and_integration_accuracy():
    np.testing.assert_array_equal(eq.low_pass_step(np.array([1.0]), np.array([3.0]), 0.1, 0.0), [3.0])
    # max(0.1 + 1 + 0.8, 0.1 + 1 + 0.5, 0.1 + 2 + 0.5) = 2.6; 0.2 * 2.6 = 0.52
    assert eq.largest_total_conductance(0.1, 1.0, 0.8, 2.0, 0.5) == pytest.approx(2.6)
    assert eq.integration_accuracy(0.2, 0.1, 1.0, 0.8, 2.0, 0.5) == pytest.approx(0.52)
    assert eq.euler_stability_bound(0.0, 0.0, 0.0, 0.0, 0.0) == math.inf


def test_integration_warning_between_accurate_and_unstable():
    params = ModelParameters()  # g_max = 1.9: accurate up to 0.5 / 1.9 = 0.263 ms
    assert integration_warning(params) is None
    params.dt = 0.26
    assert integration_warning(params) is None
    params.dt = 0.3
    warning = integration_warning(params)
    assert re.fullmatch(r"dt = 0.3 ms is stable but inaccurate for g_max = 1.9/ms .*: dt x g_max "
                        r"= 0.57 > 0.5, transients are off by 10 % or more; choose dt <= 0.263 ms",
                        warning)
    params.dt = 0.6
    assert "overshoots the fixed point" in integration_warning(params)
    params.dt = 1.1
    assert "at or beyond the Euler stability bound" in integration_warning(params)


# ------------------------------------------------------------------------------------------------
# Limits of the simulation, against hand computations
# ------------------------------------------------------------------------------------------------

def _network(**values):
    params = ModelParameters(**dict(dict(sigma=0.0, learn_PP_up=False, learn_IP=False,
                                         learn_PI=False), **values))
    net = Network((3, 4, 2), params, seed=1)
    net.present([0.2, 0.5, 0.9], [0.3, -0.2])
    net.nudging = True
    return net


def test_sigma_zero_draws_no_noise():
    net = _network(sigma=0.0)
    state = net.rng.bit_generator.state
    run(net, 5, backend="numpy")
    assert net.rng.bit_generator.state == state


def test_tau_0_zero_switches_the_pattern_in_one_step():
    net = _network(tau_0=0.0)
    run(net, 1, backend="numpy")
    np.testing.assert_array_equal(net.state.r_input, [[0.2, 0.5, 0.9]])
    np.testing.assert_array_equal(net.state.u_target, [[0.3, -0.2]])


def test_tau_w_zero_consolidates_each_steps_induction_term_directly():
    net = _network(tau_w=0.0, learning_lag=0.0, learn_PI=True, eta_PI=[0.5])
    run(net, 3, backend="numpy")  # away from rest
    comp = compartments(net.weights, net.state.u_P, net.state.u_I, net.state.r_input,
                        transfer_function(net.params).phi)
    before = net.weights.W_PI[1].copy()
    run(net, 1, backend="numpy")
    # no filter: W^PI += eta dt (0 - v_A) r_I^T with this step's compartments (Eq. 9)
    expected = before + 0.5 * 0.1 * np.outer(-comp.v_A[1][0], comp.r_I[1][0])
    np.testing.assert_allclose(net.weights.W_PI[1], expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("learning_lag, frozen_steps", [(0.0, 0), (0.25, 3)])
def test_learning_lag_freezes_the_first_steps_of_a_pattern(learning_lag, frozen_steps):
    # plasticity starts at step ceil(t_lag / dt): 0.25 / 0.1 -> step 3
    net = _network(learning_lag=learning_lag, learn_PI=True, eta_PI=[0.5])
    before = net.weights.W_PI[1].copy()
    run(net, frozen_steps, backend="numpy")
    np.testing.assert_array_equal(net.weights.W_PI[1], before)
    run(net, 1, backend="numpy")
    assert not np.array_equal(net.weights.W_PI[1], before)


def test_g_A_zero_cuts_the_feedback_from_the_hidden_somata():
    # with g_A = 0 the hidden pyramids ignore their apical dendrites: top-down and lateral weights
    # cannot change their trajectory
    a, b = _network(g_A=0.0), _network(g_A=0.0)
    b.weights.W_down[1][...] = 5.0
    b.weights.W_PI[1][...] = -3.0
    run(a, 50, backend="numpy")
    run(b, 50, backend="numpy")
    np.testing.assert_array_equal(a.state.u_P[1], b.state.u_P[1])


def test_g_D_zero_decouples_the_interneuron_dendrite():
    a, b = _network(g_D=0.0), _network(g_D=0.0)
    b.weights.W_IP[1][...] = 4.0
    run(a, 50, backend="numpy")
    run(b, 50, backend="numpy")
    np.testing.assert_array_equal(a.state.u_I[1], b.state.u_I[1])
    # and no self-predicting state exists to start from or to set
    with pytest.raises(ValueError, match="no self-predicting state exists for g_D = 0"):
        a.make_self_predicting()
    with pytest.raises(ValueError, match="no self-predicting state exists for g_D = 0"):
        Network((3, 4, 2), ModelParameters(g_D=0.0), self_predicting=True)


def test_g_D_zero_in_the_live_simulation_measures_no_self_prediction():
    sim = LiveSimulation("fig-s1", seed=0)
    sim.network.params.g_D = 0.0
    frame = sim.advance(200)
    assert frame.error is None
    assert math.isnan(frame.progress["cos_IP_vs_self_predicting"][0])
    assert all(_finite(v) for k, v in frame.progress.items() if k != "cos_IP_vs_self_predicting")


def test_the_threshold_anywhere_in_its_bounds_gives_finite_rates():
    # theta = -1e6: the linear regime, gamma log(1 + e^{beta (u - theta)}) = 0.1 * (0 + 1e6);
    # theta = +1e6: e^{-1e6} underflows to a rate of exactly 0, without a warning
    for theta, rate in ((-1e6, 1e5), (1e6, 0.0)):
        phi = transfer_function(ModelParameters(theta=theta)).phi
        with np.errstate(all="raise", under="ignore"):
            assert phi(np.zeros(1))[0] == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("presentation_time", [1e-6, 0.04, 0.06, 0.1])
def test_a_presentation_shorter_than_a_step_lasts_one_step(presentation_time):
    # round(T / dt), at least one: 0.04 / 0.1 rounds to 0, 0.06 / 0.1 to 1
    params = ModelParameters(presentation_time=presentation_time, sigma=0.0)
    assert presentation_steps(params) == 1
    net = Network((3, 4, 2), params, seed=0)
    recording = run_patterns(net, np.eye(3), record=["u_P2"], backend="numpy")
    assert len(recording.time) == 3
    sim = LiveSimulation("fig2", seed=0)
    sim.network.params.presentation_time = presentation_time
    frame = sim.advance(10, measure=False)
    assert frame.error is None and frame.steps == 10
    assert sim.patterns_seen == 10  # one per step (the next is shown when the run goes on)


# ------------------------------------------------------------------------------------------------
# The equations panel renders every parameter set, in valid KaTeX
# ------------------------------------------------------------------------------------------------

_KATEX = Path(panel.__file__).parent / "dist" / "bundled" / "katex"


def _katex_errors(formulas):
    """Formulas KaTeX refuses (with its message), checked by the KaTeX that Panel ships."""
    script = next(iter(sorted(_KATEX.glob("katex@*/dist/katex.min.js"))), None)
    node = shutil.which("node")
    if script is None or node is None:
        pytest.skip("needs node and Panel's bundled KaTeX")
    program = (f"const katex = require({json.dumps(str(script))});"
               "const formulas = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
               "const errors = [];"
               "for (const f of formulas) { try { katex.renderToString(f, {throwOnError: true}); }"
               " catch (e) { errors.push([f, String(e)]); } }"
               "console.log(JSON.stringify(errors));")
    done = subprocess.run([node, "-e", program], input=json.dumps(formulas), text=True,
                          capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)


def _extreme_parameters(end):
    """All sliders at one end of their softbounds, applied in order (refusals skipped)."""
    params = ModelParameters()
    for name in SLIDERS:
        try:
            setattr(params, name, _softbounds(name)[end])
        except ValueError:
            pass
    return params


def test_equations_render_valid_katex_at_both_ends_and_where_a_ratio_is_undefined():
    formulas = []
    for params in (_extreme_parameters(0), _extreme_parameters(1), ModelParameters()):
        for _, symbolic, with_values in equations(params):
            formulas += [f for f in (symbolic, with_values) if f is not None]
    # a parameter object cannot hold g_lk = g_B = g_D = 0, but the panel must not fail on one
    nothing = SimpleNamespace(**dict(ModelParameters().values(), g_lk=0.0, g_B=0.0, g_A=0.0,
                                     g_D=0.0, g_som=0.0))
    undefined = [latex for _, latex in derived_quantities(nothing)]
    assert r"\text{—}" in undefined[0] and r"\infty" in undefined[2]
    assert _katex_errors(formulas + undefined) == []


# ------------------------------------------------------------------------------------------------
# Any slider values, in any order: finite results or a refusal that names a parameter
# ------------------------------------------------------------------------------------------------

def _in_bounds(name, value):
    p = ModelParameters.param[name]
    (low, high), (low_included, high_included) = p.bounds, p.inclusive_bounds
    return ((low is None or value > low or (value == low and low_included))
            and (high is None or value < high or (value == high and high_included)))


def _slider_value(name):
    """Mostly a slider's range, with its ends; sometimes the far ends of the declared bounds."""
    low, high = _softbounds(name)
    far = [end for end in ModelParameters.param[name].bounds if end is not None]
    far += [-1e300, 5e-324, 1e-300, 0.001, 1e300]  # 0.001: a presentation shorter than any dt
    return st.one_of(st.sampled_from([low, high]), st.floats(low, high),
                     st.sampled_from([v for v in far if _in_bounds(name, v)]))


@st.composite
def slider_moves(draw):
    """A scenario and the slider values a student sets, in the order they set them."""
    order = draw(st.permutations(SLIDERS))
    return (draw(st.sampled_from(sorted(SCENARIOS))),
            [(name, draw(_slider_value(name))) for name in order],
            draw(st.sampled_from([0.0, 1.0, 10.0, 1e6])),  # all learning rates scaled
            draw(st.booleans()))  # nudging


def _apply(params, moves):
    """Set each value like a slider does; a refusal must name the slider and keep the old value."""
    for name, value in moves:
        before = getattr(params, name)
        try:
            setattr(params, name, value)
        except ValueError as refusal:
            assert f"{name} = {value!r} rejected" in str(refusal)
            assert getattr(params, name) == before


def _no_self_prediction(net):
    """Whether no self-predicting state exists (g_D = 0, or so small that W^IP overflows)."""
    try:
        net.self_predicting_weights(1)
    except ValueError as refusal:
        assert "no self-predicting state exists for g_D" in str(refusal)
        return True
    return False


def _check_simulation(sim):
    """100 Euler steps and one steady-state mini-batch: finite, or refused naming a parameter."""
    net, params = sim.network, sim.network.params
    for _, symbolic, with_values in equations(params):
        assert "nan" not in with_values and "inf" not in with_values.replace(r"\infty", "")
    warning = integration_warning(params)
    assert warning is None or "dt = " in warning
    frame = sim.advance(100)
    if frame.error is not None:
        assert _names_a_parameter(frame.error), frame.error
    assert all(_finite(column) for column in frame.traces.values())
    for name, value in frame.progress.items():
        assert _finite(value) or (name == "cos_IP_vs_self_predicting" and _no_self_prediction(net))
    inputs = sim.task.inputs(np.random.default_rng(0), 4)
    target = sim.task.target_potentials(inputs) if net.nudging else None
    try:
        comp = steady_state.train_batch(net, inputs, target)
    except (ValueError, DivergenceError, ConvergenceError) as refusal:
        assert _names_a_parameter(str(refusal)), str(refusal)
    else:
        assert all(_finite(u) for u in list(comp.u_P.values()) + list(comp.u_I.values()))
    assert all(_finite(W) for _, _, W in net.weights.items())
    assert all(_finite(u) for u in list(net.state.u_P.values()) + list(net.state.u_I.values()))


def _strictly(check, *args):
    # a division by zero, overflow or invalid operation that the simulator does not handle
    # itself must fail the test, not slip through as a NaN or a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            check(*args)


@LIMITS
@given(moves=slider_moves())
def test_any_slider_values_in_any_order_simulate_finitely_or_are_refused_by_name(moves):
    scenario, values, rate_factor, nudging = moves
    sim = LiveSimulation(scenario, seed=0)
    params = sim.network.params
    for name in ("eta_PP_up", "eta_IP", "eta_PI"):
        setattr(params, name, [rate_factor * rate for rate in getattr(params, name)])
    sim.network.nudging = nudging
    _apply(params, values)
    _strictly(_check_simulation, sim)


@pytest.mark.parametrize("end", [0, 1], ids=["minimum", "maximum"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_slider_at_one_end_together(scenario, end):
    sim = LiveSimulation(scenario, seed=0)
    params = sim.network.params
    extremes = {name: _softbounds(name)[end] for name in SLIDERS}
    if end == 0:
        # all at once: g_lk + g_B = 0 breaks a rule, and nothing changes
        before = params.values()
        with pytest.raises(ValueError, match=r"g_lk \+ g_B > 0 is required"):
            params.param.update(**extremes)
        assert params.values() == before
        # one after another, as a student drags them: g_B and g_D are refused (g_lk is 0 then)
        _apply(params, extremes.items())
        assert (params.g_lk, params.g_B, params.g_D) == (0.0, 1.0, 1.0)
        refused = ("g_B", "g_D")
    else:
        params.param.update(**extremes)
        refused = ()
    assert all(getattr(params, n) == v for n, v in extremes.items() if n not in refused)
    _strictly(_check_simulation, sim)
    if end == 1:  # dt = 1 ms against g_max = 6/ms: the simulator refuses it, by name
        assert "dt = 1.0 ms is at or beyond the Euler stability bound" in integration_warning(params)


def test_the_fixed_points_take_an_array_of_conductances_and_refuse_a_zero_total_in_it():
    """Notebook 02 sweeps g_A over an array: the 0/0 guard must work elementwise."""
    g_A = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(eq.pyramidal_soma_steady_state(1.0, 2.0, 0.1, 1.0, g_A),
                               [1.0 / 1.1, 3.0 / 2.1, 7.0 / 4.1])
    with pytest.raises(ValueError, match="0/0"):
        eq.pyramidal_soma_steady_state(1.0, 2.0, 0.0, 0.0, g_A)
