r"""The full time-continuous dynamics: Euler-Maruyama steps, written once.

:func:`advance` is the whole simulator of the full dynamics. It runs as plain NumPy, and
:mod:`core.simulate.twins` hands *this same source* (and the functions of
:mod:`core.model.equations` and :mod:`core.model.transfer` it calls) to numba, when numba is
installed, to run it without returning to Python between steps. Change an equation in
:mod:`core.model.equations` and both follow it.

One step of length :math:`\Delta t` (every right-hand side reads the state at time :math:`t`:
the rates of all somata are computed first, and no potential changes before every drift is in):

1. for each layer :math:`k = 1..N` in turn: the dendritic potentials (Eqs. 3-5) from the rates
   and the somatic drifts (hidden pyramids Eq. 1, the output pyramids with the teaching current
   :math:`g_\mathrm{som}(u^\mathrm{trgt} - u)` while nudging, interneurons Eq. 2 nudged by the
   next layer's pyramids); from step ``learn_from`` of the block on (after the learning lag),
   the induction terms that read the apical compartment (Eqs. 9 and 10);
2. one Euler step for all somata, :math:`u \mathrel{+}= \Delta t\,\mathrm{drift}`;
3. from step ``learn_from`` on: the dendritic prediction error (Eq. 6) of every soma, the
   induction terms of the weights that learn from it (Eqs. 7 and 8), and all induction terms
   low-passed with :math:`\tau_w` and consolidated, :math:`W \mathrel{+}= \eta\,\Delta t\,\Delta`;
4. the noise, :math:`u \mathrel{+}= \sigma\sqrt{\Delta t}\,\xi` with :math:`\xi \sim N(0, 1)` from
   the network's ``numpy.random.Generator`` (``standard_normal``): layer 1's pyramids, then its
   interneurons, then layer 2's pyramids, and so on;
5. inputs and targets move towards the current pattern through the :math:`\tau_0` low-pass.

Containers
----------
numba compiles tuples of arrays, not dictionaries, so the network's per-layer dictionaries are
passed as tuples indexed by the layer number: ``u_P[k]`` is :math:`u^P_k` for ``k = 1..N`` and
``u_I[k]``, ``W_down[k]``, ``W_IP[k]``, ``W_PI[k]`` belong to hidden layer ``k = 1..N-1``. Index 0
holds an empty array (layer 0 is the input: it has rates but no soma, no weights onto it and no
interneurons), except in ``r_P``, whose entry 0 is the input rates.

What the step treats alike lies in one flat array: every soma's potential and, in others of the
same layout, its rate (one rate call a step), its drift (one Euler step), its noise (one draw),
the dendrite that predicts it and its prediction error (one error call); every quantity that
learns, its filtered and its new induction terms (one filter step and one consolidation a step,
whatever the depth); the inputs and the targets (one low-pass). The per-layer tuples are views
of these arrays.
:func:`core.simulate.dynamics.run` copies the network into them for a block of steps and back
after it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..model import equations as eq
from ..model.transfer import rate


class Somata(NamedTuple):
    r"""Every soma of the network, each kind of value in one flat array of the same layout (layer
    1's pyramids, its interneurons, layer 2's pyramids, ..., the output pyramids, each ``(B, n)``
    block in C order), and views of them by layer.

    ``potentials`` holds :math:`u`; ``rates`` :math:`\varphi(u)`; ``dendrites`` the potential of
    the dendrite that predicts each soma (pyramids: basal, Eq. 3; interneurons: Eq. 5);
    ``attenuation`` what of it reaches the soma (:func:`~core.model.equations.basal_attenuation`,
    :func:`~core.model.equations.interneuron_attenuation`); ``errors`` the dendritic prediction
    errors of Eq. 6; ``drifts`` :math:`du/dt` without the noise (Eqs. 1, 2). ``u_P`` and ``u_I``
    are flat views of ``potentials`` by layer, ``error_P`` and ``error_I`` of ``errors``,
    ``drift_P`` and ``drift_I`` of ``drifts``; ``r_P`` (whose entry 0 is
    :attr:`Inputs.r_input`), ``r_I``, ``v_B`` and ``v_I`` are ``(B, n)`` views of ``rates`` and
    ``dendrites``.
    """

    potentials: np.ndarray
    rates: np.ndarray
    dendrites: np.ndarray
    attenuation: np.ndarray
    errors: np.ndarray
    drifts: np.ndarray
    u_P: tuple
    u_I: tuple
    r_P: tuple
    r_I: tuple
    v_B: tuple
    v_I: tuple
    error_P: tuple
    error_I: tuple
    drift_P: tuple
    drift_I: tuple


class Plastic(NamedTuple):
    """One value per plastic quantity and layer, each a tuple (or array) indexed by layer:
    the weights, views of their induction terms, or their learning rates."""

    W_up: tuple
    W_down: tuple
    W_IP: tuple
    W_PI: tuple
    b_up: tuple
    b_IP: tuple


class Inputs(NamedTuple):
    """The filtered input rates and targets side by side in one flat array (``filtered``), the
    patterns they move towards in another of the same layout (``patterns``), and the two
    views of ``filtered`` the step reads: the input rates ``(B, n_0)``, the targets flat."""

    filtered: np.ndarray
    patterns: np.ndarray
    r_input: np.ndarray
    u_target: np.ndarray


class Learning(NamedTuple):
    r"""The quantities that learn in a block, each kind in one flat array of the same layout:
    their values, their low-pass filtered induction terms :math:`\Delta`, this step's induction
    terms and :math:`\eta\,\Delta t` per element; and ``terms``, views of ``induction`` with the
    shape of each quantity (a threshold as a column: a weight from an input fixed at 1), an empty
    array for a quantity that does not learn."""

    weights: np.ndarray
    traces: np.ndarray
    induction: np.ndarray
    eta_dt: np.ndarray
    terms: Plastic


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


def advance(n_steps, learn_from, c, phi, somata, inputs, threshold_input, weights, learning, rng,
            time, pattern_time):
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
    somata : Somata
    inputs : Inputs
    threshold_input : ndarray or None
        The input of every threshold (a weight from an input fixed at 1): ones, ``(B, 1)``;
        None for a network without thresholds (then numba compiles the step without their code).
    weights : Plastic
        Weights and thresholds, indexed by layer; those that learn are views of
        ``learning.weights``.
    learning : Learning
    rng : numpy.random.Generator
        Source of the noise :math:`\xi` (not used when ``c.noise_scale`` is 0).
    time, pattern_time : float
        The clocks before the block (ms).

    Returns
    -------
    time, pattern_time : float
        The clocks after the block.
    """
    u_P, u_I, r_P, r_I = somata.u_P, somata.u_I, somata.r_P, somata.r_I
    v_B, v_I, error_P, error_I = somata.v_B, somata.v_I, somata.error_P, somata.error_I
    drift_P, drift_I = somata.drift_P, somata.drift_I
    W_up, W_down, W_IP, W_PI, b_up, b_IP = weights
    dt, g_lk, g_B, g_A, g_D, g_som = c.dt, c.g_lk, c.g_B, c.g_A, c.g_D, c.g_som
    terms = learning.terms
    N = len(u_P) - 1
    for step in range(n_steps):
        learns = step >= learn_from
        # the rates of time t, of every soma at once: every dendritic potential below reads these
        rate(somata.potentials, phi, somata.rates)
        # the equations that act element by element get flat views (``ravel``, a view in NumPy
        # and numba): compiled, a one-dimensional array expression, in place or not, takes a
        # fraction of a two-dimensional one's time
        for k in range(1, N + 1):
            if threshold_input is not None:
                eq.basal_potential(W_up[k], r_P[k - 1], b_up[k], v_B[k])
            else:
                eq.basal_potential(W_up[k], r_P[k - 1], None, v_B[k])
            if k == N:
                teaching = eq.teaching_current(inputs.u_target, u_P[N], c.g_som_output)
                eq.output_soma_derivative(u_P[N], v_B[N].ravel(), teaching, g_lk, g_B,
                                          drift_P[N])
                continue
            # a hidden layer: three compartments, and interneurons
            v_TD = eq.top_down_potential(W_down[k], r_P[k + 1])
            v_A = eq.apical_potential(W_down[k], r_P[k + 1], W_PI[k], r_I[k], v_TD).ravel()
            eq.pyramidal_soma_derivative(u_P[k], v_B[k].ravel(), v_A, g_lk, g_B, g_A,
                                         drift_P[k])
            if threshold_input is not None:
                eq.interneuron_dendritic_potential(W_IP[k], r_P[k], b_IP[k], v_I[k])
            else:
                eq.interneuron_dendritic_potential(W_IP[k], r_P[k], None, v_I[k])
            nudging = eq.teaching_current(u_P[k + 1], u_I[k], g_som)
            eq.interneuron_soma_derivative(u_I[k], v_I[k].ravel(), nudging, g_lk, g_D,
                                           drift_I[k])
            # the two rules that read the apical compartment, which only this loop holds
            if learns and terms.W_PI[k].size:  # Eq. 9
                eq.interneuron_to_pyramid_induction(v_A, r_I[k], 0.0, terms.W_PI[k])
            if learns and terms.W_down[k].size:  # Eq. 10
                # its error goes in place of v_TD, which nothing reads any more
                error_TD = v_TD.ravel()
                eq.dendritic_prediction_error(r_P[k].ravel(), error_TD, 1.0, phi, error_TD)
                eq.top_down_induction(error_TD, r_P[k + 1], terms.W_down[k])
        # every drift is in: one Euler step moves all somata
        potentials = somata.potentials
        potentials += dt * somata.drifts
        if learns:
            # Eq. 6's error of every soma at once, from the rates and dendrites of time t; then
            # Eqs. 7 and 8, one outer product per weight
            eq.dendritic_prediction_error(somata.rates, somata.dendrites, somata.attenuation, phi,
                                          somata.errors)
            for k in range(1, N + 1):
                if terms.W_up[k].size:  # Eq. 7
                    eq.bottom_up_induction(error_P[k], r_P[k - 1], terms.W_up[k])
                    if threshold_input is not None:
                        eq.bottom_up_induction(error_P[k], threshold_input, terms.b_up[k])
                if k < N and terms.W_IP[k].size:  # Eq. 8
                    eq.pyramid_to_interneuron_induction(error_I[k], r_P[k], terms.W_IP[k])
                    if threshold_input is not None:
                        eq.pyramid_to_interneuron_induction(error_I[k], threshold_input,
                                                            terms.b_IP[k])
            # every induction term of this step is in: consolidate them all at once
            consolidate(learning.weights, learning.traces, learning.induction, learning.eta_dt,
                        dt, c.tau_w)
        if c.noise_scale > 0:  # one draw for all somata, in their order in the flat array
            potentials += c.noise_scale * rng.standard_normal(potentials.size)
        low_pass(inputs.filtered, inputs.patterns, dt, c.tau_0)
        time += dt
        pattern_time += dt
    return time, pattern_time


