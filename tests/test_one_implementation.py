"""The code a student reads is the code that runs: change an equation function in
core.model.equations and the full dynamics on both back ends, the steady state and the dashboard's
live simulation all follow it."""

import numpy as np
import pytest

from core.simulate import compartments, plasticity, steady_state
from core.model import equations as eq, transfer
from core.simulate.context import model_context
from core.simulate.dynamics import run
from live import LiveSimulation
from core.model.network import Network
from core.model.parameters import ModelParameters
from core.simulate.twins import numba_installed

original_basal_potential = eq.basal_potential


def doubled_basal_potential(W_up, rates_below, bias=None, out=None):
    """Eq. 3 with its potential doubled (as if every basal synapse were twice as strong), written
    into ``out`` when given, as the simulator reads it."""
    potential = np.dot(rates_below, W_up.T)
    if bias is not None:
        potential = potential + bias
    if out is None:
        return 2.0 * potential
    return np.multiply(2.0, potential, out)


@pytest.fixture
def doubled(monkeypatch):
    monkeypatch.setattr(eq, "basal_potential", doubled_basal_potential)


def _network():
    net = Network((5, 4, 3), ModelParameters(sigma=0.0), seed=3)
    net.present(np.linspace(0.1, 0.9, 5), np.array([0.5, -0.5, 0.2]))
    net.nudging = True
    return net


def _one_step_by_hand(net):
    """u_P1 after one Euler step of Eq. 1 with v_B doubled, from the original functions."""
    p = net.params
    comp = compartments.compartments(net.weights, net.state.u_P, net.state.u_I,
                                     net.state.r_input, model_context(net).phi.phi)
    u = net.state.u_P[1]
    v_B = 2.0 * original_basal_potential(net.weights.W_up[1], comp.r_P[0])
    drift = eq.pyramidal_soma_derivative(u, v_B, comp.v_A[1], p.g_lk, p.g_B, p.g_A)
    return u + p.dt * drift


BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not numba_installed(), reason="numba is not installed"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_back_ends_follow_a_changed_equation(doubled, backend):
    net = _network()
    expected = _one_step_by_hand(net)
    run(net, 1, learning=False, backend=backend)
    np.testing.assert_allclose(net.state.u_P[1], expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_change_is_undone_with_the_equation(backend):
    """After the patch is gone, the compiled step is the original again (not a stale twin)."""
    changed, original = _network(), _network()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eq, "basal_potential", doubled_basal_potential)
        run(changed, 20, backend=backend)
    run(original, 20, backend=backend)
    reference = _network()
    run(reference, 20, backend="numpy")
    np.testing.assert_allclose(original.state.u_P[2], reference.state.u_P[2], rtol=0, atol=1e-12)
    assert np.abs(changed.state.u_P[2] - original.state.u_P[2]).max() > 1e-3


def test_the_steady_state_follows_a_changed_equation(doubled):
    net = _network()
    p = net.params
    settled = steady_state.bottom_up_pass(net, np.linspace(0.1, 0.9, 5))
    v_B = original_basal_potential(net.weights.W_up[1], np.linspace(0.1, 0.9, 5)[None])
    attenuation = eq.basal_attenuation(p.g_lk, p.g_B, p.g_A)
    np.testing.assert_allclose(settled[1], attenuation * 2.0 * v_B, rtol=1e-14)


def test_the_dashboards_simulation_follows_a_changed_equation(monkeypatch):
    plain = LiveSimulation("fig1", seed=0)
    plain.advance(100)
    monkeypatch.setattr(eq, "basal_potential", doubled_basal_potential)
    changed = LiveSimulation("fig1", seed=0)
    changed.advance(100)
    N = plain.network.n_layers
    difference = np.abs(changed.network.state.u_P[N] - plain.network.state.u_P[N]).max()
    assert difference > 1e-3


original_bottom_up_induction = eq.bottom_up_induction


