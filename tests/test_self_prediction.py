"""The self-predicting state (SM, Fig. S1): analytical silence, no drift, and learning it."""

import numpy as np
import pytest

from core.simulate import steady_state
from core.simulate.compartments import compartments, mean_squared_apical
from core.simulate.dynamics import run_patterns
from core.model.network import Network
from core.model.parameters import ModelParameters
from core.simulate.plasticity import induction_terms
from core.model.transfer import transfer_function


def cosine(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("sizes", [(12, 9, 6), (12, 9, 7, 5)])
@pytest.mark.parametrize("transfer", ["soft_rectifier", "logistic"])
def test_analytical_init_silences_apical_dendrites_in_full_dynamics(sizes, transfer):
    """Network seeds 0-9 measured 2026-12-04 (all four cases): largest |v_A| 5.0e-11 (threshold
    1e-6), largest lateral induction term 7.2e-11 (threshold 1e-9)."""
    params = ModelParameters(sigma=0.0, transfer=transfer, use_bias=transfer == "logistic",
                             learn_PP_up=False, learn_IP=False, learn_PI=False, eta_PP_up=[0.0])
    net = Network(sizes, params, seed=2, self_predicting=True)
    rng = np.random.default_rng(0)
    # several patterns, each settled; apical potentials checked at the end of each
    for pattern in rng.uniform(0, 2, (4, sizes[0])):
        rec = run_patterns(net, pattern[None], steps_per_pattern=600,
                           record=[f"v_A{k}" for k in net.hidden_layers], record_every=600,
                           backend="numpy")
        for k in net.hidden_layers:
            assert np.max(np.abs(rec[f"v_A{k}"][-1])) < 1e-6
    comp = compartments(net.weights, net.state.u_P, net.state.u_I, net.state.r_input,
                        transfer_function(params).phi)
    induction = induction_terms(net.weights, comp, params, transfer_function(params).phi)
    for k in net.hidden_layers:  # no drift of the lateral weights
        assert np.max(np.abs(induction.W_IP[k])) < 1e-9
        assert np.max(np.abs(induction.W_PI[k])) < 1e-9


@pytest.mark.parametrize("method", ["two_pass", "fixed_point"])
def test_analytical_init_silences_apical_dendrites_in_steady_state(method):
    """Network seeds 0-9 measured 2026-12-04, both methods: largest |v_A| 3.5e-18 (threshold
    1e-6), largest lateral induction term 2.5e-20 (threshold 1e-9)."""
    params = ModelParameters(sigma=0.0)
    net = Network((12, 9, 7, 5), params, seed=5, self_predicting=True)
    inputs = np.random.default_rng(1).uniform(0, 3, (20, 12))
    comp = getattr(steady_state, method)(net, inputs)
    assert max(np.max(np.abs(v)) for v in comp.v_A.values()) < 1e-6
    induction = induction_terms(net.weights, comp, params, transfer_function(params).phi)
    for k in net.hidden_layers:
        assert np.max(np.abs(induction.W_IP[k])) < 1e-9
        assert np.max(np.abs(induction.W_PI[k])) < 1e-9


def test_random_lateral_weights_are_not_silent():
    """Guards the test above: without the analytical init the apical potential is far from 0.
    Network seeds 0-9 measured 2026-12-04: largest |v_A| 0.011-0.029 (threshold 1e-3)."""
    net = Network((12, 9, 6), ModelParameters(sigma=0.0), seed=2)
    comp = steady_state.fixed_point(net, np.random.default_rng(0).uniform(0, 2, (4, 12)))
    assert max(np.max(np.abs(v)) for v in comp.v_A.values()) > 1e-3


# Shortened Fig. S1 protocol. With the paper's threshold theta = 3 nearly every neuron of this
# size of network fires at its floor rate, so the interneuron rates barely vary and W^PI converges
# only along their mean direction (cosine stays < 0.1 after 2,000 patterns). theta = 0 and inputs
# U(0, 3) put the next layer in its responsive range, and the rates make it finish in a second.
# Measured over network seeds 0-49 (inputs from seed + 1000): apical potential down 4,869x or
# more, cosine 0.846 (seed 22) to 0.99, no divergence. At rates 0.3 (4000 batches) 7 of the 50
# seeds diverged and the cosine ranged from 0.846 to 0.994.
S1_QUICK = dict(theta=0.0, learn_PP_up=False, eta_IP=[0.15], eta_PI=[0.15])


@pytest.mark.parametrize("seed", [1, 22])  # 22: the lowest cosine of seeds 0-49
def test_self_predicting_state_is_learned_in_steady_state_mode(seed):
    """Seeds 0-9 measured again 2026-12-04: apical potential down 8,070x (seed 5) to 46,226x
    (threshold 100x), cosine 0.906 (seed 6) to 0.995 (threshold 0.8); seeds 0-49: see above."""
    params = ModelParameters(sigma=0.0, **S1_QUICK)
    net = Network((30, 20, 10), params, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    test_inputs = rng.uniform(0, 3, (200, 30))
    W_up_before = {k: W.copy() for k, W in net.weights.W_up.items()}
    before = mean_squared_apical(steady_state.two_pass(net, test_inputs))
    for _ in range(8000):
        steady_state.train_batch(net, rng.uniform(0, 3, (10, 30)))
    after = mean_squared_apical(steady_state.two_pass(net, test_inputs))
    assert before / after >= 100
    assert cosine(net.weights.W_PI[1], -net.weights.W_down[1]) > 0.8
    for k in W_up_before:  # forward weights were frozen
        np.testing.assert_array_equal(net.weights.W_up[k], W_up_before[k])
