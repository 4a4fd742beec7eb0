"""Euler-Maruyama throughput of the Fig. 2 network (30-50-10) with the NumPy and numba back ends.

Both back ends run the same network (batch 1, soft rectifier, sigma = 0.3, dt = 0.1 ms, plastic
W_up, W_IP and W_PI as in ModelParameters' defaults, output nudged towards a target) in the same
process, each after a warm-up call (which compiles the kernel, or loads it from numba's cache).
Prints steps/s of ``core.dynamics.run`` for each, their ratio, and where the numba back end's time
goes (target: >= 250,000 steps/s on one core).

    python benchmarks/bench_euler.py [--seconds 1.0] [--repeats 5] [--calls 500]
    python benchmarks/bench_euler.py --against ../old-checkout   # this core vs another, in turns
"""

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread: the NumPy reference's matrix products get one core, like the kernel.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core.dynamics import MAX_BLOCK, context, noise_size, run  # noqa: E402
from turns import timed_in_turns  # noqa: E402  (benchmarks/, the script's directory)
from core.network import Network  # noqa: E402
from core.parameters import ModelParameters  # noqa: E402

SIZES = (30, 50, 10)
BLOCK = MAX_BLOCK  # steps per timed call of run(): one block, one call of the kernel


def fig2_network(package=None):
    """The benchmark's network, built by this checkout's core or by ``package`` (a dict of the
    modules ``network`` and ``parameters`` of another)."""
    if package is not None:
        net = package["network"].Network(SIZES, package["parameters"].ModelParameters(sigma=0.3),
                                         seed=0)
    else:
        net = Network(SIZES, ModelParameters(sigma=0.3), seed=0)
    rng = np.random.default_rng(0)
    net.present(rng.uniform(0.0, 1.0, SIZES[0]), rng.uniform(-1.0, 1.0, SIZES[-1]))
    net.nudging = True
    return net


def best_rate(function, n_steps, repeats):
    """Best steps/s of ``function(n_steps)`` over ``repeats`` calls (the machine is shared, so the
    best run is the one least disturbed)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        function(n_steps)
        best = max(best, n_steps / (time.perf_counter() - start))
    return best


def rate_samples(function, n_steps, calls):
    """Steps/s of each of ``calls`` calls of ``function(n_steps)``."""
    samples = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        function(n_steps)
        samples[i] = n_steps / (time.perf_counter() - start)
    return samples


def steps_for(function, seconds):
    """A step count that keeps one timed call near ``seconds``."""
    start = time.perf_counter()
    function(BLOCK)
    elapsed = time.perf_counter() - start
    return max(BLOCK, int(seconds / elapsed * BLOCK) // BLOCK * BLOCK)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500,
                        help=f"timed calls of run() with numba ({BLOCK} steps each)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time the core package of another checkout of this repository "
                             "(e.g. a git worktree of an older commit), the two taking turns")
    args = parser.parse_args()
    if args.against is not None:
        compare(args.against, args.calls)
        return

    rates = {}
    for backend in ("numpy", "numba"):
        net = fig2_network()
        start = time.perf_counter()
        run(net, 10, backend=backend)
        warm_up = time.perf_counter() - start

        def simulate(n_steps, net=net, backend=backend):
            run(net, n_steps, backend=backend)

        if backend == "numba":
            # many short calls: this shared machine's speed drifts within seconds, so the best
            # and the median of ~35 ms samples say more than one or five long runs
            samples = rate_samples(simulate, BLOCK, args.calls)
            rates[backend] = samples.max()
            print(f"{backend:5s}: {rates[backend]:10.0f} steps/s   (best of {args.calls} calls of "
                  f"{BLOCK} steps; median {np.median(samples):.0f}, quartiles "
                  f"{np.percentile(samples, 25):.0f}-{np.percentile(samples, 75):.0f}; warm-up "
                  f"call {warm_up:.2f} s)")
            continue
        n_steps = steps_for(simulate, args.seconds)
        rates[backend] = best_rate(simulate, n_steps, args.repeats)
        print(f"{backend:5s}: {rates[backend]:10.0f} steps/s   (best of {args.repeats} x "
              f"{n_steps} steps; warm-up call {warm_up:.2f} s)")
    print(f"ratio numba / numpy: {rates['numba'] / rates['numpy']:.0f}x   "
          f"(target: numba >= 250,000 steps/s)")

    # Where the numba back end's time goes: run() also checks every block for divergence. The
    # kernel steps NumPy's PCG64 itself; the pre-drawn words are what it took before.
    from core._kernel import advance_compiled

    net = fig2_network()
    ctx = context(net)
    generator = net.rng.bit_generator
    words = generator.random_raw((BLOCK, noise_size(net)))
    kernel = {source: best_rate(lambda n, source=source: [
                  advance_compiled(net, ctx, BLOCK, generator if source == "PCG64" else words, 0)
                  for _ in range(n // BLOCK)], 10 * BLOCK, args.repeats)
              for source in ("PCG64", "words")}
    draw = min(_timed(lambda: generator.random_raw((BLOCK, noise_size(net))))
               for _ in range(args.repeats * 4)) / BLOCK
    print(f"numba: the compiled kernel alone runs {kernel['PCG64']:.0f} steps/s "
          f"({1e6 / kernel['PCG64']:.2f} us/step), drawing its {noise_size(net)} noise words a step "
          f"from the generator itself; given NumPy's pre-drawn words it runs {kernel['words']:.0f} "
          f"steps/s, and drawing them with random_raw costs another {draw * 1e6:.2f} us/step")


def compare(checkout, calls):
    """Steps/s of ``run()`` (numba) of this checkout's ``core`` and of ``checkout``'s, the two
    imported side by side and called in turns (:func:`turns.timed_in_turns`): both see the same
    machine, so their ratio holds even while its speed drifts."""
    source = Path(checkout) / "core"
    if not (source / "dynamics.py").is_file():
        raise SystemExit(f"--against: {checkout} has no core/dynamics.py")
    with tempfile.TemporaryDirectory() as packages:
        # a copy under another name: its modules import each other relatively, so it loads as a
        # second package next to this checkout's core (and gets its own numba cache)
        shutil.copytree(source, Path(packages) / "core_baseline",
                        ignore=shutil.ignore_patterns("__pycache__"))
        sys.path.insert(0, packages)
        runs = {"this checkout": (run, fig2_network())}
        baseline = {name: importlib.import_module(f"core_baseline.{name}")
                    for name in ("dynamics", "network", "parameters")}
        runs[str(checkout)] = (baseline["dynamics"].run, fig2_network(baseline))
        for simulate, net in runs.values():
            simulate(net, BLOCK)  # compile or load, and warm up
        contenders = tuple(lambda simulate=simulate, net=net: simulate(net, BLOCK)
                           for simulate, net in runs.values())
        times = timed_in_turns([contenders] * calls)
    mine, theirs = times.T
    for name, t in zip(runs, times.T):
        rates = BLOCK / t
        print(f"{name}: best {rates.max():.0f} steps/s, median {np.median(rates):.0f} "
              f"({calls} calls of {BLOCK} steps)")
    print(f"speed-up of this checkout: {theirs.sum() / mine.sum():.3f} (total times), "
          f"{np.median(theirs / mine):.3f} (median of the {calls} pairs)")


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
