"""Session lifecycle under ``panel serve``: a closed session stops its loop and frees its App.

A real server (``--check-unused-sessions 1000 --unused-session-lifetime 1000``: a session whose
websocket closed is destroyed 1-2 s later instead of bokeh's default 15-32 s) and a real websocket
client (``bokeh.client.pull_session``). The server is another process, so what happens in it is
observed from outside: its CPU time in /proc (playing costs a large share of a core, a server
without sessions next to nothing), and its debug log, where bokeh names each session it discards
and reports any session-destroyed hook that failed (the App's ``_session_destroyed``, which stops
leaves the play loop and drops the simulation, is one).
"""

import asyncio
import importlib
import os
import pkgutil
import time

import pytest

pytest.importorskip("panel")
import panel.models  # noqa: E402
from bokeh.client import pull_session  # noqa: E402
from bokeh.document.events import MessageSentEvent  # noqa: E402
from bokeh.events import DocumentReady  # noqa: E402
from bokeh.models import ColumnDataSource, Toggle  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

from conftest import start_server, stop_server  # noqa: E402

for _module in pkgutil.iter_modules(panel.models.__path__):  # the page's Panel models
    importlib.import_module(f"panel.models.{_module.name}")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BUSY_PERCENT = 15.0
"""Server CPU (% of one core) that shows the session is playing: a tick simulates 60 ms of each
100 ms, ~60 % on an idle machine, less when other jobs share the cores."""
IDLE_PERCENT = 5.0
"""Server CPU below which it is idle (measured: ~0-1 % with no session)."""


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _cpu_percent(pid, seconds):
    before, start = _cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return 100 * (_cpu_seconds(pid) - before) / (time.perf_counter() - start)


