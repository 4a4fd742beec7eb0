"""Steady-state training throughput of 784-500-500-10 (mini-batch 10) vs the backprop MLP.

Both train on the same synthetic MNIST-sized batches in the same run; prints images/s of each and
their ratio (target: microcircuit time / backprop time <= 2.0).

    python benchmarks/bench_steady_state.py [--batches 200] [--repeats 5]
"""

import argparse
import os
import time

# One BLAS thread: on this 2-core machine a second thread fights whatever else runs and makes
# timings erratic; both sides of the ratio get the same single core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core import steady_state  # noqa: E402
from core.baselines import MLP  # noqa: E402
from core.presets import get_preset  # noqa: E402
from core.transfer import logistic_inverse, transfer_function  # noqa: E402


def timed(function, batches):
    start = time.perf_counter()
    for inputs, targets in batches:
        function(inputs, targets)
    return time.perf_counter() - start


def paired_times(first, second, repeats):
    """``repeats`` timings of each, taken in alternation (which goes first alternates too): on a
    shared machine whose speed drifts over seconds, each pair sees about the same machine, so the
    pairs' ratios drift less than the two best times taken minutes apart."""
    pairs = []
    for i in range(repeats):
        if i % 2:
            b = second()
            pairs.append((first(), b))
        else:
            pairs.append((first(), second()))
    return np.array(pairs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    preset = get_preset("classification")
    net = preset.make_network(seed=0)
    mlp = MLP(preset.layer_sizes, transfer_function(net.params), seed=0,
              init_scale=0.05, use_bias=True)
    rng = np.random.default_rng(0)
    batch_size = 10
    labels = rng.integers(0, 10, (args.batches, batch_size))
    rates = np.where(np.arange(10) == labels[..., None], 0.8, 0.1)
    images = rng.uniform(0, 1, (args.batches, batch_size, 784))
    micro_batches = [(x, logistic_inverse(r)) for x, r in zip(images, rates)]
    mlp_batches = list(zip(images, rates))

    pairs = paired_times(
        lambda: timed(lambda x, t: steady_state.train_batch(net, x, t), micro_batches),
        lambda: timed(lambda x, t: mlp.train_batch(x, t, 0.01), mlp_batches), args.repeats)
    micro, backprop = pairs.min(axis=0)
    ratios = pairs[:, 0] / pairs[:, 1]
    n_images = args.batches * batch_size
    print(f"network 784-500-500-10, mini-batch {batch_size}, {n_images} images, best of "
          f"{args.repeats} (the two learners in alternation)")
    print(f"microcircuit (two-pass steady state): {n_images / micro:10.0f} images/s")
    print(f"backprop MLP (same sizes):            {n_images / backprop:10.0f} images/s")
    print(f"ratio microcircuit time / backprop time: {micro / backprop:.2f} of the best times, "
          f"{np.median(ratios):.2f} median of the {args.repeats} pairs "
          f"(range {ratios.min():.2f}-{ratios.max():.2f})  (target <= 2.0)")


if __name__ == "__main__":
    main()
