"""The play loop shared by the dashboard sessions of one server process.

``main.py`` runs once per browser session, but this module is imported once per process, so its
state is the process's. Under ``panel serve`` all sessions of a process share one event loop, and
that loop must stay free to answer clicks however many sessions play. So the sessions do not each
run a periodic callback; one conductor coroutine per process ticks them:

* **one tick at a time**, each scheduled through its session's document (its lock, ``curdoc``),
  so between two ticks the loop reads the websockets and runs whatever a click set off. A click's
  way through the server (websocket read, Panel's 50 ms debounce, the param callback, the reply)
  has several hops, and each waits for one tick at most instead of a tick of every session;
* **round robin**: the playing session whose last tick is oldest goes next, at most once per
  ``period``; a session the user just changed (:meth:`Conductor.touch`) goes first, so the first
  plot update that reflects a click follows it within a tick or two;
* **one simulation budget per period shared by the playing sessions** (:func:`share`): thirty
  students slow each other's simulations down instead of queueing behind each other;
* **on a machine short of CPU, the loop gives back what it waited for**: after a tick, no tick
  starts for :data:`GIVE_BACK` times as long as that one was kept from the CPU by other processes
  (its wall time minus the CPU time the server process spent meanwhile). The budgets are wall time,
  so without this the play loop would claim the same share of a starved machine as of an idle one:
  the browsers and other programs beside it would draw and answer ever more slowly, and clicks and
  the pages' acknowledgements would only get the gaps between back-to-back ticks. On a machine with
  CPU to spare, nothing changes.

Measured in ``benchmarks/bench_load.py``; the sessions' lifecycle in ``tests/test_sessions.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import gc
import logging
import threading
import time
import weakref

PERIOD_S = 0.1
"""A playing session is ticked at most this often (10 plot updates per second)."""
GIVE_BACK = 2.0
"""After a tick kept from the CPU for ``w`` seconds, no tick starts for ``GIVE_BACK * w`` (chosen
with benchmarks/bench_browser.py; see benchmarks/README.md)."""
TICK_TIMEOUT_S = 10.0
"""A tick that has not run after this long (its session went away) no longer holds the loop."""
RELEASE_AFTER_S = 2.0
"""Memory is handed back this long after the last of a wave of closed sessions."""

_log = logging.getLogger(__name__)


def count():
    """How many sessions of this process are playing."""
    return conductor.count()


def can_tick_later():
    """Whether an event loop runs here (a server's or a notebook kernel's), so that the play loop
    can continue a piece of work over its next ticks; in a plain script it cannot."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def share(budget, floor=0.0):
    """One playing session's part of a per-tick time ``budget`` (seconds), at least ``floor``."""
    return max(budget / max(1, count()), floor)


class Conductor:
    """Ticks the playing sessions of this process one at a time (see the module docstring).

    A session is any object with ``tick()`` and ``document`` (its Bokeh document, or ``None``
    outside a server). :meth:`play` and :meth:`pause` add and remove it; the conductor's task runs
    while some session plays and ends when none does.
    """

    def __init__(self, period=PERIOD_S):
        self.period = period
        # the playing sessions -> time of their last tick (weak: a session dropped without
        # pausing cannot leak here)
        self._last = weakref.WeakKeyDictionary()
        self._touched = weakref.WeakSet()
        self._lock = threading.Lock()  # play/pause may come from Panel's thread pool
        self._task = None
        self._wake = None

    def play(self, session):
        with self._lock:
            self._last.setdefault(session, 0.0)
        self._start()

    def pause(self, session):
        with self._lock:
            self._last.pop(session, None)
            self._touched.discard(session)

    def count(self):
        """How many sessions play."""
        return len(self._last)

    def close(self, session):
        """``session``'s tab closed: drop it, and soon give the memory of closed sessions back."""
        self.pause(session)
        release_memory_soon()

    def touch(self, session):
        """``session`` changed: tick it before the others (if it plays)."""
        with self._lock:
            if session in self._last:
                self._touched.add(session)
            if self._wake is not None:
                self._wake.set()

    def is_playing(self, session):
        return session in self._last

    def next_session(self, now):
        """The session to tick now and ``0``, or ``None`` and how long to wait for one."""
        with self._lock:
            sessions = list(self._last.items())
            touched = [s for s, _ in sessions if s in self._touched]
        if not sessions:
            return None, None
        if touched:
            return touched[0], 0.0
        session, last = min(sessions, key=lambda item: item[1])
        wait = last + self.period - now
        return (session, 0.0) if wait <= 0 else (None, wait)

    def _start(self):
        if self._task is not None and not self._task.done():
            return
        if not can_tick_later():
            return  # no event loop (a script or a test): whoever holds the session ticks it
        loop = asyncio.get_running_loop()  # the server's, or a notebook kernel's
        # in a context of its own: a task keeps the context it was created in (contextvars,
        # among them Panel's current document) as long as the task object lives, which would keep
        # the Bokeh document of the session that pressed Play first after its tab closed
        self._task = loop.create_task(self._run(), context=contextvars.Context())

    async def _run(self):
        self._wake = asyncio.Event()
        while self._last:
            session, wait = self.next_session(time.monotonic())
            if session is None:
                if wait is None:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            with self._lock:
                self._touched.discard(session)
                if session in self._last:  # not paused in the meantime (from another thread)
                    self._last[session] = time.monotonic()
            kept_waiting = await self._tick(session)
            if kept_waiting > 0:
                await asyncio.sleep(GIVE_BACK * kept_waiting)

    async def _tick(self, session):
        """Run ``session.tick()`` in its session's context and wait until it has run; returns the
        seconds it was kept from the CPU: its wall time minus the process's CPU time meanwhile
        (not counting the wait for its turn, when the loop was free)."""
        done = asyncio.get_running_loop().create_future()
        kept_waiting = [0.0]

        def tick():
            started, cpu_started = time.monotonic(), time.process_time()
            try:
                if self.is_playing(session):
                    session.tick()
            except Exception:  # one broken session must not stop the others' loop
                self.pause(session)
                _log.exception("the play loop paused a session whose tick failed")
            finally:
                kept_waiting[0] = ((time.monotonic() - started)
                                   - (time.process_time() - cpu_started))
                if not done.done():
                    done.set_result(None)

        if not await run_in_session(session.document, tick, done):
            self.pause(session)
        return kept_waiting[0]


