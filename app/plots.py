"""The dashboard's live plots: Bokeh figures fed by streaming ColumnDataSources.

The first plot of every scenario tells the story of the whole run: the error signals binned over
the whole run (:attr:`live.LiveSimulation.whole_run`), on a log axis, with the run's events
(nudging switched, a parameter changed, ...) marked on it and on every other time axis. The fast
traces beside it zoom into the last few seconds.

Why Bokeh sources and not one HoloViews ``Buffer``/``DynamicMap`` per plot: with ~25 traces a
DynamicMap rebuilds every element and recomputes every range on each send, which capped the
dashboard at a few updates per second (benchmarks/README.md, "Design figures"). One source per
kind of data, shared by all line glyphs that read it and updated with
``ColumnDataSource.stream(rows, rollover)``, sends only the new rows; ``rollover`` bounds the
memory of every session.
The figures are still plain Bokeh models, so Panel shows them served and in notebooks alike.

**Backpressure.** A browser on a busy machine may draw more slowly than the server streams: its
messages then queue up, and the page falls minutes behind (Pause showed after 108 s). So the page
acknowledges every traces update once it has drawn it (a JavaScript callback counts them into the
source's ``tags`` in the animation frame after Bokeh's repaint, with the time the drawing took;
Bokeh syncs both back), and :meth:`LivePlots.push` keeps at most :data:`MAX_IN_FLIGHT` update
unacknowledged and sends the next no sooner than the page's drawing time divided by
:data:`RENDER_SHARE` after the previous: a page that needs a second to draw an update gets one
every two seconds, and is idle, ready to answer a click, half of the time. (On a machine short of
CPU the server leaves time for the pages itself: ``sessions.GIVE_BACK``.) What the simulation
produces meanwhile (trace rows, decimated to :data:`MAX_MERGED_ROWS`, and progress rows) is merged
into one update that leaves with the next acknowledgement or when the interval is over. A client
that never acknowledges (a notebook run without a browser, a test's websocket client) is never held
back; one that stops acknowledging stops receiving traces.
"""

from __future__ import annotations

import time

import numpy as np
from bokeh.models import (ColumnDataSource, CustomJS, HoverTool, Label, LabelSet, LinearAxis,
                          NumeralTickFormatter, Range1d)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from live import PROGRESS_COLUMNS, whole_run_columns
from whole_run import MAX_EVENTS

TRACE_ROLLOVER = 1000
"""Trace samples each browser keeps (5 s of play at 20 samples per update, 10 updates/s)."""
PROGRESS_ROLLOVER = 3000
"""Progress rows each browser keeps (25 minutes at 2 rows per second)."""
MAX_IN_FLIGHT = 1
"""Traces updates that may be on their way to a page that has not drawn them yet. (With two, a
page on a busy machine never stopped drawing, and a click waited behind two updates.)"""
RENDER_SHARE = 0.5
"""At most this share of a page's time goes into drawing updates, as the page measures it (from
applying an update to the animation frame after its repaint): tens of ms on a quiet machine,
seconds on a busy one."""
MAX_DRAWING_TIME_S = 10.0
"""The longest drawing time a page's acknowledgement is believed (it comes from the page)."""
MAX_MERGED_ROWS = 200
"""Trace rows of an update that merges what accumulated while the page was behind."""
HEIGHT = 230
STORY_HEIGHT = 320
"""Height of a scenario's first plot, the one that tells its story."""
EVENT_COLOR = "#2e7d32"
HINT = "Press ▶ Play (or Step one pattern) to start"
PLACEHOLDER = {"time": [0.0, 1000.0], "patterns": [0.0, 100.0], "linear": [-1.0, 1.0],
               "log": [1e-6, 1e-1]}
"""Two invisible points that give every axis a range before there is data (Bokeh draws no axis
over an empty range): ms or patterns along x, a linear or a log y."""
X_TICK_FORMAT = "0,0.[00]"
"""Times in ms and pattern counts as 120,000 rather than Bokeh's default 1.200e+5 (from 1e5 on,
whose labels also run into each other on a narrow plot)."""


def _figure(title, x_label, y_label, height=HEIGHT, **options):
    fig = figure(title=title, height=height, sizing_mode="stretch_width", x_axis_label=x_label,
                 y_axis_label=y_label, tools="pan,wheel_zoom,box_zoom,reset,save",
                 toolbar_location="right", **options)
    fig.title.text_font_size = "11pt"
    # a formatter of its own: a Bokeh model belongs to one document, and so to one session
    fig.xaxis.formatter = NumeralTickFormatter(format=X_TICK_FORMAT)
    fig.xaxis.ticker.desired_num_ticks = 5  # labels of 6 digits that do not run together
    if options.get("y_axis_type") == "log":
        fig.yaxis.ticker.desired_num_ticks = 4  # a few decades, labels that do not collide
    return fig


