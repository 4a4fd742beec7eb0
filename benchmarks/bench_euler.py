"""Euler-Maruyama throughput of the Fig. 2 network (30-50-10) with the NumPy and numba back ends.

Both back ends run the same network (soft rectifier, sigma = 0.3, dt = 0.1 ms, plastic W_up, W_IP
and W_PI as in ModelParameters' defaults, output nudged towards a target) in the same process, each
after a warm-up call (which compiles the step, or loads it from numba's cache), for a batch of 1
and of 10. Prints steps/s of ``core.simulate.dynamics.run`` for each, and the time of the first
compilation in a fresh process with an empty numba cache (targets, issue 18: compiled >= 150,000
steps/s at batch 1, compilation <= 10 s; NumPy at batch 10 >= 0.5x its batch-1 step rate).

    python benchmarks/bench_euler.py [--seconds 1.0] [--repeats 5] [--calls 500] [--no-compile]
    python benchmarks/bench_euler.py --against ../old-checkout [--backend numpy]  # in turns
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread: the matrix products get one core, on both back ends.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core.simulate.dynamics import MAX_BLOCK, run  # noqa: E402
from turns import timed_in_turns  # noqa: E402  (benchmarks/, the script's directory)
from core.model.network import Network  # noqa: E402
from core.model.parameters import ModelParameters  # noqa: E402

SIZES = (30, 50, 10)
BLOCK = MAX_BLOCK  # steps per timed call of run(): one block, one call of the step


def fig2_network(package=None, batch=1):
    """The benchmark's network, built by this checkout's core or by ``package`` (a dict of the
    modules ``network`` and ``parameters`` of another), showing ``batch`` patterns at once."""
    if package is not None:
        net = package["network"].Network(SIZES, package["parameters"].ModelParameters(sigma=0.3),
                                         seed=0)
    else:
        net = Network(SIZES, ModelParameters(sigma=0.3), seed=0)
    rng = np.random.default_rng(0)
    net.present(rng.uniform(0.0, 1.0, (batch, SIZES[0])),
                rng.uniform(-1.0, 1.0, (batch, SIZES[-1])))
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


COMPILE = """
import time
start = time.perf_counter()
from core.simulate.dynamics import run
from core.model.network import Network
net = Network((30, 50, 10), seed=0)
net.present([0.5] * 30, [0.0] * 10)
run(net, 10, backend="numba")
print(time.perf_counter() - start)
"""


def first_compilation():
    """Seconds from import to the first compiled steps, in a fresh process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        result = subprocess.run([sys.executable, "-c", COMPILE], capture_output=True, text=True,
                                check=True, env=dict(os.environ, NUMBA_CACHE_DIR=cache))
        return float(result.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500,
                        help=f"timed calls of run() with numba ({BLOCK} steps each)")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip timing the first compilation (~30 s)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time the core package of another checkout of this repository "
                             "(e.g. a git worktree of an older commit), the two taking turns")
    parser.add_argument("--backend", choices=("numpy", "numba"), default="numba",
                        help="the back end --against compares")
    args = parser.parse_args()
    if args.against is not None:
        compare(args.against, args.calls, args.backend)
        return

    rates = {}
    for backend in ("numpy", "numba"):
        for batch in (1, 10):
            net = fig2_network(batch=batch)
            start = time.perf_counter()
            run(net, 10, backend=backend)
            warm_up = time.perf_counter() - start

            def simulate(n_steps, net=net, backend=backend):
                run(net, n_steps, backend=backend)

            if backend == "numba":
                # many short calls: this shared machine's speed drifts within seconds, so the
                # best and the median of short samples say more than one or five long runs
                samples = rate_samples(simulate, BLOCK // 10, args.calls)
                rates[backend, batch] = np.median(samples)
                print(f"{backend} batch {batch:2d}: median {np.median(samples):8.0f} steps/s, best "
                      f"{samples.max():.0f}, quartiles {np.percentile(samples, 25):.0f}-"
                      f"{np.percentile(samples, 75):.0f} ({args.calls} calls of {BLOCK // 10} "
                      f"steps; warm-up call {warm_up:.2f} s)")
                continue
            n_steps = steps_for(simulate, args.seconds)
            rates[backend, batch] = best_rate(simulate, n_steps, args.repeats)
            print(f"{backend} batch {batch:2d}: best {rates[backend, batch]:8.0f} steps/s "
                  f"({args.repeats} x {n_steps} steps; warm-up call {warm_up:.2f} s)")
    print(f"ratio numba / numpy at batch 1: {rates['numba', 1] / rates['numpy', 1]:.0f}x; "
          f"batch 10 / batch 1 step rate: numpy {rates['numpy', 10] / rates['numpy', 1]:.2f}, "
          f"numba {rates['numba', 10] / rates['numba', 1]:.2f}")
    if not args.no_compile:
        print(f"first compilation (empty numba cache, fresh process): {first_compilation():.1f} s")


def compare(checkout, calls, backend):
    """Steps/s of ``run()`` on ``backend`` of this checkout's ``core`` and of ``checkout``'s, the
    two imported side by side and called in turns (:func:`turns.timed_in_turns`): both see the
    same machine, so their ratio holds even while its speed drifts."""
    source = Path(checkout) / "core"
    # the modules' places: since the layout of issue 18, in core/model and core/simulate
    places = {"dynamics": "simulate.dynamics", "network": "model.network",
              "parameters": "model.parameters"}
    if not (source / "simulate" / "dynamics.py").is_file():
        places = {name: name for name in places}
    if not (source / places["dynamics"].replace(".", "/")).with_suffix(".py").is_file():
        raise SystemExit(f"--against: {checkout} has no core/simulate/dynamics.py or "
                         "core/dynamics.py")
    with tempfile.TemporaryDirectory() as packages:
        # a copy under another name: its modules import each other relatively, so it loads as a
        # second package next to this checkout's core (and gets its own numba cache)
        shutil.copytree(source, Path(packages) / "core_baseline",
                        ignore=shutil.ignore_patterns("__pycache__"))
        sys.path.insert(0, packages)
        runs = {"this checkout": (run, fig2_network())}
        block = BLOCK if backend == "numba" else BLOCK // 50
        baseline = {name: importlib.import_module(f"core_baseline.{place}")
                    for name, place in places.items()}
        runs[str(checkout)] = (baseline["dynamics"].run, fig2_network(baseline))
        for simulate, net in runs.values():
            simulate(net, block, backend=backend)  # compile or load, and warm up
        contenders = tuple(lambda simulate=simulate, net=net: simulate(net, block, backend=backend)
                           for simulate, net in runs.values())
        times = timed_in_turns([contenders] * calls)
    mine, theirs = times.T
    for name, t in zip(runs, times.T):
        rates = block / t
        print(f"{name} ({backend}): best {rates.max():.0f} steps/s, median "
              f"{np.median(rates):.0f} ({calls} calls of {block} steps)")
    print(f"speed-up of this checkout: {theirs.sum() / mine.sum():.3f} (total times), "
          f"{np.median(theirs / mine):.3f} (median of the {calls} pairs)")


if __name__ == "__main__":
    main()
