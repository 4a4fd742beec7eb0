"""Baselines: backprop is the true gradient, feedback alignment uses the given feedback."""

import numpy as np
import pytest

from core.simulate import steady_state
from core.protocols.baselines import MLP, angle_degrees, backprop_updates
from core.model.network import Network
from core.model.parameters import ModelParameters
from core.model.transfer import transfer_function


def _numerical_gradient(loss, array, h=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + h
        up = loss()
        array[index] = old - h
        down = loss()
        array[index] = old
        grad[index] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("transfer", ["soft_rectifier", "logistic"])
def test_mlp_backprop_update_is_the_negative_gradient_of_the_rate_loss(transfer):
    phi = transfer_function(ModelParameters(transfer=transfer, theta=0.0))
    mlp = MLP((4, 5, 3, 2), phi, seed=1, use_bias=True)
    rng = np.random.default_rng(0)
    x, target = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (3, 2))

    def loss():
        return 0.5 * np.sum((target - mlp.predict(x)) ** 2) / len(x)

    dW, db = mlp.updates(x, target)
    for k in mlp.W:
        np.testing.assert_allclose(dW[k], -_numerical_gradient(loss, mlp.W[k]), atol=1e-8)
        np.testing.assert_allclose(db[k], -_numerical_gradient(loss, mlp.b[k]), atol=1e-8)


def test_feedback_alignment_with_transposed_feedback_is_backprop_and_otherwise_not():
    """Random feedback's hidden update against backprop's, feedback seeds 0-9 measured 2026-12-04:
    26.9-152.0 deg (threshold 10; 28.7 for the seed 5 used here)."""
    phi = transfer_function(ModelParameters(theta=0.0))
    mlp = MLP((4, 5, 3), phi, seed=1)
    x, target = np.ones((2, 4)), np.zeros((2, 3))
    mlp.feedback = {1: mlp.W[2].T.copy()}
    bp, _ = mlp.updates(x, target, rule="backprop")
    fa, _ = mlp.updates(x, target, rule="feedback_alignment")
    np.testing.assert_allclose(fa[1], bp[1])
    mlp.feedback = {1: np.random.default_rng(5).uniform(-1, 1, (5, 3))}
    fa, _ = mlp.updates(x, target, rule="feedback_alignment")
    np.testing.assert_allclose(fa[2], bp[2])  # the output layer never uses feedback
    assert angle_degrees(fa[1], bp[1]) > 10


def test_training_reduces_the_loss():
    """MLP seeds 0-9 measured 2026-12-04: loss after / before 0.093-0.149 (threshold 0.2)."""
    phi = transfer_function(ModelParameters(transfer="logistic"))
    mlp = MLP((4, 6, 2), phi, seed=0, use_bias=True)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (20, 4))
    target = np.where(x[:, :2] > 0.5, 0.8, 0.1)
    before = np.mean((mlp.predict(x) - target) ** 2)
    for _ in range(500):
        mlp.train_batch(x, target, 2.0)
    assert np.mean((mlp.predict(x) - target) ** 2) < 0.2 * before


def test_mlp_from_network_reproduces_the_bottom_up_pass():
    net = Network((5, 4, 3), ModelParameters(use_bias=True, transfer="logistic"), seed=2)
    x = np.random.default_rng(0).uniform(0, 1, (3, 5))
    np.testing.assert_allclose(MLP.from_network(net).predict(x), steady_state.predict(net, x),
                               atol=1e-14)


def test_backprop_updates_are_the_gradient_of_the_papers_loss():
    """delta_N = D_N (u_trgt - u_N) is the gradient of (1/2)(u_trgt - u_N)^T D_N (u_trgt - u_N)
    with D_N held at its current value; check every layer against finite differences."""
    params = ModelParameters(theta=0.0)
    net = Network((4, 5, 3, 2), params, seed=3)
    rng = np.random.default_rng(0)
    x, target = rng.uniform(0, 1, 4), rng.uniform(-1, 1, 2)
    derivative = transfer_function(params).derivative
    D_N = derivative(steady_state.bottom_up_pass(net, x)[3])

    def loss():
        u_N = steady_state.bottom_up_pass(net, x)[3]
        return 0.5 * np.sum(D_N * (target - u_N) ** 2)

    updates = backprop_updates(net, x, target)
    for k in (1, 2, 3):
        np.testing.assert_allclose(updates[k], -_numerical_gradient(loss, net.weights.W_up[k]),
                                   atol=1e-8)


def test_angle_degrees():
    assert angle_degrees([1, 0], [0, 2]) == pytest.approx(90)
    assert angle_degrees([1, 1], [2, 2]) == pytest.approx(0, abs=1e-5)
    assert angle_degrees([1, 0], [-1, 0]) == pytest.approx(180)
    assert angle_degrees([0, 0], [1, 0]) == 90