@pytest.fixture(scope="module")
def short_lived_server(tmp_path_factory):
    """``panel serve app/`` destroying closed sessions after ~1 s; yields (url, process, log)."""
    log = tmp_path_factory.mktemp("server") / "panel.log"
    with open(log, "w") as out:
        server, url = start_server(
            "--check-unused-sessions", "1000", "--unused-session-lifetime", "1000",
            "--log-level", "debug", output=out,
            env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    yield url, server, log
    server.terminate()
    server.wait(timeout=30)


def _open(url, loop):
    """A session of the app, once its page is built (the server builds the App after the page
    has loaded: ``app/main.py``'s ``serve``)."""
    session = pull_session(url=url, io_loop=loop)
    doc = session.document
    # what BokehJS sends once the page has rendered: Panel runs a session's onload callbacks
    # only after it
    doc.callbacks.trigger_on_change(MessageSentEvent(doc, "bokeh_event", DocumentReady()))

    async def built():  # the plots come last
        while _play_button(session) is None or _traces(session) is None:
            if not await _receive(session, 1.0) and time.perf_counter() > deadline:
                raise AssertionError("the page was not built within 60 s")

    deadline = time.perf_counter() + 60
    loop.run_sync(built)
    return session


async def _receive(session, seconds):
    """The events of the PATCH-DOC messages ``session`` receives within ``seconds``."""
    events = []
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        # a read cut short would lose the rest of a message of several fragments (bokeh's
        # receiver then fails on the next one): one that is still waiting is kept for next time
        reading = getattr(session, "reading", None) or asyncio.ensure_future(
            session._connection._pop_message())
        session.reading = reading
        done, _ = await asyncio.wait({reading}, timeout=left)
        if not done:
            break
        session.reading = None
        message = reading.result()
        if message is None:
            break
        if message.msgtype == "PATCH-DOC":
            session._handle_patch(message)
            events.extend(message.content["events"])
    return events


def _traces(session):
    return session.document.select_one({"type": ColumnDataSource, "name": "traces"})


def _play_button(session):
    return next((m for m in session.document.select({"type": Toggle}) if m.label == "▶ Play"),
                None)


def _press_play(session):
    _play_button(session).active = True


def _play(url, loop, seconds):
    """Open a session, press Play, receive for ``seconds``; return (session, traces updates)."""
    session = _open(url, loop)
    traces = _traces(session)

    async def receive():
        _press_play(session)
        return await _receive(session, seconds)

    events = loop.run_sync(receive)
    return session, [event for event in events if event["kind"] == "ColumnsStreamed"
                     and event["model"]["id"] == traces.id]


def test_closing_a_session_stops_its_play_loop_and_destroys_its_app(short_lived_server):
    url, server, log = short_lived_server
    loop = IOLoop()
    try:
        session, updates = _play(url, loop, seconds=4.0)
        assert len(updates) >= 5, "Play streamed (almost) no traces"
        playing = _cpu_percent(server.pid, 2.0)
        assert playing > BUSY_PERCENT, f"server at {playing:.0f} % of a core while playing"

        session.close()
        loop.run_sync(lambda: asyncio.sleep(0.2))  # let the close frame leave
        closed = time.monotonic()
        readings = []
        while time.monotonic() - closed < 25:
            readings.append(_cpu_percent(server.pid, 1.0))
            if len(readings) >= 3 and max(readings[-3:]) < IDLE_PERCENT:
                break
        else:
            pytest.fail(f"server still busy 25 s after the session closed (CPU % per second: "
                        f"{[round(r) for r in readings]})")
    finally:
        loop.close(all_fds=True)
    text = log.read_text()
    assert f"Discarding session {session.id!r}" in text
    assert "Failed to run session destroy hooks" not in text
    assert "Traceback" not in text


def test_one_session_playing_sends_nothing_to_another(short_lived_server):
    """Regression: the template's busy spinner is process-wide in Panel (one shared indicator,
    synced with ``pn.state.busy``), so every tick of any session flipped it in every open page --
    work and messages growing as N^2, which froze a 30-session server."""
    url, _, _ = short_lived_server
    loop = IOLoop()
    try:
        idle, playing = _open(url, loop), _open(url, loop)

        async def exchange():
            await asyncio.gather(_receive(idle, 1.0), _receive(playing, 1.0))  # connect both
            _press_play(playing)
            return await asyncio.gather(_receive(idle, 3.0), _receive(playing, 3.0))

        to_idle, to_playing = loop.run_sync(exchange)
        assert any(event["kind"] == "ColumnsStreamed" for event in to_playing)
        assert to_idle == [], f"the idle session received {len(to_idle)} events, e.g. {to_idle[:2]}"
        idle.close()
        playing.close()
        loop.run_sync(lambda: asyncio.sleep(0.2))
    finally:
        loop.close(all_fds=True)


def test_no_click_waits_for_the_kernel_to_compile(tmp_path):
    """With an empty numba cache (the first start after an install) the server compiles the
    kernel in a thread while the tabs simulate on the NumPy path: a click is answered, and the
    status lines go on saying that the compilation is still running."""
    pytest.importorskip("numba")
    server, url = start_server(env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path),
                                        OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    loop = IOLoop()
    try:
        first = _open(url, loop)  # building its page starts the compilation
        second = _open(url, loop)
        nudge = next(m for m in second.document.select({"type": Toggle})
                     if m.label.startswith("Nudging off"))

        async def click_while_playing():
            _press_play(first)
            _press_play(second)
            await _receive(second, 1.0)
            nudge.active = True
            answered, compiling_after = False, []
            deadline = time.perf_counter() + 60
            while time.perf_counter() < deadline and not compiling_after:
                for event in await _receive(second, 0.5):
                    new = event.get("new")
                    if not isinstance(new, str):
                        continue
                    if event.get("attr") == "label" and new.startswith("Nudging on"):
                        answered = True
                    elif answered and "ms simulated per second" in new:
                        compiling_after.append("compiling the fast simulator" in new)
            return answered, compiling_after

        answered, compiling_after = loop.run_sync(click_while_playing)
        assert answered, "the click was not answered within 60 s"
        assert compiling_after == [True], "the click was answered only after the compilation"
        first.close()
        second.close()
        loop.run_sync(lambda: asyncio.sleep(0.2))
    finally:
        loop.close(all_fds=True)
        stop_server(server)