async def run_in_session(document, work, done):
    """Run ``work()`` as a callback of ``document``'s session (its lock held, it the current
    document) and wait until it has set the future ``done``; ``document`` None (not served: a
    notebook) runs it here and lets the loop run what waits (a click) afterwards.

    Returns
    -------
    bool
        False when the session has closed or ``work`` did not run within
        :data:`TICK_TIMEOUT_S`.
    """
    if document is None:
        work()
        await asyncio.sleep(0)
        return True
    context = document.session_context
    if context is None or context.destroyed:  # the tab closed
        return False
    import panel as pn
    from panel.io.state import set_curdoc

    try:
        with set_curdoc(document):  # so that execute() schedules it for that session
            pn.state.execute(work, schedule=True)
    except Exception:  # noqa: BLE001 -- the session is being destroyed
        return False
    try:
        await asyncio.wait_for(asyncio.shield(done), TICK_TIMEOUT_S)
    except asyncio.TimeoutError:
        return False
    return True


_turns = weakref.WeakKeyDictionary()  # event loop -> the lock of its sessions' turns


async def in_turn(document, build):
    """``build()`` run in ``document``'s session, one such piece of work at a time in this
    process (first come, first served); the event loop runs what waits (clicks, ticks) before the
    next. Returns what ``build`` returned.

    Raises
    ------
    RuntimeError
        When the session closed before ``build`` ran.
    """
    loop = asyncio.get_running_loop()
    turn = _turns.setdefault(loop, asyncio.Lock())
    async with turn:
        done = loop.create_future()

        def work():
            try:
                done.set_result(build())
            except BaseException as error:  # noqa: BLE001 -- handed to the awaiting coroutine
                done.set_exception(error)

        if not await run_in_session(document, work, done):
            raise RuntimeError("the session closed before its page was built")
        result = done.result()
        await asyncio.sleep(0)
    return result


conductor = Conductor()
"""The process's conductor."""

_release = None


def release_memory_soon(delay=None):
    """Collect closed sessions' objects and return freed heap pages to the OS, once, ``delay``
    seconds after the last call (a class closing thirty tabs triggers one collection).

    A session's App, simulation and Bokeh models are freed when its tab closes, but CPython keeps
    freed small blocks in its heap: without this the server's resident memory stays at its peak.
    """
    global _release
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _release is not None:
        _release.cancel()
    _release = loop.call_later(RELEASE_AFTER_S if delay is None else delay, _release_now)


def _release_now():
    forget_closed_templates()
    release_memory()  # looked up when it runs (tests replace it)


def forget_closed_templates():
    """Drop the ids of closed sessions' template roots from ``pn.state._fake_roots``.

    Panel (1.9) adds the id of each template's root model to that process-wide list for every
    session it renders, and never removes it (``BaseTemplate._server_destroy`` pops the id from
    ``_refs``, which is never filled): one string per session, kept for the life of the process
    (and each pins the heap it was allocated in). Panel reads the list only for ids that are in
    ``pn.state._views``, which it empties when a session closes; ids no longer there are dropped.
    Does nothing if a Panel version no longer has these attributes.
    """
    try:
        from panel.io.state import state
    except ImportError:
        return
    roots, views = getattr(state, "_fake_roots", None), getattr(state, "_views", None)
    if isinstance(roots, list) and isinstance(views, dict):
        roots[:] = [ref for ref in roots if ref in views]


def release_memory():
    """``gc.collect()``, then glibc's ``malloc_trim(0)`` where there is one (Linux)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory stays with the process for reuse
        pass
