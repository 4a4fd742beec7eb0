"""One run of a sweep, executed on a Dask worker: ``python -m core reproduce ...`` in a fresh
process, so that its results are exactly those of the same command typed alone.

This module must stay importable without Dask on the path of a worker's interpreter; it touches
Dask only to look at the sweep's stop event.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from ..io.files import write_atomically
from ..protocols.common import METRICS_FILE

RUN_RECORD = "sweep-run.json"
"""Written into a run's directory after it succeeded: its wall time and command, which a later
sweep reports for the run it keeps."""
INTERRUPTED = 130
"""Exit code of an interrupted ``reproduce`` (:data:`core.cli.EXIT_INTERRUPTED`)."""
POLL_S = 1.0
"""How often a running task looks at the stop event (a second's delay to a Ctrl-C)."""
GRACE_S = 5.0
"""How long a stopped run may take to finish after SIGINT before it is killed."""


def run_reproduce(arguments, directory, stop_event=None):
    """Run ``python -m core reproduce ARGUMENTS`` with this interpreter and report how it went.

    Parameters
    ----------
    arguments : sequence of str
        What follows ``reproduce``; its ``--out`` is ``directory``.
    directory : str
        The run's output directory.
    stop_event : str or None
        Name of a :class:`distributed.Event`; once it is set the run is interrupted as by
        Ctrl-C (SIGINT: it writes nothing half-done), and a run not yet started does not start.

    Returns
    -------
    dict
        ``status`` (``"ok"``, ``"failed"`` or ``"cancelled"``), ``error`` (the last line of
        the run's stderr, or None), ``wall_time_s`` and ``metrics`` (the run's metrics.json, or
        None). Never raises for a run that fails.
    """
    clock = time.perf_counter()
    stopped = _stop_check(stop_event)
    if stopped():
        return _outcome("cancelled", clock, "stopped before it started")
    command = [sys.executable, "-m", "core", "reproduce", *arguments]
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as exc:
        return _outcome("failed", clock, f"cannot start {sys.executable}: {exc}")
    with child:
        stderr = _wait(child, stopped)
    if child.returncode != 0:
        # interrupted (by the stop event, or by a Ctrl-C in the terminal, which reaches the
        # whole process group): not a failure of the run, which a rerun does again
        cancelled = child.returncode in (INTERRUPTED, -signal.SIGINT) or (
            stopped() and child.returncode == -signal.SIGKILL)
        # unless the interruption came once its results were in place (reproduce moves them
        # there whole, metrics.json last, and says it kept them): then the run has finished,
        # and a rerun would keep it
        if not (cancelled and os.path.exists(os.path.join(directory, METRICS_FILE))):
            return _outcome("cancelled" if cancelled else "failed", clock,
                            _last_line(stderr) or f"exit code {child.returncode}")
    wall_time = time.perf_counter() - clock
    try:
        with open(os.path.join(directory, METRICS_FILE), encoding="utf-8") as handle:
            metrics = json.load(handle)
        write_atomically(os.path.join(directory, RUN_RECORD), lambda handle: json.dump(
            {"wall_time_s": wall_time, "command": command[1:]}, handle, indent=2))
    except (OSError, ValueError) as exc:
        return _outcome("failed", clock, f"{METRICS_FILE} unreadable after the run: {exc}")
    return {"status": "ok", "error": None, "wall_time_s": wall_time, "metrics": metrics}


def ignore_ctrl_c():
    """Have this (local worker) process ignore SIGINT: a Ctrl-C in the terminal reaches the
    whole process group, and the sweep, not each worker, is what stops. A Python handler rather
    than SIG_IGN, which the ``reproduce`` processes would inherit: a handler is reset when they
    start, so they still end cleanly on SIGINT."""
    signal.signal(signal.SIGINT, lambda signum, frame: None)


def _wait(child, stopped):
    """The child's stderr once it has ended; SIGINT, then SIGKILL after :data:`GRACE_S`, once
    ``stopped()``."""
    while True:
        try:
            return child.communicate(timeout=POLL_S)[1]
        except subprocess.TimeoutExpired:
            if stopped():
                break
    child.send_signal(signal.SIGINT)
    try:
        return child.communicate(timeout=GRACE_S)[1]
    except subprocess.TimeoutExpired:
        child.kill()
        return child.communicate()[1]


def _stop_check(name):
    """A function telling whether the stop event ``name`` is set (always False without one, or
    once the scheduler is out of reach: then the worker is being shut down anyway)."""
    if name is None:
        return lambda: False
    from distributed import Event

    event = Event(name)

    def stopped():
        try:
            return event.is_set()
        except Exception:  # noqa: BLE001 -- a lost scheduler must not lose the run's outcome
            return False
    return stopped


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else None


def _outcome(status, clock, error):
    return {"status": status, "error": error, "wall_time_s": time.perf_counter() - clock,
            "metrics": None}


def kept_outcome(directory):
    """The outcome of a run that finished in an earlier sweep, read from its directory, or None
    if it has not finished (no ``metrics.json``)."""
    try:
        with open(os.path.join(directory, METRICS_FILE), encoding="utf-8") as handle:
            metrics = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable: redo the run, which replaces it
        return None
    try:
        with open(os.path.join(directory, RUN_RECORD), encoding="utf-8") as handle:
            wall_time = json.load(handle).get("wall_time_s")
    except (OSError, ValueError, AttributeError):
        wall_time = None
    return {"status": "kept", "error": None, "wall_time_s": wall_time, "metrics": metrics}
