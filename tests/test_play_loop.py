"""The process's play loop (app/sessions.py): one tick at a time, round robin, clicks first.

Fake sessions (``tick()`` and ``document = None``, as outside a server) on a real asyncio loop;
the order of events is what is checked, not durations. Under ``panel serve`` the same conductor
ticks real sessions: tests/test_sessions.py and tests/test_browser.py play them.
"""

import asyncio
import time

import numpy as np
import pytest

import sessions
from sessions import Conductor


class FakeSession:
    def __init__(self, name, log, fail=False):
        self.name, self.log, self.fail = name, log, fail
        self.document = None

    def tick(self):
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError("broken tick")


def test_round_robin_oldest_first_at_most_once_per_period():
    conductor = Conductor(period=0.1)
    a, b, c = (FakeSession(n, []) for n in "abc")
    for session in (a, b, c):
        conductor.play(session)
    conductor._last.update({a: 5.00, b: 5.02, c: 5.01})
    assert conductor.next_session(5.10) == (a, 0.0)
    conductor._last[a] = 5.10
    assert conductor.next_session(5.11) == (c, 0.0)
    conductor._last[c] = 5.11
    session, wait = conductor.next_session(5.115)  # b is due at 5.12
    assert session is None and wait == pytest.approx(0.005)
    conductor.pause(b)
    session, wait = conductor.next_session(5.115)
    assert session is None and wait == pytest.approx(0.085)  # then a, due at 5.20


def test_a_touched_session_goes_first_and_a_paused_one_is_not_touched():
    conductor = Conductor(period=0.1)
    a, b = FakeSession("a", []), FakeSession("b", [])
    conductor.play(a)
    conductor.play(b)
    conductor._last.update({a: 1.0, b: 9.0})
    conductor.touch(b)
    assert conductor.next_session(9.01) == (b, 0.0)  # before a, and before b's period is over
    conductor.pause(a)
    conductor.touch(a)  # not playing: nothing to hurry
    assert a not in conductor._touched


def _play(conductor, sessions_, seconds, during=None):
    async def main():
        for session in sessions_:
            conductor.play(session)
        if during is not None:
            await during()
        await asyncio.sleep(seconds)
        for session in sessions_:
            conductor.pause(session)
        await asyncio.sleep(0.05)
        return conductor._task.done()
    return asyncio.run(main())


def test_sessions_take_turns_and_the_loop_ends_when_none_plays():
    log = []
    fakes = [FakeSession(name, log) for name in "abc"]
    ended = _play(Conductor(period=0.05), fakes, 0.3)
    assert ended
    counts = {name: log.count(name) for name in "abc"}
    assert min(counts.values()) >= 3, counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts  # nobody is left behind
    for i in range(0, len(log) - 2, 3):  # every round ticks each session once
        assert sorted(log[i:i + 3]) == ["a", "b", "c"], log


def test_what_waits_on_the_loop_runs_between_two_ticks():
    """A click posted during a tick runs before the next tick, not after every session's."""
    log = []

    class Clicking(FakeSession):
        def tick(self):
            super().tick()
            if self.log.count(self.name) == 2:
                asyncio.get_running_loop().call_soon(lambda: log.append("click"))

    fakes = [Clicking("a", log)] + [FakeSession(name, log) for name in "bcdef"]
    _play(Conductor(period=0.0), fakes, 0.05)
    click = log.index("click")
    assert log[click - 1] == "a", log[click - 3:click + 3]


def test_a_failing_session_is_paused_and_the_others_play_on():
    log = []
    good, bad = FakeSession("good", log), FakeSession("bad", log, fail=True)
    conductor = Conductor(period=0.02)

    async def check_paused():
        await asyncio.sleep(0.1)
        assert not conductor.is_playing(bad)
        assert conductor.is_playing(good)

    _play(conductor, [good, bad], 0.1, during=check_paused)
    assert log.count("bad") == 1
    assert log.count("good") >= 5


def test_a_closed_session_is_dropped():
    class ClosedContext:
        destroyed = True

    class ClosedDocument:
        session_context = ClosedContext()

    log = []
    closed, open_ = FakeSession("closed", log), FakeSession("open", log)
    closed.document = ClosedDocument()
    conductor = Conductor(period=0.02)
    _play(conductor, [closed, open_], 0.1)
    assert "closed" not in log and log.count("open") >= 3


def test_without_an_event_loop_nothing_runs_in_the_background():
    """A script or test holding an App ticks it itself; play() must not need a loop."""
    conductor = Conductor()
    session = FakeSession("a", [])
    conductor.play(session)
    assert conductor.is_playing(session) and conductor._task is None
    assert conductor.count() == 1
    conductor.pause(session)
    assert not conductor.is_playing(session)


def test_closing_a_wave_of_sessions_releases_memory_once_after_the_last(monkeypatch):
    calls = []
    monkeypatch.setattr(sessions, "RELEASE_AFTER_S", 0.05)
    monkeypatch.setattr(sessions, "release_memory", lambda: calls.append(time.monotonic()))
    conductor = Conductor()
    fakes = [FakeSession(name, []) for name in "abc"]

    async def main():
        for session in fakes:
            conductor.play(session)
        closed = []
        for session in fakes:  # three tabs closing 20 ms apart
            conductor.close(session)
            closed.append(time.monotonic())
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.15)
        return closed

    closed = asyncio.run(main())
    assert len(calls) == 1 and calls[0] - closed[-1] >= 0.05
    assert not any(conductor.is_playing(session) for session in fakes)
    sessions.release_memory()  # the real one runs here too (glibc's malloc_trim on Linux)


def test_the_loop_does_not_keep_the_context_of_the_session_that_started_it():
    """A task keeps the contextvars of its creation (Panel's current document among them) while
    it lives; the conductor's must not keep the first player's closed session alive."""
    import contextvars

    marker = contextvars.ContextVar("marker", default=None)
    seen = []

    class Probe(FakeSession):
        def tick(self):
            seen.append(marker.get())
            super().tick()

    conductor = Conductor(period=0.01)

    async def main():
        marker.set("the session that pressed Play")
        probe = Probe("a", [])
        conductor.play(probe)
        await asyncio.sleep(0.05)
        conductor.pause(probe)
        await asyncio.sleep(0.02)

    asyncio.run(main())
    assert seen and set(seen) == {None}


def test_closed_sessions_template_roots_are_forgotten(monkeypatch):
    """Panel adds each template session's root id to ``state._fake_roots`` and never removes it;
    the memory release after a wave of closed tabs drops those whose session is gone."""
    from panel.io.state import state

    monkeypatch.setattr(state, "_fake_roots", ["p-live", "p-closed-1", "p-closed-2"])
    monkeypatch.setattr(state, "_views", {"p-live": object()})
    sessions.forget_closed_templates()
    assert state._fake_roots == ["p-live"]


def test_after_a_tick_kept_from_the_cpu_the_loop_stays_free_as_long():
    """A tick that spent 0.02 s of wall time without the CPU (here: asleep, as when other
    processes had it) is followed by GIVE_BACK * 0.02 s without ticks, however many sessions are
    due."""
    starts = []

    class Starved(FakeSession):
        def tick(self):
            starts.append(time.monotonic())
            time.sleep(0.02)

    _play(Conductor(period=0.0), [Starved("a", []), Starved("b", [])], 0.4)
    gaps = np.diff(starts)
    assert len(gaps) >= 3
    assert gaps.min() >= 0.02 * (1 + sessions.GIVE_BACK) * 0.99, gaps