def test_layers_that_do_not_learn_are_left_out_and_the_others_match_full_backprop():
    """A shallow learner (only the output learns): the same output update as full backprop, no
    update computed for the frozen hidden layer."""
    mlp = MLP((4, 5, 3), transfer_function(ModelParameters()), seed=1)
    x, target = np.full((2, 4), 0.5), np.full((2, 3), 0.2)
    full, _ = mlp.updates(x, target, scale={1: 0.3, 2: 0.7})
    shallow, _ = mlp.updates(x, target, scale={1: 0.0, 2: 0.7})
    assert list(shallow) == [2]
    np.testing.assert_array_equal(shallow[2], full[2])
    hidden = mlp.W[1].copy()
    mlp.train_batch(x, target, {1: 0.0, 2: 0.7})
    np.testing.assert_array_equal(mlp.W[1], hidden)
    assert mlp.updates(x, target, scale=0.0) == ({}, {})


def test_a_frozen_layer_keeps_its_weights_and_biases_while_the_others_learn():
    """``frozen={2}`` (the backprop control of a frozen W^PP_21): W_2 and b_2 stay bit-identical
    whatever learning rate is passed, the layers below and above still learn, and the layer below
    gets the error backpropagated through the frozen W_2 (the same update as full backprop)."""
    phi = transfer_function(ModelParameters(transfer="logistic", theta=0.0))
    rng = np.random.default_rng(0)
    x, target = rng.uniform(0, 1, (10, 4)), rng.uniform(0.1, 0.8, (10, 2))
    full = MLP((4, 5, 3, 2), phi, seed=1, use_bias=True)
    frozen = MLP((4, 5, 3, 2), phi, seed=1, use_bias=True, frozen={2})
    for k in full.b:
        full.b[k] = frozen.b[k] = rng.normal(size=full.b[k].shape)
    expected, _ = full.updates(x, target, scale=0.5)
    before = {k: (frozen.W[k].copy(), frozen.b[k].copy()) for k in frozen.W}
    for learning_rate in (0.5, {1: 0.5, 2: 0.5, 3: 0.5}):
        frozen.train_batch(x, target, learning_rate)
    np.testing.assert_array_equal(frozen.W[2], before[2][0])
    np.testing.assert_array_equal(frozen.b[2], before[2][1])
    for k in (1, 3):
        assert not np.array_equal(frozen.W[k], before[k][0]), k
        assert not np.array_equal(frozen.b[k], before[k][1]), k
    again = MLP((4, 5, 3, 2), phi, seed=1, use_bias=True, frozen={2})
    again.b = {k: before[k][1].copy() for k in before}
    again.train_batch(x, target, 0.5)
    np.testing.assert_allclose(again.W[1] - before[1][0], expected[1], rtol=1e-12)
    with pytest.raises(ValueError, match="frozen layers"):
        MLP((4, 5, 2), phi, frozen={3})


def test_the_classification_control_freezes_the_mlps_hidden_to_hidden_layer():
    from core.protocols.classification import QUICK_PRESET, make_learners

    learners = make_learners(QUICK_PRESET, seed=0)
    control, mlp = learners["backprop_frozen_hidden_to_hidden"], learners["backprop_mlp"]
    assert control.frozen == {2} and mlp.frozen == frozenset()
    for k in mlp.W:
        np.testing.assert_array_equal(control.W[k], mlp.W[k])


def test_the_one_hidden_layer_learners_share_their_initial_weights_and_differ_in_what_learns():
    from core.protocols.classification import (ONE_HIDDEN_QUICK_PRESET, QUICK_PRESET,
                                                make_learners)

    learners = make_learners(QUICK_PRESET, seed=3, one_hidden_preset=ONE_HIDDEN_QUICK_PRESET)
    learned = learners["one_hidden_top_down_learned"]
    fixed = learners["one_hidden_top_down_fixed"]
    mlp = learners["one_hidden_backprop_mlp"]
    assert learned.sizes == fixed.sizes == mlp.sizes == (64, 100, 10)
    assert learned.params.learn_PP_down and learned.params.learn_PI
    assert not fixed.params.learn_PP_down and not fixed.params.learn_PI
    for (name, k, a), (_, _, b) in zip(learned.weights.items(), fixed.weights.items()):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}[{k}]")
    # both start self-predicting: the interneurons cancel the random top-down weights
    np.testing.assert_array_equal(learned.weights.W_PI[1], -learned.weights.W_down[1])
    np.testing.assert_allclose(mlp.forward(np.full(64, 0.5))[1][2],
                               steady_state.predict(learned, np.full(64, 0.5)), rtol=1e-13)
    # the deep learners are those of a run without the variant
    alone = make_learners(QUICK_PRESET, seed=3)
    assert set(learners) - set(alone) == {"one_hidden_top_down_learned",
                                          "one_hidden_top_down_fixed", "one_hidden_backprop_mlp"}
    np.testing.assert_array_equal(alone["microcircuit"].weights.W_up[2],
                                  learners["microcircuit"].weights.W_up[2])
