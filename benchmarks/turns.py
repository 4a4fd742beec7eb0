"""Timing contenders in turns, which is how the benchmarks measure ratios on this shared machine.

Its speed drifts within seconds (other jobs, the host), so timing one contender for a while and
then the other lets the drift into their ratio. Calls that alternate, each a few milliseconds to
a few tens of milliseconds, see about the same machine; so does whichever goes first, which
alternates too.
"""

import time

import numpy as np


def timed_in_turns(rounds):
    """Seconds taken by each call of each round, the calls of a round made one after another.

    Parameters
    ----------
    rounds : iterable of sequences of callables
        Each round: one argument-free call per contender, always in the same order. Even rounds
        call them in that order, odd rounds in reverse.

    Returns
    -------
    ndarray, shape (n_rounds, n_contenders)
    """
    times = []
    for i, calls in enumerate(rounds):
        row = [0.0] * len(calls)
        for j in (range(len(calls)) if i % 2 == 0 else reversed(range(len(calls)))):
            start = time.perf_counter()
            calls[j]()
            row[j] = time.perf_counter() - start
        times.append(row)
    return np.array(times)
