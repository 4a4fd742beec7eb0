"""Every equation function against a case computed by hand (numbers in the comments)."""

import numpy as np
import pytest

from core.model import equations as eq
from core.model import transfer

G = dict(g_lk=0.1, g_B=1.0, g_A=0.8)


def test_pyramidal_soma_derivative_eq1():
    # -0.1*0.5 + 1.0*(2.0-0.5) + 0.8*(-1.0-0.5) = -0.05 + 1.5 - 1.2
    assert eq.pyramidal_soma_derivative(0.5, 2.0, -1.0, **G) == pytest.approx(0.25)


def test_output_soma_derivative():
    # -0.1*1 + 1*(3-1) + 0.4
    assert eq.output_soma_derivative(1.0, 3.0, 0.4, g_lk=0.1, g_B=1.0) == pytest.approx(2.3)


def test_interneuron_soma_derivative_eq2():
    # -0.1*(-0.5) + 1*(1-(-0.5)) + 0.2
    assert eq.interneuron_soma_derivative(-0.5, 1.0, 0.2, g_lk=0.1, g_D=1.0) == pytest.approx(1.75)


def test_basal_potential_eq3_with_and_without_bias():
    W = np.array([[1.0, 2.0], [3.0, -1.0]])
    r = np.array([0.5, 0.25])
    np.testing.assert_allclose(eq.basal_potential(W, r), [1.0, 1.25])
    np.testing.assert_allclose(eq.basal_potential(W, r, np.array([0.1, -0.2])), [1.1, 1.05])
    # a batch of two patterns gives one row each
    np.testing.assert_allclose(eq.basal_potential(W, np.array([r, 2 * r])), [[1.0, 1.25], [2.0, 2.5]])


def test_apical_potential_eq4_sums_top_down_and_lateral():
    # top-down: 2*0.5 - 1*1 = 0; lateral: 1*0.25 + 1*0.5 = 0.75
    value = eq.apical_potential(np.array([[2.0, -1.0]]), np.array([0.5, 1.0]),
                                np.array([[1.0, 1.0]]), np.array([0.25, 0.5]))
    np.testing.assert_allclose(value, [0.75])
    np.testing.assert_allclose(eq.top_down_potential(np.array([[2.0, -1.0]]), np.array([0.5, 2.0])),
                               [-1.0])
    # a precomputed top-down part (here 0.5) replaces W_down @ r_above
    np.testing.assert_allclose(eq.apical_potential(None, None, np.array([[1.0, 1.0]]),
                                                   np.array([0.25, 0.5]), np.array([0.5])), [1.25])


def test_interneuron_dendritic_potential_eq5():
    np.testing.assert_allclose(
        eq.interneuron_dendritic_potential(np.array([[0.5, -0.5]]), np.array([2.0, 1.0])), [0.5])


def test_teaching_current_simple_form():
    assert eq.teaching_current(2.0, 0.5, 0.8) == pytest.approx(1.2)


def test_teaching_conductances_balance_and_sum():
    # span 5; g_exc = 0.8*(1+1/3)/5 = 0.21333..., g_inh = -0.8*(1-14/3)/5 = 0.58666...
    g_exc, g_inh = eq.teaching_conductances(1.0, 0.8, 14 / 3, -1 / 3)
    assert g_exc == pytest.approx(0.8 * 4 / 15)
    assert g_inh == pytest.approx(0.8 * 11 / 15)
    assert g_exc + g_inh == pytest.approx(0.8)


def test_conductance_form_equals_simple_form_everywhere():
    u_target = np.linspace(-3, 8, 23)
    u = np.linspace(5, -2, 23)
    np.testing.assert_allclose(eq.conductance_teaching_current(u_target, u, 0.8, 14 / 3, -1 / 3),
                               eq.teaching_current(u_target, u, 0.8), atol=1e-12)
    # at u = 0.5, u_trgt = 1: 0.21333*(14/3-0.5) + 0.58667*(-1/3-0.5) = 0.4
    assert eq.conductance_teaching_current(1.0, 0.5, 0.8, 14 / 3, -1 / 3) == pytest.approx(0.4)


def test_a_conductance_turns_negative_outside_the_reversal_range():
    # u_trgt = 5 > E_exc: g_inh = -0.8*(5-14/3)/5 = -0.05333
    g_exc, g_inh = eq.teaching_conductances(5.0, 0.8, 14 / 3, -1 / 3)
    assert g_inh == pytest.approx(-0.8 / 15)
    g_exc, _ = eq.teaching_conductances(-1.0, 0.8, 14 / 3, -1 / 3)
    assert g_exc < 0
    with pytest.raises(ValueError, match="E_exc"):
        eq.teaching_conductances(1.0, 0.8, -1.0, 1.0)


