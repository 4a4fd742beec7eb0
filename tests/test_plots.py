"""The live plots' backpressure: at most MAX_IN_FLIGHT traces updates unacknowledged by the page,
what comes meanwhile merged and decimated (the page in a real browser, where its drawing time also
paces them: test_browser.py)."""


import numpy as np
import pytest

pytest.importorskip("panel")
import plots

from live import LiveSimulation


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
    live._acknowledge("tags", [0], [1])  # the page drew the first update
    for _ in range(plots.MAX_IN_FLIGHT):
        assert live.push(_frame(simulation))
    assert live.sent - live.acknowledged == plots.MAX_IN_FLIGHT
    shown = len(live.traces.data["time"])
    for _ in range(30):  # the page is busy: 30 ticks of rows are held, merged
        assert not live.push(_frame(simulation))
    assert len(live.traces.data["time"]) == shown
    assert len(live._held["time"]) <= plots.MAX_MERGED_ROWS
    live._acknowledge("tags", [1], [2])  # one update drawn: the merged rows leave at once
    assert live._held is None and live.sent == 2 + plots.MAX_IN_FLIGHT
    times = live.traces.data["time"]
    assert times[-1] == pytest.approx(simulation.network.state.time)
    assert len(times) - shown <= plots.MAX_MERGED_ROWS
    assert np.all(np.diff(times) > 0)


def _page_table(source):
    return {c: np.asarray(v, dtype=float) for c, v in source.data.items()}


def test_the_page_gets_the_whole_run_record_piece_by_piece_and_whole_after_a_merge(monkeypatch):
    """Patched and streamed, the page's copy equals the record after every update, through bin
    merges and a new record (a loaded network whose clock is behind)."""
    simulation = LiveSimulation("fig1")
    small = plots.LivePlots(simulation)
    simulation.whole_run = type(simulation.whole_run)(simulation.whole_run.columns, width=20.0,
                                                      bins=8)  # merges soon
    merges = set()
    for _ in range(12):
        small.push(simulation.advance(500, samples=7))
        merges.add(simulation.whole_run.merges)
        expected = simulation.whole_run.table()
        shown = _page_table(small.whole_run)
        assert shown.keys() == expected.keys()
        for column in expected:
            np.testing.assert_array_equal(shown[column], expected[column], err_msg=column)
    assert len(merges) > 2  # the record merged several times on the way
    simulation.replace_network(LiveSimulation("fig1").network)
    small.push(simulation.advance(300))
    np.testing.assert_array_equal(_page_table(small.whole_run)["time"],
                                  simulation.whole_run.table()["time"])


def test_events_reach_the_page_once_and_every_time_axis_marks_them():
    simulation = LiveSimulation("fig1")
    live = plots.LivePlots(simulation)
    simulation.set_nudging(True)
    live.show_events()
    live.show_events()  # nothing new: nothing sent twice
    simulation.network.params.g_B = 1.5
    live.push(simulation.advance(100))
    assert list(live.events.data["label"]) == ["nudging on", "g_B 1 → 1.5"]
    for name, fig in live.figures.items():
        spans = [r for r in fig.renderers if r.data_source is live.events]
        assert len(spans) == 1, name
        # the axes fit the data, not the marks: an old event must not stretch the last seconds
        assert spans[0] not in fig.x_range.renderers, name


def test_plots_show_axes_and_a_hint_until_the_first_data():
    simulation = LiveSimulation("fig-s1")
    live = plots.LivePlots(simulation)
    hints = [label for fig in live.figures.values() for label in fig.center
             if getattr(label, "text", None) == plots.HINT]
    assert len(hints) == len(live.figures) and all(hint.visible for hint in hints)
    assert len(live._placeholder.data["time"]) == 2  # gives every axis a range
    live.push(simulation.advance(0))  # the first frame of a build: no samples yet
    assert all(hint.visible for hint in hints)
    live.push(simulation.advance(200))
    assert not any(hint.visible for hint in hints)
    assert len(live._placeholder.data["time"]) == 0


def test_the_next_update_waits_for_the_pages_drawing_time_over_the_render_share(monkeypatch):
    """Paced by how long the page says it took to draw (slower believed at once, faster
    gradually), not by the round trip; an absurd claim is capped."""
    simulation = LiveSimulation("fig1")
    live = plots.LivePlots(simulation)
    clock = [100.0]
    monkeypatch.setattr(plots.time, "monotonic", lambda: clock[0])
    assert live.push(_frame(simulation))
    assert live.next_send_due() == 100.0  # nothing drawn yet: no wait
    live._acknowledge("tags", [0, 0.0], [1, 0.4])
    assert live.next_send_due() == pytest.approx(100.0 + 0.4 / plots.RENDER_SHARE)
    clock[0] = 101.0
    assert live.push(_frame(simulation))  # sent at 101
    live._acknowledge("tags", [1, 0.4], [2, 0.1])  # faster: believed gradually
    assert live.next_send_due() == pytest.approx(101.0 + (0.7 * 0.4 + 0.3 * 0.1)
                                                 / plots.RENDER_SHARE)
    live._acknowledge("tags", [2, 0.1], [2, float("inf")])
    assert live.next_send_due() == pytest.approx(101.0 + plots.MAX_DRAWING_TIME_S
                                                 / plots.RENDER_SHARE)
    live._acknowledge("tags", [2, 0.0], [2])  # a count alone (no time) is still an acknowledgement
    assert live.acknowledged == 2