def _legend_above(fig, columns=2):
    """The figure's legend above the plot, where it covers no curve; a click on an entry hides
    its curve."""
    legend = fig.legend[0]
    fig.center.remove(legend)
    legend.update(orientation="horizontal", ncols=columns, label_text_font_size="8pt",
                  click_policy="hide", margin=0, padding=2, spacing=10, label_height=12,
                  glyph_height=12, border_line_alpha=0)
    fig.add_layout(legend, "above")


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
    """The live plots of the dashboard for one :class:`live.LiveSimulation`.

    Parameters
    ----------
    simulation : LiveSimulation
        Its columns, layer count, whole-run record and events are read; trace and progress rows
        arrive through :meth:`push`.

    Attributes
    ----------
    figures : dict[str, bokeh.plotting.figure]
        By name: ``whole_run``, ``apical``, ``apical_sq``, ``output``, ``interneurons``,
        ``alignment``, ``learning``, ``forward_change``.
    """

    def __init__(self, simulation):
        self.simulation = simulation
        columns = simulation.columns
        N = simulation.network.n_layers
        self.traces = ColumnDataSource({c: np.zeros(0) for c in columns}, name="traces")
        self.progress = ColumnDataSource({c: np.zeros(0) for c in PROGRESS_COLUMNS},
                                         name="progress")
        self.whole_run = ColumnDataSource(simulation.whole_run.table(), name="whole_run")
        self.events = ColumnDataSource(simulation.events.table(), name="events")
        self._events_sent = simulation.events.count
        self.sent = self.acknowledged = 0  # traces updates sent, and drawn by the page
        self._drawing_time = self._last_sent = 0.0  # seconds the page takes to draw an update
        self._timer = None  # sends what is held once the interval is over
        self._held = self._held_progress = None  # rows waiting for the page to catch up
        self._whole_run_due = False
        self._whole_run_sent = (simulation.whole_run, simulation.whole_run.merges)
        self._hints = []  # the "press Play" labels, hidden once data arrive
        self._placeholder = ColumnDataSource(PLACEHOLDER)
        self._placeholders = {}  # a figure's id: its invisible placeholder renderer
        self.figures = {
            "whole_run": self._whole_run(N),
            "apical": self._apical(columns),
            "apical_sq": self._apical_sq(),
            "output": self._pairs(columns, f"u_P{N}", "u_target",
                                  "Output u_N (solid) and target (dashed)"),
            "interneurons": self._pairs(columns, "u_I1", "u_P2",
                                        "Interneurons u_I,1 (solid) mimic u_P,2 (dashed)"),
            "alignment": self._alignment(),
            "learning": self._learning(),
            "forward_change": self._forward_change(),
        }
        self._acknowledge_in_page()

    # ---- data ------------------------------------------------------------------------------
    def push(self, frame):
        """Send the new rows of a :class:`live.Frame` (only the new rows travel), or hold
        them while the page is :data:`MAX_IN_FLIGHT` updates behind (see the module docstring).
        A frame with progress rows also sends the whole-run record; new events leave at once.

        Returns
        -------
        bool
            Whether the traces left (or there were none to send).
        """
        if len(frame.traces["time"]):
            self._held = decimate(_joined(self._held, frame.traces), MAX_MERGED_ROWS)
        if frame.progress is not None:
            self._held_progress = _joined(self._held_progress, frame.progress)
            self._whole_run_due = True
        self.show_events()
        return self._send_held()

    def _send_held(self):
        if self._held is None and self._held_progress is None:
            return True
        if self.acknowledged:  # a page that acknowledges is paced by its acknowledgements
            if self.sent - self.acknowledged >= MAX_IN_FLIGHT:
                return False
            wait = self.next_send_due() - time.monotonic()
            if wait > 0 and self._send_later(wait):
                return False
        if self._held is not None:
            self.sent += 1
            self._last_sent = time.monotonic()
            self.traces.stream(self._held, rollover=TRACE_ROLLOVER)
            self._hide_hints()
        if self._held_progress is not None:
            self.progress.stream(self._held_progress, rollover=PROGRESS_ROLLOVER)
        if self._whole_run_due:
            self._send_whole_run()
        self._held = self._held_progress = None
        return True

    def next_send_due(self):
        """When (``time.monotonic()``) the page may get its next traces update: the previous one
        left plus the page's drawing time divided by :data:`RENDER_SHARE`."""
        return self._last_sent + self._drawing_time / RENDER_SHARE

    def _send_later(self, wait):
        """Send what is held in ``wait`` seconds, also when no tick comes by then (paused, or the
        last piece of a Step). Only a served page has a timer: elsewhere (a notebook) nothing
        waits for the interval, and returns False."""
        document = self.traces.document
        if document is None or document.session_context is None:
            return False
        if self._timer is None:
            self._timer = document.add_timeout_callback(self._send_due, int(wait * 1000) + 1)
        return True

    def _send_due(self):
        self._timer = None
        self._send_held()

    def _send_whole_run(self):
        """Only what changed: the last bin sent (it may have grown) and the new ones; all bins
        after a merge (which changes the old ones) or a new record."""
        record = self.simulation.whole_run
        table = record.table()
        rows = len(table["time"])
        sent = len(self.whole_run.data["time"])
        if (record, record.merges) != self._whole_run_sent or rows < sent:
            self.whole_run.data = table
        elif rows:
            if sent:
                self.whole_run.patch({c: [(sent - 1, v[sent - 1])] for c, v in table.items()})
            if rows > sent:
                self.whole_run.stream({c: v[sent:] for c, v in table.items()})
        self._whole_run_sent = (record, record.merges)
        self._whole_run_due = False

    def show_events(self):
        """Send the run's events that the page has not got yet."""
        log = self.simulation.events
        if log.count != self._events_sent:
            self.events.stream(log.table(log.since(self._events_sent)), rollover=MAX_EVENTS)
            self._events_sent = log.count

    def _hide_hints(self):
        if not self._hints:
            return
        for hint in self._hints:
            hint.visible = False
        self._hints = []
        self._placeholder.data = {column: [] for column in PLACEHOLDER}  # the data set the axes

    def _acknowledge_in_page(self):
        # the page counts the updates it has drawn into the source's tags, with the seconds the
        # last one took; Bokeh sends them back (a page that shows no trace plot has no source,
        # receives and counts nothing). Bokeh repaints in the next animation frame: the frame
        # after it has been drawn.
        self.traces.tags = [0, 0.0]
        self.traces.js_on_change("streaming", CustomJS(args=dict(source=self.traces), code=(
            "const start = performance.now();"
            " requestAnimationFrame(() => requestAnimationFrame(() => {"
            " source.tags = [(source.tags.length ? source.tags[0] : 0) + 1,"
            " (performance.now() - start) / 1000] }))")))
        self.traces.on_change("tags", self._acknowledge)

    def _acknowledge(self, attr, old, new):
        if new and isinstance(new[0], (int, float)):
            self.acknowledged = min(int(new[0]), self.sent)
            if len(new) > 1 and isinstance(new[1], (int, float)) and new[1] >= 0:
                # a page that got slower is believed at once, one that got faster gradually; a
                # page claiming more than MAX_DRAWING_TIME_S (a broken client) still gets updates
                drawn = min(float(new[1]), MAX_DRAWING_TIME_S)
                self._drawing_time = max(drawn, 0.7 * self._drawing_time + 0.3 * drawn)
            self._send_held()  # what waited for the page (e.g. the last rows before a pause)

    # ---- figures ---------------------------------------------------------------------------
    def _figure(self, title, x_label, y_label, *, x="time", height=HEIGHT, **options):
        """A figure with a "press Play" hint and the run's events marked along its x axis
        (``x``: ``"time"`` or ``"patterns"``)."""
        fig = _figure(title, x_label, y_label, height=height, **options)
        hint = Label(x=12, y=height / 2 - 30, x_units="screen", y_units="screen", text=HINT,
                     text_color="#777777", text_font_size="10pt")
        fig.add_layout(hint)
        self._hints.append(hint)
        fig.vspan(x=x, source=self.events, line_color=EVENT_COLOR, line_width=1.5,
                  line_dash="dotted")
        fig.add_layout(LabelSet(x=x, y=4, y_units="screen", text="label", source=self.events,
                                text_font_size="8pt", text_color=EVENT_COLOR, x_offset=3))
        y = "log" if options.get("y_axis_type") == "log" else "linear"
        self._placeholders[fig.id] = fig.scatter(x, y, source=self._placeholder, visible=False)
        return fig

    def _auto_range_over(self, fig, renderers):
        """Fit the axes to the data of ``renderers`` (and the placeholder before there is data),
        not to event marks far behind; in the page only (the server never reads them)."""
        renderers = list(renderers) + [self._placeholders[fig.id]]
        ranges = [fig.x_range] + ([] if isinstance(fig.y_range, Range1d) else [fig.y_range])
        for data_range in ranges:
            data_range.renderers = renderers
            # the page fits them on every update; sent back (~26 messages a second from ten
            # playing pages), they queued in front of clicks and acknowledgements (~4 s)
            data_range.syncable = False

    def _whole_run(self, n_layers):
        fig = self._figure("Whole run: error signals, bin mean and largest sample",
                           "time (ms)", "mean squared potential", height=STORY_HEIGHT,
                           y_axis_type="log")
        renderers = []
        for i, (column, doc) in enumerate(whole_run_columns(n_layers).items()):
            if column == "output_error":
                label, color = "output (u_trgt − u_N)², while nudging", "#555555"
            else:
                label, color = f"apical v_A² of layer {column[len('apical_sq'):]}", \
                    ["#d62728", "#ff7f0e", "#8c564b", "#e377c2"][i % 4]
            renderers.append(fig.line("time", column, source=self.whole_run, color=color,
                                      line_width=2.5, legend_label=label))
            # up to the bin's largest sample: a brief error stays visible in a long bin
            renderers.append(fig.varea("time", column, f"{column}_max", source=self.whole_run,
                                       fill_color=color, fill_alpha=0.2, legend_label=label))
        self._auto_range_over(fig, renderers)
        fig.add_tools(HoverTool(renderers=renderers[:1], tooltips=[
            ("time (ms)", "@time{0,0}"), *[(c, f"@{{{c}}}") for c in whole_run_columns(n_layers)]]))
        _legend_above(fig)
        return fig

    def _apical(self, columns):
        fig = self._figure("Last seconds: apical potentials v_A, layer 1",
                           "time (ms)", "v_A")
        self._auto_range_over(fig, [
            fig.line("time", column, source=self.traces, color=Category10_10[i], line_width=1.5)
            for i, column in enumerate(_neurons(columns, "v_A1"))])
        return fig

    def _apical_sq(self):
        fig = self._figure("Last seconds: mean v_A², all hidden layers", "time (ms)",
                           "mean v_A^2", y_axis_type="log")
        self._auto_range_over(fig, [fig.line("time", "apical_sq", source=self.traces,
                                             color="#d62728", line_width=2)])
        return fig

    def _pairs(self, columns, solid, dashed, title):
        fig = self._figure(title, "time (ms)", "potential u")
        renderers = []
        for i, (a, b) in enumerate(zip(_neurons(columns, solid), _neurons(columns, dashed))):
            renderers.append(fig.line("time", a, source=self.traces, color=Category10_10[i],
                                      line_width=1.5))
            renderers.append(fig.line("time", b, source=self.traces, color=Category10_10[i],
                                      line_dash="dashed", line_width=1.5))
        self._auto_range_over(fig, renderers)
        return fig

    def _alignment(self):
        fig = self._figure("Weight alignment", "time (ms)", "cosine similarity",
                           y_range=Range1d(-1.05, 1.05))
        fig.extra_y_ranges = {"angle": Range1d(0, 180)}
        fig.add_layout(LinearAxis(y_range_name="angle", axis_label="angle (degrees)"), "right")
        lines = [("cos_PI_vs_top_down", "#1f77b4", "cos(W_PI, −W_down)", "default"),
                 ("cos_IP_vs_self_predicting", "#ff7f0e", "cos(W_IP, self-predicting)",
                  "default"),
                 ("forward_feedback_angle", "#2ca02c", "forward–feedback angle (right axis)",
                  "angle")]
        self._auto_range_over(fig, [
            fig.line("time", column, source=self.progress, color=color, line_width=2,
                     legend_label=label, y_range_name=y_range)
            for column, color, label, y_range in lines])
        _legend_above(fig)
        return fig

    def _learning(self):
        fig = self._figure("Learning curve: test error on unseen patterns", "patterns seen",
                           "mean |r_N - r_trgt|^2", x="patterns", y_axis_type="log")
        lines = [("test_error", "#9467bd", "solid", "microcircuit"),
                 ("baseline_error", "gray", "dashed", "backprop MLP"),
                 ("shallow_error", "#bcbd22", "dotdash", "shallow (output weights only)")]
        renderers = [fig.line("patterns", column, source=self.progress, color=color,
                              line_width=2, line_dash=dash, legend_label=label)
                     for column, color, dash, label in lines]
        self._auto_range_over(fig, renderers)
        fig.add_tools(HoverTool(renderers=renderers[:1], tooltips=[
            ("patterns", "@patterns"), ("microcircuit", "@test_error"),
            ("backprop", "@baseline_error"), ("shallow", "@shallow_error")]))
        _legend_above(fig)
        return fig

    def _forward_change(self):
        fig = self._figure("W^PP_{1,0} learns: change since the start",
                           "time (ms)", "||W - W(0)|| / ||W(0)||")
        self._auto_range_over(fig, [fig.line("time", "forward_change", source=self.progress,
                                             color="#1f77b4", line_width=2)])
        return fig
