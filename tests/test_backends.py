"""The compiled kernel follows the NumPy reference trajectory (same seed, same noise) to 1e-9."""

import numpy as np
import pytest

pytest.importorskip("numba")

from core.dynamics import run  # noqa: E402
from core.network import Network  # noqa: E402
from core.parameters import ModelParameters  # noqa: E402

CASES = {
    "fig2-like": dict(sizes=(30, 50, 10), params=dict()),
    "two-hidden": dict(sizes=(8, 7, 6, 4), params=dict(eta_PP_up=[0.01])),
    "no-hidden": dict(sizes=(6, 3), params=dict(eta_PP_up=[0.01])),
    "batch-3": dict(sizes=(8, 7, 4), params=dict(), batch=3),
    "logistic-bias": dict(sizes=(8, 7, 6, 4), params=dict(transfer="logistic", use_bias=True,
                                                       eta_PP_up=[0.01])),
    "top-down-plastic": dict(sizes=(8, 7, 4), params=dict(learn_PP_down=True, eta_PP_down=[0.001])),
    "tau_w-0": dict(sizes=(8, 7, 4), params=dict(tau_w=0.0, tau_0=0.0)),
    "learning-lag": dict(sizes=(8, 7, 4), params=dict(learning_lag=7.0)),
    "self-predicting": dict(sizes=(8, 7, 6, 4), params=dict(eta_PP_up=[0.01]), self_predicting=True),
    "frozen": dict(sizes=(8, 7, 4), params=dict(), learning=False),
}


def _pair(case, sigma, seed=5):
    params = dict(case["params"], sigma=sigma)
    nets = [Network(case["sizes"], ModelParameters(**params), seed=seed,
                    self_predicting=case.get("self_predicting", False)) for _ in range(2)]
    rng = np.random.default_rng(seed)
    batch = case.get("batch", 1)
    inputs = rng.uniform(0, 2, (batch, case["sizes"][0]))
    targets = rng.uniform(0, 3, (batch, case["sizes"][-1]))
    for net in nets:
        net.present(inputs, targets)
        net.nudging = True
    return nets


def _assert_same(a, b):
    for k in a.state.u_P:
        np.testing.assert_allclose(a.state.u_P[k], b.state.u_P[k], rtol=0, atol=1e-9)
    for k in a.state.u_I:
        np.testing.assert_allclose(a.state.u_I[k], b.state.u_I[k], rtol=0, atol=1e-9)
    for (name, k, x), (_, _, y) in zip(a.weights.items(), b.weights.items()):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, err_msg=f"{name}{k}")
    for (name, k, x), (_, _, y) in zip(a.state.traces.items(), b.state.traces.items()):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, err_msg=f"trace {name}{k}")
    np.testing.assert_allclose(a.state.r_input, b.state.r_input, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.state.u_target, b.state.u_target, rtol=0, atol=1e-12)
    assert a.state.steps == b.state.steps
    assert a.state.time == b.state.time and a.state.pattern_time == b.state.pattern_time


@pytest.mark.parametrize("sigma", [0.0, 0.3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_kernel_follows_the_numpy_reference(name, sigma):
    case = CASES[name]
    reference, compiled = _pair(case, sigma)
    learning = case.get("learning", True)
    run(reference, 300, backend="numpy", learning=learning)
    run(compiled, 300, backend="numba", learning=learning)
    _assert_same(reference, compiled)
    # the weights really moved (or really did not), so the comparison is not vacuous
    fresh = _pair(case, sigma)[0]
    moved = any(not np.array_equal(x, y) for (_, _, x), (_, _, y)
                in zip(fresh.weights.items(), compiled.weights.items()))
    assert moved == learning


def test_compiled_kernel_updates_the_networks_own_arrays_in_place():
    net = _pair(CASES["fig2-like"], 0.0)[0]
    u_before, W_before = net.state.u_P[1], net.weights.W_up[1]
    snapshot = W_before.copy()
    run(net, 50, backend="numba")
    assert net.state.u_P[1] is u_before and net.weights.W_up[1] is W_before
    assert not np.array_equal(W_before, snapshot)
