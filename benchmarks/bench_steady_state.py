"""Steady-state training throughput of 784-500-500-10 (mini-batch 10) vs the backprop MLP.

Both train on the same synthetic MNIST-sized batches in the same run, taking turns batch by batch;
prints images/s of each and the ratio of their times (target: microcircuit / backprop <= 2.0).

    python benchmarks/bench_steady_state.py [--batches 200] [--repeats 5]
"""

import argparse
import os

# One BLAS thread: on this 2-core machine a second thread fights whatever else runs and makes
# timings erratic; both sides of the ratio get the same single core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from core.simulate import steady_state  # noqa: E402
from core.protocols.baselines import MLP  # noqa: E402
from core.protocols.presets import get_preset  # noqa: E402
from core.model.transfer import logistic_inverse, transfer_function  # noqa: E402
from turns import timed_in_turns  # noqa: E402  (benchmarks/, the script's directory)


def interleaved_times(first, second, batches_first, batches_second):
    """Total time of ``first`` over ``batches_first`` and of ``second`` over ``batches_second``,
    the two taking turns batch by batch (:func:`turns.timed_in_turns`). A mini-batch takes
    ~10 ms, so whatever slows this shared machine down for longer than that slows both learners
    alike, and the ratio of the totals hardly moves with it."""
    return timed_in_turns([(lambda a=a: first(*a), lambda b=b: second(*b))
                           for a, b in zip(batches_first, batches_second)]).sum(axis=0)


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

    rounds = np.array([interleaved_times(
        lambda x, t: steady_state.train_batch(net, x, t),
        lambda x, t: mlp.train_batch(x, t, 0.01), micro_batches, mlp_batches)
        for _ in range(args.repeats)])
    micro, backprop = rounds.min(axis=0)
    ratios = rounds[:, 0] / rounds[:, 1]
    n_images = args.batches * batch_size
    print(f"network 784-500-500-10, mini-batch {batch_size}, {args.repeats} rounds of {n_images} "
          f"images (the two learners taking turns batch by batch)")
    print(f"microcircuit (two-pass steady state): {n_images / micro:10.0f} images/s (best round)")
    print(f"backprop MLP (same sizes):            {n_images / backprop:10.0f} images/s (best round)")
    print(f"ratio microcircuit time / backprop time: {np.median(ratios):.2f} median of the "
          f"{args.repeats} rounds (range {ratios.min():.2f}-{ratios.max():.2f})  (target <= 2.0)")


if __name__ == "__main__":
    main()
