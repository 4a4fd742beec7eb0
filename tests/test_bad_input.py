"""Bad input gets a clear ValueError that names the parameter, the value and what is allowed."""

import math

import numpy as np
import pytest

from core.simulate import steady_state
from core.simulate.divergence import RUNAWAY, runaway_potential
from core.simulate.dynamics import run
from core.errors import DivergenceError
from core.model.network import Network
from core.model.parameters import ModelParameters


@pytest.mark.parametrize("name", ["g_lk", "g_B", "g_A", "g_D", "g_som", "sigma", "tau_w", "tau_0"])
@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf])
def test_negative_or_non_finite_scalars_are_refused(name, value):
    params = ModelParameters()
    with pytest.raises(ValueError, match=name):
        setattr(params, name, value)
    with pytest.raises(ValueError, match=name):
        ModelParameters(**{name: value})
    assert getattr(params, name) == ModelParameters.param[name].default  # nothing changed


@pytest.mark.parametrize("rates", [[-1e-3], [math.nan], [math.inf], [], [0.1, "x"]])
def test_bad_learning_rates_are_refused(rates):
    with pytest.raises(ValueError, match="eta_PP_up"):
        ModelParameters(eta_PP_up=rates)


def test_error_message_names_value_and_range():
    with pytest.raises(ValueError, match=r"'g_A' = -0.5 is out of range; allowed: \[0, 1000.0\]"):
        ModelParameters(g_A=-0.5)


def test_learning_rate_list_must_fit_the_depth():
    net = Network((4, 3, 3, 2), ModelParameters(eta_PP_up=[0.1, 0.2]), seed=0)
    with pytest.raises(ValueError, match=r"eta_PP_up has 2 rates .* needs 3"):
        run(net, 1)
    # frozen bottom-up weights need no fitting list: the default two rates are fine
    net.params.learn_PP_up = False
    run(net, 1)


@pytest.mark.parametrize("dt", [2 / 1.9, 1.1, 5.0])
def test_dt_at_or_beyond_the_stability_bound_is_refused(dt):
    net = Network((4, 3, 2), ModelParameters(dt=dt), seed=0)
    state_before = net.state.copy()
    with pytest.raises(ValueError, match=r"dt = .* stability bound 1.053 ms"):
        run(net, 10)
    assert net.state.steps == state_before.steps


def test_stability_bound_follows_the_conductances():
    net = Network((4, 3, 2), ModelParameters(dt=0.6, g_D=3.0), seed=0)  # bound 2/3.9 = 0.51
    with pytest.raises(ValueError, match="stability bound 0.5128"):
        run(net, 1)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 3)), [np.nan] * 4, [np.inf] * 4, "abc",
                                 np.zeros((2, 2, 4, 1))])
def test_bad_inputs_are_refused(bad):
    net = Network((4, 3, 2), seed=0)
    with pytest.raises(ValueError, match="input_rates"):
        net.present(bad)
    with pytest.raises(ValueError, match="input_rates"):
        steady_state.two_pass(net, bad)


@pytest.mark.parametrize("bad", [np.zeros(3), [np.nan, 0.0], np.zeros((3, 2))])
def test_bad_targets_are_refused(bad):
    net = Network((4, 3, 2), seed=0)
    with pytest.raises(ValueError, match="target_potential"):
        net.present(np.zeros((2, 4)), bad)
    with pytest.raises(ValueError, match="target_potential"):
        steady_state.fixed_point(net, np.zeros((2, 4)), bad)


@pytest.mark.parametrize("sizes", [[4], [4, 0, 2], ["a", 2], None])
def test_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        Network(sizes)


@pytest.mark.parametrize("kwargs", [dict(n_steps=-1), dict(n_steps=2.5), dict(n_steps=10, record_every=0),
                                    dict(n_steps=10, record=["v_A7"]), dict(n_steps=10, record=["v_A2"]),
                                    dict(n_steps=10, backend="gpu")])
def test_bad_run_arguments(kwargs):
    net = Network((4, 3, 2), seed=0)
    with pytest.raises(ValueError):
        run(net, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_divergence_stops_with_a_message_and_restores_the_network(backend):
    params = ModelParameters(sigma=0.0, eta_PP_up=[50.0], eta_IP=[50.0], eta_PI=[50.0],
                             tau_w=0.0, theta=0.0)
    net = Network((10, 8, 4), params, seed=0)
    net.present(np.full(10, 5.0), np.full(4, 50.0))
    net.nudging = True
    held_weights, held_potentials = net.weights.W_up[1], net.state.u_P[1]
    with pytest.raises(DivergenceError, match=r"diverged between step \d+ and \d+ .*Reduce the learning rates"):
        run(net, 20000, backend=backend)
    # restored into the same arrays, so views held elsewhere (the app) see finite values too
    assert net.weights.W_up[1] is held_weights and net.state.u_P[1] is held_potentials
    assert np.all(np.isfinite(held_weights)) and np.all(np.isfinite(held_potentials))
    for _, _, W in net.weights.items():
        assert np.all(np.isfinite(W))
    for u in net.state.u_P.values():
        assert np.all(np.isfinite(u))


def test_runaway_potential_names_the_first_non_finite_or_runaway_population():
    calm = {1: np.zeros((1, 3)), 2: np.full((1, 2), RUNAWAY)}  # RUNAWAY itself is allowed
    assert runaway_potential(calm, {1: np.ones((1, 2))}) is None
    assert runaway_potential(calm, {1: np.array([[0.0, np.nan]])}) == ("u_I", 1)
    assert runaway_potential({1: np.zeros((1, 3)), 2: np.array([[-2 * RUNAWAY, np.inf]])},
                             {1: np.array([[np.nan, 0.0]])}) == ("u_P", 2)


def test_steady_state_divergence_leaves_weights_unchanged():
    net = Network((10, 8, 4), ModelParameters(), seed=0)
    net.weights.W_up[1] *= 1e12
    before = net.weights.copy()
    with pytest.raises(DivergenceError, match=r"ran away: u_P of layer \d.*no weight was changed"):
        steady_state.train_batch(net, np.full(10, 5.0), np.zeros(4))
    np.testing.assert_array_equal(before.W_up[2], net.weights.W_up[2])
