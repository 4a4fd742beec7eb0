r"""The full time-continuous dynamics: Euler-Maruyama steps, written once.

:func:`advance` is the whole simulator of the full dynamics. It runs as plain NumPy, and
:mod:`core.simulate.twins` hands *this same source* (and the functions of
:mod:`core.model.equations` and :mod:`core.model.transfer` it calls) to numba, when numba is
installed, to run it without returning to Python between steps. Change an equation in
:mod:`core.model.equations` and both follow it.

One step of length :math:`\Delta t`, for each layer :math:`k = 1..N` in turn (every right-hand side
reads the state at time :math:`t`: the rates of all layers are computed first, and a layer's own
potentials change only after everything that reads them has been computed):

1. dendritic potentials (Eqs. 3-5) from the rates;
2. somatic drifts: hidden pyramids Eq. 1, the output pyramids with the teaching current
   :math:`g_\mathrm{som}(u^\mathrm{trgt} - u)` while nudging, interneurons Eq. 2 nudged by the
   next layer's pyramids;
3. plasticity (from step ``learn_from`` of the block on, i.e. after the learning lag): the
   induction terms (Eqs. 7-10) are low-passed with :math:`\tau_w` and consolidated,
   :math:`W \mathrel{+}= \eta\,\Delta t\,\Delta`;
4. :math:`u \leftarrow u + \Delta t\,\mathrm{drift} + \sigma\sqrt{\Delta t}\,\xi`, with
   :math:`\xi \sim N(0, 1)` from the network's ``numpy.random.Generator``
   (``standard_normal``), drawn for the pyramids of layer :math:`k`, then its interneurons;

then inputs and targets move towards the current pattern through the :math:`\tau_0` low-pass.

Containers
----------
numba compiles tuples of arrays, not dictionaries, so the network's per-layer dictionaries are
passed as tuples indexed by the layer number: ``u_P[k]`` is :math:`u^P_k` for ``k = 1..N`` and
``u_I[k]``, ``W_down[k]``, ``W_IP[k]``, ``W_PI[k]`` belong to hidden layer ``k = 1..N-1``. Index 0
holds an empty array (layer 0 is the input: it has rates but no soma, no weights onto it and no
interneurons). :func:`core.simulate.dynamics.run` builds these tuples around the network's own
arrays, which are updated in place.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model import equations as eq
from ..model.transfer import rate


class Plastic(NamedTuple):
    """One value per plastic quantity and layer, each a tuple (or array) indexed by layer:
    the weights, their low-pass filtered induction terms, or their learning rates."""

    W_up: tuple
    W_down: tuple
    W_IP: tuple
    W_PI: tuple
    b_up: tuple
    b_IP: tuple


class Inputs(NamedTuple):
    """The filtered input rates and targets, ``(B, n)``, and the pattern they move towards."""

    r_input: np.ndarray
    u_target: np.ndarray
    input_pattern: np.ndarray
    target_pattern: np.ndarray


class Constants(NamedTuple):
    r"""The model parameters one block of steps reads, as plain numbers."""

    dt: float
    g_lk: float
    g_B: float
    g_A: float
    g_D: float
    g_som: float
    g_som_output: float
    r""":math:`g_\mathrm{som}` onto the output layer: 0 while nudging is off."""
    noise_scale: float
    r""":math:`\sigma\sqrt{\Delta t}`, 0 without noise (then no number is drawn)."""
    tau_w: float
    tau_0: float
    basal_attenuation: np.ndarray
    r""":math:`g_B/(g_\mathrm{lk}+g_B+g_A)` per layer (with :math:`g_A = 0` in the output layer)."""
    interneuron_attenuation: float
    thresholds: bool
    """Whether the network has learnable thresholds ``b_up``, ``b_IP``."""


def advance(n_steps, learn_from, c, phi, u_P, u_I, inputs, weights, traces, rates, rng, time,
            pattern_time):
    r"""Advance the network by ``n_steps`` Euler-Maruyama steps, in place.

    Parameters
    ----------
    n_steps : int
    learn_from : int
        Plasticity acts from this step of the block on: 0 for every step, ``n_steps`` or more
        for none (the learning lag of a pattern ends within the block, or learning is off).
    c : Constants
    phi : Phi
        The rate function :math:`\varphi`.
    u_P, u_I : tuple of ndarray
        Somatic potentials of pyramids and interneurons, ``(B, n)``, indexed by layer.
    inputs : Inputs
    weights, traces : Plastic
        Weights and thresholds and their low-pass filtered induction terms :math:`\Delta`.
    rates : Plastic
        Learning rates (1/ms), one array per kind indexed by layer; 0 leaves a quantity alone.
    rng : numpy.random.Generator
        Source of the noise :math:`\xi` (not used when ``c.noise_scale`` is 0).
    time, pattern_time : float
        The clocks before the block (ms).

    Returns
    -------
    time, pattern_time : float
        The clocks after the block.
    """
    N = len(u_P) - 1
    r_input, u_target = inputs.r_input, inputs.u_target  # updated in place, as all arrays
    ones = np.ones((inputs.r_input.shape[0], 1))  # the input of a threshold (a weight from 1)
    for step in range(n_steps):
        learning = step >= learn_from
        # the rates of time t: every dendritic potential below reads these
        r_P = [r_input]
        r_I = [r_input]  # index 0 unused: interneurons belong to hidden layers
        for k in range(1, N + 1):
            r_P.append(rate(u_P[k], phi))
        for k in range(1, N):
            r_I.append(rate(u_I[k], phi))
        for k in range(1, N + 1):
            if c.thresholds:
                v_B = eq.basal_potential(weights.W_up[k], r_P[k - 1], weights.b_up[k])
            else:
                v_B = eq.basal_potential(weights.W_up[k], r_P[k - 1])
            if k < N:  # a hidden layer: three compartments, and interneurons
                v_TD = eq.top_down_potential(weights.W_down[k], r_P[k + 1])
                v_A = eq.apical_potential(weights.W_down[k], r_P[k + 1], weights.W_PI[k],
                                          r_I[k], v_TD)
                drift = eq.pyramidal_soma_derivative(u_P[k], v_B, v_A, c.g_lk, c.g_B, c.g_A)
            else:
                teaching = eq.teaching_current(u_target, u_P[k], c.g_som_output)
                drift = eq.output_soma_derivative(u_P[k], v_B, teaching, c.g_lk, c.g_B)
            if learning and rates.W_up[k] > 0:
                attenuation = c.basal_attenuation[k]
                consolidate(weights.W_up[k], traces.W_up[k], eq.bottom_up_induction(
                    r_P[k], v_B, r_P[k - 1], phi, attenuation), rates.W_up[k], c.dt, c.tau_w)
                if c.thresholds:
                    consolidate(weights.b_up[k], traces.b_up[k], eq.bottom_up_induction(
                        r_P[k], v_B, ones, phi, attenuation)[:, 0], rates.b_up[k], c.dt, c.tau_w)
            if k < N:
                if c.thresholds:
                    v_I = eq.interneuron_dendritic_potential(weights.W_IP[k], r_P[k],
                                                             weights.b_IP[k])
                else:
                    v_I = eq.interneuron_dendritic_potential(weights.W_IP[k], r_P[k])
                nudging = eq.teaching_current(u_P[k + 1], u_I[k], c.g_som)
                drift_I = eq.interneuron_soma_derivative(u_I[k], v_I, nudging, c.g_lk, c.g_D)
                if learning:
                    learn_hidden(k, c, phi, r_P, r_I, v_TD, v_A, v_I, ones, weights,
                                 traces, rates)
            # the layer's potentials move only now: nothing after this reads their old values
            euler_maruyama(u_P[k], drift, c, rng)
            if k < N:
                euler_maruyama(u_I[k], drift_I, c, rng)
        low_pass(r_input, inputs.input_pattern, c.dt, c.tau_0)
        low_pass(u_target, inputs.target_pattern, c.dt, c.tau_0)
        time += c.dt
        pattern_time += c.dt
    return time, pattern_time


def learn_hidden(k, c, phi, r_P, r_I, v_TD, v_A, v_I, ones, weights, traces, rates):
    """Plasticity of hidden layer ``k``'s interneuron and top-down weights (Eqs. 8-10)."""
    if rates.W_IP[k] > 0:
        consolidate(weights.W_IP[k], traces.W_IP[k], eq.pyramid_to_interneuron_induction(
            r_I[k], v_I, r_P[k], phi, c.interneuron_attenuation), rates.W_IP[k], c.dt, c.tau_w)
        if c.thresholds:
            consolidate(weights.b_IP[k], traces.b_IP[k], eq.pyramid_to_interneuron_induction(
                r_I[k], v_I, ones, phi, c.interneuron_attenuation)[:, 0], rates.b_IP[k], c.dt,
                c.tau_w)
    if rates.W_PI[k] > 0:
        consolidate(weights.W_PI[k], traces.W_PI[k],
                    eq.interneuron_to_pyramid_induction(v_A, r_I[k]), rates.W_PI[k], c.dt,
                    c.tau_w)
    if rates.W_down[k] > 0:
        consolidate(weights.W_down[k], traces.W_down[k],
                    eq.top_down_induction(r_P[k], v_TD, r_P[k + 1], phi), rates.W_down[k], c.dt,
                    c.tau_w)


