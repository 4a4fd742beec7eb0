"""The live plots' backpressure: at most MAX_IN_FLIGHT traces updates unacknowledged by the page,
what comes meanwhile merged and decimated (the page in a real browser: test_browser.py)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("panel")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
import plots  # noqa: E402

from core.live import LiveSimulation  # noqa: E402


def _frame(simulation, steps=500):
    return simulation.advance(steps, samples=10, measure=False)


def test_decimate_keeps_the_last_row_and_at_most_the_rows_asked():
    columns = {"time": np.arange(1000.0), "x": np.arange(1000.0) * 2}
    kept = plots.decimate(columns, 200)
    assert 100 < len(kept["time"]) <= 200
    assert kept["time"][-1] == 999.0 and np.all(kept["x"] == 2 * kept["time"])
    assert np.all(np.diff(kept["time"]) > 0)
    assert plots.decimate(columns, 5000) is columns


def test_a_page_that_never_acknowledges_is_never_held_back():
    simulation = LiveSimulation("fig1")
    live = plots.LivePlots(simulation)
    for _ in range(5):
        assert live.push(_frame(simulation))
    assert live.sent == 5 and live.acknowledged == 0
    assert len(live.traces.data["time"]) == 5 * 10


def test_a_slow_page_gets_one_merged_update_with_the_latest_rows_when_it_catches_up():
    simulation = LiveSimulation("fig1")
    live = plots.LivePlots(simulation)
    assert live.push(_frame(simulation))
    live._acknowledge("tags", [0], [1])  # the page applied the first update
    assert live.push(_frame(simulation)) and live.push(_frame(simulation))
    assert live.sent - live.acknowledged == plots.MAX_IN_FLIGHT
    shown = len(live.traces.data["time"])
    for _ in range(30):  # the page is busy: 30 ticks of rows are held, merged
        assert not live.push(_frame(simulation))
    assert len(live.traces.data["time"]) == shown
    assert len(live._held["time"]) <= plots.MAX_MERGED_ROWS
    live._acknowledge("tags", [1], [2])  # one update applied: the merged rows leave at once
    assert live._held is None and live.sent == 4
    times = live.traces.data["time"]
    assert times[-1] == pytest.approx(simulation.network.state.time)
    assert len(times) - shown <= plots.MAX_MERGED_ROWS
    assert np.all(np.diff(times) > 0)
