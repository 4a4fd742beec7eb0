"""The compiled back end, prepared in a background thread so that nobody waits for numba.

Compiling the step (:mod:`core.twins`) takes seconds the first time after an install (numba then
caches it on disk, and later processes load it in about a second; README). A script that asks
for speed (``run(..., backend="auto")``) waits for it; an interactive front end must not: in a
server, the compile ran on the event loop and froze every tab. :func:`backend` names the compiled
back end only once it is ready and otherwise starts preparing it in a thread, so that the caller
takes the NumPy path meanwhile (``run(..., backend=compiled.backend())``). Both paths compute the
same trajectory (``tests/test_backends.py`` bounds their difference), but a run that switches
from one to the other part-way is not bit for bit the same as a run on either.
"""

from __future__ import annotations

import logging
import threading

from .twins import numba_installed

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_thread = None
_ready = False  # the compiled step has run once in this process
_failure = None  # why it could not be prepared
_other_depths = {}  # n_layers -> "preparing", "ready" or "failed", for depths other than 2

DASHBOARD_DEPTH = 2
"""The output layer's index of the networks :func:`prepare` compiles the step for (one hidden
layer: every scenario of the dashboard). numba compiles the step once per depth (the network is
handed to it as tuples of per-layer arrays), so :func:`backend` prepares other depths on
demand, off the caller's thread too."""


def status():
    """Where the compiled back end stands in this process.

    Returns
    -------
    {"unavailable", "not started", "preparing", "ready", "failed"}
        ``"unavailable"``: numba is not installed.
    """
    with _lock:
        if _ready:
            return "ready"
        if _failure is not None:
            return "failed"
        if _thread is not None:
            return "preparing"
    return "not started" if numba_installed() else "unavailable"


def prepare():
    """Start preparing the compiled back end in a daemon thread (once per process; nothing
    happens without numba)."""
    global _thread
    with _lock:
        if _thread is not None or not numba_installed():
            return
        _thread = threading.Thread(target=_prepare, name="compile-step", daemon=True)
        _thread.start()


def backend(n_layers=DASHBOARD_DEPTH):
    """The back end of :func:`core.dynamics.run` for a caller that must not wait: ``"numba"``
    once the compiled step for networks with output layer ``n_layers`` is prepared in this
    process, else ``"numpy"`` (and its preparation is started)."""
    if n_layers != DASHBOARD_DEPTH:
        with _lock:
            state = _other_depths.get(n_layers)
            if state is None and numba_installed():
                _other_depths[n_layers] = "preparing"
                threading.Thread(target=_prepare_depth, args=(n_layers,), daemon=True,
                                 name=f"compile-step-{n_layers}").start()
        return "numba" if state == "ready" else "numpy"
    with _lock:
        if _ready:
            return "numba"
    prepare()
    return "numpy"


def wait(timeout=None):
    """Wait until the preparation started by :func:`prepare` has ended; returns
    :func:`status`."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return status()


def _compile(n_layers):
    """Compile (or load from numba's cache) the step for networks with output layer
    ``n_layers``, by running it on a tiny one (its types do not depend on the sizes, the rate
    function or the thresholds)."""
    from .dynamics import run
    from .network import Network

    net = Network((2,) * (n_layers + 1), seed=0)
    net.present([0.5, 0.5], [0.0, 0.0])
    net.nudging = True
    # without plasticity: numba compiles all of the step either way, and the default rates fit
    # only one hidden layer
    run(net, 2, backend="numba", learning=False)


def _prepare():
    global _ready, _failure
    try:
        _compile(DASHBOARD_DEPTH)
    except Exception as error:  # noqa: BLE001 -- callers go on with the NumPy path
        _log.exception("the compiled step could not be prepared; the NumPy path runs instead")
        with _lock:
            _failure = error
        return
    with _lock:
        _ready = True


def _prepare_depth(n_layers):
    try:
        _compile(n_layers)
        state = "ready"
    except Exception:  # noqa: BLE001 -- callers go on with the NumPy path
        _log.exception("the compiled step could not be prepared for %d layers", n_layers)
        state = "failed"
    with _lock:
        _other_depths[n_layers] = state
