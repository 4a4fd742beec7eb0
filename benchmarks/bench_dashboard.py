"""Live speed of the dashboard: plot updates per second and simulated steps per second.

Drives the app object without a browser, the way ``panel serve`` does: the App is rendered into a
Bokeh Document (so every update really builds the stream messages a browser would receive) and its
``tick`` is called on the play loop's schedule (one tick every ``TICK_MS``, sleeping what is left
of the period). Targets for the Fig. 2 network (issue 4): >= 10 plot updates per second and >=
50,000 Euler steps per second including the plotting (>= 5 simulated seconds per wall second).

    python benchmarks/bench_dashboard.py [--scenario fig2] [--seconds 10]
"""

import argparse
import os
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
from main import TICK_BUDGET_S, TICK_MS, App  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="fig2")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    app = App(scenario=args.scenario)
    pn.panel(app).get_root(Document(), comm=Comm())
    app.nudging = True
    for _ in range(5):  # warm-up: load the compiled kernel, settle the speed estimate
        app.tick()

    period = TICK_MS / 1000
    durations, steps = [], 0
    start_steps, start_time = app.simulation.network.state.steps, app.simulation.network.state.time
    start = time.perf_counter()
    next_tick = start
    while time.perf_counter() - start < args.seconds:
        began = time.perf_counter()
        app.tick()
        durations.append(time.perf_counter() - began)
        next_tick += period
        time.sleep(max(0.0, next_tick - time.perf_counter()))
        next_tick = max(next_tick, time.perf_counter() - period)  # a late tick is skipped
    elapsed = time.perf_counter() - start
    net = app.simulation.network
    steps = net.state.steps - start_steps
    simulated_ms = net.state.time - start_time
    durations = np.array(durations) * 1000
    print(f"scenario {args.scenario}, network {list(net.sizes)}, {elapsed:.1f} s of play loop "
          f"(tick every {TICK_MS} ms)")
    print(f"plot updates:  {len(durations) / elapsed:6.1f} per second   (target >= 10)")
    print(f"simulation:    {steps / elapsed:8.0f} steps/s = {simulated_ms / elapsed / 1000:.2f} "
          "simulated s per wall s   (target >= 50,000 steps/s, >= 5 s/s)")
    print(f"tick duration: median {np.median(durations):.1f} ms, p95 "
          f"{np.percentile(durations, 95):.1f} ms, max {durations.max():.1f} ms "
          f"(simulation budget {1000 * TICK_BUDGET_S:.0f} ms)")
    print(f"plot rows streamed: {len(app.plots.traces.data['time'])} trace samples kept, "
          f"{len(app.plots.progress.data['time'])} progress rows kept")


if __name__ == "__main__":
    main()
