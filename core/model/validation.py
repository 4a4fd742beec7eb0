"""Checks of user input that raise a clear ``ValueError`` naming the parameter, value and rule."""

from __future__ import annotations

import numpy as np

from .equations import (ACCURATE_STEP, euler_stability_bound, integration_accuracy, largest_total_conductance)


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
    if inputs.shape[0] == 0:
        raise ValueError(f"input_rates has shape {inputs.shape}: a batch of no patterns; give at "
                         "least one")
    if target_potential is None:
        return inputs, None
    target = np.atleast_2d(as_finite_array("target_potential", target_potential, (sizes[-1],)))
    if target.shape[0] not in (1, inputs.shape[0]):
        raise ValueError(f"target_potential has batch size {target.shape[0]}, but input_rates has "
                         f"{inputs.shape[0]}")
    return inputs, target


MAX_WEIGHTS = 10**8
"""Most weights a network may have (0.8 GB per copy of the weights; the paper's largest network,
784-500-500-10, has 1.4 million). Larger sizes are refused before anything is allocated."""


def _whole_number(value):
    """``value`` as an int if it is a whole number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def layer_sizes(sizes, name="layer_sizes"):
    """Validate ``[n_0, n_1, ..., n_N]``: at least two layers of positive integer size, and no more
    than :data:`MAX_WEIGHTS` weights in all."""
    try:
        items = list(sizes)
    except TypeError:
        items = None
    if items is None or isinstance(sizes, (str, bytes)) or \
            any(_whole_number(n) is None for n in items):
        raise ValueError(f"{name} must be a list of positive integers, got {sizes!r}")
    sizes = [_whole_number(n) for n in items]
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"{name} must list at least an input and an output layer, each with "
                         f">= 1 neuron, got {sizes!r}")
    n_weights = weight_count(sizes)
    if n_weights > MAX_WEIGHTS:
        raise ValueError(f"{name} = {sizes!r} would need {n_weights:.3g} weights; at most "
                         f"{MAX_WEIGHTS:.0e} are supported (the paper's largest network, "
                         "784-500-500-10, has 1.4 million)")
    return tuple(sizes)


def weight_count(sizes):
    """Weights of a network of ``sizes`` (valid layer sizes): bottom-up weights, and top-down
    weights plus the two lateral matrices of every hidden layer."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + \
        sum(3 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))


def count(name, value, minimum=0):
    """Validate a count of steps, samples or iterations: an integer (not a bool, not a float)
    of at least ``minimum`` (0 or 1)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}")
    return value


def seed(value, name="seed"):
    """Validate a random seed: a non-negative integer (a whole-number float is accepted)."""
    number = _whole_number(value) if not isinstance(value, str) else None
    if number is None or number < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return number


def per_layer(name, rates, count):
    """Broadcast a list of learning rates to ``count`` layers (a single rate serves all)."""
    try:
        rates = [float(r) for r in rates]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of learning rates (numbers), got {rates!r}") \
            from None
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
            "(the default 0.1 ms is far below it)")
    return params.dt


def integration_warning(params):
    r"""One line on what is wrong with ``dt`` for the current conductances, or ``None``.

    The simulator refuses a ``dt`` at or beyond the Euler stability bound (:func:`time_step`);
    below it, a step longer than :data:`~core.model.equations.ACCURATE_STEP` times the shortest
    membrane time constant, :math:`\Delta t\,g_{\max} > 0.5`, runs but draws visibly wrong
    transients (and from :math:`\Delta t\,g_{\max} = 1` on, ringing somata and drifting weights).
    The dashboard shows this line next to the parameters.

    Returns
    -------
    str or None
        ``None`` when ``dt`` is accurate; otherwise the stability error's message (the simulator
        will refuse to run) or a warning that names ``dt``, :math:`\Delta t\,g_{\max}` and the
        largest accurate ``dt``.
    """
    try:
        time_step(params)
    except ValueError as error:
        return str(error)
    p = params
    ratio = integration_accuracy(p.dt, p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som)
    if not ratio > ACCURATE_STEP:
        return None
    g_max = largest_total_conductance(p.g_lk, p.g_B, p.g_A, p.g_D, p.g_som)
    effect = ("each step overshoots the fixed point, so the somata ring and learning drifts"
              if ratio >= 1 else "transients are off by 10 % or more")
    return (f"dt = {p.dt:g} ms is stable but inaccurate for g_max = {g_max:.3g}/ms (the largest "
            f"total somatic conductance): dt x g_max = {ratio:.2f} > {ACCURATE_STEP:g}, {effect}; "
            f"choose dt <= {ACCURATE_STEP / g_max:.3g} ms")
