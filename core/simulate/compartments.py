"""Rates and dendritic potentials of the whole network for given somatic potentials (Eqs. 3-5).

The full dynamics, the steady-state solvers, plasticity and recording all read the network through
:func:`compartments`, so every dendritic potential is computed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import equations as eq


@dataclass
class Compartments:
    r"""Everything instantaneous that follows from the somatic potentials.

    Attributes
    ----------
    u_P, u_I : dict[int, ndarray]
        The somatic potentials this was computed from.
    r_P : dict[int, ndarray]
        Pyramidal rates :math:`r^P_k = \varphi(u^P_k)`; ``r_P[0]`` is the input rate :math:`r_0`.
    r_I : dict[int, ndarray]
        Interneuron rates :math:`r^I_k = \varphi(u^I_k)`.
    v_B : dict[int, ndarray]
        Basal potentials :math:`v^P_{B,k}`, :math:`k = 1..N` (Eq. 3).
    v_TD : dict[int, ndarray]
        Top-down part of the apical potential, :math:`W^{PP}_{k,k+1} r^P_{k+1}`.
    v_A : dict[int, ndarray]
        Apical potentials :math:`v^P_{A,k}`, hidden :math:`k` (Eq. 4).
    v_I : dict[int, ndarray]
        Interneuron dendritic potentials :math:`v^I_k` (Eq. 5).
    """

    u_P: dict
    u_I: dict
    r_P: dict
    r_I: dict
    v_B: dict
    v_TD: dict
    v_A: dict
    v_I: dict


def rates(u_P, u_I, r_input, phi):
    """Pyramidal rates (with the input as layer 0) and interneuron rates."""
    r_P = {0: r_input}
    r_P.update({k: phi(u) for k, u in u_P.items()})
    return r_P, {k: phi(u) for k, u in u_I.items()}


def compartments(weights, u_P, u_I, r_input, phi):
    """Compute :class:`Compartments` from somatic potentials and the (filtered) input rates."""
    r_P, r_I = rates(u_P, u_I, r_input, phi)
    v_B = {k: eq.basal_potential(W, r_P[k - 1], weights.b_up.get(k))
           for k, W in weights.W_up.items()}
    v_TD = {k: eq.top_down_potential(W, r_P[k + 1]) for k, W in weights.W_down.items()}
    v_A = {k: eq.apical_potential(weights.W_down[k], r_P[k + 1], weights.W_PI[k], r_I[k], v_TD[k])
           for k in weights.W_down}
    v_I = {k: eq.interneuron_dendritic_potential(W, r_P[k], weights.b_IP.get(k))
           for k, W in weights.W_IP.items()}
    return Compartments(u_P=u_P, u_I=u_I, r_P=r_P, r_I=r_I, v_B=v_B, v_TD=v_TD, v_A=v_A, v_I=v_I)


def mean_squared_apical(comp):
    r"""Mean of :math:`(v^P_{A,k})^2` over hidden layers, neurons and batch (0 without hidden layers).

    The quantity that falls towards 0 as the network becomes self-predicting (Fig. S1).
    """
    if not comp.v_A:
        return 0.0
    total = sum(float((v ** 2).sum()) for v in comp.v_A.values())
    count = sum(v.size for v in comp.v_A.values())
    return total / count
