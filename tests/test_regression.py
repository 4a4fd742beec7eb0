"""A shortened Fig. 2 regression task learns, in both simulators (preset ``fig2-quick``)."""

import numpy as np
import pytest

from core import steady_state
from core.dynamics import run_patterns
from core.presets import get_preset
from core.tasks import TeacherTask, regression_error
from core.transfer import transfer_function


def _setup(seed):
    net = get_preset("fig2-quick").make_network(seed=seed)
    task = TeacherTask.random(transfer_function(net.params), seed=seed + 100)
    rng = np.random.default_rng(seed + 200)
    return net, task, rng, task.inputs(rng, 500)


@pytest.mark.parametrize("seed", [0, 1])
def test_steady_state_mode_learns_the_teacher(seed):
    net, task, rng, test_inputs = _setup(seed)
    before = regression_error(net, task, test_inputs)
    for _ in range(2000):
        x = task.inputs(rng, 1)
        steady_state.train_batch(net, x, task.target_potentials(x))
    assert regression_error(net, task, test_inputs) <= 0.7 * before


def test_full_dynamics_learns_the_teacher():
    net, task, rng, test_inputs = _setup(0)
    before = regression_error(net, task, test_inputs)
    net.nudging = True
    inputs = task.inputs(rng, 600)
    run_patterns(net, inputs, task.target_potentials(inputs))
    assert regression_error(net, task, test_inputs) <= 0.7 * before


def test_shallow_learner_also_learns_but_keeps_hidden_weights():
    """The baseline of Fig. 2: only the output weights are plastic."""
    net, task, rng, test_inputs = _setup(0)
    net.params.eta_PP_up = [0.0, 0.1]
    hidden_before = net.weights.W_up[1].copy()
    before = regression_error(net, task, test_inputs)
    for _ in range(500):
        x = task.inputs(rng, 1)
        steady_state.train_batch(net, x, task.target_potentials(x))
    np.testing.assert_array_equal(net.weights.W_up[1], hidden_before)
    assert regression_error(net, task, test_inputs) < before


def test_hidden_layer_learns_beyond_the_shallow_learner():
    """Regression guard for the calibration of ``fig2-quick``: with a hidden rate of 0.01 (the
    old preset) or a fast W^PI the microcircuit learned no more than its output weights did."""
    errors = {}
    for shallow in (False, True):
        net, task, rng, test_inputs = _setup(0)
        if shallow:
            net.params.eta_PP_up = [0.0, net.params.eta_PP_up[-1]]
        for _ in range(2000):
            x = task.inputs(rng, 1)
            steady_state.train_batch(net, x, task.target_potentials(x))
        errors[shallow] = regression_error(net, task, test_inputs)
    assert errors[False] <= 0.6 * errors[True]
