"""The whole-run record (binned means, bounded memory), the event log and their CSV."""

import csv
import io

import numpy as np
import pytest

from live import LiveSimulation
from whole_run import BinnedRecord, Event, EventLog, to_csv


def test_bins_hold_the_mean_of_their_samples_by_hand():
    record = BinnedRecord(["a", "b"], width=10.0, origin=100.0, bins=4)
    record.add([100.0, 104.0, 115.0], {"a": [1.0, 3.0, 5.0], "b": [np.nan, 2.0, np.nan]})
    table = record.table()
    np.testing.assert_array_equal(table["time"], [105.0, 115.0])  # bin centres
    np.testing.assert_array_equal(table["a"], [2.0, 5.0])
    np.testing.assert_array_equal(table["b"], [2.0, np.nan])  # NaN samples do not count
    np.testing.assert_array_equal(table["a_max"], [3.0, 5.0])
    np.testing.assert_array_equal(table["b_max"], [2.0, np.nan])
    assert record.end == 120.0


def test_a_sample_beyond_the_last_bin_merges_pairs_until_it_fits():
    record = BinnedRecord(["a"], width=10.0, bins=4)
    record.add([1.0, 12.0, 25.0, 38.0], {"a": [1.0, 2.0, 3.0, 4.0]})
    record.add([79.0], {"a": [10.0]})  # bin 7 of width 10: one merge, width 20
    assert (record.width, record.merges) == (20.0, 1)
    table = record.table()
    np.testing.assert_array_equal(table["time"], [10.0, 30.0, 70.0])  # [0,20) [20,40) [60,80)
    np.testing.assert_array_equal(table["a"], [1.5, 3.5, 10.0])
    np.testing.assert_array_equal(table["a_max"], [2.0, 4.0, 10.0])
    record.add([1000.0], {"a": [0.0]})  # far beyond: merges until 1000 fits in 4 bins
    assert record.width == 320.0 and record.merges == 5
    table = record.table()
    np.testing.assert_array_equal(table["time"], [160.0, 1120.0])  # [0,320) [960,1280)
    np.testing.assert_allclose(table["a"], [(1 + 2 + 3 + 4 + 10) / 5, 0.0])
    np.testing.assert_array_equal(table["a_max"], [10.0, 0.0])


def test_memory_stays_bounded_however_long_the_run():
    record = BinnedRecord(["a"], width=1.0, bins=8)
    for start in range(0, 100_000, 1000):
        record.add(np.arange(start, start + 1000, dtype=float), {"a": np.ones(1000)})
    assert len(record.table()["time"]) <= 8
    np.testing.assert_array_equal(record.table()["a"], 1.0)


def test_bad_records_and_samples_are_refused_with_their_values():
    with pytest.raises(ValueError, match="width must be a finite number of ms > 0, got 0"):
        BinnedRecord(["a"], width=0)
    with pytest.raises(ValueError, match="bins must be an even integer >= 2, got 3"):
        BinnedRecord(["a"], width=1.0, bins=3)
    record = BinnedRecord(["a"], width=1.0, origin=50.0)
    with pytest.raises(ValueError, match="t = 10 ms lie before the record's origin 50 ms"):
        record.add([10.0], {"a": [1.0]})


def test_the_event_log_keeps_the_latest_and_says_what_is_new():
    log = EventLog(capacity=3)
    for i in range(5):
        log.add(10.0 * i, i, "parameter", f"e{i}")
    assert [e.label for e in log.events] == ["e2", "e3", "e4"]
    assert [e.label for e in log.since(3)] == ["e3", "e4"]
    assert [e.label for e in log.since(0)] == ["e2", "e3", "e4"]  # the dropped ones are gone
    assert log.since(5) == []
    assert log.table()["time"].tolist() == [20.0, 30.0, 40.0]


def test_a_brief_peak_survives_merging_in_the_largest_sample():
    """An error lasting one sample among a thousand: the mean of its merged bin hides it, the
    bin's largest sample keeps it."""
    record = BinnedRecord(["a"], width=1.0, bins=4)
    values = np.full(1000, 1e-4)
    values[500] = 1e-2
    record.add(np.arange(1000.0), {"a": values})
    table = record.table()
    assert table["a"].max() < 1e-3 and table["a_max"].max() == 1e-2


def test_csv_puts_each_event_on_the_first_row_at_or_after_it():
    table = {"time": np.array([10.0, 20.0, 30.0]), "x": np.array([1.0, 2.0, 3.0])}
    events = [Event(5.0, 0, "a", "before"), Event(20.0, 1, "b", "at 20"),
              Event(21.0, 1, "c", "just after 20"), Event(25.0, 2, "d", "between, too"),
              Event(31.0, 3, "e", "after, with a comma")]
    rows = list(csv.reader(io.StringIO(to_csv(table, events))))
    assert rows == [["time", "x", "event"],
                    ["5", "", "before"],
                    ["10", "1", ""],
                    ["20", "2", "at 20"],
                    ["30", "3", "just after 20; between, too"],
                    ["31", "", "after, with a comma"]]


def test_a_live_run_bins_the_error_signals_it_recorded():
    """Each bin holds the mean of the samples that fall into it: mean v_A^2 of the hidden layer,
    and (u_trgt - u_N)^2 of the output only while nudging is on. A 3-4-2 network has all its
    neurons in the traces, so the bins can be recomputed from them by hand."""
    simulation = LiveSimulation("fig1", seed=1, layer_sizes=[3, 4, 2])
    off = simulation.advance(1500, samples=30).traces  # 150 ms, nudging off
    simulation.set_nudging(True)
    on = simulation.advance(1500, samples=30).traces
    assert simulation.whole_run.width == 100.0  # one presentation time
    table = simulation.whole_run.table()
    time = np.concatenate([off["time"], on["time"]])
    apical = np.concatenate([off["apical_sq"], on["apical_sq"]])
    error = np.concatenate([np.full(len(off["time"]), np.nan),
                            np.mean([(on[f"u_target[{i}]"] - on[f"u_P2[{i}]"]) ** 2
                                     for i in range(2)], axis=0)])
    bins = np.floor(time / 100.0).astype(int)
    assert table["time"].tolist() == [100.0 * b + 50.0 for b in np.unique(bins)]
    for row, b in enumerate(np.unique(bins)):
        np.testing.assert_allclose(table["apical_sq1"][row], apical[bins == b].mean(), rtol=1e-12)
        assert table["apical_sq1_max"][row] == apical[bins == b].max()
        expected = error[bins == b]
        expected = expected[np.isfinite(expected)]
        if len(expected):
            np.testing.assert_allclose(table["output_error"][row], expected.mean(), rtol=1e-12)
        else:
            assert np.isnan(table["output_error"][row])
    assert np.isfinite(table["output_error"]).any() and np.isnan(table["output_error"]).any()
