"""When a simulation counts as diverged (potentials that are not finite or run away), and what
the full dynamics do then (leave the network as it was, raise an error that says what to change).

The full dynamics (:mod:`core.simulate.dynamics`) and the steady state
(:mod:`core.simulate.steady_state`) both stop with a :class:`~core.errors.DivergenceError` when
:func:`runaway_potential` finds one.
"""

from __future__ import annotations

import numpy as np

from ..errors import DivergenceError
from ..model.equations import euler_stability_bound

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


POTENTIAL_LABELS = {"u_P": "pyramidal potential u_P", "u_I": "interneuron potential u_I",
                     "v_B": "basal potential v_B", "v_A": "apical potential v_A",
                     "v_I": "interneuron dendritic potential v_I",
                     "v_TD": "top-down potential v_TD"}


def check_block(u_P, u_I, weights, first_step, n_steps, ctx):
    """After a block of steps, before the network takes its results (the potentials by layer, the
    weights as a :class:`~core.model.layers.Weights`): raise when a potential ran away or a weight
    is not finite."""
    # One reduction per array (this runs after every block, also in the dashboard's short
    # blocks): a sum is non-finite when any entry is (or when entries near 1e308 overflow it,
    # which is divergence as well).
    runaway = runaway_potential(u_P, u_I)
    if runaway is not None:
        name, k = runaway
        raise_diverged(weights, first_step, n_steps, ctx, f"{POTENTIAL_LABELS[name]} of layer {k}")
    for name, k, W in weights.items():
        if not np.isfinite(W.sum()):
            raise_diverged(weights, first_step, n_steps, ctx, f"weights {name} of layer {k}")


def check_dendrites(comp, weights, first_step, n_steps, ctx):
    """As :func:`check_block`, for the dendritic potentials of ``comp`` (when recorded)."""
    # Weights that run away (a learning rate too large for them) need not move the somata -- the
    # apical input with g_A = 0, the interneuron dendrite with g_D = 0 -- while the dendritic
    # potentials they make are recorded; checked only where they are computed anyway.
    runaway = first_runaway((("v_B", comp.v_B), ("v_A", comp.v_A), ("v_I", comp.v_I),
                              ("v_TD", comp.v_TD)))
    if runaway is not None:
        name, k = runaway
        raise_diverged(weights, first_step, n_steps, ctx, f"{POTENTIAL_LABELS[name]} of layer {k}")


def raise_diverged(weights, first_step, n_steps, ctx, where):
    """Raise a :class:`~core.errors.DivergenceError` saying where, when and what to change
    (``weights``: those the block ended with; the network still holds those before it)."""
    biggest = weights.largest_magnitude()
    p = ctx.p
    bound = euler_stability_bound(p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som)
    raise DivergenceError(
        f"simulation diverged between step {first_step} and {first_step + n_steps} "
        f"(t = {first_step * p.dt:g}..{(first_step + n_steps) * p.dt:g} ms): {where} became "
        f"non-finite or exceeded {RUNAWAY:g} (largest weight then {biggest:.3g}). Likely causes: "
        f"learning rates too large for these weights (eta_PP_up={p.eta_PP_up}, eta_IP={p.eta_IP}, "
        f"eta_PI={p.eta_PI}), feedback too strong (g_A={p.g_A}, g_som={p.g_som}, large "
        f"top-down/interneuron weights) or noise too strong (sigma={p.sigma}); dt = {p.dt} ms "
        f"against the stability bound {bound:.3g} ms. Reduce the learning rates, weight scales, "
        "sigma or dt. The network is left as it was before these steps.")
