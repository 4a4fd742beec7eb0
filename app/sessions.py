"""The dashboard sessions of this server process that are playing (shared by all sessions).

``main.py`` runs once per browser session, but this module is imported once per process, so its
set is the process's. The play loop divides one process-wide time budget among the playing
sessions (:func:`share`): thirty students slow each other's simulations down instead of queueing
their ticks behind each other until the server stops answering clicks.
"""

from __future__ import annotations

import threading
import weakref

_playing = weakref.WeakSet()  # a session dropped without pausing cannot leak here
_lock = threading.Lock()  # ticks may run in a thread pool (panel serve --num-threads)


def playing(session, is_playing):
    """Record whether ``session`` (any object, e.g. an App) is playing."""
    with _lock:
        if is_playing:
            _playing.add(session)
        else:
            _playing.discard(session)


def count():
    """How many sessions of this process are playing."""
    with _lock:
        return len(_playing)


def share(budget):
    """One playing session's part of a per-tick time ``budget`` (seconds)."""
    return budget / max(1, count())
