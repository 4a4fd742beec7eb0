r"""Baselines: a plain multilayer perceptron trained by backprop or feedback alignment, and the exact
backprop update of a microcircuit's own forward weights (to measure how close Eq. 7 comes).

The microcircuit's bottom-up pass is the forward pass of an MLP with weights
:math:`c_k W^{PP}_{k,k-1}`, where :math:`c_k` is the basal attenuation
(:func:`core.model.equations.basal_attenuation`); :meth:`MLP.from_network` builds that MLP.
"""

from __future__ import annotations

import numpy as np

from ..model import validation
from ..model.layers import layer_attenuation
from ..model.transfer import TransferFunction, transfer_function

RULES = ("backprop", "feedback_alignment")
LOSSES = ("rate", "potential")


def cosine_similarity(a, b):
    r"""Cosine of the angle between two arrays seen as vectors (0 when either is zero)."""
    a, b = np.ravel(a), np.ravel(b)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return 0.0
    return float(np.clip(a @ b / norm, -1.0, 1.0))


def angle_degrees(a, b):
    r"""Angle between two arrays seen as vectors, in degrees (90 when either is zero)."""
    return float(np.degrees(np.arccos(cosine_similarity(a, b))))


def forward_feedback_angle(weights, k):
    r"""Angle (degrees) between the forward weights :math:`W^{PP}_{k+1,k}` and the transposed
    top-down weights :math:`(W^{PP}_{k,k+1})^T` of hidden layer ``k``: 90 for unrelated random
    matrices, falling as feedback alignment sets in (the paper reports about 45 in Fig. 2)."""
    return angle_degrees(weights.W_up[k + 1], weights.W_down[k].T)


class MLP:
    r"""A feed-forward network :math:`u_k = W_k r_{k-1} + b_k,\ r_k = \varphi(u_k)`.

    Parameters
    ----------
    layer_sizes : sequence of int
    transfer : TransferFunction
        The same :math:`\varphi` as the microcircuit
        (:func:`core.model.transfer.transfer_function`).
    seed : int
    init_scale : float
        Weights start :math:`U(-s, s)`.
    use_bias : bool
    feedback : dict[int, ndarray], optional
        Fixed feedback matrices :math:`B_k` of shape ``(n_k, n_{k+1})`` for feedback alignment
        (e.g. the microcircuit's top-down weights ``net.weights.W_down``); random
        :math:`U(-s, s)` when omitted.
    frozen : iterable of int
        Layers ``k`` whose weights :math:`W_k` and biases :math:`b_k` never change in
        :meth:`train_batch` (their learning rate is 0 whatever is passed), e.g. ``{2}`` for the
        backprop counterpart of a microcircuit with :math:`W^{PP}_{2,1}` frozen.
    """

    def __init__(self, layer_sizes, transfer: TransferFunction, *, seed=0, init_scale=1.0,
                 use_bias=False, feedback=None, frozen=()):
        self.sizes = validation.layer_sizes(layer_sizes)
        self.transfer = transfer
        rng = np.random.default_rng(seed)
        N = len(self.sizes) - 1
        self.W = {k: rng.uniform(-init_scale, init_scale, (self.sizes[k], self.sizes[k - 1]))
                  for k in range(1, N + 1)}
        self.b = {k: np.zeros(self.sizes[k]) for k in range(1, N + 1)} if use_bias else {}
        if feedback is None:
            feedback = {k: rng.uniform(-init_scale, init_scale, (self.sizes[k], self.sizes[k + 1]))
                        for k in range(1, N)}
        self.feedback = {k: np.array(B, dtype=float) for k, B in feedback.items()}
        self.frozen = frozenset(_frozen_layers(frozen, N))
        self._update_buffers = {}  # reused by train_batch, as the microcircuit reuses its own

    @classmethod
    def from_network(cls, net, *, frozen=()):
        """The MLP whose forward pass equals ``net``'s bottom-up pass (attenuation folded in),
        with the microcircuit's top-down weights as feedback matrices; ``frozen`` as in the
        constructor."""
        p = net.params
        mlp = cls(net.sizes, transfer_function(p), feedback=net.weights.W_down, frozen=frozen)
        for k, W in net.weights.W_up.items():
            c = layer_attenuation(p, k, net.n_layers)
            mlp.W[k] = c * W
            if k in net.weights.b_up:
                mlp.b[k] = c * net.weights.b_up[k]
        return mlp

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def forward(self, input_rates):
        """Potentials ``u[k]`` and rates ``r[k]`` (``r[0]`` is the input) for a batch."""
        r = {0: np.atleast_2d(np.asarray(input_rates, dtype=float))}
        u = {}
        for k in range(1, self.n_layers + 1):
            u[k] = r[k - 1] @ self.W[k].T + (self.b[k] if k in self.b else 0.0)
            r[k] = self.transfer.phi(u[k])
        return u, r

    def predict(self, input_rates):
        """Output rates."""
        return self.forward(input_rates)[1][self.n_layers]

    def deltas(self, u, r, target, *, rule="backprop", loss="rate", down_to=1):
        r"""Error signals :math:`\delta_k` (the negative gradient of the loss w.r.t. :math:`u_k`).

        ``loss="rate"``: :math:`\delta_N = \varphi'(u_N)(r^\mathrm{trgt} - r_N)` with ``target`` a
        rate; ``loss="potential"``: :math:`\delta_N = \varphi'(u_N)(u^\mathrm{trgt} - u_N)` with
        ``target`` a potential (the paper's form in Sec. 3.1). Hidden:
        :math:`\delta_k = \varphi'(u_k) \odot M_{k+1} \delta_{k+1}` with
        :math:`M_{k+1} = W_{k+1}^T` (backprop) or :math:`B_k` (feedback alignment). Only the
        layers from the output down to ``down_to`` are computed.
        """
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        N = self.n_layers
        target = np.atleast_2d(np.asarray(target, dtype=float))
        error = target - (r[N] if loss == "rate" else u[N])
        delta = {N: self.transfer.derivative(u[N]) * error}
        for k in range(N - 1, max(down_to, 1) - 1, -1):
            back = self.W[k + 1].T if rule == "backprop" else self.feedback[k]
            delta[k] = self.transfer.derivative(u[k]) * (delta[k + 1] @ back.T)
        return delta

    def updates(self, input_rates, target, *, rule="backprop", loss="rate", out=None, scale=1.0):
        r"""Batch-averaged weight and bias updates :math:`\Delta W_k = \delta_k r_{k-1}^T`.

        ``out`` is an optional dict of arrays to write :math:`\Delta W_k` into; ``scale`` (a float
        or ``{k: float}``) multiplies them, applied to the small factor :math:`\delta_k`. Layers
        whose scale is 0 are left out of both dicts (nothing to compute: e.g. a shallow learner,
        whose hidden layers do not learn).
        """
        factor = {k: (scale[k] if isinstance(scale, dict) else scale) for k in self.W}
        learning = [k for k in self.W if factor[k] != 0]
        if not learning:
            return {}, {}
        u, r = self.forward(input_rates)
        delta = self.deltas(u, r, target, rule=rule, loss=loss, down_to=min(learning))
        batch = r[0].shape[0]
        out = {} if out is None else out
        dW = {k: np.matmul(delta[k].T * (factor[k] / batch), r[k - 1], out=out.get(k))
              for k in learning}
        db = {k: factor[k] * delta[k].mean(axis=0) for k in self.b if k in dW}
        return dW, db

    def train_batch(self, input_rates, target, learning_rate, *, rule="backprop", loss="rate"):
        """One step of gradient descent (or feedback alignment) on a mini-batch.

        ``learning_rate`` is a float or a dict ``{k: rate}`` per layer; the layers in
        :attr:`frozen` get 0 (weights and biases unchanged, their update not computed).
        """
        if self.frozen:
            learning_rate = {k: 0.0 if k in self.frozen else
                             (learning_rate[k] if isinstance(learning_rate, dict) else learning_rate)
                             for k in self.W}
        dW, db = self.updates(input_rates, target, rule=rule, loss=loss, out=self._update_buffers,
                              scale=learning_rate)
        self._update_buffers.update(dW)
        for k in dW:
            self.W[k] += dW[k]
            if k in db:
                self.b[k] += db[k]


