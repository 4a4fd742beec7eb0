"""The live simulation behind the dashboard (live): pieces, patterns, errors, science."""

import numpy as np
import pytest

from core.simulate import compiled
import live
from core.protocols.baselines import angle_degrees
from core.protocols.presets import SCENARIOS
from live import (PROGRESS_COLUMNS, LiveSimulation, TraceHistory,
                       fit_rates_to_depth)
from core.model.parameters import ModelParameters


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_advances_exactly_the_steps_asked(name):
    sim = LiveSimulation(name)
    frame = sim.advance(250, samples=5)
    assert frame.error is None
    assert frame.steps == 250
    assert sim.network.state.steps == 250
    assert sim.network.state.time == pytest.approx(250 * sim.network.params.dt)
    lengths = {len(column) for column in frame.traces.values()}
    assert len(lengths) == 1 and lengths.pop() >= 2
    assert set(frame.traces) == set(sim.columns)
    assert set(frame.progress) == set(PROGRESS_COLUMNS)


def test_samples_fall_every_n_steps_over_samples_or_at_pattern_ends():
    long_patterns = LiveSimulation("fig1")  # 1000 steps per pattern
    assert len(long_patterns.advance(500, samples=5).traces["time"]) == 5  # every 100 steps
    short_patterns = LiveSimulation("fig2")  # 100 steps per pattern
    frame = short_patterns.advance(1000, samples=20)  # every 50 steps would split each pattern
    np.testing.assert_allclose(frame.traces["time"], np.arange(1, 11) * 10.0)


def test_patterns_switch_after_the_presentation_time():
    sim = LiveSimulation("fig2")
    per_pattern = sim.steps_per_pattern()
    assert per_pattern == round(sim.network.params.presentation_time / sim.network.params.dt)
    first_input = sim.network.state.input_pattern.copy()
    sim.advance(3 * per_pattern)
    assert sim.patterns_seen == 3  # the third ends exactly now; the fourth is not shown yet
    sim.advance(1)
    assert sim.patterns_seen == 4
    assert not np.array_equal(sim.network.state.input_pattern, first_input)


def test_same_seed_same_trajectory_however_the_run_is_cut():
    # a live run takes the NumPy path until the compiled kernel is ready, then the kernel (the
    # two agree to 1e-9, not bit for bit): compare runs that take the same path throughout
    compiled.prepare()
    compiled.wait()
    whole, pieces = LiveSimulation("fig1", seed=3), LiveSimulation("fig1", seed=3)
    assert whole.network.params.sigma > 0  # noise included
    whole.network.nudging = pieces.network.nudging = True
    whole.advance(2300)
    for n in (1, 999, 300, 1000):
        pieces.advance(n, samples=7)
    for (name, k, a), (_, _, b) in zip(whole.network.weights.items(), pieces.network.weights.items()):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}{k}")
    np.testing.assert_array_equal(whole.network.state.u_P[1], pieces.network.state.u_P[1])


def test_unstable_time_step_ends_the_piece_with_a_message_and_changes_nothing():
    sim = LiveSimulation("fig1")
    sim.network.params.dt = 1.5
    frame = sim.advance(100)
    assert frame.steps == 0
    assert "dt = 1.5" in frame.error and "stability bound" in frame.error
    assert sim.network.state.time == 0
    assert all(len(column) == 0 for column in frame.traces.values())


def test_parameters_set_between_pieces_take_effect():
    sim = LiveSimulation("fig1")
    assert sim.advance(10).error is None
    sim.network.params.dt = 0.05  # the simulator's cached view of the parameters must refresh
    sim.advance(10)
    assert sim.network.state.time == pytest.approx(10 * 0.1 + 10 * 0.05)
    sim.network.params.dt = 1.5
    assert "stability bound" in sim.advance(10).error


def test_divergence_ends_the_piece_and_restores_the_network():
    sim = LiveSimulation("fig2")
    sim.network.params.eta_PP_up = [1e6]
    frame = sim.advance(2000)
    assert frame.error is not None and "diverged" in frame.error
    assert frame.steps < 2000
    assert all(np.all(np.isfinite(W)) for _, _, W in sim.network.weights.items())
    for values in list(frame.traces.values()) + list(frame.progress.values()):
        assert np.all(np.isfinite(values))


def test_advance_rejects_a_bad_step_count():
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer, got -1"):
        LiveSimulation("fig1").advance(-1)
    with pytest.raises(ValueError, match="seconds must be > 0, got 0"):
        LiveSimulation("fig1").advance_for(0)


def test_advance_for_respects_max_steps_and_learns_its_speed():
    sim = LiveSimulation("fig2")
    assert sim.advance_for(0.05, max_steps=37).steps == 37
    sim.advance_for(0.02)
    sim.advance_for(0.02)
    assert sim.steps_per_second > 0
    assert sim.simulated_ms_per_second() == pytest.approx(sim.steps_per_second * 0.1)


