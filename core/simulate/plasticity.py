r"""Local plasticity of the whole network: learning rates per layer and the induction terms
(Eqs. 7-10) of every plastic weight for a settled state (the steady-state simulator's update).

Learning rates are in 1/ms: in the full dynamics (:mod:`core.simulate.euler`) a weight changes per
Euler step by :math:`\eta\,\Delta t\,\Delta`, where :math:`\Delta` is the low-pass filtered
induction term.
"""

from __future__ import annotations

import numpy as np

from ..model import validation
from ..model import equations as eq
from ..model.layers import MATRICES, Weights, layer_attenuation


RATES = ("eta_PP_up", "eta_IP", "eta_PI", "eta_PP_down")
"""The learning-rate parameters, each a list with one rate per layer (or one for all)."""


def rate_count(name, n_layers):
    """How many per-layer rates parameter ``name`` takes in a network with output layer
    ``n_layers``: one per layer for the bottom-up weights, one per hidden layer for the others."""
    return n_layers if name == "eta_PP_up" else n_layers - 1


def learning_rates(params, n_layers):
    """Per-layer learning rates of every plastic quantity, 0 where plasticity is switched off.

    Returns
    -------
    dict[str, dict[int, float]]
        Keyed like :class:`~core.model.layers.Weights`: ``rates["W_up"][k]`` is
        :math:`\\eta^{PP}_{k,k-1}`; thresholds share the rate of their matrix.
    """
    def table(name, switch):
        # a switched-off quantity needs no valid rate list (e.g. the default two rates of
        # eta_PP_up in a deeper network whose bottom-up weights are frozen)
        count = rate_count(name, n_layers)
        if not switch or count == 0:
            return {k: 0.0 for k in range(1, count + 1)}
        values = validation.per_layer(name, getattr(params, name), count)
        return {k: v for k, v in enumerate(values, start=1)}

    rates = {
        "W_up": table("eta_PP_up", params.learn_PP_up),
        "W_down": table("eta_PP_down", params.learn_PP_down),
        "W_IP": table("eta_IP", params.learn_IP),
        "W_PI": table("eta_PI", params.learn_PI),
    }
    rates["b_up"], rates["b_IP"] = rates["W_up"], rates["W_IP"]
    return rates


def induction_terms(weights, comp, params, phi, rates=None, scale=None, out=None):
    r"""Plasticity induction terms of every plastic weight for the current compartments.

    Parameters
    ----------
    weights : Weights
    comp : Compartments
        From :func:`core.simulate.compartments.compartments`.
    params : ModelParameters
    phi : Phi
        The rate function (:class:`~core.model.transfer.Phi`).
    rates : dict, optional
        From :func:`learning_rates`; quantities whose rate is 0 are skipped (their term is 0).
        Without it every term is computed (the top-down one only where ``comp.v_TD`` has it).
    scale : callable, optional
        ``scale(name, k)`` multiplies the term of matrix ``name`` in layer ``k`` (e.g. by
        :math:`\eta T`, so that the result is the weight change itself).
    out : Weights, optional
        Buffers (e.g. a previous result) to write the weight-sized terms into.

    Returns
    -------
    Weights
        Induction terms with the weights' shapes (averaged over the batch), for the plastic
        quantities only. A threshold's term is that of a weight from an input fixed at 1.
    """
    p = params
    N = len(weights.W_up)
    buffers = out if out is not None else Weights()
    out = Weights()
    active = (lambda name, k: True) if rates is None else (lambda name, k: rates[name][k] > 0)
    factor = (lambda name, k: 1.0) if scale is None else scale
    batch = np.atleast_2d(comp.r_P[0]).shape[0]
    # Every term is linear in its presynaptic rates: scaling those (a batch of vectors) instead
    # of the result (weight-sized) saves a pass over every weight of a steady-state update.
    for k in weights.W_up:
        if not active("W_up", k):
            continue
        attenuation = layer_attenuation(p, k, N)
        # of the settled soma (the presynaptic rates r_P may be another pass's, see two_pass)
        error = eq.dendritic_prediction_error(phi(comp.u_P[k]), comp.v_B[k], attenuation, phi)
        out.W_up[k] = eq.bottom_up_induction(error, factor("W_up", k) * comp.r_P[k - 1],
                                             buffers.W_up.get(k))
        if k in weights.b_up:
            out.b_up[k] = eq.bottom_up_induction(
                error, np.full((batch, 1), factor("b_up", k)))[:, 0]
    attenuation_I = eq.interneuron_attenuation(p.g_lk, p.g_D)
    for k in weights.W_IP:
        if active("W_IP", k):
            error = eq.dendritic_prediction_error(comp.r_I[k], comp.v_I[k], attenuation_I, phi)
            out.W_IP[k] = eq.pyramid_to_interneuron_induction(
                error, factor("W_IP", k) * comp.r_P[k], buffers.W_IP.get(k))
            if k in weights.b_IP:
                out.b_IP[k] = eq.pyramid_to_interneuron_induction(
                    error, np.full((batch, 1), factor("b_IP", k)))[:, 0]
        if active("W_PI", k):
            out.W_PI[k] = eq.interneuron_to_pyramid_induction(
                comp.v_A[k], factor("W_PI", k) * comp.r_I[k], out=buffers.W_PI.get(k))
        if active("W_down", k) and k in comp.v_TD:
            error = eq.dendritic_prediction_error(phi(comp.u_P[k]), comp.v_TD[k], 1.0, phi)
            out.W_down[k] = eq.top_down_induction(error, factor("W_down", k) * comp.r_P[k + 1],
                                                  buffers.W_down.get(k))
    return out


def apply_changes(weights, changes):
    r"""Add weight changes (e.g. :func:`induction_terms` scaled by :math:`\eta T`) in place.

    Quantities absent from ``changes`` are left untouched.
    """
    for name in MATRICES:
        W, delta = getattr(weights, name), getattr(changes, name)
        for k, change in delta.items():
            W[k] += change


def steady_state_scale(rates, duration):
    r"""The factor :math:`\eta\,(T - t_\mathrm{lag})` per quantity that turns an induction term held
    for one presentation into the weight change the full dynamics would make if the network settled
    instantly (and :math:`\tau_w` played no role); it makes the learning rates of both modes
    comparable."""
    return lambda name, k: rates[name][k] * duration


__all__ = ["learning_rates", "induction_terms", "apply_changes", "steady_state_scale"]
