"""Checks of user input that raise a clear ``ValueError`` naming the parameter, value and rule."""

from __future__ import annotations

import numpy as np

from .equations import euler_stability_bound


def as_finite_array(name, value, shape_tail=None, *, ndim_allowed=(1, 2)):
    """Return ``value`` as a float array, checking it is finite and ends with ``shape_tail``.

    Parameters
    ----------
    name : str
        How the caller calls the value (used in the error).
    value : array_like
    shape_tail : tuple of int, optional
        Required trailing shape (e.g. ``(n_0,)`` for input rates).
    ndim_allowed : tuple of int
        Allowed numbers of dimensions.
    """
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if array.ndim not in ndim_allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim_allowed))} dimensions, "
                         f"got shape {array.shape}")
    if shape_tail is not None and array.shape[array.ndim - len(shape_tail):] != tuple(shape_tail):
        raise ValueError(f"{name} has shape {array.shape}; expected (..., "
                         f"{', '.join(map(str, shape_tail))})")
    if not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)].flat[0]
        raise ValueError(f"{name} contains a non-finite value ({bad!r}); every entry must be finite")
    return array


def pattern(sizes, input_rates, target_potential=None):
    """Validate a batch of input rates and (optional) output targets for a network of ``sizes``.

    Returns
    -------
    inputs : ndarray, shape (B, n_0)
    target : ndarray, shape (1, n_N) or (B, n_N), or None
    """
    inputs = np.atleast_2d(as_finite_array("input_rates", input_rates, (sizes[0],)))
    if target_potential is None:
        return inputs, None
    target = np.atleast_2d(as_finite_array("target_potential", target_potential, (sizes[-1],)))
    if target.shape[0] not in (1, inputs.shape[0]):
        raise ValueError(f"target_potential has batch size {target.shape[0]}, but input_rates has "
                         f"{inputs.shape[0]}")
    return inputs, target


def layer_sizes(sizes):
    """Validate ``[n_0, n_1, ..., n_N]``: at least two layers of positive integer size."""
    try:
        sizes = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"layer_sizes must be a list of positive integers, got {sizes!r}") from None
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"layer_sizes must list at least an input and an output layer, each with "
                         f">= 1 neuron, got {sizes!r}")
    return tuple(sizes)


def per_layer(name, rates, count):
    """Broadcast a list of learning rates to ``count`` layers (a single rate serves all)."""
    rates = [float(r) for r in rates]
    if len(rates) == 1:
        return rates * count
    if len(rates) != count:
        raise ValueError(f"{name} has {len(rates)} rates ({rates}); this network needs {count} "
                         "(one per layer) or 1 (the same for all)")
    return rates


def time_step(params):
    """Check that ``dt`` is below the Euler stability bound of the current conductances."""
    bound = euler_stability_bound(params.g_lk, params.g_B, params.g_A, params.g_D, params.g_som)
    if not params.dt < bound:
        raise ValueError(
            f"dt = {params.dt} ms is at or beyond the Euler stability bound {bound:.4g} ms "
            f"= 2 / (largest total somatic conductance) for g_lk={params.g_lk}, g_B={params.g_B}, "
            f"g_A={params.g_A}, g_D={params.g_D}, g_som={params.g_som}; choose dt < {bound:.4g} "
            "(0.1 ms is the paper's)")
    return params.dt
