"""The guided path of each scenario: its steps tick themselves when the run gets there."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import guide

from core.simulate import compiled
from core.protocols.presets import SCENARIOS
from live import LiveSimulation
from whole_run import BinnedRecord, EventLog


@pytest.fixture(scope="module", autouse=True)
def compiled_kernel():
    compiled.prepare()  # the runs below take a few seconds compiled, minutes on NumPy
    compiled.wait()


def _run_with(apical, events=()):
    """A stand-in for a simulation whose whole run holds one ``apical`` value per 10 ms bin."""
    record = BinnedRecord(["apical_sq1", "output_error"], width=10.0)
    time = 10.0 * np.arange(len(apical)) + 5.0
    record.add(time, {"apical_sq1": np.asarray(apical, dtype=float),
                      "output_error": np.full(len(apical), np.nan)})
    log = EventLog()
    for at, kind, label in events:
        log.add(at, 0, kind, label)
    return SimpleNamespace(whole_run=record, events=log, last_measure=None, first_measure=None,
                           network=SimpleNamespace(state=SimpleNamespace(time=time[-1])))


def test_apical_fell_compares_the_first_bin_with_the_mean_of_the_last_three():
    assert guide.apical_fell(_run_with([1.0, 0.5, 0.2, 0.1, 0.09, 0.1]))  # 1 >= 10 x 0.097
    assert not guide.apical_fell(_run_with([1.0, 0.5, 0.2, 0.1, 0.1, 0.13]))  # mean 0.11
    assert not guide.apical_fell(_run_with([1.0, 0.01, 0.01]))  # too few bins to tell


def test_the_error_wakes_at_the_nudging_mark_and_fades_after_its_peak():
    before, peak = [1e-4] * 5, [1e-3, 5e-4]
    onset = [(50.0, "nudging", "nudging on")]
    woke = _run_with(before + peak, onset)
    assert guide.nudging_on(woke) and guide.error_woke(woke) and not guide.error_faded(woke)
    faded = _run_with(before + peak + [3e-4, 3e-4, 3e-4], onset)
    assert guide.error_faded(faded)  # 1e-3 >= 3 x 3e-4
    assert not guide.error_faded(_run_with(before + peak + [4e-4] * 3, onset))
    assert not guide.error_woke(_run_with(before + [4.9e-4] * 3, onset))  # below 5x
    assert not guide.nudging_on(_run_with(before + peak))  # no mark: no step


def test_fig1_ticks_its_steps_in_the_order_a_student_takes_them():
    """Seeds 0-9 measured 2026-12-04: the first two steps tick as asserted for every seed; all
    four by 0.9-1.4 s of simulated time, 6-11 pieces of 1000 steps after nudging (budget 50)."""
    simulation = LiveSimulation("fig1", seed=0)
    path = guide.Guide("fig1")
    assert path.reached == [False] * 4 and "1. " + guide.TO_DO in path.markdown()
    simulation.advance(3000)
    assert path.update(simulation) and path.reached == [True, False, False, False]
    assert not path.update(simulation)  # nothing new
    simulation.set_nudging(True)
    path.update(simulation)
    assert path.reached == [True, True, False, False]
    for _ in range(50):  # 5 s of simulated time; seeds 0-9 needed 0.6-1.1 s of it
        simulation.advance(1000, measure=False)
        path.update(simulation)
    assert path.reached == [True] * 4
    assert path.markdown().count(guide.DONE) == 4


def test_fig_s1_apical_silence_and_the_self_predicting_button_tick():
    """Seeds 0-9 measured 2026-12-04: the first three steps tick after 8.7-23.5 s of simulated
    time (seed 0: 23.5 s, seed 9: 20.2 s, seed 1: 9.7 s); the budget, 20 s until then, is 30 s."""
    simulation = LiveSimulation("fig-s1", seed=1)
    path = guide.Guide("fig-s1")
    for _ in range(300):  # up to 30 s of simulated time; seed 1 needs 9.7 s
        simulation.advance(1000)
        path.update(simulation)
        if all(path.reached[:3]):
            break
    assert path.reached[:3] == [True, True, True]
    simulation.network.params.learn_IP = False  # a reached step stays reached
    simulation.make_self_predicting()
    path.update(simulation)
    assert path.reached == [True] * 4


def test_fig2_learning_the_shallow_learner_and_sigma_tick():
    """Seeds 0-9 measured 2026-12-04: the first three steps tick after 2.0-3.8 s of simulated
    time (3.8: seed 3; budget 5 s), and none ticks the fourth before sigma changes."""
    simulation = LiveSimulation("fig2", seed=0)
    path = guide.Guide("fig2")
    for _ in range(50):  # 5 s of simulated time (500 patterns); seeds 0-9 needed 2.0-3.8 s
        simulation.advance(1000)
        path.update(simulation)
    assert path.reached == [True, True, True, False]
    simulation.network.params.sigma = 0.1
    path.update(simulation)
    assert path.reached == [True] * 4


def test_every_scenario_has_a_guided_path_pointing_to_an_existing_notebook():
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    assert set(guide.GUIDES) == set(SCENARIOS)
    for steps in guide.GUIDES.values():
        for step in steps:
            assert (notebooks / f"{step.notebook}.ipynb").exists(), step.notebook


def test_the_paper_regimes_steps_tick_by_the_clock_nudging_and_patterns():
    run = _run_with([1e-4] * 3)
    run.network.nudging = False
    run.patterns_seen = 299
    run.network.state.time = 29_999.0
    assert not guide.simulated_for(30)(run) and not guide.presented(300)(run)
    run.network.state.time, run.patterns_seen = 30_000.0, 300
    assert guide.simulated_for(30)(run) and guide.presented(300)(run)
    nudged = _run_with([1e-4] * 3, [(20_000.0, "nudging", "nudging on")])
    nudged.network.nudging = True
    nudged.network.state.time = 29_999.0
    assert not guide.nudged_for(10)(nudged)
    nudged.network.state.time = 30_000.0
    assert guide.nudged_for(10)(nudged)
    nudged.network.nudging = False  # switched off again: not nudging for 10 s any more
    assert not guide.nudged_for(10)(nudged)
