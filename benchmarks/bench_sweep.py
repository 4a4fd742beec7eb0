"""What ``python -m core sweep`` gains on 2 cores: 8 ``reproduce fig2 --quick`` runs (seeds 0-7)
one after another, each its own process, against the same 8 runs through ``sweep --workers 2``
(a LocalCluster of 2 single-threaded worker processes).

Prints both wall times and their ratio (issue 13's target: sweep / serial <= 0.6), and checks
that the two ways gave the same metrics (all but the run time). BLAS is pinned to one thread in
every run, so that each run uses one core as the cluster's workers assume.

    python benchmarks/bench_sweep.py [--runs 8] [--experiment fig2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
ENV = {**os.environ, **ONE_THREAD,
       "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def core(*arguments):
    subprocess.run([sys.executable, "-m", "core", *arguments], env=ENV, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def metrics(directory):
    values = json.loads((Path(directory) / "metrics.json").read_text())
    values.pop("run_time_s")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--experiment", default="fig2")
    args = parser.parse_args()
    seeds = range(args.runs)
    with tempfile.TemporaryDirectory() as scratch:
        serial = timed(lambda: [core("reproduce", args.experiment, "--quick", "--no-progress",
                                     "--seed", str(seed), "--out", f"{scratch}/serial/{seed}")
                                for seed in seeds])
        swept = timed(lambda: core("sweep", args.experiment, "--quick", "--no-progress",
                                   "--seeds", f"0-{args.runs - 1}", "--workers", "2",
                                   "--out", f"{scratch}/sweep"))
        same = all(metrics(f"{scratch}/serial/{seed}")
                   == metrics(f"{scratch}/sweep/{args.experiment}-quick-seed{seed}")
                   for seed in seeds)
    print(f"{args.runs} x reproduce {args.experiment} --quick, one after another: {serial:.1f} s")
    print(f"the same through sweep --workers 2:                  {swept:.1f} s")
    print(f"ratio sweep / serial: {swept / serial:.2f} (target <= 0.6); "
          f"same metrics: {'yes' if same else 'NO'}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
