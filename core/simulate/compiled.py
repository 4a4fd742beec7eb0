"""The compiled back end, prepared in a background thread so that nobody waits for numba.

Compiling the step (:mod:`core.simulate.twins`) takes seconds the first time after an install
(numba then caches it on disk, and later processes load it in about a second; README). A script
that asks for speed (``run(..., backend="auto")``) waits for it; an interactive front end must not:
in a server, the compile ran on the event loop and froze every tab. :func:`backend` names the
compiled back end only once it is ready and otherwise starts preparing it in a thread, so that the
caller takes the NumPy path meanwhile (``run(..., backend=compiled.backend())``). Both paths
compute the same trajectory (``tests/test_backends.py`` bounds their difference), but a run that
switches from one to the other part-way is not bit for bit the same as a run on either.
"""

from __future__ import annotations

import logging
import threading

from .twins import numba_installed

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_states = {}  # n_layers -> "preparing", "ready" or the exception that stopped the preparation
_threads = {}  # n_layers -> the thread preparing it

DASHBOARD_DEPTH = 2
"""The output layer's index of the networks the dashboard shows (one hidden layer: every
scenario), which :func:`prepare` and :func:`status` mean by default. numba compiles the step once
per depth (the network is handed to it as tuples of per-layer arrays), so each depth is prepared
on its own, off the caller's thread."""


def status(n_layers=DASHBOARD_DEPTH):
    """Where the compiled step for networks with output layer ``n_layers`` stands in this
    process.

    Returns
    -------
    {"unavailable", "not started", "preparing", "ready", "failed"}
        ``"unavailable"``: numba is not installed.
    """
    with _lock:
        state = _states.get(n_layers)
    if state is None:
        return "not started" if numba_installed() else "unavailable"
    return state if isinstance(state, str) else "failed"


def prepare(n_layers=DASHBOARD_DEPTH):
    """Start preparing the compiled step for output layer ``n_layers`` in a daemon thread (once
    per depth and process; nothing happens without numba)."""
    with _lock:
        if n_layers in _states or not numba_installed():
            return
        _states[n_layers] = "preparing"
        thread = _threads[n_layers] = threading.Thread(
            target=_prepare, args=(n_layers,), name=f"compile-step-{n_layers}", daemon=True)
    thread.start()


def backend(n_layers=DASHBOARD_DEPTH):
    """The back end of :func:`core.simulate.dynamics.run` for a caller that must not wait: ``"numba"``
    once the compiled step for networks with output layer ``n_layers`` is prepared in this
    process, else ``"numpy"`` (and its preparation is started)."""
    with _lock:
        if _states.get(n_layers) == "ready":
            return "numba"
    prepare(n_layers)
    return "numpy"


def wait(timeout=None, n_layers=DASHBOARD_DEPTH):
    """Wait until the preparation started by :func:`prepare` has ended; returns
    :func:`status`."""
    thread = _threads.get(n_layers)
    if thread is not None:
        thread.join(timeout)
    return status(n_layers)


def _compile(n_layers):
    """Compile (or load from numba's cache) the step for networks with output layer
    ``n_layers``, by running it on a tiny one (its types do not depend on the sizes, the rate
    function or the thresholds)."""
    from .dynamics import run
    from ..model.network import Network

    net = Network((2,) * (n_layers + 1), seed=0)
    net.present([0.5, 0.5], [0.0, 0.0])
    net.nudging = True
    # without plasticity: numba compiles all of the step either way, and the default rates fit
    # only one hidden layer
    run(net, 2, backend="numba", learning=False)


def _prepare(n_layers):
    try:
        _compile(n_layers)
    except Exception as error:  # noqa: BLE001 -- callers go on with the NumPy path
        _log.exception("the compiled step for %d layers could not be prepared; the NumPy path "
                       "runs instead", n_layers)
        state = error
    else:
        state = "ready"
    with _lock:
        _states[n_layers] = state
