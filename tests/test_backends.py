"""Both back ends run core.simulate.euler.advance, one as NumPy and one compiled by numba: the same
trajectory, noise included.

Two networks built from the same seed run the same steps, one with ``backend="numpy"`` and one
with ``backend="numba"``; every potential, weight, threshold, trace and filtered input/target
must agree to 1e-12 (they differ only by the rounding of the C library's exp and log1p against
NumPy's, and by the order of sums in matrix products), the clocks and the generators exactly.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

from core.simulate.dynamics import run  # noqa: E402
from core.model.layers import MATRICES  # noqa: E402
from core.model.network import Network  # noqa: E402
from core.model.parameters import ModelParameters  # noqa: E402

TOLERANCE = 1e-12
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
    # both drew the same numbers from their generators (NumPy's standard_normal)
    assert compiled.rng.bit_generator.state == reference.rng.bit_generator.state


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




@pytest.mark.parametrize("sizes", [[30, 50, 10], [20, 30, 20, 10]], ids=["Fig. 2", "4 layers"])
def test_ten_thousand_noisy_plastic_steps_agree(sizes):
    """The issue's bar: 10,000 noisy steps with all plasticity on, within 1e-12 on both."""
    params = dict(sigma=0.3, learn_PP_down=True, eta_PP_up=[0.002] * (len(sizes) - 1),
                  eta_PP_down=[0.001] * (len(sizes) - 2))
    _compare(sizes, params, steps=10_000, batch=2)


def test_noise_is_drawn_per_layer_from_the_networks_generator():
    """Each step draws its noise in one call, in the order: layer k's pyramids, then its
    interneurons, for k = 1..N, each (B, n) in C order; a noisy step differs from a noise-free
    one by exactly those numbers."""
    from core.model.network import random_weights

    sizes = [3, 4, 5, 2]
    quiet_params = dict(eta_PP_up=[0.002] * 3)
    noisy = _network(sizes, dict(quiet_params, sigma=0.5), batch=2)
    quiet = _network(sizes, dict(quiet_params, sigma=0.0), batch=2)
    run(noisy, 1, backend="numpy")
    run(quiet, 1, backend="numpy")
    generator = np.random.default_rng(noisy.seed)
    random_weights(noisy.sizes, noisy.params, generator)  # the network's draws before the step
    scale = 0.5 * np.sqrt(noisy.params.dt)
    for name in ("u_P1", "u_I1", "u_P2", "u_I2", "u_P3"):
        expected = scale * generator.standard_normal(_state(quiet)[name].shape)
        np.testing.assert_allclose(_state(noisy)[name] - _state(quiet)[name], expected, rtol=0,
                                   atol=1e-15, err_msg=name)
    assert generator.bit_generator.state == noisy.rng.bit_generator.state


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


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_rate_list_that_does_not_fit_the_depth_raises_only_when_something_learns(backend):
    """The default eta_PP_up has two rates; a 4-layer network needs three, but only to learn."""
    net = Network([20, 30, 20, 10], seed=0)
    run(net, 10, learning=False, backend=backend)
    assert net.state.steps == 10
    with pytest.raises(ValueError, match=r"eta_PP_up has 2 rates .* needs 3"):
        run(net, 10, learning=True, backend=backend)
    assert net.state.steps == 10
