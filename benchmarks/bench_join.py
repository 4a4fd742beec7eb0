"""What a joining student costs the class: server CPU per new tab, and the clicks it holds up.

Starts ``panel serve app/`` itself (as ``bench_load.py`` does, whose ``Server`` and ``Client`` it
uses), then:

1. **Cost of a tab**: ``--gets`` plain ``GET /app`` one after the other; for each, the server's
   CPU time from the request to the response (``/proc``), which is the time the server's one event
   loop spent building the session (the App, its plots and equations, the Bokeh document and the
   page). Median and max.
2. **Joins under use**: ``--open`` sessions are open (bokeh's websocket client, as a browser's
   page would be) and each clicks Nudging on/off every ``--click-every`` seconds; the wait of
   each click is the time until the server's message relabelling the button arrives (``ack``, as
   in ``bench_load.py``). First for ``--seconds`` with nobody joining (the baseline), then while
   ``--joins`` plain GETs arrive at once, from as many threads, then while ``--joins`` sessions
   join at once as a browser's pages would (each in a thread of its own: GET, websocket, the
   page-loaded event, and the App built by the server until its plots have arrived), then while
   ``--pages`` pages of real headless Chromium (Debian's, ``/usr/bin/chromium``) open the app at
   once and wait until their plots are drawn -- the browser's own requests for scripts, styles
   and fonts included. Reported: p50 / p95 / max of the waits in each phase, and how long the
   joins took.

    python benchmarks/bench_join.py [--gets 10] [--open 3] [--joins 30] [--pages 30]
                                    [--seconds 10] [--checkout DIR]

``--checkout DIR`` serves another checkout's ``app/`` (e.g. an older commit) with this script.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import NUDGING_OFF, NUDGING_ON, Client, Server  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

PLOTS_ARRIVED = """() => window.Bokeh !== undefined && Bokeh.documents.length > 0 &&
    Bokeh.documents[0].get_model_by_name("traces") !== null"""


def join_session(url, index):
    """A session that joins as a browser's page would, in this thread (its own loop)."""
    loop = IOLoop()
    try:
        client = Client(url, loop, index)  # returns once the App's page has arrived
        client.closing = True
        client.session.close()
        loop.run_sync(lambda: asyncio.sleep(0.1))
    finally:
        loop.close(all_fds=True)


class BrowserPages(threading.Thread):
    """``count`` pages of one headless Chromium that open ``url`` together once :attr:`go` is
    set (the browser is started before, outside the measurement) and wait until their plots
    have arrived; :attr:`ready` is set once the browser is up."""

    def __init__(self, url, count):
        super().__init__(daemon=True)
        self.url, self.count = url, count
        self.ready, self.go = threading.Event(), threading.Event()
        self.error = None

    def run(self):
        from bench_browser import launch
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                pages = [browser.new_page() for _ in range(self.count)]
                self.ready.set()
                self.go.wait()
                for page in pages:  # requests go out at once; the pages load side by side
                    page.goto(self.url, wait_until="commit", timeout=600_000)
                for page in pages:
                    page.wait_for_function(PLOTS_ARRIVED, timeout=600_000, polling=200)
                browser.close()
        except Exception as error:  # noqa: BLE001 -- reported by main
            self.error = error
        finally:
            self.ready.set()


def get_page(url, index=None):
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()


def cost_of_a_tab(server, gets):
    """Server CPU seconds of each of ``gets`` sequential GETs (the session's destruction, a
    second later, is not counted)."""
    costs = []
    for _ in range(gets):
        before = server.cpu()
        get_page(server.url)
        costs.append(server.cpu() - before)
        time.sleep(1.5)  # let the unused session be destroyed outside the next measurement
    return np.array(costs)


class Clicker:
    """An open session that clicks Nudging on and off and times each click's answer."""

    def __init__(self, client):
        self.client = client
        self.waits = []  # (click time, seconds until the relabelled button arrived)
        self._clicked = None
        self._want = None
        client.doc.on_change(self._changed)

    def click(self):
        toggle = self.client.nudge
        self._want = NUDGING_OFF if toggle.active else NUDGING_ON
        self._clicked = time.perf_counter()
        toggle.active = not toggle.active

    def _changed(self, event):
        model = getattr(event, "model", None)
        new = getattr(event, "new", None)
        if (self._clicked is not None and model is self.client.nudge
                and getattr(event, "attr", None) == "label" and isinstance(new, str)
                and new.startswith(self._want)):
            self.waits.append((self._clicked, time.perf_counter() - self._clicked))
            self._clicked = None

    def pending(self):
        return self._clicked is not None


