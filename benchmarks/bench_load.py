"""Classroom load: N concurrent real sessions of ``panel serve app/``, all playing (issue 6).

Starts ``panel serve app/`` itself on 127.0.0.1 (a free port, ``--check-unused-sessions 1000
--unused-session-lifetime 1000`` so closed sessions are destroyed ~1-2 s after their websocket
closes instead of bokeh's default ~15-32 s; ``--num-procs`` passed through), then for each N of
``--sessions`` opens N websocket sessions with bokeh's client (``bokeh.client.pull_session``),
gives each its own seed through the page's Seed widget, presses Play in each, and keeps them
playing for ``--seconds``. Then it closes them and watches the server go idle (session lifecycle).

    python benchmarks/bench_load.py [--sessions 1 10 30] [--seconds 20] [--num-procs 2]

How the clients run: all sessions live in this one process, on one tornado/asyncio loop in the
main thread. ``pull_session`` is synchronous (it runs the loop until the document has arrived), so
sessions are pulled one after the other first; afterwards each session gets a flat reader
coroutine that awaits its websocket messages and applies each PATCH-DOC to its client document
(bokeh's own reader chains one ``await`` per message and stops whenever its loop is stopped, so it
is not used for the measured phase). Each client also sends the ``document_ready`` event BokehJS
sends once a page has rendered: Panel runs a session's onload hooks only after it. Every
change the benchmark makes to a client document (Seed,
Play, Nudging) is made on that loop and sent by bokeh's client as a PATCH-DOC, as a browser would.
One client process is what the 2-core machine can afford (a subprocess per client would cost
~80 MB and an interpreter each); its CPU is reported too: near 100 % the client itself would be
the bottleneck and receive times would include its queue.

What is reported per N (``server`` = the ``panel serve`` process and, with ``--num-procs``, its
worker processes):

* CPU: server CPU time during the measured window / wall time, in % of one core.
* RSS: resident memory of the server processes (MB) before the sessions open, at the end of the
  window, after the closed sessions were destroyed (idle: below 5 % of a core for 3 s, or 60 s),
  and one minute after closing them. ``--server-env PYTHONMALLOC=malloc`` (and the like) runs the
  server alone under another allocator, to compare what each gives back.
* speed: per session, simulated ms per wall second = how far the last time value of its "traces"
  source advanced during the window / window length (median, min, max over sessions), and plot
  updates per second (traces streams received); ``gap``: the longest wait between two traces
  updates of one session (a frozen session shows as a gap as long as the window).
* errors: exceptions, disconnects, any "Paused:" text sent by the server, any NaN or inf in a
  session's traces, Traceback/ERROR lines in the server log.
* isolation: session i plays seed ``1000 + i``. Each session's first progress row (test error at
  t = 0) and its first streamed trace sample must equal, to 1e-9, those of a local
  ``LiveSimulation(scenario, seed=1000 + i)`` advanced to the same time, and must differ from the
  other sessions' (the dynamics are deterministic and independent of how the run is cut into
  ticks, see live). A session showing another's state fails this check.
* UI latency, after all sessions have played for a third of the window, each session clicks
  Nudging (sets ``active = True`` on the nudging Toggle model of its client document), the clicks
  spread evenly over 5 s. From that moment (the PATCH-DOC leaves on the next loop iteration):

  - ``ack``: until this client receives the first server message that reflects the change: the
    PATCH-DOC relabelling that button "Nudging on: ...". The server sends it from the same param
    event that sets ``network.nudging``, i.e. once it has applied the change to the simulation.
  - ``data``: until this client receives the first "traces" stream after that ack. Server messages
    of a session arrive in order and the server handles a session's messages and ticks one at a
    time, so every row of that stream was simulated with the target on: it is the first plot
    update whose values reflect the click.
  - ``status``: until the status line reads "nudging on" (redrawn once a second, and by the first
    tick after a change).

  p50 and p95 over the sessions. The issue's target at N = 30: no error, no session sees
  another's state, latency (data) p95 < 1 s, and each simulation slows down instead of freezing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import panel.models  # noqa: E402
from bokeh.client import pull_session  # noqa: E402
from bokeh.document.events import MessageSentEvent  # noqa: E402
from bokeh.events import DocumentReady  # noqa: E402
from bokeh.models import ColumnDataSource, Toggle  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

for _module in pkgutil.iter_modules(panel.models.__path__):  # Panel's Bokeh models, which the
    importlib.import_module(f"panel.models.{_module.name}")  # page uses, must be known here

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))  # the dashboard's modules, as `panel serve app/` runs them
from live import LiveSimulation  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PLAY = "▶ Play"
NUDGING_OFF = "Nudging off (click: show the target)"
NUDGING_ON = "Nudging on"
SEED0 = 1000
IDLE_PERCENT = 5.0


# ---- the server and its processes ------------------------------------------------------------
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ..., utime, stime),
    or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(pid):
    """``pid`` and its descendants (from the parent ids in /proc/*/stat)."""
    parents = {}
    for entry in os.listdir("/proc"):
        fields = stat_fields(entry) if entry.isdigit() else None
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(parents.get(p, []))
    return tree


def cpu_seconds(pids):
    """User + system CPU time of ``pids`` (seconds), from /proc/<pid>/stat."""
    total = 0.0
    for fields in map(stat_fields, pids):
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_BYTES
        except OSError:
            continue
    return total / 2**20


def parse_env(assignments):
    """``["NAME=VALUE", ...]`` as a dict, refusing anything without a name and an ``=``."""
    env = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise SystemExit(f"--server-env takes NAME=VALUE, got {assignment!r}")
        env[name] = value
    return env


MINUTE_S = 60.0
"""RSS is read again this long after the sessions were closed."""


class Server:
    """``panel serve app/`` on a free port of 127.0.0.1, its log in a temporary file."""

    def __init__(self, num_procs=1, check_ms=1000, lifetime_ms=1000, extra_env=(), root=ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench_load_", suffix=".log")
        command = [sys.executable, "-m", "panel", "serve", "app/", "--port", str(self.port),
                   "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}",
                   "--check-unused-sessions", str(check_ms),
                   "--unused-session-lifetime", str(lifetime_ms)]
        if num_procs > 1:
            command += ["--num-procs", str(num_procs)]
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        env.update(extra_env)
        self.process = subprocess.Popen(command, cwd=root, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=30):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("panel serve app/ did not answer:\n" + self.log_text())
                time.sleep(0.5)

    def pids(self):
        return process_tree(self.process.pid)

    def cpu(self):
        return cpu_seconds(self.pids())

    def rss(self):
        return rss_mb(self.pids())

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def log_errors(self):
        return [line for line in self.log_text().splitlines()
                if "Traceback" in line or "ERROR" in line or "Exception" in line]

    def stop(self):
        # with --num-procs the workers outlive a terminated parent: stop the whole tree
        workers = [pid for pid in self.pids() if pid != self.process.pid]
        self.process.terminate()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def cpu_percent(server, seconds):
    before, start = server.cpu(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 100 * (server.cpu() - before) / (time.perf_counter() - start)


async def wait_idle(server, timeout=60.0, calm=3):
    """Seconds until the server used < IDLE_PERCENT of a core for ``calm`` seconds in a row
    (``None``: not within ``timeout``)."""
    start, quiet = time.perf_counter(), 0
    while time.perf_counter() - start < timeout:
        quiet = quiet + 1 if await cpu_percent(server, 1.0) < IDLE_PERCENT else 0
        if quiet >= calm:
            return time.perf_counter() - start - calm
    return None


# ---- one client session ----------------------------------------------------------------------
class Client:
    """One websocket session of the app and what it received."""

    def __init__(self, url, loop, index):
        self.index = index
        self.seed = SEED0 + index
        self.session = pull_session(url=url, io_loop=loop)
        self.doc = self.session.document
        # what BokehJS sends once the page is rendered: Panel runs the session's onload hooks
        # only then, and they build the App (app/main.py's serve)
        self.doc.callbacks.trigger_on_change(
            MessageSentEvent(self.doc, "bokeh_event", DocumentReady()))
        loop.run_sync(self._built, timeout=300)
        self.play = self._one(Toggle, lambda m: m.label == PLAY)
        self.nudge = self._one(Toggle, lambda m: m.label == NUDGING_OFF)
        self.seed_widget = next(m for m in self.doc.models
                                if getattr(m, "title", None) == "Seed" and hasattr(m, "value"))
        self.traces = self._traces()
        self.old_traces_id = self.traces.id
        self.errors, self.streams = [], []  # streams: (receive time, last simulated time, rows)
        self.first_row = self.first_progress = None
        self.clicked = self.ack = self.data = self.status = None
        self.closed = self.closing = False
        self.reader = None

    async def _built(self):
        """Apply the server's messages until the App's page is there."""
        connection = self.session._connection
        while (self._traces() is None  # the plots come last
               or not [m for m in self.doc.select({"type": Toggle}) if m.label == PLAY]):
            message = await connection._pop_message()
            if message is None:
                raise RuntimeError("the server closed the session before its page was built")
            if message.msgtype == "PATCH-DOC":
                self.session._handle_patch(message)

    def _one(self, kind, predicate):
        found = [m for m in self.doc.select({"type": kind}) if predicate(m)]
        if len(found) != 1:
            raise RuntimeError(f"expected one {kind.__name__}, found {len(found)}")
        return found[0]

    def _traces(self):
        sources = [m for m in self.doc.select({"type": ColumnDataSource, "name": "traces"})
                   if m.document is self.doc]
        return sources[-1] if sources else None

    async def read(self):
        connection = self.session._connection
        while True:
            try:
                message = await connection._pop_message()
            except Exception as error:  # noqa: BLE001
                self.errors.append(f"read: {error!r}")
                return
            now = time.perf_counter()
            if message is None:
                self.closed = True
                if not self.closing:
                    self.errors.append("disconnected by the server")
                return
            if message.msgtype != "PATCH-DOC":
                continue
            try:
                self.session._handle_patch(message)
                self._look(message.content.get("events", []), now)
            except Exception as error:  # noqa: BLE001
                self.errors.append(f"patch: {error!r}")

    def _look(self, events, now):
        for event in events:
            kind, model = event.get("kind"), event.get("model", {})
            model_id = model.get("id") if isinstance(model, dict) else None
            if kind == "ColumnsStreamed" and self.traces is not None and model_id == self.traces.id:
                time_column = np.asarray(self.traces.data["time"], dtype=float)
                if len(time_column):
                    rows = len(event["data"]["time"]) if "time" in event["data"] else 0
                    self.streams.append((now, time_column[-1], rows))
                    self._check_finite(rows)
                    if self.first_row is None:
                        self.first_row = {c: float(np.asarray(v, dtype=float)[0])
                                          for c, v in self.traces.data.items()}
                    if self.ack is not None and self.data is None:
                        self.data = now
            elif kind == "ModelChanged":
                new = event.get("new")
                if isinstance(new, str):
                    if "Paused:" in new:
                        self.errors.append(f"server paused the run: {new[:200]}")
                    if (model_id == self.nudge.id and event.get("attr") == "label"
                            and new.startswith(NUDGING_ON) and self.clicked and self.ack is None):
                        self.ack = now
                    if ("ms simulated per second" in new and "nudging on" in new
                            and self.clicked and self.status is None):
                        self.status = now

    def _check_finite(self, rows):
        for column, values in self.traces.data.items():
            tail = np.asarray(values[-rows:] if rows else values, dtype=float)
            if not np.all(np.isfinite(tail)):
                self.errors.append(f"non-finite values in traces column {column}")
                break

    def new_traces(self):
        """The "traces" source of the rebuilt simulation, once the server has sent it."""
        sources = [m for m in self.doc.select({"type": ColumnDataSource, "name": "traces"})
                   if m.document is self.doc and m.id != self.old_traces_id]
        return sources[0] if len(sources) == 1 else None

    def first_progress_row(self):
        progress = [m for m in self.doc.select({"type": ColumnDataSource, "name": "progress"})]
        for source in progress:
            if source.document is self.doc and len(source.data.get("time", [])):
                return {c: float(np.asarray(v, dtype=float)[0]) for c, v in source.data.items()}
        return None


def reference(scenario, seed, first_time):
    """The first progress row and the trace sample at ``first_time`` of a local run."""
    simulation = LiveSimulation(scenario, seed=seed)
    progress = {c: float(v[0]) for c, v in simulation.measure().items()}
    steps = int(round(first_time / simulation.network.params.dt))
    if not 0 < steps <= simulation.steps_per_pattern():
        return progress, None
    frame = simulation.advance(steps, samples=1, measure=False)
    return progress, {c: float(v[-1]) for c, v in frame.traces.items()}


def close_enough(a, b):
    return all(np.isclose(a[c], b[c], rtol=1e-9, atol=1e-12) for c in b)


# ---- one round of N sessions -----------------------------------------------------------------
async def wait_for(condition, timeout, what):
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def play_round(server, clients, seconds, scenario):
    for client in clients:
        client.reader = asyncio.ensure_future(client.read())
    # each session its own seed (rebuilds its simulation and plots on the server)
    for client in clients:
        client.seed_widget.value = str(client.seed)  # a text field, parsed by the server
    await wait_for(lambda: all(c.new_traces() is not None for c in clients), 120, "new seeds")
    try:  # the row at t = 0 may come in a later message than the new plots
        await wait_for(lambda: all(c.first_progress_row() for c in clients), 10, "")
    except RuntimeError:
        pass
    for client in clients:
        client.traces = client.new_traces()
        client.first_progress = client.first_progress_row()
        client.play.active = True
    await wait_for(lambda: all(c.streams or c.errors or c.closed for c in clients), 120,
                   "the first traces of every session")
    await asyncio.sleep(2.0)  # settle

    start, cpu_start, client_start = time.perf_counter(), server.cpu(), sum(os.times()[:2])
    clicks_at = seconds / 3
    for i, client in enumerate(clients):
        delay = clicks_at + 5.0 * i / len(clients) - (time.perf_counter() - start)
        await asyncio.sleep(max(0.0, delay))
        client.clicked = time.perf_counter()
        client.nudge.active = True
    await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - start)))
    end = time.perf_counter()
    cpu = 100 * (server.cpu() - cpu_start) / (end - start)
    client_cpu = 100 * (sum(os.times()[:2]) - client_start) / (end - start)
    rss = server.rss()
    return start, end, cpu, client_cpu, rss


def summarize(clients, start, end, scenario):
    speeds, rates, gaps = [], [], []
    for client in clients:
        inside = [(t, sim) for t, sim, _ in client.streams if start <= t <= end]
        before = [(t, sim) for t, sim, _ in client.streams if t < start]
        if before and inside:
            speeds.append((inside[-1][1] - before[-1][1]) / (end - start))
        else:
            speeds.append(0.0)
        rates.append(len(inside) / (end - start))
        times = [start] + [t for t, _ in inside] + [end]
        gaps.append(max(np.diff(times)))
    latency = {name: [getattr(c, name) - c.clicked for c in clients
                      if getattr(c, name) is not None] for name in ("ack", "data", "status")}
    missing = {name: len(clients) - len(values) for name, values in latency.items()}

    # isolation: every session's data is that of its own seed, and differs from the others'
    isolation = []
    for client in clients:
        if client.first_progress is None or client.first_row is None:
            isolation.append(f"session {client.index}: no data to check (progress row "
                             f"{client.first_progress is not None}, trace sample "
                             f"{client.first_row is not None})")
            continue
        progress, row = reference(scenario, client.seed, client.first_row["time"])
        if not close_enough(client.first_progress, progress):
            isolation.append(f"session {client.index}: progress row is not seed {client.seed}'s")
        if row is not None and not close_enough(client.first_row, row):
            isolation.append(f"session {client.index}: first trace sample is not seed "
                             f"{client.seed}'s")
    signatures = [round(c.first_progress["test_error"], 12) for c in clients if c.first_progress]
    if len(set(signatures)) != len(signatures):
        isolation.append("two sessions show the same test error at t = 0")
    return dict(speeds=np.array(speeds), rates=np.array(rates), gaps=np.array(gaps),
                latency={k: np.array(v) for k, v in latency.items()}, missing=missing,
                isolation=isolation)


def percentiles(values):
    if not len(values):
        return "   n/a  /   n/a "
    return f"{np.percentile(values, 50):6.3f} / {np.percentile(values, 95):6.3f}"


def run_n(server, loop, n, args):
    rss_before = server.rss()
    opened = time.perf_counter()
    clients = [Client(server.url, loop, i) for i in range(n)]
    open_s = time.perf_counter() - opened

    async def measure():
        start, end, cpu, client_cpu, rss = await play_round(server, clients, args.seconds,
                                                            args.scenario)
        for client in clients:
            client.closing = True
            client.session.close()
        closed_at = time.perf_counter()
        await asyncio.gather(*[c.reader for c in clients])
        idle_after = await wait_idle(server, timeout=60)
        await asyncio.sleep(2.0)
        rss_after = server.rss()
        after_s = time.perf_counter() - closed_at
        # the criterion: memory near baseline within a minute of closing
        await asyncio.sleep(max(0.0, MINUTE_S - (time.perf_counter() - closed_at)))
        rss_minute = server.rss()
        return start, end, cpu, rss, client_cpu, idle_after, rss_after, after_s, rss_minute

    start, end, cpu, rss, client_cpu, idle_after, rss_after, after_s, rss_minute = \
        loop.run_sync(measure)
    summary = summarize(clients, start, end, args.scenario)
    errors = [f"session {c.index}: {e}" for c in clients for e in c.errors]
    return dict(n=n, open_s=open_s, cpu=cpu, rss_before=rss_before, rss=rss,
                rss_after=rss_after, idle_after=idle_after, after_s=after_s,
                rss_minute=rss_minute,
                client_cpu=client_cpu, errors=errors, **summary)


def report(result, num_procs):
    r = result
    s = r["speeds"]
    lat = r["latency"]
    print(f"\n== N = {r['n']} sessions, --num-procs {num_procs} "
          f"(opened in {r['open_s']:.1f} s) ==")
    print(f"server CPU {r['cpu']:.0f} % of one core   client CPU {r['client_cpu']:.0f} %")
    idle = "never" if r["idle_after"] is None else f"{r['idle_after']:.1f} s"
    print(f"server RSS {r['rss_before']:.0f} MB before, {r['rss']:.0f} MB with the sessions, "
          f"{r['rss_after']:.0f} MB {r['after_s']:.0f} s after closing them "
          f"(idle after {idle}), {r['rss_minute']:.0f} MB {MINUTE_S:.0f} s after closing")
    print(f"simulated ms per wall s per session: median {np.median(s):.0f}, min {s.min():.0f}, "
          f"max {s.max():.0f} (sum {s.sum():.0f}); plot updates/s per session: median "
          f"{np.median(r['rates']):.1f}, min {r['rates'].min():.1f}; longest gap between "
          f"updates {r['gaps'].max():.2f} s")
    for name in ("ack", "data", "status"):
        missing = f" ({r['missing'][name]} sessions never got it)" if r["missing"][name] else ""
        print(f"latency {name:6s} p50 / p95: {percentiles(lat[name])} s{missing}")
    print(f"isolation: {'OK' if not r['isolation'] else '; '.join(r['isolation'][:5])}")
    print(f"errors: {len(r['errors'])}" + "".join(f"\n  {e}" for e in r["errors"][:10]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--num-procs", type=int, default=1)
    parser.add_argument("--scenario", default="fig1", help="the app's default scenario")
    parser.add_argument("--log", type=Path, help="copy the server's log to this file")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="set an environment variable for the server only (repeatable), "
                             "e.g. PYTHONMALLOC=malloc to compare allocators")
    args = parser.parse_args()
    if args.scenario != "fig1":
        parser.error("the clients keep the page's default scenario, fig1")

    server = Server(num_procs=args.num_procs, extra_env=parse_env(args.server_env))
    print(f"panel serve app/ --num-procs {args.num_procs} at {server.url}, pids {server.pids()}")
    loop = IOLoop()
    try:
        # warm-up: load the compiled kernel in every worker, then let the server settle
        warm = [Client(server.url, loop, i) for i in range(2 * args.num_procs)]

        async def warm_up():
            for client in warm:
                client.reader = asyncio.ensure_future(client.read())
                client.play.active = True
            await asyncio.sleep(5.0)
            for client in warm:
                client.closing = True
                client.session.close()
            await asyncio.gather(*[c.reader for c in warm])
            return await wait_idle(server)

        loop.run_sync(warm_up)
        for n in args.sessions:
            report(run_n(server, loop, n, args), args.num_procs)
        errors = server.log_errors()
        print(f"\nserver log: {len(errors)} error lines" + "".join(f"\n  {e}" for e in errors[:10]))
    finally:
        server.stop()
        if args.log:
            args.log.write_text(server.log_text())
        loop.close(all_fds=True)


if __name__ == "__main__":
    main()
