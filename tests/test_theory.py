"""Sec. 3.1: with weak feedback, the microcircuit's bottom-up update approximates backprop."""

import numpy as np
import pytest

from core.simulate import steady_state
from core.protocols.baselines import angle_degrees, backprop_updates
from core.model.network import Network
from core.model.parameters import ModelParameters
from core.simulate.plasticity import induction_terms
from core.model.transfer import transfer_function


def angles_to_backprop(sizes, g_A, g_som, seed=4):
    params = ModelParameters(sigma=0.0, g_A=g_A, g_som=g_som)
    net = Network(sizes, params, seed=seed)
    for k in net.hidden_layers:  # top-down = transpose of the forward weights
        net.weights.W_down[k] = net.weights.W_up[k + 1].T.copy()
    net.make_self_predicting()
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, sizes[0])
    target = steady_state.bottom_up_pass(net, x)[net.n_layers] + rng.normal(0, 1, sizes[-1])
    settled = steady_state.fixed_point(net, x, target, tol=1e-14)
    microcircuit = induction_terms(net.weights, settled, params, transfer_function(params).phi)
    backprop = backprop_updates(net, x, target)
    return [angle_degrees(microcircuit.W_up[k], backprop[k]) for k in backprop]


@pytest.mark.parametrize("sizes", [(20, 15, 5), (20, 15, 10, 5)])
@pytest.mark.parametrize("seed", [4, 5])
def test_weak_feedback_update_is_within_5_degrees_of_backprop(sizes, seed):
    """Seeds 0-9 measured 2026-12-04: largest weak-feedback angle 0.48-4.52 deg with one hidden
    layer (4.52: seed 6), 0.59-2.66 deg with two (threshold 5); every layer's angle below its
    default-conductance angle by 3.4-18.6 deg (one hidden layer), 2.4-18.6 deg (two)."""
    weak = angles_to_backprop(sizes, 0.05, 0.05, seed)
    default = angles_to_backprop(sizes, 0.8, 0.8, seed)
    assert len(weak) == len(sizes) - 1
    assert max(weak) < 5.0, weak
    for w, d in zip(weak, default):
        assert w < d


def test_feedback_alignment_regime_is_not_backprop():
    """Guards the test above: random top-down weights give a hidden update far from backprop.
    Seeds 0-9 measured 2026-12-04: 27.6-162.2 deg (threshold 20; 27.6 for seed 0, 118.3 for
    seed 4)."""
    params = ModelParameters(sigma=0.0, g_A=0.05, g_som=0.05)
    net = Network((20, 15, 5), params, seed=4, self_predicting=True)
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 20)
    target = steady_state.bottom_up_pass(net, x)[2] + rng.normal(0, 1, 5)
    settled = steady_state.fixed_point(net, x, target, tol=1e-14)
    microcircuit = induction_terms(net.weights, settled, params, transfer_function(params).phi)
    assert angle_degrees(microcircuit.W_up[1], backprop_updates(net, x, target)[1]) > 20