def test_attenuation_factors():
    assert eq.basal_attenuation(0.1, 1.0, 0.8) == pytest.approx(1 / 1.9)
    assert eq.basal_attenuation(0.1, 1.0, 0.0) == pytest.approx(1 / 1.1)
    assert eq.interneuron_attenuation(0.1, 1.0) == pytest.approx(1 / 1.1)


def test_single_compartment_steady_states_zero_the_drift():
    u = eq.pyramidal_soma_steady_state(2.0, -1.0, **G)
    assert u == pytest.approx(1.2 / 1.9)
    assert eq.pyramidal_soma_derivative(u, 2.0, -1.0, **G) == pytest.approx(0, abs=1e-15)
    assert eq.output_soma_steady_state(3.0, None, 0.1, 1.0, 0.8) == pytest.approx(3 / 1.1)
    u_out = eq.output_soma_steady_state(3.0, 1.0, 0.1, 1.0, 0.8)
    assert u_out == pytest.approx(2.0)  # (3 + 0.8)/1.9
    assert eq.output_soma_derivative(u_out, 3.0, eq.teaching_current(1.0, u_out, 0.8), 0.1, 1.0) \
        == pytest.approx(0, abs=1e-15)
    u_I = eq.interneuron_soma_steady_state(1.0, 2.0, 0.1, 1.0, 0.8)
    assert u_I == pytest.approx(2.6 / 1.9)
    assert eq.interneuron_soma_derivative(u_I, 1.0, eq.teaching_current(2.0, u_I, 0.8), 0.1, 1.0) \
        == pytest.approx(0, abs=1e-15)


def test_dendritic_prediction_induction_eq6_outer_product_and_batch_mean():
    np.testing.assert_allclose(
        eq.dendritic_prediction_induction(np.array([0.2, 0.0]), np.array([1.0, 2.0])),
        [[0.2, 0.4], [0.0, 0.0]])
    # batch of two: mean of [[0.2*1]] and [[-0.1*3]] = [[-0.05]]
    np.testing.assert_allclose(
        eq.dendritic_prediction_induction(np.array([[0.2], [-0.1]]), np.array([[1.0], [3.0]])),
        [[-0.05]])
    # the same batch with its errors flat, one pattern after the other (as the simulator has them)
    np.testing.assert_allclose(
        eq.dendritic_prediction_induction(np.array([0.2, -0.1]), np.array([[1.0], [3.0]])),
        [[-0.05]])


LOGISTIC = transfer.Phi(transfer.LOGISTIC)  # phi(log 4) = 0.8, phi(0) = 0.5 by hand


def test_dendritic_prediction_error_eq6_compares_the_somatic_rate_with_the_attenuated_dendrite():
    # phi(u) = 0.9 given; phi(1/1.9 * 1.9 log 4) = 0.8
    assert eq.dendritic_prediction_error(np.array([0.9]), np.array([1.9 * np.log(4)]), 1 / 1.9,
                                         LOGISTIC) == pytest.approx([0.1])
    # one attenuation per neuron, written into an array given as out (here the dendrites' own):
    # 0.9 - phi(log 4) = 0.1 and 0.5 - phi(0.5 * 0) = 0
    dendrites = np.array([np.log(4) / 0.25, 0.0])
    error = eq.dendritic_prediction_error(np.array([0.9, 0.5]), dendrites, np.array([0.25, 0.5]),
                                          LOGISTIC, dendrites)
    assert error is dendrites
    np.testing.assert_allclose(dendrites, [0.1, 0.0], atol=1e-15)


def test_bottom_up_induction_eq7_uses_attenuated_basal_prediction():
    # phi(u) = 0.9 given; phi(1/1.9 * 1.9 log 4) = 0.8: (0.9 - 0.8) times r_pre = [0.5, 1]
    error = eq.dendritic_prediction_error(np.array([0.9]), np.array([1.9 * np.log(4)]), 1 / 1.9,
                                          LOGISTIC)
    value = eq.bottom_up_induction(error, np.array([0.5, 1.0]))
    np.testing.assert_allclose(value, [[0.05, 0.1]])


def test_pyramid_to_interneuron_induction_eq8():
    # phi(u_I) = 0.5 given; phi(1/1.1 * 1.1 log 4) = 0.8: -0.3 times r_pre = [1, 0.5]
    error = eq.dendritic_prediction_error(np.array([0.5]), np.array([1.1 * np.log(4)]), 1 / 1.1,
                                          LOGISTIC)
    value = eq.pyramid_to_interneuron_induction(error, np.array([1.0, 0.5]))
    np.testing.assert_allclose(value, [[-0.3, -0.15]])


