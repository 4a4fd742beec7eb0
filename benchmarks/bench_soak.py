"""Soak: one dashboard session playing for a long time keeps bounded memory and never shows NaN.

An accelerated equivalent of an afternoon of play: the App is rendered into a Bokeh Document (as
under ``panel serve``) and ticked back to back, without the 100 ms pause between ticks, and
every tick measures and streams a progress row (the served app does so twice a second), so every
bounded buffer -- the plots' rollover sources, the trace history for export -- fills to its cap
within the first minute. Every ``--report`` seconds it prints the process's resident memory,
the simulated time and whether any plotted or recorded value is non-finite.

    python benchmarks/bench_soak.py [--scenario fig2] [--seconds 600] [--report 60]
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import panel as pn  # noqa: E402
from bokeh.document import Document  # noqa: E402
from pyviz_comms import Comm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
import main  # noqa: E402


def resident_mb():
    """Current resident set size of this process (MB), from /proc."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def all_finite(app):
    sources = (app.plots.traces.data, app.plots.progress.data)
    plotted = all(np.all(np.isfinite(np.asarray(values, dtype=float)))
                  for data in sources for values in data.values())
    state = app.simulation.network.state
    return (plotted and np.all(np.isfinite(app.simulation.history.table()))
            and all(np.all(np.isfinite(u)) for u in state.u_P.values()))


def main_():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="fig2")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--report", type=float, default=60.0)
    args = parser.parse_args()

    main.MEASURE_EVERY_S = 0.0  # accelerated: a progress row at every tick
    app = main.App(scenario=args.scenario)
    pn.panel(app).get_root(Document(), comm=Comm())
    app.nudging = True
    print(f"scenario {args.scenario}; RSS at start {resident_mb():.1f} MB")
    print(f"{'wall s':>7} {'simulated s':>12} {'ticks':>7} {'RSS MB':>8} {'finite':>7}")
    start = time.perf_counter()
    next_report, ticks, rows = start, 0, []
    while True:
        now = time.perf_counter()
        if now >= next_report:
            row = (now - start, app.simulation.network.state.time / 1000, ticks, resident_mb(),
                   all_finite(app))
            rows.append(row)
            print(f"{row[0]:7.0f} {row[1]:12.1f} {row[2]:7d} {row[3]:8.1f} {str(row[4]):>7}",
                  flush=True)
            next_report += args.report
            if now - start >= args.seconds:
                break
        app.tick()
        ticks += 1
        if app.message:
            print("paused:", app.message)
            break
    after_warm_up = [r[3] for r in rows[1:]]
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB; "
          f"RSS from the first report on: {min(after_warm_up):.1f}-{max(after_warm_up):.1f} MB; "
          f"all values finite: {all(r[4] for r in rows)}")


if __name__ == "__main__":
    main_()