def silenced_bottom_up_induction(prediction_error, rates_below, out=None):
    """Eq. 7 with its induction term zeroed (written into ``out`` when given, as the simulator
    reads it): no bottom-up weight learns."""
    return np.multiply(0.0, original_bottom_up_induction(prediction_error, rates_below, out), out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_back_ends_learn_by_the_plasticity_equation_they_are_given(backend, monkeypatch):
    """Eq. 7 silenced: the bottom-up weights stop learning on both back ends, while the lateral
    weights (Eqs. 8 and 9) still learn, and the steady state's induction terms follow."""
    plain = _network()
    run(plain, 300, backend=backend)
    monkeypatch.setattr(eq, "bottom_up_induction", silenced_bottom_up_induction)
    silenced = _network()
    before = silenced.weights.map(np.copy)
    run(silenced, 300, backend=backend)
    for k, W in silenced.weights.W_up.items():
        np.testing.assert_array_equal(W, before.W_up[k])
        assert np.abs(plain.weights.W_up[k] - before.W_up[k]).max() > 1e-9  # it did learn
    for name in ("W_IP", "W_PI"):
        assert np.abs(getattr(silenced.weights, name)[1] - getattr(before, name)[1]).max() > 1e-9
    comp = compartments.compartments(silenced.weights, silenced.state.u_P, silenced.state.u_I,
                                     silenced.state.r_input, model_context(silenced).phi.phi)
    terms = plasticity.induction_terms(silenced.weights, comp, silenced.params,
                                       model_context(silenced).phi.phi)
    assert all(not term.any() for term in terms.W_up.values())
    assert any(term.any() for term in terms.W_IP.values())


@pytest.mark.skipif(not numba_installed(),
                    reason="numba is not installed")
def test_an_edited_equation_is_not_served_from_numbas_cache(monkeypatch):
    """numba keys its disk cache by module and function name only: the twins' names carry a
    hash of the sources they are built from, so editing core/model/equations.py (here: its source
    as
    read) gives new cache entries; twins of a replaced function are not cached at all."""
    import inspect

    from core.simulate import twins

    plain = twins._Twins()
    source = inspect.getsource

    def edited(module):
        text = source(module)
        return text + "\n# edited\n" if module is eq else text

    monkeypatch.setattr(inspect, "getsource", edited)
    assert twins._Twins().suffix != plain.suffix
    assert plain.cache
    monkeypatch.setattr(eq, "basal_potential", doubled_basal_potential)
    assert not twins._Twins().cache


original_soft_rectifier = transfer.soft_rectifier


def steeper_soft_rectifier(u, gamma=0.1, beta=1.0, theta=3.0, out=None):
    """The soft rectifier with its scale doubled; defined here, outside the package."""
    return np.multiply(2.0, original_soft_rectifier(u, gamma, beta, theta, out), out)


@pytest.mark.skipif(not numba_installed(), reason="numba is not installed")
def test_a_function_replaced_from_outside_the_package_is_compiled_not_served_stale(monkeypatch):
    """The step reaches the soft rectifier by name from ``rate`` in core/model/transfer.py. A
    replacement defined outside the package (a notebook's function) gets a compiled twin too,
    and nothing of that set is cached (numba's disk cache still holds the original). Checked on
    the twins as built, before anything compiles (the replaced set would take ~20 s)."""
    from core.simulate import twins

    monkeypatch.setattr(transfer, "soft_rectifier", steeper_soft_rectifier)
    built = twins._Twins()
    built.function(built.root)
    rate_twin = built.functions[transfer.rate]
    called = rate_twin.py_func.__globals__["soft_rectifier"]
    assert called.py_func.__code__ is steeper_soft_rectifier.__code__  # a twin, not the original
    assert not built.cache  # every twin of this set is built with cache=False


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau_w", [30.0, 0.0])
def test_the_compiled_consolidation_is_the_numpy_one_element_by_element(backend, tau_w):
    """The one function compiled from another source (twins.py): euler.consolidate runs, compiled,
    as its loop twin euler.consolidate_elementwise, which must give the same bits as the
    vectorised NumPy lines it mirrors (filtered traces and weights), and follow a changed Eq. of
    the low-pass filter as they do."""
    from core.simulate import euler

    assert euler.consolidate.compiled_form is euler.consolidate_elementwise
    if backend == "numba":
        from core.simulate.twins import _Twins

        elementwise = _Twins(root=euler.consolidate).function(euler.consolidate)
    else:
        elementwise = euler.consolidate_elementwise
    rng = np.random.default_rng(4)
    arrays = [rng.normal(size=300) for _ in range(3)] + [rng.uniform(0.0, 1e-3, 300)]
    vectorised, looped = [a.copy() for a in arrays], [a.copy() for a in arrays]
    euler.consolidate(*vectorised, 0.1, tau_w)
    elementwise(*looped, 0.1, tau_w)
    for name, expected, actual in zip(("weights", "traces"), vectorised, looped):
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert not np.array_equal(vectorised[0], arrays[0])  # the weights did change