def test_interneuron_to_pyramid_induction_eq9_drives_apical_to_rest():
    np.testing.assert_allclose(
        eq.interneuron_to_pyramid_induction(np.array([0.5, -1.0]), np.array([2.0])), [[-1.0], [2.0]])


def test_top_down_induction_eq10():
    # (phi(u) - phi(log 4)) * 4 = (0.9 - 0.8) * 4: the top-down prediction is not attenuated
    error = eq.dendritic_prediction_error(np.array([0.9]), np.array([np.log(4)]), 1.0, LOGISTIC)
    np.testing.assert_allclose(eq.top_down_induction(error, np.array([4.0])), [[0.4]])


def test_low_pass_step_is_exact_exponential_and_tau_zero_passes_through():
    assert eq.low_pass_step(0.0, 1.0, 0.1, 3.0) == pytest.approx(1 - np.exp(-0.1 / 3))
    assert eq.low_pass_change(0.5, 1.0, 0.1, 3.0) == pytest.approx(0.5 * (1 - np.exp(-0.1 / 3)))
    # two half steps equal one full step for a constant drive
    half = eq.low_pass_step(eq.low_pass_step(0.2, 1.0, 0.05, 3.0), 1.0, 0.05, 3.0)
    assert half == pytest.approx(eq.low_pass_step(0.2, 1.0, 0.1, 3.0))
    np.testing.assert_array_equal(eq.low_pass_step(np.zeros(2), np.array([1.0, 2.0]), 0.1, 0),
                                  [1.0, 2.0])


def test_euler_stability_bound():
    assert eq.euler_stability_bound(0.1, 1.0, 0.8, 1.0, 0.8) == pytest.approx(2 / 1.9)
    assert eq.euler_stability_bound(0.1, 1.0, 0.8, 3.0, 0.8) == pytest.approx(2 / 3.9)


def test_self_predicting_weights_hidden_and_output_neighbour():
    W_up_next = np.array([[1.0, -2.0]])
    W_down = np.array([[0.5], [-0.25]])
    # next layer hidden: scale = 1*(0.1+1)/(1*(0.1+1+0.8)) = 1.1/1.9
    W_IP, W_PI = eq.self_predicting_weights(W_up_next, W_down, 0.1, 1.0, 1.0, 0.8)
    np.testing.assert_allclose(W_IP, [[1.1 / 1.9, -2.2 / 1.9]])
    np.testing.assert_allclose(W_PI, [[-0.5], [0.25]])
    # next layer is the output: g_A' = 0, scale = 1.1/1.1 = 1
    W_IP, _ = eq.self_predicting_weights(W_up_next, W_down, 0.1, 1.0, 1.0, 0.0)
    np.testing.assert_allclose(W_IP, W_up_next)
    # g_D != g_B: scale = 2*(0.1+0.5)/(0.5*(0.1+2)) = 1.2/1.05
    assert eq.self_predicting_scale(0.1, 2.0, 0.5, 0.0) == pytest.approx(1.2 / 1.05)


# ---- transfer functions ----------------------------------------------------------------------

def test_soft_rectifier_values_and_overflow_safety():
    assert transfer.soft_rectifier(3.0) == pytest.approx(0.1 * np.log(2))
    assert transfer.soft_rectifier(4.0) == pytest.approx(0.1 * np.log(1 + np.e))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert transfer.soft_rectifier(1003.0) == pytest.approx(100.0)
        assert 0 <= transfer.soft_rectifier(-1e4) < 1e-300
    assert transfer.soft_rectifier(2.0, gamma=0.5, beta=2.0, theta=1.0) == \
        pytest.approx(0.5 * np.log(1 + np.exp(2.0)))


def test_soft_rectifier_derivative_matches_finite_difference():
    u = np.linspace(-5, 10, 31)
    h = 1e-6
    numeric = (transfer.soft_rectifier(u + h) - transfer.soft_rectifier(u - h)) / (2 * h)
    np.testing.assert_allclose(transfer.soft_rectifier_derivative(u), numeric, rtol=1e-6, atol=1e-12)
    assert transfer.soft_rectifier_derivative(3.0) == pytest.approx(0.05)


def test_soft_rectifier_inverse_round_trip_and_domain():
    u = np.linspace(-20, 40, 61)
    np.testing.assert_allclose(transfer.soft_rectifier_inverse(transfer.soft_rectifier(u)), u,
                               rtol=1e-9, atol=1e-9)
    assert transfer.soft_rectifier_inverse(0.1 * np.log(2)) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="rate must be finite and > 0"):
        transfer.soft_rectifier_inverse([0.1, 0.0])


