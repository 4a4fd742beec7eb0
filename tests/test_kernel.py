"""The compiled kernel (core/_kernel.py) follows the NumPy reference's trajectory.

Two networks built from the same seed run the same steps, one with ``backend="numpy"`` and one
with ``backend="numba"``; every potential, weight, threshold, trace and filtered input/target
must agree to 1e-9 (in practice they agree to ~1e-15), and the clocks exactly.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

from core.dynamics import noise_size, run  # noqa: E402
from core.layers import MATRICES  # noqa: E402
from core.network import Network  # noqa: E402
from core.parameters import ModelParameters  # noqa: E402

TOLERANCE = 1e-9
STEPS = 300


def _network(sizes, params, *, seed=0, batch=1, self_predicting=False, nudging=True,
             target=True):
    net = Network(sizes, ModelParameters(**params), seed=seed, self_predicting=self_predicting)
    rng = np.random.default_rng(seed + 1000)
    rates = rng.uniform(0.0, 1.0, (batch, sizes[0]))
    targets = rng.uniform(-1.0, 1.0, (batch, sizes[-1])) if target else None
    if batch == 1:
        rates = rates[0]
        targets = None if targets is None else targets[0]
    net.present(rates, targets)
    net.nudging = nudging
    return net


def _state(net):
    """Every array the dynamics change, by name."""
    s = net.state
    arrays = {f"u_P{k}": u for k, u in s.u_P.items()}
    arrays.update({f"u_I{k}": u for k, u in s.u_I.items()})
    arrays.update(r_input=s.r_input, u_target=s.u_target)
    for name in MATRICES:
        for k, array in getattr(net.weights, name).items():
            arrays[f"{name}{k}"] = array
        for k, array in getattr(s.traces, name).items():
            arrays[f"trace {name}{k}"] = array
    return arrays


def _assert_same_trajectory(reference, compiled):
    expected, actual = _state(reference), _state(compiled)
    assert expected.keys() == actual.keys()
    for name, value in expected.items():
        assert actual[name].shape == value.shape, name
        np.testing.assert_allclose(actual[name], value, rtol=0, atol=TOLERANCE, err_msg=name)
    assert compiled.state.steps == reference.state.steps
    assert compiled.state.time == reference.state.time
    assert compiled.state.pattern_time == reference.state.pattern_time


def _compare(sizes, params, *, steps=STEPS, run_kwargs=None, **network_kwargs):
    reference = _network(sizes, params, **network_kwargs)
    compiled = _network(sizes, params, **network_kwargs)
    run(reference, steps, backend="numpy", **(run_kwargs or {}))
    run(compiled, steps, backend="numba", **(run_kwargs or {}))
    _assert_same_trajectory(reference, compiled)
    return reference, compiled


CASES = {
    # Fig. 2: one hidden layer, the paper's plasticity (W_up, W_IP, W_PI), soft rectifier.
    "one hidden layer": ([30, 50, 10], {}, {}),
    "one hidden layer, batch 3": ([8, 12, 5], {}, dict(batch=3)),
    "two hidden layers": ([6, 9, 7, 4], dict(eta_PP_up=[0.002]), {}),
    "two hidden layers, batch 3": ([6, 9, 7, 4], dict(eta_PP_up=[0.002]), dict(batch=3)),
    "no hidden layer": ([5, 4], dict(eta_PP_up=[0.002]), {}),
    "no hidden layer, batch 3": ([5, 4], dict(eta_PP_up=[0.002]), dict(batch=3)),
    "wide output (more outputs than hidden)": ([4, 3, 9], {}, {}),
    "logistic with thresholds": ([6, 9, 7, 4], dict(transfer="logistic", use_bias=True,
                                                    eta_PP_up=[0.02]), dict(batch=3)),
    "soft rectifier with thresholds": ([5, 6, 3], dict(use_bias=True), {}),
    "top-down plastic": ([6, 9, 7, 4], dict(learn_PP_down=True, eta_PP_down=[0.001],
                                            eta_PP_up=[0.002]), dict(batch=3)),
    "unfiltered plasticity and inputs (tau_w = tau_0 = 0)": ([6, 8, 4], dict(tau_w=0.0,
                                                                             tau_0=0.0), {}),
    "self-predicting start": ([6, 8, 4], {}, dict(self_predicting=True)),
    "no nudging": ([6, 8, 4], {}, dict(nudging=False)),
    "nudging without a target given": ([6, 8, 4], {}, dict(target=False)),
    "only W_PI plastic": ([6, 8, 4], dict(learn_PP_up=False, learn_IP=False), {}),
    "per-layer rates, one of them 0": ([6, 9, 7, 4], dict(eta_PP_up=[0.002, 0.0, 0.001],
                                                          eta_IP=[0.001, 0.0]), {}),
    "learning lag": ([6, 8, 4], dict(learning_lag=5.0), {}),
}


@pytest.mark.parametrize("sigma", [0.0, 0.3], ids=["deterministic", "noise"])
@pytest.mark.parametrize("case", list(CASES))
def test_same_trajectory_as_numpy(case, sigma):
    sizes, params, network_kwargs = CASES[case]
    _compare(sizes, dict(params, sigma=sigma), **network_kwargs)


@pytest.mark.parametrize("sigma", [0.0, 0.3], ids=["deterministic", "noise"])
def test_same_trajectory_without_learning(sigma):
    reference, _ = _compare([6, 9, 7, 4], dict(sigma=sigma, eta_PP_up=[0.002]),
                            run_kwargs=dict(learning=False))
    fresh = _network([6, 9, 7, 4], dict(sigma=sigma, eta_PP_up=[0.002]))
    for (_, _, before), (_, _, after) in zip(fresh.weights.items(), reference.weights.items()):
        np.testing.assert_array_equal(before, after)


def test_same_recordings_with_one_step_blocks():
    """Recording every step makes run() call the kernel once per step."""
    recordings = []
    for backend in ("numpy", "numba"):
        net = _network([6, 8, 4], dict(sigma=0.3), batch=2)
        recordings.append(run(net, 40, record=["u_P1", "v_A1", "r_I1", "apical_sq"],
                              backend=backend))
    for name in ("u_P1", "v_A1", "r_I1", "apical_sq"):
        np.testing.assert_allclose(recordings[1][name], recordings[0][name], rtol=0,
                                   atol=TOLERANCE)
    np.testing.assert_array_equal(recordings[1].time, recordings[0].time)


def test_consecutive_patterns_and_batch_size_changes():
    nets = [_network([6, 8, 4], dict(sigma=0.3)) for _ in range(2)]
    rng = np.random.default_rng(5)
    schedule = [rng.uniform(0, 1, (1, 6)), rng.uniform(0, 1, (3, 6)), rng.uniform(0, 1, 6)]
    for rates in schedule:
        targets = rng.uniform(-1, 1, (len(np.atleast_2d(rates)), 4))
        for net, backend in zip(nets, ("numpy", "numba")):
            net.present(rates, targets)
            run(net, 120, backend=backend)
    _assert_same_trajectory(*nets)


def test_results_land_in_the_networks_own_arrays():
    net = _network([6, 9, 7, 4], dict(sigma=0.3, eta_PP_up=[0.002], use_bias=True), batch=2)
    before = {name: (array, array.copy()) for name, array in _state(net).items()}
    run(net, 50, backend="numba")
    after = _state(net)
    for name in ("u_P1", "u_P3", "u_I2", "W_up1", "W_IP2", "W_PI1", "b_up3", "trace W_up2"):
        array, old_values = before[name]
        assert after[name] is array, name
        assert not np.array_equal(array, old_values), name
    for name in ("W_down1", "W_down2"):  # not plastic by default: untouched
        array, old_values = before[name]
        assert after[name] is array
        np.testing.assert_array_equal(array, old_values)


def test_noise_is_consumed_in_the_documented_order():
    """Words that all give ~0 but one kick exactly the documented soma."""
    from core._kernel import advance_compiled
    from core.dynamics import context
    from core.noise import standard_normals

    quiet_word = np.uint64(2**52 - 1) << np.uint64(12)  # p = 1/2 - 2**-54: x = -1.4e-16
    kick_word = np.uint64(2**50) << np.uint64(12)       # p ~ 1/8: x = -1.15
    quiet_x, kick_x = standard_normals(np.array([quiet_word, kick_word]))

    sizes = [3, 4, 2]
    net = _network(sizes, dict(sigma=0.5), batch=2, nudging=False)
    ctx = context(net)
    layout = [("u_P", 1), ("u_P", 2), ("u_I", 1)]  # pyramids 1..N, then interneurons
    position = 0
    for name, k in layout:
        block = getattr(net.state, name)[k]
        for sample in range(block.shape[0]):
            for neuron in range(block.shape[1]):
                quiet = _network(sizes, dict(sigma=0.5), batch=2, nudging=False)
                kicked = _network(sizes, dict(sigma=0.5), batch=2, nudging=False)
                noise = np.full((1, noise_size(net)), quiet_word)
                advance_compiled(quiet, ctx, 1, noise, 1)  # learn_from 1: no plasticity
                noise[0, position] = kick_word
                advance_compiled(kicked, ctx, 1, noise, 1)
                for other, j in layout:
                    difference = getattr(kicked.state, other)[j] - getattr(quiet.state, other)[j]
                    expected = np.zeros_like(difference)
                    if (other, j) == (name, k):
                        expected[sample, neuron] = 0.5 * np.sqrt(ctx.p.dt) * (kick_x - quiet_x)
                    np.testing.assert_allclose(difference, expected, rtol=0, atol=1e-15)
                position += 1
    assert position == noise_size(net)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_learning_lag_ending_inside_a_block_equals_cutting_the_block_there(backend):
    """Both back ends switch plasticity on at the lag's end within one block (the dashboard runs
    many short patterns, and a second kernel call per pattern would double their overhead)."""
    params = dict(sigma=0.3, learning_lag=2.0)
    whole, cut = _network([6, 8, 4], params), _network([6, 8, 4], params)
    initial = _state(_network([6, 8, 4], params))
    run(whole, 100, backend=backend)
    run(cut, 20, backend=backend)  # exactly the lag: nothing learned yet
    for name in ("W_up1", "W_IP1", "W_PI1", "trace W_up1"):
        np.testing.assert_array_equal(_state(cut)[name], initial[name], err_msg=name)
    run(cut, 80, backend=backend)
    for name, value in _state(whole).items():
        np.testing.assert_array_equal(_state(cut)[name], value, err_msg=name)
    assert not np.array_equal(_state(whole)["W_up1"], initial["W_up1"])


@pytest.mark.parametrize("generator", [np.random.PCG64, np.random.Philox])
def test_noise_from_a_generator_equals_noise_from_its_words(generator):
    """run() hands the kernel the network's generator: NumPy's PCG64 is stepped inside the
    kernel, any other bit generator gives its words first; both follow the words, and leave the
    generator where drawing the words would."""
    from core._kernel import advance_compiled
    from core.dynamics import context

    params = dict(sigma=0.3)
    from_words, from_generator = _network([6, 8, 4], params), _network([6, 8, 4], params)
    words_source, source = generator(21), generator(21)
    ctx = context(from_words)
    words = words_source.random_raw((50, noise_size(from_words)))
    advance_compiled(from_words, ctx, 50, words, 0)
    advance_compiled(from_generator, ctx, 50, source, 0)
    _assert_same_trajectory(from_words, from_generator)
    np.testing.assert_array_equal(_state(from_generator)["u_P1"], _state(from_words)["u_P1"])
    np.testing.assert_array_equal(source.random_raw(5), words_source.random_raw(5))


def _ulps(actual, expected):
    """Largest difference in units in the last place of ``expected``."""
    return np.max(np.abs(actual - expected) / np.spacing(np.abs(expected)))


def _applied(function, x):
    from numba import njit

    @njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = function(x[i])
        return out
    return apply(x)


def test_the_kernels_exp_and_log1p_are_within_the_documented_ulps():
    """The vectorisable replacements of the C library: exp within 2 ulp (measured: 1), 0 below
    -708; log1p on [0, 1], its two halves one after the other, within 2 ulp (measured: 2)."""
    from numba import njit

    from core._kernel import _exp_nonpositive, _log1p_reduced, _log1p_series

    rng = np.random.default_rng(0)
    z = np.concatenate([-rng.uniform(0.0, 708.0, 100_000), -np.logspace(-300, np.log10(708), 5000),
                        [0.0, -708.0]])
    assert _ulps(_applied(_exp_nonpositive, z), np.exp(z)) <= 2
    np.testing.assert_array_equal(_applied(_exp_nonpositive, np.array([-708.1, -800.0, -np.inf])),
                                  0.0)
    assert np.isnan(_applied(_exp_nonpositive, np.array([np.nan]))[0])
    t = np.concatenate([rng.uniform(0.0, 1.0, 100_000), np.logspace(-300, 0, 5000),
                        [0.0, 1.0, np.sqrt(2.0) - 1.0, np.nextafter(np.sqrt(2.0) - 1.0, 1.0)]])
    log1p = njit(lambda t: _log1p_series(*_log1p_reduced(t)))
    assert _ulps(_applied(log1p, t), np.log1p(t)) <= 2


def test_the_kernels_rate_functions_follow_core_transfer():
    """The kernel's loop over neurons (three stages, see core._kernel): within 3 ulp wherever the
    rate exceeds 1e-300; below, where the kernel's exp returns 0 instead of a subnormal number,
    within 3e-308."""
    from core import transfer
    from core._kernel import LOGISTIC, SOFT_RECTIFIER, _rates

    def kernel_rates(u, kind, gamma, beta, theta):
        out, decay, carry = np.empty_like(u), np.empty_like(u), np.empty_like(u)
        _rates(u, np.ones(u.shape, dtype=bool), out, decay, carry, kind, gamma, beta, theta)
        return out

    rng = np.random.default_rng(1)
    u = np.concatenate([rng.normal(0.0, 5.0, 100_000), rng.uniform(-800.0, 800.0, 10_000)])
    cases = [(kernel_rates(u, SOFT_RECTIFIER, 0.7, 1.3, 0.4),
              transfer.soft_rectifier(u, gamma=0.7, beta=1.3, theta=0.4)),
             (kernel_rates(u, LOGISTIC, 1.0, 1.0, 0.0), transfer.logistic(u))]
    for actual, expected in cases:
        normal = expected > 1e-300
        assert _ulps(actual[normal], expected[normal]) <= 3
        assert np.max(np.abs(actual[~normal] - expected[~normal])) < 3e-308


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_rate_list_that_does_not_fit_the_depth_raises_only_when_something_learns(backend):
    """The default eta_PP_up has two rates; a 4-layer network needs three, but only to learn."""
    net = Network([20, 30, 20, 10], seed=0)
    run(net, 10, learning=False, backend=backend)
    assert net.state.steps == 10
    with pytest.raises(ValueError, match=r"eta_PP_up has 2 rates .* needs 3"):
        run(net, 10, learning=True, backend=backend)
    assert net.state.steps == 10
