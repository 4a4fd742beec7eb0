"""What students see on a busy server: click latency and lag measured in real browser pages.

Starts ``panel serve app/`` (``bench_load.Server``) and ``--hogs`` CPU-bound processes (each a
busy loop that ends by itself after the benchmark's time), opens ``--pages`` pages of the app in
one headless Chromium (Debian's, ``/usr/bin/chromium``), presses Play in each, lets them play for
``--seconds``, then, page after page, for ``--clicks`` rounds:

* **click**: clicks Nudging (a DOM click event) and times until the page shows the relabelled
  button, i.e. the server's answer has been applied by that page;

At the end each page is paused; **pause** is the time until its "Play" label is back, and **lag**
how far the plots were behind the server when Pause was clicked: the simulated time the status
line reports once paused (the server's) minus the newest plotted time at the click. Prints
p50 / p95 / max of each, over all pages.

    python benchmarks/bench_browser.py [--pages 10] [--hogs 2] [--seconds 20] [--clicks 3]
                                       [--checkout DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import Server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NUDGING_OFF = "Nudging off (click: show the target)"
NUDGING_ON = "Nudging on: target shown (click: off)"
LAST_TIME = """() => { const s = Bokeh.documents[0].get_model_by_name("traces");
    const t = s.data instanceof Map ? s.data.get("time") : s.data["time"];
    return t.length ? t[t.length - 1] : null; }"""
STATUS_TIME = re.compile(r"t = ([\d,.]+) ms")


def launch(playwright):
    """Debian's headless Chromium, asking no server of its own for updates or components."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def hog(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def percentiles(values):
    values = np.asarray(values, dtype=float)
    if not len(values):
        return "n/a"
    return (f"p50 {np.percentile(values, 50):.2f} s, p95 {np.percentile(values, 95):.2f} s, "
            f"max {values.max():.2f} s ({len(values)} samples)")


def status_time(page):
    match = STATUS_TIME.search(page.get_by_text("ms simulated per second").first.inner_text())
    return float(match.group(1).replace(",", "")) if match else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--checkout", type=Path, help="serve this checkout's app/ instead")
    args = parser.parse_args()

    server = Server(root=args.checkout.resolve()) if args.checkout else Server()
    # spawned, not forked: a forked hog inherited the pipe to Playwright's driver, which then
    # never saw its input close and kept the script waiting until the hog ended by itself
    spawn = multiprocessing.get_context("spawn")
    hogs = [spawn.Process(target=hog, args=(args.seconds * 4 + 300,), daemon=True)
            for _ in range(args.hogs)]
    clicks, lags, pauses = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            pages = []
            for _ in range(args.pages):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(server.url)
                page.get_by_role("button", name="Step one pattern").wait_for(timeout=120_000)
                pages.append(page)
            for hog_process in hogs:
                hog_process.start()
            for page in pages:
                page.get_by_role("button", name="▶ Play").dispatch_event("click")
            time.sleep(args.seconds)
            for round_ in range(args.clicks):
                for page in pages:
                    label = NUDGING_ON if round_ % 2 == 0 else NUDGING_OFF
                    current = NUDGING_OFF if round_ % 2 == 0 else NUDGING_ON
                    start = time.monotonic()
                    page.get_by_role("button", name=current).dispatch_event("click")
                    page.get_by_role("button", name=label).wait_for(timeout=300_000)
                    clicks.append(time.monotonic() - start)
            for page in pages:
                shown = page.evaluate(LAST_TIME)
                start = time.monotonic()
                page.get_by_role("button", name="Pause").dispatch_event("click")
                page.get_by_role("button", name="▶ Play").wait_for(timeout=300_000)
                pauses.append(time.monotonic() - start)
                page.wait_for_timeout(1000)  # the status line of the paused run
                lags.append((status_time(page) - shown) / 1000)  # simulated seconds
            report(args, clicks, pauses, lags)
            browser.close()
    finally:
        for hog_process in hogs:
            if hog_process.is_alive():
                hog_process.terminate()
        server.stop()
    errors = server.log_errors()
    print(f"server log: {len(errors)} error lines" + "".join(f"\n  {e}" for e in errors[:5]))


def report(args, clicks, pauses, lags):
    print(f"{args.pages} pages in headless Chromium, {args.hogs} CPU-bound processes beside the "
          f"server, {args.seconds:.0f} s of play before measuring:")
    print(f"  click until the page shows the answer: {percentiles(clicks)}")
    print(f"  pause until the page shows it:         {percentiles(pauses)}")
    print(f"  plots behind the server at Pause (simulated seconds): "
          f"{percentiles(lags).replace(' s,', ',').replace(' s ', ' ')}", flush=True)


if __name__ == "__main__":
    main()