async def click_for(clickers, seconds, every):
    """Each clicker clicks every ``every`` seconds (once its previous click was answered)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for clicker in clickers:
            if not clicker.pending():
                clicker.click()
        await asyncio.sleep(every)
    deadline = time.perf_counter() + 60
    while any(c.pending() for c in clickers) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


def summary(waits):
    if not len(waits):
        return "no clicks answered"
    waits = np.asarray(waits)
    return (f"{len(waits)} clicks, wait p50 {np.percentile(waits, 50):.3f} s, "
            f"p95 {np.percentile(waits, 95):.3f} s, max {waits.max():.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=10)
    parser.add_argument("--open", type=int, default=3)
    parser.add_argument("--joins", type=int, default=30)
    parser.add_argument("--pages", type=int, default=30, help="real browser pages (0: none)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--click-every", type=float, default=0.25)
    parser.add_argument("--checkout", type=Path, help="serve this checkout's app/ instead")
    args = parser.parse_args()

    server = Server(root=args.checkout.resolve()) if args.checkout else Server()
    loop = IOLoop()
    try:
        get_page(server.url)  # warm-up: imports, first compilation of the plots' templates
        costs = cost_of_a_tab(server, args.gets)
        print(f"server CPU per new tab (GET /app), {args.gets} tabs: median "
              f"{np.median(costs):.3f} s, min {costs.min():.3f} s, max {costs.max():.3f} s")

        clickers = [Clicker(Client(server.url, loop, i)) for i in range(args.open)]

        async def measure():
            for clicker in clickers:
                clicker.client.reader = asyncio.ensure_future(clicker.client.read())
            await asyncio.sleep(1.0)
            await click_for(clickers, args.seconds, args.click_every)
            baseline = [w for c in clickers for _, w in c.waits]
            phases = []
            for join in (get_page, join_session, BrowserPages)[:3 if args.pages else 2]:
                await asyncio.sleep(3.0)  # the previous joins' sessions are destroyed
                if join is BrowserPages:
                    threads = [BrowserPages(server.url, args.pages)]
                    threads[0].start()
                    while not threads[0].ready.is_set():
                        await asyncio.sleep(0.1)
                    threads[0].go.set()
                    joined_at = time.perf_counter()
                else:
                    joined_at = time.perf_counter()
                    threads = [threading.Thread(target=join, args=(server.url, i))
                               for i in range(args.joins)]
                    for thread in threads:
                        thread.start()
                clicking = asyncio.ensure_future(click_for(clickers, 1e9, args.click_every))
                while any(t.is_alive() for t in threads):
                    await asyncio.sleep(0.1)
                joins_s = time.perf_counter() - joined_at
                clicking.cancel()
                deadline = time.perf_counter() + 60
                while any(c.pending() for c in clickers) and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                phases.append(([w for c in clickers for t, w in c.waits if t >= joined_at],
                               joins_s))
                if join is BrowserPages and threads[0].error is not None:
                    print(f"browser pages failed: {threads[0].error}")
            for clicker in clickers:
                clicker.client.closing = True
                clicker.client.session.close()
            return baseline, phases

        baseline, phases = loop.run_sync(measure, timeout=1800)
        print(f"{args.open} open tabs clicking every {args.click_every} s:")
        print(f"  nobody joining ({args.seconds:.0f} s): {summary(baseline)}")
        joining = (f"{args.joins} plain GETs", f"{args.joins} sessions (pages built)",
                   f"{args.pages} Chromium pages (plots drawn)")
        for (during, joins_s), what in zip(phases, joining):
            print(f"  while {what} join at once (all done after {joins_s:.1f} s): "
                  f"{summary(during)}")
        errors = server.log_errors()
        print(f"server log: {len(errors)} error lines" + "".join(f"\n  {e}" for e in errors[:5]))
    finally:
        server.stop()
        loop.close(all_fds=True)


if __name__ == "__main__":
    main()