def consolidate(W, trace, induction, eta, dt, tau_w):
    r"""One plasticity step of one quantity, in place: low-pass the induction term,
    :math:`\Delta \leftarrow \mathrm{lowpass}_{\tau_w}(\Delta, I)`, then
    :math:`W \leftarrow W + \eta\,\Delta t\,\Delta`."""
    low_pass(trace, induction, dt, tau_w)
    W = W.ravel()
    W += (eta * dt) * trace.ravel()


def low_pass(filtered, drive, dt, tau):
    """One step of the low-pass filter of :func:`core.model.equations.low_pass_change`, in place.

    On flat views of the arrays: numba runs in-place operations on 1-D arrays several times
    faster than on 2-D ones (``ravel`` of a contiguous array is a view in NumPy and numba)."""
    filtered = filtered.ravel()
    filtered += eq.low_pass_change(filtered, drive.ravel(), dt, tau)


def euler_maruyama(u, drift, c, rng):
    r""":math:`u \leftarrow u + \Delta t\,\mathrm{drift} + \sigma\sqrt{\Delta t}\,\xi`, in place
    (on a flat view of ``u``, as in :func:`consolidate`; the normal numbers fill it in C order,
    sample by sample, as ``standard_normal(u.shape)`` would)."""
    u = u.ravel()
    u += c.dt * drift.ravel()
    if c.noise_scale > 0:
        u += c.noise_scale * rng.standard_normal(u.size)
