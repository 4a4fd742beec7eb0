"""The dashboard's live plots: Bokeh figures fed by two streaming ColumnDataSources.

Why Bokeh sources and not one HoloViews ``Buffer``/``DynamicMap`` per plot: with ~25 traces a
DynamicMap rebuilds every element and recomputes every range on each send -- measured ~230 ms per
update here, which caps the dashboard at ~4 updates/s. One source per kind of data, shared by all
line glyphs that read it and updated with ``ColumnDataSource.stream(rows, rollover)``, sends only
the new rows and costs well under a millisecond; ``rollover`` bounds the memory of every session.
The figures are still plain Bokeh models, so Panel shows them served and in notebooks alike.

**Backpressure.** A browser on a busy machine may draw more slowly than the server streams: its
messages then queue up, and the page falls minutes behind (Pause showed after 108 s). So the page
acknowledges every traces update it has applied (a JavaScript callback counts them into the
apical figure's ``tags``, which Bokeh syncs back), and :meth:`LivePlots.push` keeps at most
:data:`MAX_IN_FLIGHT` updates unacknowledged: what the simulation produces meanwhile (trace rows,
decimated to :data:`MAX_MERGED_ROWS`, and progress rows) is merged into one update that leaves
with the next acknowledgement. A client that never acknowledges (a notebook run without a
browser, a test's websocket client) is never held back; one that stops acknowledging stops
receiving traces.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import (ColumnDataSource, CustomJS, HoverTool, LinearAxis, NumeralTickFormatter,
                          Range1d)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from core.live import PROGRESS_COLUMNS

TRACE_ROLLOVER = 1000
"""Trace samples each browser keeps (5 s of play at 20 samples per update, 10 updates/s)."""
PROGRESS_ROLLOVER = 3000
"""Progress rows each browser keeps (25 minutes at 2 rows per second)."""
MAX_IN_FLIGHT = 2
"""Traces updates that may be on their way to a page that has not applied them yet."""
MAX_MERGED_ROWS = 200
"""Trace rows of an update that merges what accumulated while the page was behind."""
HEIGHT = 230
X_TICK_FORMAT = "0,0.[00]"
"""Times in ms and pattern counts as 120,000 rather than Bokeh's default 1.200e+5 (from 1e5 on,
whose labels also run into each other on a narrow plot)."""


def _figure(title, x_label, y_label, **options):
    fig = figure(title=title, height=HEIGHT, sizing_mode="stretch_width", x_axis_label=x_label,
                 y_axis_label=y_label, tools="pan,wheel_zoom,box_zoom,reset,save",
                 toolbar_location="right", **options)
    fig.title.text_font_size = "11pt"
    # a formatter of its own: a Bokeh model belongs to one document, and so to one session
    fig.xaxis.formatter = NumeralTickFormatter(format=X_TICK_FORMAT)
    return fig


def _joined(first, second):
    """Columns of ``second`` appended to those of ``first`` (which may be None)."""
    if first is None:
        return dict(second)
    return {c: np.concatenate([first[c], second[c]]) for c in second}


def decimate(columns, rows):
    """Every k-th row of equally long ``columns`` so that at most ``rows`` remain, always keeping
    the last (the latest state)."""
    n = len(next(iter(columns.values())))
    if n <= rows:
        return columns
    keep = np.arange(n - 1, -1, -int(np.ceil(n / rows)))[::-1]
    return {c: np.asarray(v)[keep] for c, v in columns.items()}


def _neurons(columns, name):
    return [c for c in columns if c.startswith(f"{name}[")]


class LivePlots:
    """The five live plots of the dashboard for one :class:`core.live.LiveSimulation`.

    Parameters
    ----------
    simulation : LiveSimulation
        Only its columns and layer count are read; data arrive through :meth:`push`.
    """

    def __init__(self, simulation):
        columns = simulation.columns
        N = simulation.network.n_layers
        self.traces = ColumnDataSource({c: np.zeros(0) for c in columns}, name="traces")
        self.progress = ColumnDataSource({c: np.zeros(0) for c in PROGRESS_COLUMNS},
                                         name="progress")
        self.sent = self.acknowledged = 0  # traces updates sent, and applied by the page
        self._held = self._held_progress = None  # rows waiting for the page to catch up
        self.figures = {
            "apical": self._apical(columns),
            "apical_sq": self._apical_sq(),
            "output": self._pairs(columns, f"u_P{N}", "u_target",
                                  "Output potentials u_N (solid) and their targets (dashed)"),
            "interneurons": self._pairs(columns, "u_I1", "u_P2",
                                        "Interneurons u_I,1 (solid) mimic layer 2 u_P,2 (dashed)"),
            "alignment": self._alignment(),
            "learning": self._learning(),
        }

        self._acknowledge_in_page()

    # ---- data ------------------------------------------------------------------------------
    def push(self, frame):
        """Send the new rows of a :class:`core.live.Frame` (only the new rows travel), or hold
        them while the page is :data:`MAX_IN_FLIGHT` updates behind (see the module docstring).

        Returns
        -------
        bool
            Whether the traces left (or there were none to send).
        """
        if len(frame.traces["time"]):
            self._held = decimate(_joined(self._held, frame.traces), MAX_MERGED_ROWS)
        if frame.progress is not None:
            self._held_progress = _joined(self._held_progress, frame.progress)
        return self._send_held()

    def _send_held(self):
        if self._held is None and self._held_progress is None:
            return True
        if self.acknowledged and self.sent - self.acknowledged >= MAX_IN_FLIGHT:
            return False
        if self._held is not None:
            self.sent += 1
            self.traces.stream(self._held, rollover=TRACE_ROLLOVER)
        if self._held_progress is not None:
            self.progress.stream(self._held_progress, rollover=PROGRESS_ROLLOVER)
        self._held = self._held_progress = None
        return True

    def _acknowledge_in_page(self):
        # the page counts the updates it has applied; Bokeh sends the count back
        figure = self.figures["apical"]
        figure.tags = [0]
        self.traces.js_on_change("streaming", CustomJS(args=dict(figure=figure), code=(
            "figure.tags = [(figure.tags.length ? figure.tags[0] : 0) + 1]")))
        figure.on_change("tags", self._acknowledge)

    def _acknowledge(self, attr, old, new):
        if new and isinstance(new[0], (int, float)):
            self.acknowledged = min(int(new[0]), self.sent)
            self._send_held()  # what waited for the page (e.g. the last rows before a pause)

    # ---- figures ---------------------------------------------------------------------------
    def _apical(self, columns):
        fig = _figure("Apical potentials v_A of layer 1 (first neurons)", "time (ms)", "v_A")
        for i, column in enumerate(_neurons(columns, "v_A1")):
            fig.line("time", column, source=self.traces, color=Category10_10[i], line_width=1.5)
        return fig

    def _apical_sq(self):
        fig = _figure("Mean squared apical potential (the error signal)", "time (ms)",
                      "mean v_A^2", y_axis_type="log")
        fig.line("time", "apical_sq", source=self.traces, color="#d62728", line_width=2)
        return fig

    def _pairs(self, columns, solid, dashed, title):
        fig = _figure(title, "time (ms)", "potential u")
        for i, (a, b) in enumerate(zip(_neurons(columns, solid), _neurons(columns, dashed))):
            fig.line("time", a, source=self.traces, color=Category10_10[i], line_width=1.5)
            fig.line("time", b, source=self.traces, color=Category10_10[i], line_dash="dashed",
                     line_width=1.5)
        return fig

    def _alignment(self):
        fig = _figure("Weight alignment", "time (ms)", "cosine similarity",
                      y_range=Range1d(-1.05, 1.05))
        fig.extra_y_ranges = {"angle": Range1d(0, 180)}
        fig.add_layout(LinearAxis(y_range_name="angle", axis_label="angle (degrees)"), "right")
        lines = [("cos_PI_vs_top_down", "#1f77b4", "W_PI vs -W_down (cos)", "default"),
                 ("cos_IP_vs_self_predicting", "#ff7f0e", "W_IP vs self-predicting (cos)",
                  "default"),
                 ("forward_feedback_angle", "#2ca02c", "forward vs feedback (deg, right axis)",
                  "angle")]
        for column, color, label, y_range in lines:
            fig.line("time", column, source=self.progress, color=color, line_width=2,
                     legend_label=label, y_range_name=y_range)
        fig.legend.location = "bottom_left"
        fig.legend.label_text_font_size = "8pt"
        return fig

    def _learning(self):
        fig = _figure("Learning curve: test error on unseen patterns", "patterns seen",
                      "mean |r_N - r_trgt|^2", y_axis_type="log")
        fig.line("patterns", "test_error", source=self.progress, color="#9467bd", line_width=2,
                 legend_label="microcircuit")
        fig.line("patterns", "baseline_error", source=self.progress, color="gray", line_width=2,
                 line_dash="dashed", legend_label="backprop MLP")
        fig.add_tools(HoverTool(tooltips=[("patterns", "@patterns"), ("microcircuit", "@test_error"),
                                          ("backprop", "@baseline_error")]))
        fig.legend.location = "top_right"
        fig.legend.label_text_font_size = "8pt"
        return fig
