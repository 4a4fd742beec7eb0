"""Running a sweep's tasks on Dask ``distributed``: a :class:`~distributed.LocalCluster` of one
single-threaded worker process per core, or an existing cluster; a progress bar over the runs;
Ctrl-C that stops every run and closes what was opened."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid

from ..protocols.common import progress
from .task import ignore_ctrl_c, run_reproduce

CONNECT_TIMEOUT_S = 5
"""How long to try to reach a ``--scheduler`` before giving up: with Python and Dask starting,
the command fails within 10 s."""
STOP_WAIT_S = 10
"""After Ctrl-C: how long the runs get to stop (each is sent SIGINT within a second)."""


class SchedulerUnreachable(Exception):
    """The ``--scheduler`` address did not answer; the message says why."""


@contextlib.contextmanager
def dask_client(scheduler=None, workers=None):
    """A :class:`distributed.Client` of the cluster at ``scheduler``, or of a new LocalCluster
    of ``workers`` (default: one per core) single-threaded worker processes; both closed at the
    end.

    Raises
    ------
    SchedulerUnreachable
        If ``scheduler`` does not answer within :data:`CONNECT_TIMEOUT_S`.
    """
    from distributed import Client, LocalCluster

    # A Ctrl-C that lands inside Dask's synchronous calls makes tornado log a traceback of
    # Dask's own clean-up (distributed.utils.sync, a NameError); the sweep says in one line what
    # happened instead.
    tornado = logging.getLogger("tornado.application")
    with contextlib.ExitStack() as opened:  # closes what was opened, also when Ctrl-C cuts in
        opened.callback(tornado.setLevel, tornado.level)  # last, after the cluster has closed
        tornado.setLevel(logging.CRITICAL)
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
            # Exception: TimeoutError when nothing answers, and anything at all when something
            # else than a Dask scheduler does (seen: a MemoryError decoding an alien reply)
            except Exception as exc:  # noqa: BLE001
                detail = str(exc).splitlines()[0] if str(exc) else "no detail"
                raise SchedulerUnreachable(
                    f"--scheduler {scheduler}: no Dask scheduler answered within "
                    f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}: {detail})") from None
            opened.callback(client.close)
        else:
            # dashboard on a free port: several sweeps (or a dashboard) may share the machine
            cluster = opened.enter_context(LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR))
            client = opened.enter_context(Client(cluster))
            client.run(ignore_ctrl_c)  # on each worker's main thread, where handlers are set
        yield client


def dashboard_link(client):
    """The Dask dashboard's address, or None when the cluster has none (no Bokeh there)."""
    try:
        return client.dashboard_link if client.scheduler_info().get("services", {}).get(
            "dashboard") else None
    except Exception:  # noqa: BLE001 -- only a convenience
        return None


def execute(client, runs, report, *, ctrl_c, show_progress=True):
    """Run ``runs`` on ``client``'s cluster, calling ``report(run, outcome)`` (see
    :func:`~core.sweep.task.run_reproduce`) as each one ends.

    On Ctrl-C every run is stopped (``reproduce`` interrupted, runs not started never start),
    those that ended meanwhile are still reported, and KeyboardInterrupt is raised again.

    Parameters
    ----------
    client : distributed.Client
    runs : list of core.sweep.plan.Run
    report : callable
    ctrl_c : core.cli._CtrlC
        Remembers a Ctrl-C that Dask's own code may have swallowed.
    show_progress : bool
    """
    from distributed import Event

    token = uuid.uuid4().hex[:12]  # task keys and the event: unique on a shared cluster
    stop_name = f"core-sweep-stop-{token}"
    stop = Event(stop_name, client=client)
    futures = {}
    for priority, run in enumerate(runs):
        future = client.submit(run_reproduce, run.arguments, run.directory, stop_name,
                               key=f"reproduce-{run.name}-{token}", pure=False,
                               priority=-priority)  # the order they were planned in
        futures[future] = run
    counts = {"ok": 0, "failed": 0}
    bar = progress(None, total=len(runs), desc="sweep", unit="run", enabled=show_progress)
    pending = set(futures)
    slots = _slots(client)
    shown = None
    try:
        while pending:
            pending = _collect(pending, futures, report, counts, bar, timeout=1)
            # every worker thread busy as long as runs are left: what is running, without
            # asking the scheduler every second
            postfix = (f"ok={counts['ok']} failed={counts['failed']} "
                       f"running={min(len(pending), slots)}")
            if bar is not None and postfix != shown:
                bar.set_postfix_str(postfix)
                shown = postfix
            ctrl_c.honour()
    except KeyboardInterrupt:
        stop.set()
        # only the runs that succeeded meanwhile: a failure now may be the stop's doing (a
        # terminal's Ctrl-C also reaches the workers), and a rerun redoes the run anyway
        with contextlib.suppress(KeyboardInterrupt, Exception):
            _collect(pending, futures, report, counts, bar, timeout=STOP_WAIT_S, all_of=True,
                     only_ok=True)
        with contextlib.suppress(Exception):
            client.cancel(list(pending))
        raise
    finally:
        if bar is not None:
            bar.close()


def _collect(pending, futures, report, counts, bar, *, timeout, all_of=False, only_ok=False):
    """Report the futures of ``pending`` that end within ``timeout`` s (the first of them, or
    all with ``all_of``; only the successful ones with ``only_ok``); returns those still
    pending."""
    from distributed import wait

    try:
        done, pending = wait(pending, timeout=timeout,
                             return_when="ALL_COMPLETED" if all_of else "FIRST_COMPLETED")
    except TimeoutError:
        done = {future for future in pending if future.done()}
        pending = pending - done
    for future in done:
        outcome = _outcome(future)
        if outcome["status"] == "cancelled" or (only_ok and outcome["status"] != "ok"):
            continue
        counts["ok" if outcome["status"] == "ok" else "failed"] += 1
        report(futures[future], outcome)
        if bar is not None:
            bar.update(1)
    return pending


def _outcome(future):
    """The task's outcome, or a failure naming what went wrong outside it (a worker died)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 -- any error of one run is that run's failure
        text = str(exc).splitlines()[0] if str(exc) else ""
        return {"status": "failed", "error": f"{type(exc).__name__}: {text}".rstrip(": "),
                "wall_time_s": None, "metrics": None}


def _slots(client):
    """How many runs the cluster runs at once: its worker threads (one per worker process on a
    LocalCluster)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001 -- only the progress bar's figure
        return 1


def print_dashboard(client):
    """Print the dashboard's address on stderr, when there is one."""
    link = dashboard_link(client)
    if link:
        print(f"Dask dashboard: {link}", file=sys.stderr)
