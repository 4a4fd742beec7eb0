"""What students see on a busy server: click latency and lag measured in real browser pages.

Starts ``panel serve app/`` (``bench_load.Server``) and ``--hogs`` CPU-bound processes (each a
busy loop that ends by itself after the benchmark's time), opens ``--pages`` pages of the app in
one headless Chromium (Debian's, ``/usr/bin/chromium``), presses Play in each, lets them play for
``--seconds`` (counting the plot updates each page draws after the first 5 s: the smoothness
of what a student watches), then, page after page, for ``--clicks`` rounds:

* **click**: clicks Nudging (a DOM click on the button) and times until the page shows the
  relabelled button, i.e. the server's answer has been applied by that page.

At the end each page is paused; **pause** is the time until its "Play" label is back. Both are
timed in the page, from the click to the first animation frame that shows the answer; how long
this process (itself short of CPU) took to notice is printed too. **lag** is how far the plots
were behind the server when Pause was clicked: the simulated time the status line reports once
paused (the server's) minus the newest plotted time at the click. Prints p50 / p95 / max of each,
over all pages.

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
WARM_UP_S = 5.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NUDGING_OFF = "Nudging off (click: show the target)"
NUDGING_ON = "Nudging on: target shown (click: off)"
LAST_TIME = """() => { const s = Bokeh.documents[0].get_model_by_name("traces");
    const t = s.data instanceof Map ? s.data.get("time") : s.data["time"];
    return t.length ? t[t.length - 1] : null; }"""
DRAWN = """() => { const s = Bokeh.documents[0].get_model_by_name("traces");
    return s.tags.length ? s.tags[0] : 0; }"""
STATUS_TIME = re.compile(r"t = ([\d,.]+) ms")
CLICK_UNTIL_SHOWN = """async ([current, wanted]) => {
    // Panel draws its widgets in shadow roots: search them all
    const find = (text) => {
        const roots = [document];
        while (roots.length) {
            for (const element of roots.pop().querySelectorAll("*")) {
                if (element.shadowRoot) roots.push(element.shadowRoot);
                if (element.tagName === "BUTTON" && element.textContent.trim() === text)
                    return element;
            }
        }
        return null;
    };
    const button = find(current);
    const start = performance.now();
    button.click();
    // the first animation frame in which the answer is on the page (checked once per frame, the
    // way a student would see it): measured in the page, so that the time the busy benchmark
    // process and Playwright's driver take to notice does not count
    while (true) {
        await new Promise(requestAnimationFrame);
        const shown = button.isConnected ? button.textContent.trim() === wanted : find(wanted);
        if (shown) return (performance.now() - start) / 1000;
    }
}"""


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
    clicks, lags, pauses, noticed = [], [], [], []
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
            time.sleep(WARM_UP_S)  # the first updates (axes, hints) are not the steady state
            drawn = [page.evaluate(DRAWN) for page in pages]
            start = time.monotonic()
            time.sleep(max(0.0, args.seconds - WARM_UP_S))
            drawn = [page.evaluate(DRAWN) - before for page, before in zip(pages, drawn)]
            rates = np.array(drawn) / (time.monotonic() - start)
            for round_ in range(args.clicks):
                for page in pages:
                    label = NUDGING_ON if round_ % 2 == 0 else NUDGING_OFF
                    current = NUDGING_OFF if round_ % 2 == 0 else NUDGING_ON
                    start = time.monotonic()
                    clicks.append(page.evaluate(CLICK_UNTIL_SHOWN, [current, label]))
                    noticed.append(time.monotonic() - start)
            for page in pages:
                shown = page.evaluate(LAST_TIME)
                start = time.monotonic()
                pauses.append(page.evaluate(CLICK_UNTIL_SHOWN, ["Pause", "▶ Play"]))
                noticed.append(time.monotonic() - start)
                page.wait_for_timeout(1000)  # the status line of the paused run
                lags.append((status_time(page) - shown) / 1000)  # simulated seconds
            report(args, clicks, pauses, lags, noticed, rates)
            browser.close()
    finally:
        for hog_process in hogs:
            if hog_process.is_alive():
                hog_process.terminate()
        server.stop()
    errors = server.log_errors()
    print(f"server log: {len(errors)} error lines" + "".join(f"\n  {e}" for e in errors[:5]))


def report(args, clicks, pauses, lags, noticed, rates):
    print(f"{args.pages} pages in headless Chromium, {args.hogs} CPU-bound processes beside the "
          f"server, {args.seconds:.0f} s of play before measuring:")
    print(f"  plot updates drawn per second while playing, per page: min {rates.min():.1f}, "
          f"median {np.median(rates):.1f}, max {rates.max():.1f}")
    print(f"  click until the page shows the answer: {percentiles(clicks)}")
    print(f"  pause until the page shows it:         {percentiles(pauses)}")
    print(f"  plots behind the server at Pause (simulated seconds): "
          f"{percentiles(lags).replace(' s,', ',').replace(' s ', ' ')}")
    print(f"  click or pause until this process noticed: {percentiles(noticed)}", flush=True)


if __name__ == "__main__":
    main()