def test_advance_for_fits_its_budget_whatever_the_network():
    """Until a piece has been timed, a piece is small; afterwards it fits the budget even when
    that is fewer steps than the first pieces took (a large network on the NumPy path)."""
    sim = LiveSimulation("fig2")
    assert sim.advance_for(10.0).steps == live.MIN_PIECE  # the speed is not known yet
    sim.steps_per_second = 1000.0  # as if measured on a network of 1 ms per step
    assert sim.advance_for(0.012).steps == 12
    assert sim.advance_for(1e-6).steps == 1


def test_a_live_simulation_refuses_networks_that_would_hold_up_a_server():
    with pytest.raises(ValueError, match=r"1000-1000-1000 would need 5,000,000 weights; a live "
                                         r"simulation takes at most 500,000"):
        LiveSimulation("fig2", layer_sizes=[1000, 1000, 1000])
    largest = LiveSimulation("fig2", layer_sizes=[784, 500, 10])
    assert largest.advance(2).error is None


def test_custom_sizes_need_a_hidden_layer_and_adapt_the_rates():
    with pytest.raises(ValueError, match=r"layer_sizes must have at least one hidden layer.*\[30, 10\]"):
        LiveSimulation("fig2", layer_sizes=[30, 10])
    sim = LiveSimulation("fig2", layer_sizes=[30, 40, 20, 10])
    assert sim.network.sizes == (30, 40, 20, 10)
    assert sim.advance(100).error is None


def test_fit_rates_to_depth_by_hand():
    params = ModelParameters(eta_PP_up=[0.1, 0.2], eta_IP=[0.3, 0.4], eta_PI=[0.5])
    fit_rates_to_depth(params, 4)
    assert params.eta_PP_up == [0.1, 0.1, 0.1, 0.2]  # extra hidden layers take layer 1's rate
    assert params.eta_IP == [0.3, 0.4, 0.4]
    assert params.eta_PI == [0.5]  # one rate serves all layers already
    fit_rates_to_depth(params, 2)
    assert params.eta_PP_up == [0.1, 0.2]
    assert params.eta_IP == [0.3]


def test_trace_history_keeps_the_last_rows_in_order():
    history = TraceHistory(["time", "x"], capacity=3)
    history.extend({"time": [1, 2], "x": [10, 20]})
    history.extend({"time": [3, 4, 5], "x": [30, 40, 50]})
    np.testing.assert_array_equal(history.table(), [[3, 30], [4, 40], [5, 50]])
    assert history.to_csv().splitlines() == ["time,x,event", "3,30,", "4,40,", "5,50,"]
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        TraceHistory(["time"], capacity=0)


def test_measures_in_the_self_predicting_state():
    sim = LiveSimulation("fig1")  # starts self-predicting
    row = sim.measure()
    assert row["cos_PI_vs_top_down"][0] == pytest.approx(1.0)
    assert row["cos_IP_vs_self_predicting"][0] == pytest.approx(1.0)
    w = sim.network.weights
    assert row["forward_feedback_angle"][0] == pytest.approx(angle_degrees(w.W_up[2], w.W_down[1].T))


def test_fig1_nudging_opens_an_apical_error_that_learning_closes():
    """Seeds 0-9 measured 2026-12-04: nudging raises the mean apical energy 8.6x (seed 7) to 25.5x
    (seed 5; seed 1 18.8x) (threshold 5x, the dashboard's and README's "5x at the mark"; it was
    10x, which seeds 6, 7 and 9 missed: 9.96x, 8.57x, 9.58x); test error after 2 s of learning
    / at the onset 0.00026-0.0018 (threshold 0.1)."""
    sim = LiveSimulation("fig1", seed=1)
    silent = np.mean(sim.advance(2000, samples=20).traces["apical_sq"])
    sim.network.nudging = True
    onset = sim.advance(500, samples=5)
    assert np.mean(onset.traces["apical_sq"]) > 5 * silent
    error_at_onset = onset.progress["test_error"][0]
    later = sim.advance(20000, samples=20)
    assert later.progress["test_error"][0] < error_at_onset / 10


def test_fig1_learns_only_while_the_target_is_shown():
    """Fig. 1 without a target: the noise moves the potentials but no weight (with plasticity
    on, a minute of it moved W^PP_{1,0} by a third, see Scenario.learns_without_target)."""
    simulation = LiveSimulation("fig1", seed=0)
    assert simulation.network.params.sigma > 0 and not simulation.network.nudging
    before = simulation.network.weights.copy()
    simulation.advance(3000, measure=False)
    for (name, k, old), (_, _, now) in zip(before.items(), simulation.network.weights.items()):
        np.testing.assert_array_equal(now, old, err_msg=f"{name}{k}")
    simulation.network.nudging = True
    simulation.advance(3000, measure=False)
    assert not np.array_equal(simulation.network.weights.W_up[1], before.W_up[1])
    assert LiveSimulation("fig2", seed=0).learning()  # the others learn throughout