def consolidate(weights, traces, induction, eta_dt, dt, tau_w):
    r"""Every quantity that learns, in place (flat arrays, :class:`Learning`): its induction term
    is low-passed with :math:`\tau_w`, :math:`\Delta \leftarrow \Delta + \mathrm{lowpass\ change}`,
    and added to it, :math:`W \leftarrow W + \eta\,\Delta t\,\Delta`."""
    low_pass(traces, induction, dt, tau_w)
    weights += eta_dt * traces


def consolidate_elementwise(weights, traces, induction, eta_dt, dt, tau_w):
    """:func:`consolidate` as the compiled step runs it: the same two updates, one element after
    the other in a single loop. Compiled, the two vectorised updates make five passes over arrays
    larger than the processor's first cache, which took most of a step's time; in NumPy the loop
    would be a Python loop. ``tests/test_one_implementation.py`` pins the two to the same result,
    bit for bit."""
    for i in range(weights.size):
        traces[i] += eq.low_pass_change(traces[i], induction[i], dt, tau_w)
        weights[i] += eta_dt[i] * traces[i]


consolidate.compiled_form = consolidate_elementwise


def low_pass(filtered, drive, dt, tau):
    """One step of the low-pass filter of :func:`core.model.equations.low_pass_change`, in place
    (flat arrays)."""
    filtered += eq.low_pass_change(filtered, drive, dt, tau)