@pytest.mark.parametrize("beta", [1.5, 1.0])  # 1.0, the paper's slope, skips a product
@pytest.mark.parametrize("kind", [transfer.SOFT_RECTIFIER, transfer.LOGISTIC])
def test_a_rate_written_into_out_is_the_rate_returned(kind, beta):
    # the simulator has the rates of every soma written into one array whose views it reads
    phi = transfer.Phi(kind, gamma=0.2, beta=beta, theta=1.0)
    u = np.random.default_rng(0).normal(0.0, 20.0, (3, 40))
    out = np.full_like(u, np.nan)
    assert transfer.rate(u, phi, out) is out
    np.testing.assert_array_equal(out, transfer.rate(u, phi))  # bit for bit
    hand = 0.2 * np.log1p(np.exp(beta * (u - 1.0))) if kind == transfer.SOFT_RECTIFIER \
        else 1.0 / (1.0 + np.exp(-u))
    np.testing.assert_allclose(out, hand, rtol=1e-12, atol=1e-300)
    # in place, as the prediction errors of Eq. 6 are computed
    in_place = u.copy()
    transfer.rate(in_place, phi, in_place)
    np.testing.assert_array_equal(in_place, out)


def test_drifts_and_dendritic_potentials_written_into_out_are_those_returned():
    # the simulator writes every soma's drift, and the dendrites that predict them, into one array
    rng = np.random.default_rng(1)
    u, v_B, v_A, teaching = rng.normal(size=(4, 6))
    for drift, args in [(eq.pyramidal_soma_derivative, (u, v_B, v_A, 0.1, 1.0, 0.8)),
                        (eq.output_soma_derivative, (u, v_B, teaching, 0.1, 1.0)),
                        (eq.interneuron_soma_derivative, (u, v_A, teaching, 0.1, 1.0))]:
        out = np.full(6, np.nan)
        assert drift(*args, out=out) is out
        np.testing.assert_array_equal(out, drift(*args))  # bit for bit
    W, rates, bias = rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=5)
    for potential in (eq.basal_potential, eq.interneuron_dendritic_potential):
        for b in (None, bias):
            out = np.full((2, 5), np.nan)
            assert potential(W, rates, b, out) is out
            np.testing.assert_array_equal(out, potential(W, rates, b))


def test_logistic_values_inverse_and_derivative():
    assert transfer.logistic(0.0) == 0.5
    assert transfer.logistic(np.log(4)) == pytest.approx(0.8)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert transfer.logistic(1000.0) == 1.0 and transfer.logistic(-1000.0) == 0.0
    assert transfer.logistic_inverse(0.8) == pytest.approx(np.log(4))
    assert transfer.logistic_inverse(0.1) == pytest.approx(-np.log(9))
    assert transfer.logistic_derivative(0.0) == pytest.approx(0.25)
    # full relative precision far out in the tail, where 1/2 (1 + tanh(u/2)) cancels to 0
    assert transfer.logistic(-40.0) == pytest.approx(np.exp(-40.0), rel=1e-12)
    assert transfer.logistic(-800.0) == 0.0
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        transfer.logistic_inverse(1.0)


def test_a_threshold_learns_as_a_weight_from_an_input_fixed_at_one():
    # batch of two: errors (0.9 - 0.8, 0.5 - 0.8) per neuron; their batch mean
    rates, basal = np.array([[0.9], [0.5]]), np.array([[np.log(4)], [np.log(4)]])
    error = eq.dendritic_prediction_error(rates, basal, 1.0, LOGISTIC)
    threshold = eq.bottom_up_induction(error, np.ones((2, 1)))[:, 0]
    np.testing.assert_allclose(threshold, [-0.1])


def test_only_hidden_layers_have_an_apical_compartment():
    from core.model.layers import apical_conductance

    assert [apical_conductance(0.8, k, 3) for k in (1, 2, 3)] == [0.8, 0.8, 0.0]
    assert apical_conductance(0.8, 1, 1) == 0.0  # no hidden layer: the output alone


def test_a_layers_attenuation_counts_its_apical_compartment_only_below_the_output():
    from core.model.layers import layer_attenuation
    from core.model.parameters import ModelParameters

    p = ModelParameters(g_lk=0.1, g_B=1.0, g_A=0.8)
    # hidden layers: 1 / (0.1 + 1 + 0.8); the output layer: 1 / (0.1 + 1)
    assert [layer_attenuation(p, k, 3) for k in (1, 2, 3)] == pytest.approx(
        [1 / 1.9, 1 / 1.9, 1 / 1.1])