def test_fig_s1_lateral_weights_learn_the_self_predicting_state():
    """Seeds 0-9 measured 2026-12-04: mean apical energy down 8.4x (seed 7) to 24.2x (threshold
    5x), cos(W^PI, top-down) up by 0.47 (seed 1) to 0.68 (threshold 0.3)."""
    sim = LiveSimulation("fig-s1", seed=2)
    start = sim.advance(10000, samples=20)
    for _ in range(5):
        end = sim.advance(10000, samples=20)
    assert np.mean(end.traces["apical_sq"]) < np.mean(start.traces["apical_sq"]) / 5
    assert end.progress["cos_PI_vs_top_down"][0] > start.progress["cos_PI_vs_top_down"][0] + 0.3


def test_unknown_scenario_is_named():
    with pytest.raises(ValueError, match="unknown scenario 'fig9'; choose one of"):
        LiveSimulation("fig9")


def test_what_happens_to_a_run_is_logged_as_events_with_time_and_patterns():
    sim = LiveSimulation("fig1", seed=0)
    rates = list(sim.network.params.eta_PP_up)
    sim.advance(1500)  # 150 ms: the second pattern
    sim.set_nudging(True)
    sim.network.params.g_B = 1.2  # a slider, a notebook: any change of the parameters
    sim.network.params.learn_IP = False
    sim.network.params.eta_PP_up = [0.2, 0.1]
    sim.make_self_predicting()
    sim.network.nudging = False  # set directly: noticed at the next piece
    sim.advance(10)
    assert [(e.kind, e.label) for e in sim.events.events] == [
        ("nudging", "nudging on"), ("parameter", "g_B 1 → 1.2"),
        ("parameter", "learn_IP on → off"),
        ("parameter", f"eta_PP_up [{', '.join(f'{r:g}' for r in rates)}] → [0.2, 0.1]"),
        ("self-predicting", "set self-predicting"), ("nudging", "nudging off")]
    assert all(e.time == pytest.approx(150.0) and e.patterns == 2 for e in sim.events.events)
    loaded = LiveSimulation("fig1", seed=0).network  # at t = 0 ms: behind the record
    sim.replace_network(loaded)
    assert sim.events.events[-1].label == "network loaded (t = 0.0 ms)"
    assert sim.whole_run.table()["time"].size == 0  # a new record for the new clock
    loaded.params.g_A = 0.5
    assert sim.events.events[-1].label == "g_A 0.8 → 0.5"


def test_the_shallow_learner_learns_only_its_output_weights():
    """Seeds 0-9 measured 2026-12-04: shallow learner's error after 50 patterns / before 0.871
    (seed 6) to 0.961 (seed 3) (threshold: below 1)."""
    sim = LiveSimulation("fig2", seed=0)
    hidden, output = sim.shallow.W[1].copy(), sim.shallow.W[2].copy()
    start = sim.measure()
    sim.advance(5000, measure=False)  # 50 patterns with the teacher's target
    np.testing.assert_array_equal(sim.shallow.W[1], hidden)
    assert not np.array_equal(sim.shallow.W[2], output)
    end = sim.measure()
    assert end["shallow_error"][0] < start["shallow_error"][0]
    assert sim.first_measure["shallow_error"] == start["shallow_error"][0]
    assert sim.last_measure["test_error"] == end["test_error"][0]


def test_forward_change_is_the_relative_distance_from_the_first_forward_weights():
    sim = LiveSimulation("fig1", seed=0)
    W0 = sim.network.weights.W_up[1].copy()
    assert sim.measure()["forward_change"][0] == 0.0
    sim.network.weights.W_up[1][:] = 1.5 * W0  # by hand: ||0.5 W0|| / ||W0|| = 0.5
    assert sim.measure()["forward_change"][0] == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["fig-s1", "fig1", "fig2"])
def test_each_scenario_has_a_twin_in_the_papers_regime(name):
    """The paper's scenario runs its figure's preset as it is: the paper's (SM?) values (theta =
    3, the SM rates, 100 ms patterns), the same task and switches as ours."""
    from core.protocols.presets import get_preset

    ours, paper = SCENARIOS[name], SCENARIOS[f"{name}-paper"]
    expected = get_preset(paper.preset).make_parameters().values()
    sim = LiveSimulation(paper.name, seed=0)
    assert sim.network.params.values() == expected
    assert expected["theta"] == 3.0 and expected["presentation_time"] == 100.0
    assert (paper.task, paper.nudging, paper.learns_without_target) == \
        (ours.task, ours.nudging, ours.learns_without_target)
    assert sim.network.params.values() != LiveSimulation(name, seed=0).network.params.values()
