r"""What each layer of a network holds: its weight matrices (:class:`Weights`), its potentials
and filtered inputs (:class:`State`), and whether it has an apical compartment
(:func:`apical_conductance`, :func:`layer_attenuation`).

Layers are numbered as in the paper: :math:`k = 0` is the input, :math:`1..N-1` are hidden,
:math:`N` is the output. Every dictionary below is keyed by that layer number, so
``weights.W_up[k]`` is :math:`W^{PP}_{k,k-1}` and ``state.u_I[k]`` is :math:`u^I_k`. The simulators
(:mod:`core.simulate.dynamics`, :mod:`core.simulate.steady_state`, :mod:`core.simulate.plasticity`)
read these, and :mod:`core.model.network` builds them, so this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import equations

MATRICES = ("W_up", "W_down", "W_IP", "W_PI", "b_up", "b_IP")
"""Names of the plastic quantities, as attributes of :class:`Weights`."""


def apical_conductance(g_A, k, n_layers):
    r""":math:`g_A` of pyramidal layer ``k`` in a network whose output layer is ``n_layers``: the
    output layer has no apical compartment (0 there), every hidden layer has one.

    The one place that says so; the attenuation of Eq. 7 (:func:`layer_attenuation`), the steady
    states and the baselines take their :math:`g_A` from here.
    """
    return 0.0 if k == n_layers else g_A


def layer_attenuation(params, k, n_layers):
    r"""The basal attenuation :math:`g_B/(g_\mathrm{lk}+g_B+g_A)` of pyramidal layer ``k``
    (:func:`~core.model.equations.basal_attenuation` with :func:`apical_conductance`): what of
    :math:`v^P_{B,k}` the soma predicts in Eq. (7), and what the bottom-up pass multiplies.

    Parameters
    ----------
    params : core.model.parameters.ModelParameters
    k : int
        The pyramidal layer, ``1..n_layers``.
    n_layers : int
        The output layer's number :math:`N`.
    """
    return equations.basal_attenuation(params.g_lk, params.g_B,
                                       apical_conductance(params.g_A, k, n_layers))


@dataclass
class Weights:
    r"""Synaptic weights of a microcircuit network, keyed by layer number.

    Attributes
    ----------
    W_up : dict[int, ndarray]
        :math:`W^{PP}_{k,k-1}`, shape ``(n_k, n_{k-1})``, for :math:`k = 1..N` (basal, Eq. 3).
    W_down : dict[int, ndarray]
        :math:`W^{PP}_{k,k+1}`, shape ``(n_k, n_{k+1})``, for hidden :math:`k` (apical, Eq. 4).
    W_IP : dict[int, ndarray]
        :math:`W^{IP}_{k,k}`, shape ``(n_{k+1}, n_k)``: pyramids onto interneurons (Eq. 5).
    W_PI : dict[int, ndarray]
        :math:`W^{PI}_{k,k}`, shape ``(n_k, n_{k+1})``: interneurons onto apical dendrites (Eq. 4).
    b_up, b_IP : dict[int, ndarray]
        Learnable thresholds of pyramids and interneurons (empty without ``use_bias``).
    """

    W_up: dict = field(default_factory=dict)
    W_down: dict = field(default_factory=dict)
    W_IP: dict = field(default_factory=dict)
    W_PI: dict = field(default_factory=dict)
    b_up: dict = field(default_factory=dict)
    b_IP: dict = field(default_factory=dict)

    def items(self):
        """Yield ``(matrix_name, layer, array)`` for every stored array."""
        for name in MATRICES:
            for k, array in getattr(self, name).items():
                yield name, k, array

    def map(self, function):
        """A new :class:`Weights` with ``function(array)`` in place of every array."""
        return Weights(**{name: {k: function(a) for k, a in getattr(self, name).items()}
                          for name in MATRICES})

    def copy(self):
        return self.map(np.copy)

    def assign(self, other):
        """Copy ``other``'s values into these arrays (same structure and shapes)."""
        for (_, _, mine), (_, _, theirs) in zip(self.items(), other.items()):
            mine[...] = theirs

    def largest_magnitude(self):
        """Largest finite :math:`|w|` over all arrays (for divergence messages)."""
        return max((float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0))
                    for _, _, a in self.items()), default=0.0)


@dataclass
class State:
    r"""Dynamic state of the network (a leading batch axis of size B on every array).

    Attributes
    ----------
    u_P : dict[int, ndarray]
        Somatic potentials :math:`u^P_k`, ``(B, n_k)``, :math:`k = 1..N`.
    u_I : dict[int, ndarray]
        Interneuron potentials :math:`u^I_k`, ``(B, n_{k+1})``, hidden :math:`k`.
    r_input : ndarray
        Input rates :math:`r_0` after the :math:`\tau_0` low-pass, ``(B, n_0)``.
    u_target : ndarray
        Output target potentials after the :math:`\tau_0` low-pass, ``(B, n_N)``.
    input_pattern, target_pattern : ndarray
        What the low-pass filters are driven towards (the pattern currently shown).
    traces : Weights
        Low-pass filtered plasticity induction terms :math:`\Delta` (time constant :math:`\tau_w`).
    time : float
        Simulated time (ms).
    steps : int
        Euler steps taken.
    pattern_time : float
        Time since the current pattern was presented (ms), for the learning lag.
    """

    u_P: dict
    u_I: dict
    r_input: np.ndarray
    u_target: np.ndarray
    input_pattern: np.ndarray
    target_pattern: np.ndarray
    traces: Weights
    time: float = 0.0
    steps: int = 0
    pattern_time: float = 0.0

    def copy(self):
        return State(
            u_P={k: u.copy() for k, u in self.u_P.items()},
            u_I={k: u.copy() for k, u in self.u_I.items()},
            r_input=self.r_input.copy(), u_target=self.u_target.copy(),
            input_pattern=self.input_pattern.copy(), target_pattern=self.target_pattern.copy(),
            traces=self.traces.copy(), time=self.time, steps=self.steps,
            pattern_time=self.pattern_time,
        )

    def assign(self, other):
        """Copy ``other``'s values into these arrays (same shapes) and its clock."""
        for mine, theirs in ((self.u_P, other.u_P), (self.u_I, other.u_I)):
            for k in mine:
                mine[k][...] = theirs[k]
        for name in ("r_input", "u_target", "input_pattern", "target_pattern"):
            getattr(self, name)[...] = getattr(other, name)
        self.traces.assign(other.traces)
        self.time, self.steps, self.pattern_time = other.time, other.steps, other.pattern_time