def _frozen_layers(frozen, n_layers):
    """The layer indices of ``frozen`` as a set, each checked to be a layer ``1..n_layers``."""
    layers = {int(k) for k in frozen}
    wrong = sorted(k for k in layers if not 1 <= k <= n_layers)
    if wrong:
        raise ValueError(f"frozen layers must be in 1..{n_layers}, got {wrong}")
    return layers


def backprop_updates(net, input_rates, target_potential):
    r"""The backprop update of the microcircuit's current bottom-up weights (Sec. 3.1).

    With the feed-forward potentials :math:`u^-_k` of the bottom-up pass and
    :math:`D_k = \mathrm{diag}\,\varphi'(u^-_k)`:

    .. math:: \delta_N = D_N (u^\mathrm{trgt}_N - u^-_N), \qquad
              \delta_k = D_k (c_{k+1} W^{PP}_{k+1,k})^T \delta_{k+1}, \qquad
              \Delta W^{PP}_{k,k-1} = c_k\, \delta_k\, r_{k-1}^T

    averaged over the batch, where :math:`c_k` is the basal attenuation. This is the negative
    gradient, with respect to :math:`W^{PP}_{k,k-1}`, of the loss whose output error is the paper's
    :math:`D_N(u^\mathrm{trgt} - u_N)`; compare it with
    :func:`core.simulate.plasticity.induction_terms` by :func:`angle_degrees` (scale-free).

    Returns
    -------
    dict[int, ndarray]
        ``{k: ΔW^PP_{k,k-1}}`` for :math:`k = 1..N`.
    """
    mlp = MLP.from_network(net)
    inputs, target = validation.pattern(net.sizes, input_rates, target_potential)
    dW, _ = mlp.updates(inputs, target, rule="backprop", loss="potential")
    return {k: layer_attenuation(net.params, k, net.n_layers) * dW[k] for k in dW}
