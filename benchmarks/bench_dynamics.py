"""Euler-Maruyama steps per second of the Fig. 2 network (30-50-10, plasticity and noise on).

Measures the NumPy reference and the compiled kernel in the same run (after a warm-up that
compiles the kernel) and prints both and their ratio. Target: >= 250,000 steps/s on one core.

    python benchmarks/bench_dynamics.py [--steps 200000] [--batch 1]
"""

import argparse
import os
import time

# One BLAS thread, one core: the target is single-core speed and the machine is shared.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core.dynamics import run  # noqa: E402
from core.presets import get_preset  # noqa: E402


def steps_per_second(backend, n_steps, batch, repeats=3):
    net = get_preset("fig2").make_network(seed=0)  # sigma = 0.3, W_up, W_IP, W_PI plastic
    rng = np.random.default_rng(0)
    net.present(rng.uniform(0, 1, (batch, 30)), rng.uniform(0, 3, (batch, 10)))
    net.nudging = True
    run(net, 100, backend=backend)  # warm-up (compiles the kernel)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run(net, n_steps, backend=backend)
        best = min(best, time.perf_counter() - start)
    return n_steps / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    numpy_rate = steps_per_second("numpy", max(args.steps // 50, 1000), args.batch)
    numba_rate = steps_per_second("numba", args.steps, args.batch)
    print(f"Fig. 2 network 30-50-10, batch {args.batch}, sigma 0.3, plasticity on, dt 0.1 ms")
    print(f"numpy reference: {numpy_rate:12,.0f} steps/s")
    print(f"numba kernel:    {numba_rate:12,.0f} steps/s  (target >= 250,000)")
    print(f"speed-up:        {numba_rate / numpy_rate:12.1f} x")
    print(f"simulated time per wall second (numba): {numba_rate * 0.1 / 1000:.1f} s")


if __name__ == "__main__":
    main()
