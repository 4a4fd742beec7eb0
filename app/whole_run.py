"""What a live run keeps for its whole length: binned error signals and the events of the run.

A live simulation streams fast traces that a dashboard shows for the last few seconds only; the
story of a run (apical potentials falling silent over minutes, the error that nudging wakes and
its decay) needs the whole run at a coarser resolution. :class:`BinnedRecord` keeps the mean and
the largest sample of each quantity per time bin in a fixed number of bins: when the run outgrows
them, neighbouring bins merge in pairs and the bin width doubles, so memory stays bounded however
long the run. The mean shows the level; the largest sample keeps a brief event visible (the
apical error nudging wakes decays within a second or two: after an hour of play, bins of a few
seconds average it away, their largest sample does not).
:class:`EventLog` keeps what happened to the run (nudging switched, a parameter changed) with the
time and pattern count at which it happened, for marks on the plots and for the exported CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

BINS = 1000
"""Most bins a :class:`BinnedRecord` keeps (about a plot's width in pixels)."""
MAX_EVENTS = 200
"""Most events an :class:`EventLog` keeps; the oldest are dropped first."""


class BinnedRecord:
    """Per-bin means and largest samples of ``columns`` over a whole run, in at most ``bins``
    bins.

    Bin ``i`` covers simulated times ``[origin + i w, origin + (i + 1) w)``; a sample's value is
    added to the sum of its bin and column (NaN values are not counted), and the bin's mean is
    sum / count. When a sample falls beyond the last bin, pairs of bins merge (``w`` doubles,
    :attr:`merges` counts how often) until it fits.

    Parameters
    ----------
    columns : sequence of str
        The quantities recorded (not ``"time"``).
    width : float
        Initial bin width (ms), e.g. one presentation time.
    origin : float
        Simulated time (ms) where the first bin starts.
    bins : int
        Bins kept, at least 2.
    """

    def __init__(self, columns, width, origin=0.0, bins=BINS):
        if not (isinstance(width, (int, float)) and np.isfinite(width) and width > 0):
            raise ValueError(f"width must be a finite number of ms > 0, got {width!r}")
        if not (isinstance(bins, int) and bins >= 2 and bins % 2 == 0):
            raise ValueError(f"bins must be an even integer >= 2, got {bins!r}")
        self.columns = list(columns)
        self.width = float(width)
        self.origin = float(origin)
        self.merges = 0
        self._sums = np.zeros((bins, len(self.columns)))
        self._counts = np.zeros((bins, len(self.columns)))
        self._maxima = np.full((bins, len(self.columns)), -np.inf)
        self._used = 0  # bins up to the last one that holds a sample

    @property
    def end(self):
        """Simulated time (ms) up to which the bins in use reach."""
        return self.origin + self._used * self.width

    def add(self, time, values):
        """Add samples at simulated times ``time`` (ms, not before :attr:`origin`) with
        ``values[column]`` each as long as ``time``."""
        time = np.asarray(time, dtype=float)
        if not len(time):
            return
        if time.min() < self.origin:
            raise ValueError(f"samples at t = {time.min():g} ms lie before the record's origin "
                             f"{self.origin:g} ms")
        index = np.floor((time - self.origin) / self.width).astype(np.int64)
        while index.max() >= len(self._sums):
            self._merge()
            index //= 2
        block = np.column_stack([np.asarray(values[c], dtype=float) for c in self.columns])
        counted = np.isfinite(block)
        np.add.at(self._sums, index, np.where(counted, block, 0.0))
        np.add.at(self._counts, index, counted)
        np.maximum.at(self._maxima, index, np.where(counted, block, -np.inf))
        self._used = max(self._used, int(index.max()) + 1)

    def _merge(self):
        half = len(self._sums) // 2
        for array in (self._sums, self._counts):
            array[:half] = array.reshape(half, 2, -1).sum(axis=1)
            array[half:] = 0.0
        self._maxima[:half] = self._maxima.reshape(half, 2, -1).max(axis=1)
        self._maxima[half:] = -np.inf
        self.width *= 2
        self.merges += 1
        self._used = (self._used + 1) // 2

    def table(self):
        """The bins that hold samples: ``{"time": bin centres, column: mean, ...,
        column + "_max": largest sample, ...}`` (both NaN in a bin where the column had only NaN
        samples)."""
        counts = self._counts[:self._used]
        held = counts.any(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, self._sums[:self._used] / counts, np.nan)
        centres = self.origin + (np.arange(self._used) + 0.5) * self.width
        table = {"time": centres[held]}
        table.update({c: means[held, i] for i, c in enumerate(self.columns)})
        maxima = np.where(counts > 0, self._maxima[:self._used], np.nan)
        table.update({f"{c}_max": maxima[held, i] for i, c in enumerate(self.columns)})
        return table


@dataclass(frozen=True)
class Event:
    """Something that happened to a run.

    Attributes
    ----------
    time : float
        Simulated time (ms) at which it happened.
    patterns : int
        Patterns presented by then.
    kind : str
        ``"nudging"``, ``"self-predicting"``, ``"parameter"``, ``"loaded"``, ...
    label : str
        What happened, for a reader ("nudging on", "g_B 1 → 1.2").
    """

    time: float
    patterns: int
    kind: str
    label: str


class EventLog:
    """The last :data:`MAX_EVENTS` :class:`Event` s of a run, oldest first."""

    def __init__(self, capacity=MAX_EVENTS):
        self.capacity = capacity
        self.events = []
        self.count = 0  # events ever added (a front end sends those it has not sent yet)

    def add(self, time, patterns, kind, label):
        """Record an event and return it."""
        event = Event(float(time), int(patterns), str(kind), str(label))
        self.events.append(event)
        del self.events[:-self.capacity]
        self.count += 1
        return event

    def since(self, count):
        """Events added after the first ``count`` ever added (those still kept)."""
        return self.events[max(0, len(self.events) - (self.count - count)):]

    def table(self, events=None):
        """``{"time", "patterns", "kind", "label"}`` columns of ``events`` (default: all kept)."""
        events = self.events if events is None else events
        return {"time": np.array([e.time for e in events], dtype=float),
                "patterns": np.array([e.patterns for e in events], dtype=float),
                "kind": [e.kind for e in events], "label": [e.label for e in events]}


def to_csv(table, events=()):
    """CSV text of the equally long numeric ``table`` columns (``"time"`` first) with a last
    column ``event``: the labels of the ``events`` that happened after the previous row's time
    and up to this row's, joined by "; ". Events before the first row or after the last get a
    row of their own, with only the time filled in."""
    columns = list(table)
    rows = np.column_stack([np.asarray(table[c], dtype=float) for c in columns]) if columns \
        else np.zeros((0, 0))
    times = np.asarray(table.get("time", np.zeros(len(rows))), dtype=float)
    at_row, early, late = {}, [], []
    for event in events:
        index = int(np.searchsorted(times, event.time, side="left"))
        if index == len(times):
            late.append(event)
        elif index == 0 and event.time < times[0]:
            early.append(event)
        else:
            at_row.setdefault(index, []).append(event.label)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns + ["event"])

    def event_row(event):
        writer.writerow([f"{event.time:.9g}" if c == "time" else "" for c in columns]
                        + [event.label])

    for event in early:
        event_row(event)
    for i, row in enumerate(rows):
        writer.writerow([f"{value:.9g}" for value in row] + ["; ".join(at_row.get(i, []))])
    for event in late:
        event_row(event)
    return out.getvalue()
