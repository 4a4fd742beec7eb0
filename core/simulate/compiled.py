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
_states = {}  # variant -> "preparing", "ready" or the exception that stopped the preparation
_threads = {}  # variant -> the thread preparing it

DASHBOARD_DEPTH = 2
"""The output layer's index of the networks the dashboard shows (one hidden layer: every
scenario), which :func:`prepare` and :func:`status` mean by default.

numba compiles the step once per *variant* of network, ``(n_layers, thresholds)``: per depth (the
network is handed to it as tuples of per-layer arrays) and with or without learnable thresholds
(without them it compiles the step without their code). Each variant is prepared on its own, off
the caller's thread: a network file with thresholds uploaded to the dashboard runs on the NumPy
path until its variant is ready, instead of compiling on the server's event loop."""


def _variant(n_layers, thresholds):
    return n_layers, bool(thresholds)


def variant(net):
    """The variant of the compiled step that ``net`` runs on, ``(n_layers, thresholds)``: pass it
    on as ``backend(*variant(net))`` or ``status(*variant(net))``."""
    return _variant(net.n_layers, net.weights.b_up)


def status(n_layers=DASHBOARD_DEPTH, thresholds=False):
    """Where the compiled step for networks with output layer ``n_layers`` (and learnable
    thresholds, or not) stands in this process.

    Returns
    -------
    {"unavailable", "not started", "preparing", "ready", "failed"}
        ``"unavailable"``: numba is not installed.
    """
    with _lock:
        state = _states.get(_variant(n_layers, thresholds))
    if state is None:
        return "not started" if numba_installed() else "unavailable"
    return state if isinstance(state, str) else "failed"


def prepare(n_layers=DASHBOARD_DEPTH, thresholds=False):
    """Start preparing the compiled step for output layer ``n_layers`` (and learnable thresholds,
    or not) in a daemon thread (once per variant and process; nothing happens without numba)."""
    variant = _variant(n_layers, thresholds)
    with _lock:
        if variant in _states or not numba_installed():
            return
        _states[variant] = "preparing"
        thread = _threads[variant] = threading.Thread(
            target=_prepare, args=(variant,), name=f"compile-step-{n_layers}-{variant[1]}",
            daemon=True)
    thread.start()


def backend(n_layers=DASHBOARD_DEPTH, thresholds=False):
    """The back end of :func:`core.simulate.dynamics.run` for a caller that must not wait: ``"numba"``
    once the compiled step for networks with output layer ``n_layers`` (and learnable thresholds,
    or not) is prepared in this process, else ``"numpy"`` (and its preparation is started)."""
    with _lock:
        if _states.get(_variant(n_layers, thresholds)) == "ready":
            return "numba"
    prepare(n_layers, thresholds)
    return "numpy"


def wait(timeout=None, n_layers=DASHBOARD_DEPTH, thresholds=False):
    """Wait until the preparation started by :func:`prepare` has ended; returns
    :func:`status`."""
    thread = _threads.get(_variant(n_layers, thresholds))
    if thread is not None:
        thread.join(timeout)
    return status(n_layers, thresholds)


def _compile(n_layers, thresholds):
    """Compile (or load from numba's cache) the step for networks with output layer
    ``n_layers`` (and learnable thresholds, or not), by running it on a tiny one (its types do
    not depend on the sizes, the batch or the rate function)."""
    from .dynamics import run
    from ..model.network import Network
    from ..model.parameters import ModelParameters

    net = Network((2,) * (n_layers + 1), ModelParameters(use_bias=thresholds), seed=0)
    net.present([0.5, 0.5], [0.0, 0.0])
    net.nudging = True
    # without plasticity: numba compiles all of the step either way, and the default rates fit
    # only one hidden layer
    run(net, 2, backend="numba", learning=False)


def _prepare(variant):
    try:
        _compile(*variant)
    except Exception as error:  # noqa: BLE001 -- callers go on with the NumPy path
        _log.exception("the compiled step for %d layers (thresholds: %s) could not be prepared; "
                       "the NumPy path runs instead", *variant)
        state = error
    else:
        state = "ready"
    with _lock:
        _states[variant] = state
