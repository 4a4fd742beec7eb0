r"""One function per equation of Sacramento, Costa, Bengio & Senn (NeurIPS 2018).

Conventions
-----------
* Population vectors have shape ``(..., n)``: an optional leading batch axis (samples that share
  the weights) followed by the neurons.
* Weight matrices have shape ``(n_post, n_pre)``, as in the paper: :math:`W^{PP}_{k,k-1}` maps
  layer :math:`k-1` onto layer :math:`k`.
* Plasticity induction terms are averaged over the batch axis and have the weight's shape.
* A function with an ``out`` argument writes its result there, as NumPy's functions do, and
  returns it. The simulator hands it the arrays it reads afterwards: an edited function must
  still put its final result into ``out`` (``tests/test_one_implementation.py`` doubles Eq. 3
  that way).

The simulator (:mod:`core.simulate.dynamics`, :mod:`core.simulate.steady_state`) calls exactly
these functions.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .parameters import ModelParameters
from .transfer import rate


PLACEHOLDER = re.compile(r"«(\w+)»")
"""A model parameter in a stored form: ``«g_B»``."""


def _latex(form):
    r"""Store the equation a function implements, as the paper writes it, on the function.

    ``form`` is KaTeX source in which ``«name»`` stands for the model parameter ``name``
    (:func:`fill` puts in its symbol or its value). The form lives here, next to the code it
    describes, so that whoever changes one sees the other; the dashboard's equations panel and
    the notebooks show it from here.
    """
    def attach(function):
        function.latex = form
        return function
    return attach


def fill(form, params=None, shown=str):
    r"""A stored form as KaTeX: each ``«name»`` becomes the symbol of parameter ``name`` (e.g.
    :math:`g_B`) or, given ``params``, its value (``:g``; a per-layer list in parentheses), passed
    through ``shown`` (e.g. to colour it)."""
    if params is None:
        return PLACEHOLDER.sub(lambda match: ModelParameters.param[match.group(1)].symbol, form)

    def value(match):
        number = getattr(params, match.group(1))
        if isinstance(number, list):
            text = r",\ ".join(f"{v:g}" for v in number)
            text = f"({text})" if len(number) > 1 else text
        else:
            text = f"{number:g}"
        return shown(text)

    return PLACEHOLDER.sub(value, form)


# --------------------------------------------------------------------------------------------
# Somatic dynamics (Eqs. 1-2)
# --------------------------------------------------------------------------------------------

@_latex(r"\frac{du^P_k}{dt} = -«g_lk»\,u^P_k + «g_B»\,(v^P_{B,k} - u^P_k)"
       r" + «g_A»\,(v^P_{A,k} - u^P_k) + «sigma»\,\xi(t)")
def pyramidal_soma_derivative(u, basal_potential, apical_potential, g_lk, g_B, g_A, out=None):
    r"""Drift of a hidden pyramidal soma, Eq. (1) without its noise term.

    .. math:: \frac{du^P_k}{dt} = -g_\mathrm{lk} u^P_k + g_B (v^P_{B,k} - u^P_k)
              + g_A (v^P_{A,k} - u^P_k)

    Parameters
    ----------
    u : ndarray
        Somatic potentials :math:`u^P_k`.
    basal_potential, apical_potential : ndarray
        :math:`v^P_{B,k}` (Eq. 3) and :math:`v^P_{A,k}` (Eq. 4).
    g_lk, g_B, g_A : float
        Leak, basal and apical coupling conductances.
    out : ndarray, optional
        Where to write the drift (as in NumPy): the simulator writes every soma's drift into one
        array, which one Euler step then adds to all potentials.
    """
    return np.add(-g_lk * u + g_B * (basal_potential - u), g_A * (apical_potential - u), out)


@_latex(r"\frac{du^P_N}{dt} = -«g_lk»\,u^P_N + «g_B»\,(v^P_{B,N} - u^P_N)"
       r" + «g_som»\,(u^\mathrm{trgt}_N - u^P_N) + «sigma»\,\xi(t)")
def output_soma_derivative(u, basal_potential, teaching, g_lk, g_B, out=None):
    r"""Drift of an output pyramidal soma (two compartments, :math:`g_A = 0`), without noise.

    .. math:: \frac{du^P_N}{dt} = -g_\mathrm{lk} u^P_N + g_B (v^P_{B,N} - u^P_N) + i^P_N

    ``teaching`` is the somatic teaching current :math:`i^P_N` (:func:`teaching_current`; 0
    without a target); ``out`` as in :func:`pyramidal_soma_derivative`.
    """
    return np.add(-g_lk * u + g_B * (basal_potential - u), teaching, out)


@_latex(r"\frac{du^I_k}{dt} = -«g_lk»\,u^I_k + «g_D»\,(v^I_k - u^I_k)"
       r" + «g_som»\,(u^P_{k+1} - u^I_k) + «sigma»\,\xi(t)")
def interneuron_soma_derivative(u, dendritic_potential, teaching, g_lk, g_D, out=None):
    r"""Drift of an interneuron soma, Eq. (2) without its noise term.

    .. math:: \frac{du^I_k}{dt} = -g_\mathrm{lk} u^I_k + g_D (v^I_k - u^I_k) + i^I_k

    ``teaching`` is :math:`i^I_k = g_\mathrm{som}(u^P_{k+1} - u^I_k)`, the one-to-one nudging by
    the next layer's pyramidal cells (:func:`teaching_current`); ``out`` as in
    :func:`pyramidal_soma_derivative`.
    """
    return np.add(-g_lk * u + g_D * (dendritic_potential - u), teaching, out)


# --------------------------------------------------------------------------------------------
# Dendritic potentials (Eqs. 3-5), instantaneous
# --------------------------------------------------------------------------------------------

def _synaptic_input(weights, rates, bias=None, out=None):
    if out is None:
        potential = np.dot(rates, weights.T)
        return potential if bias is None else potential + bias
    np.dot(rates, weights.T, out)
    if bias is not None:
        out += bias
    return out


@_latex(r"v^P_{B,k} = W^{PP}_{k,k-1} r^P_{k-1}")
def basal_potential(W_up, rates_below, bias=None, out=None):
    r"""Basal dendritic potential, Eq. (3).

    .. math:: v^P_{B,k} = W^{PP}_{k,k-1}\, \varphi(u^P_{k-1})  \;(+\, b_k)

    For :math:`k = 1`, ``rates_below`` is the input rate :math:`r_0`. The optional ``bias`` is the
    learnable threshold (a weight from an input fixed at 1). ``out``, of shape ``(B, n_k)``, is
    where to write the result (as in NumPy).
    """
    return _synaptic_input(W_up, rates_below, bias, out)


@_latex(r"v^P_{A,k} = W^{PP}_{k,k+1} r^P_{k+1} + W^{PI}_{k,k} r^I_k")
def apical_potential(W_down, rates_above, W_PI, interneuron_rates, top_down=None):
    r"""Apical dendritic potential, Eq. (4): top-down input plus lateral interneuron input.

    .. math:: v^P_{A,k} = W^{PP}_{k,k+1}\, \varphi(u^P_{k+1}) + W^{PI}_{k,k}\, \varphi(u^I_k)

    ``top_down`` may pass :func:`top_down_potential` when the caller has it already.
    """
    if top_down is None:
        top_down = top_down_potential(W_down, rates_above)
    return top_down + _synaptic_input(W_PI, interneuron_rates)


def top_down_potential(W_down, rates_above):
    r"""Top-down part of the apical potential, :math:`v^P_{TD,k} = W^{PP}_{k,k+1} r^P_{k+1}`.

    It is what the top-down weights learn to predict in Eq. (10) (the apical compartment split into
    a top-down and a lateral part).
    """
    return _synaptic_input(W_down, rates_above)


@_latex(r"v^I_k = W^{IP}_{k,k} r^P_k")
def interneuron_dendritic_potential(W_IP, pyramidal_rates, bias=None, out=None):
    r"""Interneuron dendritic potential, Eq. (5).

    .. math:: v^I_k = W^{IP}_{k,k}\, \varphi(u^P_k)  \;(+\, b^I_k)

    ``bias`` and ``out`` as in :func:`basal_potential`.
    """
    return _synaptic_input(W_IP, pyramidal_rates, bias, out)


# --------------------------------------------------------------------------------------------
# Teaching currents
# --------------------------------------------------------------------------------------------

def teaching_current(u_target, u, g_som):
    r"""Somatic teaching current in the form used in practice.

    .. math:: i = g_\mathrm{som}\,(u^\mathrm{trgt} - u)

    Output layer: :math:`u^\mathrm{trgt}` is the target potential. Interneurons: the target is the
    next layer's pyramidal potential :math:`u^P_{k+1}` (one-to-one).
    """
    return g_som * (u_target - u)


def teaching_conductances(u_target, g_som, E_exc, E_inh):
    r"""Excitatory and inhibitory conductances of the balanced teaching input.

    .. math:: g_\mathrm{exc} = g_\mathrm{som}\frac{u^\mathrm{trgt} - E_\mathrm{inh}}{E_\mathrm{exc} - E_\mathrm{inh}},
              \qquad g_\mathrm{inh} = -g_\mathrm{som}\frac{u^\mathrm{trgt} -
              E_\mathrm{exc}}{E_\mathrm{exc} - E_\mathrm{inh}}

    They sum to :math:`g_\mathrm{som}`; one of them turns negative when :math:`u^\mathrm{trgt}`
    leaves :math:`[E_\mathrm{inh}, E_\mathrm{exc}]`.

    Returns
    -------
    g_exc, g_inh : ndarray
    """
    if not E_exc > E_inh:
        raise ValueError(f"E_exc ({E_exc}) must be greater than E_inh ({E_inh})")
    span = E_exc - E_inh
    u_target = np.asarray(u_target, dtype=float)
    return g_som * (u_target - E_inh) / span, -g_som * (u_target - E_exc) / span


def conductance_teaching_current(u_target, u, g_som, E_exc, E_inh):
    r"""Conductance-based teaching current, equal to :func:`teaching_current` for any ``u``.

    .. math:: i = g_\mathrm{exc}(E_\mathrm{exc} - u) + g_\mathrm{inh}(E_\mathrm{inh} - u)
    """
    g_exc, g_inh = teaching_conductances(u_target, g_som, E_exc, E_inh)
    return g_exc * (E_exc - u) + g_inh * (E_inh - u)


# --------------------------------------------------------------------------------------------
# Dendritic attenuation and steady states of single compartments
# --------------------------------------------------------------------------------------------

def total_conductance(quantity, **conductances):
    r"""The total conductance onto a soma, e.g. :math:`g_\mathrm{lk} + g_B + g_A`, the denominator
    of ``quantity``.

    Parameters
    ----------
    quantity : str
        What is being computed, for the message (e.g. ``"the basal attenuation"``).
    **conductances : float
        The conductances by their parameter names, e.g. ``g_lk=0.1, g_B=1.0, g_A=0.8``.

    Returns
    -------
    float or ndarray
        Their sum, added in the order given (an array when a conductance is one).

    Raises
    ------
    ValueError
        When the sum is 0: a soma without any conductance has no fixed point, and every ratio over
        its total conductance is 0/0. :class:`~core.model.parameters.ModelParameters` refuses such
        values beforehand (:data:`~core.model.parameters.CONSTRAINTS`); this guards direct calls.
    """
    total = 0.0
    for value in conductances.values():
        total = total + value
    if np.any(np.asarray(total) == 0):  # conductances may be arrays (a sweep over one of them)
        values = ", ".join(f"{name} = {value!r}" for name, value in conductances.items())
        raise ValueError(f"{quantity} is 0/0 for {values}: a soma needs "
                         f"{' + '.join(conductances)} > 0")
    return total


def basal_attenuation(g_lk, g_B, g_A):
    r"""Attenuation of the basal prediction, :math:`\hat v^P_{B} = \frac{g_B}{g_\mathrm{lk}+g_B+g_A} v^P_B`.

    Parameters
    ----------
    g_lk, g_B, g_A : float
        Leak, basal and apical conductances; :func:`~core.model.layers.layer_attenuation` passes
        each layer's (``g_A = 0`` for the output layer, whose neurons have two compartments).

    Returns
    -------
    float
        In :math:`[0, 1]`. Limits: :math:`g_B = 0` gives 0 (the basal dendrite is decoupled, the
        soma predicts the resting potential); :math:`g_\mathrm{lk} = g_A = 0` gives 1 (the soma
        follows its basal dendrite exactly).

    Raises
    ------
    ValueError
        For :math:`g_\mathrm{lk} + g_B + g_A = 0`, where the ratio is 0/0
        (:func:`total_conductance`).
    """
    return g_B / total_conductance("the basal attenuation g_B / (g_lk + g_B + g_A)",
                                   g_lk=g_lk, g_B=g_B, g_A=g_A)


def interneuron_attenuation(g_lk, g_D):
    r"""Attenuation of the interneuron dendritic prediction, :math:`\hat v^I = \frac{g_D}{g_\mathrm{lk}+g_D} v^I`.

    Returns
    -------
    float
        In :math:`[0, 1]`. Limits: :math:`g_D = 0` gives 0 (the dendrite is decoupled from the
        soma, so Eq. 8 compares the somatic rate with :math:`\varphi(0)`);
        :math:`g_\mathrm{lk} = 0` gives 1.

    Raises
    ------
    ValueError
        For :math:`g_\mathrm{lk} + g_D = 0`, where the ratio is 0/0.
    """
    return g_D / total_conductance("the interneuron attenuation g_D / (g_lk + g_D)",
                                   g_lk=g_lk, g_D=g_D)


def pyramidal_soma_steady_state(basal_potential, apical_potential, g_lk, g_B, g_A):
    r"""Fixed point of Eq. (1) for given dendritic potentials (:math:`\sigma = 0`).

    .. math:: u^P_k = \frac{g_B v^P_{B,k} + g_A v^P_{A,k}}{g_\mathrm{lk} + g_B + g_A}
              = \hat v^P_{B,k} + \lambda_k v^P_{A,k},\quad
              \lambda_k = \frac{g_A}{g_\mathrm{lk}+g_B+g_A}

    A conductance of 0 removes its compartment from the average (:math:`g_A = 0`: no feedback,
    :math:`u^P_k = \hat v^P_{B,k}`). Raises ``ValueError`` when all three are 0 (no fixed point).
    """
    total = total_conductance("the pyramidal fixed point", g_lk=g_lk, g_B=g_B, g_A=g_A)
    return (g_B * basal_potential + g_A * apical_potential) / total


def output_soma_steady_state(basal_potential, u_target, g_lk, g_B, g_som):
    r"""Fixed point of the output soma; ``u_target=None`` means no nudging.

    .. math:: u^P_N = \frac{g_B v^P_{B,N} + g_\mathrm{som} u^\mathrm{trgt}}{g_\mathrm{lk} + g_B + g_\mathrm{som}}

    :math:`g_\mathrm{som} = 0` is the un-nudged fixed point. Raises ``ValueError`` when the
    denominator is 0 (without a target: :math:`g_\mathrm{lk} + g_B = 0`).
    """
    if u_target is None:
        return g_B * basal_potential / total_conductance("the output fixed point", g_lk=g_lk,
                                                         g_B=g_B)
    total = total_conductance("the nudged output fixed point", g_lk=g_lk, g_B=g_B, g_som=g_som)
    return (g_B * basal_potential + g_som * u_target) / total


def interneuron_soma_steady_state(dendritic_potential, u_next, g_lk, g_D, g_som):
    r"""Fixed point of Eq. (2), nudged towards the next layer's pyramidal potential.

    .. math:: u^I_k = \frac{g_D v^I_k + g_\mathrm{som} u^P_{k+1}}{g_\mathrm{lk} + g_D + g_\mathrm{som}}

    :math:`g_D = 0` (decoupled dendrite) leaves only the nudging,
    :math:`u^I_k = \frac{g_\mathrm{som}}{g_\mathrm{lk} + g_\mathrm{som}} u^P_{k+1}`. Raises
    ``ValueError`` when the denominator is 0.
    """
    total = total_conductance("the interneuron fixed point", g_lk=g_lk, g_D=g_D, g_som=g_som)
    return (g_D * dendritic_potential + g_som * u_next) / total


def mixing_factor(g_lk, g_own, g_other):
    r"""The weight :math:`\lambda` of a soma's second input in the paper's simplified steady
    state (Sec. 3.4): the share of its total conductance that the second input brings,

    .. math:: \lambda = \frac{g_\mathrm{other}}{g_\mathrm{lk} + g_\mathrm{own} + g_\mathrm{other}}

    :math:`\lambda_k` of a hidden pyramid: ``g_own`` :math:`= g_B`, ``g_other`` :math:`= g_A`;
    :math:`\lambda_N` of the output: :math:`g_B` and :math:`g_\mathrm{som}`; :math:`\lambda_I` of
    an interneuron: :math:`g_D` and :math:`g_\mathrm{som}`.
    """
    return g_other / total_conductance("the mixing factor lambda", g_lk=g_lk, g_own=g_own,
                                       g_other=g_other)


def mixed_potential(own_potential, other_input, mixing):
    r"""A soma of the paper's simplified steady state (Sec. 3.4), as its text writes it:

    .. math:: u = (1 - \lambda)\,v + \lambda\,x

    with :math:`v` the potential of the soma's own dendrite (:math:`v^P_{B,k}` or :math:`v^I_k`),
    :math:`x` its second input (the apical potential, the target, or the next layer's potential)
    and :math:`\lambda` from :func:`mixing_factor`. Unlike the fixed points above it gives the
    leak no share: with :math:`\lambda = 0` the soma takes its dendrite's potential, not the
    attenuated :math:`\hat v`.
    """
    return (1.0 - mixing) * own_potential + mixing * other_input


# --------------------------------------------------------------------------------------------
# Plasticity (Eqs. 6-10)
# --------------------------------------------------------------------------------------------

def _batch_outer(post, pre, out=None):
    if pre.ndim == 1:  # one pattern, given as a vector
        pre = pre.reshape((1, -1))
    if pre.shape[0] > 1:  # the batch mean: scaling the small factor is cheaper than the product
        post = post * (1.0 / pre.shape[0])
    # one row per pattern of the batch (a batch of postsynaptic values may also come flat)
    post = post.reshape((pre.shape[0], -1))
    if out is None:
        return np.dot(post.T, pre)
    return np.dot(post.T, pre, out)


def dendritic_prediction_error(somatic_rate, dendritic_potential, attenuation, phi, out=None):
    r"""The error the dendrites learn from, Eq. (6): the somatic rate minus the rate the dendrite
    predicts.

    .. math:: \varphi(u) - \varphi(\hat v), \qquad \hat v = a\,v

    Parameters
    ----------
    somatic_rate : ndarray, shape (..., n)
        :math:`\varphi(u)`, the somatic rate (which the simulator has computed already).
    dendritic_potential : ndarray, shape (..., n)
        :math:`v`: the basal potential of a pyramidal cell (Eq. 3), the dendritic potential of
        an interneuron (Eq. 5) or the top-down part of the apical potential (Eq. 10).
    attenuation : float or ndarray
        :math:`a`, what of the dendritic potential reaches the soma at rest:
        :func:`~core.model.layers.layer_attenuation` (:func:`basal_attenuation` of pyramidal
        layer :math:`k`), :func:`interneuron_attenuation`, or 1 for the top-down prediction of Eq. (10). An array
        gives one per neuron: the simulator computes every soma's error in one call.
    phi : Phi
        The rate function :math:`\varphi` (:class:`~core.model.transfer.Phi`).
    out : ndarray, optional
        Where to write the error (as in NumPy); it may be ``dendritic_potential`` itself.

    Returns
    -------
    ndarray, shape (..., n)
    """
    predicted_rate = rate(np.multiply(attenuation, dendritic_potential, out), phi, out)
    return np.subtract(somatic_rate, predicted_rate, out)


def dendritic_prediction_induction(prediction_error, presynaptic_rate, out=None):
    r"""Dendritic prediction of somatic spiking, Eq. (6), the rule behind Eqs. 7, 8 and 10: the
    error (:func:`dendritic_prediction_error`) times the presynaptic rate.

    .. math:: \frac{dw}{dt} \propto \left(\varphi(u) - \varphi(\hat v)\right) r^\mathrm{pre}

    Parameters
    ----------
    prediction_error : ndarray, shape (..., n_post)
        :math:`\varphi(u) - \varphi(\hat v)` of the postsynaptic neurons (a batch may also come
        flat, one pattern after the other).
    presynaptic_rate : ndarray, shape (..., n_pre)
        :math:`r^\mathrm{pre}`. A learnable threshold is a weight from an input fixed at 1: pass
        ones of shape ``(..., 1)`` and take column 0.
    out : ndarray, shape (n_post, n_pre), optional
        Where to write the result (as in NumPy): a weight-sized array reused from one call to the
        next saves allocating (and faulting in) fresh memory for every update.

    Returns
    -------
    ndarray, shape (n_post, n_pre)
        The induction term, averaged over the batch.
    """
    return _batch_outer(prediction_error, presynaptic_rate, out)


@_latex(r"\frac{dW^{PP}_{k,k-1}}{dt} = «eta_PP_up»\,\big(\varphi(u^P_k) - "
       r"\varphi(\hat v^P_{B,k})\big)\,(r^P_{k-1})^T")
def bottom_up_induction(prediction_error, rates_below, out=None):
    r"""Induction term of the bottom-up weights, Eq. (7).

    .. math:: \frac{dW^{PP}_{k,k-1}}{dt} = \eta^{PP}_{k,k-1}
              \left(\varphi(u^P_k) - \varphi(\hat v^P_{B,k})\right) (r^P_{k-1})^T,
              \quad \hat v^P_{B,k} = \frac{g_B}{g_\mathrm{lk}+g_B+g_A} v^P_{B,k}

    ``prediction_error`` is :func:`dendritic_prediction_error` of :math:`r^P_k`, the basal
    potential :math:`v^P_{B,k}` and :func:`~core.model.layers.layer_attenuation`; ``out`` as in
    :func:`dendritic_prediction_induction`.
    """
    return dendritic_prediction_induction(prediction_error, rates_below, out)


@_latex(r"\frac{dW^{IP}_{k,k}}{dt} = «eta_IP»\,\big(\varphi(u^I_k) - \varphi(\hat v^I_k)\big)"
       r"\,(r^P_k)^T")
def pyramid_to_interneuron_induction(prediction_error, pyramidal_rates, out=None):
    r"""Induction term of the pyramidal-to-interneuron weights, Eq. (8).

    .. math:: \frac{dW^{IP}_{k,k}}{dt} = \eta^{IP}_k
              \left(\varphi(u^I_k) - \varphi(\hat v^I_k)\right) (r^P_k)^T,
              \quad \hat v^I_k = \frac{g_D}{g_\mathrm{lk}+g_D} v^I_k

    ``prediction_error`` is :func:`dendritic_prediction_error` of :math:`r^I_k`, the dendritic
    potential :math:`v^I_k` and :func:`interneuron_attenuation`.
    """
    return dendritic_prediction_induction(prediction_error, pyramidal_rates, out)


@_latex(r"\frac{dW^{PI}_{k,k}}{dt} = «eta_PI»\,(0 - v^P_{A,k})\,(r^I_k)^T")
def interneuron_to_pyramid_induction(apical_potential, interneuron_rates, v_rest=0.0, out=None):
    r"""Induction term of the interneuron-to-pyramidal weights, Eq. (9).

    .. math:: \frac{dW^{PI}_{k,k}}{dt} = \eta^{PI}_k\,(v_\mathrm{rest} - v^P_{A,k})\,(r^I_k)^T,
              \quad v_\mathrm{rest} = 0

    It silences the apical compartment: interneurons learn to cancel the top-down input.
    """
    return _batch_outer(v_rest - apical_potential, interneuron_rates, out)


@_latex(r"\frac{dW^{PP}_{k,k+1}}{dt} = «eta_PP_down»\,\big(\varphi(u^P_k) - "
       r"\varphi(\hat v^P_{TD,k})\big)\,(r^P_{k+1})^T")
def top_down_induction(prediction_error, rates_above, out=None):
    r"""Induction term of the top-down weights, Eq. (10).

    .. math:: \frac{dW^{PP}_{k,k+1}}{dt} = \eta^{PP}_{k,k+1}
              \left(\varphi(u^P_k) - \varphi(\hat v^P_{TD,k})\right) (r^P_{k+1})^T,
              \quad \hat v^P_{TD,k} = W^{PP}_{k,k+1} r^P_{k+1}

    ``prediction_error`` is :func:`dendritic_prediction_error` of :math:`r^P_k`, the top-down
    potential (:func:`top_down_potential`) and an attenuation of 1.
    """
    return dendritic_prediction_induction(prediction_error, rates_above, out)


# --------------------------------------------------------------------------------------------
# Time constants and stability
# --------------------------------------------------------------------------------------------

@_latex(r"«tau_w»\,\frac{d\Delta}{dt} = -\Delta + \text{induction term},\quad "
       r"\frac{dW}{dt} = \eta\,\Delta;\qquad «tau_0»\,\frac{dr_0}{dt} = r^\mathrm{pattern}_0 - r_0")
def low_pass_change(filtered, drive, dt, tau):
    r"""How much a first-order low-pass filter :math:`\tau\,dx/dt = -x + \mathrm{drive}` moves in
    one step of length ``dt``.

    Uses the exact solution for a drive held constant over the step,
    :math:`x \leftarrow x + (\mathrm{drive} - x)\,(1 - e^{-\Delta t/\tau})`, which is stable for
    any ``dt``. Used for the plasticity induction (:math:`\tau_w`) and for switching inputs and
    targets (:math:`\tau_0`); :func:`low_pass_step` applies it.

    Parameters
    ----------
    filtered : ndarray
        :math:`x` before the step.
    drive : ndarray
        What the filter follows.
    dt, tau : float
        Step and time constant (ms). The limit :math:`\tau = 0` (where :math:`e^{-\Delta t/\tau}`
        would be :math:`e^{-\infty} = 0`) moves the filter onto the drive: no filtering, the
        induction term is consolidated directly (:math:`\tau_w = 0`) or the pattern switches
        instantly (:math:`\tau_0 = 0`).
    """
    if tau == 0:
        return drive - filtered
    return (drive - filtered) * -math.expm1(-dt / tau)


def low_pass_step(filtered, drive, dt, tau):
    r"""The filter of :func:`low_pass_change` after one step,
    :math:`x \leftarrow \mathrm{drive} + (x - \mathrm{drive})\,e^{-\Delta t/\tau}`: ``filtered``
    plus its change (which the simulator adds in place)."""
    return filtered + low_pass_change(filtered, drive, dt, tau)


def largest_total_conductance(g_lk, g_B, g_A, g_D, g_som):
    r"""The largest total somatic conductance :math:`g_{\max}` (1/ms) of the network.

    The largest of a hidden pyramid's :math:`g_\mathrm{lk}+g_B+g_A`, a nudged output pyramid's
    :math:`g_\mathrm{lk}+g_B+g_\mathrm{som}` and an interneuron's
    :math:`g_\mathrm{lk}+g_D+g_\mathrm{som}`: the fastest somatic rate, :math:`1/g_{\max}` the
    shortest membrane time constant, which the Euler step must resolve.
    """
    return max(g_lk + g_B + g_A, g_lk + g_B + g_som, g_lk + g_D + g_som)


def euler_stability_bound(g_lk, g_B, g_A, g_D, g_som):
    r"""Largest stable Euler time step of the somatic leak dynamics.

    The explicit Euler step of :math:`du/dt = -g_\mathrm{tot} u + \dots` is stable only for
    :math:`\Delta t < 2/g_\mathrm{tot}`; :func:`largest_total_conductance` sets the bound.
    Without any conductance (:math:`g_{\max} = 0`) every step is stable: ``inf``.
    """
    total = largest_total_conductance(g_lk, g_B, g_A, g_D, g_som)
    return np.inf if total == 0 else 2.0 / total


ACCURATE_STEP = 0.5
r"""Largest :math:`\Delta t\,g_{\max}` (see :func:`largest_total_conductance`) at which the Euler
step is accurate enough to show. Measured on the live Fig. 2 scenario (preset ``fig2-quick``,
:math:`g_{\max} = 1.9`/ms, seed 0, 200 patterns of 10 ms) against :math:`\Delta t = 0.01` ms: the
largest error of the output potentials, drawn as a line through the Euler points, relative to
their largest magnitude, is about :math:`0.2\,\Delta t\,g_{\max}` at :math:`\sigma = 0` -- 3 % at
the paper's :math:`\Delta t = 0.1` ms (:math:`\Delta t\,g_{\max} = 0.19`), 7 % at 0.38, 10 % at
0.48, 16 % at 0.63, 28 % at 0.95. With the scenario's noise (:math:`\sigma = 0.3`) two runs differ
by 7 % anyway, and the step's error rises above that from 0.48 on (11 %): 0.5 is where it becomes
visible. From 1 on, each step overshoots the fixed point (:math:`1 - \Delta t\,g < 0`), the somata
ring, which the model never does, and learning drifts: the bottom-up weights are 4 % off at 1.2,
28 % at 1.6, 63 % at 1.7, and the run diverges at 1.9 (:math:`\Delta t = 1` ms). Euler-Maruyama
also inflates a soma's stationary noise variance by :math:`1/(1 - \Delta t\,g/2)`, 33 % at 0.5."""


def integration_accuracy(dt, g_lk, g_B, g_A, g_D, g_som):
    r""":math:`\Delta t\,g_{\max}`: how large the Euler step is against the fastest somatic time
    constant. Stable below 2 (:func:`euler_stability_bound`), accurate up to
    :data:`ACCURATE_STEP`."""
    return dt * largest_total_conductance(g_lk, g_B, g_A, g_D, g_som)


# --------------------------------------------------------------------------------------------
# The self-predicting state (SM; Fig. S1)
# --------------------------------------------------------------------------------------------

def self_predicting_weights(W_up_next, W_down, g_lk, g_B, g_D, g_A_next):
    r"""Lateral weights that make hidden layer :math:`k` self-predicting.

    .. math:: W^{PI}_{k,k} = -W^{PP}_{k,k+1}, \qquad
              W^{IP}_{k,k} = \frac{g_B (g_\mathrm{lk} + g_D)}{g_D (g_\mathrm{lk} + g_B + g_A')}
              W^{PP}_{k+1,k}

    With these, interneuron :math:`k` reproduces the bottom-up potential of pyramid :math:`k+1` and
    cancels its top-down input, so every apical potential is 0 without an output target.

    Parameters
    ----------
    W_up_next : ndarray, shape (n_{k+1}, n_k)
        :math:`W^{PP}_{k+1,k}`, the bottom-up weights of the next layer.
    W_down : ndarray, shape (n_k, n_{k+1})
        :math:`W^{PP}_{k,k+1}`, the top-down weights of this layer.
    g_lk, g_B, g_D : float
        Conductances.
    g_A_next : float
        :math:`g_A'`: the apical conductance of layer :math:`k+1`, i.e. ``g_A`` when it is hidden
        and **0 when it is the output layer** (two-compartment).

    Returns
    -------
    W_IP, W_PI : ndarray

    Raises
    ------
    ValueError
        For :math:`g_D = 0`, where no self-predicting state exists (:func:`self_predicting_scale`).
    """
    scale = self_predicting_scale(g_lk, g_B, g_D, g_A_next)
    return scale * np.asarray(W_up_next, dtype=float), -np.asarray(W_down, dtype=float)


def self_predicting_scale(g_lk, g_B, g_D, g_A_next):
    r"""The factor relating :math:`W^{IP}_{k,k}` (and interneuron thresholds) to
    :math:`W^{PP}_{k+1,k}` (and thresholds) in the self-predicting state.

    .. math:: \frac{g_B (g_\mathrm{lk} + g_D)}{g_D (g_\mathrm{lk} + g_B + g_A')}
              = \frac{g_B / (g_\mathrm{lk} + g_B + g_A')}{g_D / (g_\mathrm{lk} + g_D)}

    the next layer's basal attenuation over the interneuron's: it makes the interneuron's
    attenuated dendritic potential equal the next layer's attenuated basal potential; see
    :func:`self_predicting_weights`.

    Limits: :math:`g_B = 0` gives 0 (the next layer ignores its basal input, so the interneurons
    predict rest); :math:`g_\mathrm{lk} = 0` gives :math:`g_B/(g_B + g_A')`.

    Raises
    ------
    ValueError
        For :math:`g_D = 0`: the interneuron dendrite is decoupled from its soma, so no finite
        :math:`W^{IP}_{k,k}` makes the interneurons predict the next layer -- no self-predicting
        state exists (the factor grows without bound as :math:`g_D \to 0`; a :math:`g_D` so small
        that the factor leaves the float range is refused alike).
    """
    if g_D == 0:
        raise _no_self_predicting_state(g_lk, g_D, "the interneuron dendrite is decoupled from "
                                                   "its soma")
    total = total_conductance("the self-predicting scale", g_lk=g_lk, g_B=g_B, g_A_next=g_A_next)
    denominator = g_D * total
    if denominator > 0:
        scale = g_B * (g_lk + g_D) / denominator
    else:
        # the product underflowed (conductances below ~1e-154): the same factor as the ratio of
        # the two attenuations, which stay in range
        attenuation = g_D / (g_lk + g_D)
        scale = (g_B / total) / attenuation if attenuation > 0 else math.inf
    if not math.isfinite(scale):
        raise _no_self_predicting_state(g_lk, g_D, f"W^IP would exceed the float range "
                                                   f"(g_D is negligible against g_lk = {g_lk!r})")
    return scale


def _no_self_predicting_state(g_lk, g_D, why):
    return ValueError(
        f"no self-predicting state exists for g_D = {g_D!r}: {why}, so no W^IP lets the "
        "interneurons predict the next layer (W^IP = g_B (g_lk + g_D) / (g_D (g_lk + g_B + g_A')) "
        "W^PP grows without bound as g_D -> 0); raise g_D")
