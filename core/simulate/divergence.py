"""When a simulation counts as diverged: potentials that are not finite or run away.

The full dynamics (:mod:`core.simulate.dynamics`) and the steady state (:mod:`core.simulate.steady_state`) both
stop with a :class:`~core.errors.DivergenceError` when :func:`runaway_potential` finds one.
"""

from __future__ import annotations

import numpy as np

RUNAWAY = 1e6
"""Potentials beyond this magnitude count as diverged (a settled network stays within ~1e2)."""


def runaway_potential(u_P, u_I):
    """The first ``("u_P" or "u_I", layer)`` whose potentials are non-finite or beyond
    :data:`RUNAWAY`, or ``None``. One reduction per array: ``not max <= RUNAWAY`` is also true for
    NaN. The divergence checks of the dynamics and of the steady state both use it."""
    return first_runaway((("u_P", u_P), ("u_I", u_I)))


def first_runaway(populations):
    """The first ``(name, layer)`` of ``populations`` -- pairs of a name and a dict of arrays by
    layer -- whose values are non-finite or beyond :data:`RUNAWAY`, or ``None``."""
    for name, potentials in populations:
        for k, u in potentials.items():
            if not np.abs(u).max() <= RUNAWAY:
                return name, k
    return None
